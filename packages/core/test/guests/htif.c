/*
 * htif (machine profile): riscv-tests style exit through the `tohost` symbol. rvisor stops
 * on the store with code 5. QEMU virt has no HTIF, so there the store is plain memory and
 * the firmware falls back to the finisher with the same code after printing one more line,
 * which the conformance test strips (see README).
 */
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"

volatile uint64_t tohost __attribute__((section(".data.htif"), aligned(8), used));
volatile uint64_t fromhost __attribute__((section(".data.htif"), aligned(8), used));

int main(void)
{
  printf("htif: storing tohost = %lu\n", (unsigned long)RV_HTIF_EXIT(5));
  tohost = RV_HTIF_EXIT(5);
  for (volatile int i = 0; i < 1000; i++) { }
  printf("htif: no host\n");
  return 5;
}
