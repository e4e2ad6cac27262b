/* counter: the fleet demo's long-running workload. Every 50 ms of guest time
 * it advances an LCG, folds it into a 16 KiB table in RAM and prints
 *   tick <n> <lcg> <table checksum>
 * Each line depends on all the state before it (registers, stack and RAM), so
 * a migrated or restored partition that continues with the right next line
 * really carried its whole machine state across. Runs forever. */
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"

#define WORDS 4096

static uint32_t table[WORDS];

int main(void)
{
  uint32_t lcg = 1u;
  uint32_t sum = 0;
  for (uint32_t n = 0;; n++) {
    lcg = lcg * 1664525u + 1013904223u;
    uint32_t i = lcg % WORDS;
    sum -= table[i];
    table[i] ^= lcg;
    sum += table[i];
    printf("tick %lu %08lx %08lx\n", (unsigned long)n, (unsigned long)lcg, (unsigned long)sum);
    fflush(stdout);
    rv_sleep_ns(50u * 1000u * 1000u);
  }
}
