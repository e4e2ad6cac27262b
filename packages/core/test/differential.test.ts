// Differential tests: the fast hart (cpu/hart.ts) against the reference model
// (cpu/reference.ts), from identical state, compared after every instruction.
// All randomness comes from one seeded PRNG; a failure prints the seed, the
// case and every field that differs (reference = expected, hart = actual).
// Set RVISOR_DIFF_SEED to explore other seeds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Bus } from '../src/memory/bus.ts';
import { Hart, STOP_BUDGET, STOP_ECALL, STOP_FAULT, STOP_WFI } from '../src/cpu/hart.ts';
import { expandCompressed, ReferenceHart } from '../src/cpu/reference.ts';
import { XorShift32 } from './_rng.ts';

const SEED = Number(globalThis.process?.env.RVISOR_DIFF_SEED ?? 0x5eed_2026) >>> 0;

// ---- deterministic randomness ----------------------------------------------

class Rng extends XorShift32 {
  /** A register value biased to the edges of the 32-bit ranges. */
  value(): number {
    switch (this.below(10)) {
      case 0: return this.pick([0, 1, -1, 2, -2]);
      case 1: return this.pick([-0x8000_0000, 0x7fff_ffff, -0x7fff_ffff, 0x7fff_fffe]);
      case 2: return this.below(32);
      case 3: return this.pick([0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x1_0000, -0x8000, -0x81]);
      case 4: return this.below(4096) - 2048;
      default: return this.u32() | 0;
    }
  }
}

// ---- the two machines -------------------------------------------------------

const RAM_BASE = 0x8000_0000;
const RAM_SIZE = 0x4000;
const HANDLER = RAM_BASE + 0x40;
const CODE = RAM_BASE + 0x1000;
const CODE_SIZE = 0x1000;
const DATA = RAM_BASE + 0x2000;
const DATA_SIZE = 0x2000;
const DEVICE = 0x1000_0000;
const WINDOW = 0x2000_0000;
const WINDOW_SIZE = 0x100;
const UNMAPPED = 0x0000_1000;

/**
 * A register-file device that logs every access, so side effects can be
 * compared. Writing bit 0 of the word at 0 / 4 drives MEIP / MSIP, so guest
 * stores raise interrupts in the middle of a run.
 */
class LogDevice {
  readonly bytes = new Uint8Array(0x100);
  log: string[] = [];
  lines: ((bit: number, on: boolean) => void) | null = null;
  read(off: number, width: number): number {
    this.log.push(`r${width}@${off}`);
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = (v * 256) + this.bytes[off + i]!;
    return v;
  }
  write(off: number, width: number, value: number): void {
    this.log.push(`w${width}@${off}=${value >>> 0}`);
    for (let i = 0; i < width; i++) this.bytes[off + i] = (value >>> (8 * i)) & 0xff;
    if (off === 0) this.lines?.(11, (value & 1) === 1);
    if (off === 4) this.lines?.(3, (value & 1) === 1);
  }
}

interface Side {
  bus: Bus;
  dev: LogDevice;
  win: Uint8Array;
}

function side(): Side {
  const bus = new Bus(new Uint8Array(RAM_SIZE), RAM_BASE);
  const dev = new LogDevice();
  const win = new Uint8Array(WINDOW_SIZE);
  bus.mapDevice('dev', DEVICE, 0x100, dev);
  bus.mapMemory('rom', WINDOW, win, false);
  return { bus, dev, win };
}

type Isa = 'rv32imac' | 'rv32ima';

interface Pair {
  isa: Isa;
  hostTraps: boolean;
  ref: ReferenceHart;
  hart: Hart;
  rs: Side;
  hs: Side;
}

const pairs = new Map<string, Pair>();
function pair(isa: Isa, hostTraps: boolean): Pair {
  const key = `${isa}/${hostTraps}`;
  let p = pairs.get(key);
  if (!p) {
    const rs = side();
    const hs = side();
    const ref = new ReferenceHart(rs.bus, { isa, hostTraps });
    const hart = new Hart(hs.bus, { isa, hostTraps });
    rs.dev.lines = (bit, on) => ref.setPending(bit, on);
    hs.dev.lines = (bit, on) => hart.setPending(bit, on);
    p = { isa, hostTraps, rs, hs, ref, hart };
    pairs.set(key, p);
  }
  return p;
}

/** Architectural state a case starts from. */
interface State {
  x: Int32Array;
  pc: number;
  priv: number;
  mstatus: number;
  mie: number;
  msip: boolean;
  meip: boolean;
  mtvec: number;
  mepc: number;
  mcause: number;
  mtval: number;
  mscratch: number;
  mcounteren: number;
  mcountinhibit: number;
  cycle: number;
  instret: number;
  mtimecmp: number;
  timeOffset: number;
  reservation: number; // -1 = none
  /** RAM = a random image shared by many cases, plus this case's own words. */
  ram: Uint8Array;
  patches: Array<[number, number, number]>; // [address, bytes, value]
  dev: Uint8Array;
  win: Uint8Array;
}

function install(p: Pair, s: State): void {
  for (const [sd, h] of [[p.rs, p.ref], [p.hs, p.hart]] as const) {
    sd.bus.ram.set(s.ram);
    for (const [addr, bytes, v] of s.patches) sd.bus.store(addr, bytes, v);
    sd.dev.bytes.set(s.dev);
    sd.dev.log = [];
    sd.win.set(s.win);
    h.reset(s.pc, s.priv);
    h.x.set(s.x);
    h.x[0] = 0;
    h.mstatus = s.mstatus;
    h.mie = s.mie;
    h.mtvec = s.mtvec;
    h.mepc = s.mepc;
    h.mcause = s.mcause;
    h.mtval = s.mtval;
    h.mscratch = s.mscratch;
    h.mcounteren = s.mcounteren;
    h.cycle = s.cycle;
    h.instret = s.instret;
    h.mtimecmp = s.mtimecmp;
    h.timeOffset = s.timeOffset;
    h.csrWrite(0x320, s.mcountinhibit); // through the CSR so counters freeze at their current values
    h.setPending(3, s.msip);
    h.setPending(11, s.meip);
  }
  p.ref.reservation = s.reservation;
  p.hart.reservationValid = s.reservation !== -1;
  p.hart.reservationAddr = s.reservation === -1 ? 0 : s.reservation;
  p.hart.timerChanged();
  p.hart.flushDecodeCache();
}

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Every difference between the two harts, as `field: reference vs hart` lines. */
function compare(p: Pair, refStop: number, hartStop: number): string[] {
  const out: string[] = [];
  const { ref, hart } = p;
  const eq = (name: string, a: number | string | boolean, b: number | string | boolean) => {
    if (a !== b) out.push(`${name}: ref ${typeof a === 'number' ? hex(a) : a} vs hart ${typeof b === 'number' ? hex(b) : b}`);
  };
  eq('stop', String(refStop), String(hartStop));
  for (let i = 1; i < 32; i++) eq(`x${i}`, ref.x[i]!, hart.x[i]!);
  eq('pc', ref.pc >>> 0, hart.pc >>> 0);
  eq('priv', String(ref.priv), String(hart.priv));
  eq('instret', String(ref.instret), String(hart.instret));
  eq('cycle', String(ref.cycle), String(hart.cycle));
  for (const f of ['mstatus', 'mie', 'mtvec', 'mcause', 'mtval', 'mscratch', 'mcounteren', 'mcountinhibit'] as const) {
    eq(f, ref[f] >>> 0, hart[f] >>> 0);
  }
  for (const [name, n] of [['mip', 0x344], ['mepc', 0x341], ['mcycle', 0xb00], ['mcycleh', 0xb80], ['minstret', 0xb02], ['minstreth', 0xb82], ['time', 0xc01]] as const) {
    eq(name, ref.csrRead(n)! >>> 0, hart.csrRead(n) >>> 0);
  }
  // After an app-profile fault the partition is dead and its reservation unobservable.
  if (!(p.hostTraps && refStop === STOP_FAULT)) {
    eq('reservation', ref.reservation === -1 ? 'none' : hex(ref.reservation), hart.reservationValid ? hex(hart.reservationAddr) : 'none');
  }
  if (refStop === STOP_FAULT || hartStop === STOP_FAULT) {
    eq('faultCause', ref.faultCause >>> 0, hart.faultCause >>> 0);
    eq('faultTval', ref.faultTval >>> 0, hart.faultTval >>> 0);
    eq('faultPc', ref.faultPc >>> 0, hart.faultPc >>> 0);
  }
  const ra = p.rs.bus.ram32;
  const ha = p.hs.bus.ram32;
  for (let i = 0; i < ra.length; i++) {
    if (ra[i] !== ha[i]) {
      out.push(`ram[${hex(RAM_BASE + i * 4)}]: ref ${hex(ra[i]!)} vs hart ${hex(ha[i]!)}`);
      break;
    }
  }
  eq('device log', p.rs.dev.log.join(' '), p.hs.dev.log.join(' '));
  return out;
}

// ---- instruction kinds ------------------------------------------------------

interface Kind {
  name: string;
  mask: number;
  match: number;
  c?: boolean;
}

const K = (name: string, mask: number, match: number): Kind => ({ name, mask, match });
const C = (name: string, mask: number, match: number): Kind => ({ name, mask, match, c: true });
const R7 = 0xfe00_707f;
const F3 = 0x707f;
const AMOM = 0xf800_707f;

// Encodings from the spec's opcode tables (riscv-opcodes mask/match form).
const KINDS: Kind[] = [
  K('lui', 0x7f, 0x37), K('auipc', 0x7f, 0x17), K('jal', 0x7f, 0x6f), K('jalr', F3, 0x67),
  K('beq', F3, 0x63), K('bne', F3, 0x1063), K('blt', F3, 0x4063), K('bge', F3, 0x5063), K('bltu', F3, 0x6063), K('bgeu', F3, 0x7063),
  K('lb', F3, 0x03), K('lh', F3, 0x1003), K('lw', F3, 0x2003), K('lbu', F3, 0x4003), K('lhu', F3, 0x5003),
  K('sb', F3, 0x23), K('sh', F3, 0x1023), K('sw', F3, 0x2023),
  K('addi', F3, 0x13), K('slti', F3, 0x2013), K('sltiu', F3, 0x3013), K('xori', F3, 0x4013), K('ori', F3, 0x6013), K('andi', F3, 0x7013),
  K('slli', R7, 0x1013), K('srli', R7, 0x5013), K('srai', R7, 0x4000_5013),
  // shamt[5] set: illegal on RV32
  K('slli shamt5', R7, 0x0200_1013), K('srli shamt5', R7, 0x0200_5013), K('srai shamt5', R7, 0x4200_5013),
  K('add', R7, 0x33), K('sub', R7, 0x4000_0033), K('sll', R7, 0x1033), K('slt', R7, 0x2033), K('sltu', R7, 0x3033),
  K('xor', R7, 0x4033), K('srl', R7, 0x5033), K('sra', R7, 0x4000_5033), K('or', R7, 0x6033), K('and', R7, 0x7033),
  K('fence', F3, 0x0f), K('fence.i', F3, 0x100f),
  K('ecall', 0xffff_ffff, 0x73), K('ebreak', 0xffff_ffff, 0x0010_0073), K('mret', 0xffff_ffff, 0x3020_0073), K('wfi', 0xffff_ffff, 0x1050_0073),
  K('mul', R7, 0x0200_0033), K('mulh', R7, 0x0200_1033), K('mulhsu', R7, 0x0200_2033), K('mulhu', R7, 0x0200_3033),
  K('div', R7, 0x0200_4033), K('divu', R7, 0x0200_5033), K('rem', R7, 0x0200_6033), K('remu', R7, 0x0200_7033),
  K('lr.w', 0xf9f0_707f, 0x1000_202f), K('sc.w', AMOM, 0x1800_202f), K('amoswap.w', AMOM, 0x0800_202f), K('amoadd.w', AMOM, 0x0000_202f),
  K('amoxor.w', AMOM, 0x2000_202f), K('amoand.w', AMOM, 0x6000_202f), K('amoor.w', AMOM, 0x4000_202f), K('amomin.w', AMOM, 0x8000_202f),
  K('amomax.w', AMOM, 0xa000_202f), K('amominu.w', AMOM, 0xc000_202f), K('amomaxu.w', AMOM, 0xe000_202f),
  K('csrrw', F3, 0x1073), K('csrrs', F3, 0x2073), K('csrrc', F3, 0x3073), K('csrrwi', F3, 0x5073), K('csrrsi', F3, 0x6073), K('csrrci', F3, 0x7073),
  C('c.addi4spn', 0xe003, 0x0000), C('c.lw', 0xe003, 0x4000), C('c.sw', 0xe003, 0xc000), C('c.nop', 0xef83, 0x0001),
  C('c.addi', 0xe003, 0x0001), C('c.jal', 0xe003, 0x2001), C('c.li', 0xe003, 0x4001), C('c.addi16sp', 0xef83, 0x6101),
  C('c.lui', 0xe003, 0x6001), C('c.srli', 0xec03, 0x8001), C('c.srai', 0xec03, 0x8401), C('c.andi', 0xec03, 0x8801),
  C('c.sub', 0xfc63, 0x8c01), C('c.xor', 0xfc63, 0x8c21), C('c.or', 0xfc63, 0x8c41), C('c.and', 0xfc63, 0x8c61),
  C('c.j', 0xe003, 0xa001), C('c.beqz', 0xe003, 0xc001), C('c.bnez', 0xe003, 0xe001), C('c.slli', 0xe003, 0x0002),
  C('c.lwsp', 0xe003, 0x4002), C('c.jr', 0xf07f, 0x8002), C('c.mv', 0xf003, 0x8002), C('c.ebreak', 0xffff, 0x9002),
  C('c.jalr', 0xf07f, 0x9002), C('c.add', 0xf003, 0x9002), C('c.swsp', 0xe003, 0xc002),
];

/** CSRs worth hitting, including ones that must not exist (medeleg, satp, fcsr, ...). */
const CSRS = [
  0x300, 0x301, 0x304, 0x305, 0x306, 0x310, 0x320, 0x323, 0x33f, 0x340, 0x341, 0x342, 0x343, 0x344,
  0xb00, 0xb02, 0xb03, 0xb1f, 0xb80, 0xb82, 0xb83, 0xc00, 0xc01, 0xc02, 0xc03, 0xc1f, 0xc80, 0xc81, 0xc82, 0xc9f,
  0xf11, 0xf12, 0xf13, 0xf14, 0xf15, 0x7a0, 0x7a1, 0x7a2, 0x7a3,
  0x302, 0x303, 0x100, 0x180, 0x001, 0x003, 0x30a, 0x3a0, 0x3b0, 0x7b0, 0x34a, 0xb01, 0xc20,
];

// ---- random state -----------------------------------------------------------

const images = new Map<number, { ram: Uint8Array; dev: Uint8Array; win: Uint8Array }>();

/** Random memory contents, made once per seed: cases differ in where they look. */
function image(seed: number) {
  let im = images.get(seed);
  if (!im) {
    const rng = new Rng(seed);
    const ram = new Uint8Array(RAM_SIZE);
    const dev = new Uint8Array(0x100);
    const win = new Uint8Array(WINDOW_SIZE);
    for (const a of [ram, dev, win]) for (let i = 0; i < a.length; i++) a[i] = rng.below(256);
    im = { ram, dev, win };
    images.set(seed, im);
  }
  return im;
}

function randomState(rng: Rng, isa: Isa): State {
  const x = new Int32Array(32);
  for (let i = 1; i < 32; i++) x[i] = rng.value();
  const { ram, dev, win } = image(SEED);
  const align = isa === 'rv32imac' ? 2 : 4;
  const cycle = rng.pick([0, rng.below(1_000_000), 2 ** 32 - 1 - rng.below(3), 2 ** 33 + rng.below(100)]);
  const mstatusBits = [1 << 3, 1 << 7, 3 << 11, 1 << 17, 1 << 21];
  let mstatus = 0;
  for (const b of mstatusBits) if (rng.chance(0.5)) mstatus |= b;
  return {
    x,
    pc: CODE + rng.below(CODE_SIZE / align - 4) * align,
    priv: rng.chance(0.3) ? 0 : 3,
    mstatus,
    mie: rng.u32() & 0x888,
    msip: rng.chance(0.05),
    meip: rng.chance(0.05),
    mtvec: HANDLER | (rng.chance(0.3) ? 1 : 0),
    mepc: CODE + rng.below(CODE_SIZE / 4) * 4 + (rng.chance(0.2) ? 2 : 0),
    mcause: rng.u32(),
    mtval: rng.u32(),
    mscratch: rng.u32(),
    mcounteren: rng.chance(0.5) ? rng.u32() : rng.below(8),
    mcountinhibit: rng.chance(0.8) ? 0 : rng.u32(),
    cycle,
    instret: Math.max(0, cycle - rng.below(1000)),
    mtimecmp: rng.chance(0.9) ? Infinity : Math.floor(cycle / 10) + rng.below(3) - 1,
    timeOffset: 0,
    reservation: -1,
    ram,
    patches: [],
    dev,
    win,
  };
}

function put(s: State, addr: number, width: number, v: number): void {
  s.patches.push([addr, width, v >>> 0]);
}

/** The instruction word, or its 32-bit expansion for a compressed one (undefined if illegal). */
function as32(word: number, compressed: boolean): number | undefined {
  if (!compressed) return word;
  try {
    return expandCompressed(word);
  } catch {
    return undefined;
  }
}

/**
 * Point a memory instruction's base register at an interesting address (RAM
 * data, misaligned, device, read-only window, unmapped, the end of RAM, code)
 * and give SC a reservation half of the time.
 */
function aimMemory(rng: Rng, s: State, inst: number): void {
  const op = inst & 0x7f;
  if (op !== 0x03 && op !== 0x23 && op !== 0x2f && op !== 0x67) return;
  const rs1 = (inst >>> 15) & 31;
  if (rs1 === 0) return;
  const f3 = (inst >>> 12) & 7;
  let imm = 0;
  if (op === 0x03 || op === 0x67) imm = inst >> 20;
  else if (op === 0x23) imm = ((inst >> 25) << 5) | ((inst >>> 7) & 31);
  const width = op === 0x2f ? 4 : 1 << (f3 & 3);
  let target: number;
  if (op === 0x67) {
    target = rng.chance(0.8) ? CODE + rng.below(CODE_SIZE) : rng.u32();
  } else {
    const r = rng.below(20);
    if (r < 11) target = DATA + rng.below(DATA_SIZE / width) * width;
    else if (r < 13) target = DATA + rng.below(DATA_SIZE - 4) + 1;
    else if (r < 15) target = DEVICE + rng.below(0x100 / width) * width;
    else if (r < 16) target = WINDOW + rng.below(WINDOW_SIZE / width) * width;
    else if (r < 17) target = UNMAPPED;
    else if (r < 18) target = RAM_BASE + RAM_SIZE - rng.below(3) * width;
    else target = s.pc + rng.below(3) * 2; // stores into the code stream
  }
  s.x[rs1] = (target - imm) | 0;
  if (op === 0x2f && rng.chance(0.5)) s.reservation = rng.chance(0.8) ? target >>> 0 : (target + 4) >>> 0;
}

// ---- running one case -------------------------------------------------------

interface Failure {
  what: string;
  diffs: string[];
}

function describe(s: State, isa: Isa, hostTraps: boolean): string {
  const regs = Array.from(s.x, (v, i) => (v !== 0 ? `x${i}=${hex(v)}` : '')).filter(Boolean).join(' ');
  return `${isa}${hostTraps ? ' hostTraps' : ''} priv=${s.priv} pc=${hex(s.pc)} mstatus=${hex(s.mstatus)} mie=${hex(s.mie)} ` +
    `msip=${s.msip} meip=${s.meip} mtvec=${hex(s.mtvec)} mcounteren=${hex(s.mcounteren)} mcountinhibit=${hex(s.mcountinhibit)} ` +
    `cycle=${s.cycle} instret=${s.instret} mtimecmp=${s.mtimecmp} reservation=${s.reservation} ${regs}`;
}

/** Install `s` on both harts, run one step each, and return the differences. */
function stepBoth(p: Pair, s: State): string[] {
  install(p, s);
  const a = p.ref.step();
  let b: number;
  try {
    b = p.hart.run(1);
  } catch (e) {
    return [`hart threw ${(e as Error).stack ?? e}`];
  }
  return compare(p, a, b);
}

/** Collect at most one failure per label so one bug does not hide the others. */
class Failures {
  private byLabel = new Map<string, Failure>();
  count = 0;
  add(label: string, what: string, diffs: string[]): void {
    this.count++;
    if (!this.byLabel.has(label)) this.byLabel.set(label, { what, diffs });
  }
  report(seed: number, total: number): string {
    const lines = [`${this.count} of ${total} cases differ (seed ${hex(seed)}; RVISOR_DIFF_SEED=${seed} to replay):`];
    let shown = 0;
    for (const [label, f] of this.byLabel) {
      if (shown++ === 12) {
        lines.push(`- ... and ${this.byLabel.size - 12} more kinds: ${[...this.byLabel.keys()].slice(12).join(', ')}`);
        break;
      }
      lines.push(`- ${label}: ${f.what}\n    ${f.diffs.join('\n    ')}`);
    }
    return lines.join('\n');
  }
}

// ---- 1. one instruction of every kind ----------------------------------------

const single = suite('differential: single instructions');

single('every instruction kind agrees with the reference from random states', () => {
  const rng = new Rng(SEED);
  const fails = new Failures();
  let total = 0;
  for (const kind of KINDS) {
    for (let n = 0; n < 48; n++) {
      const isa: Isa = kind.c || rng.chance(0.8) ? 'rv32imac' : 'rv32ima';
      const hostTraps = rng.chance(0.15);
      const p = pair(isa, hostTraps);
      const s = randomState(rng, isa);
      let word = (kind.match | (rng.u32() & ~kind.mask)) >>> 0;
      if (kind.name.startsWith('csr')) word = ((word & 0xfffff) | (rng.chance(0.9) ? rng.pick(CSRS) : rng.below(4096)) << 20) >>> 0;
      if (kind.c) word &= 0xffff;
      // Bias register operands: rs1 = rs2 now and then (branches taken, x - x, ...).
      const w32 = as32(word, !!kind.c);
      if (w32 !== undefined) {
        const rs1 = (w32 >>> 15) & 31;
        const rs2 = (w32 >>> 20) & 31;
        if (rs1 && rs2 && rng.chance(0.2)) s.x[rs2] = s.x[rs1]!;
        aimMemory(rng, s, w32);
      }
      if (!kind.c && rng.chance(0.03)) s.pc = RAM_BASE + RAM_SIZE - 2; // straddles the end of RAM
      if (kind.c && rng.chance(0.03)) s.pc = RAM_BASE + RAM_SIZE - 2;
      if (s.pc === RAM_BASE + RAM_SIZE - 2 && isa === 'rv32ima') s.pc -= 2;
      put(s, s.pc, kind.c ? 2 : s.pc <= RAM_BASE + RAM_SIZE - 4 ? 4 : 2, word);
      total++;
      const diffs = stepBoth(p, s);
      const label = kind.name.startsWith('csr') ? `${kind.name} ${hex(word >>> 20).slice(7)}` : kind.name;
      if (diffs.length) fails.add(label, `word ${kind.c ? word.toString(16).padStart(4, '0') : hex(word)} ${describe(s, isa, hostTraps)}`, diffs);
    }
  }
  assert.ok(fails.count === 0, fails.report(SEED, total));
});

single('fetches outside RAM fault, and a fault at the trap vector stops the hart', () => {
  const rng = new Rng(SEED ^ 0x0f0f_0f0f);
  const fails = new Failures();
  let total = 0;
  for (let n = 0; n < 400; n++) {
    const isa: Isa = rng.chance(0.8) ? 'rv32imac' : 'rv32ima';
    const hostTraps = rng.chance(0.2);
    const p = pair(isa, hostTraps);
    const s = randomState(rng, isa);
    s.msip = s.meip = false;
    s.mtimecmp = Infinity;
    s.pc = rng.pick([DEVICE, DEVICE + 0x10, WINDOW, WINDOW + 4, UNMAPPED, RAM_BASE + RAM_SIZE, RAM_BASE - 4, 0xffff_fffc]);
    if (rng.chance(0.4)) s.mtvec = s.pc | (rng.chance(0.3) ? 1 : 0);
    total++;
    const diffs = stepBoth(p, s);
    if (diffs.length) fails.add(`fetch at ${hex(s.pc)}${s.mtvec === s.pc ? ' = mtvec' : ''}`, describe(s, isa, hostTraps), diffs);
  }
  assert.ok(fails.count === 0, fails.report(SEED ^ 0x0f0f_0f0f, total));
});

single.run();

// ---- directed cases ------------------------------------------------------------

const directed = suite('differential: directed cases');

/** Run `words` from CODE in M-mode on both harts for `steps` steps, comparing after each. */
function directedCase(words: number[], steps: number, setup: (s: State) => void = () => {}, isa: Isa = 'rv32imac', hostTraps = false): string[] {
  const p = pair(isa, hostTraps);
  const s = randomState(new Rng(1), isa);
  s.x.fill(0);
  Object.assign(s, { pc: CODE, priv: 3, mstatus: 0, mie: 0, msip: false, meip: false, mtvec: HANDLER, cycle: 0, instret: 0, mtimecmp: Infinity, mcountinhibit: 0, mcounteren: 0 });
  words.forEach((w, i) => put(s, CODE + 4 * i, 4, w));
  setup(s);
  install(p, s);
  for (let i = 0; i < steps; i++) {
    const diffs = compare(p, p.ref.step(), p.hart.run(1));
    if (diffs.length) return [`after step ${i + 1}:`, ...diffs];
  }
  return [];
}

directed('a write to mcountinhibit that leaves CY clear still counts that cycle in mcycle', () => {
  // csrw mcountinhibit, x0 ; csrr a0, mcycle: one cycle has passed with counting enabled
  assert.equal(directedCase([0x3200_1073, 0xb000_2573], 2), []);
});

directed('pmpcfg0 and pmpaddr0 read as zero (no PMP entries) instead of trapping', () => {
  // csrr a0, pmpcfg0 ; csrw pmpaddr0, a1 ; csrr a2, pmpaddr0
  assert.equal(directedCase([0x3a00_2573, 0x3b05_9073, 0x3b00_2673], 3, (s) => { s.x[11] = -1; }), []);
});

directed('with hostTraps, a U-mode ecall stops at the ecall and counts as retired', () => {
  assert.equal(directedCase([0x0000_0073], 1, (s) => { s.priv = 0; }, 'rv32imac', true), []);
});

directed('wfi returns only when no enabled interrupt is pending, even with MIE clear', () => {
  const wfi = 0x1050_0073;
  assert.equal(directedCase([wfi, wfi], 2), []);
  assert.equal(directedCase([wfi, wfi], 2, (s) => { s.mie = 0x8; s.msip = true; }), []);
  assert.equal(directedCase([wfi, wfi], 2, (s) => { s.mie = 0x800; s.msip = true; }), []);
  // the timer fires exactly as the wfi retires (cycle 9 -> 10, mtime 0 -> 1)
  assert.equal(directedCase([wfi, wfi, wfi], 3, (s) => { s.mie = 0x80; s.cycle = 9; s.mtimecmp = 1; }), []);
  assert.equal(directedCase([wfi, wfi, wfi], 3, (s) => { s.mie = 0x80; s.mstatus = 8; s.cycle = 9; s.mtimecmp = 1; }), []);
});

directed('a timer interrupt is taken at the first boundary where mtime >= mtimecmp', () => {
  const nop = 0x0000_0013;
  for (const cycle of [0, 5, 9, 10, 19]) {
    assert.equal(directedCase([nop, nop, nop, nop, nop], 5, (s) => { s.mie = 0x80; s.mstatus = 8; s.cycle = cycle; s.mtimecmp = 1; }), [], `cycle ${cycle}`);
  }
});

directed('run(budget) counts trap entries and stops exactly at the budget', () => {
  const p = pair('rv32imac', false);
  for (const budget of [1, 2, 3, 10, 33]) {
    const s = randomState(new Rng(budget), 'rv32imac');
    Object.assign(s, { pc: CODE, priv: 3, mstatus: 0, mie: 0, msip: false, meip: false, mtvec: HANDLER, cycle: 0, instret: 0, mtimecmp: Infinity });
    put(s, CODE, 4, 0x0010_0073); // ebreak, whose handler is another ebreak: a trap storm
    put(s, HANDLER, 4, 0x0010_0073);
    install(p, s);
    let a = STOP_BUDGET;
    for (let i = 0; i < budget; i++) a = p.ref.step();
    const b = p.hart.run(budget);
    assert.equal(compare(p, a, b), [], `budget ${budget}`);
    assert.is(p.hart.used, budget);
  }
});

directed('rewriting the second half of an instruction that straddles a block or page boundary takes effect', () => {
  const p = pair('rv32imac', false);
  for (const at of [CODE + 0x3fe, CODE + 0xffe]) {
    for (const budget of [1, 16]) {
      const s = randomState(new Rng(at), 'rv32imac');
      Object.assign(s, { pc: at - 6, priv: 3, mstatus: 0, mie: 0, msip: false, meip: false, mtvec: HANDLER, cycle: 0, instret: 0, mtimecmp: Infinity, mcountinhibit: 0 });
      s.x.fill(0);
      [0x0001, 0x0001, 0x0001].forEach((w, i) => put(s, at - 6 + 2 * i, 2, w)); // c.nop x3
      const target = enc.i(1, 5, 0, 5, 0x13); // addi x5, x5, 1
      put(s, at, 2, target & 0xffff);
      put(s, at + 2, 2, target >>> 16);
      put(s, at + 4, 4, enc.s(0, 6, 7, 1)); // sh x6, 0(x7): rewrite the upper half
      put(s, at + 8, 4, enc.j(-8, 0)); // j target
      s.x[6] = enc.i(0x50, 5, 0, 5, 0x13) >>> 16; // ... into addi x5, x5, 0x50
      s.x[7] = at + 2;
      install(p, s);
      for (let done = 0; done < 16; done += budget) {
        let a = STOP_BUDGET;
        for (let i = 0; i < budget; i++) a = p.ref.step();
        assert.equal(compare(p, a, p.hart.run(budget)), [], `instruction at ${hex(at)}, budget ${budget}, after ${done + budget} steps`);
      }
      assert.is(p.ref.x[5], 1 + 4 * 0x50); // the rewritten instruction really ran (5 times in 16 steps)
    }
  }
});

directed.run();

// ---- 3. raw words -------------------------------------------------------------

const raw = suite('differential: raw instruction words');

raw('random 32-bit and 16-bit words agree on legality, traps and effects', () => {
  const rng = new Rng(SEED ^ 0x2a2a_2a2a);
  const fails = new Failures();
  const opcodes = [0x03, 0x0f, 0x13, 0x17, 0x23, 0x2f, 0x33, 0x37, 0x63, 0x67, 0x6f, 0x73, 0x07, 0x27, 0x43, 0x53, 0x1b, 0x3b, 0x0b, 0x2b, 0x5b, 0x7b];
  let total = 0;
  for (let n = 0; n < 6000; n++) {
    const isa: Isa = rng.chance(0.8) ? 'rv32imac' : 'rv32ima';
    const p = pair(isa, false);
    const s = randomState(rng, isa);
    s.msip = s.meip = false;
    s.mtimecmp = Infinity;
    if (rng.chance(0.8)) s.priv = 3;
    let word: number;
    let half = false;
    const r = rng.below(10);
    if (r < 3) word = rng.u32();
    else if (r < 7) word = ((rng.u32() & ~0x7f) | rng.pick(opcodes)) >>> 0;
    else if (r < 8) word = ((rng.u32() & ~0x707f) | 0x73 | (rng.below(8) << 12)) >>> 0; // SYSTEM, any funct3
    else {
      word = rng.u32() & 0xffff;
      if ((word & 3) === 3) word ^= 1 << rng.below(2);
      half = true;
    }
    const w32 = as32(word, half || (word & 3) !== 3);
    if (w32 !== undefined) aimMemory(rng, s, w32);
    put(s, s.pc, half ? 2 : 4, word);
    total++;
    const diffs = stepBoth(p, s);
    if (diffs.length) {
      const system = !half && (word & 0x7f) === 0x73 ? ` csr 0x${(word >>> 20).toString(16)}` : '';
      const label = half ? `16-bit ${isa} quadrant ${word & 3} funct3 ${word >>> 13}` : `32-bit ${isa} opcode ${hex(word & 0x7f)} funct3 ${(word >>> 12) & 7}${system}`;
      fails.add(label, `word ${half ? word.toString(16).padStart(4, '0') : hex(word)} ${describe(s, isa, false)}`, diffs);
    }
  }
  assert.ok(fails.count === 0, fails.report(SEED ^ 0x2a2a_2a2a, total));
});

raw.run();

// ---- 2. random programs -------------------------------------------------------

/**
 * Registers with a fixed job in generated programs: x2/x3/x8 point into the
 * data area, x4 counts loop iterations, x30 points at the interrupt-raising
 * device, x31 belongs to the trap handler.
 */
const PINNED = new Set([2, 3, 4, 8, 30, 31]);

class Asm {
  readonly words: Array<[number, number]> = []; // [value, bytes]
  at = 0;
  emit(w: number): void {
    this.words.push([w >>> 0, 4]);
    this.at += 4;
  }
  emit16(w: number): void {
    this.words.push([w & 0xffff, 2]);
    this.at += 2;
  }
}

const enc = {
  r: (f7: number, rs2: number, rs1: number, f3: number, rd: number, op = 0x33) => ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0,
  i: (imm: number, rs1: number, f3: number, rd: number, op: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0,
  s: (imm: number, rs2: number, rs1: number, f3: number) => ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | 0x23) >>> 0,
  b: (off: number, rs2: number, rs1: number, f3: number) =>
    ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0,
  j: (off: number, rd: number) =>
    ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0,
  u: (imm20: number, rd: number, op: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | op) >>> 0,
};

/** A random free register (not pinned), x0 now and then. */
function freeReg(rng: Rng): number {
  if (rng.chance(0.03)) return 0;
  for (;;) {
    const r = 1 + rng.below(31);
    if (!PINNED.has(r)) return r;
  }
}

/** x9..x15: free registers a compressed instruction can name. */
const freeRegC = (rng: Rng) => 9 + rng.below(7);

/** One random straight-line instruction that keeps the pinned registers intact. */
function straight(rng: Rng, a: Asm, allowC: boolean, allowTraps: boolean): void {
  const rd = freeReg(rng);
  const rs1 = rng.chance(0.9) ? freeReg(rng) : rng.below(32);
  const rs2 = rng.chance(0.9) ? freeReg(rng) : rng.below(32);
  const r = rng.below(allowC ? 24 : 20);
  switch (r) {
    case 0: case 1: case 2: {
      const ops = [[0, 0], [0x20, 0], [0, 1], [0, 2], [0, 3], [0, 4], [0, 5], [0x20, 5], [0, 6], [0, 7]] as const;
      const [f7, f3] = rng.pick(ops);
      a.emit(enc.r(f7, rs2, rs1, f3, rd));
      return;
    }
    case 3: case 4:
      a.emit(enc.r(1, rs2, rs1, rng.below(8), rd));
      return;
    case 5: case 6: {
      const f3 = rng.pick([0, 2, 3, 4, 6, 7, 1, 5]);
      let imm = rng.below(4096) - 2048;
      if (f3 === 1) imm = rng.below(32);
      if (f3 === 5) imm = rng.below(32) | (rng.chance(0.5) ? 0x400 : 0);
      a.emit(enc.i(imm, rs1, f3, rd, 0x13));
      return;
    }
    case 7:
      a.emit(enc.u(rng.u32(), rd, rng.pick([0x37, 0x17])));
      return;
    case 8: case 9: {
      // load from the data area through x3 (word aligned base) or x2
      const f3 = rng.pick([0, 1, 2, 4, 5]);
      const w = 1 << (f3 & 3);
      a.emit(enc.i(rng.below(2048 / w) * w, rng.pick([2, 3]), f3, rd, 0x03));
      return;
    }
    case 10: case 11: {
      const f3 = rng.below(3);
      const w = 1 << f3;
      a.emit(enc.s(rng.below(2048 / w) * w, rs2, rng.pick([2, 3]), f3));
      return;
    }
    case 12: {
      // AMO / LR / SC on a word of the data area at x8 + 0
      const f5 = rng.pick([0x00, 0x01, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c, 0x02, 0x03, 0x03]);
      a.emit(enc.r((f5 << 2) | rng.below(4), f5 === 0x02 ? 0 : rs2, 8, 2, rd, 0x2f));
      return;
    }
    case 13: {
      // counters, scratch and status reads; mscratch writes
      const csr = rng.pick([0xb00, 0xb02, 0xb80, 0xc00, 0xc01, 0xc02, 0xc81, 0x340, 0x300, 0x344, 0x304, 0xf14]);
      a.emit(enc.i(csr, 0, 2, rd, 0x73));
      return;
    }
    case 14:
      a.emit(enc.i(0x340, rs1, rng.pick([1, 2, 3]), rd, 0x73));
      return;
    case 15:
      if (allowTraps) {
        // something that traps: handled by skipping 4 bytes
        a.emit(rng.pick([0x0000_0073, 0x0010_0073, 0x0000_007b, enc.i(1, 3, 2, rd, 0x03), enc.s(2, rs2, 3, 2), enc.i(0x302, 0, 2, rd, 0x73), 0x1050_0073]));
        return;
      }
      a.emit(enc.i(rng.below(4096), rs1, 0, rd, 0x13));
      return;
    case 16:
      if (rng.chance(0.5)) a.emit(rng.pick([0x0ff0_000f, 0x0000_100f, 0x8330_000f]));
      else a.emit(enc.s(rng.pick([0, 4]), rs2, 30, 2)); // raise or drop MEIP / MSIP
      return;
    case 17: case 18: case 19:
      a.emit(enc.i(rng.below(4096) - 2048, rs1, 0, rd, 0x13));
      return;
    default: {
      // compressed ALU and memory forms on x9..x15 / sp
      const rdc = freeRegC(rng);
      const rsc = freeRegC(rng);
      const p = rdc - 8;
      const q = rsc - 8;
      const imm6 = rng.below(64);
      const forms = [
        0x0001 | (rdc << 7) | ((imm6 & 0x1f) << 2) | ((imm6 >> 5) << 12), // c.addi
        0x4001 | (rdc << 7) | ((imm6 & 0x1f) << 2) | ((imm6 >> 5) << 12), // c.li
        0x8c01 | (p << 7) | (q << 2) | (rng.below(4) << 5), // c.sub/xor/or/and
        0x8002 | (rdc << 7) | (rsc << 2), // c.mv
        0x9002 | (rdc << 7) | (rsc << 2), // c.add
        0x8001 | (p << 7) | ((imm6 & 0x1f) << 2) | (rng.below(3) << 10), // c.srli/srai/andi (shamt < 32)
        0x0002 | (rdc << 7) | ((imm6 & 0x1f) << 2), // c.slli
        0x4000 | (p << 2) | (rng.below(4) << 5) | (rng.below(8) << 10), // c.lw rd', off(x8)
        0xc000 | (q << 2) | (rng.below(4) << 5) | (rng.below(8) << 10), // c.sw rs2', off(x8)
        0x4002 | (rdc << 7) | (rng.below(32) << 2) | (rng.below(2) << 12), // c.lwsp

        0xc002 | (rsc << 2) | (rng.below(64) << 7), // c.swsp
      ];
      a.emit16(rng.pick(forms));
    }
  }
}

/**
 * A loop that rewrites one of its own instructions, with a different
 * immediate each time round, before executing it (with or without fence.i):
 * decoded-instruction caches must notice.
 */
/**
 * One of the instruction pairs the interpreter fuses into one dispatch (hart.ts,
 * "Fused pairs"): addi+addi, lw+lw, lh+lh, mul+add, add+bne, addi+bne. Loads
 * sometimes miss (misaligned) in either half; branches skip a short run forward.
 */
function fusedPair(rng: Rng, a: Asm, allowC: boolean, allowTraps: boolean): void {
  const rd = freeReg(rng);
  const r1 = freeReg(rng);
  const r2 = freeReg(rng);
  const load = (f3: number) => {
    const w = f3 === 2 ? 4 : 2;
    const off = rng.below(2048 / w) * w + (allowTraps && rng.chance(0.1) ? 1 : 0);
    a.emit(enc.i(off, rng.pick([2, 3]), f3, freeReg(rng), 0x03));
  };
  const bneOver = () => {
    const at = a.words.length;
    const from = a.at;
    a.emit(0);
    for (let n = 1 + rng.below(3); n > 0; n--) straight(rng, a, allowC, false);
    a.words[at] = [enc.b(a.at - from, rng.chance(0.5) ? 0 : r2, rd, 1), 4];
  };
  switch (rng.below(6)) {
    case 0:
      a.emit(enc.i(rng.below(4096) - 2048, r1, 0, rd, 0x13));
      a.emit(enc.i(rng.below(4096) - 2048, rng.chance(0.5) ? rd : r2, 0, freeReg(rng), 0x13));
      return;
    case 1: load(2); load(2); return;
    case 2: load(1); load(1); return;
    case 3:
      a.emit(enc.r(1, r2, r1, 0, rd)); // mul
      a.emit(enc.r(0, rd, r2, 0, rng.chance(0.5) ? r2 : freeReg(rng))); // add, often accumulating
      return;
    case 4:
      a.emit(enc.r(0, r2, r1, 0, rd)); // add
      bneOver();
      return;
    default:
      a.emit(enc.i(rng.below(16) - 8, r1, 0, rd, 0x13)); // addi
      bneOver();
      return;
  }
}

function selfModifyingLoop(rng: Rng, a: Asm, allowC: boolean): void {
  const regs: number[] = [];
  while (regs.length < 4) {
    const r = freeReg(rng);
    if (r !== 0 && !regs.includes(r)) regs.push(r);
  }
  const [ra, rb, rc, rd] = regs as [number, number, number, number];
  const word = enc.i(rng.below(2048), rd, 0, rd, 0x13); // addi rd, rd, imm
  a.emit(enc.u((word + 0x800) >>> 12, rb, 0x37)); // lui rb, %hi(word)
  a.emit(enc.i(word & 0xfff, rb, 0, rb, 0x13)); // addi rb, rb, %lo(word)
  a.emit(enc.u(0x100, rc, 0x37)); // lui rc, 0x100: rc = 1 << 20, one more in the addi immediate
  a.emit(enc.i(1 + rng.below(4), 0, 0, 4, 0x13)); // li x4, k
  if (allowC && a.at % 4 !== 0) a.emit16(0x0001); // c.nop: keep the sw aligned
  const top = a.at;
  a.emit(enc.u(0, ra, 0x17)); // auipc ra, 0
  const fence = rng.chance(0.5);
  a.emit(enc.s(fence ? 12 : 8, rb, ra, 2)); // sw rb, target(ra)
  if (fence) a.emit(0x0000_100f); // fence.i
  // Half the time the target is the second half of a fused addi+addi pair.
  if (!fence && rng.chance(0.5)) {
    a.words[a.words.length - 1] = [enc.s(12, rb, ra, 2), 4]; // sw rb, target(ra) past the extra addi
    a.emit(enc.i(1, rd, 0, rd, 0x13)); // addi rd, rd, 1
  }
  a.emit(enc.i(100, rd, 0, rd, 0x13)); // target: addi rd, rd, 100 until rewritten
  a.emit(enc.r(0, rc, rb, 0, rb)); // add rb, rb, rc
  a.emit(enc.i(-1, 4, 0, 4, 0x13)); // addi x4, x4, -1
  a.emit(enc.b(top - a.at, 0, 4, 1)); // bnez x4, top
}

interface Program {
  words: Array<[number, number]>;
  start: number;
}

/**
 * Straight-line runs, forward branches over a few instructions, bounded
 * loops (x4 counts down to a backward bnez) and forward jal; ends in a jump
 * to itself so any number of steps stays inside the program.
 */
function program(rng: Rng, allowC: boolean): Program {
  const a = new Asm();
  a.at = 0;
  while (a.at < 0xc00) {
    const r = rng.below(10);
    if (r < 5) {
      for (let n = 1 + rng.below(8); n > 0; n--) straight(rng, a, allowC, true);
    } else if (r < 6 && rng.chance(0.5)) {
      for (let n = 1 + rng.below(4); n > 0; n--) fusedPair(rng, a, allowC, true);
    } else if (r < 7) {
      // forward branch over a short run, taken or not depending on the data
      const f3 = rng.pick([0, 1, 4, 5, 6, 7]);
      const at = a.words.length;
      const from = a.at;
      a.emit(0);
      for (let n = 1 + rng.below(4); n > 0; n--) straight(rng, a, allowC, false);
      const off = a.at - from;
      a.words[at] = [enc.b(off, freeReg(rng), freeReg(rng), f3), 4];
    } else if (r < 9) {
      // a bounded loop
      a.emit(enc.i(1 + rng.below(4), 0, 0, 4, 0x13)); // li x4, k
      const top = a.at;
      for (let n = 1 + rng.below(6); n > 0; n--) straight(rng, a, allowC, false);
      a.emit(enc.i(-1, 4, 0, 4, 0x13)); // addi x4, x4, -1
      if (allowC && rng.chance(0.5)) {
        const off = top - a.at;
        // c.bnez x4 is impossible (x4 is not a compressed register): use the 32-bit form
        a.emit(enc.b(off, 0, 4, 1));
      } else {
        a.emit(enc.b(top - a.at, 0, 4, 1));
      }
    } else if (rng.chance(0.5)) {
      selfModifyingLoop(rng, a, allowC);
    } else {
      // jal forward over a few instructions, linking into a free register
      const at = a.words.length;
      const from = a.at;
      a.emit(0);
      for (let n = 1 + rng.below(3); n > 0; n--) straight(rng, a, allowC, false);
      a.words[at] = [enc.j(a.at - from, freeReg(rng)), 4];
    }
  }
  a.emit(enc.j(0, 0)); // j .
  return { words: a.words, start: CODE };
}

/**
 * An exception skips the 4-byte faulting instruction; an interrupt (mcause <
 * 0) drops the device lines and the timer enable, then returns.
 */
const HANDLER_CODE = [
  enc.i(0x342, 0, 2, 31, 0x73), // csrr x31, mcause
  enc.b(20, 0, 31, 4), // blt x31, x0, +20
  enc.i(0x341, 0, 2, 31, 0x73), // csrr x31, mepc
  enc.i(4, 31, 0, 31, 0x13), // addi x31, x31, 4
  enc.i(0x341, 31, 1, 0, 0x73), // csrw mepc, x31
  0x3020_0073, // mret
  enc.s(0, 0, 30, 2), // sw x0, 0(x30)
  enc.s(4, 0, 30, 2), // sw x0, 4(x30)
  enc.i(0x80, 0, 0, 31, 0x13), // li x31, 0x80
  enc.i(0x304, 31, 3, 0, 0x73), // csrc mie, x31
  0x3020_0073, // mret
];

function programState(rng: Rng, isa: Isa, prog: Program): State {
  const s = randomState(rng, isa);
  let at = prog.start;
  for (const [w, bytes] of prog.words) {
    put(s, at, bytes, w);
    at += bytes;
  }
  HANDLER_CODE.forEach((w, i) => put(s, HANDLER + 4 * i, 4, w));
  s.pc = prog.start;
  s.mtvec = HANDLER;
  s.x[2] = DATA + 0x1000;
  s.x[3] = DATA;
  s.x[8] = DATA + 0x1800;
  s.x[4] = 0;
  s.x[30] = DEVICE;
  s.msip = s.meip = false;
  s.priv = rng.chance(0.4) ? 0 : 3;
  s.mstatus &= ~((3 << 11) | (1 << 3));
  if (s.priv === 3) s.mstatus |= 3 << 11; // the handler returns to the mode it came from
  if (rng.chance(0.7)) s.mstatus |= 1 << 3;
  s.mie = (rng.chance(0.7) ? 0x80 : 0) | (rng.chance(0.7) ? 0x808 : 0);
  s.mtimecmp = rng.chance(0.3) ? Infinity : Math.floor(s.cycle / 10) + 5 + rng.below(40);
  s.mcountinhibit = rng.chance(0.2) ? rng.below(8) : 0;
  return s;
}

/** Step the reference up to `budget` times; it stops early at anything but STOP_BUDGET. */
function refRun(p: Pair, budget: number): { stop: number; steps: number } {
  let steps = 0;
  let stop = STOP_BUDGET;
  while (steps < budget) {
    stop = p.ref.step();
    steps++;
    if (stop !== STOP_BUDGET) break;
  }
  return { stop, steps };
}

const streams = suite('differential: random programs');

streams('random programs run in lock step, instruction by instruction', () => {
  const rng = new Rng(SEED ^ 0x1234_5678);
  const fails = new Failures();
  const seen = { exceptions: 0, interrupts: 0, wfi: 0, userSteps: 0, compressed: 0 };
  let total = 0;
  for (let n = 0; n < 40; n++) {
    const isa: Isa = rng.chance(0.75) ? 'rv32imac' : 'rv32ima';
    const p = pair(isa, false);
    const prog = program(rng, isa === 'rv32imac');
    const s = programState(rng, isa, prog);
    install(p, s);
    total++;
    for (let step = 0; step < 600; step++) {
      if (p.ref.priv === 0) seen.userSteps++;
      if ((p.rs.bus.load(p.ref.pc, 2) & 3) !== 3) seen.compressed++;
      const a = p.ref.step();
      if (a === STOP_WFI) seen.wfi++;
      if (p.ref.pc === HANDLER) seen[(p.ref.mcause | 0) < 0 ? 'interrupts' : 'exceptions']++;
      let b: number;
      try {
        b = p.hart.run(1);
      } catch (e) {
        fails.add(`program ${n}`, `threw at step ${step}`, [String((e as Error).stack ?? e)]);
        break;
      }
      const diffs = compare(p, a, b);
      if (diffs.length) {
        const at = (p.ref.pc - RAM_BASE) >>> 0;
        fails.add(`program ${n} (${isa})`, `step ${step}, reference now at ${hex(p.ref.pc)} (word ${hex(p.rs.bus.load(RAM_BASE + Math.min(at, RAM_SIZE - 4), 4))}); start ${describe(s, isa, false)}`, diffs);
        break;
      }
    }
  }
  assert.ok(fails.count === 0, fails.report(SEED ^ 0x1234_5678, total));
  // The generator must keep reaching the interesting paths, or this test proves little.
  for (const [what, n] of Object.entries(seen)) assert.ok(n >= 10, `only ${n} ${what} in the generated programs`);
  if (globalThis.process?.env.RVISOR_DIFF_STATS) console.log(seen);
});

streams('run(budget) stops after exactly the budget, like that many reference steps, chunk after chunk', () => {
  const rng = new Rng(SEED ^ 0x0bad_cafe);
  const fails = new Failures();
  let total = 0;
  for (let n = 0; n < 40; n++) {
    const isa: Isa = rng.chance(0.75) ? 'rv32imac' : 'rv32ima';
    const p = pair(isa, false);
    const prog = program(rng, isa === 'rv32imac');
    const s = programState(rng, isa, prog);
    install(p, s);
    total++;
    // Several budgets in a row, so chunks end at every kind of place (inside fused pairs too).
    for (let chunk = 0; chunk < 8; chunk++) {
      const budget = rng.pick([1, 2, 3, 7, 64, 1 + rng.below(3000)]);
      const instret0 = p.ref.instret;
      const { stop: a, steps } = refRun(p, budget);
      const b = p.hart.run(budget);
      const diffs = compare(p, a, b);
      if (p.hart.used !== steps) diffs.push(`used: reference steps ${steps} vs hart.used ${p.hart.used}`);
      if (p.hart.retired !== p.ref.instret - instret0) diffs.push(`retired: reference ${p.ref.instret - instret0} vs hart ${p.hart.retired}`);
      if (diffs.length) {
        fails.add(`program ${n} (${isa})`, `chunk ${chunk}, budget ${budget}; start ${describe(s, isa, false)}`, diffs);
        break;
      }
      if (a !== STOP_BUDGET) break;
    }
  }
  assert.ok(fails.count === 0, fails.report(SEED ^ 0x0bad_cafe, total));
});

streams('app profile: hypercalls and faults stop both harts at the same instruction with the same counts', () => {
  const rng = new Rng(SEED ^ 0x0a99_0a99);
  const fails = new Failures();
  let total = 0;
  let ecalls = 0;
  for (let n = 0; n < 30; n++) {
    const isa: Isa = rng.chance(0.75) ? 'rv32imac' : 'rv32ima';
    const p = pair(isa, true);
    const prog = program(rng, isa === 'rv32imac');
    // SYSTEM instructions (M-mode CSRs, ebreak, wfi: faults in U-mode) become
    // hypercalls, so programs run on past them.
    for (const w of prog.words) if (w[1] === 4 && ((w[0] & 0x7f) === 0x73 || w[0] === 0x0000_007b)) w[0] = 0x0000_0073;
    const s = programState(rng, isa, prog);
    s.priv = 0;
    s.mstatus &= ~(3 << 11);
    install(p, s);
    total++;
    for (let remaining = 3000; remaining > 0; ) {
      const budget = 1 + rng.below(300);
      const { stop: a, steps } = refRun(p, budget);
      const instret0 = p.hart.instret;
      const b = p.hart.run(budget);
      const diffs = compare(p, a, b);
      // A fault stop consumes nothing (nothing retired, no trap entered); a
      // hypercall stop retired the ecall, so it is one unit like any instruction.
      const units = a === STOP_FAULT ? steps - 1 : steps;
      if (p.hart.used !== units) diffs.push(`used: reference ${units} (${steps} steps, stop ${a}) vs hart.used ${p.hart.used}`);
      if (p.hart.retired !== p.hart.instret - instret0) diffs.push(`retired: ${p.hart.retired} but instret moved by ${p.hart.instret - instret0}`);
      if (diffs.length) {
        fails.add(`program ${n} (${isa}) stop ${a}`, `budget ${budget} after ${3000 - remaining} steps; start ${describe(s, isa, true)}`, diffs);
        break;
      }
      if (a === STOP_FAULT) break;
      if (a === STOP_ECALL) {
        // What the VM does for a hypercall: a result in a0, pc past the ecall.
        ecalls++;
        const result = rng.value();
        for (const h of [p.ref, p.hart]) {
          h.x[10] = result;
          h.pc = (h.pc + 4) >>> 0;
        }
      }
      remaining -= steps;
    }
  }
  assert.ok(fails.count === 0, fails.report(SEED ^ 0x0a99_0a99, total));
  assert.ok(ecalls >= 20, `only ${ecalls} hypercalls in the generated programs`);
  if (globalThis.process?.env.RVISOR_DIFF_STATS) console.log({ ecalls });
});

streams.run();
