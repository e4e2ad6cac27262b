/**
 * SiFive test finisher ("sifive,test0"), at QEMU `virt`'s 0x0010_0000: the
 * way bare-metal firmware powers the machine off with a status.
 *
 * A 16- or 32-bit write of 0x5555 is a pass (exit code 0); 0x3333 | code << 16 is a
 * failure with that 16-bit code (QEMU exits with the same code); 0x7777 asks
 * for a reset, which the VM performs by reloading the image and restarting the
 * hart (see VirtualMachine.reset). Other values are ignored, as in QEMU. Each
 * accepted command stops the hart at the next instruction boundary so the
 * VM sees it immediately. Reads return 0.
 */

import type { Device } from '../memory/bus.ts';

/** Guest physical base address of the test finisher (QEMU `virt` layout). */
export const FINISHER_BASE = 0x0010_0000;
/** Size in bytes of the finisher's MMIO window (one 4 KiB page). */
export const FINISHER_SIZE = 0x1000;

/** Status written by the guest to power off with exit code 0. */
export const FINISHER_PASS = 0x5555;
/** Status written by the guest to power off with the failure code in bits 31..16. */
export const FINISHER_FAIL = 0x3333;
/** Status written by the guest to request a machine reset. */
export const FINISHER_RESET = 0x7777;

/** Callbacks through which the finisher reports guest power-off and reset requests to its VM. */
export interface FinisherEvents {
  /** The guest powered off with this exit code. */
  exit(code: number): void;
  /** The guest asked for a reset. */
  reset(): void;
  /** Stop the hart at the next instruction boundary. */
  requestStop(): void;
}

/** The SiFive test finisher MMIO device; it decodes status writes into {@link FinisherEvents} calls. */
export class Finisher implements Device {
  private readonly events: FinisherEvents;

  /** Report accepted commands to `events`. */
  constructor(events: FinisherEvents) {
    this.events = events;
  }

  /** Reads always return 0. */
  read(_offset: number, _width: number): number {
    return 0;
  }

  /** Decode a 16- or 32-bit status write at offset 0; byte writes, other offsets and unknown statuses are ignored. */
  write(offset: number, width: number, value: number): void {
    // QEMU's sifive_test decodes 16- and 32-bit writes at offset 0.
    if (offset !== 0 || width < 2) return;
    const status = value & 0xffff;
    if (status === FINISHER_PASS) this.events.exit(0);
    else if (status === FINISHER_FAIL) this.events.exit(value >>> 16);
    else if (status === FINISHER_RESET) this.events.reset();
    else return;
    this.events.requestStop();
  }
}
