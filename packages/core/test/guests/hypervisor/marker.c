/* Fills most of its RAM with a marker word and prints a checksum of it each
 * round; another partition must neither see the marker nor change the sums. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include "rvisor.h"

#define MARKER 0x5a5aa5a5u
#define WORDS (48 * 1024)

int main(void)
{
  uint32_t *area = malloc(WORDS * sizeof *area);
  for (int i = 0; i < WORDS; i++) area[i] = MARKER;
  for (int round = 0; round < 6; round++) {
    uint32_t sum = 0;
    for (int i = 0; i < WORDS; i++) sum = sum * 31u + area[i];
    printf("round %d sum %08lx\n", round, (unsigned long)sum);
    rv_yield();
  }
  return 0;
}
