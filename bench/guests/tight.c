/*
 * tight: a tight integer loop (adds, shifts, xors, one multiply, one branch) that never
 * touches memory: measures raw dispatch speed. 200 million iterations; the first argument
 * overrides the count in millions, or in thousands with a `k` suffix.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
  uint32_t iters = 200000000u;
  if (argc > 1) iters = (uint32_t)atoi(argv[1]) * (strchr(argv[1], 'k') ? 1000u : 1000000u);
  uint32_t a = 1, b = 2, c = 3;
  for (uint32_t i = 0; i < iters; i++) {
    a += b ^ i;
    b = (b << 3) + (c >> 2);
    c = c * 2654435761u + a;
  }
  printf("tight: %lu iterations, result %08lx\n", (unsigned long)iters, (unsigned long)(a ^ b ^ c));
  return 0;
}
