/**
 * The memory-mapped devices of the `machine` profile (CLINT timer, NS16550A UART, SiFive test
 * finisher) and the HTIF host interface, usable on any {@link "@rvisor/core/memory"!Bus | Bus}.
 *
 * @module @rvisor/core/devices
 */
export { CLINT_BASE, CLINT_SIZE, Clint, MIP_MSIP_BIT } from './clint.ts';
export type { ClintHart, ClintState } from './clint.ts';
export { FINISHER_BASE, FINISHER_FAIL, FINISHER_PASS, FINISHER_RESET, FINISHER_SIZE, Finisher } from './finisher.ts';
export type { FinisherEvents } from './finisher.ts';
export { Htif } from './htif.ts';
export type { HtifEvents } from './htif.ts';
export { LSR_DR, LSR_TEMT, LSR_THRE, UART_BASE, UART_SIZE, Uart } from './uart.ts';
export type { UartState } from './uart.ts';
