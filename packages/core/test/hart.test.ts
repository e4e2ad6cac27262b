import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Bus } from '../src/memory/bus.ts';
import {
  CAUSE_BREAKPOINT, CAUSE_ECALL_M, CAUSE_ECALL_U, CAUSE_FETCH_ACCESS, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_INTERRUPT,
  CAUSE_LOAD_ACCESS, CAUSE_MISALIGNED_FETCH, CAUSE_MISALIGNED_LOAD, CAUSE_MISALIGNED_STORE, CAUSE_STORE_ACCESS,
  CSR_CYCLE, CSR_INSTRET, CSR_MCAUSE, CSR_MCOUNTEREN, CSR_MCOUNTINHIBIT, CSR_MCYCLE, CSR_MCYCLEH, CSR_MEDELEG, CSR_MEPC,
  CSR_MHARTID, CSR_MHPMCOUNTER3, CSR_MIDELEG, CSR_MIE, CSR_MINSTRET, CSR_MIP, CSR_MISA, CSR_MSCRATCH, CSR_MSTATUS,
  CSR_MSTATUSH, CSR_MTVEC, CSR_MVENDORID, CSR_TDATA1, CSR_TIME, CSR_TIMEH, CSR_TSELECT, Hart, INT_MEI, INT_MSI, INT_MTI,
  MIP_MEIP, MIP_MSIP, MIP_MTIP, MSTATUS_MIE, MSTATUS_MPIE, MSTATUS_MPP, PRIV_M, PRIV_U, STOP_BUDGET, STOP_ECALL,
  STOP_FAULT, STOP_HALT, STOP_WFI,
} from '../src/cpu/index.ts';
import type { HartOptions } from '../src/cpu/index.ts';
import * as A from './_asm.ts';

const BASE = 0x8000_0000;
const RAM = 0x10000;
const DATA = BASE + 0x4000;
const HANDLER = BASE + 0x8000;
const INSN_BITS = (i: A.Insn): number => (typeof i === 'number' ? i : i.half);

/** A hart with `code` at BASE and a `wfi` trap handler at HANDLER (so a trap ends run() with STOP_WFI). */
function machine(code: (A.Insn | A.Insn[])[], opts: HartOptions = {}): { bus: Bus; h: Hart } {
  const bus = new Bus(new Uint8Array(RAM), BASE);
  bus.writeRam(BASE, A.program(...code));
  bus.writeRam(HANDLER, A.program(A.wfi()));
  const h = new Hart(bus, opts);
  h.mtvec = HANDLER;
  return { bus, h };
}

/** Run a single instruction with registers preset; returns the hart after it retired. */
function step(insn: A.Insn, regs: Record<number, number> = {}, opts: HartOptions = {}): Hart {
  const { h } = machine([insn], opts);
  for (const [k, v] of Object.entries(regs)) h.x[Number(k)] = v;
  assert.is(h.run(1), STOP_BUDGET);
  assert.is(h.mcause, 0, 'no trap');
  return h;
}

/** Run until the trap handler's wfi; returns the hart with mcause/mepc/mtval of the trap. */
function trap(h: Hart, budget = 1000): Hart {
  assert.is(h.run(budget), STOP_WFI);
  assert.is(h.pc, HANDLER + 4, 'stopped in the trap handler');
  return h;
}

function expectTrap(code: (A.Insn | A.Insn[])[], cause: number, epc: number, tval: number, opts: HartOptions = {}, setup?: (h: Hart) => void): Hart {
  const { h } = machine(code, opts);
  setup?.(h);
  trap(h);
  assert.is(h.csrRead(CSR_MCAUSE), cause >>> 0, 'mcause');
  assert.is(h.csrRead(CSR_MEPC), epc >>> 0, 'mepc');
  assert.is(h.mtval >>> 0, tval >>> 0, 'mtval');
  assert.is(h.priv, PRIV_M);
  return h;
}

const config = suite('hart: configuration errors');

config('an unknown ISA, a misaligned RAM base or RAM over 1 GiB is refused with a code', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return undefined;
  };
  assert.is(code(() => new Hart(new Bus(new Uint8Array(4096), BASE), { isa: 'rv64gc' as 'rv32ima' })), 'HART_BAD_ISA');
  assert.is(code(() => new Hart(new Bus(new Uint8Array(4096), BASE + 2))), 'HART_RAM_ALIGNMENT');
  // Pages of a fresh buffer are never touched here, so this costs no memory.
  assert.is(code(() => new Hart(new Bus(new Uint8Array(0x4000_0000 + 4096), 0))), 'HART_RAM_SIZE');
  assert.is(new Hart(new Bus(new Uint8Array(4096), BASE)).pc, BASE);
});

config.run();

// ---------------------------------------------------------------------------------------------

const EDGES = [0, 1, -1, 2, -2, 3, 7, -7, 0x7fffffff, -0x80000000, 0x12345678, -0x12345678, 0xffff, 0x10000, 0x55555555, -0x55555556];

// ---------------------------------------------------------------------------------------------

const alu = suite('hart: integer instructions match the spec on edge values');

alu('add/sub/logic/compare against BigInt arithmetic', () => {
  const i32 = (v: bigint) => Number(BigInt.asIntN(32, v));
  for (const a of EDGES) {
    for (const b of EDGES) {
      const A_ = BigInt(a), B_ = BigInt(b);
      const ua = BigInt(a >>> 0), ub = BigInt(b >>> 0);
      const cases: [number, number][] = [
        [A.add(3, 1, 2), i32(A_ + B_)],
        [A.sub(3, 1, 2), i32(A_ - B_)],
        [A.xor(3, 1, 2), i32(A_ ^ B_)],
        [A.or(3, 1, 2), i32(A_ | B_)],
        [A.and(3, 1, 2), i32(A_ & B_)],
        [A.slt(3, 1, 2), A_ < B_ ? 1 : 0],
        [A.sltu(3, 1, 2), ua < ub ? 1 : 0],
        [A.sll(3, 1, 2), i32(ua << (ub & 31n))],
        [A.srl(3, 1, 2), i32(ua >> (ub & 31n))],
        [A.sra(3, 1, 2), i32(A_ >> (ub & 31n))],
      ];
      for (const [insn, want] of cases) assert.is(step(insn, { 1: a, 2: b }).x[3], want, `${insn.toString(16)} ${a} ${b}`);
    }
  }
});

alu('M extension: full 64-bit high products, division by zero and overflow per spec', () => {
  const i32 = (v: bigint) => Number(BigInt.asIntN(32, v));
  for (const a of EDGES) {
    for (const b of EDGES) {
      const sa = BigInt(a), sb = BigInt(b), ua = BigInt(a >>> 0), ub = BigInt(b >>> 0);
      const divs = b === 0 ? -1 : a === -0x80000000 && b === -1 ? a : i32(sa / sb);
      const rems = b === 0 ? a : a === -0x80000000 && b === -1 ? 0 : i32(sa % sb);
      const divu = b === 0 ? -1 : i32(ua / ub);
      const remu = b === 0 ? a : i32(ua % ub);
      const cases: [number, number, string][] = [
        [A.mul(3, 1, 2), i32(sa * sb), 'mul'],
        [A.mulh(3, 1, 2), i32((sa * sb) >> 32n), 'mulh'],
        [A.mulhsu(3, 1, 2), i32((sa * ub) >> 32n), 'mulhsu'],
        [A.mulhu(3, 1, 2), i32((ua * ub) >> 32n), 'mulhu'],
        [A.div(3, 1, 2), divs, 'div'],
        [A.rem(3, 1, 2), rems, 'rem'],
        [A.divu(3, 1, 2), divu, 'divu'],
        [A.remu(3, 1, 2), remu, 'remu'],
      ];
      for (const [insn, want, name] of cases) assert.is(step(insn, { 1: a, 2: b }).x[3], want, `${name} ${a} ${b}`);
    }
  }
});

alu('immediate forms, shifts by immediate, lui/auipc', () => {
  for (const a of EDGES) {
    assert.is(step(A.addi(3, 1, -2048), { 1: a }).x[3], (a - 2048) | 0);
    assert.is(step(A.slti(3, 1, -1), { 1: a }).x[3], a < -1 ? 1 : 0);
    assert.is(step(A.sltiu(3, 1, -1), { 1: a }).x[3], (a >>> 0) < 0xffffffff ? 1 : 0, 'sltiu compares with the sign-extended immediate as unsigned');
    assert.is(step(A.xori(3, 1, -1), { 1: a }).x[3], ~a);
    assert.is(step(A.ori(3, 1, 0x7f0), { 1: a }).x[3], a | 0x7f0);
    assert.is(step(A.andi(3, 1, -16), { 1: a }).x[3], a & -16);
    for (const sh of [0, 1, 15, 31]) {
      assert.is(step(A.slli(3, 1, sh), { 1: a }).x[3], a << sh);
      assert.is(step(A.srli(3, 1, sh), { 1: a }).x[3], (a >>> sh) | 0);
      assert.is(step(A.srai(3, 1, sh), { 1: a }).x[3], a >> sh);
    }
  }
  assert.is(step(A.lui(3, 0xfffff000)).x[3], -4096);
  const h = step(A.auipc(3, 0x80000000 | 0));
  assert.is(h.x[3] >>> 0, (BASE + 0x80000000) >>> 0);
});

alu('x0 stays zero whatever writes it', () => {
  const { h } = machine([
    A.addi(0, 0, 5), A.lui(0, 0x12345000), A.lw(0, 1, 0), A.jal(0, 4), A.csrrs(0, CSR_MSCRATCH, 0), A.amoadd(0, 1, 2),
    A.cLi(0, 3), A.cMv(0, 2), A.add(3, 0, 0),
  ]);
  h.x[1] = DATA;
  h.x[2] = 9;
  assert.is(h.run(9), STOP_BUDGET);
  assert.is(h.x[0], 0);
  assert.is(h.x[3], 0);
});

alu.run();

// ---------------------------------------------------------------------------------------------

const mem = suite('hart: loads sign/zero-extend, stores write the right bytes');

mem('byte and halfword loads', () => {
  const { bus, h } = machine([A.lb(3, 1, 0), A.lbu(4, 1, 0), A.lh(5, 1, 0), A.lhu(6, 1, 0), A.lw(7, 1, 0), A.lb(8, 1, 1), A.lh(9, 1, 2)]);
  bus.writeRam(DATA, new Uint8Array([0x80, 0x7f, 0xff, 0x80]));
  h.x[1] = DATA;
  h.run(7);
  assert.equal([h.x[3], h.x[4], h.x[5], h.x[6], h.x[7], h.x[8], h.x[9]], [-128, 128, 0x7f80, 0x7f80, 0x80ff7f80 | 0, 127, -32513]);
});

mem('stores of each width, little-endian', () => {
  const { bus, h } = machine([A.sw(2, 1, 0), A.sh(2, 1, 4), A.sb(2, 1, 7), A.cSw(10, 8, 8)]);
  h.x[1] = DATA;
  h.x[2] = 0x11223344;
  h.x[8] = DATA;
  h.x[10] = -2;
  h.run(4);
  assert.equal([...bus.readRam(DATA, 12)], [0x44, 0x33, 0x22, 0x11, 0x44, 0x33, 0, 0x44, 0xfe, 0xff, 0xff, 0xff]);
});

mem('device loads and stores go through the bus', () => {
  const seen: number[] = [];
  const { bus, h } = machine([A.lw(3, 1, 4), A.sh(2, 1, 2), A.lbu(4, 1, 1), A.lh(5, 1, 0)]);
  bus.mapDevice('dev', 0x1000_0000, 0x100, {
    read: (off, width) => (width === 1 ? 0xab : width === 2 ? 0x8001 : 0xdeadbeef + off),
    write: (off, width, v) => seen.push(off, width, v),
  });
  h.x[1] = 0x1000_0000;
  h.x[2] = 0x12345;
  assert.is(h.run(4), STOP_BUDGET);
  assert.is(h.x[3] >>> 0, 0xdeadbeef + 4);
  assert.equal(seen, [2, 2, 0x2345]);
  assert.is(h.x[4], 0xab);
  assert.is(h.x[5], -32767);
});

mem('a device access sees the registers as the instructions before it left them', () => {
  const seen: number[] = [];
  const { bus, h } = machine([A.addi(5, 0, 77), A.lw(3, 1, 0), A.addi(6, 3, 1), A.sw(6, 1, 4)]);
  bus.mapDevice('dev', 0x1000_0000, 0x100, {
    read: () => h.x[5]!,
    write: () => seen.push(h.x[6]!),
  });
  h.x[1] = 0x1000_0000;
  assert.is(h.run(4), STOP_BUDGET);
  assert.is(h.x[3], 77);
  assert.equal(seen, [78]);
});

mem.run();

// ---------------------------------------------------------------------------------------------

const ctl = suite('hart: jumps and branches');

ctl('jal/jalr link the next pc; jalr clears bit 0; branches take both directions', () => {
  const { h } = machine([
    A.jal(1, 8), // 0
    A.ebreak(), // 4 (skipped)
    A.addi(5, 0, 13), // 8
    A.auipc(6, 0), // 12
    A.add(6, 6, 5), // 16: x6 = BASE + 12 + 13 = BASE + 25
    A.jalr(7, 6, 3), // 20: target (BASE + 28) & ~1 = BASE + 28
    A.addi(8, 0, 1), // 24 (skipped)
    A.cLi(9, 1), // 28
    A.blt(0, 9, 8), // 30: taken -> 38
    A.ebreak(), // 34
    A.bgeu(0, 9, 8), // 38: not taken
    A.bltu(9, 0, 8), // 42: not taken
  ]);
  h.run(9);
  assert.is(h.x[1] >>> 0, BASE + 4);
  assert.is(h.x[7] >>> 0, BASE + 24);
  assert.is(h.x[8], 0);
  assert.is(h.pc >>> 0, BASE + 46);
});

ctl('compressed jumps link pc + 2', () => {
  const { h } = machine([A.cJal(4), A.cNop(), A.cJr(1), A.cNop()]);
  h.run(2);
  assert.is(h.x[1] >>> 0, BASE + 2);
  assert.is(h.pc, BASE + 2);
  const { h: h2 } = machine([A.cNop(), A.cJalr(5)]);
  h2.x[5] = BASE;
  h2.run(2);
  assert.is(h2.x[1] >>> 0, BASE + 4);
  assert.is(h2.pc, BASE);
});

ctl('branches and jumps that leave their 1 KiB decode block, or stay in it, however the run is sliced', () => {
  for (const isa of ['rv32imac', 'rv32ima'] as const) {
    const layout = (): { bus: Bus; h: Hart } => {
      // A loop straddling the block boundary at BASE + 0x400, entered by a far jal,
      // closed by a far backward branch; a jalr back to the first block and one
      // that stays in its block.
      const { bus, h } = machine([A.addi(9, 0, 5), A.jal(1, 0x3f0 - 4)], { isa });
      bus.writeRam(BASE + 0x3f0, A.program(
        A.addi(5, 5, 1), // 0x3f0
        A.addi(6, 6, 2), // 0x3f4
        A.addi(7, 7, 3), // 0x3f8
        A.add(8, 8, 5), // 0x3fc
        A.blt(5, 9, -16), // 0x400: far, backward
        A.beq(5, 9, 8), // 0x404: near, taken
        A.ebreak(), // 0x408
        A.auipc(10, 0), // 0x40c
        A.jalr(11, 10, 12), // 0x410: to 0x418, in the block
        A.ebreak(), // 0x414
        A.jalr(12, 1, 0), // 0x418: back to BASE + 8, another block
      ));
      bus.writeRam(BASE + 8, A.program(A.addi(13, 0, 1), A.wfi()));
      return { bus, h };
    };
    const whole = layout().h;
    assert.is(whole.run(1000), STOP_WFI, isa);
    assert.equal([whole.x[5], whole.x[6], whole.x[7], whole.x[8], whole.x[13]], [5, 10, 15, 15, 1], isa);
    assert.is(whole.x[11] >>> 0, BASE + 0x414);
    assert.is(whole.x[12] >>> 0, BASE + 0x41c);
    assert.is(whole.instret, 2 + 5 * 5 + 5 + 1);
    for (let slice = 1; slice <= 7; slice++) {
      const { h } = layout();
      let stop = STOP_BUDGET;
      while (stop === STOP_BUDGET) stop = h.run(slice);
      assert.is(stop, STOP_WFI, `${isa} slice ${slice}`);
      assert.equal(Array.from(h.x), Array.from(whole.x), `${isa} slice ${slice}`);
      assert.is(h.instret, whole.instret, `${isa} slice ${slice}`);
    }
  }
});

ctl.run();

// ---------------------------------------------------------------------------------------------

const traps = suite('hart: every exception cause sets mcause, mepc and mtval (Spike conventions)');

traps('illegal instruction: mtval = the 32 or 16 instruction bits', () => {
  expectTrap([A.nop(), 0xffffffff], CAUSE_ILLEGAL_INSTRUCTION, BASE + 4, 0xffffffff);
  expectTrap([A.cNop(), { half: 0x2000 }], CAUSE_ILLEGAL_INSTRUCTION, BASE + 2, 0x2000);
  expectTrap([A.slli(1, 2, 0) | (1 << 25)], CAUSE_ILLEGAL_INSTRUCTION, BASE, A.slli(1, 2, 0) | (1 << 25));
});

traps('breakpoint: mtval = pc, for ebreak and c.ebreak', () => {
  expectTrap([A.nop(), A.ebreak()], CAUSE_BREAKPOINT, BASE + 4, BASE + 4);
  expectTrap([A.cNop(), A.cEbreak()], CAUSE_BREAKPOINT, BASE + 2, BASE + 2);
});

traps('ecall from M is 11 and from U is 8, mtval 0; trap entry stacks the privilege', () => {
  const m = expectTrap([A.ecall()], CAUSE_ECALL_M, BASE, 0);
  assert.is((m.mstatus & MSTATUS_MPP) >>> 11, PRIV_M);
  const u = expectTrap([A.ecall()], CAUSE_ECALL_U, BASE, 0, {}, (h) => {
    h.priv = PRIV_U;
    h.mstatus = MSTATUS_MIE;
  });
  assert.is((u.mstatus & MSTATUS_MPP) >>> 11, PRIV_U);
  assert.is(u.mstatus & MSTATUS_MPIE, MSTATUS_MPIE, 'MPIE takes MIE');
  assert.is(u.mstatus & MSTATUS_MIE, 0, 'MIE cleared');
});

traps('misaligned loads (4) and stores (6) with mtval = address, also for LR (4), SC and AMOs (6)', () => {
  const setup = (h: Hart) => { h.x[1] = DATA; };
  expectTrap([A.lw(2, 1, 2)], CAUSE_MISALIGNED_LOAD, BASE, DATA + 2, {}, setup);
  expectTrap([A.lh(2, 1, 1)], CAUSE_MISALIGNED_LOAD, BASE, DATA + 1, {}, setup);
  expectTrap([A.lhu(2, 1, 3)], CAUSE_MISALIGNED_LOAD, BASE, DATA + 3, {}, setup);
  expectTrap([A.sw(2, 1, 1)], CAUSE_MISALIGNED_STORE, BASE, DATA + 1, {}, setup);
  expectTrap([A.sh(2, 1, -1)], CAUSE_MISALIGNED_STORE, BASE, DATA - 1, {}, setup);
  expectTrap([A.addi(1, 1, 2), A.lrw(2, 1)], CAUSE_MISALIGNED_LOAD, BASE + 4, DATA + 2, {}, setup);
  expectTrap([A.addi(1, 1, 2), A.scw(2, 1, 3)], CAUSE_MISALIGNED_STORE, BASE + 4, DATA + 2, {}, setup);
  expectTrap([A.addi(1, 1, 1), A.amoadd(2, 1, 3)], CAUSE_MISALIGNED_STORE, BASE + 4, DATA + 1, {}, setup);
  // misaligned and unmapped: the misalignment is reported first
  expectTrap([A.lw(2, 0, 2)], CAUSE_MISALIGNED_LOAD, BASE, 2);
});

traps('access faults: load 5, store/AMO 7, fetch 1 with mtval = address', () => {
  expectTrap([A.lw(2, 0, 0x100)], CAUSE_LOAD_ACCESS, BASE, 0x100);
  expectTrap([A.lbu(2, 0, 0x101)], CAUSE_LOAD_ACCESS, BASE, 0x101);
  expectTrap([A.sw(2, 0, 0x100)], CAUSE_STORE_ACCESS, BASE, 0x100);
  expectTrap([A.sb(2, 0, 0x103)], CAUSE_STORE_ACCESS, BASE, 0x103);
  expectTrap([A.addi(1, 0, 0x100), A.amoswap(2, 1, 3)], CAUSE_STORE_ACCESS, BASE + 4, 0x100);
  expectTrap([A.addi(1, 0, 0x100), A.lrw(2, 1)], CAUSE_LOAD_ACCESS, BASE + 4, 0x100);
  // a jump out of RAM faults at the target
  const h = expectTrap([A.addi(1, 0, 0x200), A.jalr(5, 1, 0)], CAUSE_FETCH_ACCESS, 0x200, 0x200);
  assert.is(h.x[5] >>> 0, BASE + 8, 'the jump retired');
});

traps('fetching from a device or shared window is an access fault', () => {
  const h = expectTrap([A.lui(1, 0x10000000), A.jalr(0, 1, 0)], CAUSE_FETCH_ACCESS, 0x1000_0000, 0x1000_0000, {}, (hh) => {
    hh.bus.mapMemory('win', 0x1000_0000, new Uint8Array(A.program(A.nop())), true);
  });
  assert.ok(h);
});

traps('a 4-byte instruction hanging over the end of RAM faults on its second half', () => {
  const { bus, h } = machine([A.lui(1, (BASE + RAM) | 0), A.jalr(0, 1, -2)]);
  bus.writeRam(BASE + RAM - 2, new Uint8Array([0x13, 0x00])); // low half of a 32-bit encoding
  trap(h);
  assert.is(h.mcause, CAUSE_FETCH_ACCESS);
  assert.is(h.mepc >>> 0, BASE + RAM - 2);
  assert.is(h.mtval >>> 0, BASE + RAM);
});

traps('mret and wfi are illegal in U-mode; mtval holds their bits', () => {
  const u = (h: Hart) => { h.priv = PRIV_U; };
  expectTrap([A.mret()], CAUSE_ILLEGAL_INSTRUCTION, BASE, A.mret(), {}, u);
  expectTrap([A.wfi()], CAUSE_ILLEGAL_INSTRUCTION, BASE, A.wfi(), {}, u);
});

traps('a trap does not retire; it costs one budget unit and one cycle', () => {
  const { h } = machine([A.nop(), 0xffffffff]);
  trap(h);
  assert.is(h.instret, 2, 'nop + the handler wfi');
  assert.is(h.cycle, 3);
  assert.is(h.used, 3);
});

traps('a handler that traps forever still returns when the budget is spent', () => {
  const { bus, h } = machine([0xffffffff]);
  bus.writeRam(HANDLER, A.program(0xffffffff));
  assert.is(h.run(100), STOP_BUDGET);
  assert.is(h.instret, 0);
  assert.is(h.cycle, 100);
});

traps('double fault guard: a fetch fault at the trap vector stops with STOP_FAULT', () => {
  const { h } = machine([0xffffffff]);
  h.mtvec = 0x4000;
  assert.is(h.run(100), STOP_FAULT);
  assert.is(h.faultCause, CAUSE_FETCH_ACCESS);
  assert.is(h.faultPc, 0x4000);
  assert.is(h.faultTval, 0x4000);
  assert.is(h.mcause, CAUSE_ILLEGAL_INSTRUCTION, 'the first trap was entered');
});

traps.run();

// ---------------------------------------------------------------------------------------------

const ret = suite('hart: mret restores privilege and interrupt enable');

ret('mret to U sets MIE from MPIE, MPIE = 1, MPP = U and jumps to mepc', () => {
  const { h } = machine([A.mret()]);
  h.mepc = BASE + 0x100;
  h.mstatus = MSTATUS_MPIE; // MPP = U
  h.run(1);
  assert.is(h.priv, PRIV_U);
  assert.is(h.pc, BASE + 0x100);
  assert.is(h.mstatus & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MIE | MSTATUS_MPIE);
});

ret('mret to M keeps M', () => {
  const { h } = machine([A.mret()]);
  h.mepc = BASE + 0x10;
  h.mstatus = MSTATUS_MPP;
  h.run(1);
  assert.is(h.priv, PRIV_M);
  assert.is(h.mstatus & MSTATUS_MIE, 0);
});

ret.run();

// ---------------------------------------------------------------------------------------------

const csr = suite('hart: CSR access rules and WARL fields');

function csrInsn(insn: number, priv = PRIV_M, regs: Record<number, number> = {}): Hart {
  const { h } = machine([insn]);
  h.priv = priv;
  for (const [k, v] of Object.entries(regs)) h.x[Number(k)] = v;
  const r = h.run(1);
  assert.is(r, STOP_BUDGET);
  return h;
}

function isIllegal(insn: number, priv = PRIV_M, regs: Record<number, number> = {}): boolean {
  const h = csrInsn(insn, priv, regs);
  if (h.pc === HANDLER) {
    assert.is(h.mcause, CAUSE_ILLEGAL_INSTRUCTION);
    assert.is(h.mtval >>> 0, insn >>> 0);
    return true;
  }
  return false;
}

csr('read-only CSRs (bits 11:10 = 3): any write attempt is illegal, reads are fine', () => {
  assert.ok(isIllegal(A.csrrw(1, CSR_MHARTID, 0)), 'csrrw always writes');
  assert.ok(isIllegal(A.csrrw(0, CSR_MHARTID, 5)));
  assert.ok(isIllegal(A.csrrs(1, CSR_MHARTID, 2), PRIV_M, { 2: 0 }), 'csrrs with rs1 != x0 writes even a zero');
  assert.ok(isIllegal(A.csrrc(1, CSR_MVENDORID, 2)));
  assert.ok(isIllegal(A.csrrsi(1, CSR_MHARTID, 1)));
  assert.ok(isIllegal(A.csrrwi(1, CSR_CYCLE, 0)), 'csrrwi always writes');
  assert.not.ok(isIllegal(A.csrrs(1, CSR_MHARTID, 0)));
  assert.not.ok(isIllegal(A.csrrc(1, CSR_MHARTID, 0)));
  assert.not.ok(isIllegal(A.csrrsi(1, CSR_MHARTID, 0)));
  assert.not.ok(isIllegal(A.csrrci(1, CSR_CYCLE, 0)));
});

csr('U-mode cannot reach M-mode CSRs (bits 9:8)', () => {
  assert.ok(isIllegal(A.csrrs(1, CSR_MSTATUS, 0), PRIV_U));
  assert.ok(isIllegal(A.csrrw(0, CSR_MSCRATCH, 1), PRIV_U));
  assert.ok(isIllegal(A.csrrs(1, CSR_MHARTID, 0), PRIV_U));
  assert.not.ok(isIllegal(A.csrrs(1, CSR_MSTATUS, 0), PRIV_M));
});

csr('mcounteren gates U-mode reads of cycle, time and instret', () => {
  for (const [n, bit] of [[CSR_CYCLE, 0], [CSR_TIME, 1], [CSR_INSTRET, 2], [CSR_TIMEH, 1]] as const) {
    const insn = A.csrrs(1, n, 0);
    assert.ok(isIllegal(insn, PRIV_U), `0x${n.toString(16)} without mcounteren`);
    const { h } = machine([insn]);
    h.priv = PRIV_U;
    h.mcounteren = 1 << bit;
    h.run(1);
    assert.is(h.pc, BASE + 4, `0x${n.toString(16)} allowed by bit ${bit}`);
    assert.not.ok(isIllegal(insn, PRIV_M), 'M-mode is never gated');
  }
});

csr('unknown CSRs, medeleg and mideleg are illegal', () => {
  for (const n of [0x7c0, 0x100, 0x180, 0x30a, 0x3f0, 0xfff, CSR_MEDELEG, CSR_MIDELEG]) {
    assert.ok(isIllegal(A.csrrs(1, n, 0)), `0x${n.toString(16)}`);
  }
});

csr('csrrw/csrrs/csrrc and immediate forms read the old value and write the new one', () => {
  const { h } = machine([
    A.csrrw(3, CSR_MSCRATCH, 1), A.csrrs(4, CSR_MSCRATCH, 2), A.csrrc(5, CSR_MSCRATCH, 2),
    A.csrrwi(6, CSR_MSCRATCH, 21), A.csrrsi(7, CSR_MSCRATCH, 10), A.csrrci(8, CSR_MSCRATCH, 1), A.csrrs(9, CSR_MSCRATCH, 0),
  ]);
  h.mscratch = 0x11;
  h.x[1] = 0xf0f0f0f0 | 0;
  h.x[2] = 0x0f;
  h.run(7);
  assert.equal([h.x[3], h.x[4], h.x[5], h.x[6], h.x[7], h.x[8], h.x[9]],
    [0x11, 0xf0f0f0f0 | 0, 0xf0f0f0ff | 0, 0xf0f0f0f0 | 0, 21, 31, 30]);
});

csr('PMP registers exist with no entries: they read zero and ignore writes', () => {
  const { h } = machine([A.addi(1, 0, -1), A.csrrw(0, 0x3b0, 1), A.csrrs(3, 0x3b0, 0), A.csrrw(0, 0x3af, 1), A.csrrs(4, 0x3af, 0), A.csrrs(5, 0x3ef, 0)]);
  h.x[3] = h.x[4] = h.x[5] = 7;
  assert.is(h.run(6), STOP_BUDGET);
  assert.equal([h.x[3], h.x[4], h.x[5], h.mcause], [0, 0, 0, 0]);
  assert.ok(isIllegal(A.csrrs(1, 0x3a0, 0), PRIV_U), 'still M-mode only');
});

csr('WARL: misa ignores writes, mstatus MPP only holds M or U, mepc bit 0 is clear, mtvec bit 1 is zero', () => {
  const { h } = machine([
    A.csrrw(0, CSR_MISA, 0), A.csrrs(3, CSR_MISA, 0),
    ...A.li(1, 0x1800 | 0x88 | 0x20000 | 0x200000), A.csrrw(0, CSR_MSTATUS, 1), A.csrrs(4, CSR_MSTATUS, 0),
    ...A.li(1, 0x800), A.csrrw(0, CSR_MSTATUS, 1), A.csrrs(5, CSR_MSTATUS, 0),
    A.addi(1, 0, -1), A.csrrw(0, CSR_MEPC, 1), A.csrrs(6, CSR_MEPC, 0),
    A.csrrw(0, CSR_MTVEC, 1), A.csrrs(7, CSR_MTVEC, 0),
    A.csrrw(0, CSR_MSTATUSH, 1), A.csrrs(8, CSR_MSTATUSH, 0),
    A.csrrw(0, CSR_MIE, 1), A.csrrs(9, CSR_MIE, 0),
    A.csrrw(0, CSR_TSELECT, 1), A.csrrs(10, CSR_TDATA1, 0), A.csrrs(11, CSR_TSELECT, 0),
    A.csrrw(0, CSR_MHPMCOUNTER3, 1), A.csrrs(12, CSR_MHPMCOUNTER3, 0),
    A.csrrs(13, CSR_MHARTID, 0),
  ], { hartId: 5 });
  assert.is(h.run(26), STOP_BUDGET);
  assert.is(h.x[3], 0x40101105);
  assert.is(h.x[4], 0x1800 | 0x88 | 0x20000 | 0x200000);
  assert.is(h.x[5], 0, 'MPP = 1 (S) is not a mode here: becomes U');
  assert.is(h.x[6], -2);
  assert.is(h.x[7], -3);
  assert.is(h.x[8], 0);
  assert.is(h.x[9], MIP_MSIP | MIP_MTIP | MIP_MEIP);
  assert.is(h.x[10], 0);
  assert.is(h.x[11], 0);
  assert.is(h.x[12], 0);
  assert.is(h.x[13], 5);
});

csr('rv32ima: misa has no C and mepc reads with bit 1 masked', () => {
  const { h } = machine([A.addi(1, 0, 6), A.csrrw(0, CSR_MEPC, 1), A.csrrs(3, CSR_MEPC, 0), A.csrrs(4, CSR_MISA, 0)], { isa: 'rv32ima' });
  h.run(4);
  assert.is(h.x[3], 4);
  assert.is(h.x[4], 0x40101101);
});

csr('mcycle/minstret count, are writable (the write wins over the writer\'s own increment) and can be inhibited', () => {
  const { h } = machine([
    A.nop(), A.csrrs(3, CSR_MINSTRET, 0), A.csrrs(4, CSR_MCYCLE, 0),
    A.addi(1, 0, 100), A.csrrw(0, CSR_MINSTRET, 1), A.csrrs(5, CSR_MINSTRET, 0), A.csrrs(6, CSR_INSTRET, 0),
    A.csrrwi(0, CSR_MCOUNTINHIBIT, 5), A.nop(), A.csrrs(7, CSR_MINSTRET, 0), A.csrrs(8, CSR_MCYCLE, 0),
    A.csrrwi(0, CSR_MCOUNTINHIBIT, 0), A.nop(), A.csrrs(9, CSR_MINSTRET, 0),
    A.addi(1, 0, -1), A.csrrw(0, CSR_MCYCLE, 1), A.nop(), A.csrrs(10, CSR_MCYCLEH, 0), A.csrrs(11, CSR_MCYCLE, 0),
  ]);
  assert.is(h.run(19), STOP_BUDGET);
  assert.is(h.x[3], 1);
  assert.is(h.x[4], 2);
  assert.is(h.x[5], 100);
  assert.is(h.x[6], 101);
  assert.is(h.x[7], 102, 'frozen at the value when inhibited');
  assert.is(h.x[8], 7, 'the inhibiting write itself is not counted');
  assert.is(h.x[9], 104, 'counts again from the uninhibiting write on');
  assert.is(h.x[10], 1, 'mcycle carried into mcycleh');
  assert.is(h.x[11], 1);
  assert.is(h.instret, 19, 'guest writes never move the hart\'s own instret');
  assert.is(h.cycle, 19);
});

csr('time = floor(cycle / 10) + timeOffset, and mip.MTIP follows mtime >= mtimecmp', () => {
  const { h } = machine([A.csrrs(3, CSR_TIME, 0), A.csrrs(4, CSR_MIP, 0), A.csrrs(5, CSR_MIP, 0)]);
  h.cycle = 1234;
  h.timeOffset = 7;
  h.mtimecmp = 130;
  h.run(3);
  assert.is(h.x[3], 123 + 7);
  assert.is(h.x[4], MIP_MTIP);
  h.mtimecmp = Infinity;
  assert.is(h.csrRead(CSR_MIP), 0);
});

csr('host csrRead/csrWrite throw for a CSR that does not exist', () => {
  const { h } = machine([]);
  assert.throws(() => h.csrRead(0x7c0), (e: unknown) => (e as { code?: string }).code === 'HART_UNKNOWN_CSR');
  assert.throws(() => h.csrWrite(CSR_MEDELEG, 1), (e: unknown) => (e as { code?: string }).code === 'HART_UNKNOWN_CSR');
  h.csrWrite(CSR_MSCRATCH, 0xffffffff);
  assert.is(h.csrRead(CSR_MSCRATCH), 0xffffffff);
});

csr.run();

// ---------------------------------------------------------------------------------------------

const irq = suite('hart: interrupts');

/** Interrupt handler: disable interrupt sources (else wfi would not wait), then wfi. */
const IRQ_HANDLER = [A.csrrw(0, CSR_MIE, 0), A.wfi()];

/** Spin loop with interrupts enabled: mie = MTIE|MSIE|MEIE, mstatus.MIE = 1. */
function spinning(opts: HartOptions = {}): { bus: Bus; h: Hart } {
  const m = machine([
    A.addi(1, 0, 0x888 - 0x1000), A.csrrw(0, CSR_MIE, 1), A.csrrsi(0, CSR_MSTATUS, 8), // 3 instructions
    A.addi(5, 5, 1), A.jal(0, -4), // spin
  ], opts);
  m.bus.writeRam(HANDLER, A.program(...IRQ_HANDLER));
  return m;
}

/** Run until the interrupt handler's wfi. */
function irqTrap(h: Hart, budget = 1000): Hart {
  assert.is(h.run(budget), STOP_WFI);
  assert.is(h.pc, HANDLER + 8, 'stopped in the interrupt handler');
  return h;
}

irq('the timer interrupt is taken exactly when mtime reaches mtimecmp', () => {
  const { h } = spinning();
  h.mtimecmp = 5; // cycle 50
  irqTrap(h, 1000);
  assert.is(h.mcause >>> 0, (CAUSE_INTERRUPT | INT_MTI) >>> 0);
  assert.is(h.mtval, 0);
  assert.is(h.instret, 52, '50 instructions, then the two of the handler');
  assert.is(h.cycle, 53, '+ one cycle for the trap entry');
  assert.is(h.x[5], (50 - 3 + 1) >> 1, 'spin iterations before the interrupt');
  assert.is(h.mepc >>> 0, BASE + ((50 - 3) % 2 === 0 ? 12 : 16));
  assert.is(h.mstatus & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);
});

irq('no interrupt while mstatus.MIE = 0 in M-mode, but always in U-mode', () => {
  const { h } = machine([A.addi(1, 0, 0x80), A.csrrw(0, CSR_MIE, 1), A.jal(0, 0)]);
  h.mtimecmp = 0;
  assert.is(h.run(100), STOP_BUDGET);
  assert.is(h.mcause, 0);
  const { h: u } = machine([A.jal(0, 0)]);
  u.bus.writeRam(HANDLER, A.program(...IRQ_HANDLER));
  u.mie = MIP_MTIP;
  u.priv = PRIV_U;
  u.mtimecmp = 1;
  irqTrap(u);
  assert.is(u.mcause >>> 0, (CAUSE_INTERRUPT | INT_MTI) >>> 0);
  assert.is(u.cycle, 10 + 1 + 2);
  assert.is((u.mstatus & MSTATUS_MPP) >>> 11, PRIV_U);
});

irq('priority MEI > MSI > MTI', () => {
  const { h } = spinning();
  h.mtimecmp = 0;
  h.setPending(MIP_MSIP, true);
  h.setPending(MIP_MEIP, true);
  irqTrap(h);
  assert.is(h.mcause >>> 0, (CAUSE_INTERRUPT | INT_MEI) >>> 0);
  const { h: h2 } = spinning();
  h2.mtimecmp = 0;
  h2.setPending(INT_MSI, true); // bit numbers are accepted too
  irqTrap(h2);
  assert.is(h2.mcause >>> 0, (CAUSE_INTERRUPT | INT_MSI) >>> 0);
});

irq('vectored mtvec sends interrupts to base + 4 * cause and exceptions to base', () => {
  const VEC = BASE + 0x9000;
  const { bus, h } = spinning();
  bus.writeRam(VEC, A.program(A.ebreak()));
  bus.writeRam(VEC + 4 * INT_MTI, A.program(...IRQ_HANDLER));
  h.mtvec = VEC | 1;
  h.mtimecmp = 2;
  assert.is(h.run(1000), STOP_WFI);
  assert.is(h.pc, VEC + 4 * INT_MTI + 8);
  const { h: e } = machine([A.ebreak()]);
  e.bus.writeRam(VEC, A.program(A.wfi()));
  e.mtvec = VEC | 1;
  assert.is(e.run(100), STOP_WFI);
  assert.is(e.pc, VEC + 4);
  assert.is(e.mcause, CAUSE_BREAKPOINT);
});

irq('a device that moves mtimecmp inside run() is seen at the next instruction boundary', () => {
  const { bus, h } = spinning();
  bus.mapDevice('clint', 0x0200_0000, 0x10000, {
    read: () => 0,
    write: (_o, _w, v) => { h.mtimecmp = v; h.timerChanged(); },
  });
  bus.writeRam(BASE + 12, A.program(A.lui(6, 0x02000000), A.sw(0, 6, 0), A.nop(), A.jal(0, 0)));
  irqTrap(h);
  assert.is(h.mcause >>> 0, (CAUSE_INTERRUPT | INT_MTI) >>> 0);
  assert.is(h.mepc >>> 0, BASE + 20, 'right after the store');
});

irq('setPending from a device store raises the interrupt at the next boundary', () => {
  const { bus, h } = spinning();
  bus.mapDevice('plic', 0x0c00_0000, 0x1000, { read: () => 0, write: () => h.setPending(MIP_MEIP, true) });
  bus.writeRam(BASE + 12, A.program(A.lui(6, 0x0c000000), A.sb(0, 6, 0), A.nop(), A.jal(0, 0)));
  irqTrap(h);
  assert.is(h.mcause >>> 0, (CAUSE_INTERRUPT | INT_MEI) >>> 0);
  assert.is(h.mepc >>> 0, BASE + 20);
});

irq('wfi stops with STOP_WFI past the wfi, unless an enabled interrupt is pending (even with MIE = 0)', () => {
  const { h } = machine([A.nop(), A.wfi(), A.nop()]);
  assert.is(h.run(10), STOP_WFI);
  assert.is(h.pc, BASE + 8);
  assert.is(h.instret, 2);
  const { h: p } = machine([A.wfi(), A.nop(), A.jal(0, 0)]);
  p.mie = MIP_MSIP;
  p.setPending(MIP_MSIP, true);
  assert.is(p.run(10), STOP_BUDGET);
  assert.is(p.mcause, 0);
  // a timer that fires on the wfi's own cycle wakes it (cycle 9 -> 10, mtime 0 -> 1)
  const { h: t } = machine([A.wfi(), A.nop()]);
  t.mie = MIP_MTIP;
  t.cycle = 9;
  t.mtimecmp = 1;
  assert.is(t.run(2), STOP_BUDGET);
  assert.is(t.pc, BASE + 8);
  t.reset(BASE, PRIV_M);
  t.mie = MIP_MTIP;
  t.cycle = 8;
  t.mtimecmp = 1;
  assert.is(t.run(2), STOP_WFI, 'one cycle too early');
});

irq('hostTraps: interrupts are never taken', () => {
  const { h } = spinning({ hostTraps: true });
  h.mtimecmp = 0;
  assert.is(h.run(200), STOP_BUDGET);
  assert.is(h.mcause, 0);
});

irq.run();

// ---------------------------------------------------------------------------------------------

const host = suite('hart: hostTraps (app profile) and stop requests');

host('ecall from U stops with STOP_ECALL, pc at the ecall, the ecall retired', () => {
  const { h } = machine([A.nop(), A.ecall(), A.nop()], { hostTraps: true });
  h.priv = PRIV_U;
  assert.is(h.run(10), STOP_ECALL);
  assert.is(h.pc, BASE + 4);
  assert.is(h.instret, 2);
  h.pc += 4;
  assert.is(h.run(1), STOP_BUDGET);
  assert.is(h.pc, BASE + 12);
});

host('any other trap stops with STOP_FAULT, cause/tval/pc set, nothing entered', () => {
  const { h } = machine([A.nop(), A.lw(1, 0, 0x100)], { hostTraps: true });
  h.priv = PRIV_U;
  assert.is(h.run(10), STOP_FAULT);
  assert.equal([h.faultCause, h.faultTval, h.faultPc], [CAUSE_LOAD_ACCESS, 0x100, BASE + 4]);
  assert.is(h.pc, BASE + 4);
  assert.is(h.priv, PRIV_U);
  assert.is(h.mcause, 0);
  assert.is(h.retired, 1);
});

host('requestStop from a device ends run() at the next boundary with STOP_HALT', () => {
  const { bus, h } = machine([A.lui(1, 0x10000000), A.nop(), A.sw(0, 1, 0), A.nop(), A.jal(0, 0)]);
  bus.mapDevice('finisher', 0x1000_0000, 0x10, { read: () => 0, write: () => h.requestStop() });
  assert.is(h.run(1000), STOP_HALT);
  assert.is(h.pc, BASE + 12);
  assert.is(h.retired, 3);
  assert.is(h.run(5), STOP_BUDGET, 'the request is consumed');
});

host.run();

// ---------------------------------------------------------------------------------------------

const atomics = suite('hart: A extension');

atomics('LR/SC: SC succeeds once after LR, fails without a reservation, and only at the reserved address', () => {
  const { bus, h } = machine([
    A.lrw(3, 1), A.scw(4, 1, 2), A.scw(5, 1, 2), // 0: success, then fail
    A.lrw(6, 1), A.addi(7, 1, 4), A.scw(8, 7, 2), A.scw(9, 1, 2), // other address fails and clears
  ]);
  bus.writeRam(DATA, new Uint8Array([7, 0, 0, 0]));
  h.x[1] = DATA;
  h.x[2] = 42;
  h.run(7);
  assert.is(h.x[3], 7);
  assert.is(h.x[4], 0);
  assert.is(h.x[5], 1);
  assert.is(h.x[6], 42);
  assert.is(h.x[8], 1);
  assert.is(h.x[9], 1);
  assert.equal([...bus.readRam(DATA, 8)], [42, 0, 0, 0, 0, 0, 0, 0]);
});

atomics('the reservation is cleared by a trap entry and by mret', () => {
  const { bus, h } = machine([A.lrw(3, 1), A.ecall()]);
  bus.writeRam(HANDLER, A.program(A.scw(4, 1, 2), A.wfi()));
  h.x[1] = DATA;
  h.x[2] = 5;
  assert.is(h.run(100), STOP_WFI);
  assert.is(h.x[4], 1);
  const { h: m } = machine([A.lrw(3, 1), A.auipc(5, 0), A.addi(5, 5, 16), A.csrrw(0, CSR_MEPC, 5), A.mret(), A.scw(4, 1, 2)]);
  m.mstatus = MSTATUS_MPP;
  m.x[1] = DATA;
  m.run(6);
  assert.is(m.pc, BASE + 24);
  assert.is(m.x[4], 1);
});

atomics('AMOs return the old value and store op(old, rs2)', () => {
  const ops: [(a: number, b: number, c: number) => number, (o: number, s: number) => number][] = [
    [A.amoswap, (_o, s) => s], [A.amoadd, (o, s) => (o + s) | 0], [A.amoxor, (o, s) => o ^ s],
    [A.amoand, (o, s) => o & s], [A.amoor, (o, s) => o | s], [A.amomin, (o, s) => Math.min(o, s)],
    [A.amomax, (o, s) => Math.max(o, s)], [A.amominu, (o, s) => ((o >>> 0) < (s >>> 0) ? o : s)],
    [A.amomaxu, (o, s) => ((o >>> 0) > (s >>> 0) ? o : s)],
  ];
  for (const [enc, f] of ops) {
    for (const [o, s] of [[5, -3], [-0x80000000, 0x7fffffff], [-1, 1], [0x1234, 0x1234]] as const) {
      const { bus, h } = machine([enc(3, 1, 2)]);
      bus.writeRam(DATA, new Uint8Array(new Int32Array([o]).buffer));
      h.x[1] = DATA;
      h.x[2] = s;
      h.run(1);
      assert.is(h.x[3], o);
      assert.is(new DataView(bus.ram.buffer).getInt32(DATA - BASE, true), f(o, s));
    }
  }
});

atomics('AMO with rd = rs2 uses the source before overwriting it', () => {
  const { bus, h } = machine([A.amoadd(2, 1, 2)]);
  bus.writeRam(DATA, new Uint8Array([10, 0, 0, 0]));
  h.x[1] = DATA;
  h.x[2] = 5;
  h.run(1);
  assert.is(h.x[2], 10);
  assert.is(bus.ram[DATA - BASE], 15);
});

atomics.run();

// ---------------------------------------------------------------------------------------------

const smc = suite('hart: decode cache and self-modifying code');

smc('a store over an already-executed instruction takes effect the next time it runs', () => {
  const patched = A.addi(5, 0, 42);
  const { h } = machine([
    ...A.li(1, patched), // 0, 4
    A.auipc(2, 0), // 8
    A.addi(6, 6, 1), // 12: loop head
    A.addi(5, 0, 1), // 16: patched on the first pass
    A.sw(1, 2, 8), // 20: store to 8 + 8 = 16
    A.beq(6, 3, 8), // 24: second pass -> exit
    A.jal(0, -16), // 28
    A.nop(), // 32
  ]);
  h.x[3] = 2;
  h.run(13);
  assert.is(h.x[5], 42);
  assert.is(h.pc, BASE + 36);
});

smc('a 4-byte instruction straddling a decode block and a page is invalidated by a store to its upper half', () => {
  for (const at of [0x3fe, 0xffe]) {
    // The straddler is a jump, so nothing else ever executes in the block/page of its upper half.
    const { bus, h } = machine([
      A.jalr(0, 8, 0), // 0: to the straddler
      A.nop(), A.nop(), A.nop(),
      A.addi(5, 0, 1), A.nop(), A.nop(), A.nop(), // 0x10
      A.addi(5, 0, 2), A.nop(), A.nop(), A.nop(), // 0x20
      A.nop(), A.nop(), A.nop(), A.nop(),
      A.sh(9, 10, 0), A.jalr(0, 8, 0), // 0x40: patch the upper half, run the straddler again
    ]);
    bus.writeRam(BASE + at, A.program(A.jalr(6, 7, 0x10)));
    h.x[7] = BASE;
    h.x[8] = BASE + at;
    h.x[9] = A.jalr(6, 7, 0x20) >>> 16;
    h.x[10] = BASE + at + 2;
    h.run(3);
    assert.is(h.x[5], 1);
    h.pc = BASE + 0x40;
    h.run(4);
    assert.is(h.x[5], 2, `straddling at 0x${at.toString(16)}`);
  }
});

smc('host writes into RAM (loader) invalidate decoded code', () => {
  const { bus, h } = machine([A.addi(5, 0, 1), A.jal(0, -4)]);
  h.run(2);
  bus.writeRam(BASE, A.program(A.addi(5, 0, 2)));
  h.run(1);
  assert.is(h.x[5], 2);
});

smc('fence.i drops decoded instructions even when RAM changed behind the hooks', () => {
  const { bus, h } = machine([A.addi(5, 5, 1), A.beq(6, 0, -4), A.fencei(), A.jal(0, -12)]);
  h.run(2);
  // Poke RAM directly: no hook runs, so only fence.i can make the hart see it.
  bus.ram32[0] = A.addi(5, 5, 100);
  h.run(2);
  assert.is(h.x[5], 2, 'the stale decoded addi ran');
  h.x[6] = 1;
  h.run(4); // stale addi, beq, fence.i, jal
  assert.is(h.x[5], 3);
  h.run(1);
  assert.is(h.x[5], 103);
});

smc('the decode cache of a small program in 64 KiB of RAM stays well under 16 KiB', () => {
  // Code in two blocks: a loop at the start of RAM calling a function 1.5 KiB further.
  const { bus, h } = machine([A.jal(1, 0x600), A.jal(0, -4)]);
  bus.writeRam(BASE + 0x600, A.program(A.addi(5, 5, 1), A.jalr(0, 1, 0)));
  h.run(1000);
  assert.is(h.x[5], 250);
  assert.ok(h.decodeCacheBytes() < 10 * 1024, `${h.decodeCacheBytes()} bytes`);
});

smc.run();

// ---------------------------------------------------------------------------------------------

const ima = suite('hart: rv32ima alignment rules');

ima('16-bit encodings are illegal with a 16-bit mtval', () => {
  expectTrap([A.cNop()], CAUSE_ILLEGAL_INSTRUCTION, BASE, 0x0001, { isa: 'rv32ima' });
});

ima('a jump or taken branch to a 2-mod-4 target traps on the jump (mepc = jump, mtval = target)', () => {
  const o = { isa: 'rv32ima' as const };
  const h = expectTrap([A.nop(), A.jal(1, 6)], CAUSE_MISALIGNED_FETCH, BASE + 4, BASE + 10, o);
  assert.is(h.x[1], 0, 'rd not written');
  expectTrap([A.addi(1, 0, 2), A.lui(2, BASE), A.add(1, 1, 2), A.jalr(0, 1, 0)], CAUSE_MISALIGNED_FETCH, BASE + 12, BASE + 2, o);
  expectTrap([A.beq(0, 0, 6)], CAUSE_MISALIGNED_FETCH, BASE, BASE + 6, o);
  // not taken: no trap
  const { h: n } = machine([A.bne(0, 0, 6), A.nop()], o);
  assert.is(n.run(2), STOP_BUDGET);
  assert.is(n.pc, BASE + 8);
});

ima('with C the same jump is fine', () => {
  const { h } = machine([A.nop(), A.jal(1, 6), A.nop(), A.cNop()]);
  h.run(2);
  assert.is(h.pc, BASE + 10);
});

ima.run();

// ---------------------------------------------------------------------------------------------

const budget = suite('hart: budget exactness');

budget('run(n) retires exactly n instructions in a loop, however it is sliced', () => {
  const code = [A.addi(5, 5, 1), A.cAddi(6, 3), A.blt(5, 7, -6), A.jal(0, -10)];
  const a = machine(code).h;
  const b = machine(code).h;
  a.x[7] = 1000;
  b.x[7] = 1000;
  assert.is(a.run(12345), STOP_BUDGET);
  assert.is(a.retired, 12345);
  assert.is(a.instret, 12345);
  assert.is(a.cycle, 12345);
  for (let i = 0; i < 12345; i += 1000) b.run(Math.min(1000, 12345 - i));
  assert.is(b.instret, 12345);
  assert.is(b.pc, a.pc);
  assert.equal([...b.x], [...a.x]);
});

budget('run(0) does nothing', () => {
  const { h } = machine([A.nop()]);
  assert.is(h.run(0), STOP_BUDGET);
  assert.is(h.pc, BASE);
  assert.is(h.retired, 0);
});

budget('reset clears architectural state', () => {
  const { h } = machine([A.addi(5, 0, 3), A.csrrw(0, CSR_MSCRATCH, 5)]);
  h.run(2);
  h.reset(BASE, PRIV_U);
  assert.equal([h.x[5], h.mscratch, h.instret, h.cycle, h.priv, h.pc], [0, 0, 0, 0, PRIV_U, BASE]);
  assert.is(h.csrRead(CSR_MCOUNTEREN), 0);
  assert.is(h.csrRead(CSR_MCOUNTINHIBIT), 0);
});

budget.run();
