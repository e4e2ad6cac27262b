/* A machine-profile guest that fits a 64 KiB partition: the density benchmark
 * creates a thousand of these. It counts, and sleeps on the CLINT timer now
 * and then, like a small control loop. */
#include <stdint.h>
#include "rvisor.h"

volatile uint32_t ticks;

int main(void)
{
  for (;;) {
    for (int i = 0; i < 1000; i++) ticks++;
    rv_set_mtimecmp(rv_mtime() + 1000);
    __asm__ volatile("csrs mie, %0" ::"r"(1u << 7));
    __asm__ volatile("wfi");
  }
}
