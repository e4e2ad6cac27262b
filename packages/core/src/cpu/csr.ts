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
export const CSR_CYCLE = 0xc00;
export const CSR_TIME = 0xc01;
export const CSR_INSTRET = 0xc02;
export const CSR_HPMCOUNTER3 = 0xc03;
export const CSR_HPMCOUNTER31 = 0xc1f;
export const CSR_CYCLEH = 0xc80;
export const CSR_TIMEH = 0xc81;
export const CSR_INSTRETH = 0xc82;
export const CSR_HPMCOUNTER3H = 0xc83;
export const CSR_HPMCOUNTER31H = 0xc9f;

// Machine information (read-only).
export const CSR_MVENDORID = 0xf11;
export const CSR_MARCHID = 0xf12;
export const CSR_MIMPID = 0xf13;
export const CSR_MHARTID = 0xf14;
export const CSR_MCONFIGPTR = 0xf15;

// Machine trap setup and handling.
export const CSR_MSTATUS = 0x300;
export const CSR_MISA = 0x301;
/** Not implemented (no S-mode): accessing it is illegal. Named for tests. */
export const CSR_MEDELEG = 0x302;
/** Not implemented (no S-mode): accessing it is illegal. Named for tests. */
export const CSR_MIDELEG = 0x303;
export const CSR_MIE = 0x304;
export const CSR_MTVEC = 0x305;
export const CSR_MCOUNTEREN = 0x306;
export const CSR_MSTATUSH = 0x310;
export const CSR_MCOUNTINHIBIT = 0x320;
export const CSR_MHPMEVENT3 = 0x323;
export const CSR_MHPMEVENT31 = 0x33f;
export const CSR_MSCRATCH = 0x340;
export const CSR_MEPC = 0x341;
export const CSR_MCAUSE = 0x342;
export const CSR_MTVAL = 0x343;
export const CSR_MIP = 0x344;

// Machine counters.
export const CSR_MCYCLE = 0xb00;
export const CSR_MINSTRET = 0xb02;
export const CSR_MHPMCOUNTER3 = 0xb03;
export const CSR_MHPMCOUNTER31 = 0xb1f;
export const CSR_MCYCLEH = 0xb80;
export const CSR_MINSTRETH = 0xb82;
export const CSR_MHPMCOUNTER3H = 0xb83;
export const CSR_MHPMCOUNTER31H = 0xb9f;

// Physical memory protection: no entries, so (as Spike with zero regions) the
// registers exist, read zero and ignore writes; firmware that programs a
// catch-all region at boot keeps working.
export const CSR_PMPCFG0 = 0x3a0;
export const CSR_PMPCFG15 = 0x3af;
export const CSR_PMPADDR0 = 0x3b0;
export const CSR_PMPADDR63 = 0x3ef;

// Debug triggers: present but empty (read zero, writes ignored), as Spike with no triggers.
export const CSR_TSELECT = 0x7a0;
export const CSR_TDATA1 = 0x7a1;
export const CSR_TDATA2 = 0x7a2;
export const CSR_TDATA3 = 0x7a3;

// mstatus fields.
export const MSTATUS_MIE = 1 << 3;
export const MSTATUS_MPIE = 1 << 7;
export const MSTATUS_MPP_SHIFT = 11;
export const MSTATUS_MPP = 3 << MSTATUS_MPP_SHIFT;
export const MSTATUS_MPRV = 1 << 17;
export const MSTATUS_TW = 1 << 21;
const MSTATUS_WRITABLE = MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TW;

/** misa values (MXL = 1: 32-bit). */
export const MISA_RV32IMAC = 0x4010_1105;
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
