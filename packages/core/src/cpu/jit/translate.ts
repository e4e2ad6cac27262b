/**
 * Translation of one guest code region (a 4 KiB RAM page) into the source of
 * a JavaScript function. Pure: RAM bytes in, source text out; `region.ts`
 * turns it into a function.
 *
 * Shape of the generated function (see shared/PERF-NOTES.md for why):
 *
 *   function (lim, pc) {          // lim: instructions allowed, pc: entry
 *     let r1 = x[1] | 0, ...;     // guest registers used by the region, in locals
 *     let n = 0, b = DISPATCH;
 *     out: for (;;) switch (b) {
 *       case DISPATCH: switch ((pc - BASE) | 0) { case 0x40: b = 3; continue out; ... }
 *       case 3: if (n > lim - 5) { exit BUDGET at the block start } ...5 instructions...; n += 5;
 *               if (r10 !== r11) { b = 3; continue out; } b = 4; continue out;
 *       ...
 *     }
 *     x[10] = r10; ...; st[0] = reason; st[1] = pc; return n;
 *   }
 *
 * Loops inside the region never leave the function, so V8 keeps the guest
 * registers in machine registers. Exactness rules:
 * - a block runs only if all of it fits in `lim` (else exit BUDGET at its start);
 * - anything the fast path cannot do (a load or store outside plain RAM, a
 *   store into a page with flags set, a misaligned access, a system, CSR,
 *   atomic or illegal instruction, a misaligned jump target) exits with
 *   SLOW and pc at that instruction, before any of its effects, and the
 *   interpreter executes it — so traps and device side effects come from one
 *   implementation and are identical by construction.
 */

import { decodeTo } from '../decode.ts';

/** Exit reasons written to st[0]. */
export const EXIT_JUMP = 0; // pc left the region: look up the next one
export const EXIT_SLOW = 1; // the interpreter must execute the instruction at pc
export const EXIT_MISS = 2; // pc is inside the region but not a known block start
export const EXIT_BUDGET = 3; // the next block does not fit in lim

export const REGION_SHIFT = 10;
export const REGION_BYTES = 1 << REGION_SHIFT;

/** Caps on one region's translation: blocks and instructions per block. */
const MAX_BLOCKS = 512;
const MAX_BLOCK_INSNS = 128;

export interface RamLayout {
  ram: Uint8Array;
  ramBase: number;
  ramSize: number;
  allowC: boolean;
}

interface Insn {
  pc: number;
  op: number;
  rd: number;
  rs1: number;
  rs2: number;
  imm: number;
  len: number;
}

interface Block {
  id: number;
  pc: number;
  insns: Insn[];
  /** How the block ends: 'slow' (exit at `endPc`), 'fall' (continue at endPc), or a control transfer (last insn). */
  end: 'slow' | 'fall' | 'cti';
  endPc: number;
}

// Op ids (ops.ts), as literals in the generated text.
const OP = {
  LUI: 2, AUIPC: 3, JAL: 4, JALR: 5, BEQ: 6, BNE: 7, BLT: 8, BGE: 9, BLTU: 10, BGEU: 11,
  LB: 12, LH: 13, LW: 14, LBU: 15, LHU: 16, SB: 17, SH: 18, SW: 19,
  ADDI: 20, SLTI: 21, SLTIU: 22, XORI: 23, ORI: 24, ANDI: 25, SLLI: 26, SRLI: 27, SRAI: 28,
  ADD: 29, SUB: 30, SLL: 31, SLT: 32, SLTU: 33, XOR: 34, SRL: 35, SRA: 36, OR: 37, AND: 38,
  FENCE: 39, MUL: 51, MULH: 52, MULHSU: 53, MULHU: 54, DIV: 55, DIVU: 56, REM: 57, REMU: 58,
} as const;

/** Ops the translator handles; everything else ends the block with a SLOW exit. */
function compilable(op: number): boolean {
  return (op >= OP.LUI && op <= OP.SRA + 2) || op === OP.FENCE || (op >= OP.MUL && op <= OP.REMU);
}

function isCti(op: number): boolean {
  return op >= OP.JAL && op <= OP.BGEU;
}

export interface Translation {
  source: string;
  blocks: number;
  instructions: number;
  /** Jump targets outside the region (hints for other regions' entry points). */
  external: number[];
  /** RAM offsets [lo, hi) spanned by the translated instructions (lo = hi = 0 if none). */
  lo: number;
  hi: number;
}

const scratch = /* @__PURE__ */ new Int32Array(2);

/**
 * Translate the region at RAM offset `regionOff`: blocks start at `entries`
 * (guest addresses inside it that execution has reached) and at the direct
 * branch targets and call return points that `hasRun` says have executed,
 * plus the continuations of blocks cut by the length cap or by an
 * instruction left to the interpreter.
 */
export function translate(
  mem: RamLayout,
  regionOff: number,
  entries: Iterable<number>,
  hasRun: (pc: number) => boolean = () => true,
): Translation {
  const base = (mem.ramBase + regionOff) | 0;
  const regionEnd = Math.min(regionOff + REGION_BYTES, mem.ramSize);
  const tmask = mem.allowC ? 1 : 3;
  const inRegion = (pc: number): boolean => ((pc - base) >>> 0) < regionEnd - regionOff && (pc & tmask) === 0;

  const byPc = new Map<number, Block>();
  const order: Block[] = [];
  const work: number[] = [];
  const external: number[] = [];
  const want = (pc: number): void => {
    pc |= 0;
    if (inRegion(pc) && !byPc.has(pc) && order.length + work.length < MAX_BLOCKS) work.push(pc);
  };
  // Static targets outside the region are hints for other regions' entries; inside it,
  // a target that is not yet an entry exits with EXIT_MISS and becomes one when it is
  // reached (so a translation holds only code that has run, which keeps V8's compile
  // of it short and its type feedback complete).
  const note = (pc: number): void => {
    if (!inRegion(pc | 0)) external.push(pc >>> 0);
    else if (hasRun(pc)) want(pc);
  };
  for (const e of entries) want(e);

  while (work.length > 0) {
    const start = work.pop()!;
    if (byPc.has(start)) continue;
    const blk: Block = { id: order.length, pc: start, insns: [], end: 'fall', endPc: start };
    byPc.set(start, blk);
    order.push(blk);
    let pc = start;
    for (;;) {
      if (blk.insns.length >= MAX_BLOCK_INSNS || !inRegion(pc)) {
        blk.end = 'fall';
        blk.endPc = pc;
        if (inRegion(pc)) want(pc);
        break;
      }
      const insn = fetch(mem, base, regionEnd - regionOff, pc);
      if (insn === null || !compilable(insn.op) || !targetOk(insn, tmask)) {
        blk.end = 'slow';
        blk.endPc = pc;
        // After the interpreter has executed it, execution usually goes on just past it.
        if (insn !== null && !isCti(insn.op) && blk.insns.length > 0) want(pc + insn.len);
        break;
      }
      blk.insns.push(insn);
      const next = (pc + insn.len) | 0;
      if (isCti(insn.op)) {
        blk.end = 'cti';
        blk.endPc = next;
        if (insn.op === OP.JAL || insn.op === OP.JALR) {
          if (insn.op === OP.JAL) note(pc + insn.imm);
          // A call's return point: the callee's jalr comes back there.
          if (insn.rd !== 0) note(next);
        } else {
          note(pc + insn.imm);
          note(next);
        }
        break;
      }
      pc = next;
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of order) {
    for (const i of b.insns) {
      const off = (i.pc - mem.ramBase) >>> 0;
      if (off < lo) lo = off;
      if (off + i.len > hi) hi = off + i.len;
    }
  }
  if (lo > hi) lo = hi = 0;
  const source = emit(order, byPc, base, regionEnd - regionOff, mem);
  return { source, blocks: order.length, instructions: count(order), external, lo, hi };
}

function count(blocks: Block[]): number {
  let n = 0;
  for (const b of blocks) n += b.insns.length;
  return n;
}

/** A static jump target must be aligned for the ISA, else the interpreter raises the trap. */
function targetOk(insn: Insn, tmask: number): boolean {
  if (insn.op === OP.JALR || !isCti(insn.op)) return true;
  return (((insn.pc + insn.imm) | 0) & tmask & 2) === 0;
}

/** Decode the instruction at `pc`; null if it does not lie wholly inside the region. */
function fetch(mem: RamLayout, base: number, size: number, pc: number): Insn | null {
  const rel = (pc - base) >>> 0;
  if (rel + 2 > size) return null;
  const off = (pc - mem.ramBase) >>> 0;
  const r = mem.ram;
  let word = r[off]! | (r[off + 1]! << 8);
  if ((word & 3) === 3) {
    if (rel + 4 > size) return null;
    word |= (r[off + 2]! << 16) | (r[off + 3]! << 24);
  }
  decodeTo(word, mem.allowC, scratch);
  const p = scratch[0]!;
  return {
    pc: pc | 0, op: p & 0xff, rd: (p >>> 8) & 31, rs1: (p >>> 14) & 31, rs2: (p >>> 19) & 31,
    imm: scratch[1]!, len: p >>> 24,
  };
}

function emit(blocks: Block[], byPc: Map<number, Block>, base: number, size: number, mem: RamLayout): string {
  const used = new Set<number>();
  const written = new Set<number>();
  for (const b of blocks) {
    for (const i of b.insns) {
      if (i.rs1 !== 0) used.add(i.rs1);
      if (i.rs2 !== 0) used.add(i.rs2);
      if (writesRd(i.op) && i.rd !== 0) {
        used.add(i.rd);
        written.add(i.rd);
      }
    }
  }
  const dispatch = blocks.length;
  const lit = (v: number): string => String(v | 0);
  const words = mem.ramSize >>> 2;
  const halves = mem.ramSize >>> 1;
  const rb = lit(mem.ramBase);
  const out: string[] = [];
  const regs = [...used].sort((a, b) => a - b);
  out.push('"use strict";');
  out.push('return function region(lim, pc) {');
  if (regs.length > 0) out.push(`let ${regs.map((r) => `r${r} = x[${r}] | 0`).join(', ')};`);
  out.push(`let n = 0, b = ${dispatch}, why = ${EXIT_JUMP};`);
  out.push('out: for (;;) {');
  out.push('switch (b) {');
  for (const blk of blocks) {
    out.push(`case ${blk.id}: {`);
    const k = blk.insns.length;
    if (k === 0) {
      out.push(`pc = ${lit(blk.pc)}; why = ${EXIT_SLOW}; break out; }`);
      continue;
    }
    out.push(`if (n > lim - ${k}) { pc = ${lit(blk.pc)}; why = ${EXIT_BUDGET}; break out; }`);
    for (let j = 0; j < k; j++) {
      const i = blk.insns[j]!;
      if (isCti(i.op)) {
        if (i.op === OP.JALR && !mem.allowC) {
          // Without C a target with bit 1 set traps at the jalr: the interpreter raises it.
          out.push(`if (((${i.rs1 === 0 ? '0' : `r${i.rs1}`} + ${i.imm | 0}) & 2) !== 0) ` +
            `{ n = (n + ${j}) | 0; pc = ${lit(i.pc)}; why = ${EXIT_SLOW}; break out; }`);
        }
        out.push(`n = (n + ${k}) | 0;`);
        out.push(cti(i, byPc, dispatch, base, size));
      } else {
        out.push(plain(i, j, words, halves, mem.ramSize, rb));
      }
    }
    if (blk.end !== 'cti') {
      out.push(`n = (n + ${k}) | 0;`);
      out.push(blk.end === 'slow' ? `pc = ${lit(blk.endPc)}; why = ${EXIT_SLOW}; break out;` : goto(blk.endPc, byPc, base, size));
    }
    out.push('}');
  }
  // Dynamic entry (function entry and in-region jalr targets): pc -> block.
  out.push(`case ${dispatch}: switch ((pc - ${lit(base)}) | 0) {`);
  for (const blk of blocks) out.push(`case ${(blk.pc - base) | 0}: b = ${blk.id}; continue out;`);
  out.push(`default: why = ((pc - ${lit(base)}) >>> 0) < ${size} ? ${EXIT_MISS} : ${EXIT_JUMP}; break out;`);
  out.push('}');
  out.push('}');
  out.push('}');
  for (const r of [...written].sort((a, b) => a - b)) out.push(`x[${r}] = r${r};`);
  out.push('st[0] = why; st[1] = pc; return n;');
  out.push('};');
  return out.join('\n');
}

function writesRd(op: number): boolean {
  return !(op >= OP.BEQ && op <= OP.BGEU) && !(op >= OP.SB && op <= OP.SW) && op !== OP.FENCE;
}

/** Continue at a static target: a block of this region, or leave the function. */
function goto(pc: number, byPc: Map<number, Block>, base: number, size: number): string {
  const t = byPc.get(pc | 0);
  if (t !== undefined) return `b = ${t.id}; continue out;`;
  const why = ((pc - base) >>> 0) < size ? EXIT_MISS : EXIT_JUMP;
  return `pc = ${pc | 0}; why = ${why}; break out;`;
}

function cti(i: Insn, byPc: Map<number, Block>, dispatch: number, base: number, size: number): string {
  const r = (n: number): string => (n === 0 ? '0' : `r${n}`);
  const next = (i.pc + i.len) | 0;
  const target = (i.pc + i.imm) | 0;
  switch (i.op) {
    case OP.JAL:
      return `${i.rd !== 0 ? `r${i.rd} = ${next}; ` : ''}${goto(target, byPc, base, size)}`;
    case OP.JALR: {
      // The target is read before rd is written (rd may equal rs1); the dispatch case
      // finds its block or leaves the function.
      const set = i.rd !== 0 ? `r${i.rd} = ${next}; ` : '';
      return `pc = (${r(i.rs1)} + ${i.imm | 0}) & -2; ${set}b = ${dispatch}; continue out;`;
    }
    default: {
      const a = r(i.rs1);
      const b = r(i.rs2);
      let cond: string;
      switch (i.op) {
        case OP.BEQ: cond = `${a} === ${b}`; break;
        case OP.BNE: cond = `${a} !== ${b}`; break;
        case OP.BLT: cond = `${a} < ${b}`; break;
        case OP.BGE: cond = `${a} >= ${b}`; break;
        case OP.BLTU: cond = `(${a} >>> 0) < (${b} >>> 0)`; break;
        default: cond = `(${a} >>> 0) >= (${b} >>> 0)`; break;
      }
      return `if (${cond}) { ${goto(target, byPc, base, size)} }\n${goto(next, byPc, base, size)}`;
    }
  }
}

/** A non-control-transfer instruction at index `j` of its block. */
function plain(i: Insn, j: number, words: number, halves: number, ramSize: number, rb: string): string {
  const r = (n: number): string => (n === 0 ? '0' : `r${n}`);
  const a = r(i.rs1);
  const b = r(i.rs2);
  const imm = i.imm | 0;
  const d = i.rd;
  const set = (expr: string): string => (d === 0 ? '' : `r${d} = ${expr};`);
  // Leave before the instruction: the interpreter executes it (and raises any trap).
  const slow = `{ n = (n + ${j}) | 0; pc = ${i.pc | 0}; why = ${EXIT_SLOW}; break out; }`;
  switch (i.op) {
    case OP.LUI: return set(String(imm));
    case OP.AUIPC: return set(String((i.pc + imm) | 0));
    case OP.ADDI: return set(`(${a} + ${imm}) | 0`);
    case OP.SLTI: return set(`${a} < ${imm} ? 1 : 0`);
    case OP.SLTIU: return set(`(${a} >>> 0) < ${imm >>> 0} ? 1 : 0`);
    case OP.XORI: return set(`${a} ^ ${imm}`);
    case OP.ORI: return set(`${a} | ${imm}`);
    case OP.ANDI: return set(`${a} & ${imm}`);
    case OP.SLLI: return set(`${a} << ${imm}`);
    case OP.SRLI: return set(`(${a} >>> ${imm}) | 0`);
    case OP.SRAI: return set(`${a} >> ${imm}`);
    case OP.ADD: return set(`(${a} + ${b}) | 0`);
    case OP.SUB: return set(`(${a} - ${b}) | 0`);
    case OP.SLL: return set(`${a} << ${b}`);
    case OP.SLT: return set(`${a} < ${b} ? 1 : 0`);
    case OP.SLTU: return set(`(${a} >>> 0) < (${b} >>> 0) ? 1 : 0`);
    case OP.XOR: return set(`${a} ^ ${b}`);
    case OP.SRL: return set(`(${a} >>> ${b}) | 0`);
    case OP.SRA: return set(`${a} >> ${b}`);
    case OP.OR: return set(`${a} | ${b}`);
    case OP.AND: return set(`${a} & ${b}`);
    case OP.FENCE: return '';
    case OP.MUL: return set(`Math.imul(${a}, ${b})`);
    case OP.MULH: return set(`mulh(${a}, ${b})`);
    case OP.MULHSU: return set(`mulhsu(${a}, ${b})`);
    case OP.MULHU: return set(`mulhu(${a}, ${b})`);
    // Division by zero gives -1 (quotient) or the dividend (remainder); -2^31 / -1 gives -2^31.
    case OP.DIV: return set(`${b} === 0 ? -1 : (${a} / ${b}) | 0`);
    case OP.DIVU: return set(`${b} === 0 ? -1 : ((${a} >>> 0) / (${b} >>> 0)) | 0`);
    case OP.REM: return set(`${b} === 0 ? ${a} : (${a} % ${b}) | 0`);
    case OP.REMU: return set(`${b} === 0 ? ${a} : ((${a} >>> 0) % (${b} >>> 0)) | 0`);
    case OP.LW:
      // Rotating the alignment bits to the top folds alignment and range into one compare.
      return `{ const o = ((${a} + ${imm}) - ${rb}) >>> 0, k = ((o >>> 2) | (o << 30)) >>> 0; ` +
        `if (k >= ${words}) ${slow} ${set('ram32[k]')} }`;
    case OP.LH:
    case OP.LHU:
      return `{ const o = ((${a} + ${imm}) - ${rb}) >>> 0, k = ((o >>> 1) | (o << 31)) >>> 0; ` +
        `if (k >= ${halves}) ${slow} ${set(i.op === OP.LH ? '(ram16[k] << 16) >> 16' : 'ram16[k] & 65535')} }`;
    case OP.LB:
    case OP.LBU:
      return `{ const o = ((${a} + ${imm}) - ${rb}) >>> 0; ` +
        `if (o >= ${ramSize}) ${slow} ${set(i.op === OP.LB ? '(ram[o] << 24) >> 24' : 'ram[o]')} }`;
    case OP.SW:
      return `{ const o = ((${a} + ${imm}) - ${rb}) >>> 0, k = ((o >>> 2) | (o << 30)) >>> 0; ` +
        `if (k >= ${words} || pf[o >>> 12] !== 0) ${slow} ram32[k] = ${b}; }`;
    case OP.SH:
      return `{ const o = ((${a} + ${imm}) - ${rb}) >>> 0, k = ((o >>> 1) | (o << 31)) >>> 0; ` +
        `if (k >= ${halves} || pf[o >>> 12] !== 0) ${slow} ram16[k] = ${b}; }`;
    case OP.SB:
      return `{ const o = ((${a} + ${imm}) - ${rb}) >>> 0; ` +
        `if (o >= ${ramSize} || pf[o >>> 12] !== 0) ${slow} ram[o] = ${b}; }`;
    default:
      throw new Error(`translate: op ${i.op} is not compilable`);
  }
}
