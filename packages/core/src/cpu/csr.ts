/**
 * Control and status registers: numbers and the read/write semantics of the
 * M/U-mode subset rvisor implements (privileged spec 1.12, no S-mode, no PMP).
 *
 * CSR state lives in public fields of the hart (so snapshots can reach it);
 * these functions give it meaning. `csrRead`/`csrWrite` here never check
 * privilege: that is `csrAccessible()`'s job, called only for instructions.
 */

import type { Hart } from './hart.ts';
import { MIP_MEIP, MIP_MSIP, MIP_MTIP, PRIV_M, PRIV_U } from './trap.ts';

// User counters (read-only; U-mode access gated by mcounteren).
/** `cycle`: low 32 bits of the cycle counter (user read-only shadow of `mcycle`). */
export const CSR_CYCLE = 0xc00;
/**
 * `time`: low 32 bits of the CLINT `mtime` timer (user read-only; ticks at the VM's `mtime` rate, not per
 * instruction).
 */
export const CSR_TIME = 0xc01;
/** `instret`: low 32 bits of the retired-instruction counter (user read-only shadow of `minstret`). */
export const CSR_INSTRET = 0xc02;
/** First user hardware-performance counter (`hpmcounter3`); rvisor has no events, so 3..31 always read zero. */
export const CSR_HPMCOUNTER3 = 0xc03;
/** Last user hardware-performance counter (`hpmcounter31`); reads zero. */
export const CSR_HPMCOUNTER31 = 0xc1f;
/** `cycleh`: high 32 bits of the cycle counter (RV32 only). */
export const CSR_CYCLEH = 0xc80;
/** `timeh`: high 32 bits of the `mtime` timer (RV32 only). */
export const CSR_TIMEH = 0xc81;
/** `instreth`: high 32 bits of the retired-instruction counter (RV32 only). */
export const CSR_INSTRETH = 0xc82;
/** High half of `hpmcounter3` (RV32 only); reads zero. */
export const CSR_HPMCOUNTER3H = 0xc83;
/** High half of `hpmcounter31` (RV32 only); reads zero. */
export const CSR_HPMCOUNTER31H = 0xc9f;

// Machine information (read-only).
/** `mvendorid`: JEDEC vendor ID; reads zero (non-commercial implementation). */
export const CSR_MVENDORID = 0xf11;
/** `marchid`: microarchitecture ID; reads zero (not registered). */
export const CSR_MARCHID = 0xf12;
/** `mimpid`: implementation version; reads zero. */
export const CSR_MIMPID = 0xf13;
/** `mhartid`: the hart's id (`Hart.hartId`, zero unless configured otherwise). */
export const CSR_MHARTID = 0xf14;
/** `mconfigptr`: address of a configuration data structure; reads zero (none provided). */
export const CSR_MCONFIGPTR = 0xf15;

// Machine trap setup and handling.
/** `mstatus`: global interrupt enable (MIE/MPIE), previous privilege (MPP), MPRV and TW; see the `MSTATUS_*` masks. */
export const CSR_MSTATUS = 0x300;
/**
 * `misa`: the implemented ISA (MXL and extension bits); reads {@link MISA_RV32IMAC} or {@link MISA_RV32IMA}, writes
 * are ignored.
 */
export const CSR_MISA = 0x301;
/** Not implemented (no S-mode): accessing it is illegal. Named for tests. */
export const CSR_MEDELEG = 0x302;
/** Not implemented (no S-mode): accessing it is illegal. Named for tests. */
export const CSR_MIDELEG = 0x303;
/** `mie`: per-source interrupt enables, same bit layout as `mip` (`MIP_*` masks). */
export const CSR_MIE = 0x304;
/** `mtvec`: trap vector base address and mode (direct or vectored). */
export const CSR_MTVEC = 0x305;
/**
 * `mcounteren`: bit `i` lets U-mode read user counter `0xc00 + i` (cycle, time, instret, ...); otherwise the read is
 * illegal.
 */
export const CSR_MCOUNTEREN = 0x306;
/** `mstatush`: upper half of `mstatus` on RV32; reads zero (little-endian only, no S-mode). */
export const CSR_MSTATUSH = 0x310;
/** `mcountinhibit`: bit 0 (CY) freezes `mcycle`, bit 2 (IR) freezes `minstret`; bit 1 is hardwired zero. */
export const CSR_MCOUNTINHIBIT = 0x320;
/** First hardware-performance event selector (`mhpmevent3`); reads zero, writes ignored. */
export const CSR_MHPMEVENT3 = 0x323;
/** Last hardware-performance event selector (`mhpmevent31`). */
export const CSR_MHPMEVENT31 = 0x33f;
/** `mscratch`: a free register for the M-mode trap handler (typically a pointer to its save area). */
export const CSR_MSCRATCH = 0x340;
/** `mepc`: address of the instruction that trapped (or that the interrupt preempted); `mret` returns there. */
export const CSR_MEPC = 0x341;
/** `mcause`: the trap cause: a `CAUSE_*` code, with bit 31 ({@link CAUSE_INTERRUPT}) set for interrupts. */
export const CSR_MCAUSE = 0x342;
/**
 * `mtval`: trap-specific detail: the faulting address for access/misaligned traps, the instruction bits for illegal
 * instruction.
 */
export const CSR_MTVAL = 0x343;
/** `mip`: pending interrupts (`MIP_*` masks); device-driven, so CSR writes to it are ignored. */
export const CSR_MIP = 0x344;

// Machine counters.
/** `mcycle`: low 32 bits of the machine cycle counter (writable in M-mode). */
export const CSR_MCYCLE = 0xb00;
/** `minstret`: low 32 bits of the machine retired-instruction counter (writable in M-mode). */
export const CSR_MINSTRET = 0xb02;
/** First machine hardware-performance counter (`mhpmcounter3`); reads zero. */
export const CSR_MHPMCOUNTER3 = 0xb03;
/** Last machine hardware-performance counter (`mhpmcounter31`); reads zero. */
export const CSR_MHPMCOUNTER31 = 0xb1f;
/** `mcycleh`: high 32 bits of `mcycle` (RV32 only). */
export const CSR_MCYCLEH = 0xb80;
/** `minstreth`: high 32 bits of `minstret` (RV32 only). */
export const CSR_MINSTRETH = 0xb82;
/** High half of `mhpmcounter3` (RV32 only); reads zero. */
export const CSR_MHPMCOUNTER3H = 0xb83;
/** High half of `mhpmcounter31` (RV32 only); reads zero. */
export const CSR_MHPMCOUNTER31H = 0xb9f;

// Physical memory protection: no entries, so (as Spike with zero regions) the
// registers exist, read zero and ignore writes; firmware that programs a
// catch-all region at boot keeps working.
/** First PMP configuration register (`pmpcfg0`); reads zero, writes ignored. */
export const CSR_PMPCFG0 = 0x3a0;
/** Last PMP configuration register (`pmpcfg15`). */
export const CSR_PMPCFG15 = 0x3af;
/** First PMP address register (`pmpaddr0`); reads zero, writes ignored. */
export const CSR_PMPADDR0 = 0x3b0;
/** Last PMP address register (`pmpaddr63`). */
export const CSR_PMPADDR63 = 0x3ef;

// Debug triggers: present but empty (read zero, writes ignored), as Spike with no triggers.
/** `tselect`: debug trigger selector; reads zero (no triggers). */
export const CSR_TSELECT = 0x7a0;
/** `tdata1`: selected trigger's type and configuration; reads zero. */
export const CSR_TDATA1 = 0x7a1;
/** `tdata2`: selected trigger's match value; reads zero. */
export const CSR_TDATA2 = 0x7a2;
/** `tdata3`: selected trigger's extra match data; reads zero. */
export const CSR_TDATA3 = 0x7a3;

// mstatus fields.
/** `mstatus.MIE`: machine interrupts are globally enabled while in M-mode. */
export const MSTATUS_MIE = 1 << 3;
/** `mstatus.MPIE`: the value of MIE before the last trap; `mret` restores MIE from it. */
export const MSTATUS_MPIE = 1 << 7;
/** Bit position of the two-bit `mstatus.MPP` field. */
export const MSTATUS_MPP_SHIFT = 11;
/** `mstatus.MPP` mask: the privilege level (`PRIV_*`) before the last trap; `mret` returns to it. */
export const MSTATUS_MPP = 3 << MSTATUS_MPP_SHIFT;
/** `mstatus.MPRV`: M-mode loads and stores use the privilege in MPP (no effect here: no address translation or PMP). */
export const MSTATUS_MPRV = 1 << 17;
/** `mstatus.TW` (timeout wait): writable and kept, but U-mode `wfi` is illegal here whatever its value. */
export const MSTATUS_TW = 1 << 21;
const MSTATUS_WRITABLE = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TW;

/** `misa` for the RV32IMAC profile: MXL = 1 (32-bit) with extensions A, C, I, M. */
export const MISA_RV32IMAC = 0x4010_1105;
/** `misa` for the RV32IMA profile (compressed instructions disabled). */
export const MISA_RV32IMA = 0x4010_1101;

/** Interrupt-enable bits that exist (no S-mode). */
export const MIE_WRITABLE = MIP_MSIP | MIP_MTIP | MIP_MEIP;

/** mcountinhibit: CY, IR and the (empty) hpm counters; TM (bit 1) is hardwired zero. */
const MCOUNTINHIBIT_WRITABLE = 0xffff_fffd;
const INHIBIT_CY = 1;
const INHIBIT_IR = 4;

const TWO32 = 0x1_0000_0000;

/** True when CSR `n` exists on this hart (whatever the privilege). */
export function csrExists(n: number): boolean {
  if (n >= CSR_HPMCOUNTER3 && n <= CSR_HPMCOUNTER31) return true;
  if (n >= CSR_HPMCOUNTER3H && n <= CSR_HPMCOUNTER31H) return true;
  if (n >= CSR_MHPMCOUNTER3 && n <= CSR_MHPMCOUNTER31) return true;
  if (n >= CSR_MHPMCOUNTER3H && n <= CSR_MHPMCOUNTER31H) return true;
  if (n >= CSR_MHPMEVENT3 && n <= CSR_MHPMEVENT31) return true;
  if (n >= CSR_PMPCFG0 && n <= CSR_PMPADDR63) return true;
  switch (n) {
    case CSR_CYCLE: case CSR_TIME: case CSR_INSTRET: case CSR_CYCLEH: case CSR_TIMEH: case CSR_INSTRETH:
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MHARTID: case CSR_MCONFIGPTR:
    case CSR_MSTATUS: case CSR_MISA: case CSR_MIE: case CSR_MTVEC: case CSR_MCOUNTEREN: case CSR_MSTATUSH:
    case CSR_MCOUNTINHIBIT: case CSR_MSCRATCH: case CSR_MEPC: case CSR_MCAUSE: case CSR_MTVAL: case CSR_MIP:
    case CSR_MCYCLE: case CSR_MINSTRET: case CSR_MCYCLEH: case CSR_MINSTRETH:
    case CSR_TSELECT: case CSR_TDATA1: case CSR_TDATA2: case CSR_TDATA3:
      return true;
    default:
      return false;
  }
}

/**
 * The access rules of a CSR instruction (privileged spec 2.1): the CSR exists,
 * bits 9:8 do not exceed the current privilege, bits 11:10 == 3 means
 * read-only, and U-mode counter reads need their mcounteren bit.
 */
export function csrAccessible(h: Hart, n: number, write: boolean): boolean {
  if (!csrExists(n)) return false;
  if (((n >>> 8) & 3) > h.priv) return false;
  if (write && (n >>> 10) === 3) return false;
  if (h.priv === PRIV_U && ((n >= CSR_CYCLE && n <= CSR_HPMCOUNTER31) || (n >= CSR_CYCLEH && n <= CSR_HPMCOUNTER31H))) {
    if (((h.mcounteren >>> (n & 31)) & 1) === 0) return false;
  }
  return true;
}

/** Which 64-bit counter a CSR number reads; -1 for none. */
const CYCLE = 0;
const INSTRET = 1;

/** Low or high half of counter `which` (mcycle / minstret), as the guest sees it. */
function counterHalf(h: Hart, which: number, high: boolean): number {
  const c = h.counterState;
  const k = which * 4;
  const inhibited = (h.mcountinhibit & (which === CYCLE ? INHIBIT_CY : INHIBIT_IR)) !== 0;
  if (inhibited) return high ? c[k + 3]! : c[k + 2]!;
  const base = which === CYCLE ? h.cycle : h.instret;
  const baseLo = base % TWO32;
  const baseHi = (base - baseLo) / TWO32;
  const sumLo = baseLo + c[k]!;
  if (!high) return sumLo >>> 0;
  return (baseHi + c[k + 1]! + (sumLo >= TWO32 ? 1 : 0)) >>> 0;
}

/**
 * Set counter `which` to (hi, lo). `bump` is 1 when the write comes from an
 * instruction: the spec makes the written value win over that instruction's
 * own increment (Spike compensates the same way).
 */
function counterSet(h: Hart, which: number, hi: number, lo: number, bump: number): void {
  const c = h.counterState;
  const k = which * 4;
  const inhibited = (h.mcountinhibit & (which === CYCLE ? INHIBIT_CY : INHIBIT_IR)) !== 0;
  if (inhibited) {
    c[k + 2] = lo;
    c[k + 3] = hi;
    return;
  }
  const base = (which === CYCLE ? h.cycle : h.instret) + bump;
  const baseLo = base % TWO32;
  const baseHi = (base - baseLo) / TWO32;
  const dLo = (lo >>> 0) - baseLo;
  c[k] = dLo >>> 0;
  c[k + 1] = (hi >>> 0) - baseHi - (dLo < 0 ? 1 : 0);
}

/** Read CSR `n` without privilege checks; the caller made sure it exists. Unsigned result. */
export function csrRead(h: Hart, n: number): number {
  switch (n) {
    case CSR_MSTATUS: return h.mstatus >>> 0;
    case CSR_MISA: return h.isa === 'rv32ima' ? MISA_RV32IMA : MISA_RV32IMAC;
    case CSR_MIE: return h.mie >>> 0;
    case CSR_MIP: return (h.mip | (h.mtime >= h.mtimecmp ? MIP_MTIP : 0)) >>> 0;
    case CSR_MTVEC: return h.mtvec >>> 0;
    case CSR_MEPC: return (h.isa === 'rv32ima' ? h.mepc & ~3 : h.mepc) >>> 0;
    case CSR_MCAUSE: return h.mcause >>> 0;
    case CSR_MTVAL: return h.mtval >>> 0;
    case CSR_MSCRATCH: return h.mscratch >>> 0;
    case CSR_MHARTID: return h.hartId >>> 0;
    case CSR_MCOUNTEREN: return h.mcounteren >>> 0;
    case CSR_MCOUNTINHIBIT: return h.mcountinhibit >>> 0;
    case CSR_MCYCLE: case CSR_CYCLE: return counterHalf(h, CYCLE, false);
    case CSR_MCYCLEH: case CSR_CYCLEH: return counterHalf(h, CYCLE, true);
    case CSR_MINSTRET: case CSR_INSTRET: return counterHalf(h, INSTRET, false);
    case CSR_MINSTRETH: case CSR_INSTRETH: return counterHalf(h, INSTRET, true);
    case CSR_TIME: return h.mtime % TWO32;
    case CSR_TIMEH: return Math.floor(h.mtime / TWO32) >>> 0;
    default: return 0; // ids, mstatush, hpm counters/events, pmp, triggers
  }
}

/**
 * Write CSR `n` without privilege checks. `fromInsn` marks a write by a CSR
 * instruction (counter writes then pre-compensate its retirement).
 * Returns true when interrupt state (mstatus, mie) may have changed.
 */
export function csrWrite(h: Hart, n: number, v: number, fromInsn: boolean): boolean {
  v |= 0;
  const bump = fromInsn ? 1 : 0;
  switch (n) {
    case CSR_MSTATUS: {
      let s = v & MSTATUS_WRITABLE;
      // MPP is WARL over the implemented modes; Spike maps S/H encodings to U.
      if (((s >>> MSTATUS_MPP_SHIFT) & 3) !== PRIV_M) s &= ~MSTATUS_MPP;
      h.mstatus = s;
      return true;
    }
    case CSR_MIE:
      h.mie = v & MIE_WRITABLE;
      return true;
    case CSR_MTVEC:
      // Modes 2 and 3 are reserved: bit 1 is hardwired to zero (as Spike).
      h.mtvec = (v & ~2) >>> 0;
      return false;
    case CSR_MEPC:
      h.mepc = (v & ~1) >>> 0;
      return false;
    case CSR_MCAUSE: h.mcause = v >>> 0; return false;
    case CSR_MTVAL: h.mtval = v >>> 0; return false;
    case CSR_MSCRATCH: h.mscratch = v >>> 0; return false;
    case CSR_MCOUNTEREN: h.mcounteren = v >>> 0; return false;
    case CSR_MCOUNTINHIBIT: {
      // Freeze or thaw at the current guest-visible values. The writer's own
      // increment is governed by the new setting (Spike bumps after the write).
      const cyLo = counterHalf(h, CYCLE, false), cyHi = counterHalf(h, CYCLE, true);
      const irLo = counterHalf(h, INSTRET, false), irHi = counterHalf(h, INSTRET, true);
      h.mcountinhibit = (v & MCOUNTINHIBIT_WRITABLE) >>> 0;
      counterSet(h, CYCLE, cyHi, cyLo, 0);
      counterSet(h, INSTRET, irHi, irLo, 0);
      return false;
    }
    case CSR_MCYCLE: counterSet(h, CYCLE, counterHalf(h, CYCLE, true), v, bump); return false;
    case CSR_MCYCLEH: counterSet(h, CYCLE, v, counterHalf(h, CYCLE, false), bump); return false;
    case CSR_MINSTRET: counterSet(h, INSTRET, counterHalf(h, INSTRET, true), v, bump); return false;
    case CSR_MINSTRETH: counterSet(h, INSTRET, v, counterHalf(h, INSTRET, false), bump); return false;
    default:
      // misa, mip (no software-writable bits without S-mode), mstatush, hpm, pmp, triggers: ignored.
      return n === CSR_MIP;
  }
}
