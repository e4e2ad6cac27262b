/*
 * hello: the smallest useful rvisor guest. It prints a greeting, its arguments and a
 * checksum it computes, then exits 0. The same C builds for both profiles: `app` prints
 * through the write hypercall, `machine` through the UART and powers off via the finisher.
 */
#include <stdint.h>
#include <stdio.h>

/* Fletcher-32 over a generated buffer: enough arithmetic to show the CPU really ran. */
static uint32_t fletcher32(const uint16_t *data, size_t words)
{
  uint32_t a = 0xffff, b = 0xffff;
  while (words) {
    size_t block = words > 359 ? 359 : words; /* 359 sums cannot overflow 32 bits */
    words -= block;
    do {
      a += *data++;
      b += a;
    } while (--block);
    a = (a & 0xffff) + (a >> 16);
    b = (b & 0xffff) + (b >> 16);
  }
  a = (a & 0xffff) + (a >> 16);
  b = (b & 0xffff) + (b >> 16);
  return (b << 16) | a;
}

int main(int argc, char **argv)
{
  static uint16_t buf[4096];
  uint32_t x = 2463534242u; /* xorshift32 seed */
  for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (uint16_t)x;
  }
  printf("Hello from an rvisor guest!\n");
  printf("argc = %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
  printf("fletcher32 of %u generated words = 0x%08lx\n", (unsigned)(sizeof buf / 2),
         (unsigned long)fletcher32(buf, sizeof buf / 2));
  return 0;
}
