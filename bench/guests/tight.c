/*
 * tight: a tight integer loop (adds, shifts, xors, one multiply, one branch) that never
 * touches memory: measures raw dispatch speed. ITERS millions (default 200).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  uint32_t iters = (argc > 1 ? (uint32_t)atoi(argv[1]) : 200u) * 1000000u;
  uint32_t a = 1, b = 2, c = 3;
  for (uint32_t i = 0; i < iters; i++) {
    a += b ^ i;
    b = (b << 3) + (c >> 2);
    c = c * 2654435761u + a;
  }
  printf("tight: %lu iterations, result %08lx\n", (unsigned long)iters, (unsigned long)(a ^ b ^ c));
  return 0;
}
