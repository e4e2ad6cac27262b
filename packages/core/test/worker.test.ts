import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteHypervisor } from '../src/adapters/node.ts';
import { WORKER_FAILED, WORKER_TERMINATED } from '../src/adapters/_protocol.ts';
import { ConfigError, PartitionError, RvisorError, SnapshotError } from '../src/errors.ts';
import { Hypervisor } from '../src/hypervisor/hypervisor.ts';
import type { LifecycleEvent } from '../src/partition/lifecycle.ts';
import { buildGuest, REPO_ROOT } from './_oracle.ts';

// The oracle for everything a worker-hosted hypervisor does is the same
// Hypervisor run in-process on the same inputs. Node runs the worker_threads
// adapter, Deno the Web Worker one.
const { createWorkerHypervisor } = 'Deno' in globalThis ? await import('../src/adapters/web.ts') : await import('../src/adapters/node.ts');

const gateway = (n: string): Uint8Array => readFileSync(join(REPO_ROOT, 'examples/gateway', `${n}.elf`));
const spin = readFileSync(
  await buildGuest({ sources: [join(REPO_ROOT, 'packages/core/test/guests/hypervisor/spin.c')], profile: 'app', march: 'rv32imac' }),
);

/** Hypervisor and RemoteHypervisor share these operations; the rig drives either through them. */
interface Driver {
  events: Hypervisor['events'] | RemoteHypervisor['events'];
  createPartition(...a: Parameters<Hypervisor['createPartition']>): unknown;
  addChannel(...a: Parameters<Hypervisor['addChannel']>): unknown;
  setSchedules(...a: Parameters<Hypervisor['setSchedules']>): unknown;
  start(name: string): unknown;
  runFrames(n: number): unknown;
  snapshotGateway(): Promise<Uint8Array>;
  read(channel: string): unknown;
}

/** The gateway of hypervisor.test.ts, on either kind of hypervisor. */
async function runGateway(hv: Driver, frames = 60) {
  const out: Record<string, string> = {};
  const transitions: LifecycleEvent[] = [];
  const dec = new TextDecoder();
  hv.events.on('console', (e) => (out[e.partition] = (out[e.partition] ?? '') + dec.decode(e.bytes)));
  hv.events.on('transition', (e) => transitions.push(e));
  const reports: number[] = [];
  hv.events.on('frame', (r) => reports.push(r.frame));
  for (const n of ['sensor', 'filter', 'logger']) await hv.createPartition({ name: n, image: gateway(n), ramSize: 256 << 10 });
  await hv.addChannel({ name: 'readings', kind: 'queuing', senders: ['sensor'], receivers: ['filter'], maxMessageSize: 8, depth: 8 });
  await hv.addChannel({ name: 'averages', kind: 'queuing', senders: ['filter'], receivers: ['logger'], maxMessageSize: 8, depth: 8 });
  await hv.addChannel({ name: 'latest', kind: 'sampling', senders: ['filter'], receivers: ['@host'], maxMessageSize: 8 });
  await hv.setSchedules([
    {
      name: 'main',
      majorFrame: 1_000_000,
      windows: [
        { partition: 'sensor', offset: 0, duration: 200_000 },
        { partition: 'filter', offset: 200_000, duration: 200_000 },
        { partition: 'logger', offset: 400_000, duration: 300_000 },
      ],
    },
  ]);
  for (const n of ['sensor', 'filter', 'logger']) await hv.start(n);
  await hv.runFrames(frames);
  return { out, transitions, reports, latest: await hv.read('latest') };
}

/** A spinning guest alone in a 1M-instruction frame: every frame costs the interpreter 1M instructions. */
async function spinner(hv: Hypervisor | RemoteHypervisor): Promise<void> {
  await hv.createPartition({ name: 'spin', image: spin, ramSize: 256 << 10 });
  await hv.setSchedules([{ name: 'main', majorFrame: 1_000_000, windows: [{ partition: 'spin', offset: 0, duration: 1_000_000 }] }]);
  await hv.start('spin');
}

async function rejection(p: Promise<unknown>): Promise<RvisorError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, RvisorError);
    return e as RvisorError;
  }
  throw new Error('expected a rejection with an RvisorError');
}

function thrown(fn: () => unknown): RvisorError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, RvisorError);
    return e as RvisorError;
  }
  throw new Error('expected an RvisorError');
}

// ---------------------------------------------------------------------------

type Gateway = Awaited<ReturnType<typeof runGateway>>;

// One worker (and one in-process oracle) for the suite: starting a worker from sources costs ~0.5 s.
const same = suite<{ remote: RemoteHypervisor; local: Hypervisor; far: Gateway; near: Gateway }>('worker mode runs the same hypervisor');

same.before(async (ctx) => {
  ctx.local = new Hypervisor({ poolSize: 16 << 20 });
  ctx.near = await runGateway(ctx.local);
  ctx.remote = await createWorkerHypervisor({ poolSize: 16 << 20 });
  ctx.far = await runGateway(ctx.remote);
});

same.after(async (ctx) => {
  await ctx.remote?.terminate();
});

same('the gateway in a worker prints the same consoles, transitions and samples as in-process', ({ near, far }) => {
  assert.ok(near.out.logger!.includes('avg'), 'the in-process gateway logged averages');
  assert.equal(far.out, near.out);
  assert.equal(far.transitions, near.transitions);
  assert.equal(far.reports, near.reports);
  assert.equal(far.latest, near.latest);
});

same('stats and partitions() are plain copies of the worker hypervisor state', async ({ remote, local }) => {
  assert.equal(await remote.stats(), local.stats);
  const parts = await remote.partitions();
  assert.equal(parts.map((p) => [p.name, p.id, p.state, p.exitCode]), local.partitions().map((p) => [p.name, p.id, p.state, p.exitCode]));
  assert.equal(parts.map((p) => p.stats), local.partitions().map((p) => p.stats));
  assert.is(await remote.partition('nope'), undefined);
});

same('host channel messages cross in both directions and the caller keeps its buffer', async ({ remote }) => {
  await remote.addChannel({ name: 'loop', kind: 'queuing', senders: ['@host'], receivers: ['@host'], maxMessageSize: 16, depth: 2 });
  // A view into a larger buffer: only its own bytes may travel.
  const backing = new Uint8Array(64).map((_, i) => i);
  const msg = backing.subarray(8, 12);
  assert.is(await remote.send('loop', msg), true);
  assert.is(msg.length, 4, 'the caller buffer is not detached');
  assert.is(backing.byteLength, 64);
  const got = await remote.receive('loop');
  assert.instance(got, Uint8Array);
  assert.equal([...got!], [8, 9, 10, 11]);
  assert.is(got!.buffer.byteLength, 4);
  assert.is(await remote.receive('loop'), undefined);
});

same.run();

// ---------------------------------------------------------------------------

const snap = suite<{ remote: RemoteHypervisor; local: Hypervisor }>('worker mode snapshots');

/** Console output per partition from now on. */
function collect(hv: Hypervisor | RemoteHypervisor): Record<string, string> {
  const out: Record<string, string> = {};
  const dec = new TextDecoder();
  hv.events.on('console', (e) => (out[e.partition] = (out[e.partition] ?? '') + dec.decode(e.bytes)));
  return out;
}

snap.before(async (ctx) => {
  ctx.local = new Hypervisor({ poolSize: 16 << 20 });
  await runGateway(ctx.local, 7);
  ctx.remote = await createWorkerHypervisor({ poolSize: 16 << 20 });
  await runGateway(ctx.remote, 7);
});

snap.after(async (ctx) => {
  await ctx.remote?.terminate();
});

snap('a worker gives the same partition snapshot bytes as the in-process hypervisor', async ({ remote, local }) => {
  for (const n of ['sensor', 'filter', 'logger']) assert.equal(await remote.snapshot(n), await local.snapshot(n), n);
});

snap('clone and restore in a worker create paused partitions reported as plain data', async ({ remote }) => {
  const doc = await remote.snapshot('logger');
  const twin = await remote.clone('logger', 'twin');
  assert.is(twin.name, 'twin');
  assert.is(twin.state, 'paused');
  const back = await remote.restore(doc, { name: 'back' });
  assert.is(back.state, 'paused');
  assert.equal((await remote.partitions()).map((p) => p.name), ['sensor', 'filter', 'logger', 'twin', 'back']);
  const e = await rejection(remote.restore(doc.subarray(0, doc.length - 9)));
  assert.instance(e, SnapshotError);
});

snap('a gateway snapshot taken in one worker continues in a new worker exactly as in-process', async () => {
  const local = new Hypervisor({ poolSize: 16 << 20 });
  await runGateway(local, 10);
  const expected = collect(local);
  local.runFrames(50);
  assert.ok(expected.logger!.includes('#39'), 'the in-process run logged to the end');

  const first = await createWorkerHypervisor({ poolSize: 16 << 20 });
  let doc: Uint8Array;
  try {
    await runGateway(first, 10);
    doc = await first.snapshotGateway();
  } finally {
    await first.terminate();
  }
  const second = await createWorkerHypervisor({}, { gateway: doc, resume: true });
  try {
    const out = collect(second);
    await second.runFrames(50);
    assert.equal(out, expected);
    assert.equal((await second.stats()).partitions, local.stats.partitions);
  } finally {
    await second.terminate();
  }
});

snap.run();

// ---------------------------------------------------------------------------

const errors = suite<{ remote: RemoteHypervisor }>('worker mode errors');

errors.before(async (ctx) => {
  ctx.remote = await createWorkerHypervisor({ poolSize: 1 << 20 });
  await ctx.remote.createPartition({ name: 'spin', image: spin, ramSize: 256 << 10 });
});

errors.after(async (ctx) => {
  await ctx.remote?.terminate();
});

errors('a bad schedule rejects with the same ConfigError subclass and code as in-process', async ({ remote }) => {
  const bad = [{ name: 'x', majorFrame: 100, windows: [{ partition: 'spin', offset: 0, duration: 60 }, { partition: 'spin', offset: 50, duration: 50 }] }];
  const local = new Hypervisor({ poolSize: 1 << 20 });
  local.createPartition({ name: 'spin', image: spin, ramSize: 256 << 10 });
  const expected = thrown(() => local.setSchedules(bad));
  const e = await rejection(remote.setSchedules(bad));
  assert.instance(e, ConfigError);
  assert.is(e.code, 'SCHEDULE_OVERLAP');
  assert.is(e.code, expected.code);
  assert.is(e.message, expected.message);
  assert.is(e.name, 'ConfigError');
});

errors('an operation on an unknown partition rejects with PartitionError, and the worker serves on', async ({ remote }) => {
  const e = await rejection(remote.start('ghost'));
  assert.instance(e, PartitionError);
  assert.is(e.code, thrown(() => new Hypervisor({ poolSize: 1 << 20 }).start('ghost')).code);
  assert.equal((await remote.partitions()).map((p) => p.name), ['spin']);
});

errors('bad hypervisor options reject createWorkerHypervisor with the constructor error', async () => {
  const expected = thrown(() => new Hypervisor({ poolSize: 1 << 20, consoleLimit: -1 }));
  const e = await rejection(createWorkerHypervisor({ poolSize: 1 << 20, consoleLimit: -1 }));
  assert.instance(e, ConfigError);
  assert.is(e.code, expected.code);
});

errors('a worker that cannot start rejects createWorkerHypervisor with WORKER_FAILED', async () => {
  const e = await rejection(createWorkerHypervisor({ poolSize: 1 << 20 }, { workerUrl: new URL('./no-such-worker.js', import.meta.url) }));
  assert.is(e.code, WORKER_FAILED);
});

errors.run();

// ---------------------------------------------------------------------------

const loop = suite<{ remote: RemoteHypervisor }>('worker mode keeps the caller responsive');

loop.before(async (ctx) => {
  ctx.remote = await createWorkerHypervisor({ poolSize: 1 << 20 });
  await spinner(ctx.remote);
});

loop.after(async (ctx) => {
  await ctx.remote?.terminate();
});

loop('a timer keeps firing on the main thread while the worker runs frames synchronously', async ({ remote }) => {
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 5);
  // Double the run until one synchronous runFrames() call lasts at least 200 ms.
  let took = 0;
  let frames = 0;
  try {
    for (let n = 4; took < 200 && n <= 4096; n *= 2) {
      ticks = 0;
      maxGap = 0;
      last = performance.now();
      const t = performance.now();
      await remote.runFrames(n);
      took = performance.now() - t;
      frames += n;
    }
  } finally {
    clearInterval(timer);
  }
  assert.is((await remote.stats()).frames, frames);
  // In-process, runFrames would hold the thread for all of `took` and the timer would not fire at all.
  assert.ok(took >= 200, `the worker run lasted ${took.toFixed(0)} ms`);
  assert.ok(ticks >= 5, `${ticks} ticks in ${took.toFixed(0)} ms`);
  assert.ok(maxGap < took / 2, `longest gap between ticks ${maxGap.toFixed(0)} ms of a ${took.toFixed(0)} ms run`);
});

loop('halt() ends an open-ended run() and calls are served while it runs', async ({ remote }) => {
  const base = (await remote.stats()).frames;
  let frames = 0;
  const off = remote.events.on('frame', () => frames++);
  try {
    const running = remote.run();
    while (frames < 3) await new Promise((r) => setTimeout(r, 5));
    const mid = await remote.stats();
    assert.ok(mid.frames >= base + 3);
    await remote.halt();
    await running;
    const end = await remote.stats();
    assert.ok(end.frames >= mid.frames);
    assert.is(end.frames, base + frames, 'every frame event arrived before run() resolved');
    await remote.run({ frames: 2 });
    assert.is((await remote.stats()).frames, end.frames + 2);
  } finally {
    off();
  }
});

loop.run();

// ---------------------------------------------------------------------------

const end = suite('worker mode terminate');

end('terminate() ends a worker inside a long run and rejects the pending and later calls', async () => {
  const remote = await createWorkerHypervisor({ poolSize: 1 << 20 });
  try {
    await spinner(remote);
    let frames = 0;
    remote.events.on('frame', () => frames++);
    const long = rejection(remote.runFrames(1_000_000));
    while (frames < 1) await new Promise((r) => setTimeout(r, 5));
    const t = performance.now();
    await remote.terminate();
    const took = performance.now() - t;
    const e = await long;
    assert.is(e.code, WORKER_TERMINATED);
    assert.is((await rejection(remote.stats())).code, WORKER_TERMINATED);
    assert.ok(remote.isClosed);
    assert.ok(took < 2000, `terminate took ${took.toFixed(0)} ms`);
  } finally {
    await remote.terminate(); // idempotent
  }
});

end.run();
