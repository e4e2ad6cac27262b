/*
 * atomics (app profile): LR/SC reservation rules and every AMO over edge operands, with
 * the .aq/.rl orderings (which a single hart executes like the plain forms).
 */
#include <stdint.h>
#include <stdio.h>
#include "_table.h"

static volatile uint32_t cell __attribute__((aligned(4)));
static volatile uint32_t other __attribute__((aligned(4)));

#define AMO(fname, op)                                                            \
  static uint32_t fname(uint32_t a, uint32_t b)                                   \
  {                                                                               \
    uint32_t old;                                                                 \
    cell = a;                                                                     \
    __asm__ volatile(op " %0, %2, (%1)" : "=&r"(old) : "r"(&cell), "r"(b) : "memory"); \
    return fnv(old, cell); /* both the returned old value and the stored result */ \
  }
AMO(amo_amoswap_w, "amoswap.w")
AMO(amo_amoadd_w, "amoadd.w")
AMO(amo_amoxor_w, "amoxor.w")
AMO(amo_amoand_w, "amoand.w")
AMO(amo_amoor_w, "amoor.w")
AMO(amo_amomin_w, "amomin.w")
AMO(amo_amomax_w, "amomax.w")
AMO(amo_amominu_w, "amominu.w")
AMO(amo_amomaxu_w, "amomaxu.w")
AMO(amo_amoadd_w_aq, "amoadd.w.aq")
AMO(amo_amoswap_w_rl, "amoswap.w.rl")
AMO(amo_amomaxu_w_aqrl, "amomaxu.w.aqrl")

struct amo { const char *name; uint32_t (*fn)(uint32_t, uint32_t); };
static const struct amo AMOS[] = {
  { "amoswap.w", amo_amoswap_w }, { "amoadd.w", amo_amoadd_w }, { "amoxor.w", amo_amoxor_w },
  { "amoand.w", amo_amoand_w }, { "amoor.w", amo_amoor_w }, { "amomin.w", amo_amomin_w },
  { "amomax.w", amo_amomax_w }, { "amominu.w", amo_amominu_w }, { "amomaxu.w", amo_amomaxu_w },
  { "amoadd.w.aq", amo_amoadd_w_aq }, { "amoswap.w.rl", amo_amoswap_w_rl },
  { "amomaxu.w.aqrl", amo_amomaxu_w_aqrl },
};

int main(void)
{
  for (size_t k = 0; k < sizeof AMOS / sizeof AMOS[0]; k++)
    for (size_t i = 0; i < NEDGE; i += 3) {
      uint32_t h = 2166136261u;
      for (size_t j = 0; j < NEDGE; j++) h = fnv(h, AMOS[k].fn(EDGE[i], EDGE[j]));
      printf("%-14s %08lx: %08lx\n", AMOS[k].name, (unsigned long)EDGE[i], (unsigned long)h);
    }

  uint32_t v, sc1, sc2, sc3, sc4;
  /* lr then sc to the same address succeeds (0) and stores */
  cell = 5;
  __asm__ volatile("lr.w %0, (%2)\n\taddi %0, %0, 1\n\tsc.w %1, %0, (%2)" : "=&r"(v), "=&r"(sc1) : "r"(&cell) : "memory");
  printf("lr/sc: loaded+1=%lu sc=%lu cell=%lu\n", (unsigned long)v, (unsigned long)sc1, (unsigned long)cell);
  /* a second sc without a new lr fails (nonzero) and does not store */
  __asm__ volatile("sc.w %0, %1, (%2)" : "=&r"(sc2) : "r"(99), "r"(&cell) : "memory");
  printf("sc without reservation: failed=%d cell=%lu\n", sc2 != 0, (unsigned long)cell);
  /* retry loop: an atomic increment built from lr/sc */
  cell = 41;
  __asm__ volatile("1: lr.w.aq %0, (%2)\n\taddi %0, %0, 1\n\tsc.w.rl %1, %0, (%2)\n\tbnez %1, 1b"
                   : "=&r"(v), "=&r"(sc3) : "r"(&cell) : "memory");
  printf("lr/sc loop: cell=%lu sc=%lu\n", (unsigned long)cell, (unsigned long)sc3);
  /* sc to the reserved address with rd == source register */
  cell = 7;
  __asm__ volatile("lr.w %0, (%1)\n\tsc.w %0, %0, (%1)" : "=&r"(sc4) : "r"(&cell) : "memory");
  printf("sc rd==rs2: sc=%lu cell=%lu\n", (unsigned long)sc4, (unsigned long)cell);
  /* AMO with rd = x0 still writes memory */
  other = 10;
  __asm__ volatile("amoadd.w x0, %1, (%0)" : : "r"(&other), "r"(5) : "memory");
  printf("amoadd rd=x0: other=%lu\n", (unsigned long)other);
  /* AMO with rd == rs2: returns the old value, stores using the old rs2 */
  other = 100;
  v = 3;
  __asm__ volatile("amoadd.w %0, %0, (%1)" : "+r"(v) : "r"(&other) : "memory");
  printf("amoadd rd==rs2: rd=%lu other=%lu\n", (unsigned long)v, (unsigned long)other);
  return 0;
}
