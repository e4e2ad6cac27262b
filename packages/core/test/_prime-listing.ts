// The priming program's listing: src/cpu/prime.ts holds its machine code, prime.test.ts
// assembles this listing and compares. One turn of its loop runs every case of the hart's
// fast path: all ALU, M, load and store kinds, the fused pairs, near and far branches (taken
// and not), near and far jal and jalr, compressed forms. The operands x7 and x8 change sign
// every turn, so every case also meets values at and above 2^31 unsigned.
import * as A from './_asm.ts';

/** Before the loop: x7 = 100, x8 = 3 (negated every turn), x20 = 100 (block 1's branches). */
const prologue = [A.addi(7, 0, 100), A.addi(8, 0, 3), A.addi(20, 0, 100)];
/** The loop's first instruction, after the prologue. */
export const START = 12;

const body: (A.Insn | A.Insn[])[] = [
  A.lui(5, 0x1000), // x5 = the data page
  A.auipc(6, 0),
  A.slti(9, 7, 5), A.sltiu(9, 7, 5), A.xori(9, 7, 3), A.ori(9, 7, 3), A.andi(9, 7, 3),
  A.slli(9, 7, 3), A.srli(9, 7, 1), A.srai(9, 7, 1),
  A.add(9, 7, 8), A.sub(9, 7, 8), A.sll(9, 7, 8), A.slt(9, 7, 8), A.sltu(9, 7, 8), A.xor(9, 7, 8),
  A.srl(9, 7, 8), A.sra(9, 7, 8), A.or(9, 7, 8), A.and(9, 7, 8),
  A.mul(9, 7, 8), A.mulh(9, 7, 8), A.mulhsu(9, 7, 8), A.mulhu(9, 7, 8),
  A.div(9, 7, 8), A.divu(9, 7, 8), A.rem(9, 7, 8), A.remu(9, 7, 8),
  A.div(9, 7, 0), A.divu(9, 7, 0), A.rem(9, 7, 0), A.remu(9, 7, 0), // by zero
  A.lui(18, 0x80000), A.addi(19, 0, -1), A.div(9, 18, 19), A.rem(9, 18, 19), // -2^31 / -1
  A.sw(7, 5, 0), A.sh(7, 5, 4), A.sb(7, 5, 6),
  A.lw(9, 5, 0), A.lh(9, 5, 4), A.lhu(9, 5, 4), A.lb(9, 5, 6), A.lbu(9, 5, 6),
  A.fence(),
  // the fused pairs
  A.addi(10, 10, 1), A.addi(11, 11, 1),
  A.lw(12, 5, 0), A.lw(13, 5, 0),
  A.lh(12, 5, 4), A.lh(13, 5, 4),
  A.mul(12, 7, 8), A.add(13, 12, 7),
  A.add(14, 7, 8), A.bne(14, 0, 4),
  A.addi(15, 0, 1), A.bne(15, 0, 4),
  A.addi(15, 0, 0), A.bne(15, 0, 4), // a fused bne not taken
  // near branches, taken and not
  A.beq(0, 0, 4), A.beq(7, 0, 4),
  A.bne(7, 0, 4), A.bne(0, 0, 4),
  A.blt(0, 7, 4), A.blt(7, 0, 4),
  A.bge(7, 0, 4), A.bge(0, 7, 4),
  A.bltu(0, 7, 4), A.bltu(7, 0, 4),
  A.bgeu(7, 0, 4), A.bgeu(0, 7, 4),
  // compressed forms (2-byte instructions)
  A.cAddi(10, 1), A.cLi(11, 3), A.cMv(12, 11), A.cBnez(11, 2),
  // near jal and jalr
  A.jal(1, 4),
  A.auipc(16, 0), A.jalr(1, 16, 8),
  // the other sign next turn
  A.sub(7, 0, 7), A.sub(8, 0, 8),
];

/**
 * The program: block 0 at RAM offset 0, block 1 at 0x400 (another 1 KiB decode block).
 * Block 1 runs every far branch not taken, then every far branch taken: each lands on a
 * stub after block 0's loop that jumps back to the next one (the first stub with a far
 * jalr, the others with a far jal); the last jal back to the loop's start is far too.
 */
export function primeListing(): { block0: Uint8Array; block1: Uint8Array } {
  const main = A.program(...prologue, ...body);
  const jalAt = main.length;
  const stubAt = jalAt + 4;
  const T = 0x418; // block 1's first taken branch
  const back = T + 6 * 4; // block 1's jal back to the start
  const next = (i: number) => (i < 5 ? T + 4 * (i + 1) : back);
  const stubs = [0, 1, 2, 3, 4, 5].map((i) => (i === 0 ? A.jalr(0, 0, next(0)) : A.jal(0, next(i) - (stubAt + 4 * i))));
  const block0 = A.program(...prologue, ...body, A.jal(0, 0x400 - jalAt), ...stubs);
  const far = (i: number) => stubAt + 4 * i - (T + 4 * i);
  const block1 = A.program(
    // not taken (x20 = 100)
    A.beq(20, 0, -0x400), A.bne(0, 0, -0x400), A.blt(20, 0, -0x400),
    A.bge(0, 20, -0x400), A.bltu(20, 0, -0x400), A.bgeu(0, 20, -0x400),
    // taken
    A.beq(0, 0, far(0)), A.bne(20, 0, far(1)), A.blt(0, 20, far(2)),
    A.bge(20, 0, far(3)), A.bltu(0, 20, far(4)), A.bgeu(20, 0, far(5)),
    A.jal(0, START - back),
  );
  return { block0, block1 };
}
