/*
 * machine profile glue for picolibc (tinystdio): stdin/stdout/stderr are the NS16550A
 * UART, polled (no interrupts needed), and _exit powers off through the test finisher.
 * Bytes go out unchanged (no \n -> \r\n) so output matches the app profile byte for byte.
 */
#include <stdio.h>
#include "rvisor.h"

static int uart_put(char c, FILE *f)
{
  (void)f;
  rv_uart_putc(c);
  return (unsigned char)c;
}

static int uart_get(FILE *f)
{
  (void)f;
  while ((RV_MMIO8(RV_UART_BASE + RV_UART_LSR) & RV_UART_LSR_DR) == 0) { }
  return RV_MMIO8(RV_UART_BASE + RV_UART_RBR);
}

static FILE uart_file = FDEV_SETUP_STREAM(uart_put, uart_get, NULL, _FDEV_SETUP_RW);

FILE *const stdin = &uart_file;
FILE *const stdout = &uart_file;
FILE *const stderr = &uart_file;

void __attribute__((noreturn)) _exit(int code)
{
  rv_poweroff(code);
}
