/**
 * The `machine` profile's memory map: the core devices of QEMU's `virt`
 * machine at QEMU's addresses, so one firmware image runs unchanged here and
 * under `qemu-system-riscv32 -machine virt -bios none -kernel fw.elf`.
 *
 *   0x0010_0000  test finisher (sifive,test0)   0x1000
 *   0x0200_0000  CLINT                          0x10000
 *   0x1000_0000  NS16550A UART                  0x100
 *   0x8000_0000  RAM
 *
 * Not modelled (yet): the PLIC (so UART interrupts are not delivered), the
 * RTC, virtio, flash, and the device tree QEMU passes in a1.
 */

import { CLINT_BASE, CLINT_SIZE } from '../devices/clint.ts';
import { FINISHER_BASE, FINISHER_SIZE } from '../devices/finisher.ts';
import { UART_BASE } from '../devices/uart.ts';

/** Guest physical address of RAM[0] in the `machine` profile (QEMU `virt`). */
export const VIRT_RAM_BASE = 0x8000_0000;
/** The test finisher's bus mapping in the `machine` profile: name, base address and size in bytes. */
export const VIRT_FINISHER = { name: 'finisher', base: FINISHER_BASE, size: FINISHER_SIZE } as const;
/** The CLINT's bus mapping in the `machine` profile: name, base address and size in bytes. */
export const VIRT_CLINT = { name: 'clint', base: CLINT_BASE, size: CLINT_SIZE } as const;
/** QEMU reserves 0x100 bytes for the UART; the 16550 decodes the low 8 (higher offsets read 0). */
export const VIRT_UART = { name: 'uart0', base: UART_BASE, size: 0x100 } as const;
