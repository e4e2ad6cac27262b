/* A deterministic computation with state everywhere a snapshot must capture:
 * registers, stack, heap (malloc via brk), bss, the console, the clock (sleep).
 * Prints a progress line per round and a checksum at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include "rvisor.h"

static uint32_t table[1024];

static uint32_t mix(uint32_t h, uint32_t v)
{
  h ^= v;
  h *= 0x01000193u;
  return (h << 7) | (h >> 25);
}

int main(int argc, char **argv)
{
  int rounds = argc > 1 ? atoi(argv[1]) : 24;
  uint32_t *heap = malloc(4096 * sizeof *heap);
  uint32_t h = 0x811c9dc5u;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < 4096; i++) heap[i] = mix(heap[i] + (uint32_t)i, h + (uint32_t)r);
    for (int i = 0; i < 1024; i++) table[i] ^= heap[(i * 7 + r) & 4095];
    for (int i = 0; i < 1024; i++) h = mix(h, table[i]);
    struct rv_timespec64 ts;
    rv_clock_gettime(RV_CLOCK_MONOTONIC, &ts);
    printf("round %2d h=%08lx t=%lld us\n", r, (unsigned long)h, (long long)(ts.tv_sec * 1000000 + ts.tv_nsec / 1000));
    if (r % 4 == 3) rv_sleep_ns(2 * 1000 * 1000);
  }
  free(heap);
  printf("done %08lx\n", (unsigned long)h);
  return (int)(h & 0x7f);
}
