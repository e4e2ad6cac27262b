import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decode } from '../src/cpu/decode.ts';
import type { Decoded } from '../src/cpu/decode.ts';
import * as A from './_asm.ts';

const word = (i: A.Insn): number => (typeof i === 'number' ? i : i.half);

function fields(d: Decoded): string {
  return `${d.name} rd=${d.rd} rs1=${d.rs1} rs2=${d.rs2} imm=${d.imm} len=${d.length}`;
}

function expect(i: A.Insn, name: string, rd: number, rs1: number, rs2: number, imm: number): void {
  const d = decode(word(i));
  assert.is(fields(d), `${name} rd=${rd} rs1=${rs1} rs2=${rs2} imm=${imm} len=${typeof i === 'number' ? 4 : 2}`);
}

const base = suite('decode: 32-bit forms carry their fields and sign-extended immediates');

base('U and J forms', () => {
  expect(A.lui(5, 0xfffff000), 'lui', 5, 0, 0, 0xfffff000 | 0);
  expect(A.auipc(31, 0x12345000), 'auipc', 31, 0, 0, 0x12345000);
  expect(A.jal(1, -1048576), 'jal', 1, 0, 0, -1048576);
  expect(A.jal(0, 0xffffe), 'jal', 0, 0, 0, 0xffffe);
  expect(A.jalr(1, 2, -2048), 'jalr', 1, 2, 0, -2048);
});

base('B forms, every condition', () => {
  expect(A.beq(1, 2, -4096), 'beq', 0, 1, 2, -4096);
  expect(A.bne(3, 4, 4094), 'bne', 0, 3, 4, 4094);
  expect(A.blt(5, 6, 2), 'blt', 0, 5, 6, 2);
  expect(A.bge(7, 8, -2), 'bge', 0, 7, 8, -2);
  expect(A.bltu(9, 10, 2048), 'bltu', 0, 9, 10, 2048);
  expect(A.bgeu(11, 12, 64), 'bgeu', 0, 11, 12, 64);
});

base('loads and stores', () => {
  expect(A.lb(1, 2, -2048), 'lb', 1, 2, 0, -2048);
  expect(A.lh(3, 4, 2047), 'lh', 3, 4, 0, 2047);
  expect(A.lw(5, 6, -1), 'lw', 5, 6, 0, -1);
  expect(A.lbu(7, 8, 1), 'lbu', 7, 8, 0, 1);
  expect(A.lhu(9, 10, 2), 'lhu', 9, 10, 0, 2);
  expect(A.sb(11, 12, -1), 'sb', 0, 12, 11, -1);
  expect(A.sh(13, 14, 2047), 'sh', 0, 14, 13, 2047);
  expect(A.sw(15, 16, -2048), 'sw', 0, 16, 15, -2048);
});

base('register-immediate and register-register ALU', () => {
  expect(A.addi(1, 2, -1), 'addi', 1, 2, 0, -1);
  expect(A.slti(1, 2, 5), 'slti', 1, 2, 0, 5);
  expect(A.sltiu(1, 2, -5), 'sltiu', 1, 2, 0, -5);
  expect(A.xori(1, 2, 0x7ff), 'xori', 1, 2, 0, 0x7ff);
  expect(A.ori(1, 2, -2048), 'ori', 1, 2, 0, -2048);
  expect(A.andi(1, 2, 3), 'andi', 1, 2, 0, 3);
  expect(A.slli(1, 2, 31), 'slli', 1, 2, 0, 31);
  expect(A.srli(1, 2, 1), 'srli', 1, 2, 0, 1);
  expect(A.srai(1, 2, 17), 'srai', 1, 2, 0, 17);
  const rr: [(a: number, b: number, c: number) => number, string][] = [
    [A.add, 'add'], [A.sub, 'sub'], [A.sll, 'sll'], [A.slt, 'slt'], [A.sltu, 'sltu'], [A.xor, 'xor'], [A.srl, 'srl'],
    [A.sra, 'sra'], [A.or, 'or'], [A.and, 'and'], [A.mul, 'mul'], [A.mulh, 'mulh'], [A.mulhsu, 'mulhsu'],
    [A.mulhu, 'mulhu'], [A.div, 'div'], [A.divu, 'divu'], [A.rem, 'rem'], [A.remu, 'remu'],
  ];
  for (const [f, name] of rr) expect(f(31, 17, 9), name, 31, 17, 9, 0);
});

base('atomics', () => {
  expect(A.lrw(1, 2), 'lr.w', 1, 2, 0, 0);
  const amos: [(a: number, b: number, c: number) => number, string][] = [
    [A.scw, 'sc.w'], [A.amoswap, 'amoswap.w'], [A.amoadd, 'amoadd.w'], [A.amoxor, 'amoxor.w'], [A.amoand, 'amoand.w'],
    [A.amoor, 'amoor.w'], [A.amomin, 'amomin.w'], [A.amomax, 'amomax.w'], [A.amominu, 'amominu.w'], [A.amomaxu, 'amomaxu.w'],
  ];
  for (const [f, name] of amos) expect(f(3, 4, 5), name, 3, 4, 5, 0);
  // aq/rl bits do not change the operation.
  expect(A.amoadd(3, 4, 5) | (3 << 25), 'amoadd.w', 3, 4, 5, 0);
});

base('system, fences and Zicsr', () => {
  expect(A.fence(), 'fence', 0, 0, 0, 0);
  expect(A.fencei(), 'fence.i', 0, 0, 0, 0);
  expect(A.ecall(), 'ecall', 0, 0, 0, 0);
  expect(A.ebreak(), 'ebreak', 0, 0, 0, 0);
  expect(A.mret(), 'mret', 0, 0, 0, 0);
  expect(A.wfi(), 'wfi', 0, 0, 0, 0);
  expect(A.csrrw(1, 0x340, 2), 'csrrw', 1, 2, 0, 0x340);
  expect(A.csrrs(3, 0xc00, 0), 'csrrs', 3, 0, 0, 0xc00);
  expect(A.csrrc(4, 0xfff, 5), 'csrrc', 4, 5, 0, 0xfff);
  expect(A.csrrwi(1, 0x340, 31), 'csrrwi', 1, 31, 0, 0x340);
  expect(A.csrrsi(1, 0x300, 1), 'csrrsi', 1, 1, 0, 0x300);
  expect(A.csrrci(1, 0x300, 8), 'csrrci', 1, 8, 0, 0x300);
});

base.run();

const illegal32 = suite('decode: reserved 32-bit encodings are illegal and keep their bits');

illegal32('each reserved form', () => {
  const cases: [number, string][] = [
    [0xffffffff, 'all ones'],
    [A.iType(0x67, 1, 1, 2, 0), 'jalr funct3 != 0'],
    [A.bType(2, 1, 2, 8), 'branch funct3 2'],
    [A.bType(3, 1, 2, 8), 'branch funct3 3'],
    [A.iType(3, 3, 1, 2, 0), 'ld (RV64)'],
    [A.iType(3, 6, 1, 2, 0), 'lwu (RV64)'],
    [A.iType(3, 7, 1, 2, 0), 'load funct3 7'],
    [A.sType(0x23, 3, 1, 2, 0), 'sd (RV64)'],
    [A.slli(1, 2, 0) | (1 << 25), 'slli with shamt[5]'],
    [A.srli(1, 2, 0) | (1 << 25), 'srli with shamt[5]'],
    [A.srai(1, 2, 0) | (1 << 25), 'srai with shamt[5]'],
    [A.slli(1, 2, 0) | (0x20 << 25), 'slli with funct7 0x20'],
    [A.rType(0x33, 0, 0x40, 1, 2, 3), 'add with bad funct7'],
    [A.rType(0x33, 1, 0x20, 1, 2, 3), 'sll with funct7 0x20'],
    [A.rType(0x3b, 0, 0, 1, 2, 3), 'addw (RV64 opcode)'],
    [A.iType(0x0f, 2, 0, 0, 0), 'misc-mem funct3 2'],
    [A.iType(0x73, 4, 1, 2, 0x300), 'system funct3 4'],
    [0x10200073, 'sret (no S-mode)'],
    [0x00200073, 'uret'],
    [0x12000073, 'sfence.vma'],
    [0x00000073 | (1 << 7), 'ecall with rd != 0'],
    [A.rType(0x2f, 3, 0, 1, 2, 3), 'amo funct3 3 (RV64 .d)'],
    [A.rType(0x2f, 2, 0x02 << 2, 1, 2, 3), 'lr.w with rs2 != 0'],
    [A.rType(0x2f, 2, 0x05 << 2, 1, 2, 3), 'amo funct5 0x05'],
    [0x00000007, 'flw (no F)'],
    [0x00000053, 'OP-FP (no F)'],
  ];
  for (const [w, what] of cases) {
    const d = decode(w);
    assert.is(d.name, '(illegal)', what);
    assert.is(d.imm >>> 0, w >>> 0, `${what}: imm holds the instruction bits`);
    assert.is(d.length, 4, what);
  }
});

illegal32.run();

const compressed = suite('decode: every RV32C form expands to its 32-bit equivalent');

/** The spec's expansion, decoded through the 32-bit path, is the oracle. */
function same(c: A.Insn, full: number): void {
  const dc = decode(word(c));
  const df = decode(full);
  assert.is(dc.length, 2);
  assert.is(fields({ ...dc, length: 4 }), fields(df));
}

compressed('quadrant 0', () => {
  same(A.cAddi4spn(8, 1020), A.addi(8, 2, 1020));
  same(A.cAddi4spn(15, 4), A.addi(15, 2, 4));
  same(A.cLw(9, 10, 124), A.lw(9, 10, 124));
  same(A.cLw(15, 8, 4), A.lw(15, 8, 4));
  same(A.cSw(11, 12, 64), A.sw(11, 12, 64));
  same(A.cSw(8, 15, 120), A.sw(8, 15, 120));
});

compressed('quadrant 1', () => {
  same(A.cNop(), A.addi(0, 0, 0));
  same(A.cAddi(5, -32), A.addi(5, 5, -32));
  same(A.cAddi(31, 31), A.addi(31, 31, 31));
  same(A.cJal(-2048), A.jal(1, -2048));
  same(A.cJal(2046), A.jal(1, 2046));
  same(A.cJal(0x2aa), A.jal(1, 0x2aa));
  same(A.cLi(6, -1), A.addi(6, 0, -1));
  same(A.cLi(6, 17), A.addi(6, 0, 17));
  same(A.cLui(7, -0x20000), A.lui(7, -0x20000));
  same(A.cLui(7, 0x1f000), A.lui(7, 0x1f000));
  same(A.cAddi16sp(-512), A.addi(2, 2, -512));
  same(A.cAddi16sp(496), A.addi(2, 2, 496));
  same(A.cAddi16sp(0x150), A.addi(2, 2, 0x150));
  same(A.cSrli(8, 31), A.srli(8, 8, 31));
  same(A.cSrai(9, 1), A.srai(9, 9, 1));
  same(A.cAndi(10, -1), A.andi(10, 10, -1));
  same(A.cAndi(10, 21), A.andi(10, 10, 21));
  same(A.cSub(8, 9), A.sub(8, 8, 9));
  same(A.cXor(10, 11), A.xor(10, 10, 11));
  same(A.cOr(12, 13), A.or(12, 12, 13));
  same(A.cAnd(14, 15), A.and(14, 14, 15));
  same(A.cJ(1234), A.jal(0, 1234));
  same(A.cJ(-2), A.jal(0, -2));
  same(A.cBeqz(8, -256), A.beq(8, 0, -256));
  same(A.cBeqz(9, 0xaa), A.beq(9, 0, 0xaa));
  same(A.cBnez(15, 254), A.bne(15, 0, 254));
});

compressed('quadrant 2', () => {
  same(A.cSlli(31, 31), A.slli(31, 31, 31));
  same(A.cLwsp(1, 252), A.lw(1, 2, 252));
  same(A.cLwsp(5, 0x54), A.lw(5, 2, 0x54));
  same(A.cSwsp(31, 252), A.sw(31, 2, 252));
  same(A.cSwsp(3, 0xa8), A.sw(3, 2, 0xa8));
  same(A.cJr(5), A.jalr(0, 5, 0));
  same(A.cMv(5, 6), A.add(5, 0, 6));
  same(A.cEbreak(), A.ebreak());
  same(A.cJalr(7), A.jalr(1, 7, 0));
  same(A.cAdd(8, 9), A.add(8, 8, 9));
});

compressed('hints decode as their (harmless) base operations', () => {
  same(A.cAddi(0, 5), A.addi(0, 0, 5)); // c.nop with imm != 0
  same(A.cAddi(5, 0), A.addi(5, 5, 0));
  same(A.cLi(0, 3), A.addi(0, 0, 3));
  same(A.cLui(0, 0x1000), A.lui(0, 0x1000));
  same(A.cMv(0, 5), A.add(0, 0, 5));
  same(A.cAdd(0, 5), A.add(0, 0, 5));
  same(A.cSlli(0, 3), A.slli(0, 0, 3));
  same(A.cSlli(3, 0), A.slli(3, 3, 0));
  same(A.cSrli(8, 0), A.srli(8, 8, 0));
});

compressed.run();

const reservedC = suite('decode: reserved and unsupported compressed encodings are illegal (16-bit mtval)');

reservedC('each reserved form', () => {
  const cases: [number, string][] = [
    [0x0000, 'all-zero parcel'],
    [word(A.cAddi4spn(8, 4)) & ~0x1fe0, 'c.addi4spn with nzuimm = 0'],
    [0x2000, 'c.fld'],
    [0x6000, 'c.flw'],
    [0x8000, 'quadrant 0 funct3 4 (reserved)'],
    [0xa000, 'c.fsd'],
    [0xe000, 'c.fsw'],
    [0x6101, 'c.addi16sp with nzimm = 0'],
    [0x6281, 'c.lui with nzimm = 0'],
    [word(A.cSrli(8, 1)) | 0x1000, 'c.srli with shamt[5] (RV32)'],
    [word(A.cSrai(8, 1)) | 0x1000, 'c.srai with shamt[5] (RV32)'],
    [0x9c01, 'c.subw (RV64)'],
    [0x9c21, 'c.addw (RV64)'],
    [0x9c41, 'reserved misc-alu'],
    [0x9c61, 'reserved misc-alu'],
    [word(A.cSlli(5, 1)) | 0x1000, 'c.slli with shamt[5] (RV32)'],
    [0x2002, 'c.fldsp'],
    [0x4002 | (0 << 7) | (4 << 4), 'c.lwsp with rd = 0'],
    [0x6002, 'c.flwsp'],
    [0x8002, 'c.jr with rs1 = 0'],
    [0xa002, 'c.fsdsp'],
    [0xe002, 'c.fswsp'],
  ];
  for (const [h, what] of cases) {
    const d = decode(h);
    assert.is(d.name, '(illegal)', what);
    assert.is(d.imm, h, `${what}: imm holds the 16 bits`);
    assert.is(d.length, 2, what);
  }
});

reservedC('rv32ima makes every 16-bit encoding illegal', () => {
  for (const c of [A.cNop(), A.cAddi(5, 1), A.cJ(4), A.cEbreak(), A.cLwsp(1, 4)]) {
    const d = decode(word(c), 'rv32ima');
    assert.is(d.name, '(illegal)');
    assert.is(d.imm, word(c));
    assert.is(d.length, 2);
  }
  assert.is(decode(A.addi(1, 2, 3), 'rv32ima').name, 'addi');
});

reservedC.run();
