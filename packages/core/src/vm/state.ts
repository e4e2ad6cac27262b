/**
 * The complete non-RAM state of a VirtualMachine as plain data (numbers,
 * booleans, strings, Uint8Array, null), so the snapshot codec can store it
 * and another host can continue the guest bit-exactly. RAM travels
 * separately (snapshot/ram.ts). `checkVmState` validates a decoded state
 * before anything is applied, so a corrupt snapshot never half-restores.
 *
 * Not in here, on purpose: the decode cache (rebuilt on demand) and the
 * console buffer (always flushed when run() returns).
 */

import { SnapshotError } from '../errors.ts';
import type { ClintState } from '../devices/clint.ts';
import type { UartState } from '../devices/uart.ts';

/** Version of the {@link VmState} layout this build writes and the only one {@link checkVmState} accepts. */
export const VM_STATE_VERSION = 1;

/** A hart's architectural and timer state as plain data: registers, CSRs, counters and the LR/SC reservation. */
export interface HartState {
  /** x0..x31 as signed 32-bit values. */
  x: number[];
  /** Address of the next instruction. */
  pc: number;
  /** Current privilege level (`PRIV_M` or `PRIV_U`). */
  priv: number;
  /** Instructions retired since boot. */
  instret: number;
  /** Cycles since boot (instructions plus skipped idle time). */
  cycle: number;
  /** null = never (Infinity). */
  mtimecmp: number | null;
  /** Ticks added to the cycle-derived `mtime` (guest writes to `mtime`, clock sync). */
  timeOffset: number;
  /** `mstatus` CSR. */
  mstatus: number;
  /** `mie` CSR. */
  mie: number;
  /** Device-driven `mip` bits (MTIP is derived from `mtime` and `mtimecmp`). */
  mip: number;
  /** `mtvec` CSR. */
  mtvec: number;
  /** `mepc` CSR. */
  mepc: number;
  /** `mcause` CSR. */
  mcause: number;
  /** `mtval` CSR. */
  mtval: number;
  /** `mscratch` CSR. */
  mscratch: number;
  /** `mcounteren` CSR. */
  mcounteren: number;
  /** `mcountinhibit` CSR. */
  mcountinhibit: number;
  /** Guest adjustments and frozen values of `mcycle` / `minstret` (writes and `mcountinhibit`). */
  counterState: number[];
  /** Address of the LR/SC reservation. */
  reservationAddr: number;
  /** Whether the LR/SC reservation is held. */
  reservationValid: boolean;
}

/**
 * The complete non-RAM state of a {@link VirtualMachine} as plain data, enough to continue the guest bit-exactly on
 * another host.
 */
export interface VmState {
  /** Layout version, {@link VM_STATE_VERSION}. */
  version: number;
  /** The VM's profile; a state only applies to a VM of the same profile. */
  profile: 'app' | 'machine';
  /** The VM's instruction set; a state only applies to a VM of the same ISA. */
  isa: 'rv32imac' | 'rv32ima';
  /** The hart's state. */
  hart: HartState;
  /** Exit code once the guest has exited, else null. */
  exitCode: number | null;
  /** The unhandled trap that stopped the guest, else null. */
  fault: { pc: number; cause: number; tval: number; message: string } | null;
  /** Whether the guest is idle (wfi) or sleeping, else null. */
  waiting: 'idle' | 'sleep' | null;
  /** mtime of the pending wake-up; null = none. */
  wakeAt: number | null;
  /** Cycles skipped by idling. */
  idleCycles: number;
  /** Ecalls handled so far. */
  hypercalls: number;
  /** App profile: program break and stdin position; null in the machine profile. */
  app: { brkStart: number; brkLimit: number; brk: number; stdinPos: number } | null;
  /** Machine profile: UART registers and pending input; null in the app profile. */
  uart: UartState | null;
  /** Machine profile: CLINT device state; null in the app profile. */
  clint: ClintState | null;
}

function fail(where: string, what: string): never {
  throw new SnapshotError('SNAPSHOT_VM_STATE', `${where}.${what} is missing or out of range`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const u32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff_ffff;
const i32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= -0x8000_0000 && (v as number) <= 0xffff_ffff;
const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const int = (v: unknown): boolean => Number.isSafeInteger(v);
const byte = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xff;

/** Throws SnapshotError SNAPSHOT_VM_STATE naming the first bad field; returns the state typed. */
export function checkVmState(s: unknown, where = 'vm'): VmState {
  if (!isObj(s)) fail(where, '(state)');
  if (s.version !== VM_STATE_VERSION) {
    throw new SnapshotError('SNAPSHOT_VM_STATE', `${where}.version ${String(s.version)} is not supported (this build reads ${VM_STATE_VERSION})`);
  }
  if (s.profile !== 'app' && s.profile !== 'machine') fail(where, 'profile');
  if (s.isa !== 'rv32imac' && s.isa !== 'rv32ima') fail(where, 'isa');
  const h = s.hart;
  if (!isObj(h)) fail(where, 'hart');
  if (!Array.isArray(h.x) || h.x.length !== 32 || !h.x.every(i32)) fail(where, 'hart.x');
  if (!u32(h.pc)) fail(where, 'hart.pc');
  if (h.priv !== 0 && h.priv !== 3) fail(where, 'hart.priv');
  for (const k of ['instret', 'cycle'] as const) if (!count(h[k])) fail(where, `hart.${k}`);
  if (h.mtimecmp !== null && !count(h.mtimecmp)) fail(where, 'hart.mtimecmp');
  if (!int(h.timeOffset)) fail(where, 'hart.timeOffset');
  for (const k of ['mstatus', 'mie', 'mip', 'mtvec', 'mepc', 'mcause', 'mtval', 'mscratch', 'mcounteren', 'mcountinhibit', 'reservationAddr'] as const) {
    if (!i32(h[k])) fail(where, `hart.${k}`);
  }
  if (!Array.isArray(h.counterState) || h.counterState.length !== 8 || !h.counterState.every(u32)) fail(where, 'hart.counterState');
  if (typeof h.reservationValid !== 'boolean') fail(where, 'hart.reservationValid');
  if (s.exitCode !== null && !int(s.exitCode)) fail(where, 'exitCode');
  const f = s.fault;
  if (f !== null && (!isObj(f) || !u32(f.pc) || !u32(f.cause) || !u32(f.tval) || typeof f.message !== 'string')) fail(where, 'fault');
  if (s.waiting !== null && s.waiting !== 'idle' && s.waiting !== 'sleep') fail(where, 'waiting');
  if (s.wakeAt !== null && !int(s.wakeAt)) fail(where, 'wakeAt');
  if (!count(s.idleCycles)) fail(where, 'idleCycles');
  if (!count(s.hypercalls)) fail(where, 'hypercalls');
  const a = s.app;
  if (s.profile === 'app') {
    if (!isObj(a) || !u32(a.brkStart) || !u32(a.brkLimit) || !u32(a.brk) || !count(a.stdinPos)) fail(where, 'app');
    if ((a.brk as number) < (a.brkStart as number) || (a.brk as number) > (a.brkLimit as number)) fail(where, 'app.brk');
  } else {
    if (a !== null) fail(where, 'app');
    const u = s.uart;
    if (!isObj(u) || !byte(u.ier) || !byte(u.lcr) || !byte(u.mcr) || !byte(u.scr) || !byte(u.fcr)) fail(where, 'uart');
    if (!Number.isInteger(u.divisor) || (u.divisor as number) < 0 || (u.divisor as number) > 0xffff) fail(where, 'uart.divisor');
    if (typeof u.threPending !== 'boolean' || !(u.rx instanceof Uint8Array)) fail(where, 'uart');
    const c = s.clint;
    if (!isObj(c) || !u32(c.msip) || !u32(c.cmpLo) || !u32(c.cmpHi)) fail(where, 'clint');
  }
  return s as unknown as VmState;
}
