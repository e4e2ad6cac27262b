/**
 * The hart: one RV32IMAC (or RV32IMA) hardware thread with M and U modes —
 * rvisor's fast interpreter tier.
 *
 * Design (see shared/PERF-NOTES.md): instructions are predecoded lazily into
 * a cache of 1 KiB code blocks (two int32 per halfword: packed op/fields and
 * the immediate), allocated only for RAM that is executed. The hot loop keeps
 * pc, the current block and the retired count in locals and switches on the
 * op id; straight-line code pays no range check at all: falling off a block's
 * end reads a guard op that looks up the next block, a branch or jump is
 * classified when decoded as staying in its block or leaving it, and an
 * undecoded slot reads op 0, which decodes it. While a chunk runs, the
 * registers live in the decode arena's first slots (`hart.x` is brought up to
 * date before anything outside the hart can look). Traps, CSR accesses,
 * atomics and device accesses leave the hot path.
 *
 * Stores into pages that hold decoded code (PAGE_CODE) reach `invalidate()`
 * through `bus.onFlaggedStore`, so self-modifying code and host-side loading
 * just work; `fence.i` drops the whole cache.
 *
 * Interrupts are not polled per instruction: `run()` computes how many
 * instructions may pass before the timer could fire and bounds the inner loop
 * by that; anything else that can change interrupt state (CSR writes, mret,
 * device hooks through `setPending`/`timerChanged`/`requestStop`) ends the
 * current chunk so the next boundary re-evaluates.
 *
 * A compiling tier (cpu/jit, opt-in through `setTier`) gets each chunk first
 * and hands back to this loop wherever it cannot go on; it sees the same
 * limit, so budgets and the timer horizon bind it too.
 */

import { Bus, PAGE_CODE } from '../memory/bus.ts';
import { RvisorError } from '../errors.ts';
import { decodeTo } from './decode.ts';
import {
  OP_AMOADD, OP_AMOAND, OP_AMOMAX, OP_AMOMAXU, OP_AMOMIN, OP_AMOMINU, OP_AMOOR, OP_AMOSWAP, OP_AMOXOR, OP_BLOCK_END,
  OP_CSRRC, OP_CSRRCI, OP_CSRRS, OP_CSRRSI, OP_CSRRW, OP_CSRRWI, OP_EBREAK, OP_ECALL, OP_FENCE_I, OP_ILLEGAL, OP_LR,
  OP_ADD, OP_ADDI, OP_BEQ, OP_BGE, OP_BGEU, OP_BLT, OP_BLTU, OP_BNE, OP_JAL, OP_JALR, OP_LB, OP_LBU, OP_LH, OP_LHU,
  OP_LW, OP_MRET, OP_MUL, OP_SB, OP_SC, OP_SH, OP_SRAI, OP_SW, OP_WFI,
} from './ops.ts';
import { csrAccessible, csrExists, csrRead, csrWrite, MSTATUS_MIE, MSTATUS_MPIE, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV } from './csr.ts';
import {
  CAUSE_BREAKPOINT, CAUSE_ECALL_M, CAUSE_ECALL_U, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_INTERRUPT,
  CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_FETCH, CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS,
  INT_MEI, INT_MSI, INT_MTI, MIP_MEIP, MIP_MSIP, MIP_MTIP, PRIV_M, PRIV_U,
} from './trap.ts';
import { STOP_BUDGET, STOP_ECALL, STOP_FAULT, STOP_HALT, STOP_WFI } from './stop.ts';
import { PRIME_BLOCK0, PRIME_BLOCK1, PRIME_RAM } from './prime.ts';
import { HotLoop } from './hot.ts';
import { DecodeArena } from './arena.ts';

export { PRIV_M, PRIV_U } from './trap.ts';
export { STOP_BUDGET, STOP_ECALL, STOP_FAULT, STOP_HALT, STOP_WFI } from './stop.ts';

/** The instruction set a hart implements: `rv32imac`, or `rv32ima` without compressed instructions. */
export type Isa = 'rv32imac' | 'rv32ima';

/** Options for the {@link Hart} constructor. */
export interface HartOptions {
  /** Default 'rv32imac'. 'rv32ima' has no C: 16-bit encodings are illegal, jumps need 4-byte targets. */
  isa?: Isa;
  /** mhartid, default 0. */
  hartId?: number;
  /**
   * App profile: there is no M-mode firmware. ecall from U-mode stops with
   * STOP_ECALL (pc at the ecall), every other trap stops with STOP_FAULT, and
   * interrupts are never taken.
   */
  hostTraps?: boolean;
}

/**
 * What a compiling tier (cpu/jit) plugs into the hart. The hart knows only
 * this shape, so importing the interpreter never pulls in the compiler.
 */
export interface CompiledTier {
  /**
   * Run translated code from `pc` for at most `limit` instructions; update pc,
   * registers, instret and cycle, and return how many retired (0: the
   * interpreter must go on at pc).
   */
  run(limit: number): number;
  /** RAM bytes [off, off + width) were written (a store into a PAGE_CODE page). */
  invalidate(off: number, width: number): void;
  /** Forget everything (fence.i, reset, snapshot restore). */
  flush(): void;
  /** Set by run(): instructions the interpreter should execute before calling run() again. */
  readonly interpretNext: number;
}

/** Code-block geometry of the decode cache: 1 KiB of guest code per block. */
const BLOCK_SHIFT = 10;
const BLOCK_BYTES = 1 << BLOCK_SHIFT;
const BLOCK_MASK = BLOCK_BYTES - 1;
/** Register index that swallows writes to x0 (the decoder's rd 0 is remapped here). */
const X_SINK = 32;

/** Largest RAM a hart addresses (the hot loop relies on offsets below 2^30). */
const MAX_RAM = 0x4000_0000;

/** Longest chunk exec() runs without returning to run() (keeps counts in int32 range). */
const MAX_CHUNK = 0x4000_0000;

/** Chunk length and count of the process-wide warm-up (see run()). */
const WARMUP_CHUNK = 256;
let warmupChunks = 2000;
/** The scratch hart that runs the priming program during the warm-up (cpu/prime.ts). */
let primer: Hart | null = null;

// Why exec() returned to run().
const EXIT_CHUNK = 0;
const EXIT_TRAP = 1;
const EXIT_ECALL = 2;
const EXIT_WFI = 3;

// What cold() tells the hot loop to do.
const COLD_NEXT = 0;
const COLD_END_CHUNK = 1;
const COLD_TRAP = 2;
const COLD_JUMP = 3;
const COLD_ECALL = 4;
const COLD_WFI = 5;

/**
 * Fused pairs ("superinstructions"): when fill() decodes an instruction that is
 * often followed by a particular other one, and the next instruction in the
 * same block is that one, the first slot gets a fused op id. Its case in the
 * hot loop runs the first instruction, then the second from the second's own
 * slot, without a second dispatch. Each pair checks at run time that the
 * second slot still holds the op it was made for (stores into code zero slots)
 * and that the budget allows it, else the second runs on its own: exactness
 * never depends on the pairing. The pairs are the most frequent ones in the
 * CoreMark-like guest's hot loops (BENCHMARKS.md).
 */
const F_ADDI_ADDI = 71;
const F_LW_LW = 72;
const F_LH_LH = 73;
const F_MUL_ADD = 74;
const F_ADD_BNE = 75;
const F_ADDI_BNE = 76;
/** The first instruction's op of each fused op, from F_ADDI_ADDI on. */
const FUSED_FIRST = [OP_ADDI, OP_LW, OP_LH, OP_MUL, OP_ADD, OP_ADDI];

/**
 * Jumps and branches whose target lies in another decode block get op + FAR_DELTA
 * (77 = far jal, 79..84 = far beq..bgeu), so the hot loop checks nothing on a near
 * one and leaves the block on a far one. A branch or jal with a misaligned target
 * (no C) becomes OP_MISJUMP, its own op kept in the rd field, for cold().
 */
const FAR_DELTA = 73;
const OP_MISJUMP = 85;

/**
 * While exec() runs, registers x0..x31 and the x0 sink live in the decode
 * arena's first slots (decode blocks start after them): one array for both
 * means one constant base for the hot loop. Only one chunk runs at a time (a
 * nested one saves and restores them: chunk()). `regs` is the home between
 * chunks; sync() publishes them mid-chunk.
 */
const DC_REGS = 64;
/** The decode arena's slot holding the hot loop's RAM limit while a chunk runs (cpu/hot.ts). */
const DC_LIMIT = 40;

/**
 * A decoded instruction as its decode-array slot holds it (cpu/decode.ts's
 * packed word, rearranged for the hot loop): the length as the sign bit (set:
 * 4 bytes), so the loop tests it without a shift, and the immediate inside the
 * word where it fits, so the most frequent instructions need no second load:
 *   ALU with immediate (addi..srai), near jal: bits 19..30 = imm (12 bits, signed)
 *   branches (near and far): rs1 at 8, rs2 at 13, bits 18..30 = offset (13 bits, signed)
 * Every slot's second int32 keeps the full immediate, for everything else.
 */
function slotWord(packed: number, imm: number): number {
  const op = packed & 0xff;
  let w = (packed & 0x00ffffff) | ((packed >>> 24) === 4 ? 0x80000000 : 0);
  if ((op >= OP_ADDI && op <= OP_SRAI) || op === OP_JAL) {
    w = (w & 0x8007ffff) | ((imm & 0xfff) << 19);
  } else if ((op >= OP_BEQ && op <= OP_BGEU) || (op >= OP_BEQ + FAR_DELTA && op <= OP_BGEU + FAR_DELTA)) {
    w = (w & 0x800000ff) | (((packed >>> 14) & 31) << 8) | (((packed >>> 19) & 31) << 13) | ((imm & 0x1fff) << 18);
  }
  return w | 0;
}

/** The fused op for `op1` followed by `op2`, or 0. */
function fusedOp(op1: number, op2: number): number {
  if (op1 === OP_ADDI) return op2 === OP_ADDI ? F_ADDI_ADDI : op2 === OP_BNE ? F_ADDI_BNE : 0;
  if (op1 === OP_LW) return op2 === OP_LW ? F_LW_LW : 0;
  if (op1 === OP_LH) return op2 === OP_LH ? F_LH_LH : 0;
  if (op1 === OP_MUL) return op2 === OP_ADD ? F_MUL_ADD : 0;
  if (op1 === OP_ADD) return op2 === OP_BNE ? F_ADD_BNE : 0;
  return 0;
}

/**
 * Decode-cache blocks have two guard slots past their 512 instruction slots
 * (for a fall-through from a 2- or 4-byte instruction at the last halfword);
 * they hold OP_BLOCK_END, which sends exec() to the next block.
 */
const BLOCK_SLOTS = BLOCK_BYTES + 4;

/** The process's decode arena (cpu/arena.ts), shared by every hart. */
const arena = /* @__PURE__ */ new DecodeArena(HotLoop.slots, DC_REGS, BLOCK_SLOTS);

/**
 * One RV32IMAC (or RV32IMA) hart with M and U modes: rvisor's fast interpreter,
 * running guest code from a {@link Bus} until a stop condition.
 */
export class Hart {
  readonly bus: Bus;
  readonly isa: Isa;
  readonly hartId: number;
  readonly hostTraps: boolean;
  /** x0..x31; x[0] is always 0. A view of `regs` (whose extra slot absorbs x0 writes). */
  readonly x: Int32Array;
  /** Unsigned 32-bit. */
  pc = 0;
  /** PRIV_M or PRIV_U. */
  priv: number = PRIV_M;
  /** Instructions retired since reset (exact below 2^53). */
  instret = 0;
  /** instret + trap entries + idle cycles skipped by the VM; the time base. */
  cycle = 0;
  /** CLINT compare value; Infinity = never. */
  mtimecmp = Infinity;
  /** Added to cycle / 10 to form mtime. */
  timeOffset = 0;
  /** Instructions retired by the last run(). */
  retired = 0;
  /** Budget units consumed by the last run(): instructions retired plus trap entries. */
  used = 0;
  faultCause = 0;
  faultTval = 0;
  faultPc = 0;

  // CSR state (snapshots read and write these directly; values are unsigned 32-bit).
  mstatus = 0;
  mie = 0;
  /** Device-driven pending bits (MSIP, MEIP). MTIP is derived from mtime >= mtimecmp. */
  mip = 0;
  mtvec = 0;
  mepc = 0;
  mcause = 0;
  mtval = 0;
  mscratch = 0;
  mcounteren = 0;
  mcountinhibit = 0;
  /**
   * mcycle/minstret as offsets from cycle/instret (so guest writes never move
   * time): [cycle delta lo, hi, frozen lo, hi, instret delta lo, hi, frozen lo, hi].
   * Frozen values are used while mcountinhibit stops a counter.
   */
  readonly counterState = new Uint32Array(8);
  /** LR reservation: address and whether it is held. */
  reservationAddr = 0;
  reservationValid = false;

  private readonly regs = new Int32Array(33);
  private readonly allowC: boolean;
  /**
   * The decode cache: a block of BLOCK_SLOTS in the process-wide decode arena
   * (cpu/arena.ts) per KiB of RAM that has run, allocated on first execution.
   * While a chunk runs, the registers live in the arena's first slots.
   */
  private readonly dc = arena.slots;
  /** dc's register slots (x0..x31 and the sink), the same shape as `regs`: copies are one memmove. */
  private readonly dcRegs = arena.slots.subarray(0, 33);
  /** Slot index in `dc` of each RAM block's decode block, -1 while it has none. */
  private readonly blockBase: Int32Array;
  /** This hart's part of the arena: its blocks, and whether the arena took them back. */
  private readonly share = arena.join(this);
  /**
   * The decode block exec() last ran in (slot index) and its guest address.
   * Blocks never move (invalidation zeroes slots; the arena taking them back
   * resets this), so the pair stays valid.
   */
  private lastBase = -1;
  private lastBlkPc = 0;
  /** The inner loop and its state (cpu/hot.ts). */
  private readonly hot: HotLoop;
  private readonly scratch = new Int32Array(2);
  /** Set by hooks during run(): end the chunk at the next instruction boundary. */
  private recheck = false;
  private haltRequested = false;
  private exitReason = EXIT_CHUNK;
  /** Trap cause reported by a slow path (-1 = none) and its tval. */
  private slowCause = -1;
  private slowTval = 0;
  private trapCause = 0;
  private trapTval = 0;
  private tier: CompiledTier | null = null;

  constructor(bus: Bus, options: HartOptions = {}) {
    const isa = options.isa ?? 'rv32imac';
    if (isa !== 'rv32imac' && isa !== 'rv32ima') {
      throw new RvisorError('HART_BAD_ISA', `unknown ISA ${String(isa)} (expected rv32imac or rv32ima)`);
    }
    if ((bus.ramBase & 3) !== 0) {
      throw new RvisorError('HART_RAM_ALIGNMENT', `guest RAM base 0x${bus.ramBase.toString(16)} is not 4-byte aligned`);
    }
    if (bus.ramSize > MAX_RAM) {
      // The hot loop's one-compare alignment-and-range check needs RAM offsets below 2^30.
      throw new RvisorError('HART_RAM_SIZE', `guest RAM of ${bus.ramSize} bytes is over the hart's 1 GiB`);
    }
    this.bus = bus;
    this.isa = isa;
    this.allowC = isa === 'rv32imac';
    this.hartId = (options.hartId ?? 0) >>> 0;
    this.hostTraps = options.hostTraps ?? false;
    this.x = this.regs.subarray(0, 32);
    this.blockBase = new Int32Array((bus.ramSize + BLOCK_MASK) >>> BLOCK_SHIFT).fill(-1);
    this.hot = new HotLoop(bus);
    if (bus.onFlaggedStore === null) bus.onFlaggedStore = (off, width) => this.invalidate(off, width);
    this.reset(bus.ramBase, PRIV_M);
  }

  /** floor(cycle / 10) + timeOffset: 10 MHz at a nominal 100 MHz hart. */
  get mtime(): number {
    return Math.floor(this.cycle / 10) + this.timeOffset;
  }

  /** Architectural reset: registers, CSRs, counters and the decode cache. */
  reset(pc: number, priv: number): void {
    this.regs.fill(0);
    this.pc = pc >>> 0;
    this.priv = priv === PRIV_U ? PRIV_U : PRIV_M;
    this.instret = 0;
    this.cycle = 0;
    this.mtimecmp = Infinity;
    this.timeOffset = 0;
    this.retired = 0;
    this.used = 0;
    this.faultCause = this.faultTval = this.faultPc = 0;
    this.mstatus = this.mie = this.mip = this.mtvec = this.mepc = 0;
    this.mcause = this.mtval = this.mscratch = this.mcounteren = this.mcountinhibit = 0;
    this.counterState.fill(0);
    this.reservationValid = false;
    this.reservationAddr = 0;
    this.haltRequested = false;
    this.recheck = false;
    this.flushDecodeCache();
  }

  /** Forget every decoded instruction (fence.i, host-side code loading). */
  flushDecodeCache(): void {
    this.syncArena();
    // Zeroing (rather than dropping) keeps every block at its slots, where a running exec() may be.
    for (const base of this.share.blocks) this.dc.fill(0, base, base + BLOCK_BYTES);
    if (this.tier !== null) this.tier.flush();
  }

  /**
   * Install (or with null remove) a compiling tier; see cpu/jit. Translated
   * code is a cache: it holds no state of its own.
   */
  setTier(tier: CompiledTier | null): void {
    if (this.tier !== null) this.tier.flush();
    this.tier = tier;
  }

  /**
   * Drop decoded instructions overlapping RAM bytes [off, off + width)
   * (offsets relative to bus.ramBase). The bus hook calls this after stores to
   * PAGE_CODE pages; a VM that chains hooks must forward to it.
   */
  invalidate(off: number, width: number): void {
    this.syncArena();
    const bases = this.blockBase;
    const dc = this.dc;
    // An instruction starting up to 2 bytes before `off` can cover it.
    let s = (off - 2) & ~1;
    if (s < 0) s = 0;
    const end = off + width;
    for (; s < end; s += 2) {
      const base = bases[s >>> BLOCK_SHIFT]!;
      if (base >= 0) dc[base + (s & BLOCK_MASK)] = 0;
    }
    if (this.tier !== null) this.tier.invalidate(off, width);
  }

  /** The next instruction boundary inside run() returns STOP_HALT (or the next run() at once). */
  requestStop(): void {
    this.haltRequested = true;
    this.recheck = true;
  }

  /**
   * Drive a device interrupt line: `bit` is MIP_MSIP or MIP_MEIP (the bit
   * numbers INT_MSI / INT_MEI are accepted too).
   */
  setPending(bit: number, on: boolean): void {
    let mask: number;
    if (bit === MIP_MSIP || bit === INT_MSI) mask = MIP_MSIP;
    else if (bit === MIP_MEIP || bit === INT_MEI) mask = MIP_MEIP;
    else throw new RvisorError('HART_BAD_INTERRUPT', `setPending: ${bit} is not MIP_MSIP or MIP_MEIP`);
    this.mip = on ? this.mip | mask : this.mip & ~mask;
    this.recheck = true;
  }

  /** CLINT wrote mtimecmp or mtime: MTIP is re-evaluated at the next boundary. */
  timerChanged(): void {
    this.recheck = true;
  }

  /** Host read of a CSR, no privilege check. Throws HART_UNKNOWN_CSR for a CSR that does not exist. */
  csrRead(n: number): number {
    if (!csrExists(n)) throw new RvisorError('HART_UNKNOWN_CSR', `no CSR 0x${(n >>> 0).toString(16)}`);
    return csrRead(this, n);
  }

  /** Host write of a CSR with the CSR's WARL rules but no privilege or read-only check. */
  csrWrite(n: number, v: number): void {
    if (!csrExists(n)) throw new RvisorError('HART_UNKNOWN_CSR', `no CSR 0x${(n >>> 0).toString(16)}`);
    csrWrite(this, n, v, false);
  }

  /**
   * Whether the instruction at `pc` is in the decode cache, i.e. has run since
   * it was last written (the compiling tier translates only code that has run).
   */
  hasRun(pc: number): boolean {
    const off = (pc - this.bus.ramBase) >>> 0;
    if (off >= this.bus.ramSize) return false;
    this.syncArena();
    const base = this.blockBase[off >>> BLOCK_SHIFT]!;
    return base >= 0 && this.dc[base + (off & BLOCK_MASK)] !== 0;
  }

  /** Host bytes held by the decode cache (its blocks in the decode arena, plus the block table). */
  decodeCacheBytes(): number {
    this.syncArena();
    return this.share.blocks.length * BLOCK_SLOTS * 4 + this.blockBase.byteLength;
  }

  /** If the arena took this hart's blocks back, forget where they were (before reading blockBase). */
  private syncArena(): void {
    if (!this.share.lost) return;
    this.share.lost = false;
    this.blockBase.fill(-1);
    this.lastBase = -1;
  }

  /** Enabled pending interrupts (mip & mie), MTIP included. */
  pendingInterrupts(): number {
    return (this.mip | (this.mtime >= this.mtimecmp ? MIP_MTIP : 0)) & this.mie;
  }

  /**
   * Run until `budget` units are consumed (an instruction retired or a trap
   * entered is one unit) or something stops the hart. Returns one of STOP_*.
   */
  run(budget: number): number {
    // Whole units only; NaN or negative budgets run nothing.
    budget = budget > 0 ? Math.floor(budget) : 0;
    const instret0 = this.instret;
    let used = 0;
    let result = STOP_BUDGET;
    for (;;) {
      if (this.haltRequested) {
        this.haltRequested = false;
        result = STOP_HALT;
        break;
      }
      if (used >= budget) break;
      if (!this.hostTraps) {
        const pend = this.pendingInterrupts();
        if (pend !== 0 && ((this.mstatus & MSTATUS_MIE) !== 0 || this.priv < PRIV_M)) {
          // Priority MEI > MSI > MTI (privileged spec 3.1.9).
          const code = (pend & MIP_MEIP) !== 0 ? INT_MEI : (pend & MIP_MSIP) !== 0 ? INT_MSI : INT_MTI;
          this.enterTrap((CAUSE_INTERRUPT | code) >>> 0, 0, code);
          used++;
          this.cycle++;
          continue;
        }
      }
      // An int32 chunk length keeps the loop's budget compare an integer compare.
      let limit = Math.min(budget - used, this.timerHorizon(), MAX_CHUNK) | 0;
      if (warmupChunks > 0 && this !== primer) {
        // Short chunks until V8 has seen exec() enter and leave many times: optimized
        // on-stack during one long first chunk, its exit path would have no type
        // feedback and deoptimize at the end of every later chunk. Each is joined by a
        // chunk of the priming program, which gives every fast-path case its feedback.
        warmupChunks--;
        if (limit > WARMUP_CHUNK) limit = WARMUP_CHUNK;
        primeStep();
      }
      this.recheck = false;
      const tier = this.tier;
      if (tier !== null) {
        // Translated code needs no recheck: it leaves before anything with side effects.
        const k = tier.run(limit);
        used += k;
        if (k === limit) continue;
        limit -= k;
        if (limit > tier.interpretNext) limit = tier.interpretNext;
      }
      used += this.chunk(limit);
      const why = this.exitReason;
      if (why === EXIT_CHUNK) continue;
      if (why === EXIT_WFI) {
        result = STOP_WFI;
        break;
      }
      if (why === EXIT_ECALL) {
        result = STOP_ECALL;
        break;
      }
      // EXIT_TRAP
      const cause = this.trapCause;
      const tval = this.trapTval >>> 0;
      if (this.hostTraps || (cause === CAUSE_FETCH_ACCESS && this.pc === (this.mtvec & ~3) >>> 0)) {
        // No firmware to handle it, or the handler itself cannot be fetched: give up.
        this.faultCause = cause;
        this.faultTval = tval;
        this.faultPc = this.pc;
        result = STOP_FAULT;
        break;
      }
      this.enterTrap(cause, tval, -1);
      used++;
      this.cycle++;
    }
    this.retired = this.instret - instret0;
    this.used = used;
    return result;
  }

  /** Instructions that may run before mtime reaches mtimecmp, if that interrupt could be taken. */
  private timerHorizon(): number {
    if (this.hostTraps || (this.mie & MIP_MTIP) === 0) return Infinity;
    if ((this.mstatus & MSTATUS_MIE) === 0 && this.priv === PRIV_M) return Infinity;
    const dt = Math.ceil((this.mtimecmp - this.timeOffset) * 10 - this.cycle);
    return dt > 1 ? dt : 1;
  }

  /** Trap entry (privileged spec 3.1.6.1, 3.3.1); `code` >= 0 for a vectorable interrupt. */
  private enterTrap(cause: number, tval: number, code: number): void {
    this.mepc = this.pc >>> 0;
    this.mcause = cause >>> 0;
    this.mtval = tval >>> 0;
    const s = this.mstatus;
    this.mstatus = (s & ~(MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP)) |
      ((s & MSTATUS_MIE) !== 0 ? MSTATUS_MPIE : 0) | (this.priv << MSTATUS_MPP_SHIFT);
    this.priv = PRIV_M;
    this.reservationValid = false;
    const base = this.mtvec & ~3;
    this.pc = (code >= 0 && (this.mtvec & 1) !== 0 ? base + 4 * code : base) >>> 0;
  }

  /** The instruction bits at pc (16 for a compressed one), for mtval of illegal-instruction traps. */
  private insnBits(pc: number): number {
    const off = (pc - this.bus.ramBase) >>> 0;
    const r = this.bus.ram;
    const lo = r[off]! | (r[off + 1]! << 8);
    if ((lo & 3) !== 3 || off + 4 > this.bus.ramSize) return lo;
    return (lo | (r[off + 2]! << 16) | (r[off + 3]! << 24)) >>> 0;
  }

  /**
   * Slot index in `dc` of the decode block for RAM block `index`, created (and
   * its page flagged) on first use. Getting a block may make the arena take
   * this hart's other blocks back (only when no other hart's are free to take):
   * exec() asks only when it leaves the block it was in.
   */
  private block(index: number): number {
    let base = this.blockBase[index]!;
    if (base < 0) {
      base = arena.alloc(this.share);
      // Making room may have taken this hart's own blocks (only when no other hart's could go).
      this.syncArena();
      this.dc[base + BLOCK_BYTES] = OP_BLOCK_END;
      this.dc[base + BLOCK_BYTES + 2] = OP_BLOCK_END;
      this.blockBase[index] = base;
      this.flagCode((index << BLOCK_SHIFT) >>> 12);
    }
    return base;
  }

  /**
   * Mark a RAM page as holding code. Translated code checks stores against
   * the flags it was translated with, so a newly flagged page retires it.
   */
  private flagCode(page: number): void {
    const flags = this.bus.pageFlags;
    if ((flags[page]! & PAGE_CODE) !== 0) return;
    flags[page] = flags[page]! | PAGE_CODE;
    if (this.tier !== null) this.tier.flush();
  }

  /** Decode the instruction at RAM offset `off` into its slot; 0 if it runs past the end of RAM. */
  private fill(b: Int32Array, rel: number, off: number, fuse = true): number {
    const bus = this.bus;
    if (off >= bus.ramSize) return 0;
    const r = bus.ram;
    let word = r[off]! | (r[off + 1]! << 8);
    if ((word & 3) === 3) {
      if (off + 4 > bus.ramSize) return 0;
      word |= (r[off + 2]! << 16) | (r[off + 3]! << 24);
      // A 4-byte instruction straddling a page: stores to its upper half must invalidate it too.
      if (((off + 2) & 0xfff) === 0) this.flagCode((off + 2) >>> 12);
    }
    const s = this.scratch;
    decodeTo(word, this.allowC, s);
    let packed = s[0]!;
    let imm = s[1]!;
    if (((packed >>> 8) & 63) === 0) packed |= X_SINK << 8;
    const op = packed & 0xff;
    if (op >= OP_LB && op <= OP_SW) {
      // The hot loop adds the immediate to rs1 and has the RAM offset.
      imm = (imm - bus.ramBase) | 0;
    } else if (op === OP_JAL || (op >= OP_BEQ && op <= OP_BGEU)) {
      // The target is known now: whether it stays in this block, and whether it is aligned.
      const t = (off + imm) | 0;
      if (!this.allowC && (t & 2) !== 0) packed = (packed & ~0x3fff) | (op << 8) | OP_MISJUMP;
      else if ((t & ~BLOCK_MASK) !== (off & ~BLOCK_MASK)) packed += FAR_DELTA;
    } else if (op === OP_JALR && !this.allowC) {
      // The unused rs2 field carries the target bits that must be clear.
      packed |= 2 << 19;
    }
    packed = slotWord(packed, imm);
    b[rel] = packed;
    b[rel + 1] = imm;
    if (fuse) {
      const f = this.pairWithNext(b, rel, off, packed);
      if (f !== 0) b[rel] = (packed & ~0xff) | f;
    }
    return packed;
  }

  /**
   * The fused op for the instruction just decoded into slot `rel` and the one
   * after it, or 0. The second is decoded into its own slot (unfused) if it is
   * not yet; a pair never spans two blocks.
   */
  private pairWithNext(b: Int32Array, rel: number, off: number, packed: number): number {
    const op1 = packed & 0xff;
    if (op1 !== OP_ADDI && op1 !== OP_LW && op1 !== OP_LH && op1 !== OP_MUL && op1 !== OP_ADD) return 0;
    const len1 = packed < 0 ? 4 : 2;
    if ((off & BLOCK_MASK) + len1 >= BLOCK_BYTES) return 0;
    let p2 = b[rel + len1]!;
    if (p2 === 0) p2 = this.fill(b, rel + len1, off + len1, false);
    return p2 === 0 ? 0 : fusedOp(op1, p2 & 0xff);
  }

  /**
   * exec() with the arena told which hart is running. Nested in another hart's
   * chunk (a device callback that runs a hart), it keeps the outer chunk's
   * registers, which live in the same arena slots.
   */
  private chunk(limit: number): number {
    const nested = arena.enter(this.share);
    const saved = nested ? this.dc.slice(0, DC_REGS) : null;
    try {
      this.syncArena();
      return this.exec(limit);
    } finally {
      if (saved !== null) this.dc.set(saved);
      arena.leave(this.share);
    }
  }

  /**
   * Execute at most `limit` instructions; returns how many retired. Sets
   * exitReason (and trapCause/trapTval with pc at the trapping instruction).
   *
   * Two levels: the hot loop (cpu/hot.ts) runs the frequent instructions and
   * calls nothing; whatever it cannot finish on its fast path (a decode miss, a
   * load or store that is not plain RAM, a rare instruction) it returns with pc
   * at that instruction, a jump into another decode block it returns after the
   * jump, and this loop handles both with calls. The hot loop is a function of
   * its own because a value that is live across a call anywhere in a function
   * is kept in a stack slot by V8 in all of it: in one function with the calls,
   * pc and the counter made a round trip through memory on every instruction.
   */
  private exec(limit: number): number {
    limit |= 0;
    this.exitReason = EXIT_CHUNK;
    if (limit <= 0) return 0;
    const bus = this.bus;
    const ramBase = bus.ramBase;
    const ramSize = bus.ramSize;
    const instret0 = this.instret;
    const cycle0 = this.cycle;
    // pc is even by construction (jumps clear bit 0); the mask only guards a host-set odd pc.
    let pc = this.pc & ~1;
    // pc's decode block: the one the last chunk ended in when pc is still inside it
    // (a window that resumes where the previous one stopped), else looked up.
    // Slot of pc = pc - bias; blkPc is the block's guest address.
    let blkPc = this.lastBlkPc | 0;
    let bias = (blkPc - this.lastBase) | 0;
    if (this.lastBase < 0 || ((pc - blkPc) >>> 0) >= 1024) {
      const off = (pc - ramBase) >>> 0;
      if (off >= ramSize) return this.fetchFault(pc);
      blkPc = (pc - (off & 1023)) | 0;
      bias = (blkPc - this.block(off >>> BLOCK_SHIFT)) | 0;
      this.lastBlkPc = blkPc;
    }
    // The registers move into the arena's first slots for the chunk (see DC_REGS).
    const dc = this.dc;
    dc.set(this.regs);
    // Instructions the chunk may still run: one counter for "retired" and "limit".
    let left = limit;
    const hot = this.hot;
    dc[DC_LIMIT] = hot.ramLimit;
    hot.rel = (pc - bias) | 0;
    hot.left = left;
    hot.bias = bias;
    hot.base = (blkPc - bias) | 0;
    for (;;) {
      hot.run();
      pc = (hot.rel + bias) | 0;
      left = hot.left;
      // Out of budget, possibly after a jump: the fetch at its target belongs to the next chunk.
      if (left <= 0) break;
      if (((pc - blkPc) >>> 0) >= 1024) {
        // A jump, or running off the end (a guard slot), left the block: find pc's
        // block (or fault), then back to the hot loop.
        const off = (pc - ramBase) >>> 0;
        if (off >= ramSize) { this.setTrap(CAUSE_FETCH_ACCESS, pc); break; }
        const base = this.block(off >>> BLOCK_SHIFT);
        blkPc = (pc - (off & 1023)) | 0;
        bias = (blkPc - base) | 0;
        this.lastBlkPc = blkPc;
        hot.rel = (pc - bias) | 0;
        hot.bias = bias;
        hot.base = base;
        continue;
      }
      // The instruction at pc left the hot loop (a fused pair: its first instruction).
      const rel = (pc - bias) | 0;
      let w = dc[rel]!;
      if ((w & 0xff) >= F_ADDI_ADDI && (w & 0xff) < F_ADDI_ADDI + FUSED_FIRST.length) {
        w = (w & ~0xff) | FUSED_FIRST[(w & 0xff) - F_ADDI_ADDI]!;
      }
      const imm = dc[(rel + 1) | 0]!;
      const npc = (pc + (w < 0 ? 4 : 2)) | 0;
      const op = w & 0xff;
      if (op === 0 /* OP_UNDECODED */) {
        const off = (pc - ramBase) >>> 0;
        if (this.fill(dc, rel, off) === 0) {
          this.setTrap(CAUSE_FETCH_ACCESS, off >= ramSize ? pc : (pc + 2) | 0);
          break;
        }
        continue;
      }
      const done = (limit - left) | 0;
      const r = this.cold(w, imm, pc, instret0 + done, cycle0 + done);
      if (r === COLD_NEXT) { hot.rel = (npc - bias) | 0; hot.left = (left - 1) | 0; continue; }
      if (r === COLD_END_CHUNK) { pc = npc; left = (left - 1) | 0; break; }
      if (r === COLD_TRAP) { this.setTrap(this.slowCause, this.slowTval); break; }
      if (r === COLD_JUMP) {
        // mret: new pc and privilege; run() must re-evaluate interrupts.
        pc = this.pc & ~1;
        left = (left - 1) | 0;
        break;
      }
      if (r === COLD_ECALL) { this.exitReason = EXIT_ECALL; left = (left - 1) | 0; break; }
      // COLD_WFI
      pc = npc;
      left = (left - 1) | 0;
      this.exitReason = EXIT_WFI;
      break;
    }

    const n = (limit - left) | 0;
    this.regs.set(this.dcRegs);
    this.pc = pc >>> 0;
    this.instret = instret0 + n;
    this.cycle = cycle0 + n;
    this.lastBase = (blkPc - bias) | 0;
    this.lastBlkPc = blkPc;
    return n;
  }

  /** exec() ends the chunk with a trap at its pc. */
  private setTrap(cause: number, tval: number): void {
    this.exitReason = EXIT_TRAP;
    this.trapCause = cause;
    this.trapTval = tval;
  }

  /** exec() found pc outside RAM before running anything: an instruction access fault at pc. */
  private fetchFault(pc: number): number {
    this.pc = pc >>> 0;
    this.setTrap(CAUSE_FETCH_ACCESS, pc);
    return 0;
  }

  /** Publish the counters and registers mid-chunk, before code outside the hart can look at them. */
  private sync(instret: number, cycle: number): void {
    this.instret = instret;
    this.cycle = cycle;
    this.regs.set(this.dcRegs);
  }

  /** Load that missed the RAM fast path. Sets slowCause (-1 = none) and returns the zero-extended value. */
  private loadSlow(a: number, width: number, instret: number, cycle: number): number {
    // Spike order: misalignment before access rights.
    if ((a & (width - 1)) !== 0) {
      this.slowCause = CAUSE_MISALIGNED_LOAD;
      return 0;
    }
    this.sync(instret, cycle);
    const bus = this.bus;
    const v = bus.load(a >>> 0, width);
    if (bus.fault) {
      bus.fault = false;
      this.slowCause = CAUSE_LOAD_ACCESS;
      return 0;
    }
    this.slowCause = -1;
    return v | 0;
  }

  /**
   * Store that missed the plain RAM fast path: already written to a flagged
   * RAM page (run the hook), or misaligned, or for a device. Returns true on a
   * trap (cause in slowCause).
   */
  private storeSlow(a: number, off: number, width: number, v: number, instret: number, cycle: number): boolean {
    const bus = this.bus;
    if ((a & (width - 1)) !== 0) {
      this.slowCause = CAUSE_MISALIGNED_STORE;
      return true;
    }
    this.sync(instret, cycle);
    if (off < bus.ramSize) {
      const hook = bus.onFlaggedStore;
      if (hook !== null) hook(off, width);
      return false;
    }
    bus.store(a >>> 0, width, v);
    if (bus.fault) {
      bus.fault = false;
      this.slowCause = CAUSE_STORE_ACCESS;
      return true;
    }
    return false;
  }

  /** Rare instructions: Zicsr, system, fence.i, atomics, illegal. Returns a COLD_* action. */
  private cold(w: number, imm: number, pc: number, instret: number, cycle: number): number {
    // exec()'s registers: the first slots of the decode arena.
    const x = this.dc;
    const op = w & 0xff;
    const rd = (w >>> 8) & 63;
    switch (op) {
      // Loads and stores that missed the hot loop's plain-RAM fast path: devices, shared
      // windows, misaligned or faulting addresses, stores into flagged pages.
      case OP_LW: case OP_LH: case OP_LHU: case OP_LB: case OP_LBU: {
        // fill() stored the immediate minus ramBase.
        const a = (x[(w >>> 14) & 31]! + imm + this.bus.ramBase) | 0;
        const v = this.loadSlow(a, op === OP_LW ? 4 : op === OP_LB || op === OP_LBU ? 1 : 2, instret, cycle);
        if (this.slowCause >= 0) return this.fault(this.slowCause, a);
        x[rd] = op === OP_LH ? (v << 16) >> 16 : op === OP_LB ? (v << 24) >> 24 : v;
        return this.recheck ? COLD_END_CHUNK : COLD_NEXT;
      }
      case OP_SW: case OP_SH: case OP_SB: {
        const a = (x[(w >>> 14) & 31]! + imm + this.bus.ramBase) | 0;
        const bus = this.bus;
        const off = (a - bus.ramBase) >>> 0;
        const width = op === OP_SW ? 4 : op === OP_SH ? 2 : 1;
        const v = x[(w >>> 19) & 31]!;
        // Plain RAM in a flagged page: write it here; storeSlow() then tells the bus hook.
        if ((a & (width - 1)) === 0 && off + width <= bus.ramSize) {
          if (width === 4) bus.ram32[off >>> 2] = v;
          else if (width === 2) bus.ram16[off >>> 1] = v;
          else bus.ram[off] = v;
        }
        if (this.storeSlow(a, off, width, width === 4 ? v : width === 2 ? v & 0xffff : v & 0xff, instret, cycle)) {
          return this.fault(this.slowCause, a);
        }
        return this.recheck ? COLD_END_CHUNK : COLD_NEXT;
      }
      case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI: {
        this.sync(instret, cycle);
        const r = this.csrInsn(w, imm);
        if (r < 0) return this.illegal(pc);
        // A write may have changed interrupt enables: let run() look again.
        return r > 0 ? COLD_END_CHUNK : COLD_NEXT;
      }
      case OP_LR: {
        const a = x[(w >>> 14) & 31]!;
        const v = this.loadSlow(a, 4, instret, cycle);
        if (this.slowCause >= 0) return this.fault(this.slowCause, a);
        this.reservationAddr = a >>> 0;
        this.reservationValid = true;
        x[rd] = v;
        return this.recheck ? COLD_END_CHUNK : COLD_NEXT;
      }
      case OP_SC: {
        const a = x[(w >>> 14) & 31]!;
        if ((a & 3) !== 0) return this.fault(CAUSE_MISALIGNED_STORE, a);
        const ok = this.reservationValid && this.reservationAddr === a >>> 0;
        this.reservationValid = false;
        if (!ok) {
          x[rd] = 1;
          return COLD_NEXT;
        }
        if (this.amoWrite(a, x[(w >>> 19) & 31]!, instret, cycle)) return this.fault(CAUSE_STORE_ACCESS, a);
        x[rd] = 0;
        return this.recheck ? COLD_END_CHUNK : COLD_NEXT;
      }
      case OP_AMOSWAP: case OP_AMOADD: case OP_AMOXOR: case OP_AMOAND: case OP_AMOOR:
      case OP_AMOMIN: case OP_AMOMAX: case OP_AMOMINU: case OP_AMOMAXU: {
        const a = x[(w >>> 14) & 31]!;
        if ((a & 3) !== 0) return this.fault(CAUSE_MISALIGNED_STORE, a);
        const src = x[(w >>> 19) & 31]!;
        const bus = this.bus;
        const off = (a - bus.ramBase) >>> 0;
        let old: number;
        if (off < bus.ramSize) {
          old = bus.ram32[off >>> 2]!;
        } else {
          this.sync(instret, cycle);
          old = bus.load(a >>> 0, 4) | 0;
          // An AMO that cannot complete reports a store/AMO access fault.
          if (bus.fault) {
            bus.fault = false;
            return this.fault(CAUSE_STORE_ACCESS, a);
          }
        }
        if (this.amoWrite(a, amo(op, old, src), instret, cycle)) return this.fault(CAUSE_STORE_ACCESS, a);
        x[rd] = old;
        return this.recheck ? COLD_END_CHUNK : COLD_NEXT;
      }
      case OP_JALR: {
        // Only a jalr whose target is misaligned (no C) comes here.
        const t = (x[(w >>> 14) & 31]! + imm) & ~1;
        return this.fault(CAUSE_MISALIGNED_FETCH, t);
      }
      case OP_MISJUMP: {
        // A branch or jal whose target is misaligned (no C): it traps if taken.
        const a = x[(w >>> 14) & 31]!, b = x[(w >>> 19) & 31]!;
        let taken: boolean;
        switch ((w >>> 8) & 63) {
          case OP_BEQ: taken = a === b; break;
          case OP_BNE: taken = a !== b; break;
          case OP_BLT: taken = a < b; break;
          case OP_BGE: taken = a >= b; break;
          case OP_BLTU: taken = (a >>> 0) < (b >>> 0); break;
          case OP_BGEU: taken = (a >>> 0) >= (b >>> 0); break;
          default: taken = true; // jal
        }
        return taken ? this.fault(CAUSE_MISALIGNED_FETCH, (pc + imm) | 0) : COLD_NEXT;
      }
      case OP_FENCE_I:
        this.flushDecodeCache();
        return COLD_NEXT;
      case OP_ECALL:
        if (this.priv === PRIV_U) {
          // With hostTraps the hypercall counts as the retired ecall; the VM moves pc past it.
          if (this.hostTraps) return COLD_ECALL;
          return this.fault(CAUSE_ECALL_U, 0);
        }
        return this.fault(CAUSE_ECALL_M, 0);
      case OP_EBREAK:
        return this.fault(CAUSE_BREAKPOINT, pc);
      case OP_MRET: {
        if (this.priv < PRIV_M) return this.illegal(pc);
        const s = this.mstatus;
        const mpp = (s >>> MSTATUS_MPP_SHIFT) & 3;
        let ns = (s & ~(MSTATUS_MIE | MSTATUS_MPP)) | MSTATUS_MPIE | ((s & MSTATUS_MPIE) !== 0 ? MSTATUS_MIE : 0);
        if (mpp !== PRIV_M) ns &= ~MSTATUS_MPRV;
        this.mstatus = ns;
        this.priv = mpp === PRIV_M ? PRIV_M : PRIV_U;
        this.reservationValid = false;
        this.pc = (this.allowC ? this.mepc & ~1 : this.mepc & ~3) >>> 0;
        return COLD_JUMP;
      }
      case OP_WFI:
        if (this.priv < PRIV_M) return this.illegal(pc);
        // Spec 3.3.3: wfi may return at once; it must when an enabled interrupt is
        // pending. Pending is judged once the wfi's own cycle has passed, so a
        // timer that fires on that cycle wakes it.
        this.sync(instret + 1, cycle + 1);
        return this.pendingInterrupts() !== 0 ? COLD_NEXT : COLD_WFI;
      case OP_ILLEGAL:
        return this.fault(CAUSE_ILLEGAL_INSTRUCTION, imm);
      default:
        throw new RvisorError('HART_INTERNAL', `decode cache holds unknown op ${op} at 0x${(pc >>> 0).toString(16)}`);
    }
  }

  private fault(cause: number, tval: number): number {
    this.slowCause = cause;
    this.slowTval = tval;
    return COLD_TRAP;
  }

  private illegal(pc: number): number {
    return this.fault(CAUSE_ILLEGAL_INSTRUCTION, this.insnBits(pc));
  }

  /** The store half of SC/AMO, to RAM or a device; true on an access fault. */
  private amoWrite(a: number, v: number, instret: number, cycle: number): boolean {
    const bus = this.bus;
    const off = (a - bus.ramBase) >>> 0;
    if (off < bus.ramSize) {
      bus.ram32[off >>> 2] = v;
      if (bus.pageFlags[off >>> 12] !== 0) {
        this.sync(instret, cycle);
        const hook = bus.onFlaggedStore;
        if (hook !== null) hook(off, 4);
      }
      return false;
    }
    this.sync(instret, cycle);
    bus.store(a >>> 0, 4, v);
    if (bus.fault) {
      bus.fault = false;
      return true;
    }
    return false;
  }

  /**
   * A Zicsr instruction. Returns -1 when illegal, 1 when it wrote a CSR
   * (the chunk must end), 0 for a pure read.
   */
  private csrInsn(w: number, n: number): number {
    const op = w & 0xff;
    const rd = (w >>> 8) & 63;
    const field = (w >>> 14) & 31; // rs1, or the uimm of the *I forms
    const x = this.dc;
    const isImm = op >= OP_CSRRWI;
    const src = isImm ? field : x[field]!;
    const kind = isImm ? op - OP_CSRRWI : op - OP_CSRRW; // 0 rw, 1 rs, 2 rc
    // csrrs/csrrc with rs1 = x0 (or uimm = 0) do not write (unprivileged spec 9.1).
    const writes = kind === 0 || field !== 0;
    if (!csrAccessible(this, n, writes)) return -1;
    // csrrw with rd = x0 does not read (no read side effects).
    const old = kind === 0 && rd === X_SINK ? 0 : csrRead(this, n) | 0;
    if (writes) {
      const v = kind === 0 ? src : kind === 1 ? old | src : old & ~src;
      csrWrite(this, n, v, true);
    }
    x[rd] = old;
    return writes ? 1 : 0;
  }
}

/** One warm-up chunk of the priming program on the process's scratch hart. */
function primeStep(): void {
  if (primer === null) {
    const bus = new Bus(new Uint8Array(PRIME_RAM), 0);
    bus.ram16.set(PRIME_BLOCK0, 0);
    bus.ram16.set(PRIME_BLOCK1, 0x400 >>> 1);
    primer = new Hart(bus);
    // Counters past 2^31 from the start: exec() and run() then get the feedback of the
    // doubles they become in any long run, instead of deoptimizing when they do.
    primer.instret = primer.cycle = 2 ** 32;
  }
  primer.run(WARMUP_CHUNK);
}

function amo(op: number, old: number, src: number): number {
  switch (op) {
    case OP_AMOSWAP: return src;
    case OP_AMOADD: return (old + src) | 0;
    case OP_AMOXOR: return old ^ src;
    case OP_AMOAND: return old & src;
    case OP_AMOOR: return old | src;
    case OP_AMOMIN: return old < src ? old : src;
    case OP_AMOMAX: return old > src ? old : src;
    case OP_AMOMINU: return (old >>> 0) < (src >>> 0) ? old : src;
    default: return (old >>> 0) > (src >>> 0) ? old : src; // OP_AMOMAXU
  }
}
