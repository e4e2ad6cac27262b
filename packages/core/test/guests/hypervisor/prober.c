/* Machine-profile isolation probe. An M-mode trap handler turns every access
 * fault into a recorded result, so the guest can read, write and jump across
 * its whole 32-bit address space. It prints the ranges it could read (probing every
 * 64 KiB, scanning each readable 4 KiB page), the result of writes to chosen addresses, of jumps outside
 * RAM, and how often it saw the marker word other partitions fill their RAM with. */
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"

#define MARKER 0x5a5aa5a5u
#define WINDOW 0x40000000u  /* a read-only window granted to this partition */
#define RWWINDOW 0x40010000u /* a read-write window */

static volatile uint32_t last_cause;
static volatile uint32_t resume;

__attribute__((interrupt("machine"), aligned(4))) static void trap(void)
{
  uint32_t cause, epc;
  __asm__ volatile("csrr %0, mcause" : "=r"(cause));
  __asm__ volatile("csrr %0, mepc" : "=r"(epc));
  last_cause = cause;
  if (cause == 1) {
    epc = resume; /* a jump outside RAM: go back to the probe */
  } else {
    uint16_t insn = *(volatile uint16_t *)epc;
    epc += (insn & 3) == 3 ? 4 : 2;
  }
  __asm__ volatile("csrw mepc, %0" ::"r"(epc));
}

static int can_read(uint32_t addr, uint32_t *value)
{
  last_cause = 0;
  uint32_t v = *(volatile uint32_t *)addr;
  if (last_cause != 0) return 0;
  *value = v;
  return 1;
}

static uint32_t try_write(uint32_t addr, uint32_t v)
{
  last_cause = 0;
  *(volatile uint32_t *)addr = v;
  return last_cause;
}

static uint32_t try_jump(uint32_t addr)
{
  last_cause = 0;
  __asm__ volatile(
      "la t0, 1f\n\t"
      "sw t0, 0(%1)\n\t"
      "jalr ra, 0(%0)\n\t"
      "1:\n\t" ::"r"(addr), "r"(&resume) : "t0", "ra", "memory");
  return last_cause;
}

int main(void)
{
  __asm__ volatile("csrw mtvec, %0" ::"r"((uint32_t)&trap));
  uint32_t markers = 0, start = 0, readable = 0;
  int open = 0;
  for (uint64_t a = 0; a < 0x100000000ull; a += 0x10000) {
    uint32_t addr = (uint32_t)a, v;
    /* Reading the UART receive buffer or the finisher is harmless; skip nothing. */
    int ok = can_read(addr, &v);
    if (ok) {
      readable++;
      /* Scan the whole page for the marker. */
      for (uint32_t o = 0; o < 0x1000; o += 4) {
        uint32_t w;
        if (can_read(addr + o, &w) && w == MARKER) markers++;
      }
    }
    if (ok && !open) { start = addr; open = 1; }
    if (!ok && open) { printf("readable %08lx-%08lx\n", (unsigned long)start, (unsigned long)(addr - 1)); open = 0; }
  }
  if (open) printf("readable %08lx-ffffffff\n", (unsigned long)start);
  printf("pages %lu markers %lu\n", (unsigned long)readable, (unsigned long)markers);
  printf("write ro-window cause %lu\n", (unsigned long)try_write(WINDOW, 1));
  printf("write rw-window cause %lu\n", (unsigned long)try_write(RWWINDOW, 0x12345678));
  printf("write unmapped cause %lu\n", (unsigned long)try_write(0x60000000u, 1));
  printf("write below ram cause %lu\n", (unsigned long)try_write(0x7ffffffcu, 1));
  printf("jump window cause %lu\n", (unsigned long)try_jump(WINDOW));
  printf("jump unmapped cause %lu\n", (unsigned long)try_jump(0x60000000u));
  printf("jump device cause %lu\n", (unsigned long)try_jump(RV_UART_BASE));
  return 0;
}
