/* Misaligned loads and stores from user mode: Linux (and so qemu-riscv32)
 * completes them; the app profile must too. Also a misaligned access that
 * runs off the end of mapped memory (a fault at the first unmapped byte). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t buf[64];

int main(int argc, char **argv)
{
  (void)argv;
  for (int i = 0; i < 64; i++) buf[i] = (uint8_t)(i * 37 + 11);
  for (int off = 1; off < 4; off++) {
    volatile uint32_t *w = (volatile uint32_t *)(buf + off);
    volatile int16_t *h = (volatile int16_t *)(buf + off + 8);
    volatile uint16_t *uh = (volatile uint16_t *)(buf + off + 16);
    printf("off %d: lw %08lx lh %d lhu %u\n", off, (unsigned long)*w, (int)*h, (unsigned)*uh);
    *w = 0xdeadbeefu + (uint32_t)off;
    *h = (int16_t)-1234;
    *uh = (uint16_t)(0xabcd + off);
  }
  uint32_t sum = 0;
  for (int i = 0; i < 64; i++) sum = sum * 31u + buf[i];
  printf("checksum %08lx\n", (unsigned long)sum);
  if (argc > 1) {
    /* A word straddling the end of the program's stack top would be outside RAM under rvisor;
     * under Linux it straddles into unmapped memory too: both stop the program. */
    volatile uint32_t *edge = (volatile uint32_t *)0xfffffffe;
    printf("%08lx\n", (unsigned long)*edge);
  }
  return 0;
}
