/**
 * A small, obviously-correct model of one RV32IMAC + Zicsr + Zifencei hart
 * (M and U modes), kept beside the fast interpreter so tests can compare the
 * two instruction by instruction. Clarity wins over speed everywhere here:
 * every memory access goes through `bus.load` / `bus.store`, compressed
 * instructions are expanded to their 32-bit equivalents exactly as the
 * unprivileged spec (chapter "C" Standard Extension) defines them, traps are
 * JavaScript exceptions, and MULH/DIV use BigInt so that they are computed
 * differently from the fast path.
 *
 * It is written from the RISC-V specs (unprivileged 20191213, privileged
 * 1.12) and the Spike-like choices recorded in docs/ARCHITECTURE.md, on
 * purpose without looking at cpu/hart.ts: the two must agree only because
 * both follow the spec.
 */

import type { Bus } from '../memory/bus.ts';

export type ReferenceIsa = 'rv32imac' | 'rv32ima';

export interface ReferenceHartOptions {
  isa?: ReferenceIsa;
  hartId?: number;
  /** `app` profile: ecall from U stops with STOP_ECALL, any other trap with STOP_FAULT. */
  hostTraps?: boolean;
}

/** step() results; the numbers are the Hart contract's STOP_* (docs/ARCHITECTURE.md). */
export const REF_STOP_BUDGET = 0;
export const REF_STOP_WFI = 1;
export const REF_STOP_ECALL = 2;
export const REF_STOP_FAULT = 3;

const PRIV_U = 0;
const PRIV_M = 3;

// Exception causes (privileged spec table 3.6).
const CAUSE_FETCH_MISALIGNED = 0;
const CAUSE_FETCH_ACCESS = 1;
const CAUSE_ILLEGAL = 2;
const CAUSE_BREAKPOINT = 3;
const CAUSE_LOAD_MISALIGNED = 4;
const CAUSE_LOAD_ACCESS = 5;
const CAUSE_STORE_MISALIGNED = 6;
const CAUSE_STORE_ACCESS = 7;
const CAUSE_ECALL_U = 8;
const CAUSE_ECALL_M = 11;

// Interrupt numbers (mip/mie bit positions).
const IRQ_MSI = 3;
const IRQ_MTI = 7;
const IRQ_MEI = 11;
const MIP_MTIP = 1 << IRQ_MTI;
/** The interrupts that exist without S-mode. */
const MIE_MASK = (1 << IRQ_MSI) | (1 << IRQ_MTI) | (1 << IRQ_MEI);

const MSTATUS_MIE = 1 << 3;
const MSTATUS_MPIE = 1 << 7;
const MSTATUS_MPP_SHIFT = 11;
const MSTATUS_MPP = 3 << MSTATUS_MPP_SHIFT;
const MSTATUS_MPRV = 1 << 17;
const MSTATUS_TW = 1 << 21;

// CSR numbers (privileged spec tables 2.2-2.6).
const CSR_MSTATUS = 0x300;
const CSR_MISA = 0x301;
const CSR_MIE = 0x304;
const CSR_MTVEC = 0x305;
const CSR_MCOUNTEREN = 0x306;
const CSR_MSTATUSH = 0x310;
const CSR_MCOUNTINHIBIT = 0x320;
const CSR_MSCRATCH = 0x340;
const CSR_MEPC = 0x341;
const CSR_MCAUSE = 0x342;
const CSR_MTVAL = 0x343;
const CSR_MIP = 0x344;
const CSR_TSELECT = 0x7a0;
const CSR_TDATA3 = 0x7a3;
const CSR_MCYCLE = 0xb00;
const CSR_MINSTRET = 0xb02;
const CSR_MCYCLEH = 0xb80;
const CSR_MINSTRETH = 0xb82;
const CSR_CYCLE = 0xc00;
const CSR_TIME = 0xc01;
const CSR_INSTRET = 0xc02;
const CSR_MVENDORID = 0xf11;
const CSR_MHARTID = 0xf14;
const CSR_MCONFIGPTR = 0xf15;

/** A synchronous exception raised while executing one instruction. */
class Trap {
  constructor(
    readonly cause: number,
    readonly tval: number,
  ) {}
}

function illegal(bits: number): never {
  throw new Trap(CAUSE_ILLEGAL, bits >>> 0);
}

/** Sign-extend the low `bits` bits of `v`. */
function sext(v: number, bits: number): number {
  const shift = 32 - bits;
  return ((v << shift) >> shift) | 0;
}

/** Bits [hi:lo] of `v`, as an unsigned number. */
function field(v: number, hi: number, lo: number): number {
  return (v >>> lo) & (2 ** (hi - lo + 1) - 1);
}

export class ReferenceHart {
  readonly bus: Bus;
  readonly isa: ReferenceIsa;
  readonly hostTraps: boolean;
  readonly hartId: number;
  readonly misa: number;

  readonly x = new Int32Array(32);
  pc = 0;
  priv = PRIV_M;
  /** Instructions retired since reset: the budget unit, untouched by CSR writes. */
  instret = 0;
  /** The time base: one per retired instruction or trap entry, plus idle cycles the VM adds. */
  cycle = 0;
  timeOffset = 0;
  mtimecmp = Infinity;

  mstatus = 0;
  mie = 0;
  /** MSIP/MEIP as driven by devices; MTIP is recomputed from mtime at every boundary. */
  mip = 0;
  mtvec = 0;
  mepc = 0;
  mcause = 0;
  mtval = 0;
  mscratch = 0;
  mcounteren = 0;
  mcountinhibit = 0;
  /** Address reserved by LR.W, or -1. */
  reservation = -1;

  faultCause = 0;
  faultTval = 0;
  faultPc = 0;

  // The mcycle/minstret CSRs are kept apart from `cycle`/`instret`, so that
  // a guest writing mcycle does not move mtime: each CSR is its value at a
  // mark plus how far the base count has moved since, or frozen at the mark
  // while mcountinhibit stops it (privileged spec 3.1.10, 3.1.12).
  private mcycleAtMark = 0n;
  private cycleMark = 0;
  private minstretAtMark = 0n;
  private instretMark = 0;
  // A CSR instruction's write to a counter lands after that instruction's
  // own increment: "the write is done instead of the increment"
  // (unprivileged spec 9.1).
  private pendingMcycle: bigint | null = null;
  private pendingMinstret: bigint | null = null;

  constructor(bus: Bus, options: ReferenceHartOptions = {}) {
    this.bus = bus;
    this.isa = options.isa ?? 'rv32imac';
    this.hostTraps = options.hostTraps ?? false;
    this.hartId = options.hartId ?? 0;
    // MXL=1 (32-bit) and the letters A, C, I, M, U.
    const letters = (s: string) => [...s].reduce((m, c) => m | (1 << (c.charCodeAt(0) - 97)), 0);
    this.misa = ((1 << 30) | letters(this.isa === 'rv32imac' ? 'acimu' : 'aimu')) >>> 0;
  }

  get hasC(): boolean {
    return this.isa === 'rv32imac';
  }

  /** mtime at 10 MHz for a nominal 100 MHz hart. */
  get mtime(): number {
    return Math.floor(this.cycle / 10) + this.timeOffset;
  }

  reset(pc: number, priv: number): void {
    this.x.fill(0);
    this.pc = pc >>> 0;
    this.priv = priv;
    this.instret = 0;
    this.cycle = 0;
    this.mcycleAtMark = 0n;
    this.cycleMark = 0;
    this.minstretAtMark = 0n;
    this.instretMark = 0;
    this.pendingMcycle = null;
    this.pendingMinstret = null;
    this.mstatus = 0;
    this.mie = 0;
    this.mip = 0;
    this.mtvec = 0;
    this.mepc = 0;
    this.mcause = 0;
    this.mtval = 0;
    this.mscratch = 0;
    this.mcounteren = 0;
    this.mcountinhibit = 0;
    this.reservation = -1;
    this.mtimecmp = Infinity;
    this.timeOffset = 0;
    this.faultCause = 0;
    this.faultTval = 0;
    this.faultPc = 0;
  }

  setPending(bit: number, on: boolean): void {
    if (on) this.mip = (this.mip | (1 << bit)) >>> 0;
    else this.mip = (this.mip & ~(1 << bit)) >>> 0;
  }

  private updateTimer(): void {
    if (this.mtime >= this.mtimecmp) this.mip |= MIP_MTIP;
    else this.mip &= ~MIP_MTIP;
  }

  /**
   * Execute exactly one instruction, or take one trap or interrupt.
   * Returns the STOP_* value the fast hart's run() would stop with here.
   */
  step(): number {
    this.updateTimer();
    if (!this.hostTraps) {
      const irq = this.pendingInterrupt();
      if (irq >= 0) {
        this.enterTrap((0x8000_0000 | irq) >>> 0, 0);
        return REF_STOP_BUDGET;
      }
    }
    const pc = this.pc;
    try {
      const stop = this.execute();
      this.updateTimer();
      return stop;
    } catch (e) {
      if (!(e instanceof Trap)) throw e;
      return this.raise(e, pc);
    }
  }

  /**
   * Privileged spec 3.1.9: an interrupt is taken when pending and enabled in
   * mie, and either the hart runs below M or mstatus.MIE is set. Priority
   * among the M interrupts is MEI > MSI > MTI.
   */
  private pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return -1;
    if (this.priv === PRIV_M && (this.mstatus & MSTATUS_MIE) === 0) return -1;
    for (const irq of [IRQ_MEI, IRQ_MSI, IRQ_MTI]) {
      if (pending & (1 << irq)) return irq;
    }
    return -1;
  }

  private raise(trap: Trap, pc: number): number {
    if (this.hostTraps) {
      this.faultCause = trap.cause;
      this.faultTval = trap.tval;
      this.faultPc = pc;
      return REF_STOP_FAULT;
    }
    if (trap.cause === CAUSE_FETCH_ACCESS && this.trapTarget(trap.cause) === pc) {
      // The handler itself cannot be fetched: entering it again would loop forever.
      this.faultCause = trap.cause;
      this.faultTval = trap.tval;
      this.faultPc = pc;
      return REF_STOP_FAULT;
    }
    this.enterTrap(trap.cause, trap.tval);
    return REF_STOP_BUDGET;
  }

  /** Privileged spec 3.1.7: vectored mode applies to interrupts only. */
  private trapTarget(cause: number): number {
    const base = (this.mtvec & ~3) >>> 0;
    const vectored = (this.mtvec & 3) === 1;
    const interrupt = cause >= 0x8000_0000;
    return interrupt && vectored ? (base + 4 * (cause & 0x7fff_ffff)) >>> 0 : base;
  }

  /** Privileged spec 3.1.6.1 / 3.3.1: trap entry into M-mode. Retires nothing. */
  private enterTrap(cause: number, tval: number): void {
    this.mepc = this.pc;
    this.mcause = cause >>> 0;
    this.mtval = tval >>> 0;
    const mie = (this.mstatus & MSTATUS_MIE) !== 0;
    let s = this.mstatus & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP);
    if (mie) s |= MSTATUS_MPIE;
    s |= this.priv << MSTATUS_MPP_SHIFT;
    this.mstatus = s >>> 0;
    this.priv = PRIV_M;
    this.reservation = -1;
    this.pc = this.trapTarget(cause);
    // A trap entry is not an instruction (instret stays) but it takes time
    // and one unit of budget.
    this.cycle += 1;
  }

  // ---- fetch -------------------------------------------------------------

  /** Instructions come only from the partition's own RAM (ARCHITECTURE.md). */
  private fetch16(addr: number): number {
    if (!this.bus.inRam(addr, 2)) throw new Trap(CAUSE_FETCH_ACCESS, addr);
    return this.bus.load(addr, 2);
  }

  private execute(): number {
    const pc = this.pc;
    const lo = this.fetch16(pc);
    if ((lo & 3) !== 3) {
      // A 16-bit encoding; without C it is still 16 bits long, and illegal.
      if (!this.hasC) illegal(lo);
      return this.exec32(expandCompressed(lo), 2, lo);
    }
    const hi = this.fetch16((pc + 2) >>> 0);
    const inst = (lo | (hi << 16)) >>> 0;
    return this.exec32(inst, 4, inst);
  }

  // ---- registers and memory ----------------------------------------------

  private r(i: number): number {
    return this.x[i]!;
  }

  private ru(i: number): number {
    return this.x[i]! >>> 0;
  }

  private w(i: number, v: number): void {
    if (i !== 0) this.x[i] = v;
  }

  private load(addr: number, width: number): number {
    addr >>>= 0;
    if (addr % width !== 0) throw new Trap(CAUSE_LOAD_MISALIGNED, addr);
    this.bus.fault = false;
    const v = this.bus.load(addr, width);
    if (this.bus.fault) {
      this.bus.fault = false;
      throw new Trap(CAUSE_LOAD_ACCESS, addr);
    }
    return v >>> 0;
  }

  private store(addr: number, width: number, value: number): void {
    addr >>>= 0;
    if (addr % width !== 0) throw new Trap(CAUSE_STORE_MISALIGNED, addr);
    this.bus.fault = false;
    const mask = width === 4 ? 0xffff_ffff : 2 ** (8 * width) - 1;
    this.bus.store(addr, width, (value >>> 0) & mask);
    if (this.bus.fault) {
      this.bus.fault = false;
      throw new Trap(CAUSE_STORE_ACCESS, addr);
    }
  }

  /** A control transfer; without C a target off a 4-byte boundary traps on the jump itself. */
  private checkTarget(target: number): void {
    const align = this.hasC ? 2 : 4;
    if (target % align !== 0) throw new Trap(CAUSE_FETCH_MISALIGNED, target);
  }

  /** Complete an instruction: pc, counts, then any counter CSR write it made. */
  private retire(nextPc: number): void {
    this.pc = nextPc >>> 0;
    this.instret += 1;
    this.cycle += 1;
    if (this.pendingMcycle !== null) this.setMcycle(this.pendingMcycle);
    if (this.pendingMinstret !== null) this.setMinstret(this.pendingMinstret);
    this.pendingMcycle = null;
    this.pendingMinstret = null;
  }

  private mcycle(): bigint {
    if (this.mcountinhibit & 1) return this.mcycleAtMark;
    return BigInt.asUintN(64, this.mcycleAtMark + BigInt(this.cycle - this.cycleMark));
  }

  private minstret(): bigint {
    if (this.mcountinhibit & 4) return this.minstretAtMark;
    return BigInt.asUintN(64, this.minstretAtMark + BigInt(this.instret - this.instretMark));
  }

  private setMcycle(v: bigint): void {
    this.mcycleAtMark = BigInt.asUintN(64, v);
    this.cycleMark = this.cycle;
  }

  private setMinstret(v: bigint): void {
    this.minstretAtMark = BigInt.asUintN(64, v);
    this.instretMark = this.instret;
  }

  // ---- execute -----------------------------------------------------------

  /**
   * Execute one 32-bit instruction `inst` that is `len` bytes long in memory
   * (2 when it is the expansion of a compressed one). `bits` is what an
   * illegal-instruction trap reports in mtval.
   */
  private exec32(inst: number, len: number, bits: number): number {
    const pc = this.pc;
    const next = (pc + len) >>> 0;
    const opcode = field(inst, 6, 0);
    const rd = field(inst, 11, 7);
    const funct3 = field(inst, 14, 12);
    const rs1 = field(inst, 19, 15);
    const rs2 = field(inst, 24, 20);
    const funct7 = field(inst, 31, 25);
    const immI = sext(field(inst, 31, 20), 12);
    const immS = sext((field(inst, 31, 25) << 5) | field(inst, 11, 7), 12);
    const immB = sext(
      (field(inst, 31, 31) << 12) | (field(inst, 7, 7) << 11) | (field(inst, 30, 25) << 5) | (field(inst, 11, 8) << 1),
      13,
    );
    const immU = (inst & 0xffff_f000) | 0;
    const immJ = sext(
      (field(inst, 31, 31) << 20) | (field(inst, 19, 12) << 12) | (field(inst, 20, 20) << 11) | (field(inst, 30, 21) << 1),
      21,
    );

    switch (opcode) {
      case 0x37: // LUI
        this.w(rd, immU);
        break;
      case 0x17: // AUIPC
        this.w(rd, (pc + immU) | 0);
        break;
      case 0x6f: {
        // JAL
        const target = (pc + immJ) >>> 0;
        this.checkTarget(target);
        this.w(rd, next | 0);
        this.retire(target);
        return REF_STOP_BUDGET;
      }
      case 0x67: {
        // JALR
        if (funct3 !== 0) illegal(bits);
        const target = ((this.r(rs1) + immI) & ~1) >>> 0;
        this.checkTarget(target);
        this.w(rd, next | 0);
        this.retire(target);
        return REF_STOP_BUDGET;
      }
      case 0x63: {
        // BRANCH
        const a = this.r(rs1);
        const b = this.r(rs2);
        let taken: boolean;
        switch (funct3) {
          case 0: taken = a === b; break;
          case 1: taken = a !== b; break;
          case 4: taken = a < b; break;
          case 5: taken = a >= b; break;
          case 6: taken = a >>> 0 < b >>> 0; break;
          case 7: taken = a >>> 0 >= b >>> 0; break;
          default: illegal(bits);
        }
        if (taken) {
          const target = (pc + immB) >>> 0;
          this.checkTarget(target);
          this.retire(target);
        } else {
          this.retire(next);
        }
        return REF_STOP_BUDGET;
      }
      case 0x03: {
        // LOAD
        const addr = (this.r(rs1) + immI) >>> 0;
        let v: number;
        switch (funct3) {
          case 0: v = sext(this.load(addr, 1), 8); break; // LB
          case 1: v = sext(this.load(addr, 2), 16); break; // LH
          case 2: v = this.load(addr, 4) | 0; break; // LW
          case 4: v = this.load(addr, 1); break; // LBU
          case 5: v = this.load(addr, 2); break; // LHU
          default: illegal(bits);
        }
        this.w(rd, v);
        break;
      }
      case 0x23: {
        // STORE
        const addr = (this.r(rs1) + immS) >>> 0;
        if (funct3 > 2) illegal(bits);
        this.store(addr, 1 << funct3, this.r(rs2));
        break;
      }
      case 0x13: // OP-IMM
        this.w(rd, this.opImm(funct3, this.r(rs1), immI, funct7, rs2, bits));
        break;
      case 0x33: // OP
        this.w(rd, this.op(funct7, funct3, this.r(rs1), this.r(rs2), bits));
        break;
      case 0x0f:
        // MISC-MEM: FENCE (000) and FENCE.I (001). Their other fields are
        // reserved and "base implementations shall ignore" them (spec 2.7,
        // Zifencei). This hart has a single in-order view of memory.
        if (funct3 !== 0 && funct3 !== 1) illegal(bits);
        break;
      case 0x2f:
        this.w(rd, this.amo(inst, bits));
        break;
      case 0x73:
        return this.system(inst, bits, next);
      default:
        illegal(bits);
    }
    this.retire(next);
    return REF_STOP_BUDGET;
  }

  private opImm(funct3: number, a: number, imm: number, funct7: number, shamt: number, bits: number): number {
    switch (funct3) {
      case 0: return (a + imm) | 0; // ADDI
      case 2: return a < imm ? 1 : 0; // SLTI
      case 3: return a >>> 0 < imm >>> 0 ? 1 : 0; // SLTIU: the immediate is sign-extended, then compared unsigned
      case 4: return a ^ imm; // XORI
      case 6: return a | imm; // ORI
      case 7: return a & imm; // ANDI
      case 1: // SLLI: imm[11:5] must be 0 (shamt[5] set is illegal on RV32)
        if (funct7 !== 0) illegal(bits);
        return a << shamt;
      case 5:
        if (funct7 === 0x00) return (a >>> shamt) | 0; // SRLI
        if (funct7 === 0x20) return a >> shamt; // SRAI
        illegal(bits);
    }
    return illegal(bits);
  }

  private op(funct7: number, funct3: number, a: number, b: number, bits: number): number {
    if (funct7 === 0x01) return this.mulDiv(funct3, a, b);
    const sh = b & 31;
    if (funct7 === 0x00) {
      switch (funct3) {
        case 0: return (a + b) | 0;
        case 1: return a << sh;
        case 2: return a < b ? 1 : 0;
        case 3: return a >>> 0 < b >>> 0 ? 1 : 0;
        case 4: return a ^ b;
        case 5: return (a >>> sh) | 0;
        case 6: return a | b;
        case 7: return a & b;
      }
    }
    if (funct7 === 0x20) {
      if (funct3 === 0) return (a - b) | 0; // SUB
      if (funct3 === 5) return a >> sh; // SRA
    }
    return illegal(bits);
  }

  /** The M extension, computed on exact integers (unprivileged spec chapter 7). */
  private mulDiv(funct3: number, a: number, b: number): number {
    const sa = BigInt(a);
    const sb = BigInt(b);
    const ua = BigInt(a >>> 0);
    const ub = BigInt(b >>> 0);
    const low = (v: bigint) => Number(BigInt.asIntN(32, v));
    const high = (v: bigint) => Number(BigInt.asIntN(32, v >> 32n));
    switch (funct3) {
      case 0: return low(sa * sb); // MUL
      case 1: return high(sa * sb); // MULH
      case 2: return high(sa * ub); // MULHSU
      case 3: return high(ua * ub); // MULHU
      case 4: // DIV: rounds toward zero; /0 gives -1; -2^31 / -1 overflows to -2^31
        if (sb === 0n) return -1;
        return low(sa / sb);
      case 5: // DIVU: /0 gives 2^32-1
        if (ub === 0n) return -1;
        return low(ua / ub);
      case 6: // REM: sign of the dividend; %0 gives the dividend
        if (sb === 0n) return a;
        return low(sa % sb);
      default: // REMU
        if (ub === 0n) return a;
        return low(ua % ub);
    }
  }

  /** The A extension, word forms only (unprivileged spec chapter 8). */
  private amo(inst: number, bits: number): number {
    const funct3 = field(inst, 14, 12);
    const funct5 = field(inst, 31, 27);
    const rs1 = field(inst, 19, 15);
    const rs2 = field(inst, 24, 20);
    if (funct3 !== 2) illegal(bits);
    const addr = this.ru(rs1);
    const src = this.r(rs2);
    if (funct5 === 0x02) {
      // LR.W
      if (rs2 !== 0) illegal(bits);
      const v = this.load(addr, 4) | 0;
      this.reservation = addr;
      return v;
    }
    if (funct5 === 0x03) {
      // SC.W: alignment is checked even when it fails; memory is touched
      // only on success. The reservation goes either way, unless the store
      // traps: then, like any trapping instruction, SC has no effect.
      if (addr % 4 !== 0) throw new Trap(CAUSE_STORE_MISALIGNED, addr);
      const ok = this.reservation === addr;
      if (ok) this.store(addr, 4, src);
      this.reservation = -1;
      return ok ? 0 : 1;
    }
    const ops: Record<number, (m: number, s: number) => number> = {
      0x01: (_m, s) => s, // AMOSWAP
      0x00: (m, s) => (m + s) | 0, // AMOADD
      0x04: (m, s) => m ^ s, // AMOXOR
      0x0c: (m, s) => m & s, // AMOAND
      0x08: (m, s) => m | s, // AMOOR
      0x10: (m, s) => Math.min(m, s), // AMOMIN
      0x14: (m, s) => Math.max(m, s), // AMOMAX
      0x18: (m, s) => (Math.min(m >>> 0, s >>> 0) | 0), // AMOMINU
      0x1c: (m, s) => (Math.max(m >>> 0, s >>> 0) | 0), // AMOMAXU
    };
    const f = ops[funct5];
    if (f === undefined) illegal(bits);
    // AMOs raise store/AMO exceptions, also for the read half (spec 8.4).
    if (addr % 4 !== 0) throw new Trap(CAUSE_STORE_MISALIGNED, addr);
    let old: number;
    try {
      old = this.load(addr, 4) | 0;
    } catch (e) {
      if (e instanceof Trap && e.cause === CAUSE_LOAD_ACCESS) throw new Trap(CAUSE_STORE_ACCESS, addr);
      throw e;
    }
    this.store(addr, 4, f(old, src));
    return old;
  }

  // ---- SYSTEM ------------------------------------------------------------

  private system(inst: number, bits: number, next: number): number {
    const funct3 = field(inst, 14, 12);
    if (funct3 === 0) {
      switch (inst >>> 0) {
        case 0x0000_0073: // ECALL
          if (this.hostTraps && this.priv === PRIV_U) {
            // The host serves the call and moves pc past it, so to the guest
            // it is an instruction that completed: it retires here (a trapping
            // ecall does not, privileged spec 3.3.1), while pc stays on it.
            this.instret += 1;
            this.cycle += 1;
            return REF_STOP_ECALL;
          }
          throw new Trap(this.priv === PRIV_U ? CAUSE_ECALL_U : CAUSE_ECALL_M, 0);
        case 0x0010_0073: // EBREAK: Spike reports the pc in mtval
          throw new Trap(CAUSE_BREAKPOINT, this.pc);
        case 0x3020_0073: // MRET
          if (this.priv !== PRIV_M) illegal(bits);
          this.mret();
          return REF_STOP_BUDGET;
        case 0x1050_0073: {
          // WFI: illegal below M here (privileged spec 3.1.6.5 allows it).
          if (this.priv !== PRIV_M) illegal(bits);
          this.retire(next);
          this.updateTimer();
          return (this.mip & this.mie) === 0 ? REF_STOP_WFI : REF_STOP_BUDGET;
        }
      }
      return illegal(bits);
    }
    if (funct3 === 4) illegal(bits);
    return this.csrInstruction(inst, bits, next);
  }

  /** Privileged spec 3.3.2. */
  private mret(): void {
    const s = this.mstatus;
    const mpp = (s & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT;
    let n = s & ~(MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP);
    if (s & MSTATUS_MPIE) n |= MSTATUS_MIE;
    n |= MSTATUS_MPIE; // MPP becomes U (the least-privileged mode): 0
    if (mpp !== PRIV_M) n &= ~MSTATUS_MPRV;
    this.mstatus = n >>> 0;
    this.priv = mpp;
    this.reservation = -1;
    this.retire(this.readMepc());
  }

  private readMepc(): number {
    return (this.mepc & (this.hasC ? ~1 : ~3)) >>> 0;
  }

  /** Unprivileged spec chapter 9 (Zicsr) and privileged spec 2.1. */
  private csrInstruction(inst: number, bits: number, next: number): number {
    const funct3 = field(inst, 14, 12);
    const rd = field(inst, 11, 7);
    const rs1 = field(inst, 19, 15);
    const csr = field(inst, 31, 20);
    const immediate = funct3 >= 5;
    const operand = immediate ? rs1 : this.ru(rs1);
    const kind = funct3 & 3; // 1 = RW, 2 = RS, 3 = RC
    if (kind === 0) illegal(bits);
    // CSRRW(I) always writes; CSRRS/C(I) write unless the rs1 field/uimm is 0.
    const writes = kind === 1 || rs1 !== 0;

    if (field(csr, 9, 8) > this.priv) illegal(bits);
    if (writes && field(csr, 11, 10) === 3) illegal(bits);
    const old = this.csrValue(csr);
    if (old === undefined) illegal(bits);

    if (writes) {
      let v: number;
      if (kind === 1) v = operand;
      else if (kind === 2) v = old | operand;
      else v = old & ~operand;
      this.csrStore(csr, v >>> 0);
    }
    this.w(rd, old | 0);
    this.retire(next);
    return REF_STOP_BUDGET;
  }

  /**
   * The value of CSR `n` as seen by an instruction in the current privilege
   * mode (counter gating by mcounteren included), or undefined when the CSR
   * does not exist or may not be read from here.
   */
  private csrValue(n: number): number | undefined {
    const half = (v: bigint, high: boolean) => Number(BigInt.asUintN(32, high ? v >> 32n : v));
    if (n >= CSR_CYCLE && n <= 0xc9f && (n & 0x7f) < 0x20) {
      // cycle, time, instret, hpmcounter3..31 and their high halves: gated
      // by mcounteren below M (privileged spec 3.1.11).
      const idx = n & 0x1f;
      if (this.priv < PRIV_M && ((this.mcounteren >>> idx) & 1) === 0) return undefined;
      let v = 0n; // hpmcounters: read-only zero
      if (idx === CSR_CYCLE - 0xc00) v = this.mcycle();
      else if (idx === CSR_TIME - 0xc00) v = BigInt(this.mtime);
      else if (idx === CSR_INSTRET - 0xc00) v = this.minstret();
      return half(v, n >= 0xc80);
    }
    if ((n >= CSR_MCYCLE && n <= 0xb1f) || (n >= CSR_MCYCLEH && n <= 0xb9f)) {
      const idx = n & 0x1f;
      if (idx === 1) return undefined; // there is no mtime CSR
      const v = idx === 0 ? this.mcycle() : idx === 2 ? this.minstret() : 0n; // mhpmcounters: read-only zero
      return half(v, n >= CSR_MCYCLEH);
    }
    if (n >= 0x323 && n <= 0x33f) return 0; // mhpmevent3..31: read-only zero
    if (n >= 0x3a0 && n <= 0x3ef) return 0; // pmpcfg/pmpaddr: no PMP entries (read zero, like Spike)
    if (n >= CSR_TSELECT && n <= CSR_TDATA3) return 0; // no triggers
    switch (n) {
      case CSR_MSTATUS: return this.mstatus;
      case CSR_MISA: return this.misa;
      case CSR_MIE: return this.mie;
      case CSR_MTVEC: return this.mtvec;
      case CSR_MCOUNTEREN: return this.mcounteren;
      case CSR_MSTATUSH: return 0;
      case CSR_MCOUNTINHIBIT: return this.mcountinhibit;
      case CSR_MSCRATCH: return this.mscratch;
      case CSR_MEPC: return this.readMepc();
      case CSR_MCAUSE: return this.mcause;
      case CSR_MTVAL: return this.mtval;
      case CSR_MIP: return this.mip;
      case CSR_MVENDORID:
      case CSR_MVENDORID + 1: // marchid
      case CSR_MVENDORID + 2: // mimpid
      case CSR_MCONFIGPTR:
        return 0;
      case CSR_MHARTID: return this.hartId >>> 0;
    }
    return undefined;
  }

  /** WARL write of an existing, writable CSR (the caller checked both). */
  private csrStore(n: number, v: number): void {
    switch (n) {
      case CSR_MSTATUS: {
        // Without S-mode only MIE, MPIE, MPP, MPRV and TW exist; MPP holds M
        // or U, and an unsupported mode reads back as U (Spike's legalisation).
        let mpp = (v & MSTATUS_MPP) >>> MSTATUS_MPP_SHIFT;
        if (mpp !== PRIV_M) mpp = PRIV_U;
        const keep = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPRV | MSTATUS_TW;
        this.mstatus = ((v & keep) | (mpp << MSTATUS_MPP_SHIFT)) >>> 0;
        return;
      }
      case CSR_MIE: this.mie = (v & MIE_MASK) >>> 0; return;
      case CSR_MTVEC: this.mtvec = (v & ~2) >>> 0; return; // modes 2 and 3 are reserved: Spike drops bit 1
      case CSR_MCOUNTEREN: this.mcounteren = v >>> 0; return;
      case CSR_MCOUNTINHIBIT: {
        // Freeze or restart from the current values; the new setting already
        // applies to the writing instruction's own increment (as in Spike).
        const c = this.pendingMcycle ?? this.mcycle();
        const i = this.pendingMinstret ?? this.minstret();
        this.mcountinhibit = (v & ~2) >>> 0; // bit 1 (TM) is read-only 0
        this.setMcycle(c);
        this.setMinstret(i);
        return;
      }
      case CSR_MSCRATCH: this.mscratch = v >>> 0; return;
      case CSR_MEPC: this.mepc = (v & ~1) >>> 0; return;
      case CSR_MCAUSE: this.mcause = v >>> 0; return;
      case CSR_MTVAL: this.mtval = v >>> 0; return;
      case CSR_MCYCLE:
        this.pendingMcycle = ((this.mcycle() >> 32n) << 32n) | BigInt(v);
        return;
      case CSR_MCYCLEH:
        this.pendingMcycle = (BigInt(v) << 32n) | BigInt.asUintN(32, this.mcycle());
        return;
      case CSR_MINSTRET:
        this.pendingMinstret = ((this.minstret() >> 32n) << 32n) | BigInt(v);
        return;
      case CSR_MINSTRETH:
        this.pendingMinstret = (BigInt(v) << 32n) | BigInt.asUintN(32, this.minstret());
        return;
    }
    // misa, mstatush, mip (no bit is writable without S-mode), mhpmcounters,
    // mhpmevents, pmp and trigger registers: writes are ignored.
  }

  /** Host access without privilege checks; undefined for a CSR that does not exist. */
  csrRead(n: number): number | undefined {
    const priv = this.priv;
    this.priv = PRIV_M;
    this.updateTimer();
    const v = this.csrValue(n);
    this.priv = priv;
    return v === undefined ? undefined : v >>> 0;
  }

  /** Host write with the same WARL rules as an instruction; false when the CSR does not exist. */
  csrWrite(n: number, v: number): boolean {
    const priv = this.priv;
    this.priv = PRIV_M;
    const exists = this.csrValue(n) !== undefined;
    this.priv = priv;
    if (!exists) return false;
    this.csrStore(n, v >>> 0);
    // No instruction is retiring: a counter write takes effect at once.
    if (this.pendingMcycle !== null) this.setMcycle(this.pendingMcycle);
    if (this.pendingMinstret !== null) this.setMinstret(this.pendingMinstret);
    this.pendingMcycle = null;
    this.pendingMinstret = null;
    return true;
  }
}

/**
 * The 32-bit instruction a 16-bit one stands for (unprivileged spec 16.3-16.8,
 * RV32C), or an illegal-instruction trap with the 16 bits as mtval. HINT
 * encodings expand to their no-effect base form; reserved ones and the
 * F/D/RV64 forms are illegal.
 */
export function expandCompressed(c: number): number {
  const op = c & 3;
  const funct3 = field(c, 15, 13);
  const rdFull = field(c, 11, 7);
  const rs2Full = field(c, 6, 2);
  const rdP = field(c, 4, 2) + 8; // rd' / rs2'
  const rs1P = field(c, 9, 7) + 8; // rs1' / rd'
  const ciImm = sext((field(c, 12, 12) << 5) | field(c, 6, 2), 6);

  if (op === 0) {
    switch (funct3) {
      case 0: {
        // C.ADDI4SPN
        const imm = (field(c, 12, 11) << 4) | (field(c, 10, 7) << 6) | (field(c, 6, 6) << 2) | (field(c, 5, 5) << 3);
        if (imm === 0) illegal(c);
        return encI(0x13, rdP, 0, 2, imm);
      }
      case 2: // C.LW
        return encI(0x03, rdP, 2, rs1P, clOffset(c));
      case 6: // C.SW
        return encS(0x23, 2, rs1P, rdP, clOffset(c));
    }
    return illegal(c); // C.FLD/FLW/FSD/FSW and the reserved slot
  }

  if (op === 1) {
    switch (funct3) {
      case 0: // C.NOP / C.ADDI (HINT forms are harmless)
        return encI(0x13, rdFull, 0, rdFull, ciImm);
      case 1: // C.JAL (RV32 only)
        return encJ(1, cjOffset(c));
      case 2: // C.LI
        return encI(0x13, rdFull, 0, 0, ciImm);
      case 3: {
        if (rdFull === 2) {
          // C.ADDI16SP
          const imm = sext(
            (field(c, 12, 12) << 9) | (field(c, 6, 6) << 4) | (field(c, 5, 5) << 6) | (field(c, 4, 3) << 7) | (field(c, 2, 2) << 5),
            10,
          );
          if (imm === 0) illegal(c);
          return encI(0x13, 2, 0, 2, imm);
        }
        // C.LUI
        if (ciImm === 0) illegal(c);
        return ((ciImm << 12) | (rdFull << 7) | 0x37) >>> 0;
      }
      case 4: {
        const funct2 = field(c, 11, 10);
        const shamt = (field(c, 12, 12) << 5) | field(c, 6, 2);
        if (funct2 === 0 || funct2 === 1) {
          // C.SRLI / C.SRAI: shamt[5] = 1 is reserved on RV32
          if (shamt & 32) illegal(c);
          return encI(0x13, rs1P, 5, rs1P, shamt | (funct2 === 1 ? 0x400 : 0));
        }
        if (funct2 === 2) return encI(0x13, rs1P, 7, rs1P, ciImm); // C.ANDI
        if (field(c, 12, 12) === 1) illegal(c); // C.SUBW/ADDW (RV64) and reserved
        const sub = field(c, 6, 5);
        const funct3s = [0, 4, 6, 7][sub]!; // SUB, XOR, OR, AND
        return encR(0x33, rs1P, funct3s, rs1P, rdP, sub === 0 ? 0x20 : 0);
      }
      case 5: // C.J
        return encJ(0, cjOffset(c));
      case 6: // C.BEQZ
      case 7: // C.BNEZ
        return encB(funct3 === 6 ? 0 : 1, rs1P, 0, cbOffset(c));
    }
  }

  if (op === 2) {
    switch (funct3) {
      case 0: {
        // C.SLLI
        const shamt = (field(c, 12, 12) << 5) | rs2Full;
        if (shamt & 32) illegal(c);
        return encI(0x13, rdFull, 1, rdFull, shamt);
      }
      case 2: {
        // C.LWSP: rd = 0 is reserved
        if (rdFull === 0) illegal(c);
        const imm = (field(c, 12, 12) << 5) | (field(c, 6, 4) << 2) | (field(c, 3, 2) << 6);
        return encI(0x03, rdFull, 2, 2, imm);
      }
      case 4: {
        const bit12 = field(c, 12, 12);
        if (bit12 === 0) {
          if (rs2Full === 0) {
            if (rdFull === 0) illegal(c); // C.JR with rs1 = 0 is reserved
            return encI(0x67, 0, 0, rdFull, 0); // C.JR
          }
          return encR(0x33, rdFull, 0, 0, rs2Full, 0); // C.MV
        }
        if (rs2Full === 0) {
          if (rdFull === 0) return 0x0010_0073; // C.EBREAK
          return encI(0x67, 1, 0, rdFull, 0); // C.JALR
        }
        return encR(0x33, rdFull, 0, rdFull, rs2Full, 0); // C.ADD
      }
      case 6: {
        // C.SWSP
        const imm = (field(c, 12, 9) << 2) | (field(c, 8, 7) << 6);
        return encS(0x23, 2, 2, rs2Full, imm);
      }
    }
    return illegal(c); // C.FLDSP/FLWSP/FSDSP/FSWSP
  }
  return illegal(c);
}

function clOffset(c: number): number {
  return (field(c, 12, 10) << 3) | (field(c, 6, 6) << 2) | (field(c, 5, 5) << 6);
}

function cjOffset(c: number): number {
  return sext(
    (field(c, 12, 12) << 11) |
      (field(c, 11, 11) << 4) |
      (field(c, 10, 9) << 8) |
      (field(c, 8, 8) << 10) |
      (field(c, 7, 7) << 6) |
      (field(c, 6, 6) << 7) |
      (field(c, 5, 3) << 1) |
      (field(c, 2, 2) << 5),
    12,
  );
}

function cbOffset(c: number): number {
  return sext(
    (field(c, 12, 12) << 8) | (field(c, 11, 10) << 3) | (field(c, 6, 5) << 6) | (field(c, 4, 3) << 1) | (field(c, 2, 2) << 5),
    9,
  );
}

function encI(opcode: number, rd: number, funct3: number, rs1: number, imm: number): number {
  return (((imm & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode) >>> 0;
}

function encS(opcode: number, funct3: number, rs1: number, rs2: number, imm: number): number {
  return ((field(imm, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (field(imm, 4, 0) << 7) | opcode) >>> 0;
}

function encR(opcode: number, rd: number, funct3: number, rs1: number, rs2: number, funct7: number): number {
  return ((funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode) >>> 0;
}

function encB(funct3: number, rs1: number, rs2: number, imm: number): number {
  return (
    ((field(imm, 12, 12) << 31) |
      (field(imm, 10, 5) << 25) |
      (rs2 << 20) |
      (rs1 << 15) |
      (funct3 << 12) |
      (field(imm, 4, 1) << 8) |
      (field(imm, 11, 11) << 7) |
      0x63) >>>
    0
  );
}

function encJ(rd: number, imm: number): number {
  return (
    ((field(imm, 20, 20) << 31) | (field(imm, 10, 1) << 21) | (field(imm, 11, 11) << 20) | (field(imm, 19, 12) << 12) | (rd << 7) | 0x6f) >>>
    0
  );
}
