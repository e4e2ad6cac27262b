/**
 * Instruction decoding: an instruction word becomes an op id plus register
 * fields and one immediate. Pure and table-free, so the hart's predecode cache,
 * a future compiling tier and tests all share one definition of the ISA.
 *
 * Packed form (what the hart caches), one int32:
 *   bits 0..7   op id (ops.ts)
 *   bits 8..13  rd (the decoder emits 0..31; the hart may remap x0 to a sink)
 *   bits 14..18 rs1 (or the 5-bit uimm of csrr*i)
 *   bits 19..23 rs2
 *   bits 24..26 instruction length in bytes (2 or 4), so next pc = pc + (packed >>> 24)
 * The immediate travels separately: sign-extended offsets/constants, the CSR
 * number for Zicsr, the shift amount for immediate shifts, and the raw
 * instruction bits for OP_ILLEGAL (the hart reports them as mtval).
 */

import {
  OP_ADD, OP_ADDI, OP_AMOADD, OP_AMOAND, OP_AMOMAX, OP_AMOMAXU, OP_AMOMIN, OP_AMOMINU, OP_AMOOR,
  OP_AMOSWAP, OP_AMOXOR, OP_AND, OP_ANDI, OP_AUIPC, OP_BEQ, OP_BGE, OP_BGEU, OP_BLT, OP_BLTU, OP_BNE,
  OP_CSRRC, OP_CSRRCI, OP_CSRRS, OP_CSRRSI, OP_CSRRW, OP_CSRRWI, OP_DIV, OP_DIVU, OP_EBREAK, OP_ECALL,
  OP_FENCE, OP_FENCE_I, OP_ILLEGAL, OP_JAL, OP_JALR, OP_LB, OP_LBU, OP_LH, OP_LHU, OP_LR, OP_LUI, OP_LW,
  OP_MRET, OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_NAMES, OP_OR, OP_ORI, OP_REM, OP_REMU, OP_SB, OP_SC,
  OP_SH, OP_SLL, OP_SLLI, OP_SLT, OP_SLTI, OP_SLTIU, OP_SLTU, OP_SRA, OP_SRAI, OP_SRL, OP_SRLI, OP_SUB,
  OP_SW, OP_WFI, OP_XOR, OP_XORI,
} from './ops.ts';

export const PACK_RD_SHIFT = 8;
export const PACK_RS1_SHIFT = 14;
export const PACK_RS2_SHIFT = 19;
/** Shift of the instruction length (2 or 4) in the packed form. */
export const PACK_LEN_SHIFT = 24;
const LEN4 = 4 << PACK_LEN_SHIFT;
const LEN2 = 2 << PACK_LEN_SHIFT;

function pack(op: number, rd: number, rs1: number, rs2: number): number {
  return op | (rd << PACK_RD_SHIFT) | (rs1 << PACK_RS1_SHIFT) | (rs2 << PACK_RS2_SHIFT);
}

/**
 * Decode the instruction whose first parcel is the low half of `word`.
 * A 4-byte instruction needs all 32 bits; a compressed one only the low 16.
 * Writes the packed form to out[0] and the immediate to out[1].
 * With `allowC` false (rv32ima) every 16-bit encoding is illegal.
 */
export function decodeTo(word: number, allowC: boolean, out: Int32Array): void {
  word |= 0;
  if ((word & 3) !== 3) {
    const h = word & 0xffff;
    if (!allowC) {
      out[0] = OP_ILLEGAL | LEN2;
      out[1] = h;
      return;
    }
    decodeCompressed(h, out);
    out[0] |= LEN2;
    return;
  }
  decode32(word, out);
  out[0] |= LEN4;
}

function illegal(out: Int32Array, bits: number): void {
  out[0] = OP_ILLEGAL;
  out[1] = bits;
}

function set(out: Int32Array, op: number, rd: number, rs1: number, rs2: number, imm: number): void {
  out[0] = pack(op, rd, rs1, rs2);
  out[1] = imm | 0;
}

const LOADS = [OP_LB, OP_LH, OP_LW, OP_ILLEGAL, OP_LBU, OP_LHU, OP_ILLEGAL, OP_ILLEGAL];
const STORES = [OP_SB, OP_SH, OP_SW, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL];
const BRANCHES = [OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU];
const OPIMM = [OP_ADDI, OP_SLLI, OP_SLTI, OP_SLTIU, OP_XORI, OP_SRLI, OP_ORI, OP_ANDI];
const OPREG = [OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND];
const OPMUL = [OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU];
const CALU = [OP_SUB, OP_XOR, OP_OR, OP_AND];
const CSRS = [OP_ILLEGAL, OP_CSRRW, OP_CSRRS, OP_CSRRC, OP_ILLEGAL, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI];

function decode32(w: number, out: Int32Array): void {
  const opcode = w & 0x7f;
  const rd = (w >>> 7) & 31;
  const f3 = (w >>> 12) & 7;
  const rs1 = (w >>> 15) & 31;
  const rs2 = (w >>> 20) & 31;
  const f7 = w >>> 25;
  switch (opcode) {
    case 0x37: return set(out, OP_LUI, rd, 0, 0, w & 0xfffff000);
    case 0x17: return set(out, OP_AUIPC, rd, 0, 0, w & 0xfffff000);
    case 0x6f: {
      const imm = ((w >> 31) << 20) | (w & 0xff000) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3ff) << 1);
      return set(out, OP_JAL, rd, 0, 0, imm);
    }
    case 0x67:
      if (f3 !== 0) return illegal(out, w);
      return set(out, OP_JALR, rd, rs1, 0, w >> 20);
    case 0x63: {
      const op = BRANCHES[f3]!;
      if (op === OP_ILLEGAL) return illegal(out, w);
      const imm = ((w >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3f) << 5) | (((w >>> 8) & 15) << 1);
      return set(out, op, 0, rs1, rs2, imm);
    }
    case 0x03: {
      const op = LOADS[f3]!;
      if (op === OP_ILLEGAL) return illegal(out, w);
      return set(out, op, rd, rs1, 0, w >> 20);
    }
    case 0x23: {
      const op = STORES[f3]!;
      if (op === OP_ILLEGAL) return illegal(out, w);
      return set(out, op, 0, rs1, rs2, ((w >> 25) << 5) | ((w >>> 7) & 31));
    }
    case 0x13: {
      const op = OPIMM[f3]!;
      if (f3 === 1) {
        // shamt[5] set is reserved on RV32 (Spike: illegal).
        if (f7 !== 0) return illegal(out, w);
        return set(out, op, rd, rs1, 0, rs2);
      }
      if (f3 === 5) {
        if (f7 === 0) return set(out, OP_SRLI, rd, rs1, 0, rs2);
        if (f7 === 0x20) return set(out, OP_SRAI, rd, rs1, 0, rs2);
        return illegal(out, w);
      }
      return set(out, op, rd, rs1, 0, w >> 20);
    }
    case 0x33: {
      if (f7 === 0) return set(out, OPREG[f3]!, rd, rs1, rs2, 0);
      if (f7 === 1) return set(out, OPMUL[f3]!, rd, rs1, rs2, 0);
      if (f7 === 0x20) {
        if (f3 === 0) return set(out, OP_SUB, rd, rs1, rs2, 0);
        if (f3 === 5) return set(out, OP_SRA, rd, rs1, rs2, 0);
      }
      return illegal(out, w);
    }
    case 0x0f:
      // fm/pred/succ and the reserved rd/rs1 fields are ignored, as Spike does.
      if (f3 === 0) return set(out, OP_FENCE, 0, 0, 0, 0);
      if (f3 === 1) return set(out, OP_FENCE_I, 0, 0, 0, 0);
      return illegal(out, w);
    case 0x73: {
      if (f3 === 0) {
        switch (w) {
          case 0x00000073: return set(out, OP_ECALL, 0, 0, 0, 0);
          case 0x00100073: return set(out, OP_EBREAK, 0, 0, 0, 0);
          case 0x30200073: return set(out, OP_MRET, 0, 0, 0, 0);
          case 0x10500073: return set(out, OP_WFI, 0, 0, 0, 0);
          default: return illegal(out, w);
        }
      }
      const op = CSRS[f3]!;
      if (op === OP_ILLEGAL) return illegal(out, w);
      return set(out, op, rd, rs1, 0, w >>> 20);
    }
    case 0x2f: {
      if (f3 !== 2) return illegal(out, w);
      const f5 = w >>> 27;
      let op: number;
      switch (f5) {
        case 0x02:
          if (rs2 !== 0) return illegal(out, w);
          op = OP_LR;
          break;
        case 0x03: op = OP_SC; break;
        case 0x01: op = OP_AMOSWAP; break;
        case 0x00: op = OP_AMOADD; break;
        case 0x04: op = OP_AMOXOR; break;
        case 0x0c: op = OP_AMOAND; break;
        case 0x08: op = OP_AMOOR; break;
        case 0x10: op = OP_AMOMIN; break;
        case 0x14: op = OP_AMOMAX; break;
        case 0x18: op = OP_AMOMINU; break;
        case 0x1c: op = OP_AMOMAXU; break;
        default: return illegal(out, w);
      }
      return set(out, op, rd, rs1, rs2, 0);
    }
    default:
      return illegal(out, w);
  }
}

/** RV32C expansion (unprivileged spec chapter 16); F/D forms are illegal here (no F/D). */
function decodeCompressed(h: number, out: Int32Array): void {
  const q = h & 3;
  const f3 = h >>> 13;
  const rdp = 8 + ((h >>> 2) & 7); // rd' / rs2'
  const rs1p = 8 + ((h >>> 7) & 7); // rs1' / rd'
  const rd = (h >>> 7) & 31;
  const rs2 = (h >>> 2) & 31;
  // Sign-extended 6-bit immediate of CI forms: imm[5] = bit 12, imm[4:0] = bits 6:2.
  const ci = ((((h >>> 12) & 1) << 31) >> 26) | ((h >>> 2) & 31);
  if (q === 0) {
    switch (f3) {
      case 0: {
        const imm = (((h >>> 6) & 1) << 2) | (((h >>> 5) & 1) << 3) | (((h >>> 11) & 3) << 4) | (((h >>> 7) & 15) << 6);
        if (imm === 0) return illegal(out, h); // includes the all-zero parcel
        return set(out, OP_ADDI, rdp, 2, 0, imm);
      }
      case 2:
        return set(out, OP_LW, rdp, rs1p, 0, cmemOffset(h));
      case 6:
        return set(out, OP_SW, 0, rs1p, rdp, cmemOffset(h));
      default:
        return illegal(out, h);
    }
  }
  if (q === 1) {
    switch (f3) {
      case 0: return set(out, OP_ADDI, rd, rd, 0, ci); // c.nop / c.addi (imm 0 forms are hints)
      case 1: return set(out, OP_JAL, 1, 0, 0, cjOffset(h));
      case 2: return set(out, OP_ADDI, rd, 0, 0, ci); // c.li
      case 3: {
        if (rd === 2) {
          const imm = ((((h >>> 12) & 1) << 31) >> 22) | (((h >>> 6) & 1) << 4) | (((h >>> 5) & 1) << 6) |
            (((h >>> 3) & 3) << 7) | (((h >>> 2) & 1) << 5);
          if (imm === 0) return illegal(out, h);
          return set(out, OP_ADDI, 2, 2, 0, imm);
        }
        if (ci === 0) return illegal(out, h);
        return set(out, OP_LUI, rd, 0, 0, ci << 12);
      }
      case 4: {
        const sub = (h >>> 10) & 3;
        if (sub === 0 || sub === 1) {
          if ((h & 0x1000) !== 0) return illegal(out, h); // shamt[5] reserved on RV32
          return set(out, sub === 0 ? OP_SRLI : OP_SRAI, rs1p, rs1p, 0, (h >>> 2) & 31);
        }
        if (sub === 2) return set(out, OP_ANDI, rs1p, rs1p, 0, ci);
        if ((h & 0x1000) !== 0) return illegal(out, h); // c.subw/c.addw are RV64 only
        const op = CALU[(h >>> 5) & 3]!;
        return set(out, op, rs1p, rs1p, rdp, 0);
      }
      case 5: return set(out, OP_JAL, 0, 0, 0, cjOffset(h));
      case 6:
      case 7: {
        const imm = ((((h >>> 12) & 1) << 31) >> 23) | (((h >>> 10) & 3) << 3) | (((h >>> 5) & 3) << 6) |
          (((h >>> 3) & 3) << 1) | (((h >>> 2) & 1) << 5);
        return set(out, f3 === 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, imm);
      }
    }
  }
  if (q === 2) {
    switch (f3) {
      case 0:
        if ((h & 0x1000) !== 0) return illegal(out, h);
        return set(out, OP_SLLI, rd, rd, 0, rs2);
      case 2: {
        if (rd === 0) return illegal(out, h);
        const imm = (((h >>> 12) & 1) << 5) | (((h >>> 4) & 7) << 2) | (((h >>> 2) & 3) << 6);
        return set(out, OP_LW, rd, 2, 0, imm);
      }
      case 4:
        if ((h & 0x1000) === 0) {
          if (rs2 === 0) {
            if (rd === 0) return illegal(out, h);
            return set(out, OP_JALR, 0, rd, 0, 0); // c.jr
          }
          return set(out, OP_ADD, rd, 0, rs2, 0); // c.mv
        }
        if (rs2 === 0) {
          if (rd === 0) return set(out, OP_EBREAK, 0, 0, 0, 0);
          return set(out, OP_JALR, 1, rd, 0, 0); // c.jalr
        }
        return set(out, OP_ADD, rd, rd, rs2, 0);
      case 6: {
        const imm = (((h >>> 9) & 15) << 2) | (((h >>> 7) & 3) << 6);
        return set(out, OP_SW, 0, 2, rs2, imm);
      }
    }
  }
  illegal(out, h);
}

function cmemOffset(h: number): number {
  return (((h >>> 10) & 7) << 3) | (((h >>> 6) & 1) << 2) | (((h >>> 5) & 1) << 6);
}

function cjOffset(h: number): number {
  return ((((h >>> 12) & 1) << 31) >> 20) | (((h >>> 11) & 1) << 4) | (((h >>> 9) & 3) << 8) |
    (((h >>> 8) & 1) << 10) | (((h >>> 7) & 1) << 6) | (((h >>> 6) & 1) << 7) | (((h >>> 3) & 7) << 1) |
    (((h >>> 2) & 1) << 5);
}

/** A decoded instruction, for tests, debuggers and disassembly. */
export interface Decoded {
  op: number;
  /** Mnemonic of the (expanded) operation, e.g. `addi` for c.li. */
  name: string;
  rd: number;
  rs1: number;
  rs2: number;
  imm: number;
  /** 2 for a compressed instruction, else 4. */
  length: 2 | 4;
}

const scratch = /* @__PURE__ */ new Int32Array(2);

/**
 * Decode one instruction word (the low 16 bits suffice for a compressed one).
 * `isa` 'rv32ima' makes every 16-bit encoding illegal.
 */
export function decode(word: number, isa: 'rv32imac' | 'rv32ima' = 'rv32imac'): Decoded {
  decodeTo(word, isa !== 'rv32ima', scratch);
  return unpack(scratch[0]!, scratch[1]!);
}

/** Expand the packed form (see the file comment) into a `Decoded`. */
export function unpack(packed: number, imm: number): Decoded {
  const op = packed & 0xff;
  return {
    op,
    name: OP_NAMES[op] ?? '?',
    rd: (packed >>> PACK_RD_SHIFT) & 31,
    rs1: (packed >>> PACK_RS1_SHIFT) & 31,
    rs2: (packed >>> PACK_RS2_SHIFT) & 31,
    imm,
    length: (packed >>> PACK_LEN_SHIFT) === 2 ? 2 : 4,
  };
}
