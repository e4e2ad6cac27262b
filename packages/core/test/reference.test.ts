// Direct tests of the reference hart against values worked out by hand from
// the RISC-V specs, so the model is trusted on its own before it is used as
// the oracle for the fast hart (differential.test.ts). Where the toolchain is
// installed, two outside oracles join in: GNU objdump for the expansion of
// every 16-bit word, and qemu-riscv32 for whole programs (rv32imac, rv32ima).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus } from '../src/memory/bus.ts';
import {
  expandCompressed,
  ReferenceHart,
  REF_STOP_BUDGET,
  REF_STOP_ECALL,
  REF_STOP_FAULT,
  REF_STOP_WFI,
} from '../src/cpu/reference.ts';

const RAM = 0x8000_0000;
const CODE = RAM + 0x100;
const DATA = RAM + 0x1000;
const HANDLER = RAM + 0x40;
const INT_MIN = -0x8000_0000;

// Encoders, straight from the instruction formats (unprivileged spec 2.2).
const R = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const S = (imm: number, rs2: number, rs1: number, f3: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | 0x23) >>> 0;
const AMO = (f5: number, rs2: number, rs1: number, rd: number) => R(f5 << 2, rs2, rs1, 2, rd, 0x2f);
const CSR = (csr: number, rs1: number, f3: number, rd: number) => I(csr, rs1, f3, rd, 0x73);
const MUL = (f3: number) => R(1, 2, 1, f3, 3, 0x33);

interface Machine {
  bus: Bus;
  hart: ReferenceHart;
}

/** A hart in M-mode at CODE with `words` (32-bit or, when given as [n], 16-bit) there. */
function machine(program: Array<number | [number]>, opts: { hostTraps?: boolean; isa?: 'rv32imac' | 'rv32ima' } = {}): Machine {
  const bus = new Bus(new Uint8Array(0x2000), RAM);
  let at = CODE;
  for (const w of program) {
    if (Array.isArray(w)) {
      bus.store(at, 2, w[0]);
      at += 2;
    } else {
      bus.store(at, 4, w);
      at += 4;
    }
  }
  const hart = new ReferenceHart(bus, opts);
  hart.reset(CODE, 3);
  hart.mtvec = HANDLER;
  return { bus, hart };
}

/** Run the M-extension op `f3` on x1 = a, x2 = b and return x3. */
function mulDiv(f3: number, a: number, b: number): number {
  const { hart } = machine([MUL(f3)]);
  hart.x[1] = a;
  hart.x[2] = b;
  assert.is(hart.step(), REF_STOP_BUDGET);
  return hart.x[3]!;
}

const base = suite('reference: base integer corner cases');

base('SLTIU sign-extends its immediate before comparing unsigned', () => {
  const { hart } = machine([I(-1, 1, 3, 2, 0x13), I(-1, 3, 3, 4, 0x13)]);
  hart.x[1] = 5;
  hart.x[3] = -1;
  hart.step();
  hart.step();
  assert.equal([hart.x[2], hart.x[4]], [1, 0]); // 5 < 0xffffffff; 0xffffffff < 0xffffffff is false
});

base('register shifts use only the low 5 bits of rs2; SRA keeps the sign', () => {
  const { hart } = machine([R(0x20, 2, 1, 5, 3, 0x33), R(0, 2, 1, 5, 4, 0x33), R(0, 2, 1, 1, 5, 0x33)]);
  hart.x[1] = INT_MIN;
  hart.x[2] = 33; // shifts by 1
  for (let i = 0; i < 3; i++) hart.step();
  assert.equal([hart.x[3], hart.x[4], hart.x[5]], [-0x4000_0000, 0x4000_0000, 0]);
});

base('BLT compares signed and BLTU unsigned', () => {
  const blt = (f3: number) => {
    const { hart } = machine([((4 << 8) | (2 << 20) | (1 << 15) | (f3 << 12) | 0x63) >>> 0]); // +8
    hart.x[1] = -1;
    hart.x[2] = 1;
    hart.step();
    return hart.pc - CODE;
  };
  assert.equal([blt(4), blt(6)], [8, 4]);
});

base('JALR with rd = rs1 jumps to the old value and clears bit 0 of the target', () => {
  const { hart } = machine([I(3, 1, 0, 1, 0x67)]);
  hart.x[1] = CODE + 0x20;
  hart.step();
  assert.equal([hart.pc, hart.x[1]! >>> 0], [CODE + 0x22, CODE + 4]);
});

base('LUI and AUIPC place the immediate in the upper 20 bits', () => {
  const { hart } = machine([0xfffff0b7, 0x00001117]); // lui x1, 0xfffff ; auipc x2, 1
  hart.step();
  hart.step();
  assert.equal([hart.x[1], hart.x[2]! >>> 0], [-4096, CODE + 4 + 4096]);
});

base('c.srai shifts arithmetically, c.srli logically', () => {
  const { hart } = machine([[0x8405], [0x8085]]); // c.srai x8, 1 ; c.srli x9, 1
  hart.x[8] = INT_MIN;
  hart.x[9] = INT_MIN;
  hart.step();
  hart.step();
  assert.equal([hart.x[8], hart.x[9]], [-0x4000_0000, 0x4000_0000]);
});

base.run();

const mext = suite('reference: M extension');

mext('division overflow and division by zero follow table 7.1', () => {
  assert.is(mulDiv(4, INT_MIN, -1), INT_MIN); // DIV
  assert.is(mulDiv(6, INT_MIN, -1), 0); // REM
  assert.is(mulDiv(4, 7, 0), -1); // DIV by 0
  assert.is(mulDiv(5, 7, 0) >>> 0, 0xffff_ffff); // DIVU by 0
  assert.is(mulDiv(6, -7, 0), -7); // REM by 0 = dividend
  assert.is(mulDiv(7, -7, 0), -7); // REMU by 0 = dividend
});

mext('division rounds toward zero and the remainder takes the sign of the dividend', () => {
  assert.is(mulDiv(4, -7, 2), -3);
  assert.is(mulDiv(6, -7, 2), -1);
  assert.is(mulDiv(6, 7, -2), 1);
  assert.is(mulDiv(5, -7, 2), 0x7fff_fffc); // (2^32 - 7) / 2
  assert.is(mulDiv(7, -7, 2), 1);
});

mext('MULH, MULHSU and MULHU treat their operands with the right signs', () => {
  assert.is(mulDiv(0, 0x1_0001, 0x1_0001), 0x2_0001); // MUL low word of 2^32 + 2^17 + 1
  assert.is(mulDiv(1, -1, -1), 0); // (-1)(-1) = 1
  assert.is(mulDiv(3, -1, -1) >>> 0, 0xffff_fffe); // (2^32-1)^2 = 2^64 - 2^33 + 1
  assert.is(mulDiv(2, -1, -1), -1); // -1 * (2^32-1) = -2^32 + 1
  assert.is(mulDiv(2, 1, -1), 0); // 1 * (2^32-1)
  assert.is(mulDiv(1, INT_MIN, INT_MIN), 0x4000_0000); // 2^62
  assert.is(mulDiv(2, INT_MIN, 2), -1); // -2^32
  assert.is(mulDiv(3, INT_MIN, 2), 1); // 2^32
});

mext.run();

const mem = suite('reference: loads, stores and atomics');

mem('LB and LH sign-extend, LBU and LHU zero-extend', () => {
  const { bus, hart } = machine([I(0, 1, 0, 3, 0x03), I(0, 1, 4, 4, 0x03), I(0, 1, 1, 5, 0x03), I(0, 1, 5, 6, 0x03)]);
  bus.store(DATA, 2, 0x8081);
  hart.x[1] = DATA;
  for (let i = 0; i < 4; i++) hart.step();
  assert.equal([hart.x[3], hart.x[4], hart.x[5], hart.x[6]], [-127, 0x81, -32639, 0x8081]);
});

mem('stores write only their width, little-endian', () => {
  const { bus, hart } = machine([S(1, 2, 1, 0), S(2, 2, 1, 1)]);
  bus.store(DATA, 4, 0xaaaa_aaaa);
  bus.store(DATA + 4, 4, 0xaaaa_aaaa);
  hart.x[1] = DATA;
  hart.x[2] = 0x1234_5678;
  hart.step();
  hart.step();
  assert.is(bus.load(DATA, 4), 0x5678_78aa);
  assert.is(bus.load(DATA + 4, 4), 0xaaaa_aaaa);
});

mem('a misaligned lw traps with cause 4 and mtval = address, leaving rd alone', () => {
  const { hart } = machine([I(1, 1, 2, 3, 0x03)]);
  hart.x[1] = DATA;
  hart.x[3] = 99;
  assert.is(hart.step(), REF_STOP_BUDGET);
  assert.equal([hart.mcause, hart.mtval, hart.mepc, hart.pc, hart.x[3], hart.instret], [4, DATA + 1, CODE, HANDLER, 99, 0]);
});

mem('a store outside any mapping is a store access fault', () => {
  const { hart } = machine([S(0, 2, 1, 2)]);
  hart.x[1] = 0x1000;
  hart.step();
  assert.equal([hart.mcause, hart.mtval], [7, 0x1000]);
});

mem('AMOs return the old word and store the combination', () => {
  const cases: Array<[number, number, number, number]> = [
    // [funct5, memory, rs2, expected memory]
    [0x00, 5, -7, -2], // AMOADD
    [0x01, 5, -7, -7], // AMOSWAP
    [0x04, 0b1100, 0b1010, 0b0110], // AMOXOR
    [0x0c, 0b1100, 0b1010, 0b1000], // AMOAND
    [0x08, 0b1100, 0b1010, 0b1110], // AMOOR
    [0x10, -1, 1, -1], // AMOMIN is signed
    [0x14, -1, 1, 1], // AMOMAX
    [0x18, -1, 1, 1], // AMOMINU is unsigned
    [0x1c, -1, 1, -1], // AMOMAXU
  ];
  for (const [f5, m, s, want] of cases) {
    const { bus, hart } = machine([AMO(f5, 2, 1, 3)]);
    bus.store(DATA, 4, m >>> 0);
    hart.x[1] = DATA;
    hart.x[2] = s;
    hart.step();
    assert.is(hart.x[3], m, `rd of funct5 ${f5}`);
    assert.is(bus.load(DATA, 4) | 0, want, `memory after funct5 ${f5}`);
  }
});

mem('SC succeeds only after a matching LR and only once', () => {
  const { bus, hart } = machine([AMO(3, 2, 1, 3), AMO(2, 0, 1, 4), AMO(3, 2, 1, 5), AMO(3, 2, 1, 6)]);
  bus.store(DATA, 4, 11);
  hart.x[1] = DATA;
  hart.x[2] = 22;
  for (let i = 0; i < 4; i++) hart.step();
  assert.equal([hart.x[3], hart.x[4], hart.x[5], hart.x[6]], [1, 11, 0, 1]);
  assert.is(bus.load(DATA, 4), 22);
});

mem('a trap between LR and SC drops the reservation', () => {
  const { bus, hart } = machine([AMO(2, 0, 1, 4), 0x0000_0073]);
  bus.store(HANDLER, 4, AMO(3, 2, 1, 5));
  hart.x[1] = DATA;
  hart.step(); // lr
  hart.step(); // ecall -> handler
  hart.step(); // sc
  assert.is(hart.x[5], 1);
});

mem('misaligned AMO and SC report store/AMO misaligned, LR load misaligned', () => {
  for (const [f5, cause] of [[0x00, 6], [0x03, 6], [0x02, 4]] as const) {
    const { hart } = machine([AMO(f5, 0, 1, 3)]);
    hart.x[1] = DATA + 2;
    hart.step();
    assert.equal([hart.mcause, hart.mtval], [cause, DATA + 2], `funct5 ${f5}`);
  }
});

mem.run();

const traps = suite('reference: traps and privilege');

traps('ebreak reports the pc in mtval and does not retire', () => {
  const { hart } = machine([0x0010_0073]);
  hart.step();
  assert.equal([hart.mcause, hart.mtval, hart.mepc, hart.pc, hart.instret], [3, CODE, CODE, HANDLER, 0]);
});

traps('an illegal instruction reports its own bits, 16 for a compressed one', () => {
  let { hart } = machine([0xffff_ffff]);
  hart.step();
  assert.equal([hart.mcause, hart.mtval], [2, 0xffff_ffff]);
  ({ hart } = machine([[0x0000]]));
  hart.step();
  assert.equal([hart.mcause, hart.mtval], [2, 0]);
  ({ hart } = machine([[0x6101]])); // c.addi16sp with imm 0 is reserved
  hart.step();
  assert.equal([hart.mcause, hart.mtval], [2, 0x6101]);
});

traps('slli/srli/srai with shamt[5] set are illegal on RV32', () => {
  for (const w of [I(32, 1, 1, 1, 0x13), I(32, 1, 5, 1, 0x13), I(0x420, 1, 5, 1, 0x13)]) {
    const { hart } = machine([w]);
    hart.step();
    assert.equal([hart.mcause, hart.mtval], [2, w]);
  }
});

traps('without C a 16-bit encoding is illegal and a jump to pc+2 is misaligned', () => {
  let { hart } = machine([[0x4505], [0x0001]], { isa: 'rv32ima' }); // c.li a0, 1
  hart.step();
  assert.equal([hart.mcause, hart.mtval], [2, 0x4505]);
  ({ hart } = machine([0x0060_00ef], { isa: 'rv32ima' })); // jal ra, +6
  hart.step();
  assert.equal([hart.mcause, hart.mtval, hart.mepc, hart.x[1]], [0, CODE + 6, CODE, 0]);
});

traps('trap entry and mret move MIE, MPIE and MPP as the privileged spec says', () => {
  const { hart } = machine([0x0000_0073]);
  hart.priv = 0;
  hart.mstatus = 1 << 3; // MIE is ignored in U but must be stacked
  hart.step();
  assert.equal([hart.priv, hart.mcause, hart.mstatus], [3, 8, 1 << 7]);
  hart.bus.store(HANDLER, 4, 0x3020_0073);
  hart.mepc = CODE + 4;
  hart.step();
  assert.equal([hart.priv, hart.pc, hart.mstatus, hart.instret], [0, CODE + 4, (1 << 3) | (1 << 7), 1]);
});

traps('mret, wfi and M-mode CSRs are illegal in U-mode', () => {
  for (const w of [0x3020_0073, 0x1050_0073, CSR(0x300, 0, 2, 1), CSR(0xf14, 0, 2, 1)]) {
    const { hart } = machine([w]);
    hart.priv = 0;
    hart.step();
    assert.equal([hart.priv, hart.mcause, hart.mtval, hart.mstatus >>> 11], [3, 2, w, 0], `0x${w.toString(16)}`);
  }
});

traps('mcounteren gates U-mode reads of cycle, time and instret', () => {
  const read = (csr: number, en: number) => {
    const { hart } = machine([CSR(csr, 0, 2, 5)]);
    hart.priv = 0;
    hart.mcounteren = en;
    hart.instret = 41;
    hart.cycle = 123;
    hart.step();
    return hart.pc === HANDLER ? 'trap' : hart.x[5];
  };
  assert.is(read(0xc00, 0), 'trap');
  assert.is(read(0xc00, 1), 123);
  assert.is(read(0xc01, 1), 'trap');
  assert.is(read(0xc01, 2), 12); // floor(123 / 10)
  assert.is(read(0xc02, 4), 41);
  assert.is(read(0xc82, 4), 0);
});

traps('writing a read-only CSR is illegal, even with csrrw x0', () => {
  const { hart } = machine([CSR(0xf14, 1, 1, 0)]);
  hart.step();
  assert.is(hart.mcause, 2);
});

traps('csrrs with rs1 = x0 reads without writing, so a read-only CSR is fine', () => {
  const { hart } = machine([CSR(0x301, 0, 2, 5), CSR(0xf14, 0, 2, 6)]);
  hart.step();
  hart.step();
  assert.equal([hart.x[5]! >>> 0, hart.x[6], hart.pc], [0x4010_1105, 0, CODE + 8]);
});

traps('a CSR write to minstret replaces that instruction\'s increment', () => {
  const { hart } = machine([CSR(0xb02, 1, 1, 2), CSR(0xb02, 0, 2, 3)]);
  hart.x[1] = 100;
  hart.instret = 7;
  hart.step();
  hart.step();
  assert.equal([hart.x[2], hart.x[3], hart.csrRead(0xb02), hart.instret], [7, 100, 101, 9]);
});

traps('writing mcycle changes the counter but not mtime', () => {
  const { hart } = machine([CSR(0xb80, 1, 1, 0), CSR(0xb00, 0, 2, 2), CSR(0xb80, 0, 2, 3), CSR(0xc01, 0, 2, 4)]);
  hart.x[1] = 5;
  hart.cycle = 95;
  for (let i = 0; i < 4; i++) hart.step();
  // csrw mcycleh at cycle 95 leaves mcycle = 5:95 for the next instruction (no increment)
  assert.equal([hart.x[2], hart.x[3], hart.x[4], hart.cycle], [95, 5, 9, 99]);
});

traps('mcountinhibit freezes minstret from the writing instruction on', () => {
  const { hart } = machine([CSR(0x320, 1, 1, 0), I(0, 0, 0, 0, 0x13), CSR(0x320, 0, 1, 0), I(0, 0, 0, 0, 0x13)]);
  hart.x[1] = 5; // CY and IR
  for (let i = 0; i < 4; i++) hart.step();
  // frozen at 0 by the first instruction; the write that clears it already counts
  assert.equal([hart.csrRead(0xb02), hart.csrRead(0xb00), hart.instret, hart.cycle], [2, 2, 4, 4]);
});

traps('medeleg, mideleg and satp do not exist; tdata1 reads zero', () => {
  for (const csr of [0x302, 0x303, 0x180]) {
    const { hart } = machine([CSR(csr, 0, 2, 1)]);
    hart.step();
    assert.is(hart.mcause, 2, `csr 0x${csr.toString(16)}`);
  }
  const { hart } = machine([CSR(0x7a1, 1, 1, 0), CSR(0x7a1, 0, 2, 2)]);
  hart.x[1] = -1;
  hart.x[2] = 5;
  hart.step();
  hart.step();
  assert.equal([hart.x[2], hart.pc], [0, CODE + 8]);
});

traps('mstatus keeps only the fields that exist without S-mode; MPP 1 and 2 read back as U', () => {
  const { hart } = machine([CSR(0x300, 1, 1, 0)]);
  hart.x[1] = -1 & ~(1 << 12); // MPP = 01
  hart.step();
  assert.is(hart.mstatus, (1 << 3) | (1 << 7) | (1 << 17) | (1 << 21));
});

traps('a timer interrupt is taken before the next instruction when enabled', () => {
  const { hart } = machine([I(1, 0, 0, 1, 0x13), I(1, 0, 0, 2, 0x13)]);
  hart.mtvec = HANDLER | 1; // vectored
  hart.mie = 1 << 7;
  hart.mstatus = 1 << 3;
  hart.mtimecmp = 1;
  hart.cycle = 9;
  hart.step(); // mtime = 0: runs
  assert.is(hart.x[1], 1);
  hart.step(); // mtime = 1: interrupt, no instruction
  assert.equal([hart.x[2], hart.mcause >>> 0, hart.mepc, hart.pc, hart.mstatus], [0, 0x8000_0007, CODE + 4, HANDLER + 28, (1 << 7) | (3 << 11)]);
  assert.is(hart.instret, 1);
});

traps('exceptions go to the vector base even in vectored mode', () => {
  const { hart } = machine([0x0000_0073]);
  hart.mtvec = HANDLER | 1;
  hart.step();
  assert.equal([hart.pc, hart.mcause], [HANDLER, 11]);
});

traps('interrupts: MEI before MSI before MTI, and U-mode takes them even with MIE clear', () => {
  const { hart } = machine([I(0, 0, 0, 0, 0x13)]);
  hart.priv = 0;
  hart.mie = 0x888;
  hart.mtimecmp = 0;
  hart.setPending(3, true);
  hart.setPending(11, true);
  hart.step();
  assert.equal([hart.mcause >>> 0, hart.priv, hart.mepc], [0x8000_000b, 3, CODE]);
  hart.setPending(11, false);
  hart.mstatus |= 1 << 3;
  hart.step();
  assert.is(hart.mcause >>> 0, 0x8000_0003);
  hart.setPending(3, false);
  hart.mstatus |= 1 << 3;
  hart.step();
  assert.is(hart.mcause >>> 0, 0x8000_0007);
});

traps('mret to U clears MPRV; mret to M keeps it', () => {
  for (const [mpp, mprv] of [[0, 0], [3, 1 << 17]] as const) {
    const { hart } = machine([0x3020_0073]);
    hart.mstatus = (mpp << 11) | (1 << 17);
    hart.mepc = CODE + 0x40;
    hart.step();
    assert.equal([hart.priv, hart.mstatus & (1 << 17), hart.pc], [mpp, mprv, CODE + 0x40]);
  }
});

traps('wfi stops the run only when no enabled interrupt is pending', () => {
  let { hart } = machine([0x1050_0073]);
  assert.is(hart.step(), REF_STOP_WFI);
  assert.is(hart.pc, CODE + 4);
  ({ hart } = machine([0x1050_0073]));
  hart.mie = 1 << 3;
  hart.setPending(3, true); // pending but globally disabled: wfi still returns
  assert.is(hart.step(), REF_STOP_BUDGET);
  assert.is(hart.pc, CODE + 4);
});

traps('with hostTraps, U-mode ecall stops at the ecall and other traps stop as faults', () => {
  let { hart } = machine([0x0000_0073], { hostTraps: true });
  hart.priv = 0;
  assert.is(hart.step(), REF_STOP_ECALL);
  assert.equal([hart.pc, hart.priv, hart.mcause, hart.instret], [CODE, 0, 0, 1]);
  ({ hart } = machine([I(0, 1, 2, 3, 0x03)], { hostTraps: true }));
  hart.priv = 0;
  hart.x[1] = 3;
  assert.is(hart.step(), REF_STOP_FAULT);
  assert.equal([hart.faultCause, hart.faultTval, hart.faultPc, hart.pc, hart.priv], [4, 3, CODE, CODE, 0]);
});

traps('a fetch fault at the trap vector stops instead of looping', () => {
  const { hart } = machine([]);
  hart.pc = 0x10;
  hart.mtvec = 0x10;
  assert.is(hart.step(), REF_STOP_FAULT);
  assert.equal([hart.faultCause, hart.faultTval], [1, 0x10]);
  hart.mtvec = HANDLER;
  assert.is(hart.step(), REF_STOP_BUDGET);
  assert.equal([hart.mcause, hart.mtval, hart.pc], [1, 0x10, HANDLER]);
});

traps('a 32-bit instruction straddling the end of RAM faults on its second half', () => {
  const bus = new Bus(new Uint8Array(0x2000), RAM);
  const end = RAM + 0x2000;
  bus.store(end - 2, 2, 0x0013);
  const hart = new ReferenceHart(bus);
  hart.reset(end - 2, 3);
  hart.mtvec = HANDLER;
  hart.step();
  assert.equal([hart.mcause, hart.mtval, hart.mepc], [1, end, end - 2]);
});

traps.run();

const rvc = suite('reference: compressed instructions');

rvc('compressed instructions behave like their expansions, with a 2-byte length', () => {
  // c.addi4spn x8, sp, 8 ; c.jal +4 ; (skipped) ; c.li x9, -1
  const { hart } = machine([[0x0020], [0x2011], [0x0001], [0x54fd]]);
  hart.x[2] = 0x100;
  hart.step();
  assert.is(hart.x[8], 0x108);
  hart.step();
  assert.equal([hart.pc, hart.x[1]! >>> 0], [CODE + 6, CODE + 4]);
  hart.step();
  assert.is(hart.x[9], -1);
});

rvc('c.ebreak reports the pc like ebreak', () => {
  const { hart } = machine([[0x0001], [0x9002]]);
  hart.step();
  hart.step();
  assert.equal([hart.mcause, hart.mtval], [3, CODE + 2]);
});

rvc('every 16-bit word expands to what GNU objdump disassembles it as', () => {
  const objdump = 'riscv64-unknown-elf-objdump';
  if (spawnSync(objdump, ['--version']).status !== 0) {
    console.warn(`  (skipped: ${objdump} not installed)`);
    return;
  }
  // Each 16-bit word sits at a multiple of 4 (padded by c.nop) in one image and
  // its expansion at the same address in the other, so pc-relative targets
  // print identically and the two listings can be compared line by line.
  const words: number[] = [];
  for (let w = 0; w < 0x10000; w++) if ((w & 3) !== 3) words.push(w);
  const a = new Uint8Array(words.length * 4);
  const b = new Uint8Array(words.length * 4);
  const av = new DataView(a.buffer);
  const bv = new DataView(b.buffer);
  words.forEach((w, i) => {
    av.setUint16(i * 4, w, true);
    av.setUint16(i * 4 + 2, 0x0001, true);
    let e = 0xffff_ffff; // objdump: .word, i.e. no instruction
    try {
      e = expandCompressed(w);
    } catch {}
    bv.setUint32(i * 4, e, true);
  });
  const dir = mkdtempSync(join(tmpdir(), 'rvc-'));
  try {
    writeFileSync(join(dir, 'a.bin'), a);
    writeFileSync(join(dir, 'b.bin'), b);
    const list = (f: string) => {
      const out = spawnSync(objdump, ['-D', '-b', 'binary', '-m', 'riscv:rv32', '-M', 'numeric,no-aliases', join(dir, f)], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      }).stdout;
      const m = new Map<number, string>();
      for (const line of out.split('\n')) {
        const r = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
        if (r && parseInt(r[1]!, 16) % 4 === 0) m.set(parseInt(r[1]!, 16), r[2]!.replace(/\s+/g, ' ').replace(/ #.*$/, '').trim());
      }
      return m;
    };
    const la = list('a.bin');
    const lb = list('b.bin');
    const bad: string[] = [];
    words.forEach((w, i) => {
      const got = lb.get(i * 4)!;
      let want = la.get(i * 4)!.replace(/^c\./, '');
      // objdump knows F/D and RV64 forms, which this hart lacks, and accepts
      // c.addi16sp with nzimm = 0, which the spec reserves.
      const notHere = /^(fl[wd]|fs[wd])(sp)? |^addi16sp x2,0$/.test(want) || /^(slli|srli|srai) .*,0x[23][0-9a-f]$/.test(want);
      if (want.startsWith('.') || want === 'unimp' || notHere) want = 'ILLEGAL';
      else want = normalise(want);
      const have = got.startsWith('.') ? 'ILLEGAL' : normalise(got);
      if (want !== have) bad.push(`0x${w.toString(16).padStart(4, '0')}: objdump "${la.get(i * 4)}", expansion "${got}"`);
    });
    assert.is(bad.length, 0, bad.slice(0, 10).join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * objdump's compressed mnemonics name the C form; reduce both listings to
 * the base operation and operands.
 */
function normalise(s: string): string {
  let [op, args = ''] = s.split(' ');
  const a = args.split(',');
  switch (op) {
    case 'nop': return 'addi x0,x0,0';
    case 'addi4spn': return `addi ${a[0]},${a[1]},${a[2]}`;
    case 'addi16sp': return `addi x2,x2,${a[1] ?? a[0]}`;
    case 'li': return `addi ${a[0]},x0,${a[1]}`;
    case 'mv': return `add ${a[0]},x0,${a[1]}`;
    case 'add': if (a.length === 2) return `add ${a[0]},${a[0]},${a[1]}`; break;
    case 'sub': case 'xor': case 'or': case 'and':
      if (a.length === 2) return `${op} ${a[0]},${a[0]},${a[1]}`; break;
    case 'addi': case 'andi': case 'slli': case 'srli': case 'srai':
      if (a.length === 2) return `${op} ${a[0]},${a[0]},${a[1]}`; break;
    case 'slli64': case 'srli64': case 'srai64': return `${op.slice(0, 4)} ${a[0]},${a[0]},0x0`;
    case 'lwsp': return `lw ${a[0]},${a[1]}`;
    case 'swsp': return `sw ${a[0]},${a[1]}`;
    case 'j': return `jal x0,${a[0]}`;
    case 'jal': if (a.length === 1) return `jal x1,${a[0]}`; break;
    case 'jr': return `jalr x0,0(${a[0]})`;
    case 'jalr': if (a.length === 1) return `jalr x1,0(${a[0]})`; break;
    case 'beqz': return `beq ${a[0]},x0,${a[1]}`;
    case 'bnez': return `bne ${a[0]},x0,${a[1]}`;
  }
  return `${op} ${args}`.trim();
}

rvc.run();

const oracle = suite('reference: whole programs against qemu-riscv32');

/** A freestanding guest that hashes the results of M, A, C and base-ISA corner cases and prints the hash. */
const GUEST_C = `/* Exercises RV32IMAC semantics and prints a hash: compared against qemu-riscv32. */
typedef unsigned int u32;
static u32 h = 2166136261u;
static void mix(u32 v) { h = (h ^ v) * 16777619u; }
#define OP(name, a, b) ({ u32 r_; __asm__ volatile(name " %0, %1, %2" : "=r"(r_) : "r"(a), "r"(b)); r_; })
static volatile u32 words[16];
static volatile short halves[16];
static volatile signed char bytes[16];
static long sys(long n, long a, long b, long c) {
  register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c, a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}
static const u32 edge[] = {0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 31, 32, 33, 0x8000, 0xffff8000};
void _start(void) {
  u32 x = 12345;
  for (int i = 0; i < 1000; i++) {
    x = x * 1103515245u + 12345u;
    u32 a = (i & 3) == 0 ? edge[(x >> 8) % 12] : x;
    u32 b = (i & 5) == 0 ? edge[(x >> 16) % 12] : (x >> (i & 15)) ^ (i * 2654435761u);
    mix(OP("mul", a, b)); mix(OP("mulh", a, b)); mix(OP("mulhsu", a, b)); mix(OP("mulhu", a, b));
    mix(OP("div", a, b)); mix(OP("divu", a, b)); mix(OP("rem", a, b)); mix(OP("remu", a, b));
    mix(OP("sll", a, b)); mix(OP("srl", a, b)); mix(OP("sra", a, b));
    mix(OP("slt", a, b)); mix(OP("sltu", a, b)); mix(OP("sub", a, b));
    u32 k = i & 15;
    words[k] = a; halves[k] = (short)b; bytes[k] = (signed char)a;
    mix(words[(k + 3) & 15]); mix((u32)(int)halves[(k + 5) & 15]); mix((u32)(int)bytes[(k + 7) & 15]);
    mix(((volatile unsigned short *)halves)[k]); mix(((volatile unsigned char *)bytes)[k]);
    mix(__atomic_fetch_add(&words[k], b, __ATOMIC_SEQ_CST));
    mix(__atomic_fetch_xor(&words[(k + 1) & 15], a, __ATOMIC_SEQ_CST));
    mix(__atomic_fetch_and(&words[(k + 2) & 15], b | 1, __ATOMIC_SEQ_CST));
    mix(__atomic_fetch_or(&words[(k + 3) & 15], a & 0xf0f0, __ATOMIC_SEQ_CST));
    mix(__atomic_exchange_n(&words[(k + 4) & 15], a ^ b, __ATOMIC_SEQ_CST));
    u32 expected = words[(k + 5) & 15];
    mix(__atomic_compare_exchange_n(&words[(k + 5) & 15], &expected, b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    int sa = (int)a, sb = (int)b;
    mix(sa < sb ? (u32)sa >> (b & 31) : (u32)(sa >> (a & 31)));
    if ((int)b < 0) mix(b + 7); else mix(a - 3);
  }
  /* signed/unsigned min/max through AMOs */
  for (int i = 0; i < 12; i++) for (int j = 0; j < 12; j++) {
    u32 r;
    words[0] = edge[i];
    __asm__ volatile("amomin.w %0, %1, (%2)" : "=r"(r) : "r"(edge[j]), "r"(&words[0]) : "memory"); mix(r); mix(words[0]);
    words[0] = edge[i];
    __asm__ volatile("amomaxu.w %0, %1, (%2)" : "=r"(r) : "r"(edge[j]), "r"(&words[0]) : "memory"); mix(r); mix(words[0]);
    words[0] = edge[i];
    __asm__ volatile("amomax.w %0, %1, (%2)" : "=r"(r) : "r"(edge[j]), "r"(&words[0]) : "memory"); mix(r); mix(words[0]);
    words[0] = edge[i];
    __asm__ volatile("amominu.w %0, %1, (%2)" : "=r"(r) : "r"(edge[j]), "r"(&words[0]) : "memory"); mix(r); mix(words[0]);
  }
  char out[9];
  for (int i = 0; i < 8; i++) out[i] = "0123456789abcdef"[(h >> (28 - 4 * i)) & 15];
  out[8] = '\\n';
  sys(64, 1, (long)out, 9);
  sys(93, 0, 0, 0);
  for (;;) {}
}
`;

/** Load an ELF32 executable's PT_LOAD segments into `bus`; returns the entry point. */
function loadElf(bus: Bus, elf: Uint8Array): number {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = v.getUint32(0x1c, true);
  const phentsize = v.getUint16(0x2a, true);
  for (let i = 0, n = v.getUint16(0x2c, true); i < n; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== 1) continue;
    const offset = v.getUint32(ph + 4, true);
    const vaddr = v.getUint32(ph + 8, true);
    const filesz = v.getUint32(ph + 16, true);
    const memsz = v.getUint32(ph + 20, true);
    bus.fillRam(vaddr, memsz);
    bus.writeRam(vaddr, elf.subarray(offset, offset + filesz));
  }
  return v.getUint32(0x18, true);
}

/** Run an app-profile program on the reference, serving write (64) and exit (93). */
function runOnReference(elf: Uint8Array, isa: 'rv32imac' | 'rv32ima'): { stdout: string; code: number } {
  const bus = new Bus(new Uint8Array(1 << 20), 0);
  const hart = new ReferenceHart(bus, { isa, hostTraps: true });
  hart.reset(loadElf(bus, elf), 0);
  hart.x[2] = (1 << 20) - 64;
  let stdout = '';
  for (let steps = 0; steps < 5_000_000; steps++) {
    const stop = hart.step();
    if (stop === REF_STOP_BUDGET) continue;
    if (stop !== REF_STOP_ECALL) throw new Error(`stopped with ${stop}: cause ${hart.faultCause} at 0x${hart.faultPc.toString(16)}`);
    const [a0, a1, a2, a7] = [hart.x[10]!, hart.x[11]!, hart.x[12]!, hart.x[17]!];
    if (a7 === 93) return { stdout, code: a0 };
    if (a7 !== 64 || a0 !== 1) throw new Error(`unexpected syscall ${a7}`);
    for (let i = 0; i < a2; i++) stdout += String.fromCharCode(bus.load(a1 + i, 1));
    hart.x[10] = a2;
    hart.pc += 4;
  }
  throw new Error('program did not exit');
}

for (const isa of ['rv32imac', 'rv32ima'] as const) {
  oracle(`${isa}: the reference prints what qemu-riscv32 prints`, () => {
    const gcc = 'riscv64-unknown-elf-gcc';
    const qemu = 'qemu-riscv32';
    if (spawnSync(gcc, ['--version']).status !== 0 || spawnSync(qemu, ['--version']).status !== 0) {
      console.warn(`  (skipped: ${gcc} or ${qemu} not installed)`);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'refq-'));
    try {
      writeFileSync(join(dir, 'p.c'), GUEST_C);
      const cc = spawnSync(gcc, [`-march=${isa}`, '-mabi=ilp32', '-O2', '-nostdlib', '-ffreestanding', '-static', '-Wl,--no-relax', '-o', join(dir, 'p.elf'), join(dir, 'p.c')], { encoding: 'utf8' });
      assert.is(cc.status, 0, cc.stderr);
      const q = spawnSync(qemu, [join(dir, 'p.elf')], { encoding: 'utf8' });
      assert.is(q.status, 0, `qemu: ${q.stderr}`);
      assert.match(q.stdout, /^[0-9a-f]{8}\n$/);
      const r = runOnReference(new Uint8Array(readFileSync(join(dir, 'p.elf'))), isa);
      assert.equal(r, { stdout: q.stdout, code: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

oracle.run();
