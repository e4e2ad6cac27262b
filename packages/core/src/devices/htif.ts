/**
 * HTIF (host-target interface) as riscv-tests and Spike use it: the guest
 * writes a 64-bit command into its own `tohost` variable (an ELF symbol) and
 * the host reacts. The word is watched through the bus's page flags, so
 * ordinary stores cost nothing.
 *
 * Commands (device = bits 63..56, cmd = 55..48, payload = 47..0):
 * - device 0, odd payload: exit; payload >> 1 is the status (riscv-tests:
 *   1 = pass, (test << 1) | 1 = failure of test number `test`);
 * - device 0, even non-zero payload: Spike "magic memory" syscall at that
 *   address; only write (64) to fd 1/2 is served, the result goes back into
 *   the buffer and `fromhost` becomes 1;
 * - device 1, cmd 1: console putchar of the payload's low byte.
 * A served command clears `tohost`, as Spike does.
 *
 * An RV32 guest writes the 64-bit word as two `sw`, low half first (riscv-tests'
 * `write_tohost`, GCC's code for a `uint64_t` store), so the command is taken
 * when the high half is written. When the symbol is only 4 bytes long, the
 * low-half store is the command.
 */

import type { Bus } from '../memory/bus.ts';
import { PAGE_SHIFT, PAGE_WATCH } from '../memory/bus.ts';

const SYS_WRITE = 64;

/** Callbacks through which the HTIF reports guest exit and console output to its VM. */
export interface HtifEvents {
  /** The guest finished with this status (0 = pass). */
  exit(code: number): void;
  /** Console output (fd 2 of a magic-memory write is reported as stderr). */
  output(bytes: Uint8Array, stream: 'stdout' | 'stderr'): void;
  /** Stop the hart at the next instruction boundary (after an exit command). */
  requestStop(): void;
}

/**
 * The HTIF host side: watches the guest's `tohost` word in RAM and serves exit, console and magic-memory `write`
 * commands.
 */
export class Htif {
  /** Guest address of the `tohost` word. */
  readonly tohost: number;
  /** Guest address of the `fromhost` word, set to 1 after a served syscall; undefined when the image has none. */
  readonly fromhost: number | undefined;
  private readonly bus: Bus;
  private readonly events: HtifEvents;
  private readonly off: number;
  /** Byte offset (in the tohost word) whose store triggers the command. */
  private readonly trigger: number;
  private busy = false;

  /**
   * `tohost` / `fromhost` are guest addresses (ELF symbol values); `size` is the
   * tohost symbol's st_size (4 or 8; anything else is treated as 8).
   */
  constructor(bus: Bus, events: HtifEvents, tohost: number, fromhost?: number, size = 8) {
    this.bus = bus;
    this.events = events;
    this.tohost = tohost >>> 0;
    this.fromhost = fromhost;
    this.trigger = size === 4 ? 0 : 4;
    if (!bus.inRam(this.tohost, size === 4 ? 4 : 8)) {
      // Validated by the VM before construction; a device never throws at run time.
      this.off = -1;
      return;
    }
    this.off = (this.tohost - bus.ramBase) >>> 0;
    this.attach();
  }

  /** (Re)mark the page holding tohost; call again after anything cleared the page flags. */
  attach(): void {
    if (this.off < 0) return;
    this.bus.pageFlags[this.off >>> PAGE_SHIFT]! |= PAGE_WATCH;
  }

  /** Called by the VM's flagged-store fan-out with the RAM offset and width of a store. */
  onStore(off: number, width: number): void {
    if (this.busy || this.off < 0) return;
    const t = this.off + this.trigger;
    if (off + width <= t || off >= t + 4) return;
    this.busy = true;
    try {
      this.serve();
    } finally {
      this.busy = false;
    }
  }

  private serve(): void {
    const bus = this.bus;
    const lo = bus.load(this.tohost, 4);
    const hi = this.trigger === 0 ? 0 : bus.load(this.tohost + 4, 4);
    if (lo === 0 && hi === 0) return;
    const device = hi >>> 24;
    const cmd = (hi >>> 16) & 0xff;
    if (device === 0 && cmd === 0 && (lo & 1) === 1) {
      // payload >> 1 over 48 bits: bits of hi's low 16 move down by one.
      this.events.exit(((hi & 0xffff) * 0x8000_0000) + (lo >>> 1));
      this.events.requestStop();
    } else if (device === 0 && cmd === 0) {
      this.syscall(lo);
    } else if (device === 1 && cmd === 1) {
      this.events.output(Uint8Array.of(lo & 0xff), 'stdout');
    }
    this.clear();
  }

  /** Spike's magic memory: uint64_t args[8] = { which, a0, a1, a2, ... }. */
  private syscall(addr: number): void {
    const bus = this.bus;
    if (!bus.inRam(addr, 64)) return;
    const which = bus.load(addr, 4);
    let result = -38;
    if (which === SYS_WRITE) {
      const fd = bus.load(addr + 8, 4);
      const buf = bus.load(addr + 16, 4);
      const len = bus.load(addr + 24, 4);
      if (fd !== 1 && fd !== 2) result = -9;
      else if (!bus.inRam(buf, len)) result = -14;
      else {
        if (len > 0) this.events.output(bus.readRam(buf, len), fd === 2 ? 'stderr' : 'stdout');
        result = len;
      }
    }
    bus.store(addr, 4, result);
    bus.store(addr + 4, 4, result < 0 ? -1 : 0);
    if (this.fromhost !== undefined && bus.inRam(this.fromhost, 8)) {
      bus.store(this.fromhost, 4, 1);
      bus.store(this.fromhost + 4, 4, 0);
    }
  }

  private clear(): void {
    this.bus.store(this.tohost, 4, 0);
    if (this.trigger !== 0) this.bus.store(this.tohost + 4, 4, 0);
  }
}
