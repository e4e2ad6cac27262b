/**
 * The `app` profile's hypercalls: the subset of the Linux RV32 syscall ABI a
 * statically linked freestanding program uses (a7 = number, a0..a5 = args,
 * a0 = result or -errno), served so that such a program behaves as under
 * `qemu-riscv32`.
 *
 * Guest pointers are checked with `bus.inRam` before any access: a bad
 * pointer is -EFAULT for the guest, never a host exception.
 *
 * Time is virtual: CLOCK_MONOTONIC is mtime (10 MHz, derived from the cycle
 * count) and CLOCK_REALTIME is REALTIME_EPOCH plus the same, so a program that
 * prints the date prints the same thing every run.
 */

import type { Bus } from '../memory/bus.ts';
import type { VirtualMachine } from './vm.ts';
import { EBADF, EFAULT, EINVAL, ENOSYS } from './errno.ts';

export const SYS_READ = 63;
export const SYS_WRITE = 64;
export const SYS_EXIT = 93;
export const SYS_EXIT_GROUP = 94;
export const SYS_BRK = 214;
export const SYS_CLOCK_GETTIME64 = 403;
export const SYS_CLOCK_NANOSLEEP_TIME64 = 407;


const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME_ID = 2;
const CLOCK_THREAD_CPUTIME_ID = 3;
const CLOCK_MONOTONIC_RAW = 4;
const CLOCK_REALTIME_COARSE = 5;
const CLOCK_MONOTONIC_COARSE = 6;
const CLOCK_BOOTTIME = 7;
const TIMER_ABSTIME = 1;

/** CLOCK_REALTIME at virtual time 0: 2025-01-01T00:00:00Z, in seconds. */
export const REALTIME_EPOCH = 1_735_689_600;
/** mtime ticks per second (10 MHz, as on QEMU `virt`). */
export const MTIME_HZ = 10_000_000;
const NS_PER_TICK = 1_000_000_000 / MTIME_HZ;

/** Brk bookkeeping and the stdin cursor of one app-profile guest. */
export class AppRuntime {
  /** Initial break: the page-aligned end of the highest loaded segment. */
  readonly brkStart: number;
  /** The break may not grow past this (the bottom of the stack area). */
  readonly brkLimit: number;
  brk: number;
  private readonly stdin: Uint8Array;
  stdinPos = 0;

  constructor(brkStart: number, brkLimit: number, stdin: Uint8Array) {
    this.brkStart = brkStart;
    this.brkLimit = brkLimit;
    this.brk = brkStart;
    this.stdin = stdin;
  }

  /**
   * Serve Linux syscall `n` (< 0x400). Returns the value for a0; exit and
   * sleep are reported through the VM (`exit`, `sleepUntil`).
   */
  serve(vm: VirtualMachine, n: number): number {
    const x = vm.hart.x;
    const a0 = x[10]! >>> 0;
    const a1 = x[11]! >>> 0;
    const a2 = x[12]! >>> 0;
    const a3 = x[13]! >>> 0;
    switch (n) {
      case SYS_READ:
        return this.read(vm.bus, a0, a1, a2);
      case SYS_WRITE:
        return write(vm, a0, a1, a2);
      case SYS_EXIT:
      case SYS_EXIT_GROUP:
        // Linux keeps the low 8 bits of the status.
        vm.exit(a0 & 0xff);
        return 0;
      case SYS_BRK:
        return this.setBrk(vm.bus, a0);
      case SYS_CLOCK_GETTIME64:
        return clockGettime(vm, a0, a1);
      case SYS_CLOCK_NANOSLEEP_TIME64:
        return clockNanosleep(vm, a0, a1, a2, a3);
      default:
        return -ENOSYS;
    }
  }

  private read(bus: Bus, fd: number, buf: number, count: number): number {
    if (fd !== 0) return -EBADF;
    if (count === 0) return 0;
    // qemu-user checks the whole buffer before reading; so do we.
    if (!bus.inRam(buf, count)) return -EFAULT;
    const n = Math.min(count, this.stdin.length - this.stdinPos, 0x7fff_f000);
    if (n <= 0) return 0;
    bus.writeRam(buf, this.stdin.subarray(this.stdinPos, this.stdinPos + n));
    this.stdinPos += n;
    return n;
  }

  /**
   * Linux semantics: brk(0) or any refused request returns the current break;
   * a request below the initial break or past the limit is refused. Memory
   * newly exposed by growth reads as zero, also after a shrink and regrow.
   */
  private setBrk(bus: Bus, want: number): number {
    if (want < this.brkStart || want > this.brkLimit) return this.brk;
    if (want > this.brk) bus.fillRam(this.brk, want - this.brk, 0);
    this.brk = want;
    return want;
  }
}

function write(vm: VirtualMachine, fd: number, buf: number, count: number): number {
  if (fd !== 1 && fd !== 2) return -EBADF;
  if (count === 0) return 0;
  if (!vm.bus.inRam(buf, count)) return -EFAULT;
  vm.console(vm.bus.readRam(buf, count), fd === 2 ? 'stderr' : 'stdout');
  return count;
}

/**
 * A clock as (seconds at tick 0, current ticks). Kept apart because
 * REALTIME_EPOCH * MTIME_HZ is beyond 2^53 and would lose nanoseconds.
 * Returns false for an unknown clock.
 */
function readClock(vm: VirtualMachine, clock: number, out: Float64Array): boolean {
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      out[0] = REALTIME_EPOCH;
      out[1] = vm.hart.mtime;
      return true;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      out[0] = 0;
      out[1] = vm.hart.mtime;
      return true;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      // CPU time: retired instructions at the nominal 100 MHz, excluding idle time.
      out[0] = 0;
      out[1] = Math.floor(vm.hart.instret / 10);
      return true;
    default:
      return false;
  }
}

const clockScratch = new Float64Array(2);

function clockGettime(vm: VirtualMachine, clock: number, tp: number): number {
  const c = clockScratch;
  if (!readClock(vm, clock, c)) return -EINVAL;
  if (!vm.bus.inRam(tp, 16)) return -EFAULT;
  const ticks = c[1]!;
  storeTimespec(vm.bus, tp, c[0]! + Math.floor(ticks / MTIME_HZ), (ticks % MTIME_HZ) * NS_PER_TICK);
  return 0;
}

function clockNanosleep(vm: VirtualMachine, clock: number, flags: number, req: number, _rem: number): number {
  if (clock === CLOCK_PROCESS_CPUTIME_ID || clock === CLOCK_THREAD_CPUTIME_ID) return -EINVAL;
  const c = clockScratch;
  if (!readClock(vm, clock, c)) return -EINVAL;
  if (!vm.bus.inRam(req, 16)) return -EFAULT;
  const bus = vm.bus;
  const secLo = bus.load(req, 4);
  const secHi = bus.load(req + 4, 4) | 0;
  const nsLo = bus.load(req + 8, 4);
  const nsHi = bus.load(req + 12, 4);
  if (secHi < 0 || nsHi !== 0 || nsLo >= 1_000_000_000) return -EINVAL;
  let sec = secHi * 0x1_0000_0000 + secLo;
  // An absolute time is measured from the clock's own epoch.
  if ((flags & TIMER_ABSTIME) !== 0) sec -= c[0]!;
  // Round up: sleeping shorter than asked is what POSIX forbids.
  const ticks = sec * MTIME_HZ + Math.ceil(nsLo / NS_PER_TICK);
  const now = vm.hart.mtime;
  const wake = (flags & TIMER_ABSTIME) !== 0 ? ticks : now + ticks;
  if (wake > now) vm.sleepUntil(wake);
  return 0;
}

function storeTimespec(bus: Bus, at: number, sec: number, nsec: number): void {
  bus.store(at, 4, sec % 0x1_0000_0000);
  bus.store(at + 4, 4, Math.floor(sec / 0x1_0000_0000));
  bus.store(at + 8, 4, nsec);
  bus.store(at + 12, 4, 0);
}
