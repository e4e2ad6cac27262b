/**
 * One virtual machine: a hart, its bus and RAM, the devices of its profile,
 * and the loaded image. The hypervisor runs many of these; the CLI runs one.
 *
 * Profiles:
 * - `app`: RAM at 0, the image starts in U-mode on a Linux-style initial
 *   stack and `ecall` is a hypercall (Linux RV32 numbers below 0x400, see
 *   app.ts; `hypercalls` serves 0x400 and up).
 * - `machine`: QEMU `virt`-compatible map (virt.ts), the image starts in
 *   M-mode at its entry with a0 = mhartid and a1 = 0. QEMU's boot ROM passes a
 *   device-tree address in a1 (and fw_dynamic info in a2); there is no device
 *   tree here, so firmware must not depend on one. QEMU `-bios none` jumps to
 *   the start of RAM (0x8000_0000), not to e_entry, and runs a few boot-ROM
 *   instructions first: for identical behaviour link the entry first at
 *   0x8000_0000, and do not compare instruction counts with QEMU.
 *   A finisher reset (0x7777) reboots: RAM is cleared and the image reloaded
 *   (QEMU reloads the image but keeps the rest of RAM), counters restart at 0.
 *
 * `run(budget)` never throws because of what the guest does: exits, faults,
 * idling and sleeping are reasons in the result. Virtual time only moves with
 * retired instructions and with `idle()`, which skips to the next wake-up, so
 * a run is deterministic.
 */

import { Hart } from '../cpu/hart.ts';
import { attachCompiler } from '../cpu/jit/index.ts';
import type { Isa } from '../cpu/hart.ts';
import { STOP_BUDGET, STOP_ECALL, STOP_FAULT, STOP_HALT, STOP_WFI } from '../cpu/stop.ts';
import { CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, MIP_MTIP, PRIV_M, PRIV_U } from '../cpu/trap.ts';
import { Clint } from '../devices/clint.ts';
import { Finisher } from '../devices/finisher.ts';
import { Htif } from '../devices/htif.ts';
import { Uart } from '../devices/uart.ts';
import { ConfigError, ElfError, SnapshotError } from '../errors.ts';
import { EF_RISCV_RVC, checkPlacement, loadImage, parseImage } from '../loader/elf.ts';
import type { ElfImage, LoadOptions } from '../loader/elf.ts';
import { Bus, PAGE_SIZE, PAGE_WATCH } from '../memory/bus.ts';
import { AppRuntime } from './app.ts';
import { ENOSYS } from './errno.ts';
import { emulateMisaligned } from './misaligned.ts';
import { describeFault } from './fault.ts';
import type { GuestFault } from './fault.ts';
import { buildInitialStack } from './stack.ts';
import { VM_STATE_VERSION, checkVmState } from './state.ts';
import type { VmState } from './state.ts';
import { VIRT_CLINT, VIRT_FINISHER, VIRT_RAM_BASE, VIRT_UART } from './virt.ts';

/**
 * The machine a VM presents: `app` (RAM at 0, U-mode program with a Linux-style syscall ABI) or `machine` (QEMU
 * `virt`-compatible bare metal in M-mode).
 */
export type Profile = 'app' | 'machine';

/** Options for {@link VirtualMachine}'s constructor. */
export interface VmOptions {
  /** Default 'app'. */
  profile?: Profile;
  /** Default 'rv32imac'. */
  isa?: Isa;
  /** Bytes of RAM: a positive multiple of 4 KiB, at most MAX_RAM_SIZE. Default 16 MiB (or `ram.length`). */
  ramSize?: number;
  /** A view to use as RAM (the hypervisor's pool); zeroed before loading. Else allocated. */
  ram?: Uint8Array;
  /**
   * @internal The caller guarantees `ram` is all zero (fresh from the pool),
   * which saves the first boot a pass over it.
   */
  ramZeroed?: boolean;
  /** ELF32 RISC-V executable, or a flat binary with `entry`. */
  image: Uint8Array;
  /** Flat binaries: entry address (required) and load address (default: entry). Ignored for an ELF image. */
  entry?: number;
  /** Flat binaries: guest address of the image's first byte. Default: `entry`. */
  loadAddress?: number;
  /** mhartid; default 0. */
  hartId?: number;
  /** App profile: argv (default ['guest']) and environment strings for the initial stack. */
  argv?: string[];
  /** App profile: environment strings (`NAME=value`) for the initial stack. Default none. */
  env?: string[];
  /** App profile: bytes reserved for the stack at the top of RAM; brk never grows into them. Default min(1 MiB, ramSize / 4). */
  stackSize?: number;
  /** App profile: bytes served to read(0, ...); EOF after. */
  stdin?: Uint8Array;
  /**
   * Translate hot guest code to JavaScript (cpu/jit) where the runtime allows
   * `new Function`; otherwise, or with `false`, the interpreter runs
   * everything. Results are identical either way. Default true.
   */
  compile?: boolean;
  /** Guest output: app write(1|2, ...), machine UART and HTIF console. */
  onConsole?: (bytes: Uint8Array, stream: 'stdout' | 'stderr') => void;
}

/** Why {@link VirtualMachine.run} returned. */
export type RunReason =
  /** The instruction budget is spent; call run() again. */
  | 'budget'
  /** The guest exited or powered off; see `exitCode`. */
  | 'exit'
  /** An unhandled trap; see `fault`. */
  | 'fault'
  /** Machine profile: wfi with nothing to do; `wakeAt` is the timer wake-up (mtime) or undefined for never. */
  | 'idle'
  /** App profile: clock_nanosleep; `wakeAt` is the wake-up (mtime), undefined for a sleep beyond the exact time range. */
  | 'sleep'
  /** A hypercall handler asked to give the CPU back. */
  | 'yield'
  /** A hypercall handler cannot complete yet; the ecall is retried by the next run(). */
  | 'blocked'
  /** The guest asked for a reset (finisher 0x7777); the VM has rebooted it. */
  | 'reset'
  /** `requestStop()` was called from outside. */
  | 'halt';

/** The outcome of one {@link VirtualMachine.run} call. */
export interface RunResult {
  /** Why the run stopped. */
  reason: RunReason;
  /** Instructions retired by this call (served hypercalls included). */
  instructions: number;
}

/** A hypercall handler (numbers >= 0x400): a number is the value for a0. */
export type HypercallResult = number | { a0?: number; stop?: 'yield' | 'block' };
/**
 * A handler for one hypercall number >= {@link HYPERCALL_BASE}: reads its arguments from `vm.hart.x` (a0..a5 =
 * x10..x15) and returns the result.
 */
export type Hypercall = (vm: VirtualMachine) => HypercallResult;

/** Counters of a VM since boot; see {@link VirtualMachine.stats}. */
export interface VmStats {
  /** Instructions retired since boot (minstret). */
  instructions: number;
  /** Cycles since boot: instructions plus skipped idle time (mcycle). */
  cycles: number;
  /** Cycles skipped by idle(). */
  idleCycles: number;
  /** Ecalls handled by the host (Linux-ABI syscalls and hypercalls; a blocked call counts each retry). */
  hypercalls: number;
}

/** RAM size in bytes when neither `ramSize` nor `ram` is given: 16 MiB. */
export const DEFAULT_RAM_SIZE = 16 * 1024 * 1024;
/** Largest RAM per VM; keeps the machine profile's RAM below 0xC000_0000 and typed arrays small. */
export const MAX_RAM_SIZE = 1024 * 1024 * 1024;
/** First hypercall number served by `hypercalls` instead of the Linux ABI. */
export const HYPERCALL_BASE = 0x400;

const CYCLES_PER_TICK = 10;
/** hart.run() takes at most this many instructions per call (keeps its counters in int range). */
const MAX_SLICE = 0x4000_0000;
const CONSOLE_BUFFER = 4096;
const NO_SYMBOLS: ElfImage['symbols'] = /* @__PURE__ */ new Map();
/** Idle skips never move the cycle count past this (2^52: integers stay exact with room to run). */
const MAX_CYCLE = 2 ** 52;

let hostChecked = false;
function checkHost(): void {
  if (hostChecked) return;
  // The hart reads RAM through Int16Array/Int32Array views, which use host byte order.
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
    throw new ConfigError('HOST_BIG_ENDIAN', 'rvisor needs a little-endian host (typed-array views alias guest RAM)');
  }
  hostChecked = true;
}

/**
 * One RISC-V virtual machine: a hart, its bus and RAM, its profile's devices and the loaded image. Deterministic:
 * virtual time moves only with retired instructions and explicit idling.
 */
export class VirtualMachine {
  /** The machine the VM presents. */
  readonly profile: Profile;
  /** The instruction set the hart implements. */
  readonly isa: Isa;
  /** The guest physical address space: RAM and device mappings. */
  readonly bus: Bus;
  /** The single hart (registers, CSRs, counters). */
  readonly hart: Hart;
  /** The parsed image the VM boots (and reloads on reset). */
  readonly image: ElfImage;
  /** Machine profile devices (undefined in the app profile; htif only when the image has `tohost`). */
  readonly uart: Uart | undefined;
  /** Machine profile: the CLINT timer; undefined in the app profile. */
  readonly clint: Clint | undefined;
  /** Machine profile: the test finisher; undefined in the app profile. */
  readonly finisher: Finisher | undefined;
  /** The HTIF, present only when the image defines `tohost`. */
  readonly htif: Htif | undefined;
  /** @internal App profile: brk and stdin state (undefined in the machine profile). */
  app: AppRuntime | undefined;

  /** Set when the guest exits or powers off. */
  exitCode: number | undefined = undefined;
  /** Set when an unhandled trap stopped the guest. */
  fault: GuestFault | undefined = undefined;
  /** While idle or sleeping: the mtime at which the guest wakes up; undefined = never (by itself). */
  wakeAt: number | undefined = undefined;
  /** Extension point for hypercall numbers >= 0x400 (the hypervisor layer registers here). */
  readonly hypercalls = new Map<number, Hypercall>();
  /**
   * Receives guest console output (app `write(1|2)`, machine UART and HTIF); may be replaced at any time, undefined
   * discards output.
   */
  onConsole: ((bytes: Uint8Array, stream: 'stdout' | 'stderr') => void) | undefined;

  private readonly options: VmOptions;
  private readonly stackSize: number;
  private waiting: 'idle' | 'sleep' | undefined = undefined;
  private resetPending = false;
  private haltPending = false;
  private idleCycles = 0;
  private hypercallCount = 0;
  /** True while hart.run() executes: only then does a stop request need the hart's help. */
  private inHart = false;
  /** UART output collected until run() returns; allocated on the first byte (most partitions never print). */
  private tx: Uint8Array | null = null;
  private txLen = 0;

  /**
   * Build the machine and load `options.image` into RAM, ready for {@link VirtualMachine.run}.
   * @throws ConfigError with a `VM_*` code (or `HOST_BIG_ENDIAN`) for an invalid option; ElfError when the image is
   * malformed, does not fit RAM or needs an extension `isa` lacks.
   */
  constructor(options: VmOptions) {
    checkHost();
    const profile = options.profile ?? 'app';
    if (profile !== 'app' && profile !== 'machine') throw new ConfigError('VM_PROFILE', `profile ${JSON.stringify(profile)} is not 'app' or 'machine'`);
    const isa = options.isa ?? 'rv32imac';
    if (isa !== 'rv32imac' && isa !== 'rv32ima') throw new ConfigError('VM_ISA', `isa ${JSON.stringify(isa)} is not 'rv32imac' or 'rv32ima'`);
    if (!(options.image instanceof Uint8Array)) throw new ConfigError('VM_IMAGE', 'image must be a Uint8Array');
    const ramSize = checkRamSize(options);
    if (options.stdin !== undefined && !(options.stdin instanceof Uint8Array)) throw new ConfigError('VM_STDIN', 'stdin must be a Uint8Array');
    for (const [what, list] of [['argv', options.argv], ['env', options.env]] as const) {
      if (list !== undefined && (!Array.isArray(list) || !list.every((a) => typeof a === 'string'))) {
        throw new ConfigError('VM_BAD_ARGS', `${what} must be an array of strings`);
      }
    }
    const hartId = options.hartId ?? 0;
    if (!Number.isInteger(hartId) || hartId < 0 || hartId > 0xffff_ffff) throw new ConfigError('VM_HART_ID', `hartId ${hartId} is not a 32-bit unsigned integer`);
    let stackSize = 0;
    if (profile === 'app') {
      stackSize = options.stackSize ?? Math.min(1024 * 1024, ramSize / 4);
      if (!Number.isInteger(stackSize) || stackSize < PAGE_SIZE || stackSize % PAGE_SIZE !== 0 || stackSize >= ramSize) {
        throw new ConfigError('VM_STACK_SIZE', `stackSize ${stackSize} is not a multiple of 4 KiB between 4 KiB and the RAM size ${ramSize}`);
      }
    }

    // Everything about the image is validated before RAM is touched.
    const image = parseImage(options.image, { entry: options.entry, loadAddress: options.loadAddress });
    if ((image.flags & EF_RISCV_RVC) !== 0 && isa === 'rv32ima') {
      throw new ElfError('ELF_ISA_MISMATCH', 'image is built with compressed instructions (EF_RISCV_RVC) but the isa is rv32ima');
    }

    this.options = options;
    this.profile = profile;
    this.isa = isa;
    // Keep what reboots need; the symbol table (only tohost/fromhost are used, below)
    // would cost every partition a few KiB of host memory.
    this.image = image.symbols.size === 0 ? image : { ...image, symbols: NO_SYMBOLS };
    this.stackSize = stackSize;
    this.onConsole = options.onConsole;
    const ramBase = profile === 'app' ? 0 : VIRT_RAM_BASE;
    checkPlacement(image, ramBase, ramSize, this.placement());
    const ram = options.ram ?? new Uint8Array(ramSize);
    this.bus = new Bus(ram, ramBase);
    this.hart = new Hart(this.bus, { isa, hartId, hostTraps: profile === 'app' });
    // null under a strict Content Security Policy: the interpreter then runs everything.
    if (options.compile ?? true) attachCompiler(this.hart);

    if (profile === 'machine') {
      const stop = (): void => this.hart.requestStop();
      this.uart = new Uart((b) => this.transmit(b));
      this.clint = new Clint(this.hart);
      this.finisher = new Finisher({ exit: (code) => this.exit(code), reset: () => (this.resetPending = true), requestStop: stop });
      this.bus.mapDevice(VIRT_FINISHER.name, VIRT_FINISHER.base, VIRT_FINISHER.size, this.finisher);
      this.bus.mapDevice(VIRT_CLINT.name, VIRT_CLINT.base, VIRT_CLINT.size, this.clint);
      this.bus.mapDevice(VIRT_UART.name, VIRT_UART.base, VIRT_UART.size, this.uart);
      const tohost = image.symbols.get('tohost');
      if (tohost !== undefined && this.bus.inRam(tohost.value, tohost.size === 4 ? 4 : 8)) {
        const fromhost = image.symbols.get('fromhost')?.value;
        this.htif = new Htif(
          this.bus,
          { exit: (code) => this.exit(code), output: (bytes, stream) => this.console(bytes, stream), requestStop: stop },
          tohost.value,
          fromhost,
          tohost.size,
        );
      }
    }
    this.chainFlaggedStores();
    this.boot(options.ram === undefined || options.ramZeroed === true);
  }

  /** Zero RAM, load the image, reset the hart and devices, and set up the profile's entry state. */
  private boot(zeroed = false): void {
    const bus = this.bus;
    const image = this.image;
    if (!zeroed) bus.ram.fill(0);
    loadImage(bus, image, this.placement());
    const hart = this.hart;
    if (this.profile === 'app') {
      const top = bus.ramBase + bus.ramSize;
      const bottom = top - this.stackSize;
      const sp = buildInitialStack(bus, {
        top,
        bottom,
        argv: this.options.argv ?? ['guest'],
        env: this.options.env ?? [],
        entry: image.entry,
        phdr: image.phdrAddr,
        phnum: image.phnum,
        hwcap: this.isa === 'rv32imac' ? 0x1105 : 0x1101,
      });
      hart.reset(image.entry, PRIV_U);
      hart.x[2] = sp;
      // Linux lets user programs read cycle, time and instret.
      hart.mcounteren = 7;
      const brkStart = Math.min(alignUp(image.end), bottom);
      this.app = new AppRuntime(brkStart, bottom, this.options.stdin ?? new Uint8Array(0));
    } else {
      hart.reset(image.entry, PRIV_M);
      hart.x[10] = this.options.hartId ?? 0;
      hart.x[11] = 0;
      this.uart!.reset();
      this.clint!.reset();
      this.htif?.attach();
    }
    this.exitCode = undefined;
    this.fault = undefined;
    this.wakeAt = undefined;
    this.waiting = undefined;
    this.resetPending = false;
    this.haltPending = false;
  }

  private placement(): LoadOptions {
    return this.profile === 'app' ? { reserveTop: this.stackSize } : { physical: true };
  }

  /** The hart invalidates its decode cache through the bus hook; HTIF watches tohost through the same hook. */
  private chainFlaggedStores(): void {
    const htif = this.htif;
    if (htif === undefined) return;
    const bus = this.bus;
    const prev = bus.onFlaggedStore;
    const flags = bus.pageFlags;
    bus.onFlaggedStore = (off, width) => {
      if (prev !== null) prev(off, width);
      if ((flags[off >>> 12]! & PAGE_WATCH) !== 0) htif.onStore(off, width);
    };
  }

  /**
   * Run up to `budget` instructions. Returns why it stopped; never throws for
   * anything the guest does.
   */
  run(budget: number): RunResult {
    const reason = this.step(budget);
    return { reason, instructions: this.stepped };
  }

  /** @internal Instructions retired by the last step(). */
  stepped = 0;

  /**
   * @internal run() without the result object, for the hypervisor's
   * per-window loop (thousands of windows per second): the reason is
   * returned, the instruction count left in `stepped`.
   */
  step(budget: number): RunReason {
    if (!(budget >= 0)) throw new ConfigError('VM_BUDGET', `budget ${budget} is not a non-negative number`);
    this.stepped = 0;
    if (this.exitCode !== undefined) return 'exit';
    if (this.fault !== undefined) return 'fault';
    if (this.waiting !== undefined && !this.awake()) return this.waiting;
    const hart = this.hart;
    // Budget is in the hart's units (retired instructions plus trap entries, so
    // a trap storm still ends); `done` counts retired instructions only.
    let used = 0;
    let done = 0;
    let reason: RunReason = 'budget';
    try {
      while (used < budget) {
        if (this.haltPending) {
          this.haltPending = false;
          reason = 'halt';
          break;
        }
        this.inHart = true;
        const stop = hart.run(Math.min(budget - used, MAX_SLICE));
        this.inHart = false;
        used += hart.used;
        done += hart.retired;
        if (stop === STOP_BUDGET) continue;
        if (stop === STOP_ECALL) {
          const r = this.hypercall();
          if (r === 'block') {
            done -= 1;
            reason = 'blocked';
            break;
          }
          if (this.exitCode !== undefined) {
            reason = 'exit';
            break;
          }
          if (this.waiting !== undefined) {
            reason = 'sleep';
            break;
          }
          if (r === 'yield') {
            reason = 'yield';
            break;
          }
          continue;
        }
        if (stop === STOP_WFI) {
          if (this.enterIdle()) {
            reason = 'idle';
            break;
          }
          continue;
        }
        if (stop === STOP_FAULT) {
          let cause = hart.faultCause;
          let tval = hart.faultTval;
          if (this.profile === 'app' && (cause === CAUSE_MISALIGNED_LOAD || cause === CAUSE_MISALIGNED_STORE)) {
            // Linux completes misaligned user loads/stores in its trap handler; so does this profile.
            hart.pc = hart.faultPc;
            const r = emulateMisaligned(hart, this.bus);
            if (r === true) {
              used += 1;
              done += 1;
              continue;
            }
            if (r !== false) {
              cause = r.cause;
              tval = r.tval;
            }
          }
          this.fault = describeFault(hart.faultPc, cause, tval);
          reason = 'fault';
          break;
        }
        if (stop === STOP_HALT) {
          if (this.exitCode !== undefined) {
            reason = 'exit';
            break;
          }
          if (this.resetPending) {
            this.boot();
            reason = 'reset';
            break;
          }
        }
      }
    } finally {
      this.inHart = false;
      this.flushTx();
    }
    this.stepped = done;
    return reason;
  }

  /**
   * Skip virtual time to the pending wake-up (sleep or timer) so the next
   * run() continues there. Returns false when there is nothing to wait for
   * (the guest is idle forever unless input arrives).
   */
  idle(): boolean {
    if (this.waiting === undefined) return false;
    const target = this.wakeAt;
    if (target === undefined) return false;
    const hart = this.hart;
    const now = hart.mtime;
    if (target > now) {
      // Land exactly on the tick: mtime = floor(cycle / 10) + timeOffset.
      const cycle = (target - hart.timeOffset) * CYCLES_PER_TICK;
      this.idleCycles += cycle - hart.cycle;
      hart.cycle = cycle;
    }
    hart.timerChanged();
    this.waiting = undefined;
    this.wakeAt = undefined;
    return true;
  }

  /**
   * Run until the guest exits, faults or can make no more progress, skipping
   * idle time deterministically. Stops with reason 'budget' after
   * `maxInstructions` (default: no limit).
   */
  runToEnd(options: { maxInstructions?: number; slice?: number } = {}): RunResult {
    const max = options.maxInstructions ?? Infinity;
    const slice = options.slice ?? 1 << 22;
    let total = 0;
    for (;;) {
      if (total >= max) return { reason: 'budget', instructions: total };
      const r = this.run(Math.min(slice, max - total));
      total += r.instructions;
      switch (r.reason) {
        case 'budget':
        case 'yield':
        case 'reset':
          continue;
        case 'idle':
        case 'sleep':
          if (this.idle()) continue;
          return { reason: r.reason, instructions: total };
        default:
          return { reason: r.reason, instructions: total };
      }
    }
  }

  /** Reboot the guest: RAM cleared, image reloaded, hart and devices reset. */
  reset(): void {
    this.boot();
  }

  /**
   * Make run() return 'halt': at the next instruction boundary when called
   * from a device or hypercall handler, else at the start of the next run().
   */
  requestStop(): void {
    this.haltPending = true;
    if (this.inHart) this.hart.requestStop();
  }

  /** Machine profile: queue bytes for the UART receiver (wakes a guest idling in wfi). */
  input(bytes: Uint8Array): void {
    if (this.uart === undefined) throw new ConfigError('VM_NO_UART', 'input() needs the machine profile (the app profile reads options.stdin)');
    this.uart.push(bytes);
  }

  /** Everything but RAM, as plain data (see state.ts). Call between run()s. */
  saveState(): VmState {
    const h = this.hart;
    return {
      version: VM_STATE_VERSION,
      profile: this.profile,
      isa: this.isa,
      hart: {
        x: Array.from(h.x),
        pc: h.pc >>> 0,
        priv: h.priv,
        instret: h.instret,
        cycle: h.cycle,
        mtimecmp: h.mtimecmp === Infinity ? null : h.mtimecmp,
        timeOffset: h.timeOffset,
        mstatus: h.mstatus | 0,
        mie: h.mie | 0,
        mip: h.mip | 0,
        mtvec: h.mtvec | 0,
        mepc: h.mepc | 0,
        mcause: h.mcause | 0,
        mtval: h.mtval | 0,
        mscratch: h.mscratch | 0,
        mcounteren: h.mcounteren | 0,
        mcountinhibit: h.mcountinhibit | 0,
        counterState: Array.from(h.counterState),
        reservationAddr: h.reservationAddr | 0,
        reservationValid: h.reservationValid,
      },
      exitCode: this.exitCode ?? null,
      fault: this.fault === undefined ? null : { ...this.fault },
      waiting: this.waiting ?? null,
      wakeAt: this.wakeAt ?? null,
      idleCycles: this.idleCycles,
      hypercalls: this.hypercallCount,
      app: this.app === undefined ? null : { brkStart: this.app.brkStart, brkLimit: this.app.brkLimit, brk: this.app.brk, stdinPos: this.app.stdinPos },
      uart: this.uart?.saveState() ?? null,
      clint: this.clint?.saveState() ?? null,
    };
  }

  /**
   * Restore a state from saveState() (checked with checkVmState first; a
   * state of another profile or isa is refused before anything changes).
   * RAM is restored separately; flush the decode cache after writing it.
   */
  loadState(state: VmState): void {
    const s = checkVmState(state);
    if (s.profile !== this.profile || s.isa !== this.isa) {
      throw new SnapshotError('SNAPSHOT_VM_MISMATCH', `state is for a ${s.profile}/${s.isa} VM, this one is ${this.profile}/${this.isa}`);
    }
    const h = this.hart;
    const hs = s.hart;
    h.x.set(hs.x);
    h.x[0] = 0;
    h.pc = hs.pc >>> 0;
    h.priv = hs.priv;
    h.instret = hs.instret;
    h.cycle = hs.cycle;
    h.mtimecmp = hs.mtimecmp === null ? Infinity : hs.mtimecmp;
    h.timeOffset = hs.timeOffset;
    h.mstatus = hs.mstatus;
    h.mie = hs.mie;
    h.mip = hs.mip;
    h.mtvec = hs.mtvec;
    h.mepc = hs.mepc;
    h.mcause = hs.mcause;
    h.mtval = hs.mtval;
    h.mscratch = hs.mscratch;
    h.mcounteren = hs.mcounteren;
    h.mcountinhibit = hs.mcountinhibit;
    h.counterState.set(hs.counterState);
    h.reservationAddr = hs.reservationAddr;
    h.reservationValid = hs.reservationValid;
    this.exitCode = s.exitCode ?? undefined;
    this.fault = s.fault === null ? undefined : { ...s.fault };
    this.waiting = s.waiting ?? undefined;
    this.wakeAt = s.wakeAt ?? undefined;
    this.idleCycles = s.idleCycles;
    this.hypercallCount = s.hypercalls;
    this.resetPending = false;
    this.haltPending = false;
    if (s.app !== null) {
      const app = new AppRuntime(s.app.brkStart, s.app.brkLimit, this.options.stdin ?? new Uint8Array(0));
      app.brk = s.app.brk;
      app.stdinPos = s.app.stdinPos;
      this.app = app;
    }
    if (s.uart !== null) this.uart!.loadState(s.uart);
    if (s.clint !== null) this.clint!.loadState(s.clint);
    this.htif?.attach();
    h.flushDecodeCache();
    h.timerChanged();
  }

  /** Counters since boot (a fresh object each call). */
  get stats(): VmStats {
    return { instructions: this.hart.instret, cycles: this.hart.cycle, idleCycles: this.idleCycles, hypercalls: this.hypercallCount };
  }

  // ----- used by hypercalls and devices -----

  /** The guest exits with `code`; the current run() returns 'exit'. */
  exit(code: number): void {
    if (this.exitCode === undefined) this.exitCode = code;
    if (this.inHart) this.hart.requestStop();
  }

  /**
   * Suspend the guest until mtime reaches `mtime`; the current run() returns
   * 'sleep'. A wake-up past the float64-exact cycle range (~2.8 years of
   * virtual time) is treated as never: wakeAt stays undefined.
   */
  sleepUntil(mtime: number): void {
    this.waiting = 'sleep';
    this.wakeAt = this.reachable(mtime);
  }

  private reachable(mtime: number): number | undefined {
    return (mtime - this.hart.timeOffset) * CYCLES_PER_TICK <= MAX_CYCLE ? mtime : undefined;
  }

  /** Deliver guest output, after any UART bytes still buffered. */
  console(bytes: Uint8Array, stream: 'stdout' | 'stderr'): void {
    this.flushTx();
    this.onConsole?.(bytes, stream);
  }

  private transmit(byte: number): void {
    if (this.tx === null) this.tx = new Uint8Array(CONSOLE_BUFFER);
    this.tx[this.txLen++] = byte;
    if (this.txLen === CONSOLE_BUFFER) this.flushTx();
  }

  private flushTx(): void {
    if (this.txLen === 0) return;
    const bytes = this.tx!.slice(0, this.txLen);
    this.txLen = 0;
    this.onConsole?.(bytes, 'stdout');
  }

  /** Serve the ecall at pc. Returns 'block' when it must be retried (pc unchanged). */
  private hypercall(): 'block' | 'yield' | undefined {
    const hart = this.hart;
    const n = hart.x[17]! >>> 0;
    let a0: number;
    let stop: 'yield' | 'block' | undefined;
    this.hypercallCount++;
    if (n < HYPERCALL_BASE) {
      a0 = this.app!.serve(this, n);
    } else {
      const handler = this.hypercalls.get(n);
      const r = handler === undefined ? -ENOSYS : handler(this);
      if (typeof r === 'number') {
        a0 = r;
      } else {
        if (r.stop === 'block') {
          // The hart counted the ecall as retired; a blocked call is retried, not retired.
          hart.instret -= 1;
          hart.cycle -= 1;
          return 'block';
        }
        a0 = r.a0 ?? 0;
        stop = r.stop;
      }
    }
    hart.x[10] = a0;
    hart.pc = (hart.pc + 4) >>> 0;
    return stop;
  }

  /** After wfi: decide whether the guest can wake by itself (timer) and remember when. */
  private enterIdle(): boolean {
    const hart = this.hart;
    if (this.uart !== undefined && this.uart.rxLength > 0) return false;
    this.waiting = 'idle';
    this.wakeAt = (hart.mie & MIP_MTIP) !== 0 ? this.reachable(hart.mtimecmp) : undefined;
    return true;
  }

  /** Whether a waiting guest may run again: its wake-up time passed or input arrived. */
  private awake(): boolean {
    if (this.wakeAt !== undefined && this.hart.mtime >= this.wakeAt) {
      this.hart.timerChanged();
    } else if (!(this.waiting === 'idle' && this.uart !== undefined && this.uart.rxLength > 0)) {
      return false;
    }
    this.waiting = undefined;
    this.wakeAt = undefined;
    return true;
  }
}

function checkRamSize(options: VmOptions): number {
  const ram = options.ram;
  if (ram !== undefined && !(ram instanceof Uint8Array)) throw new ConfigError('VM_RAM', 'ram must be a Uint8Array view');
  const size = options.ramSize ?? ram?.length ?? DEFAULT_RAM_SIZE;
  if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > MAX_RAM_SIZE) {
    throw new ConfigError('VM_RAM_SIZE', `ramSize ${size} is not a positive multiple of 4 KiB up to ${MAX_RAM_SIZE} (1 GiB)`);
  }
  if (ram !== undefined && ram.length !== size) {
    throw new ConfigError('VM_RAM_SIZE', `ram view has ${ram.length} bytes but ramSize is ${size}`);
  }
  if (ram !== undefined && (ram.byteOffset & 3) !== 0) {
    throw new ConfigError('VM_RAM', `ram view starts at byte offset ${ram.byteOffset}, not on a 4-byte boundary`);
  }
  return size;
}

function alignUp(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}
