import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Bus } from '../src/memory/bus.ts';
import { decode, Hart, STOP_BUDGET } from '../src/cpu/index.ts';
import { ReferenceHart } from '../src/cpu/reference.ts';
import { PRIME_BLOCK0, PRIME_BLOCK1, PRIME_RAM } from '../src/cpu/prime.ts';
import { primeListing, START } from './_prime-listing.ts';

const prime = suite('priming program');

function load(): Bus {
  const bus = new Bus(new Uint8Array(PRIME_RAM), 0);
  bus.ram16.set(PRIME_BLOCK0, 0);
  bus.ram16.set(PRIME_BLOCK1, 0x400 >>> 1);
  return bus;
}

const halves = (b: Uint8Array) => Array.from(new Uint16Array(b.buffer, b.byteOffset, b.length >>> 1));

prime('its machine code is the assembled listing', () => {
  const { block0, block1 } = primeListing();
  assert.equal(PRIME_BLOCK0, halves(block0));
  assert.equal(PRIME_BLOCK1, halves(block1));
});

prime('two turns of its loop run every kind of fast-path step', () => {
  const ref = new ReferenceHart(load());
  const seen = new Set<string>();
  let prev = '';
  const word = (pc: number) => {
    const r = ref.bus.ram;
    const lo = r[pc]! | (r[pc + 1]! << 8);
    return (lo & 3) === 3 ? (lo | (r[pc + 2]! << 16) | (r[pc + 3]! << 24)) >>> 0 : lo;
  };
  let turns = 0;
  for (let n = 0; n < 1000 && turns < 3; n++) {
    const pc = ref.pc;
    const w = word(pc);
    const d = decode(w);
    // Taken or not from the operands (a taken branch to the next instruction is still taken).
    const a = ref.x[d.rs1]!, b = ref.x[d.rs2]!;
    const cond: Record<string, boolean> = {
      beq: a === b, bne: a !== b, blt: a < b, bge: a >= b, bltu: a >>> 0 < b >>> 0, bgeu: a >>> 0 >= b >>> 0, jal: true, jalr: true,
    };
    const taken = cond[d.name] ?? false;
    const target = d.name === 'jalr' ? (a + d.imm) & ~1 : (pc + d.imm) | 0;
    // Far: the target is in another 1 KiB decode block (the hart decides that when it decodes).
    const far = d.name in cond && (target >>> 10) !== (pc >>> 10);
    ref.step();
    assert.is(ref.mcause, 0, `no trap at 0x${pc.toString(16)}`);
    const kind = /^(b|jal)/.test(d.name) ? `${d.name}${taken ? ' taken' : ''}${far ? ' far' : ''}` : d.name;
    seen.add(kind);
    // An operand at or above 2^31 unsigned: V8 must not have specialised the case to small values.
    if (a < 0) seen.add(`${d.name} with rs1 >= 2^31`);
    if ((w & 3) !== 3) seen.add('compressed');
    if (prev) seen.add(`${prev} + ${kind}`);
    prev = taken ? '' : d.name;
    if (ref.pc === START) turns++;
  }
  assert.is(turns, 3, 'the loop comes back to its start (the first time from the prologue)');
  const want = [
    'lui', 'auipc', 'addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'slli', 'srli', 'srai',
    'add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and',
    'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu',
    'lb', 'lh', 'lw', 'lbu', 'lhu', 'sb', 'sh', 'sw', 'fence', 'compressed',
    'addi + addi', 'lw + lw', 'lh + lh', 'mul + add', 'add + bne taken', 'addi + bne taken', 'addi + bne',
    'beq taken', 'beq', 'bne taken', 'bne', 'blt taken', 'blt', 'bge taken', 'bge',
    'bltu taken', 'bltu', 'bgeu taken', 'bgeu',
    ...['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'].flatMap((b) => [`${b} far`, `${b} taken far`]),
    'jal taken', 'jal taken far', 'jalr taken', 'jalr taken far',
  ];
  for (const k of want) assert.ok(seen.has(k), `runs ${k}`);
  const wide = [
    'slti', 'sltiu', 'xori', 'ori', 'andi', 'slli', 'srli', 'srai', 'add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl',
    'sra', 'or', 'and', 'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'blt', 'bge', 'bltu', 'bgeu',
  ];
  for (const k of wide) assert.ok(seen.has(`${k} with rs1 >= 2^31`), `runs ${k} with rs1 >= 2^31`);
});

prime('the hart runs it forever without a trap, in step with the reference', () => {
  const hart = new Hart(load());
  const ref = new ReferenceHart(load());
  for (let chunk = 0; chunk < 20; chunk++) {
    assert.is(hart.run(997), STOP_BUDGET);
    for (let n = 0; n < 997; n++) ref.step();
    assert.is(hart.pc, ref.pc, `pc after chunk ${chunk}`);
    assert.equal(Array.from(hart.x), Array.from(ref.x), `registers after chunk ${chunk}`);
  }
  assert.is(hart.mcause, 0);
  assert.equal(hart.bus.ram.subarray(0x1000, 0x1008), ref.bus.ram.subarray(0x1000, 0x1008));
});

prime.run();
