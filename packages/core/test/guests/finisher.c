/*
 * finisher (machine profile): output on the UART, then main returns 3, which the SDK's
 * _exit turns into a finisher write of 0x3333 | 3 << 16: QEMU and rvisor both exit 3.
 */
#include <stdio.h>
#include "rvisor.h"

int main(void)
{
  for (int i = 0; i < 3; i++) printf("uart line %d\n", i);
  /* raw UART bytes, bypassing stdio; LSR must report THRE */
  for (const char *p = "raw bytes\n"; *p; p++) rv_uart_putc(*p);
  printf("LSR.THRE=%d\n", (RV_MMIO8(RV_UART_BASE + RV_UART_LSR) & RV_UART_LSR_THRE) != 0);
  printf("powering off with code 3\n");
  return 3;
}
