/* Shared by the machine-profile conformance firmware: see _trap.S. */
#ifndef CONFORMANCE_TRAP_H
#define CONFORMANCE_TRAP_H
#include <stdint.h>

struct trap_rec {
  volatile uint32_t count, cause, tval, epc, status, resume, saved_t1;
};
extern struct trap_rec trap_rec;
extern void trap_vector(void);

/*
 * Runs `body` (assembly) with trap_rec.resume set to just after it; label 2 inside the body
 * marks the instruction expected to trap and its address lands in `at`. t0/t1 are the
 * handler's: the body may use t2 and a-registers it declares in CLOB.
 */
#define PROBE(at, body, ...)                                                               \
  __asm__ volatile("la t0, 1f\n\tsw t0, %[res]\n\tla t0, 2f\n\tsw t0, %[at_]\n\t" body "\n1:\n" \
                   : [at_] "=m"(at), [res] "=m"(trap_rec.resume)                            \
                   : __VA_ARGS__                                                            \
                   : "t0", "t1", "t2", "a6", "a7", "memory")

#endif
