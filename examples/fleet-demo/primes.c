/* primes: the fleet demo's CPU-bound workload. It counts primes by trial
 * division in blocks of 20 000 numbers, prints the running count after each
 * block and rests 100 ms, so a status table shows real MIPS without one
 * partition taking a whole core. Runs forever (the count wraps at 2^32). */
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"

static int is_prime(uint32_t n)
{
  if (n < 2) return 0;
  for (uint32_t d = 2; d * d <= n; d++)
    if (n % d == 0) return 0;
  return 1;
}

int main(void)
{
  uint32_t n = 0, count = 0;
  for (uint32_t block = 0;; block++) {
    for (uint32_t end = n + 20000; n < end; n++) count += is_prime(n);
    printf("block %lu: %lu primes below %lu\n", (unsigned long)block, (unsigned long)count, (unsigned long)n);
    fflush(stdout);
    rv_sleep_ns(100u * 1000u * 1000u);
  }
}
