import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, RvisorError } from '../src/errors.ts';
import { Bus } from '../src/memory/bus.ts';
import {
  MEMORY_BAD_GRANT,
  MEMORY_BAD_NAME,
  MEMORY_DUPLICATE_GRANT,
  MEMORY_PARTITION_EXISTS,
  MEMORY_PLAN_STALE,
  MEMORY_RAM_RANGE,
  MEMORY_UNKNOWN_PARTITION,
  MEMORY_UNKNOWN_WINDOW,
  MEMORY_WINDOW_EXISTS,
  MEMORY_WINDOW_IN_USE,
  MEMORY_WINDOW_OVERLAP,
  MEMORY_WINDOW_RANGE,
  Partitioner,
} from '../src/memory/partitioner.ts';
import type { AdmissionRequest } from '../src/memory/partitioner.ts';
import { MEMORY_BAD_SIZE, MEMORY_EXHAUSTED, MEMORY_NOT_ALLOCATED, MEMORY_POOL_CONFIG, MemoryPool } from '../src/memory/pool.ts';

const KiB = 1024;
const PAGE = 4 * KiB;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, RvisorError);
    return (e as RvisorError).code;
  }
  assert.unreachable('no error thrown');
  return '';
}

/** Deterministic PRNG (xorshift32) so a failing random sequence can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

// ---------------------------------------------------------------------------

const pool = suite('memory pool');

pool('a pool whose size or alignment is unusable is refused', () => {
  assert.is(code(() => new MemoryPool(10_000)), MEMORY_POOL_CONFIG);
  assert.is(code(() => new MemoryPool(0)), MEMORY_POOL_CONFIG);
  assert.is(code(() => new MemoryPool(64 * KiB, { align: 3000 })), MEMORY_POOL_CONFIG);
  assert.is(code(() => new MemoryPool(64 * KiB, { align: 2 })), MEMORY_POOL_CONFIG);
  assert.instance((() => { try { new MemoryPool(1); } catch (e) { return e; } })(), ConfigError);
});

pool('regions are aligned, disjoint views of the pool buffer', () => {
  const p = new MemoryPool(64 * KiB);
  const a = p.allocate('a', 100);
  const b = p.allocate('b', 5000);
  assert.is(a.bytes.buffer, p.buffer);
  assert.is(b.bytes.buffer, p.buffer);
  assert.is(a.offset % PAGE, 0);
  assert.is(b.offset % PAGE, 0);
  assert.is(a.size, 100);
  assert.is(a.span, PAGE);
  assert.is(b.span, 2 * PAGE);
  assert.ok(a.offset + a.span <= b.offset || b.offset + b.span <= a.offset);
  b.bytes.fill(0xee);
  assert.ok(a.bytes.every((x) => x === 0));
});

pool('a custom alignment is honoured', () => {
  const p = new MemoryPool(64 * KiB, { align: 64 * 4 });
  const a = p.allocate('a', 4);
  const b = p.allocate('b', 4);
  assert.is(a.span, 256);
  assert.is(b.offset - a.offset, 256);
});

pool('sizes that are not positive multiples of 4 are refused', () => {
  const p = new MemoryPool(64 * KiB);
  for (const s of [0, -4, 3, 6, 1.5, Number.NaN]) assert.is(code(() => p.allocate('x', s)), MEMORY_BAD_SIZE, `size ${s}`);
  assert.is(p.stats().used, 0);
});

pool('a request larger than the largest free block fails and changes nothing', () => {
  const p = new MemoryPool(16 * KiB);
  p.allocate('a', PAGE);
  const before = p.stats();
  try {
    p.allocate('big', 16 * KiB);
    assert.unreachable();
  } catch (e) {
    assert.is((e as RvisorError).code, MEMORY_EXHAUSTED);
    assert.match((e as Error).message, /big/);
    assert.match((e as Error).message, /largest free block 12288/);
  }
  assert.equal(p.stats(), before);
});

pool('a reused region is zero-filled: no bytes leak from the previous owner', () => {
  const p = new MemoryPool(16 * KiB);
  const a = p.allocate('a', 2 * PAGE);
  a.bytes.fill(0x5a);
  p.free(a);
  const b = p.allocate('b', 2 * PAGE);
  assert.is(b.offset, a.offset);
  assert.ok(b.bytes.every((x) => x === 0));
});

pool('freeing neighbours coalesces them into one block', () => {
  const p = new MemoryPool(64 * KiB);
  const a = p.allocate('a', PAGE);
  const b = p.allocate('b', PAGE);
  const c = p.allocate('c', PAGE);
  p.free(a);
  p.free(c); // c merges with the tail
  assert.equal(p.freeBlocks(), [{ offset: 0, size: PAGE }, { offset: 2 * PAGE, size: 14 * PAGE }]);
  assert.ok(p.stats().fragmentation > 0);
  p.free(b); // bridges both sides
  assert.equal(p.freeBlocks(), [{ offset: 0, size: 64 * KiB }]);
  assert.is(p.stats().fragmentation, 0);
  assert.is(p.stats().largestFree, 64 * KiB);
});

pool('allocation is best fit, lowest offset on a tie', () => {
  const p = new MemoryPool(64 * KiB);
  const r = [1, 2, 1, 1, 1].map((pages, i) => p.allocate(`r${i}`, pages * PAGE));
  p.free(r[1]!); // 2-page hole at 1
  p.free(r[3]!); // 1-page hole at 4
  const x = p.allocate('x', PAGE);
  assert.is(x.offset, 4 * PAGE, 'fills the exact-size hole, not the first one');
  const y = p.allocate('y', PAGE);
  assert.is(y.offset, 1 * PAGE);
});

pool('double free and foreign regions are refused', () => {
  const p = new MemoryPool(16 * KiB);
  const q = new MemoryPool(16 * KiB);
  const a = p.allocate('a', PAGE);
  p.free(a);
  assert.is(code(() => p.free(a)), MEMORY_NOT_ALLOCATED);
  const b = q.allocate('b', PAGE);
  assert.is(code(() => p.free(b)), MEMORY_NOT_ALLOCATED);
});

pool('an allocate/free loop keeps usage flat and reuses the same offset', () => {
  const p = new MemoryPool(1024 * KiB);
  p.allocate('keep1', 3 * PAGE);
  const hole = p.allocate('hole', 5 * PAGE);
  p.allocate('keep2', PAGE);
  p.free(hole);
  const before = p.stats();
  let offset = -1;
  for (let i = 0; i < 2000; i++) {
    const r = p.allocate(`tmp${i}`, ((i % 5) + 1) * PAGE - 4);
    if (i % 5 === 4) {
      if (offset < 0) offset = r.offset;
      assert.is(r.offset, offset);
    }
    p.free(r);
  }
  assert.equal(p.stats(), before);
});

pool('random allocate/free agrees with a page-bitmap model', () => {
  const pages = 256;
  const p = new MemoryPool(pages * PAGE);
  const next = rng(12345);
  const owner = new Int32Array(pages).fill(-1); // the model: which region owns each page
  const live = new Map<number, ReturnType<MemoryPool['allocate']>>();
  let failures = 0;
  for (let step = 0; step < 3000; step++) {
    if (live.size > 0 && next() < 0.45) {
      const keys = [...live.keys()];
      const id = keys[Math.floor(next() * keys.length)]!;
      p.free(live.get(id)!);
      live.delete(id);
      for (let i = 0; i < pages; i++) if (owner[i] === id) owner[i] = -1;
    } else {
      const want = 1 + Math.floor(next() * 24);
      // Model: the longest run of free pages decides whether the request fits.
      let run = 0;
      let best = 0;
      for (let i = 0; i < pages; i++) {
        run = owner[i] === -1 ? run + 1 : 0;
        best = Math.max(best, run);
      }
      if (want > best) {
        assert.is(code(() => p.allocate(`s${step}`, want * PAGE)), MEMORY_EXHAUSTED);
        failures++;
        continue;
      }
      const r = p.allocate(`s${step}`, want * PAGE);
      const first = r.offset / PAGE;
      for (let i = first; i < first + want; i++) {
        assert.is(owner[i], -1, `page ${i} handed out twice`);
        owner[i] = step;
      }
      live.set(step, r);
    }
    // Stats against the model.
    let free = 0;
    let run = 0;
    let largest = 0;
    let blocks = 0;
    for (let i = 0; i < pages; i++) {
      if (owner[i] === -1) {
        free++;
        if (run === 0) blocks++;
        run++;
        largest = Math.max(largest, run);
      } else run = 0;
    }
    const s = p.stats();
    assert.is(s.free, free * PAGE);
    assert.is(s.largestFree, largest * PAGE);
    assert.is(s.freeBlocks, blocks, 'free blocks are fully coalesced');
  }
  assert.ok(failures > 10, 'the sequence exercised exhaustion');
});

pool.run();

// ---------------------------------------------------------------------------

const admit = suite('partitioner admission');

function fresh(size = 256 * KiB): Partitioner {
  return new Partitioner(new MemoryPool(size));
}

function snapshot(pt: Partitioner): unknown {
  return { stats: pt.pool.stats(), ids: pt.partitionIds(), windows: pt.windowNames(), grants: pt.partitionIds().map((id) => pt.grantsOf(id).map((g) => g.window)) };
}

admit('partitions and a shared window are admitted together', () => {
  const pt = fresh();
  const adm = pt.admit({
    partitions: [{ id: 'sensor', ramSize: 64 * KiB }, { id: 'logger', ramSize: 32 * KiB }],
    windows: [{ name: 'shm', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'sensor', access: 'rw' }, { partition: 'logger', access: 'ro' }] }],
  });
  assert.equal(adm.partitions.map((p) => p.id), ['sensor', 'logger']);
  assert.is(adm.windows.length, 1);
  assert.is(pt.pool.stats().used, 64 * KiB + 32 * KiB + PAGE);
  const [g] = pt.grantsOf('logger');
  assert.is(g!.writable, false);
  assert.is(pt.grantsOf('sensor')[0]!.writable, true);
  assert.is(pt.grantsOf('sensor')[0]!.bytes, g!.bytes, 'both grants view the same memory');
  assert.is(pt.partition('sensor')!.region.size, 64 * KiB);
});

admit('grants plug into the bus: the rw side writes, the ro side reads and cannot write', () => {
  const pt = fresh();
  pt.admit({
    partitions: [{ id: 'a', ramSize: 16 * KiB }, { id: 'b', ramSize: 16 * KiB, ramBase: 0x8000_0000 }],
    windows: [{ name: 'w', size: PAGE, grants: [{ partition: 'a', access: 'rw', address: 0x2000_0000 }, { partition: 'b', access: 'ro', address: 0x3000_0000 }] }],
  });
  const bus = (id: string): Bus => {
    const p = pt.partition(id)!;
    const b = new Bus(p.region.bytes, p.ramBase);
    for (const g of pt.grantsOf(id)) b.mapMemory(g.window, g.address, g.bytes, g.writable);
    return b;
  };
  const a = bus('a');
  const b = bus('b');
  a.store(0x2000_0010, 4, 0xcafe_f00d);
  assert.is(a.fault, false);
  assert.is(b.load(0x3000_0010, 4), 0xcafe_f00d);
  b.store(0x3000_0010, 4, 1);
  assert.is(b.fault, true);
  assert.is(a.load(0x2000_0010, 4), 0xcafe_f00d);
  // RAM stays private: a's RAM write is not visible in b's RAM.
  a.store(0x100, 4, 7);
  assert.is(b.load(0x8000_0100, 4), 0);
});

admit('a request that does not fit leaves nothing half-created', () => {
  const pt = fresh(128 * KiB);
  pt.admit({ partitions: [{ id: 'old', ramSize: 32 * KiB }] });
  const before = snapshot(pt);
  const req: AdmissionRequest = {
    partitions: [{ id: 'p1', ramSize: 64 * KiB }, { id: 'p2', ramSize: 64 * KiB }],
    windows: [{ name: 'w', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'p1', access: 'rw' }] }],
  };
  assert.is(code(() => pt.admit(req)), MEMORY_EXHAUSTED);
  assert.equal(snapshot(pt), before);
  assert.is(pt.partition('p1'), undefined);
  assert.is(pt.window('w'), undefined);
});

admit('a window that does not fit after its partitions fails the whole request', () => {
  const pt = fresh(64 * KiB);
  const before = snapshot(pt);
  assert.is(code(() => pt.admit({ partitions: [{ id: 'p', ramSize: 60 * KiB }], windows: [{ name: 'w', size: 2 * PAGE, address: 0x4000_0000 }] })), MEMORY_EXHAUSTED);
  assert.equal(snapshot(pt), before);
});

/** Each bad request -> its code, and the partitioner is unchanged afterwards. */
const bad: Array<[string, string, AdmissionRequest]> = [
  ['partition id with a slash', MEMORY_BAD_NAME, { partitions: [{ id: 'a/b', ramSize: PAGE }] }],
  ['partition id starting with @', MEMORY_BAD_NAME, { partitions: [{ id: '@host', ramSize: PAGE }] }],
  ['window name empty', MEMORY_BAD_NAME, { windows: [{ name: '', size: PAGE, address: 0x4000_0000 }] }],
  ['partition id already admitted', MEMORY_PARTITION_EXISTS, { partitions: [{ id: 'base', ramSize: PAGE }] }],
  ['partition id twice in one request', MEMORY_PARTITION_EXISTS, { partitions: [{ id: 'n', ramSize: PAGE }, { id: 'n', ramSize: PAGE }] }],
  ['ram size not a multiple of 4', MEMORY_BAD_SIZE, { partitions: [{ id: 'n', ramSize: 1001 }] }],
  ['ram past 4 GiB', MEMORY_RAM_RANGE, { partitions: [{ id: 'n', ramSize: 2 * PAGE, ramBase: 0xffff_f000 }] }],
  ['reserved range of zero bytes', MEMORY_RAM_RANGE, { partitions: [{ id: 'n', ramSize: PAGE, reserved: [{ name: 'clint', base: 0x0200_0000, size: 0 }] }] }],
  ['ram base misaligned', MEMORY_RAM_RANGE, { partitions: [{ id: 'n', ramSize: PAGE, ramBase: 2 }] }],
  ['window name taken', MEMORY_WINDOW_EXISTS, { windows: [{ name: 'basewin', size: PAGE, address: 0x4000_0000 }] }],
  ['window name twice in one request', MEMORY_WINDOW_EXISTS, { windows: [{ name: 'x', size: PAGE, address: 0 }, { name: 'x', size: PAGE, address: 0 }] }],
  ['window size zero', MEMORY_BAD_SIZE, { windows: [{ name: 'x', size: 0, address: 0x4000_0000 }] }],
  ['grant on a missing window', MEMORY_UNKNOWN_WINDOW, { grants: [{ window: 'nope', partition: 'base', access: 'ro' }] }],
  ['grant to an unknown partition', MEMORY_UNKNOWN_PARTITION, { windows: [{ name: 'x', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'ghost', access: 'ro' }] }] }],
  ['grant with a bad access', MEMORY_BAD_GRANT, { windows: [{ name: 'x', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'base', access: 'wx' as 'ro' }] }] }],
  ['window address not page aligned', MEMORY_WINDOW_RANGE, { windows: [{ name: 'x', size: PAGE, address: 0x4000_0004 }] }],
  ['window past 4 GiB', MEMORY_WINDOW_RANGE, { windows: [{ name: 'x', size: 2 * PAGE, address: 0xffff_f000 }] }],
  ['grant without any address', MEMORY_WINDOW_RANGE, { windows: [{ name: 'x', size: PAGE, grants: [{ partition: 'base', access: 'ro' }] }] }],
  ['window over the partition RAM', MEMORY_WINDOW_OVERLAP, { windows: [{ name: 'x', size: PAGE, address: 0x1000, grants: [{ partition: 'base', access: 'ro' }] }] }],
  ['window over a reserved device range', MEMORY_WINDOW_OVERLAP, { windows: [{ name: 'x', size: PAGE, address: 0x1000_0000, grants: [{ partition: 'base', access: 'ro' }] }] }],
  ['window over another window of the partition', MEMORY_WINDOW_OVERLAP, { windows: [{ name: 'x', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'base', access: 'ro' }] }] }],
  ['two new windows over each other', MEMORY_WINDOW_OVERLAP, { partitions: [{ id: 'n', ramSize: PAGE }], windows: [{ name: 'x', size: 2 * PAGE, address: 0x5000_0000, grants: [{ partition: 'n', access: 'ro' }] }, { name: 'y', size: PAGE, address: 0x5000_1000, grants: [{ partition: 'n', access: 'rw' }] }] }],
  ['same window granted twice', MEMORY_DUPLICATE_GRANT, { grants: [{ window: 'basewin', partition: 'base', access: 'ro', address: 0x6000_0000 }] }],
  ['request that does not fit', MEMORY_EXHAUSTED, { partitions: [{ id: 'n', ramSize: 1024 * KiB }] }],
];

for (const [what, expected, req] of bad) {
  admit(`${what} -> ${expected}, nothing changes`, () => {
    const pt = fresh();
    pt.admit({
      partitions: [{ id: 'base', ramSize: 16 * KiB, reserved: [{ name: 'uart', base: 0x1000_0000, size: 0x100 }] }],
      windows: [{ name: 'basewin', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'base', access: 'rw' }] }],
    });
    const before = snapshot(pt);
    assert.is(code(() => pt.plan(req)), expected);
    assert.is(code(() => pt.admit(req)), expected);
    assert.equal(snapshot(pt), before);
  });
}

admit('windows touching each other or the RAM end are fine', () => {
  const pt = fresh();
  pt.admit({
    partitions: [{ id: 'p', ramSize: 16 * KiB }],
    windows: [
      { name: 'a', size: PAGE, address: 16 * KiB, grants: [{ partition: 'p', access: 'ro' }] },
      { name: 'b', size: PAGE, address: 20 * KiB, grants: [{ partition: 'p', access: 'rw' }] },
    ],
  });
  assert.equal(pt.grantsOf('p').map((g) => g.address), [16 * KiB, 20 * KiB]);
});

admit('a plan is applied only if the layout did not change in between', () => {
  const pt = fresh();
  const plan = pt.plan({ partitions: [{ id: 'a', ramSize: PAGE }] });
  assert.is(plan.bytes, PAGE);
  assert.is(pt.pool.stats().used, 0, 'plan() changes nothing');
  pt.admit({ partitions: [{ id: 'b', ramSize: PAGE }] });
  assert.is(code(() => pt.commit(plan)), MEMORY_PLAN_STALE);
  assert.is(pt.partition('a'), undefined);
  const again = pt.plan({ partitions: [{ id: 'a', ramSize: PAGE }] });
  pt.commit(again);
  assert.ok(pt.partition('a'));
  assert.is(code(() => pt.commit(again)), MEMORY_PLAN_STALE, 'a plan commits once');
});

admit('a new partition can join an existing window in the same request', () => {
  const pt = fresh();
  pt.admit({ partitions: [{ id: 'a', ramSize: PAGE }], windows: [{ name: 'w', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'a', access: 'rw' }] }] });
  pt.admit({ partitions: [{ id: 'b', ramSize: PAGE }], grants: [{ window: 'w', partition: 'b', access: 'ro' }] });
  assert.equal([...pt.window('w')!.grants.keys()].sort(), ['a', 'b']);
});

admit.run();

const release = suite('partitioner release');

release('release frees the RAM and withdraws the grants, returning them', () => {
  const pt = fresh();
  pt.admit({
    partitions: [{ id: 'a', ramSize: 8 * KiB }, { id: 'b', ramSize: 8 * KiB }],
    windows: [{ name: 'w', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'a', access: 'rw' }, { partition: 'b', access: 'ro' }] }],
  });
  const revoked = pt.release('a');
  assert.equal(revoked.map((g) => [g.window, g.partition]), [['w', 'a']]);
  assert.is(pt.partition('a'), undefined);
  assert.equal([...pt.window('w')!.grants.keys()], ['b']);
  assert.is(pt.pool.stats().used, 8 * KiB + PAGE);
  assert.is(code(() => pt.release('a')), MEMORY_UNKNOWN_PARTITION);
});

release('a window in use cannot be removed until its grants are gone', () => {
  const pt = fresh();
  pt.admit({ partitions: [{ id: 'a', ramSize: PAGE }], windows: [{ name: 'w', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'a', access: 'rw' }] }] });
  assert.is(code(() => pt.removeWindow('w')), MEMORY_WINDOW_IN_USE);
  assert.is(pt.revoke('w', 'a'), true);
  assert.is(pt.revoke('w', 'a'), false);
  pt.removeWindow('w');
  assert.is(pt.window('w'), undefined);
  assert.is(code(() => pt.removeWindow('w')), MEMORY_UNKNOWN_WINDOW);
  assert.is(pt.pool.stats().used, PAGE);
});

release('create and destroy in a loop does not grow pool usage', () => {
  const pt = fresh(1024 * KiB);
  pt.admit({ partitions: [{ id: 'host-side', ramSize: 64 * KiB }], windows: [{ name: 'bus', size: PAGE, address: 0x4000_0000, grants: [{ partition: 'host-side', access: 'rw' }] }] });
  const before = pt.pool.stats();
  for (let i = 0; i < 500; i++) {
    const id = `worker${i % 3}`;
    pt.admit({
      partitions: [{ id, ramSize: (128 + (i % 7) * 16) * KiB }],
      windows: [{ name: `scratch${i}`, size: 2 * PAGE, address: 0x5000_0000, grants: [{ partition: id, access: 'rw' }] }],
      grants: [{ window: 'bus', partition: id, access: 'ro' }],
    });
    pt.release(id);
    pt.removeWindow(`scratch${i}`);
  }
  assert.equal(pt.pool.stats(), before);
  assert.equal(pt.windowNames(), ['bus']);
});

release.run();
