/*
 * interrupts (machine profile): the CLINT machine timer and software interrupts, wfi
 * wake-up with and without mstatus.MIE, mip/mie bits, and interrupts taken from U-mode.
 * Nothing here prints a time or an mepc of an interrupt, since when exactly an interrupt
 * lands differs between QEMU's wall clock and rvisor's instruction clock.
 */
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"
#include "_trap.h"

/* Checking the count and then sleeping races with an interrupt that lands in between
   (wfi would then sleep forever): sleep with MIE=0, which still wakes on a pending enabled
   interrupt, and open MIE only to take it. */
static void wait_for_trap(uint32_t before)
{
  RV_CSR_CLEAR(mstatus, RV_MSTATUS_MIE);
  while (trap_rec.count == before) {
    __asm__ volatile("wfi");
    RV_CSR_SET(mstatus, RV_MSTATUS_MIE);
    RV_CSR_CLEAR(mstatus, RV_MSTATUS_MIE);
  }
  RV_CSR_SET(mstatus, RV_MSTATUS_MIE);
}

static void show(const char *name)
{
  printf("%-28s cause=%08lx mpp=%lu mpie=%lu\n", name, (unsigned long)trap_rec.cause,
         (unsigned long)(trap_rec.status >> 11 & 3), (unsigned long)(trap_rec.status >> 7 & 1));
}

int main(void)
{
  uint32_t n, at;
  RV_CSR_WRITE(mtvec, (uintptr_t)trap_vector);
  __asm__ volatile("li t2, -1\n\tla t0, 1f\n\tsw t0, %0\n\tcsrw pmpaddr0, t2\n\tli t2, 0x1f\n\t"
                   "la t0, 1f\n\tsw t0, %0\n\tcsrw pmpcfg0, t2\n1:\n\tsw zero, %0"
                   : "=m"(trap_rec.resume) : : "t0", "t1", "t2", "memory");
  trap_rec.count = 0;

  /* mtime advances */
  uint64_t t0 = rv_mtime(), t1;
  do t1 = rv_mtime(); while (t1 == t0);
  printf("mtime advances: %s\n", t1 > t0 ? "yes" : "no");

  /* mie: MSIE, MTIE, MEIE are writable; mip.MTIP follows mtime >= mtimecmp */
  RV_CSR_WRITE(mie, RV_MIE_MSIE | RV_MIE_MTIE | RV_MIE_MEIE);
  printf("mie readback & 0x888 = %03lx\n", (unsigned long)(RV_CSR_READ(mie) & 0x888));
  RV_CSR_WRITE(mie, 0);
  rv_set_mtimecmp(UINT64_MAX);
  printf("mip.MTIP with mtimecmp=max: %lu\n", (unsigned long)(RV_CSR_READ(mip) >> 7 & 1));
  rv_set_mtimecmp(0);
  printf("mip.MTIP with mtimecmp=0:   %lu\n", (unsigned long)(RV_CSR_READ(mip) >> 7 & 1));
  rv_set_mtimecmp(UINT64_MAX);

  /* wfi with MIE=0 still wakes on a pending enabled interrupt, and takes no trap */
  RV_CSR_CLEAR(mstatus, RV_MSTATUS_MIE);
  RV_CSR_WRITE(mie, RV_MIE_MTIE);
  rv_set_mtimecmp(rv_mtime() + 2000);
  n = trap_rec.count;
  while (((RV_CSR_READ(mip) >> 7) & 1) == 0) __asm__ volatile("wfi");
  printf("wfi woke with MIE=0: traps %lu, MTIP %lu\n", (unsigned long)(trap_rec.count - n),
         (unsigned long)(RV_CSR_READ(mip) >> 7 & 1));
  rv_set_mtimecmp(UINT64_MAX);
  printf("MTIP after mtimecmp=max: %lu\n", (unsigned long)(RV_CSR_READ(mip) >> 7 & 1));

  /* timer interrupt in M-mode, three times */
  RV_CSR_SET(mstatus, RV_MSTATUS_MIE);
  for (int i = 0; i < 3; i++) {
    n = trap_rec.count;
    rv_set_mtimecmp(rv_mtime() + 1000);
    wait_for_trap(n);
    show("timer interrupt (M)");
  }

  /* masked by mie.MTIE: pending, not taken */
  RV_CSR_CLEAR(mie, RV_MIE_MTIE);
  n = trap_rec.count;
  rv_set_mtimecmp(0);
  for (volatile int i = 0; i < 1000; i++) { }
  printf("masked timer: traps %lu, MTIP %lu\n", (unsigned long)(trap_rec.count - n),
         (unsigned long)(RV_CSR_READ(mip) >> 7 & 1));
  rv_set_mtimecmp(UINT64_MAX);

  /* software interrupt through msip */
  RV_CSR_WRITE(mie, RV_MIE_MSIE);
  n = trap_rec.count;
  RV_MMIO32(RV_CLINT_MSIP) = 1;
  wait_for_trap(n);
  show("software interrupt (M)");
  printf("msip after handler: %lu, MSIP %lu\n", (unsigned long)RV_MMIO32(RV_CLINT_MSIP),
         (unsigned long)(RV_CSR_READ(mip) >> 3 & 1));

  /* both pending at once: the spec orders MSI before MTI */
  RV_CSR_CLEAR(mstatus, RV_MSTATUS_MIE);
  RV_CSR_WRITE(mie, RV_MIE_MSIE | RV_MIE_MTIE);
  rv_set_mtimecmp(0);
  RV_MMIO32(RV_CLINT_MSIP) = 1;
  n = trap_rec.count;
  RV_CSR_SET(mstatus, RV_MSTATUS_MIE);
  while (trap_rec.count - n < 2) { }
  RV_CSR_CLEAR(mstatus, RV_MSTATUS_MIE);
  printf("priority: second taken cause=%08lx (last)\n", (unsigned long)trap_rec.cause);

  /* a timer interrupt taken from U-mode with mstatus.MIE=0 (M interrupts are always on below M) */
  RV_CSR_WRITE(mie, RV_MIE_MTIE);
  n = trap_rec.count;
  rv_set_mtimecmp(rv_mtime() + 1000);
  PROBE(at,
        "la t2, 3f\n\tcsrw mepc, t2\n\tli t2, 0x1800\n\tcsrc mstatus, t2\n\tli t2, 0x80\n\tcsrs mstatus, t2\n\t"
        "mret\n3:\n\tlw t2, 0(%[cnt])\n\tbeq t2, %[n], 3b\n2:\tecall",
        [cnt] "r"(&trap_rec.count), [n] "r"(n));
  printf("from U: %lu traps (timer, then ecall), last cause=%08lx\n", (unsigned long)(trap_rec.count - n),
         (unsigned long)trap_rec.cause);
  RV_CSR_WRITE(mie, 0);
  printf("done\n");
  return 0;
}
