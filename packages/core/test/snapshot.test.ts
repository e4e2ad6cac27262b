import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hypervisor } from '../src/hypervisor/hypervisor.ts';
import { decodeDocument, encodeDocument } from '../src/snapshot/codec.ts';
import { decodeRam, encodeRam } from '../src/snapshot/ram.ts';
import { checkVmState } from '../src/vm/state.ts';
import { VirtualMachine } from '../src/vm/vm.ts';
import type { VmOptions } from '../src/vm/vm.ts';
import { RvisorError, SnapshotError } from '../src/errors.ts';
import { START_HEALTH_RESTORE, START_RESTORED } from '../src/partition/lifecycle.ts';
import { buildGuest, REPO_ROOT } from './_oracle.ts';
import { exampleGateway } from './_gateway.ts';

const hvDir = join(REPO_ROOT, 'packages/core/test/guests/hypervisor');
const worker = readFileSync(await buildGuest({ sources: [join(hvDir, 'worker.c')], profile: 'app', march: 'rv32imac' }));
const faulty = readFileSync(await buildGuest({ sources: [join(hvDir, 'faulty.c')], profile: 'app', march: 'rv32imac' }));
const interrupts = readFileSync(
  await buildGuest({ sources: [join(REPO_ROOT, 'packages/core/test/guests/interrupts.c'), join(REPO_ROOT, 'packages/core/test/guests/_trap.S')], profile: 'machine', march: 'rv32imac' }),
);
const gatewayElf = (n: string): Uint8Array => readFileSync(join(REPO_ROOT, 'examples/gateway', `${n}.elf`));
const dec = new TextDecoder();

/** Deterministic PRNG (mulberry32) so failures can be replayed from the seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vmWithConsole(options: VmOptions): { vm: VirtualMachine; out: () => string } {
  let text = '';
  const vm = new VirtualMachine({ ...options, onConsole: (b) => (text += dec.decode(b)) });
  return { vm, out: () => text };
}

async function roundTrip(vm: VirtualMachine, options: VmOptions, onConsole: (b: Uint8Array) => void): Promise<VirtualMachine> {
  const doc = await encodeDocument({ vm: vm.saveState(), ram: encodeRam(vm.bus.ram) });
  const body = (await decodeDocument(doc)) as { vm: unknown; ram: Parameters<typeof decodeRam>[0] };
  const next = new VirtualMachine({ ...options, onConsole });
  next.loadState(checkVmState(body.vm));
  decodeRam(body.ram, next.bus.ram);
  next.hart.flushDecodeCache();
  return next;
}

// ---------------------------------------------------------------------------

const vmSnap = suite('virtual machine snapshots');

for (const [label, options] of [
  ['app guest with heap, sleeps and console', { image: worker, argv: ['worker', '10'], ramSize: 1 << 20 }],
  ['machine guest with timer interrupts and the UART', { image: interrupts, profile: 'machine', ramSize: 1 << 20 }],
] as [string, VmOptions][]) {
  vmSnap(`a ${label} continues bit-exact from snapshots at random instruction counts`, async () => {
    const whole = vmWithConsole(options);
    const end = whole.vm.runToEnd({ maxInstructions: 200_000_000 });
    assert.ok(end.reason === 'exit', `reference run ended with ${end.reason}`);
    const total = whole.vm.stats.instructions;
    const random = rng(0x5eed ^ total);
    for (let trial = 0; trial < 4; trial++) {
      let text = '';
      const sink = (b: Uint8Array) => (text += dec.decode(b));
      let vm = new VirtualMachine({ ...options, onConsole: sink });
      // Two snapshots per trial, at random points.
      for (const stop of [Math.floor(random() * total * 0.5), Math.floor(total * 0.5 + random() * total * 0.45)]) {
        vm.runToEnd({ maxInstructions: stop - vm.stats.instructions });
        vm = await roundTrip(vm, options, sink);
      }
      vm.runToEnd({ maxInstructions: 200_000_000 });
      assert.is(text, whole.out(), `trial ${trial}`);
      assert.is(vm.exitCode, whole.vm.exitCode);
      assert.is(vm.stats.instructions, total);
      assert.is(vm.hart.mtime, whole.vm.hart.mtime);
    }
  });
}

vmSnap.run();

// ---------------------------------------------------------------------------

const part = suite('partition snapshots');

function single(image: Uint8Array, argv: string[] = ['worker', '12']) {
  const hv = new Hypervisor({ poolSize: 8 << 20 });
  let out = '';
  hv.events.on('console', (e) => (out += dec.decode(e.bytes)));
  const p = hv.createPartition({ name: 'w', image, ramSize: 1 << 20, argv });
  hv.setSchedules([{ name: 'main', majorFrame: 300_000, windows: [{ partition: 'w', offset: 0, duration: 200_000 }] }]);
  return { hv, p, out: () => out };
}

part('a partition snapshotted mid-computation continues on a fresh hypervisor as if never interrupted', async () => {
  const whole = single(worker);
  whole.p.start();
  whole.hv.runFrames(400);
  assert.match(whole.out(), /done [0-9a-f]{8}/);

  for (const at of [7, 23, 61]) {
    const first = single(worker);
    first.p.start();
    first.hv.runFrames(at);
    const doc = await first.hv.snapshot('w');
    const second = new Hypervisor({ poolSize: 8 << 20 });
    let rest = '';
    second.events.on('console', (e) => (rest += dec.decode(e.bytes)));
    const events: string[] = [];
    second.events.on('transition', (e) => events.push(`${e.to}:${e.reason}`));
    const p = await second.restore(doc);
    assert.is(p.state, 'paused');
    assert.is(p.lifecycle.startCondition, START_RESTORED);
    second.setSchedules([{ name: 'main', majorFrame: 300_000, windows: [{ partition: 'w', offset: 0, duration: 200_000 }] }]);
    p.resume();
    second.runFrames(400 - at);
    assert.is(first.out() + rest, whole.out(), `snapshot after ${at} frames`);
    assert.is(p.stats.instructions, whole.p.stats.instructions);
    assert.equal(events, ['paused:restored', 'running:resumed', 'stopped:exited']);
  }
});

part('a clone continues like the original under a new name and identity', async () => {
  const { hv, p, out } = single(worker, ['worker', '60']);
  p.start();
  hv.runFrames(15);
  assert.not.match(out(), 'done');
  const c = await hv.clone('w', 'w2');
  assert.is(c.stats.instructions, 0);
  assert.is.not(c.id, p.id);
  assert.is(c.state, 'paused');
  const per: Record<string, string> = {};
  hv.events.on('console', (e) => (per[e.partition] = (per[e.partition] ?? '') + dec.decode(e.bytes)));
  hv.setSchedules([
    {
      name: 'both',
      majorFrame: 300_000,
      windows: [
        { partition: 'w', offset: 0, duration: 100_000 },
        { partition: 'w2', offset: 100_000, duration: 100_000 },
      ],
    },
  ]);
  c.resume();
  hv.runFrames(800);
  assert.ok(out().includes('done'));
  assert.is(c.exitCode, p.exitCode);
  // Same computation from the same point: the same lines, except for the virtual timestamps.
  const strip = (s: string) => s.replace(/ t=\d+ us/g, '');
  assert.ok(per.w2!.length > 100);
  assert.is(strip(per.w2!), strip(per.w!));
});

part('corrupt, truncated, foreign and wrong-kind snapshots are typed errors that change nothing', async () => {
  const { hv, p } = single(worker);
  p.start();
  hv.runFrames(3);
  const doc = await hv.snapshot('w');
  const target = new Hypervisor({ poolSize: 8 << 20 });
  const before = target.pool.stats();
  const codeOf = async (bytes: Uint8Array) => {
    try {
      await target.restore(bytes, { name: 'x' });
    } catch (e) {
      assert.instance(e, SnapshotError);
      return (e as RvisorError).code;
    }
    throw new Error('restore accepted a bad document');
  };
  const flipped = doc.slice();
  flipped[doc.length >> 1]! ^= 1;
  assert.is(await codeOf(flipped), 'SNAPSHOT_CHECKSUM');
  assert.is(await codeOf(doc.subarray(0, doc.length - 100)), 'SNAPSHOT_TRUNCATED');
  assert.is(await codeOf(new Uint8Array([0xff, 0xfe])), 'SNAPSHOT_NOT_CBOR');
  assert.is(await codeOf(await encodeDocument({ kind: 'gateway' }).then((d) => d.subarray(0, 0))), 'SNAPSHOT_EMPTY');
  assert.is(await codeOf(await hv.snapshotGateway()), 'SNAPSHOT_KIND');
  assert.is(await codeOf(await encodeDocument({ kind: 'partition', name: 'w' })), 'SNAPSHOT_FIELD');
  assert.equal(target.pool.stats(), before);
  assert.is(target.partitions().length, 0);
  // A name in use is refused too.
  try {
    await hv.restore(doc);
    assert.unreachable();
  } catch (e) {
    assert.is((e as RvisorError).code, 'PARTITION_EXISTS');
  }
});

part('queued messages travel with the partition and need their channel on the target', async () => {
  const hv = new Hypervisor({ poolSize: 8 << 20 });
  hv.createPartition({ name: 'logger', image: gatewayElf('logger'), ramSize: 256 << 10 });
  const averages = { name: 'averages', kind: 'queuing' as const, senders: ['@host'], receivers: ['logger'], maxMessageSize: 8, depth: 4, id: 1 };
  hv.addChannel(averages);
  hv.send('averages', new Uint8Array([1, 0, 0, 0, 0x10, 0x52, 0, 0])); // seq 1, 21.008 C
  const doc = await hv.snapshot('logger');

  const bare = new Hypervisor({ poolSize: 8 << 20 });
  const before = bare.pool.stats();
  try {
    await bare.restore(doc);
    assert.unreachable();
  } catch (e) {
    assert.is((e as RvisorError).code, 'SNAPSHOT_CHANNEL_MISSING');
  }
  assert.is(bare.partitions().length, 0);
  assert.equal(bare.pool.stats(), before);

  const ready = new Hypervisor({ poolSize: 8 << 20 });
  let out = '';
  ready.events.on('console', (e) => (out += dec.decode(e.bytes)));
  const p = await ready.restore(doc, { channels: [averages] });
  ready.setSchedules([{ name: 'm', majorFrame: 100_000, windows: [{ partition: 'logger', offset: 0, duration: 100_000 }] }]);
  p.resume();
  ready.runFrames(3);
  assert.match(out, /#01  avg 21\.008 C/);
});

part('the health monitor can put a faulting partition back to its last checkpoint', () => {
  const hv = new Hypervisor({ poolSize: 8 << 20, checkpointEvery: 1 });
  let out = '';
  hv.events.on('console', (e) => (out += dec.decode(e.bytes)));
  const p = hv.createPartition({ name: 'f', image: faulty, ramSize: 256 << 10, health: { table: { 'guest-fault': 'restore' } } });
  hv.setSchedules([{ name: 'main', majorFrame: 100_000, windows: [{ partition: 'f', offset: 0, duration: 100_000 }] }]);
  // Checkpoint before the guest's first instruction, so "restore" replays from the start with the new start condition.
  p.start();
  hv.checkpoint('f');
  hv.runFrames(3);
  assert.is(out, `start condition 0\nstart condition ${START_HEALTH_RESTORE}\nrunning normally\n`);
  assert.is(p.stats.faults, 1);
  assert.is(p.stats.restarts, 1);
});

part.run();

// ---------------------------------------------------------------------------

const gw = suite('gateway snapshots');

const gateway = exampleGateway;

function collect(hv: Hypervisor): Record<string, string> {
  const out: Record<string, string> = {};
  hv.events.on('console', (e) => (out[e.partition] = (out[e.partition] ?? '') + dec.decode(e.bytes)));
  return out;
}

gw('a gateway restored at random frames continues exactly: same consoles, same stats', async () => {
  const whole = gateway();
  const wholeOut = collect(whole);
  whole.runFrames(60);
  const random = rng(42);
  for (let trial = 0; trial < 3; trial++) {
    const at = 1 + Math.floor(random() * 45);
    const first = gateway();
    const out = collect(first);
    first.runFrames(at);
    const restored = await Hypervisor.restoreGateway(await first.snapshotGateway(), { resume: true });
    const rest = collect(restored);
    restored.runFrames(60 - at);
    for (const n of ['sensor', 'filter', 'logger']) assert.is((out[n] ?? '') + (rest[n] ?? ''), wholeOut[n], `${n} after ${at} frames`);
    const a = whole.stats;
    const b = restored.stats;
    assert.equal(b.partitions, a.partitions);
    assert.is(b.frames, a.frames);
    assert.is(b.time, a.time);
    assert.equal(restored.read('latest')!.data, whole.read('latest')!.data);
  }
});

gw.run();

const policy = suite('gateway snapshots and health policies');

policy('a restored gateway keeps each partition health policy', async () => {
  const hv = new Hypervisor({ poolSize: 8 << 20 });
  hv.createPartition({
    name: 'f',
    image: faulty,
    ramSize: 256 << 10,
    argv: ['faulty', 'always'],
    health: { table: { 'guest-fault': 'restart' }, restartLimit: { max: 1, window: 1e9 } },
  });
  hv.setSchedules([{ name: 'main', majorFrame: 100_000, windows: [{ partition: 'f', offset: 0, duration: 100_000 }] }]);
  hv.start('f');
  const restored = await Hypervisor.restoreGateway(await hv.snapshotGateway(), { resume: true });
  let out = '';
  restored.events.on('console', (e) => (out += dec.decode(e.bytes)));
  restored.runFrames(4);
  // Restored (4), faults, restarted once by the kept policy (2), faults, limit reached: stopped.
  // Under the default policy (stop) only the first line would appear.
  assert.is(restored.health.policyOf('f').table['guest-fault'], 'restart');
  assert.is(out, 'start condition 4\nstart condition 2\n');
  assert.is(restored.partition('f')!.state, 'stopped');
});

policy.run();
