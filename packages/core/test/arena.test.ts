import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DecodeArena } from '../src/cpu/arena.ts';
import { ARENA_SLOTS } from '../src/cpu/hot.ts';
import { Hart, STOP_BUDGET } from '../src/cpu/index.ts';
import { Bus } from '../src/memory/bus.ts';
import { RvisorError } from '../src/errors.ts';
import * as A from './_asm.ts';

/** An arena of `blocks` blocks of 8 slots after 4 register slots, and owners that count how often they were told to drop. */
function small(blocks: number) {
  const arena = new DecodeArena(new Int32Array(4 + blocks * 8), 4, 8);
  const owners = [0, 1, 2].map(() => ({ drops: 0, dropBlocks() { this.drops++; } }));
  const ids = owners.map((o) => arena.join(o));
  return { arena, owners, ids };
}

const unit = suite('decode arena');

unit('hands out distinct zeroed blocks after the register slots', () => {
  const { arena, ids } = small(3);
  assert.is(arena.capacity, 3);
  const a = arena.alloc(ids[0]!);
  arena.slots.fill(-1, a, a + 8);
  const b = arena.alloc(ids[1]!);
  const c = arena.alloc(ids[0]!);
  assert.equal([a, b, c].sort((x, y) => x - y), [4, 12, 20]);
  assert.equal(Array.from(arena.slots.subarray(b, b + 8)), new Array(8).fill(0));
  assert.is(arena.blocksOf(ids[0]!), 2);
});

unit('when full, takes back every block of one idle owner, tells it, and zeroes the block it hands out', () => {
  const { arena, owners, ids } = small(3);
  const a1 = arena.alloc(ids[0]!);
  arena.alloc(ids[0]!);
  arena.alloc(ids[1]!);
  arena.slots.fill(7, a1, a1 + 8);
  arena.enter(ids[2]!);
  const got = arena.alloc(ids[2]!);
  arena.leave();
  assert.is(owners[0]!.drops, 1);
  assert.is(owners[1]!.drops, 0);
  assert.is(arena.blocksOf(ids[0]!), 0);
  assert.is(arena.blocksOf(ids[2]!), 1);
  assert.equal(Array.from(arena.slots.subarray(got, got + 8)), new Array(8).fill(0));
});

unit('never takes the blocks of an owner whose chunk is running; the asking owner gives up its own last', () => {
  const { arena, owners, ids } = small(2);
  arena.alloc(ids[0]!);
  arena.alloc(ids[1]!);
  // Owner 0's chunk runs, and owner 1 runs inside it (a device callback): neither may lose blocks to the other...
  assert.is(arena.enter(ids[0]!), false);
  assert.is(arena.enter(ids[1]!), true);
  arena.alloc(ids[1]!);
  assert.is(owners[0]!.drops, 0);
  // ...except the asking owner, which gave up its own block.
  assert.is(owners[1]!.drops, 1);
  assert.is(arena.blocksOf(ids[0]!), 1);
  assert.is(arena.blocksOf(ids[1]!), 1);
  arena.leave();
  arena.leave();
});

unit('throws HART_DECODE_ARENA_FULL only when every block belongs to a running owner and the asker has none', () => {
  const { arena, ids } = small(1);
  arena.alloc(ids[0]!);
  arena.enter(ids[0]!);
  arena.enter(ids[1]!);
  try {
    arena.alloc(ids[1]!);
    assert.unreachable('allocated');
  } catch (e) {
    assert.instance(e, RvisorError);
    assert.is((e as RvisorError).code, 'HART_DECODE_ARENA_FULL');
  }
  assert.is(arena.blocksOf(ids[0]!), 1, 'the running owner kept its block');
  arena.leave();
  arena.leave();
});

unit.run();

// ---------------------------------------------------------------------------------------------

const harts = suite('harts sharing the decode arena');

const BASE = 0x8000_0000;
/** Decode blocks (1 KiB of guest code each) the process arena holds: 4-byte slots, 1028 per block, after 64. */
const CAPACITY = Math.floor((ARENA_SLOTS - 64) / 1028);

/**
 * A hart whose code spans `blocks` KiB blocks: each block adds `k` to x5 and jumps to the next,
 * the last jumps back to the first. One pass is 2 * blocks + 1 instructions.
 */
function spanning(blocks: number, k: number): Hart {
  const bus = new Bus(new Uint8Array(blocks * 1024), BASE);
  for (let i = 0; i < blocks - 1; i++) bus.writeRam(BASE + i * 1024, A.program(A.addi(5, 5, k), A.jal(0, 1020)));
  bus.writeRam(BASE + (blocks - 1) * 1024, A.program(A.addi(5, 5, k), A.lui(6, BASE), A.jalr(0, 6, 0)));
  return new Hart(bus);
}

harts('two harts whose code needs more blocks than the arena holds take turns and stay exact', () => {
  const n = Math.ceil(CAPACITY * 0.6);
  const a = spanning(n, 1);
  const b = spanning(n, 3);
  const pass = 2 * n + 1;
  for (let turn = 1; turn <= 2; turn++) {
    assert.is(a.run(pass), STOP_BUDGET);
    assert.is(b.run(pass), STOP_BUDGET);
    assert.is(a.x[5], turn * n, `hart a, turn ${turn}`);
    assert.is(b.x[5], 3 * turn * n, `hart b, turn ${turn}`);
    assert.is(a.pc, BASE);
    assert.is(b.pc, BASE);
  }
  // b's first pass could not fit beside a's blocks: the arena took some of a's back.
  assert.ok(a.decodeCacheBytes() + b.decodeCacheBytes() < 2 * n * 1028 * 4);
});

harts('a hart run from a device callback inside another hart\'s chunk leaves the outer registers as they were', () => {
  const inner = new Hart(new Bus(new Uint8Array(4096), BASE));
  inner.bus.writeRam(BASE, A.program(A.addi(5, 0, 100), A.addi(6, 0, 200), A.add(7, 5, 6), A.jal(0, 0)));
  const bus = new Bus(new Uint8Array(4096), BASE);
  bus.mapDevice('nested', 0x1000_0000, 16, {
    read: () => {
      inner.run(4);
      return 42;
    },
    write: () => {},
  });
  bus.writeRam(BASE, A.program(
    A.addi(5, 0, 7), A.addi(6, 0, 9), A.lui(8, 0x1000_0000),
    A.lw(7, 8, 0),
    A.add(10, 5, 6), A.add(11, 10, 7),
  ));
  const outer = new Hart(bus);
  assert.is(outer.run(6), STOP_BUDGET);
  assert.equal([outer.x[5], outer.x[6], outer.x[7], outer.x[10], outer.x[11]], [7, 9, 42, 16, 58]);
  assert.equal([inner.x[5], inner.x[6], inner.x[7]], [100, 200, 300]);
});

harts.run();
