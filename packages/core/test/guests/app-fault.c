/*
 * app-fault (app profile): a guest that dies. argv[1] picks the fault: `illegal` (an
 * undefined opcode), `load` / `store` (an address outside the partition's RAM, unmapped for
 * qemu-riscv32 too), `ebreak`. QEMU kills the process with SIGILL / SIGSEGV / SIGTRAP;
 * rvisor must stop with a fault of the matching cause, after the same output.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  const char *what = argc > 1 ? argv[1] : "illegal";
  printf("about to fault: %s\n", what);
  fflush(stdout);
  volatile uint32_t *bad = (volatile uint32_t *)(uintptr_t)0xf0000000u;
  if (strcmp(what, "illegal") == 0) __asm__ volatile(".word 0x0000000b");
  else if (strcmp(what, "load") == 0) (void)*bad;
  else if (strcmp(what, "store") == 0) *bad = 1;
  else if (strcmp(what, "ebreak") == 0) __asm__ volatile("ebreak");
  printf("still alive\n");
  return 0;
}
