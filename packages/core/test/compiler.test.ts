// The compiling tier (cpu/jit) against the interpreter: the same programs on two
// harts, one interpreting and one with translated code (threshold 1, so code is
// translated as soon as it is seen), compared in full after every run() call
// at many budget boundaries. The interpreter is itself checked against the
// reference model (differential.test.ts); here it is the oracle.
// Set RVISOR_JIT_SEED to explore other seeds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bus } from '../src/memory/bus.ts';
import {
  CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_STORE, Hart, PRIV_M, PRIV_U, STOP_BUDGET, STOP_ECALL, STOP_FAULT,
} from '../src/cpu/index.ts';
import type { Isa } from '../src/cpu/index.ts';
import { attachCompiler, Compiler, compilerSupported } from '../src/cpu/jit/index.ts';
import { Clint } from '../src/devices/clint.ts';
import { VirtualMachine } from '../src/vm/vm.ts';
import * as A from './_asm.ts';
import { REPO_ROOT } from './_oracle.ts';
import { XorShift32 } from './_rng.ts';

const SEED = Number(globalThis.process?.env.RVISOR_JIT_SEED ?? 0x1a5e_2026) >>> 0;
const BASE = 0x8000_0000;
const CODE = BASE + 0x1000;
const SUB = BASE + 0x3000;
const DATA = BASE + 0x4000;
const DEVICE = 0x1000_0000;

class Rng extends XorShift32 {
  value(): number {
    switch (this.below(6)) {
      case 0: return this.pick([0, 1, -1, -0x8000_0000, 0x7fff_ffff, 0x8000, -0x81]);
      case 1: return this.below(64);
      default: return this.u32() | 0;
    }
  }
}

/** Logs device accesses so their order and values can be compared. */
class LogDevice {
  log: string[] = [];
  read(off: number, width: number): number {
    this.log.push(`r${width}@${off}`);
    return (off * 0x01010101 + width) >>> 0;
  }
  write(off: number, width: number, value: number): void {
    this.log.push(`w${width}@${off}=${value >>> 0}`);
  }
}

interface Side {
  bus: Bus;
  hart: Hart;
  dev: LogDevice;
  compiler: Compiler | null;
}

let asmMode = false;

function makeSide(ram: Uint8Array, isa: Isa, compiled: boolean): Side {
  const bus = new Bus(ram, BASE);
  const dev = new LogDevice();
  bus.mapDevice('dev', DEVICE, 0x100, dev);
  const hart = new Hart(bus, { isa, hostTraps: true });
  const compiler = compiled ? attachCompiler(hart, { threshold: 1, asm: asmMode }) : null;
  if (compiled) assert.ok(compiler, 'the compiler attaches where new Function works');
  return { bus, hart, dev, compiler };
}

function diff(a: Side, b: Side, what: string): void {
  const ha = a.hart, hb = b.hart;
  const fields = ['pc', 'instret', 'cycle', 'retired', 'used', 'faultCause', 'faultTval', 'faultPc', 'priv', 'reservationValid'] as const;
  for (const f of fields) assert.is(hb[f], ha[f], `${what}: ${f}`);
  for (let i = 0; i < 32; i++) assert.is(hb.x[i], ha.x[i], `${what}: x${i}`);
  assert.equal(b.dev.log, a.dev.log, `${what}: device accesses`);
  const ra = a.bus.ram, rb = b.bus.ram;
  for (let i = 0; i < ra.length; i++) {
    if (ra[i] !== rb[i]) assert.unreachable(`${what}: RAM byte at 0x${(BASE + i).toString(16)} ${rb[i]} != ${ra[i]}`);
  }
}

/** Run both sides to the end in steps of random budgets, comparing everything after each step. */
function lockstep(rng: Rng, a: Side, b: Side, what: string, maxSteps = 400): number {
  let steps = 0;
  for (;;) {
    const budget = rng.chance(0.3) ? 1 + rng.below(8) : 1 + rng.below(rng.chance(0.5) ? 300 : 5000);
    const ra = a.hart.run(budget);
    const rb = b.hart.run(budget);
    steps++;
    assert.is(rb, ra, `${what} step ${steps}: stop reason`);
    diff(a, b, `${what} step ${steps} (budget ${budget})`);
    if (ra !== STOP_BUDGET || steps >= maxSteps) return ra;
  }
}

// ---- random programs -----------------------------------------------------------

const ALU_R = [A.add, A.sub, A.sll, A.slt, A.sltu, A.xor, A.srl, A.sra, A.or, A.and, A.mul, A.mulh, A.mulhsu, A.mulhu, A.div, A.divu, A.rem, A.remu];
const ALU_I = [A.addi, A.slti, A.sltiu, A.xori, A.ori, A.andi];
const SHIFT_I = [A.slli, A.srli, A.srai];
const BRANCH = [A.beq, A.bne, A.blt, A.bge, A.bltu, A.bgeu];
const LOADS: [(rd: number, rs1: number, imm: number) => number, number][] = [[A.lb, 1], [A.lbu, 1], [A.lh, 2], [A.lhu, 2], [A.lw, 4]];
const STORES: [(rs2: number, rs1: number, imm: number) => number, number][] = [[A.sb, 1], [A.sh, 2], [A.sw, 4]];

// Reserved: x1 link, x29 device base, x30 loop counter, x31 data base.
const rdOf = (rng: Rng): number => (rng.chance(0.05) ? 0 : 2 + rng.below(27));
const rsOf = (rng: Rng): number => rng.below(32);

/** One loop-body item; branches are resolved once sizes are known. */
type Item = { insn: A.Insn | A.Insn[] } | { branch: (off: number) => number; skip: number };

function body(rng: Rng, isa: Isa, len: number): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < len; i++) {
    const k = rng.below(100);
    if (k < 30) items.push({ insn: rng.pick(ALU_R)(rdOf(rng), rsOf(rng), rsOf(rng)) });
    else if (k < 45) items.push({ insn: rng.pick(ALU_I)(rdOf(rng), rsOf(rng), rng.below(4096) - 2048) });
    else if (k < 50) items.push({ insn: rng.pick(SHIFT_I)(rdOf(rng), rsOf(rng), rng.below(32)) });
    else if (k < 53) items.push({ insn: (rng.chance(0.5) ? A.lui : A.auipc)(rdOf(rng), rng.u32() & 0xfffff000) });
    else if (k < 63) {
      const [op, w] = rng.pick(LOADS);
      const mis = rng.chance(0.01) ? 1 : 0;
      // Mostly the data page; rarely a random register (an access fault, usually).
      const base = rng.chance(0.01) ? 2 + rng.below(27) : rng.chance(0.03) ? 29 : 31;
      items.push({ insn: op(rdOf(rng), base, base === 29 ? rng.below(16) * 4 : rng.below(0x7f0 / w) * w + mis) });
    } else if (k < 73) {
      const [op, w] = rng.pick(STORES);
      const mis = rng.chance(0.01) ? 1 : 0;
      const base = rng.chance(0.005) ? 2 + rng.below(27) : rng.chance(0.03) ? 29 : 31;
      items.push({ insn: op(rsOf(rng), base, base === 29 ? rng.below(16) * 4 : rng.below(0x7f0 / w) * w + mis) });
    } else if (k < 83) {
      const skip = 1 + rng.below(6);
      const op = rng.pick(BRANCH);
      const a = rsOf(rng), b = rsOf(rng);
      items.push({ branch: (off) => op(a, b, off), skip });
    } else if (k < 86) {
      // Counters read mid-translation must see the exact instruction count.
      items.push({ insn: A.csrrs(rdOf(rng), rng.pick([0xc00, 0xc02]), 0) });
    } else if (k < 89 && isa === 'rv32imac') {
      const rd = 2 + rng.below(27);
      items.push({ insn: rng.pick([A.cAddi(rd, rng.below(63) - 31 || 1), A.cLi(rd, rng.below(63) - 31), A.cMv(rd, 2 + rng.below(27)), A.cAdd(rd, 2 + rng.below(27))]) });
    } else if (k < 91) {
      items.push({ insn: A.jal(1, 0) }); // patched below into a call to SUB
    } else {
      items.push({ insn: A.xor(rdOf(rng), rsOf(rng), rsOf(rng)) });
    }
  }
  return items;
}

function size(i: A.Insn | A.Insn[]): number {
  if (Array.isArray(i)) return i.reduce((s: number, x) => s + size(x), 0);
  return typeof i === 'number' ? 4 : 2;
}

/** A loop of `iterations` over a random body, then ecall. Returns the code bytes. */
function randomProgram(rng: Rng, isa: Isa, iterations: number): Uint8Array {
  const items = body(rng, isa, 10 + rng.below(60));
  const head: A.Insn[] = [...A.li(31, DATA), ...A.li(29, DEVICE), ...A.li(30, iterations)];
  const headSize = size(head);
  // Byte offsets of each item, branches are 4 bytes.
  const offs: number[] = [];
  let at = headSize;
  for (const it of items) {
    offs.push(at);
    at += 'branch' in it ? 4 : size(it.insn);
  }
  const loopEnd = at;
  const insns: A.Insn[] = [...head];
  items.forEach((it, i) => {
    if ('branch' in it) {
      const target = i + 1 + it.skip < items.length ? offs[i + 1 + it.skip]! : loopEnd;
      insns.push(it.branch(target - offs[i]!));
    } else if (typeof it.insn === 'number' && it.insn === A.jal(1, 0)) {
      insns.push(A.jal(1, SUB - (CODE + offs[i]!)));
    } else {
      insns.push(...(Array.isArray(it.insn) ? it.insn : [it.insn]));
    }
  });
  insns.push(A.addi(30, 30, -1));
  insns.push(A.bne(30, 0, headSize - (loopEnd + 4)));
  insns.push(A.ecall());
  return A.program(insns);
}

function setup(ramSize: number, isa: Isa, code: Uint8Array, rng: Rng): [Side, Side] {
  const sides = [false, true].map((compiled) => {
    const ram = new Uint8Array(ramSize);
    const s = makeSide(ram, isa, compiled);
    return s;
  }) as [Side, Side];
  const sub = A.program(A.xor(5, 5, 6), A.addi(6, 6, 7), A.jalr(0, 1, 0));
  const data = new Uint8Array(0x800);
  for (let i = 0; i < data.length; i++) data[i] = rng.below(256);
  const regs = Array.from({ length: 32 }, () => rng.value());
  for (const s of sides) {
    s.bus.writeRam(CODE, code);
    s.bus.writeRam(SUB, sub);
    s.bus.writeRam(DATA, data);
    s.hart.reset(CODE, PRIV_U);
    s.hart.mcounteren = 7;
    for (let i = 1; i < 32; i++) s.hart.x[i] = regs[i]!;
  }
  return sides;
}

const randomPrograms = suite('random programs: compiled and interpreted harts agree at every budget boundary');

const MODES: [Isa, number, boolean][] = [
  ['rv32imac', 0x10000, false], ['rv32ima', 0x10000, false], ['rv32imac', 0x10000, true], ['rv32ima', 0x10000, true],
  // 0xc000 bytes is not a valid asm.js heap: asm mode falls back to plain JavaScript.
  ['rv32imac', 0xc000, true],
];
for (const [isa, ramSize, asm] of MODES) {
  randomPrograms(`${isa}, ${ramSize / 1024} KiB RAM, ${asm ? 'asm.js' : 'plain JavaScript'}`, () => {
    asmMode = asm;
    const rng = new Rng(SEED ^ ramSize ^ (isa === 'rv32ima' ? 0x55 : 0));
    let translated = 0;
    for (let p = 0; p < 25; p++) {
      const code = randomProgram(rng, isa, 20 + rng.below(200));
      const [a, b] = setup(ramSize, isa, code, rng);
      const stop = lockstep(rng, a, b, `${isa} seed ${SEED} program ${p}`);
      assert.ok(stop === STOP_ECALL || stop === STOP_FAULT || stop === STOP_BUDGET);
      translated += b.compiler!.translations;
    }
    assert.ok(translated > 0, 'code was translated');
    asmMode = false;
  });
}

randomPrograms.run();

// ---- budgets -------------------------------------------------------------------

const budgets = suite('budgets: run(n) retires exactly n instructions in translated code');

budgets('a hot loop retires exactly the budget, across many budgets', () => {
  const code = A.program(
    ...A.li(10, 0), ...A.li(11, 1_000_000),
    A.addi(10, 10, 3), A.xor(12, 10, 11), A.addi(11, 11, -1), A.bne(11, 0, -12), A.ecall(),
  );
  const rng = new Rng(SEED);
  const [a, b] = setup(0x10000, 'rv32imac', code, rng);
  let total = 0;
  for (let i = 0; i < 300; i++) {
    const n = 1 + rng.below(i < 100 ? 7 : 4000);
    assert.is(b.hart.run(n), STOP_BUDGET);
    assert.is(b.hart.retired, n, `run(${n}) retired ${b.hart.retired}`);
    a.hart.run(n);
    total += n;
    assert.is(b.hart.instret, total);
    diff(a, b, `after run(${n})`);
  }
  assert.ok(b.compiler!.calls > 0, 'translated code ran');
});

budgets.run();

// ---- traps ---------------------------------------------------------------------

const traps = suite('traps inside translated code are precise');

traps('a load that walks off the end of RAM faults at the exact pc, cause and tval', () => {
  // x5 walks up from DATA by 4 until the load leaves RAM (a 64 KiB RAM ends at BASE + 0x10000).
  const loop = CODE + 8 + 8;
  const code = A.program(...A.li(5, DATA), ...A.li(6, 0), A.lw(7, 5, 0), A.add(6, 6, 7), A.addi(5, 5, 4), A.jal(0, -12));
  const [a, b] = setup(0x10000, 'rv32imac', code, new Rng(SEED));
  assert.is(b.hart.run(1e7), STOP_FAULT);
  assert.is(a.hart.run(1e7), STOP_FAULT);
  diff(a, b, 'at the fault');
  assert.is(b.hart.faultCause, CAUSE_LOAD_ACCESS);
  assert.is(b.hart.faultTval, BASE + 0x10000);
  assert.is(b.hart.faultPc, loop);
  assert.ok(b.compiler!.translations > 0 && b.compiler!.calls > 0, 'the loop ran translated');
});

traps('a misaligned store after a hot loop traps with mtval = address', () => {
  const code = A.program(...A.li(5, DATA), ...A.li(11, 5000), A.sw(11, 5, 0), A.addi(11, 11, -1), A.bne(11, 0, -8),
    A.sw(11, 5, 2), A.ecall());
  const [a, b] = setup(0x10000, 'rv32imac', code, new Rng(SEED));
  assert.is(b.hart.run(1e6), STOP_FAULT);
  assert.is(a.hart.run(1e6), STOP_FAULT);
  diff(a, b, 'at the fault');
  assert.is(b.hart.faultCause, CAUSE_MISALIGNED_STORE);
  assert.is(b.hart.faultTval, DATA + 2);
});

traps.run();

// ---- self-modifying code ---------------------------------------------------------

const smc = suite('self-modifying code: rewriting a hot loop takes effect');

for (const fenceI of [true, false]) {
  smc(`a loop that patches its own addi immediate ${fenceI ? 'with' : 'without'} fence.i`, () => {
    // Pass p = 1..5 runs the inner loop 500 times adding p, then (until p = 5) stores
    // `addi x10, x10, p + 1` over the inner loop's first instruction.
    const headOf = (inner: number): A.Insn[] => [...A.li(10, 0), ...A.li(14, 1), ...A.li(12, inner), ...A.li(15, 5)];
    const inner = CODE + size(headOf(CODE + 0x100));
    const head = headOf(inner);
    const loop: A.Insn[] = [A.addi(10, 10, 1), A.addi(11, 11, -1), A.bne(11, 0, -8)];
    const patch: A.Insn[] = [
      A.addi(14, 14, 1),
      // build `addi x10, x10, x14` = (x14 << 20) | addi(x10, x10, 0) and store it over loop[0]
      A.slli(13, 14, 20), ...A.li(16, A.addi(10, 10, 0)), A.or(13, 13, 16), A.sw(13, 12, 0),
      fenceI ? A.fencei() : A.nop(),
      ...A.li(11, 500),
    ];
    const back = size(loop) + 4 + size(patch);
    assert.is(A.program(...head).length, inner - CODE);
    const tail: A.Insn[] = [A.jal(0, -back), A.ecall()];
    // beq x14, x15 -> ecall, placed right after the loop
    const exit: A.Insn = A.beq(14, 15, 4 + size(patch) + 4);
    const code = A.program(...head, ...loop, exit, ...patch, ...tail);
    const [a, b] = setup(0x10000, 'rv32imac', code, new Rng(SEED));
    for (const s of [a, b]) s.hart.x[11] = 500;
    assert.ok(b.hart.run(1e6) === STOP_ECALL, `compiled run ends at the ecall (pc 0x${b.hart.pc.toString(16)})`);
    assert.is(a.hart.run(1e6), STOP_ECALL);
    diff(a, b, 'at the end');
    // Passes with immediates 1..5, 500 iterations each.
    assert.is(b.hart.x[10], 500 * (1 + 2 + 3 + 4 + 5));
    assert.ok(b.compiler!.translations > 1, 'the patched page was translated again');
  });
}

smc.run();

// ---- timer interrupts (machine mode) ------------------------------------------------

const timer = suite('timer interrupts cut translated code at the exact instruction');

timer('a hot loop interrupted by the CLINT timer matches the interpreter', () => {
  const rng = new Rng(SEED);
  const sides = [false, true].map((compiled) => {
    const bus = new Bus(new Uint8Array(0x10000), BASE);
    const hart = new Hart(bus, { isa: 'rv32imac' });
    bus.mapDevice('clint', 0x0200_0000, 0x10000, new Clint(hart));
    const compiler = compiled ? attachCompiler(hart, { threshold: 1 }) : null;
    return { bus, hart, dev: new LogDevice(), compiler };
  });
  // Handler: count interrupts in x20, push mtimecmp 37 ticks ahead of mtime, mret.
  const handler = A.program(
    A.addi(20, 20, 1), ...A.li(21, 0x0200_bff8), A.lw(22, 21, 0), A.addi(22, 22, 37),
    ...A.li(21, 0x0200_4000), A.sw(22, 21, 0), A.sw(0, 21, 4), A.mret(),
  );
  const main = A.program(
    ...A.li(5, 0x80), A.csrrs(0, 0x304, 5), // mie.MTIE
    ...A.li(21, 0x0200_4000), ...A.li(22, 50), A.sw(22, 21, 0), A.sw(0, 21, 4),
    A.csrrsi(0, 0x300, 8), // mstatus.MIE
    A.addi(10, 10, 1), A.add(11, 11, 10), A.xor(12, 11, 10), A.jal(0, -12),
  );
  for (const s of sides) {
    s.bus.writeRam(CODE, main);
    s.bus.writeRam(SUB, handler);
    s.hart.reset(CODE, PRIV_M);
    s.hart.mtvec = SUB;
  }
  const [a, b] = sides as [Side, Side];
  for (let i = 0; i < 200; i++) {
    const n = 1 + rng.below(3000);
    assert.is(b.hart.run(n), a.hart.run(n));
    diff(a, b, `step ${i}`);
    assert.is(b.hart.mepc, a.hart.mepc);
    assert.is(b.hart.mcause, a.hart.mcause);
  }
  assert.ok(b.hart.x[20]! > 10, 'interrupts were taken');
  assert.ok(b.compiler!.calls > 0, 'translated code ran');
});

timer.run();

// ---- benchmark guests --------------------------------------------------------------

const guests = suite('benchmark guests: compiled and interpreted VMs agree in lockstep');

const GUESTS: [string, string][] = [['coremark', '20'], ['sha256', '16k'], ['sort', '2000'], ['crc32', '64k'], ['tight', '100k']];

for (const [guest, arg] of GUESTS) {
  guests(`${guest} ${arg}`, () => {
    const image = new Uint8Array(readFileSync(join(REPO_ROOT, 'bench/guests', `${guest}.elf`)));
    const outs = ['', ''];
    const vms = [0, 1].map((i) => new VirtualMachine({
      image, argv: [guest, arg], onConsole: (bytes) => (outs[i] += new TextDecoder().decode(bytes)),
    }));
    const compiler = attachCompiler(vms[1]!.hart, { threshold: 2 })!;
    const rng = new Rng(SEED);
    const [va, vb] = vms as [VirtualMachine, VirtualMachine];
    while (va.exitCode === undefined && va.fault === undefined) {
      const n = rng.chance(0.2) ? 1 + rng.below(50) : 1 + rng.below(200_000);
      va.run(n);
      vb.run(n);
      const ha = va.hart, hb = vb.hart;
      assert.is(hb.pc, ha.pc);
      assert.is(hb.instret, ha.instret);
      assert.equal(Array.from(hb.x), Array.from(ha.x));
    }
    assert.is(vb.exitCode, va.exitCode);
    assert.is(outs[1], outs[0]);
    assert.ok(outs[0]!.length > 0);
    assert.ok(compiler.translations > 0);
    assert.equal(vb.bus.ram, va.bus.ram);
  });
}

guests.run();

// ---- world switch --------------------------------------------------------------------

const worlds = suite('per-hart code caches survive switching between harts');

worlds('four harts alternating in 1k-instruction windows keep their translations', () => {
  const rng = new Rng(SEED);
  const code = A.program(
    ...A.li(10, 0), ...A.li(11, 1_000_000),
    A.addi(10, 10, 3), A.xor(12, 10, 11), A.addi(11, 11, -1), A.bne(11, 0, -12), A.ecall(),
  );
  const pairs = [0, 1, 2, 3].map(() => setup(0x10000, 'rv32imac', code, rng));
  const round = (): void => {
    for (const [a, b] of pairs) {
      assert.is(b.hart.run(1000), a.hart.run(1000));
      diff(a, b, 'after a window');
    }
  };
  for (let i = 0; i < 20; i++) round();
  const before = pairs.map(([, b]) => b.compiler!.translations);
  for (let i = 0; i < 50; i++) round();
  assert.equal(pairs.map(([, b]) => b.compiler!.translations), before, 'no retranslation after switching');
  for (const [, b] of pairs) assert.ok(b.compiler!.regions > 0);
});

worlds.run();

const support = suite('support');

support('new Function is available here, so the compiler attaches', () => {
  assert.ok(compilerSupported());
  const h = new Hart(new Bus(new Uint8Array(0x1000), 0));
  assert.instance(attachCompiler(h), Compiler);
  void PRIV_M;
});

support.run();
