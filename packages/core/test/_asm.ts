/**
 * A tiny RV32IMAC instruction encoder for tests (not a full assembler):
 * each function returns one instruction; `program()` lays them out as bytes.
 * 32-bit instructions are plain numbers, compressed ones `{ half }` objects.
 */

export type Insn = number | { half: number };

const u = (v: number): number => v >>> 0;

export function rType(op: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): number {
  return u((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
}
export function iType(op: number, f3: number, rd: number, rs1: number, imm: number): number {
  return u(((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op);
}
export function sType(op: number, f3: number, rs1: number, rs2: number, imm: number): number {
  return u((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op);
}
export function bType(f3: number, rs1: number, rs2: number, imm: number): number {
  return u((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((imm >> 1) & 15) << 8) | (((imm >> 11) & 1) << 7) | 0x63);
}
export function uType(op: number, rd: number, imm: number): number {
  return u((imm & 0xfffff000) | (rd << 7) | op);
}
export function jType(rd: number, imm: number): number {
  return u((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) | (rd << 7) | 0x6f);
}

export const lui = (rd: number, imm: number) => uType(0x37, rd, imm);
export const auipc = (rd: number, imm: number) => uType(0x17, rd, imm);
export const jal = (rd: number, off: number) => jType(rd, off);
export const jalr = (rd: number, rs1: number, imm: number) => iType(0x67, 0, rd, rs1, imm);
export const beq = (a: number, b: number, off: number) => bType(0, a, b, off);
export const bne = (a: number, b: number, off: number) => bType(1, a, b, off);
export const blt = (a: number, b: number, off: number) => bType(4, a, b, off);
export const bge = (a: number, b: number, off: number) => bType(5, a, b, off);
export const bltu = (a: number, b: number, off: number) => bType(6, a, b, off);
export const bgeu = (a: number, b: number, off: number) => bType(7, a, b, off);
export const lb = (rd: number, rs1: number, imm: number) => iType(3, 0, rd, rs1, imm);
export const lh = (rd: number, rs1: number, imm: number) => iType(3, 1, rd, rs1, imm);
export const lw = (rd: number, rs1: number, imm: number) => iType(3, 2, rd, rs1, imm);
export const lbu = (rd: number, rs1: number, imm: number) => iType(3, 4, rd, rs1, imm);
export const lhu = (rd: number, rs1: number, imm: number) => iType(3, 5, rd, rs1, imm);
export const sb = (rs2: number, rs1: number, imm: number) => sType(0x23, 0, rs1, rs2, imm);
export const sh = (rs2: number, rs1: number, imm: number) => sType(0x23, 1, rs1, rs2, imm);
export const sw = (rs2: number, rs1: number, imm: number) => sType(0x23, 2, rs1, rs2, imm);
export const addi = (rd: number, rs1: number, imm: number) => iType(0x13, 0, rd, rs1, imm);
export const slti = (rd: number, rs1: number, imm: number) => iType(0x13, 2, rd, rs1, imm);
export const sltiu = (rd: number, rs1: number, imm: number) => iType(0x13, 3, rd, rs1, imm);
export const xori = (rd: number, rs1: number, imm: number) => iType(0x13, 4, rd, rs1, imm);
export const ori = (rd: number, rs1: number, imm: number) => iType(0x13, 6, rd, rs1, imm);
export const andi = (rd: number, rs1: number, imm: number) => iType(0x13, 7, rd, rs1, imm);
export const slli = (rd: number, rs1: number, sh: number) => iType(0x13, 1, rd, rs1, sh);
export const srli = (rd: number, rs1: number, sh: number) => iType(0x13, 5, rd, rs1, sh);
export const srai = (rd: number, rs1: number, sh: number) => iType(0x13, 5, rd, rs1, 0x400 | sh);
const op = (f3: number, f7: number) => (rd: number, rs1: number, rs2: number) => rType(0x33, f3, f7, rd, rs1, rs2);
export const add = op(0, 0), sub = op(0, 0x20), sll = op(1, 0), slt = op(2, 0), sltu = op(3, 0), xor = op(4, 0);
export const srl = op(5, 0), sra = op(5, 0x20), or = op(6, 0), and = op(7, 0);
export const mul = op(0, 1), mulh = op(1, 1), mulhsu = op(2, 1), mulhu = op(3, 1);
export const div = op(4, 1), divu = op(5, 1), rem = op(6, 1), remu = op(7, 1);
const amoOp = (f5: number) => (rd: number, rs1: number, rs2: number) => rType(0x2f, 2, f5 << 2, rd, rs1, rs2);
export const lrw = (rd: number, rs1: number) => rType(0x2f, 2, 0x02 << 2, rd, rs1, 0);
export const scw = amoOp(0x03), amoswap = amoOp(0x01), amoadd = amoOp(0x00), amoxor = amoOp(0x04);
export const amoand = amoOp(0x0c), amoor = amoOp(0x08), amomin = amoOp(0x10), amomax = amoOp(0x14);
export const amominu = amoOp(0x18), amomaxu = amoOp(0x1c);
export const fence = () => 0x0ff0000f;
export const fencei = () => 0x0000100f;
export const ecall = () => 0x00000073;
export const ebreak = () => 0x00100073;
export const mret = () => 0x30200073;
export const wfi = () => 0x10500073;
const csrOp = (f3: number) => (rd: number, csr: number, rs1: number) => iType(0x73, f3, rd, rs1, csr);
/** csrrw(rd, csr, rs1); the *i forms take the 5-bit uimm in place of rs1. */
export const csrrw = csrOp(1), csrrs = csrOp(2), csrrc = csrOp(3), csrrwi = csrOp(5), csrrsi = csrOp(6), csrrci = csrOp(7);
export const nop = () => addi(0, 0, 0);

/** rd = value, as lui + addi (always two instructions, so layouts stay predictable). */
export function li(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  const hi = (value - lo) | 0;
  return [lui(rd, hi), addi(rd, rd, lo)];
}

// Compressed forms (RV32C). Registers named r' must be x8..x15.
const c = (half: number): Insn => ({ half: half & 0xffff });
const p = (r: number): number => {
  if (r < 8 || r > 15) throw new Error(`x${r} is not a compressed register`);
  return r - 8;
};
const bit = (v: number, b: number): number => (v >> b) & 1;
export const cAddi4spn = (rd: number, imm: number) =>
  c((bit(imm, 5) << 12) | (bit(imm, 4) << 11) | (((imm >> 6) & 15) << 7) | (bit(imm, 2) << 6) | (bit(imm, 3) << 5) | (p(rd) << 2));
const cmem = (f3: number, rX: number, rs1: number, imm: number) =>
  c((f3 << 13) | (((imm >> 3) & 7) << 10) | (p(rs1) << 7) | (bit(imm, 2) << 6) | (bit(imm, 6) << 5) | (p(rX) << 2));
export const cLw = (rd: number, rs1: number, imm: number) => cmem(2, rd, rs1, imm);
export const cSw = (rs2: number, rs1: number, imm: number) => cmem(6, rs2, rs1, imm);
const ci = (f3: number, rd: number, imm: number, q: number) =>
  c((f3 << 13) | (bit(imm, 5) << 12) | (rd << 7) | ((imm & 31) << 2) | q);
export const cNop = () => c(0x0001);
export const cAddi = (rd: number, imm: number) => ci(0, rd, imm, 1);
export const cLi = (rd: number, imm: number) => ci(2, rd, imm, 1);
export const cLui = (rd: number, imm: number) => ci(3, rd, imm >> 12, 1);
export const cAddi16sp = (imm: number) =>
  c((3 << 13) | (bit(imm, 9) << 12) | (2 << 7) | (bit(imm, 4) << 6) | (bit(imm, 6) << 5) | (((imm >> 7) & 3) << 3) | (bit(imm, 5) << 2) | 1);
const cjImm = (off: number) =>
  (bit(off, 11) << 12) | (bit(off, 4) << 11) | (((off >> 8) & 3) << 9) | (bit(off, 10) << 8) | (bit(off, 6) << 7) |
  (bit(off, 7) << 6) | (((off >> 1) & 7) << 3) | (bit(off, 5) << 2);
export const cJal = (off: number) => c((1 << 13) | cjImm(off) | 1);
export const cJ = (off: number) => c((5 << 13) | cjImm(off) | 1);
const cb = (f3: number, rs1: number, off: number) =>
  c((f3 << 13) | (bit(off, 8) << 12) | (((off >> 3) & 3) << 10) | (p(rs1) << 7) | (((off >> 6) & 3) << 5) |
    (((off >> 1) & 3) << 3) | (bit(off, 5) << 2) | 1);
export const cBeqz = (rs1: number, off: number) => cb(6, rs1, off);
export const cBnez = (rs1: number, off: number) => cb(7, rs1, off);
export const cSrli = (rd: number, sh: number) => c((4 << 13) | (bit(sh, 5) << 12) | (0 << 10) | (p(rd) << 7) | ((sh & 31) << 2) | 1);
export const cSrai = (rd: number, sh: number) => c((4 << 13) | (bit(sh, 5) << 12) | (1 << 10) | (p(rd) << 7) | ((sh & 31) << 2) | 1);
export const cAndi = (rd: number, imm: number) => c((4 << 13) | (bit(imm, 5) << 12) | (2 << 10) | (p(rd) << 7) | ((imm & 31) << 2) | 1);
const calu = (f: number) => (rd: number, rs2: number) => c((4 << 13) | (3 << 10) | (p(rd) << 7) | (f << 5) | (p(rs2) << 2) | 1);
export const cSub = calu(0), cXor = calu(1), cOr = calu(2), cAnd = calu(3);
export const cSlli = (rd: number, sh: number) => c((bit(sh, 5) << 12) | (rd << 7) | ((sh & 31) << 2) | 2);
export const cLwsp = (rd: number, imm: number) =>
  c((2 << 13) | (bit(imm, 5) << 12) | (rd << 7) | (((imm >> 2) & 7) << 4) | (((imm >> 6) & 3) << 2) | 2);
export const cSwsp = (rs2: number, imm: number) =>
  c((6 << 13) | (((imm >> 2) & 15) << 9) | (((imm >> 6) & 3) << 7) | (rs2 << 2) | 2);
export const cJr = (rs1: number) => c((4 << 13) | (rs1 << 7) | 2);
export const cMv = (rd: number, rs2: number) => c((4 << 13) | (rd << 7) | (rs2 << 2) | 2);
export const cEbreak = () => c((4 << 13) | (1 << 12) | 2);
export const cJalr = (rs1: number) => c((4 << 13) | (1 << 12) | (rs1 << 7) | 2);
export const cAdd = (rd: number, rs2: number) => c((4 << 13) | (1 << 12) | (rd << 7) | (rs2 << 2) | 2);

/** Lay instructions out little-endian; nested arrays (from `li`) are flattened. */
export function program(...insns: (Insn | Insn[])[]): Uint8Array {
  const flat = insns.flat();
  const out: number[] = [];
  for (const i of flat) {
    if (typeof i === 'number') out.push(i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, (i >>> 24) & 0xff);
    else out.push(i.half & 0xff, i.half >>> 8);
  }
  return new Uint8Array(out);
}
