import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ArenaShare, DecodeArena } from '../src/cpu/arena.ts';
import { ARENA_SLOTS } from '../src/cpu/hot.ts';
import { Hart, STOP_BUDGET } from '../src/cpu/index.ts';
import { Bus } from '../src/memory/bus.ts';
import { RvisorError } from '../src/errors.ts';
import * as A from './_asm.ts';

/** An arena of `blocks` blocks of 8 slots after 4 register slots, and three shares of it. */
function small(blocks: number) {
  const arena = new DecodeArena(new Int32Array(4 + blocks * 8), 4, 8);
  const owners = [{}, {}, {}];
  const shares = owners.map((o) => arena.join(o));
  return { arena, owners, shares };
}

const unit = suite('decode arena');

unit('hands out distinct zeroed blocks after the register slots', () => {
  const { arena, shares: [a, b] } = small(3);
  assert.is(arena.capacity, 3);
  const x = arena.alloc(a!);
  arena.slots.fill(-1, x, x + 8);
  const y = arena.alloc(b!);
  const z = arena.alloc(a!);
  assert.equal([x, y, z].sort((p, q) => p - q), [4, 12, 20]);
  assert.equal(Array.from(arena.slots.subarray(y, y + 8)), new Array(8).fill(0));
  assert.equal(a!.blocks, [x, z]);
});

unit('when full, takes back every block of one idle owner, marks it lost, and zeroes the block it hands out', () => {
  const { arena, shares: [a, b, c] } = small(3);
  const x = arena.alloc(a!);
  arena.alloc(a!);
  arena.alloc(b!);
  arena.slots.fill(7, x, x + 8);
  arena.enter(c!);
  const got = arena.alloc(c!);
  arena.leave(c!);
  assert.is(a!.lost, true);
  assert.is(b!.lost, false);
  assert.equal(a!.blocks, []);
  assert.equal(c!.blocks, [got]);
  assert.equal(Array.from(arena.slots.subarray(got, got + 8)), new Array(8).fill(0));
});

unit('never takes the blocks of an owner whose chunk is running; the asking owner gives up its own last', () => {
  const { arena, shares: [a, b] } = small(2);
  arena.alloc(a!);
  const old = arena.alloc(b!);
  // a's chunk runs, and b runs inside it (a device callback): neither may lose blocks to the other...
  assert.is(arena.enter(a!), false);
  assert.is(arena.enter(b!), true);
  const got = arena.alloc(b!);
  assert.is(a!.lost, false);
  assert.is(a!.blocks.length, 1);
  // ...except the asking owner, which gave up its own block.
  assert.is(b!.lost, true);
  assert.equal(b!.blocks, [got]);
  assert.is(got, old);
  arena.leave(b!);
  arena.leave(a!);
});

unit('throws HART_DECODE_ARENA_FULL only when every block belongs to a running owner and the asker has none', () => {
  const { arena, shares: [a, b] } = small(1);
  arena.alloc(a!);
  arena.enter(a!);
  arena.enter(b!);
  try {
    arena.alloc(b!);
    assert.unreachable('allocated');
  } catch (e) {
    assert.instance(e, RvisorError);
    assert.is((e as RvisorError).code, 'HART_DECODE_ARENA_FULL');
  }
  assert.is(a!.blocks.length, 1, 'the running owner kept its block');
  arena.leave(b!);
  arena.leave(a!);
});

unit('takes blocks back in batches: a 32nd of the arena at once, whole owners at a time', () => {
  const arena = new DecodeArena(new Int32Array(4 + 128 * 8), 4, 8);
  const shares = Array.from({ length: 64 }, () => arena.join({}));
  for (const s of shares) { arena.alloc(s); arena.alloc(s); }
  const asking = arena.join({});
  arena.alloc(asking);
  // 128 / 32 = 4 blocks: two whole owners (two blocks each) went; the next three allocations need no walk.
  assert.equal(shares.map((s) => s.lost).filter(Boolean).length, 2);
  arena.alloc(asking);
  arena.alloc(asking);
  arena.alloc(asking);
  assert.equal(shares.map((s) => s.lost).filter(Boolean).length, 2);
  assert.is(asking.blocks.length, 4);
});

unit('blocks come back when their owner is garbage collected', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const arena = new DecodeArena(new Int32Array(4 + 4 * 8), 4, 8);
  const keptOwner = {};
  const keptShare = arena.join(keptOwner);
  const dead = ((): ArenaShare[] => {
    const out = [];
    for (let i = 0; i < 3; i++) {
      const s = arena.join({});
      arena.alloc(s);
      out.push(s);
    }
    return out;
  })();
  arena.alloc(keptShare);
  // Finalizers run in a later task: collect and wait until all three came back (or give up after ~2 s).
  for (let i = 0; i < 200 && dead.some((s) => s.blocks.length > 0); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(dead.map((s) => s.blocks.length), [0, 0, 0]);
  assert.equal(dead.map((s) => s.lost), [false, false, false], 'collected, not taken back');
  arena.alloc(keptShare);
  arena.alloc(keptShare);
  arena.alloc(keptShare);
  assert.is(keptShare.lost, false, 'the live owner kept its blocks');
  assert.is(keptShare.blocks.length, 4);
  assert.ok(keptOwner, 'still referenced here, so never collected');
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
