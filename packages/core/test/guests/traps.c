/*
 * traps (machine profile): every synchronous trap cause QEMU virt and a Spike-like hart
 * agree on, taken in M-mode and from U-mode, with mcause / mtval / mepc / mstatus as the
 * handler saw them. Addresses are printed relative to the probed instruction so the
 * output does not depend on the link layout.
 */
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"
#include "_trap.h"

static uint32_t at;

static void report(const char *name, int show_tval)
{
  if (trap_rec.resume != 0) {
    trap_rec.resume = 0;
    printf("%-24s no trap\n", name);
    return;
  }
  uint32_t mpp = (trap_rec.status >> 11) & 3, mpie = (trap_rec.status >> 7) & 1;
  printf("%-24s cause=%lu epc=%s mpp=%lu mpie=%lu", name, (unsigned long)trap_rec.cause,
         trap_rec.epc == at ? "insn" : "OTHER", (unsigned long)mpp, (unsigned long)mpie);
  if (show_tval == 1) printf(" tval=%08lx", (unsigned long)trap_rec.tval);
  if (show_tval == 2) printf(" tval=insn%+ld", (long)(trap_rec.tval - at));
  printf("\n");
}

/* Runs a probe whose trap (if any) is expected only on some implementations, and forgets it. */
#define QUIET(body, ...)              \
  do {                                \
    uint32_t n_ = trap_rec.count;     \
    PROBE(at, body, __VA_ARGS__);     \
    trap_rec.resume = 0;              \
    trap_rec.count = n_;              \
  } while (0)

/* Enter U-mode at label 3 of the body; the body must end in a trapping instruction. */
#define TO_USER "la t2, 3f\n\tcsrw mepc, t2\n\tli t2, 0x1800\n\tcsrc mstatus, t2\n\tmret\n3:\n\t"

int main(void)
{
  RV_CSR_WRITE(mtvec, (uintptr_t)trap_vector);

  /* QEMU implements PMP, S-mode and scounteren: U-mode needs a PMP entry granting all memory
     and scounteren for counter reads. rvisor has none of these; its illegal-instruction traps
     are swallowed here so both print the same. */
  QUIET("li t2, -1\n\t2: csrw pmpaddr0, t2");
  QUIET("li t2, 0x1f\n\t2: csrw pmpcfg0, t2");
  QUIET("li t2, 7\n\t2: csrw scounteren, t2");

  /* ---- M-mode ---- */
  PROBE(at, "2: .word 0x0000000b");               report("illegal custom-0", 1);
  PROBE(at, "2: .word 0xffffffff");               report("illegal all-ones", 0);
  PROBE(at, "2: .word 0x00000013 | (1 << 25) | (1 << 12)"); /* slli x0,x0,32 */
  report("illegal slli shamt=32", 1);
  PROBE(at, "2: csrr t2, 0x7c0");                 report("illegal unknown csr", 1);
  PROBE(at, "2: csrw mhartid, zero");             report("illegal write mhartid", 1);
  PROBE(at, "2: csrw cycle, zero");               report("illegal write cycle", 1);
  PROBE(at, "2: ebreak");                         report("ebreak", 0); /* QEMU 7.2 leaves mtval 0, Spike writes pc */
  PROBE(at, "2: ecall");                          report("ecall from M", 1);
  PROBE(at, "li t2, 0xf0000000\n\t2: lw t2, 0(t2)");  report("load access fault", 1);
  PROBE(at, "li t2, 0xf0000010\n\t2: lbu t2, 0(t2)"); report("load access fault (lbu)", 1);
  PROBE(at, "li t2, 0xf0000020\n\t2: sw t2, 0(t2)");  report("store access fault", 1);
  PROBE(at, "li t2, 0xf0000030\n\t2: sb t2, 0(t2)");  report("store access fault (sb)", 1);
  /* jumps into nothing: mepc and mtval are the target, not the jump */
  PROBE(at, "li t2, 0xf0000000\n\tjalr t2\n\t2:");
  printf("%-24s cause=%lu epc=%08lx tval=%08lx\n", "fetch access fault", (unsigned long)trap_rec.cause,
         (unsigned long)trap_rec.epc, (unsigned long)trap_rec.tval);
  {
    static uint32_t word[2];
    uint32_t p = (uint32_t)(uintptr_t)word + 2;
    /* misaligned AMO/SC: QEMU reports cause 4 or no trap at all, Spike cause 6 (README) */
    PROBE(at, "2: lr.w t2, (%[p])", [p] "r"(p));           report("misaligned lr.w", 0);
    if (trap_rec.tval != p) printf("  (tval != address)\n");
  }

#ifdef __riscv_compressed
  /* reserved compressed encodings: mtval holds the 16 instruction bits */
  PROBE(at, "2: .half 0x0000");                   report("illegal c 0x0000", 1);
  PROBE(at, "2: .half 0x6081");                   report("illegal c.lui imm=0", 1);
  PROBE(at, "2: .half 0x6101");                   report("illegal c.addi16sp 0", 1);
  PROBE(at, "2: .half 0x8002");                   report("illegal c.jr x0", 1);
  PROBE(at, "2: .half 0x4002");                   report("illegal c.lwsp x0", 1);
  PROBE(at, "2: c.ebreak");                       report("c.ebreak", 0);
#endif

  /* ---- U-mode ---- */
  PROBE(at, TO_USER "2: ecall");                  report("ecall from U", 1);
  PROBE(at, TO_USER "2: csrr t2, mstatus");       report("U reads mstatus", 1);
  PROBE(at, TO_USER "2: csrw mscratch, t2");      report("U writes mscratch", 1);
  PROBE(at, TO_USER "2: mret");                   report("U mret", 1);
  PROBE(at, TO_USER "2: wfi");                    report("U wfi", 1);
  PROBE(at, TO_USER "2: ebreak");                 report("ebreak from U", 0);
  PROBE(at, TO_USER "li t2, 0xf0000000\n\t2: lw t2, 0(t2)"); report("U load access fault", 1);

  /* counters: U-mode reads are gated by mcounteren (bit 0 cycle, 1 time, 2 instret) */
  RV_CSR_WRITE(mcounteren, 0);
  PROBE(at, TO_USER "2: rdcycle t2");             report("U rdcycle, gated", 1);
  PROBE(at, TO_USER "2: rdtime t2");              report("U rdtime, gated", 1);
  PROBE(at, TO_USER "2: rdinstret t2");           report("U rdinstret, gated", 1);
  RV_CSR_WRITE(mcounteren, 7);
  PROBE(at, TO_USER "rdcycle t2\n\trdtime t2\n\trdinstret t2\n\t2: ecall");
  report("U counters, allowed", 0);
  RV_CSR_WRITE(mcounteren, 2);
  PROBE(at, TO_USER "rdtime t2\n\t2: rdcycle t2");  report("U only time allowed", 1);
  RV_CSR_WRITE(mcounteren, 0);

  /* mret semantics: MPIE -> MIE, MPP -> privilege, MPP := U, MPIE := 1 */
  {
    uint32_t before, after;
    RV_CSR_CLEAR(mstatus, RV_MSTATUS_MIE);
    RV_CSR_SET(mstatus, RV_MSTATUS_MPP);
    RV_CSR_CLEAR(mstatus, RV_MSTATUS_MPIE);
    before = RV_CSR_READ(mstatus);
    __asm__ volatile("la t2, 1f\n\tcsrw mepc, t2\n\tmret\n1:" ::: "t2");
    after = RV_CSR_READ(mstatus);
    printf("mret M->M: mie %lu->%lu mpie %lu->%lu mpp %lu->%lu\n", (unsigned long)(before >> 3 & 1),
           (unsigned long)(after >> 3 & 1), (unsigned long)(before >> 7 & 1), (unsigned long)(after >> 7 & 1),
           (unsigned long)(before >> 11 & 3), (unsigned long)(after >> 11 & 3));
  }

  printf("traps taken: %lu\n", (unsigned long)trap_rec.count);
  return 0;
}
