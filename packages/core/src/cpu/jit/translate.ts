/**
 * Translation of one guest code region (512 bytes of RAM) into the source of a
 * function. Pure: RAM bytes in, source text out; compiler.ts turns it into a
 * function with `new Function`. Two forms: plain JavaScript (the default), a
 * function of the RAM views that holds no state of any VM, and an asm.js module
 * ("use asm") that views its heap itself.
 *
 * Shape of the generated code (see shared/PERF-NOTES.md for why):
 *
 *   function region(ram, ram16, ram32, lim, pc, r1, ..., r31) {  // lim: instructions allowed, pc: entry
 *     var n = 0, b = 0, why = 0, o = 0, d = 0;
 *     b = DISPATCH;
 *     out: while (1) switch (b | 0) {
 *       case 3: if ((n | 0) > ((lim - 5) | 0)) { pc = <start>; why = BUDGET; break out; }
 *               ...5 instructions...; n = (n + 5) | 0;
 *               if ((r10 | 0) != (r11 | 0)) { b = 3; continue out; } b = 4; continue out;
 *       case DISPATCH: switch ((pc - BASE) | 0) { case 0x40: b = 3; continue out; ... }
 *     }
 *     n = (n + d) | 0; done(why, pc, r1, ..., r31); return n | 0;
 *   }
 *
 * Loops inside the function never leave it, so V8 keeps the guest registers
 * in machine registers. Exactness rules:
 * - a block runs only if all of it fits in `lim` (else exit BUDGET at its start);
 * - anything the fast path cannot do (a load or store outside plain RAM, a
 *   store into a page with flags set, a misaligned access, a system, CSR,
 *   atomic or illegal instruction, a misaligned jump target) exits with
 *   SLOW and pc at that instruction, before any of its effects, and the
 *   interpreter executes it, so traps and device side effects come from one
 *   implementation and are identical by construction.
 */

import { decodeTo } from '../decode.ts';
import { PAGE_CODE } from '../../memory/bus.ts';

/** Exit reasons written to st[0]. */
export const EXIT_JUMP = 0; // pc left the region: look up the next one
export const EXIT_SLOW = 1; // the interpreter must execute the instruction at pc
export const EXIT_MISS = 2; // pc is inside the region but not a known block start
export const EXIT_BUDGET = 3; // the next block does not fit in lim

export const REGION_SHIFT = 9;
export const REGION_BYTES = 1 << REGION_SHIFT;

/** Caps on one region's translation: blocks and instructions per block. */
const MAX_BLOCKS = 512;
const MAX_BLOCK_INSNS = 128;
/** Instructions from outside the region one translation may take in. */
const MAX_INSNS = 512;

export interface RamLayout {
  ram: Uint8Array;
  ramBase: number;
  ramSize: number;
  allowC: boolean;
  /** Byte offset of `ram` in its buffer (asm.js code views the whole buffer). */
  heapOffset: number;
  /** The bus's page flags at translation time: stores into flagged pages go to the interpreter. */
  pageFlags: Uint8Array;
  /** Emit "use asm" (the buffer is a valid asm.js heap). */
  asm: boolean;
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

  // Code outside the region joins the translation when a direct branch or fall-through
  // reaches it and it has run (a loop or a call that crosses the region's edge then stays
  // inside one function): it must lie in a page flagged PAGE_CODE, so stores to it reach
  // invalidate().
  const flags = mem.pageFlags;
  const inRam = (pc: number): boolean => ((pc - mem.ramBase) >>> 0) < mem.ramSize && (pc & tmask) === 0;
  const codeAt = (pc: number): boolean =>
    inRegion(pc) || (inRam(pc) && (flags[((pc - mem.ramBase) >>> 0) >>> 12]! & PAGE_CODE) !== 0);
  let budget = MAX_INSNS;

  const byPc = new Map<number, Block>();
  const order: Block[] = [];
  const work: number[] = [];
  const external: number[] = [];
  const want = (pc: number): void => {
    pc |= 0;
    if (codeAt(pc) && !byPc.has(pc) && order.length + work.length < MAX_BLOCKS) work.push(pc);
  };
  // Inside the region, a target that has not run exits with EXIT_MISS and becomes an entry
  // when it is reached, so a translation holds only code that has run (which keeps V8's
  // compile of it short and its type feedback complete). Targets elsewhere that have not
  // run are hints for their own regions' entries.
  const note = (pc: number): void => {
    pc |= 0;
    if (hasRun(pc) && (inRegion(pc) || budget > 0)) want(pc);
    else if (!inRegion(pc)) external.push(pc >>> 0);
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
      if (blk.insns.length >= MAX_BLOCK_INSNS || !codeAt(pc)) {
        blk.end = 'fall';
        blk.endPc = pc;
        want(pc);
        break;
      }
      const insn = fetch(mem, pc);
      if (insn === null || !compilable(insn.op) || !targetOk(insn, tmask)) {
        blk.end = 'slow';
        blk.endPc = pc;
        // After the interpreter has executed it, execution usually goes on just past it.
        if (insn !== null && !isCti(insn.op) && blk.insns.length > 0) want(pc + insn.len);
        break;
      }
      blk.insns.push(insn);
      if (!inRegion(pc)) budget--;
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

/**
 * Decode the instruction at `pc`; null if it crosses a 4 KiB page boundary or
 * the end of RAM (the interpreter handles those: invalidation works per page).
 */
function fetch(mem: RamLayout, pc: number): Insn | null {
  const off = (pc - mem.ramBase) >>> 0;
  const r = mem.ram;
  if (off + 2 > mem.ramSize) return null;
  let word = r[off]! | (r[off + 1]! << 8);
  if ((word & 3) === 3) {
    if (off + 4 > mem.ramSize || ((off + 2) & 0xfff) === 0) return null;
    word |= (r[off + 2]! << 16) | (r[off + 3]! << 24);
  }
  decodeTo(word, mem.allowC, scratch);
  const p = scratch[0]!;
  return {
    pc: pc | 0, op: p & 0xff, rd: (p >>> 8) & 31, rs1: (p >>> 14) & 31, rs2: (p >>> 19) & 31,
    imm: scratch[1]!, len: p >>> 24,
  };
}

/** An int32 constant as an asm.js `signed` expression. */
function k32(v: number): string {
  v |= 0;
  return v >= 0 ? String(v) : `(${v >>> 0} | 0)`;
}

/** `reg + imm` as an asm.js `signed` expression. */
function addImm(reg: string, imm: number): string {
  imm |= 0;
  if (imm === 0) return `${reg} | 0`;
  return imm > 0 ? `(${reg} + ${imm}) | 0` : `(${reg} - ${-imm}) | 0`;
}

function emit(blocks: Block[], byPc: Map<number, Block>, base: number, size: number, mem: RamLayout): string {
  const c: Ctx = {
    byPc, base, size, dispatch: blocks.length,
    words: mem.ramSize >>> 2, halves: mem.ramSize >>> 1, ramSize: mem.ramSize,
    rb: mem.ramBase | 0, heapOff: mem.asm ? mem.heapOffset : 0, flagged: flaggedRanges(mem.pageFlags),
  };
  const out: string[] = [];
  const regs: string[] = [];
  for (let i = 1; i < 32; i++) regs.push(`r${i}`);
  if (mem.asm) {
    // An asm.js module: views of the whole heap, helpers from `foreign`.
    out.push('"use asm";');
    out.push('var ram = new stdlib.Uint8Array(heap);');
    out.push('var ram16 = new stdlib.Int16Array(heap);');
    out.push('var ram32 = new stdlib.Int32Array(heap);');
    out.push('var imul = stdlib.Math.imul;');
    out.push('var done = foreign.done;');
    out.push('var mulh = foreign.mulh;');
    out.push('var mulhsu = foreign.mulhsu;');
    out.push('var mulhu = foreign.mulhu;');
    out.push(`function region(lim, pc, ${regs.join(', ')}) {`);
  } else {
    // Plain JavaScript: the RAM views are arguments, so the function holds nothing
    // of one VM and every hart running the same code shares it (and V8's feedback
    // and optimized code for it).
    out.push('var imul = Math.imul;');
    out.push('var done = foreign.done;');
    out.push('var mulh = foreign.mulh;');
    out.push('var mulhsu = foreign.mulhsu;');
    out.push('var mulhu = foreign.mulhu;');
    out.push(`function region(ram, ram16, ram32, lim, pc, ${regs.join(', ')}) {`);
  }
  out.push('lim = lim | 0; pc = pc | 0;');
  out.push(regs.map((r) => `${r} = ${r} | 0;`).join(' '));
  // d: instructions of the current block retired before a mid-block exit. Set as a
  // constant and added once after the loop, so exit paths that have not run yet need
  // no type feedback (V8 would deoptimize on their first use).
  out.push(`var n = 0, b = 0, why = 0, o = 0, d = 0;`);
  out.push(`b = ${c.dispatch};`);
  out.push('out: while (1) {');
  // Plain JavaScript lays the blocks out in address order and lets a block run on into
  // the next case when that is where it continues (a not-taken branch, a block cut by the
  // length cap): no trip through the dispatch switch. asm.js has no switch here (see
  // dispatchOn), so every transition goes through `b`.
  const layout = mem.asm ? blocks : [...blocks].sort((x, y) => x.pc - y.pc);
  const arms: [number, string][] = [];
  for (let at = 0; at < layout.length; at++) {
    const blk = layout[at]!;
    const fallTo = mem.asm ? undefined : layout[at + 1]?.pc;
    const body: string[] = [];
    const k = blk.insns.length;
    if (k === 0) {
      arms.push([blk.id, `pc = ${k32(blk.pc)}; why = ${EXIT_SLOW}; break out;`]);
      continue;
    }
    const budget = `if ((n | 0) > ((lim - ${k}) | 0)) { pc = ${k32(blk.pc)}; why = ${EXIT_BUDGET}; break out; }`;
    if (selfLoop(blk)) {
      // A one-block loop iterates in a JavaScript loop of its own, without the dispatch switch.
      const last = blk.insns[k - 1]!;
      body.push('for (;;) {', budget);
      for (let j = 0; j < k - 1; j++) body.push(plain(blk.insns[j]!, j, c));
      body.push(`n = (n + ${k}) | 0;`, `if (!(${taken(last)})) break;`, '}');
      const next = (last.pc + last.len) | 0;
      if (next !== fallTo) body.push(goto(next, c));
      arms.push([blk.id, body.join('\n')]);
      continue;
    }
    body.push(budget);
    for (let j = 0; j < k; j++) {
      const i = blk.insns[j]!;
      if (isCti(i.op)) {
        if (i.op === OP.JALR && !mem.allowC) {
          // Without C a target with bit 1 set traps at the jalr: the interpreter raises it.
          body.push(`if ((${addImm(reg(i.rs1), i.imm)}) & 2) ` +
            `{ d = ${j}; pc = ${k32(i.pc)}; why = ${EXIT_SLOW}; break out; }`);
        }
        body.push(`n = (n + ${k}) | 0;`);
        body.push(cti(i, c, fallTo));
      } else {
        body.push(plain(i, j, c));
      }
    }
    if (blk.end !== 'cti') {
      body.push(`n = (n + ${k}) | 0;`);
      if (blk.end === 'slow') body.push(`pc = ${k32(blk.endPc)}; why = ${EXIT_SLOW}; break out;`);
      else if (blk.endPc !== fallTo) body.push(goto(blk.endPc, c));
    }
    arms.push([blk.id, body.join('\n')]);
  }
  // Dynamic entry (function entry and in-region jalr targets): pc -> block.
  const entries = blocks.map((blk) => [(blk.pc - base) | 0, `b = ${blk.id}; continue out;`] as [number, string])
    .sort((x, y) => x[0] - y[0]);
  arms.push([c.dispatch,
    `o = (pc - ${k32(base)}) | 0;\n${dispatchOn('o', entries, mem.asm)}\n` +
    `why = (((pc - ${k32(base)}) >>> 0) < ${size}) ? ${EXIT_MISS} : ${EXIT_JUMP}; break out;`,
  ]);
  out.push(dispatchOn('b', mem.asm ? arms.slice().sort((x, y) => x[0] - y[0]) : arms, mem.asm));
  out.push('break out;');
  out.push('}');
  out.push('n = (n + d) | 0;');
  out.push(`done(why | 0, pc | 0, ${regs.map((r) => `${r} | 0`).join(', ')});`);
  out.push('return n | 0;');
  out.push('}');
  out.push('return region;');
  return out.join('\n');
}

/**
 * Branch to the arm whose key equals `v` (keys ascending); falls through when
 * none does. Plain JavaScript gets a switch (V8 makes dense ones a jump table);
 * asm.js gets a binary tree of compares, because V8 translates an asm.js
 * switch into a linear chain of compares.
 */
function dispatchOn(v: string, arms: [number, string][], asm: boolean): string {
  if (!asm) {
    return `switch (${v} | 0) {\n${arms.map(([k, body]) => `case ${k}: {\n${body}\n}`).join('\n')}\ndefault: {}\n}`;
  }
  if (arms.length === 0) return '';
  if (arms.length <= 3) {
    return arms.map(([k, body]) => `if ((${v} | 0) == ${k}) {\n${body}\n}`).join('\n');
  }
  const mid = arms.length >>> 1;
  const pivot = arms[mid]![0];
  return `if ((${v} | 0) < ${pivot}) {\n${dispatchOn(v, arms.slice(0, mid), asm)}\n} else {\n${dispatchOn(v, arms.slice(mid), asm)}\n}`;
}

interface Ctx {
  byPc: Map<number, Block>;
  base: number;
  size: number;
  dispatch: number;
  words: number;
  halves: number;
  ramSize: number;
  rb: number;
  heapOff: number;
  /** RAM page ranges [first, last] with flags set when translated (stores there go slow). */
  flagged: [number, number][];
}

/** Runs of flagged pages; merged down to a few compares (over-approximating is safe). */
function flaggedRanges(flags: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let p = 0; p < flags.length; p++) {
    if (flags[p] === 0) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === p - 1) last[1] = p;
    else runs.push([p, p]);
  }
  while (runs.length > 4) {
    // Merge the two runs with the smallest gap.
    let best = 0;
    for (let i = 1; i < runs.length - 1; i++) {
      if (runs[i + 1]![0] - runs[i]![1] < runs[best + 1]![0] - runs[best]![1]) best = i;
    }
    runs[best]![1] = runs[best + 1]![1];
    runs.splice(best + 1, 1);
  }
  return runs;
}

function reg(n: number): string {
  return n === 0 ? '0' : `r${n}`;
}

function writesRd(op: number): boolean {
  return !(op >= OP.BEQ && op <= OP.BGEU) && !(op >= OP.SB && op <= OP.SW) && op !== OP.FENCE;
}

/** Continue at a static target: a block of this region, or leave the function. */
function goto(pc: number, c: Ctx): string {
  const t = c.byPc.get(pc | 0);
  if (t !== undefined) return `b = ${t.id}; continue out;`;
  const why = ((pc - c.base) >>> 0) < c.size ? EXIT_MISS : EXIT_JUMP;
  return `pc = ${k32(pc)}; why = ${why}; break out;`;
}

/** A control transfer; `fallTo` is the pc of the block laid out next (reached by falling through). */
function cti(i: Insn, c: Ctx, fallTo: number | undefined): string {
  const next = (i.pc + i.len) | 0;
  const target = (i.pc + i.imm) | 0;
  switch (i.op) {
    case OP.JAL:
      return `${i.rd !== 0 ? `r${i.rd} = ${k32(next)}; ` : ''}${goto(target, c)}`;
    case OP.JALR: {
      // The target is read before rd is written (rd may equal rs1); the dispatch case
      // finds its block or leaves the function.
      const set = i.rd !== 0 ? `r${i.rd} = ${k32(next)}; ` : '';
      return `pc = (${addImm(reg(i.rs1), i.imm)}) & -2; ${set}b = ${c.dispatch}; continue out;`;
    }
    default:
      return `if (${taken(i)}) { ${goto(target, c)} }${next === fallTo ? '' : `\n${goto(next, c)}`}`;
  }
}

/** The condition under which conditional branch `i` is taken. */
function taken(i: Insn): string {
  const a = reg(i.rs1);
  const b = reg(i.rs2);
  switch (i.op) {
    case OP.BEQ: return `(${a} | 0) == (${b} | 0)`;
    case OP.BNE: return `(${a} | 0) != (${b} | 0)`;
    case OP.BLT: return `(${a} | 0) < (${b} | 0)`;
    case OP.BGE: return `(${a} | 0) >= (${b} | 0)`;
    case OP.BLTU: return `(${a} >>> 0) < (${b} >>> 0)`;
    default: return `(${a} >>> 0) >= (${b} >>> 0)`;
  }
}

/** A block that ends in a conditional branch back to its own start (a one-block loop). */
function selfLoop(blk: Block): boolean {
  const last = blk.insns[blk.insns.length - 1];
  return blk.end === 'cti' && last !== undefined && last.op >= OP.BEQ && last.op <= OP.BGEU &&
    ((last.pc + last.imm) | 0) === blk.pc;
}

/** A non-control-transfer instruction at index `j` of its block. */
function plain(i: Insn, j: number, c: Ctx): string {
  const a = reg(i.rs1);
  const b = reg(i.rs2);
  const imm = i.imm | 0;
  const d = i.rd;
  const set = (expr: string): string => (d === 0 ? '' : `r${d} = ${expr};`);
  // Leave before the instruction: the interpreter executes it (and raises any trap).
  const slow = `{ d = ${j}; pc = ${k32(i.pc)}; why = ${EXIT_SLOW}; break out; }`;
  // o = RAM offset of the access (wraps like the hardware address).
  const off = `o = (${addImm(a, imm)}) - ${k32(c.rb)} | 0;`;
  const at = c.heapOff === 0 ? 'o' : `(o + ${c.heapOff})`;
  const flaggedTest = c.flagged.length === 0 ? '' :
    ' | ' + c.flagged.map(([f, l]) => `((((o >>> 12) - ${f}) >>> 0) <= ${l - f} ? 1 : 0)`).join(' | ');
  switch (i.op) {
    case OP.LUI: return set(k32(imm));
    case OP.AUIPC: return set(k32(i.pc + imm));
    case OP.ADDI: return set(addImm(a, imm));
    case OP.SLTI: return set(`(${a} | 0) < ${k32(imm)} ? 1 : 0`);
    case OP.SLTIU: return set(`(${a} >>> 0) < ${imm >>> 0} ? 1 : 0`);
    case OP.XORI: return set(`${a} ^ ${k32(imm)}`);
    case OP.ORI: return set(`${a} | ${k32(imm)}`);
    case OP.ANDI: return set(`${a} & ${k32(imm)}`);
    case OP.SLLI: return set(`${a} << ${imm}`);
    case OP.SRLI: return set(`(${a} >>> ${imm}) | 0`);
    case OP.SRAI: return set(`${a} >> ${imm}`);
    case OP.ADD: return set(`(${a} + ${b}) | 0`);
    case OP.SUB: return set(`(${a} - ${b}) | 0`);
    case OP.SLL: return set(`${a} << ${b}`);
    case OP.SLT: return set(`(${a} | 0) < (${b} | 0) ? 1 : 0`);
    case OP.SLTU: return set(`(${a} >>> 0) < (${b} >>> 0) ? 1 : 0`);
    case OP.XOR: return set(`${a} ^ ${b}`);
    case OP.SRL: return set(`(${a} >>> ${b}) | 0`);
    case OP.SRA: return set(`${a} >> ${b}`);
    case OP.OR: return set(`${a} | ${b}`);
    case OP.AND: return set(`${a} & ${b}`);
    case OP.FENCE: return '';
    case OP.MUL: return set(`imul(${a}, ${b}) | 0`);
    case OP.MULH: return set(`mulh(${a} | 0, ${b} | 0) | 0`);
    case OP.MULHSU: return set(`mulhsu(${a} | 0, ${b} | 0) | 0`);
    case OP.MULHU: return set(`mulhu(${a} | 0, ${b} | 0) | 0`);
    // Division by zero gives -1 (quotient) or the dividend (remainder); -2^31 / -1 gives -2^31
    // (asm.js division and remainder wrap like the hardware).
    case OP.DIV: return set(`((${b} | 0) == 0) ? -1 : (((${a} | 0) / (${b} | 0)) | 0)`);
    case OP.DIVU: return set(`((${b} | 0) == 0) ? -1 : (((${a} >>> 0) / (${b} >>> 0)) | 0)`);
    case OP.REM: return set(`((${b} | 0) == 0) ? (${a} | 0) : (((${a} | 0) % (${b} | 0)) | 0)`);
    case OP.REMU: return set(`((${b} | 0) == 0) ? (${a} | 0) : (((${a} >>> 0) % (${b} >>> 0)) | 0)`);
    // Rotating the alignment bits to the top folds alignment and range into one compare.
    case OP.LW:
      return `${off} if ((((o >>> 2) | (o << 30)) >>> 0) >= ${c.words}) ${slow} ${set(`ram32[${at} >> 2] | 0`)}`;
    case OP.LH:
    case OP.LHU:
      return `${off} if ((((o >>> 1) | (o << 31)) >>> 0) >= ${c.halves}) ${slow} ` +
        set(i.op === OP.LH ? `ram16[${at} >> 1] | 0` : `ram16[${at} >> 1] & 65535`);
    case OP.LB:
    case OP.LBU:
      return `${off} if ((o >>> 0) >= ${c.ramSize}) ${slow} ` +
        set(i.op === OP.LB ? `(ram[${at} >> 0] << 24) >> 24` : `ram[${at} >> 0] | 0`);
    case OP.SW:
      return `${off} if (((((o >>> 2) | (o << 30)) >>> 0) >= ${c.words} ? 1 : 0)${flaggedTest}) ${slow} ram32[${at} >> 2] = ${b};`;
    case OP.SH:
      return `${off} if (((((o >>> 1) | (o << 31)) >>> 0) >= ${c.halves} ? 1 : 0)${flaggedTest}) ${slow} ram16[${at} >> 1] = ${b};`;
    case OP.SB:
      return `${off} if (((o >>> 0) >= ${c.ramSize} ? 1 : 0)${flaggedTest}) ${slow} ram[${at} >> 0] = ${b};`;
    default:
      throw new Error(`translate: op ${i.op} is not compilable`);
  }
}
