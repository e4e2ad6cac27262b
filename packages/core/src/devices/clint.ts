/**
 * CLINT (core-local interruptor) for one hart, at QEMU `virt`'s 0x0200_0000:
 * msip at +0x0, mtimecmp at +0x4000 (lo, hi), mtime at +0xBFF8 (lo, hi).
 *
 * The timer state lives in the hart (`mtimecmp`, `timeOffset`, and `mtime`
 * derived from the cycle count) so that the hot loop can test MTIP without
 * calling out; this device only translates 32-bit register accesses into
 * those fields and tells the hart to re-evaluate MTIP.
 */

import type { Device } from '../memory/bus.ts';

/** Guest physical base address of the CLINT (QEMU `virt` layout). */
export const CLINT_BASE = 0x0200_0000;
/** Size in bytes of the CLINT's MMIO window (64 KiB); unused offsets read 0 and ignore writes. */
export const CLINT_SIZE = 0x1_0000;

const MSIP = 0x0;
const MTIMECMP = 0x4000;
const MTIME = 0xbff8;

/** mip bit of the machine software interrupt. */
export const MIP_MSIP_BIT = 3;

const TWO32 = 0x1_0000_0000;
/** Above 2^53 the float64 fields lose integers; such a compare value is never reached. */
const EXACT = 2 ** 53;

/** What the CLINT needs from a hart (structural, so tests can pass a stand-in). */
export interface ClintHart {
  /** Timer compare value in `mtime` ticks; `Infinity` when beyond 2^53 (never reached). */
  mtimecmp: number;
  /** Ticks added to the cycle-derived time so a guest write to `mtime` takes effect. */
  timeOffset: number;
  /** Current `mtime` in ticks. */
  readonly mtime: number;
  /** Raise (`on`) or clear the pending bit `bit` (an `mip` bit number such as {@link MIP_MSIP_BIT}). */
  setPending(bit: number, on: boolean): void;
  /** Re-evaluate the timer interrupt after `mtimecmp` or `timeOffset` changed. */
  timerChanged(): void;
}

/** Device-side state; the timer itself lives in the hart. */
export interface ClintState {
  /** The `msip` register (0 or 1): software interrupt pending. */
  msip: number;
  /** Last written mtimecmp halves (exact readback beyond 2^53). */
  cmpLo: number;
  /** High half of the last written `mtimecmp`. */
  cmpHi: number;
}

/** The CLINT MMIO device: maps `msip`, `mtimecmp` and `mtime` register accesses onto a {@link ClintHart}. */
export class Clint implements Device {
  private readonly hart: ClintHart;
  private msip = 0;
  /** The halves last written, so a compare value beyond 2^53 reads back exactly. */
  private cmpLo = 0xffff_ffff;
  private cmpHi = 0xffff_ffff;
  private cmpSeen = Infinity;

  /** Drive `hart`'s software interrupt and timer fields; the device holds no timer of its own. */
  constructor(hart: ClintHart) {
    this.hart = hart;
  }

  /** Capture `msip` and the exact `mtimecmp` halves for a snapshot. */
  saveState(): ClintState {
    const [lo, hi] = this.compareHalves();
    return { msip: this.msip, cmpLo: lo, cmpHi: hi };
  }

  /** Call after the hart's mtimecmp has been restored. */
  loadState(s: ClintState): void {
    this.msip = s.msip & 1;
    this.cmpLo = s.cmpLo >>> 0;
    this.cmpHi = s.cmpHi >>> 0;
    this.cmpSeen = this.hart.mtimecmp;
  }

  /** Clear `msip` and its pending bit, as at power-on (the timer fields belong to the hart's reset). */
  reset(): void {
    this.msip = 0;
    this.hart.setPending(MIP_MSIP_BIT, false);
  }

  /** MMIO read of 1, 2 or 4 bytes at `offset`; unknown registers read 0. */
  read(offset: number, width: number): number {
    const word = this.readWord(offset & ~3);
    return width === 4 ? word : (word >>> ((offset & 3) * 8)) & (width === 1 ? 0xff : 0xffff);
  }

  /**
   * MMIO write of 1, 2 or 4 bytes at `offset`; narrow writes merge into the 32-bit register, unknown registers ignore
   * it.
   */
  write(offset: number, width: number, value: number): void {
    const aligned = offset & ~3;
    if (width !== 4) {
      const shift = (offset & 3) * 8;
      const mask = (width === 1 ? 0xff : 0xffff) << shift;
      value = ((this.readWord(aligned) & ~mask) | ((value << shift) & mask)) >>> 0;
    }
    this.writeWord(aligned, value >>> 0);
  }

  private compareHalves(): [number, number] {
    const c = this.hart.mtimecmp;
    if (c === this.cmpSeen) return [this.cmpLo, this.cmpHi];
    if (!(c < 2 ** 64)) return [0xffff_ffff, 0xffff_ffff];
    return [c % TWO32 >>> 0, Math.floor(c / TWO32) >>> 0];
  }

  private readWord(offset: number): number {
    switch (offset) {
      case MSIP:
        return this.msip;
      case MTIMECMP:
        return this.compareHalves()[0];
      case MTIMECMP + 4:
        return this.compareHalves()[1];
      case MTIME:
        return this.hart.mtime % TWO32 >>> 0;
      case MTIME + 4:
        return Math.floor(this.hart.mtime / TWO32) >>> 0;
      default:
        return 0;
    }
  }

  private writeWord(offset: number, value: number): void {
    const hart = this.hart;
    switch (offset) {
      case MSIP:
        this.msip = value & 1;
        hart.setPending(MIP_MSIP_BIT, this.msip !== 0);
        return;
      case MTIMECMP:
      case MTIMECMP + 4: {
        const [lo, hi] = this.compareHalves();
        this.cmpLo = offset === MTIMECMP ? value : lo;
        this.cmpHi = offset === MTIMECMP ? hi : value;
        const c = this.cmpHi * TWO32 + this.cmpLo;
        hart.mtimecmp = c >= EXACT ? Infinity : c;
        this.cmpSeen = hart.mtimecmp;
        hart.timerChanged();
        return;
      }
      case MTIME:
      case MTIME + 4: {
        const now = hart.mtime;
        const lo = offset === MTIME ? value : now % TWO32;
        const hi = offset === MTIME ? Math.floor(now / TWO32) : value;
        hart.timeOffset += hi * TWO32 + lo - now;
        hart.timerChanged();
        return;
      }
      default:
        return;
    }
  }
}
