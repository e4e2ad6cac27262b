import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hypervisor } from '../src/hypervisor/hypervisor.ts';
import type { HypervisorOptions } from '../src/hypervisor/hypervisor.ts';
import { ConfigError, PartitionError, RvisorError } from '../src/errors.ts';
import { START_HEALTH_RESTART } from '../src/partition/lifecycle.ts';
import { buildGuest, REPO_ROOT } from './_oracle.ts';
import { exampleGateway } from './_gateway.ts';
import { expectedAverages } from '../../../examples/gateway/expected.mjs';

const dir = join(REPO_ROOT, 'packages/core/test/guests/hypervisor');
const build = async (name: string, profile: 'app' | 'machine' = 'app'): Promise<Uint8Array> =>
  readFileSync(await buildGuest({ sources: [join(dir, `${name}.c`)], profile, march: 'rv32imac' }));

const guests: Record<string, Uint8Array> = {};
for (const g of ['spin', 'worker', 'faulty', 'channels', 'marker']) guests[g] = await build(g);
guests.prober = await build('prober', 'machine');

/** A hypervisor whose consoles are collected per partition. */
function rig(options: Partial<HypervisorOptions> = {}) {
  const hv = new Hypervisor({ poolSize: 16 << 20, ...options });
  const out: Record<string, string> = {};
  const dec = new TextDecoder();
  hv.events.on('console', (e) => (out[e.partition] = (out[e.partition] ?? '') + dec.decode(e.bytes)));
  return { hv, out };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, RvisorError);
    return (e as RvisorError).code;
  }
  throw new Error('expected an RvisorError');
}

function twoWindows(hv: Hypervisor, a: string, b: string, each = 100_000): void {
  hv.setSchedules([{ name: 'main', majorFrame: 2 * each, windows: [{ partition: a, offset: 0, duration: each }, { partition: b, offset: each, duration: each }] }]);
}

// ---------------------------------------------------------------------------

const gw = suite('gateway example');

function runGateway() {
  const hv = exampleGateway();
  const out: Record<string, string> = {};
  const dec = new TextDecoder();
  hv.events.on('console', (e) => (out[e.partition] = (out[e.partition] ?? '') + dec.decode(e.bytes)));
  hv.runFrames(60);
  return { hv, out };
}

gw('three partitions pass readings through queuing channels in schedule order', () => {
  const { hv, out } = runGateway();
  const logged = out.logger!.split('\n').filter((l) => l.includes('avg')).map((l) => l.replace(/^.*(#\d+.*)$/, '$1'));
  assert.equal(logged, expectedAverages());
  assert.match(out.sensor!, 'sent 40 readings, 0 dropped');
  assert.match(out.filter!, 'averaged 40 readings');
  for (const n of ['sensor', 'filter', 'logger']) assert.is(hv.partition(n)!.state, 'stopped');
  const latest = hv.read('latest')!;
  assert.is(new DataView(latest.data.buffer, latest.data.byteOffset).getInt32(0, true), 39);
});

gw('two runs of the same gateway produce identical consoles and stats', () => {
  const a = runGateway();
  const b = runGateway();
  assert.equal(a.out, b.out);
  assert.equal(a.hv.stats, b.hv.stats);
});

gw.run();

// ---------------------------------------------------------------------------

const iso = suite('spatial isolation');

iso('a guest probing its whole address space sees only its RAM, devices and granted windows', () => {
  const { hv, out } = rig();
  hv.createPartition({ name: 'marker', image: guests.marker!, ramSize: 512 << 10 });
  const prober = hv.createPartition(
    { name: 'prober', image: guests.prober!, profile: 'machine', ramSize: 1 << 20 },
    {
      windows: [
        { name: 'ro', size: 4096, address: 0x4000_0000, grants: [{ partition: 'prober', access: 'ro' }] },
        { name: 'rw', size: 4096, address: 0x4001_0000, grants: [{ partition: 'prober', access: 'rw' }] },
      ],
    },
  );
  twoWindows(hv, 'marker', 'prober', 1_000_000);
  hv.start('marker');
  hv.start('prober');
  hv.runFrames(60);
  assert.is(prober.state, 'stopped', out.prober);

  // Expected: every 64 KiB probe that lands in RAM or a mapping of the prober's own bus.
  const bus = prober.vm.bus;
  const spans = [{ base: bus.ramBase, size: bus.ramSize }, ...bus.mappings()];
  const probes: number[] = [];
  for (let a = 0; a < 2 ** 32; a += 0x10000) if (spans.some((s) => a >= s.base && a < s.base + s.size)) probes.push(a);
  const ranges: string[] = [];
  for (let i = 0; i < probes.length; i++) {
    let j = i;
    while (j + 1 < probes.length && probes[j + 1] === probes[j]! + 0x10000) j++;
    ranges.push(`readable ${hex(probes[i]!)}-${hex(probes[j]! + 0xffff)}`);
    i = j;
  }
  const lines = out.prober!.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('readable')), ranges);
  assert.ok(lines.includes('write ro-window cause 7'));
  assert.ok(lines.includes('write rw-window cause 0'));
  assert.ok(lines.includes('write unmapped cause 7'));
  assert.ok(lines.includes('write below ram cause 7'));
  for (const j of ['window', 'unmapped', 'device']) assert.ok(lines.includes(`jump ${j} cause 1`), j);
  assert.match(out.prober!, / markers 0\n/);
  // The read-write window really holds what the guest wrote; the read-only one is untouched.
  assert.equal(Array.from(hv.partitioner.window('rw')!.region.bytes.subarray(0, 4)), [0x78, 0x56, 0x34, 0x12]);
  assert.ok(hv.partitioner.window('ro')!.region.bytes.every((b) => b === 0));

  // The neighbour's output is what it prints alone.
  const alone = rig();
  alone.hv.createPartition({ name: 'marker', image: guests.marker!, ramSize: 512 << 10 });
  alone.hv.setSchedules([{ name: 'm', majorFrame: 1_000_000, windows: [{ partition: 'marker', offset: 0, duration: 1_000_000 }] }]);
  alone.hv.start('marker');
  alone.hv.runFrames(10);
  assert.is(out.marker, alone.out.marker);
});

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

iso.run();

// ---------------------------------------------------------------------------

const temporal = suite('temporal isolation');

function workerWith(neighbour: 'spin' | 'none') {
  const { hv, out } = rig();
  hv.createPartition({ name: 'worker', image: guests.worker!, ramSize: 1 << 20, argv: ['worker', '8'] });
  if (neighbour === 'spin') hv.createPartition({ name: 'spin', image: guests.spin!, ramSize: 128 << 10 });
  hv.setSchedules([
    {
      name: 'main',
      majorFrame: 300_000,
      windows: [
        { partition: 'worker', offset: 0, duration: 100_000 },
        { partition: neighbour === 'spin' ? 'spin' : null, offset: 100_000, duration: 200_000 },
      ],
    },
  ]);
  for (const p of hv.partitions()) hv.start(p.name);
  hv.runFrames(400);
  return { hv, out };
}

temporal('a partition that never yields cannot delay or slow another one', () => {
  const spun = workerWith('spin');
  const quiet = workerWith('none');
  // Identical consoles include identical virtual timestamps: the worker's windows started on time.
  assert.match(spun.out.worker!, /done [0-9a-f]{8}/);
  assert.is(spun.out.worker, quiet.out.worker);
  const w = spun.hv.stats.partitions.worker!;
  assert.equal({ ...w }, { ...quiet.hv.stats.partitions.worker! });
  const s = spun.hv.stats.partitions.spin!;
  // The spinner ran in every frame, used its whole window each time and never more.
  assert.is(s.windows, 400);
  assert.is(s.overruns, 400);
  assert.is(s.instructions, 400 * 200_000);
});

temporal('run() gives the event loop a turn between windows', async () => {
  const { hv } = rig();
  hv.createPartition({ name: 'spin', image: guests.spin!, ramSize: 128 << 10 });
  hv.setSchedules([{ name: 'main', majorFrame: 50_000, windows: [{ partition: 'spin', offset: 0, duration: 50_000 }] }]);
  hv.start('spin');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const seen: number[] = [];
  hv.events.on('frame', () => seen.push(ticks));
  setTimeout(() => hv.halt(), 30);
  await hv.run();
  clearInterval(timer);
  assert.ok(seen.length > 3, `frames ${seen.length}`);
  assert.ok(ticks > 0 && seen.at(-1)! > seen[0]!, 'timers ran while the hypervisor was running');
});

temporal.run();

// ---------------------------------------------------------------------------

const life = suite('lifecycle and health');

life('operator transitions emit events with reasons; illegal ones are typed errors', () => {
  const { hv } = rig();
  const events: string[] = [];
  hv.events.on('transition', (e) => events.push(`${e.from}->${e.to}:${e.reason}`));
  const p = hv.createPartition({ name: 'w', image: guests.spin!, ramSize: 128 << 10 });
  assert.is(code(() => hv.resume('w')), 'PARTITION_ILLEGAL_TRANSITION');
  p.start();
  p.pause();
  assert.is(code(() => hv.pause('w')), 'PARTITION_ILLEGAL_TRANSITION');
  p.resume();
  p.stop();
  p.start();
  hv.destroyPartition('w');
  assert.is(code(() => hv.start('w')), 'PARTITION_UNKNOWN');
  assert.equal(events, [
    'created->running:started',
    'running->paused:operator',
    'paused->running:resumed',
    'running->stopped:operator',
    'stopped->running:restarted',
    'running->destroyed:destroyed',
  ]);
});

life('the console flood limit counts per major frame: each frame gets its allowance again', () => {
  // The same guest without a limit, frame by frame, is the reference.
  const perFrame = (limit?: number) => {
    const { hv } = rig(limit === undefined ? {} : { consoleLimit: limit });
    const frames: string[] = [''];
    const dec = new TextDecoder();
    hv.events.on('console', (e) => (frames[frames.length - 1] += dec.decode(e.bytes)));
    hv.events.on('frame', () => frames.push(''));
    const floods: number[] = [];
    hv.events.on('health', (d) => d.event === 'console-flood' && floods.push(frames.length - 1));
    const p = hv.createPartition({ name: 'w', image: guests.worker!, ramSize: 256 << 10, argv: ['worker', '12'] });
    hv.setSchedules([{ name: 'main', majorFrame: 300_000, windows: [{ partition: 'w', offset: 0, duration: 300_000 }] }]);
    p.start();
    hv.runFrames(8);
    return { frames: frames.slice(0, 8), floods, stats: p.stats };
  };
  const full = perFrame();
  const limited = perFrame(20);
  const printing = full.frames.filter((f) => f.length > 20).length;
  assert.ok(printing >= 3, `the guest prints more than the limit in ${printing} frames`);
  for (let i = 0; i < 8; i++) {
    assert.is(limited.frames[i], full.frames[i]!.slice(0, 20), `frame ${i}`);
  }
  assert.equal(limited.floods, full.frames.flatMap((f, i) => (f.length >= 20 ? [i] : [])));
  assert.is(limited.stats.consoleBytes + limited.stats.consoleDropped, full.stats.consoleBytes);
});

life('listeners added or removed between windows see exactly the windows after the change', () => {
  const { hv } = rig();
  const p = hv.createPartition({ name: 'spin', image: guests.spin!, ramSize: 128 << 10 });
  hv.setSchedules([{ name: 'main', majorFrame: 2000, windows: [{ partition: 'spin', offset: 0, duration: 1000 }, { partition: null, offset: 1000, duration: 1000 }] }]);
  p.start();
  const health: number[] = [];
  const windows: number[] = [];
  hv.runFrames(2);
  const offHealth = hv.events.on('health', (d) => d.event === 'budget-overrun' && health.push(hv.stats.frames));
  const offWindow = hv.events.on('window', (w) => windows.push(w.frame));
  hv.runFrames(2);
  offHealth();
  offWindow();
  hv.runFrames(2);
  assert.equal(health, [2, 3]);
  assert.equal(windows, [2, 2, 3, 3]);
  // Overruns nobody listened to are still counted.
  assert.is(hv.health.counts('spin')['budget-overrun'], 6);
  assert.is(p.stats.overruns, 6);
});

life('a paused partition keeps its windows idle and continues where it stopped', () => {
  const { hv } = rig();
  const p = hv.createPartition({ name: 'spin', image: guests.spin!, ramSize: 128 << 10 });
  hv.setSchedules([{ name: 'main', majorFrame: 10_000, windows: [{ partition: 'spin', offset: 0, duration: 10_000 }] }]);
  p.start();
  hv.runFrames(3);
  p.pause();
  hv.runFrames(5);
  assert.is(p.stats.instructions, 30_000);
  p.resume();
  hv.runFrames(1);
  assert.is(p.stats.instructions, 40_000);
});

life('the health monitor restarts a faulting guest, which sees why it was started', () => {
  const { hv, out } = rig();
  const decisions: string[] = [];
  hv.events.on('health', (d) => decisions.push(`${d.event}:${d.action}`));
  const p = hv.createPartition({ name: 'f', image: guests.faulty!, ramSize: 256 << 10, health: { table: { 'guest-fault': 'restart' } } });
  hv.setSchedules([{ name: 'main', majorFrame: 100_000, windows: [{ partition: 'f', offset: 0, duration: 100_000 }] }]);
  p.start();
  hv.runFrames(5);
  assert.is(out.f, `start condition 0\nstart condition ${START_HEALTH_RESTART}\nrunning normally\n`);
  assert.equal(decisions, ['guest-fault:restart']);
  assert.is(p.state, 'stopped');
  assert.is(p.stats.faults, 1);
  assert.is(p.lifecycle.lastFault!.cause, 7);
});

life('the restart limit turns further restarts into a stop', () => {
  const { hv, out } = rig();
  const decisions: string[] = [];
  hv.events.on('health', (d) => decisions.push(`${d.event}:${d.action}`));
  const p = hv.createPartition({
    name: 'f',
    image: guests.faulty!,
    ramSize: 256 << 10,
    argv: ['faulty', 'always'],
    health: { table: { 'guest-fault': 'restart' }, restartLimit: { max: 2, window: 1e9 } },
  });
  hv.setSchedules([{ name: 'main', majorFrame: 100_000, windows: [{ partition: 'f', offset: 0, duration: 100_000 }] }]);
  p.start();
  hv.runFrames(6);
  assert.equal(decisions, ['guest-fault:restart', 'guest-fault:restart', 'guest-fault:stop']);
  assert.is(out.f, `start condition 0\nstart condition ${START_HEALTH_RESTART}\nstart condition ${START_HEALTH_RESTART}\n`);
  assert.is(p.state, 'stopped');
  assert.is(p.stats.faults, 3);
});

life('by default a guest fault stops the partition with the fault recorded', () => {
  const { hv } = rig();
  const p = hv.createPartition({ name: 'f', image: guests.faulty!, ramSize: 256 << 10 });
  hv.setSchedules([{ name: 'main', majorFrame: 100_000, windows: [{ partition: 'f', offset: 0, duration: 100_000 }] }]);
  p.start();
  hv.runFrames(2);
  assert.is(p.state, 'stopped');
  assert.is(p.lifecycle.lastFault!.tval >>> 0, 0xfffffff0);
});

life.run();

// ---------------------------------------------------------------------------

const chan = suite('channels from guests');

chan('send, receive, timeouts and every error path answer as documented', () => {
  const { hv, out } = rig();
  hv.createPartition({ name: 'g', image: guests.channels!, ramSize: 256 << 10 });
  hv.createPartition({ name: 'other', image: guests.spin!, ramSize: 128 << 10 });
  hv.addChannel({ name: 'out', kind: 'queuing', senders: ['g'], receivers: ['@host'], maxMessageSize: 16, depth: 2 });
  hv.addChannel({ name: 'in', kind: 'queuing', senders: ['@host'], receivers: ['g'], maxMessageSize: 16, depth: 2 });
  hv.addChannel({ name: 'sample', kind: 'sampling', senders: ['@host'], receivers: ['g'], maxMessageSize: 16 });
  hv.addChannel({ name: 'private', kind: 'queuing', senders: ['other'], receivers: ['@host'], maxMessageSize: 16, depth: 2 });
  hv.setSchedules([{ name: 'main', majorFrame: 20_000, windows: [{ partition: 'g', offset: 0, duration: 20_000 }] }]);
  hv.send('sample', new TextEncoder().encode('s1'));
  hv.start('g');
  // 5000 us = 500,000 instructions of virtual time: send halfway through the wait.
  hv.runFrames(10);
  hv.send('in', new TextEncoder().encode('hello'));
  hv.runFrames(200);
  assert.is(
    out.g,
    [
      'send1 0',
      'send2 0',
      'send-full -11',
      'send-too-big -90',
      'send-unconnected -2',
      'send-unknown -2',
      'send-bad-pointer -14',
      'recv-poll-empty -110',
      'recv-wait 5 hello',
      'recv-timeout -110',
      'sample 2 s1 fresh 1',
      'recv-on-sampling -22',
      '',
    ].join('\n'),
  );
  const dec = new TextDecoder();
  assert.is(dec.decode(hv.receive('out')!), 'one');
  assert.is(dec.decode(hv.receive('out')!), 'two');
  assert.is(hv.receive('out'), undefined);
  // The unconnected partition's channel never received anything from g.
  assert.is(hv.receive('private'), undefined);
});

chan.run();

// ---------------------------------------------------------------------------

const admission = suite('admission and bad configuration');

admission('a partition that does not fit the pool fails and leaves the pool as it was', () => {
  const { hv } = rig({ poolSize: 1 << 20 });
  hv.createPartition({ name: 'a', image: guests.spin!, ramSize: 512 << 10 });
  const before = hv.pool.stats();
  assert.is(code(() => hv.createPartition({ name: 'b', image: guests.spin!, ramSize: 1 << 20 })), 'MEMORY_EXHAUSTED');
  assert.equal(hv.pool.stats(), before);
  assert.is(hv.partition('b'), undefined);
});

admission('a bad image fails admission with its ELF error and frees the memory', () => {
  const { hv } = rig();
  const before = hv.pool.stats();
  assert.is(code(() => hv.createPartition({ name: 'bad', image: new Uint8Array([1, 2, 3, 4]), ramSize: 128 << 10 })), 'ELF_NOT_ELF');
  assert.equal(hv.pool.stats(), before);
  // The name is free again.
  hv.createPartition({ name: 'bad', image: guests.spin!, ramSize: 128 << 10 });
});

admission('an image that does not fit its RAM fails and frees the windows it asked for', () => {
  const { hv } = rig();
  const before = hv.pool.stats();
  const c = code(() =>
    hv.createPartition({ name: 'small', image: guests.worker!, ramSize: 4096 }, { windows: [{ name: 'w', size: 4096, address: 0x4000_0000, grants: [{ partition: 'small', access: 'rw' }] }] }),
  );
  assert.ok(c.startsWith('ELF_') || c.startsWith('VM_'), c);
  assert.equal(hv.pool.stats(), before);
  assert.is(hv.partitioner.window('w'), undefined);
});

admission('destroy and create in a loop does not grow pool usage', () => {
  const { hv } = rig({ poolSize: 4 << 20 });
  hv.createPartition({ name: 'keep', image: guests.spin!, ramSize: 128 << 10 });
  const base = hv.pool.stats();
  for (let i = 0; i < 50; i++) {
    hv.createPartition({ name: `tmp${i % 3}`, image: guests.spin!, ramSize: (1 + (i % 5)) * (128 << 10) });
    hv.destroyPartition(`tmp${i % 3}`);
  }
  assert.equal(hv.pool.stats(), base);
});

admission('bad schedules, channels and options are typed errors', () => {
  const { hv } = rig();
  hv.createPartition({ name: 'a', image: guests.spin!, ramSize: 128 << 10 });
  const sched = (windows: { partition: string | null; offset: number; duration: number }[]) => () =>
    hv.setSchedules([{ name: 's', majorFrame: 1000, windows }]);
  assert.is(code(sched([{ partition: 'a', offset: 0, duration: 600 }, { partition: 'a', offset: 500, duration: 100 }])), 'SCHEDULE_OVERLAP');
  assert.is(code(sched([{ partition: 'a', offset: 900, duration: 200 }])), 'SCHEDULE_OUTSIDE_FRAME');
  assert.is(code(sched([{ partition: 'nobody', offset: 0, duration: 100 }])), 'SCHEDULE_UNKNOWN_PARTITION');
  assert.is(code(sched([{ partition: 'a', offset: 0, duration: 0 }])), 'SCHEDULE_ZERO_LENGTH');
  assert.is(code(() => hv.runFrames(1)), 'SCHEDULE_SET_EMPTY');
  assert.is(
    code(() => hv.addChannel({ name: 'c', kind: 'queuing', senders: ['a'], receivers: ['ghost'], maxMessageSize: 8, depth: 1 })),
    'CHANNEL_UNKNOWN_PARTITION',
  );
  assert.is(code(() => hv.createPartition({ name: 'a', image: guests.spin!, ramSize: 128 << 10 })), 'MEMORY_PARTITION_EXISTS');
  assert.is(code(() => new Hypervisor({ poolSize: 1 << 20, timeBase: 'weeks' as never })), 'HYPERVISOR_TIME_BASE');
  assert.instance(
    (() => {
      try {
        hv.resume('a');
      } catch (e) {
        return e;
      }
    })(),
    PartitionError,
  );
  assert.instance(
    (() => {
      try {
        hv.runFrames(1);
      } catch (e) {
        return e;
      }
    })(),
    ConfigError,
  );
});

admission('a schedule switch takes effect at the end of the major frame', () => {
  const { hv } = rig();
  hv.createPartition({ name: 'a', image: guests.spin!, ramSize: 128 << 10 });
  hv.createPartition({ name: 'b', image: guests.spin!, ramSize: 128 << 10 });
  hv.setSchedules(
    [
      { name: 'only-a', majorFrame: 1000, windows: [{ partition: 'a', offset: 0, duration: 1000 }] },
      { name: 'only-b', majorFrame: 1000, windows: [{ partition: 'b', offset: 0, duration: 1000 }] },
    ],
    'only-a',
  );
  hv.start('a');
  hv.start('b');
  hv.runFrames(2);
  hv.switchSchedule('only-b');
  hv.runFrames(3);
  assert.is(hv.partition('a')!.stats.instructions, 2000);
  assert.is(hv.partition('b')!.stats.instructions, 3000);
});

admission.run();

// ---------------------------------------------------------------------------

const realtime = suite('real-time time base');

realtime('windows follow the wall clock and a spinning guest is preempted within the documented jitter', async () => {
  const { hv } = rig({ timeBase: 'microseconds' });
  hv.createPartition({ name: 'spin', image: guests.spin!, ramSize: 128 << 10 });
  hv.createPartition({ name: 'worker', image: guests.worker!, ramSize: 1 << 20, argv: ['worker', '100000'] });
  // 20 ms frames: the spinner owns 0-8 ms, the worker 10-18 ms.
  hv.setSchedules([
    {
      name: 'main',
      majorFrame: 20_000,
      windows: [
        { partition: 'spin', offset: 0, duration: 8000 },
        { partition: 'worker', offset: 10_000, duration: 8000 },
      ],
    },
  ]);
  hv.start('spin');
  hv.start('worker');
  const reports: { partition: string | null; planned: number; started: number; ended: number; duration: number }[] = [];
  hv.events.on('window', (w) => reports.push(w));
  await hv.run({ frames: 25 });
  const spin = reports.filter((r) => r.partition === 'spin').slice(5); // the first frames warm the JIT up
  const work = reports.filter((r) => r.partition === 'worker').slice(5);
  assert.ok(spin.length >= 20 && work.length >= 20);
  // No window starts early, and none is late by more than the jitter bound (docs/HYPERVISOR.md).
  const late = [...spin, ...work].map((r) => r.started - r.planned).sort((a, b) => a - b);
  assert.ok(late[0]! > -100, `a window started ${-late[0]!} us early`);
  const median = late[late.length >> 1]!;
  assert.ok(median < 5000, `median start lateness ${median.toFixed(0)} us`);
  // The spinner never keeps the CPU much past its window's end: slices are at most ~1 ms.
  const over = spin.map((r) => r.ended - (r.planned + r.duration)).sort((a, b) => a - b);
  assert.ok(over[over.length >> 1]! < 5000, `median overrun ${over[over.length >> 1]!.toFixed(0)} us`);
  const s = hv.stats.partitions.spin!;
  assert.is(s.overruns, s.windows, 'every spinner window ended by preemption');
  assert.ok(hv.stats.partitions.worker!.instructions > 0);
});

realtime.run();
