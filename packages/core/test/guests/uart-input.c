/*
 * uart-input (machine profile): reads the UART receiver (polling LSR.DR through picolibc's
 * getchar) until a '.', echoing each byte upper-cased, then reports the count and a hash.
 * QEMU feeds its stdin to the UART; the conformance test hands rvisor the same bytes.
 */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
  printf("echo until '.':\n");
  int n = 0, c;
  uint32_t h = 2166136261u;
  while ((c = getchar()) != EOF && c != '.') {
    putchar(c >= 'a' && c <= 'z' ? c - 32 : c);
    h = (h ^ (uint32_t)c) * 16777619u;
    n++;
  }
  printf("\nread %d bytes, fnv1a %08lx\n", n, (unsigned long)h);
  return 0;
}
