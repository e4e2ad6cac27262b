import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../src/agent.ts';
import { Controller, type ControllerEvent } from '../src/controller.ts';
import { HypervisorHost, planWindows } from '../src/hypervisor-host.ts';
import type { HostEvent } from '../src/host.ts';
import { decodeAs, encodeMessage } from '../src/protocol/codec.ts';
import { SCHEMA_VERSION, type CommandMsg, type ReplyMsg } from '../src/protocol/schema.ts';
import { generateKeyPair, signCommand, sha256Hex } from '../src/protocol/sign.ts';
import { cmdTopic, INVALID_REPLY_ID, replyTopic } from '../src/protocol/topics.ts';
import { Transport } from '../src/transport.ts';
import { sleep, startMosquitto, uniqueFleet, until, type TestBroker } from './_brokers.ts';

/*
 * HypervisorHost end to end: real guests (committed ELFs) on the real core
 * hypervisor, behind real agents, over a real Mosquitto. Guest output is
 * compared with the same ELF under qemu-riscv32.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const COUNTER = new Uint8Array(readFileSync(`${root}examples/fleet-demo/counter.elf`));
const HELLO = new Uint8Array(readFileSync(`${root}examples/hello/hello.elf`));
const RAM = 256 * 1024;

/** The oracle: qemu-riscv32's output of `elf` within `ms` (the counter never ends). */
function qemu(elf: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const q = spawn('qemu-riscv32', [elf], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    q.stdout.on('data', (d) => { out += d; });
    q.on('error', reject);
    const t = setTimeout(() => q.kill('SIGKILL'), ms);
    q.on('exit', () => { clearTimeout(t); resolve(out); });
  });
}
// Started now, read by the tests that need it: the counter prints 20 lines a second.
const qemuCounter = qemu(`${root}examples/fleet-demo/counter.elf`, 7000).then((s) => s.split('\n').filter((l) => l.startsWith('tick ')));
const qemuHello = spawnSync('qemu-riscv32', [`${root}examples/hello/hello.elf`], { encoding: 'utf8' }).stdout;

const broker: TestBroker = await startMosquitto();

/** Console lines of one partition as the controller receives them, per gateway. */
function collectLines(ctl: Controller, partition: string): { gw: string; line: string }[] {
  const lines: { gw: string; line: string }[] = [];
  const partial = new Map<string, string>();
  ctl.on((e) => {
    if (e.type !== 'console' || e.partition !== partition) return;
    const text = (partial.get(e.gw) ?? '') + new TextDecoder().decode(e.data);
    const parts = text.split('\n');
    partial.set(e.gw, parts.pop()!);
    for (const line of parts) lines.push({ gw: e.gw, line });
  });
  return lines;
}
const tickOf = (line: string): number => Number(line.split(' ')[1]);

type StateEvent = Extract<HostEvent, { type: 'state' }>;
interface Gateway { gw: string; host: HypervisorHost; agent: Agent; events: StateEvent[] }
async function gateway(fleet: string, gw: string, options: { trustedKeys?: Uint8Array[]; maxPayload?: number } = {}): Promise<Gateway> {
  const host = new HypervisorHost({ poolSize: 4 << 20 });
  const events: StateEvent[] = [];
  host.onEvent((e) => { if (e.type === 'state') events.push(e); });
  const agent = new Agent({ fleet, gw, host, url: broker.url, telemetryIntervalMs: 0, console: { bytesPerSecond: 1 << 20, burstBytes: 1 << 20 }, ...options });
  await agent.start();
  return { gw, host, agent, events };
}
async function closeGateway(g: Gateway): Promise<void> {
  await g.agent.stop();
  await g.host.close();
}
const counterDeploy = (name: string, start: boolean) => ({ name, image: COUNTER, profile: 'app' as const, isa: 'rv32imac' as const, ramSize: RAM, start });

// ---------------------------------------------------------------------------
const plan = suite('HypervisorHost: the fleet schedule');
plan('free time is split evenly between partitions without windows; explicit windows stay as given', () => {
  const w = planWindows(['b', 'a', 'x'], new Map([['x', [{ offset: 2000, duration: 1000 }]]]), 10_000, 500);
  assert.equal(w, [
    { partition: 'x', offset: 2000, duration: 1000 },
    { partition: 'a', offset: 0, duration: 2000 }, { partition: 'a', offset: 3000, duration: 2500 },
    { partition: 'b', offset: 5500, duration: 4500 },
  ]);
  assert.throws(() => planWindows(['a', 'b', 'c'], new Map(), 1000, 500), (e: Error & { code?: string }) => e.code === 'FLEET_NO_ROOM');
});

plan('a deploy whose windows collide is refused with core\'s code and leaves no trace; a valid plan keeps the guest running on the same timeline', async () => {
  const host = new HypervisorHost({ poolSize: 2 << 20 });
  const seen: HostEvent[] = [];
  host.onEvent((e) => seen.push(e));
  try {
    await host.deploy({ name: 'a', image: COUNTER, profile: 'app', isa: 'rv32imac', ramSize: RAM, windows: [{ offset: 0, duration: 4000 }] });
    await host.start('a');
    const free = host.capabilities().poolFreeBytes;
    await host.deploy({ name: 'b', image: COUNTER, profile: 'app', isa: 'rv32imac', ramSize: RAM, windows: [{ offset: 3000, duration: 2000 }] })
      .then(() => assert.unreachable('overlap accepted'), (e) => assert.is(e.code, 'SCHEDULE_OVERLAP'));
    await host.deploy({ name: 'b', image: new Uint8Array(64), profile: 'app', isa: 'rv32imac', ramSize: RAM })
      .then(() => assert.unreachable('junk image accepted'), (e) => assert.match(e.code, /^ELF_/));
    assert.equal(host.partitions().map((p) => p.name), ['a']);
    assert.is(host.capabilities().poolFreeBytes, free);
    assert.is(seen.filter((e) => e.type === 'state' && e.name === 'b').length, 0, 'no events from refused deploys');
    await host.updateSchedule({ majorFrame: 5000, windows: [{ partition: 'nope', offset: 0, duration: 100 }] })
      .then(() => assert.unreachable(), (e) => assert.is(e.code, 'FLEET_NOT_FOUND'));
    await sleep(120);
    const text = () => seen.filter((e) => e.type === 'console').map((e) => new TextDecoder().decode((e as { data: Uint8Array }).data)).join('');
    const before = text().split('\n').length;
    const t0 = host.hv.timeline;
    const ends: number[] = [];
    const off = host.hv.events.on('frame', () => ends.push(host.hv.timeline));
    await host.updateSchedule({ majorFrame: 5000, windows: [{ partition: 'a', offset: 1000, duration: 1000 }] });
    assert.is(host.hv.schedule!.current.majorFrame, 5000);
    await sleep(200);
    off();
    assert.ok(ends.length > 0);
    ends.forEach((t, i) => assert.ok(t > t0 && (i === 0 || t > ends[i - 1]!), `frame ${i} ended at ${t}, the plan came at ${t0}: time never runs back`));
    const lines = text().split('\n').filter(Boolean);
    assert.ok(lines.length > before, 'still ticking after the new plan');
    lines.forEach((l, i) => assert.is(tickOf(l), i));
  } finally {
    await host.close();
  }
});

plan('restore over a paused partition with a corrupt document changes nothing; with a good one it replaces it', async () => {
  const host = new HypervisorHost({ poolSize: 2 << 20 });
  try {
    await host.deploy({ name: 'a', image: COUNTER, profile: 'app', isa: 'rv32imac', ramSize: RAM });
    await host.start('a');
    await sleep(150);
    await host.pause('a');
    const doc = await host.snapshot('a');
    const before = host.partitions();
    const bad = doc.slice();
    bad[bad.length >> 1]! ^= 0xff;
    await host.restore('a', bad).then(() => assert.unreachable(), (e) => assert.match(e.code, /^SNAPSHOT_/));
    assert.equal(host.partitions(), before);
    await host.resume('a');
    await sleep(100);
    await host.pause('a');
    await host.restore('a', doc);
    assert.is(host.partitions()[0]!.state, 'paused');
    assert.is(host.partitions()[0]!.instructions, before[0]!.instructions, 'back to the snapshot\'s counters');
    await host.restore('b', doc);
    assert.equal(host.partitions().map((p) => p.name).sort(), ['a', 'b']);
  } finally {
    await host.close();
  }
});
plan.run();

// ---------------------------------------------------------------------------
const roundTrip = suite('real hypervisor: deploy, start, pause, resume, stop and destroy round trip');
roundTrip('hello runs to its end and prints what qemu prints', async () => {
  const fleet = uniqueFleet('hvh');
  const g = await gateway(fleet, 'gw-1');
  const ctl = new Controller({ fleet, url: broker.url });
  await ctl.start();
  await ctl.watchConsoles();
  await ctl.whenOnline('gw-1');
  const lines = collectLines(ctl, 'hello');
  try {
    const r = await ctl.send('gw-1', 'deploy', { name: 'hello', image: HELLO, profile: 'app', isa: 'rv32imac', ramSize: RAM, start: true });
    assert.is(r.partition.image, createHash('sha256').update(HELLO).digest('hex'));
    await until(() => ctl.gateway('gw-1')!.partitions.find((p) => p.name === 'hello')?.state === 'stopped', 5000, 'hello to exit');
    await until(() => lines.length >= qemuHello.split('\n').length - 1, 2000, 'all of hello\'s output');
    assert.is(lines.map((l) => l.line).join('\n') + '\n', qemuHello);
  } finally {
    await ctl.stop();
    await closeGateway(g);
  }
});

roundTrip('counter: created, running, paused (no output), resumed (next tick), stopped, destroyed (memory back)', async () => {
  const fleet = uniqueFleet('hvh');
  const g = await gateway(fleet, 'gw-1');
  const ctl = new Controller({ fleet, url: broker.url });
  await ctl.start();
  await ctl.watchConsoles();
  await ctl.whenOnline('gw-1');
  const lines = collectLines(ctl, 'c');
  const free0 = g.host.capabilities().poolFreeBytes;
  try {
    assert.is((await ctl.send('gw-1', 'deploy', counterDeploy('c', false))).partition.state, 'created');
    assert.is(g.host.capabilities().poolFreeBytes, free0 - RAM);
    assert.is((await ctl.send('gw-1', 'start', { name: 'c' })).partition.state, 'running');
    await until(() => lines.length >= 3, 3000, '3 ticks');
    assert.is((await ctl.send('gw-1', 'pause', { name: 'c' })).partition.state, 'paused');
    await sleep(150); // console flushes every 50 ms
    const n = lines.length;
    await sleep(300);
    assert.is(lines.length, n, 'a paused partition prints nothing');
    assert.is((await ctl.send('gw-1', 'resume', { name: 'c' })).partition.state, 'running');
    await until(() => lines.length >= n + 2, 3000, 'ticks after resume');
    const oracle = await qemuCounter;
    lines.forEach((l, i) => assert.is(l.line, oracle[i], `line ${i}`));
    assert.is((await ctl.send('gw-1', 'stop', { name: 'c' })).partition.state, 'stopped');
    await ctl.send('gw-1', 'destroy', { name: 'c' });
    assert.is(g.host.partitions().length, 0);
    assert.is(g.host.capabilities().poolFreeBytes, free0);
    assert.equal(g.events.filter((e) => e.name === 'c').map((e) => e.state), ['created', 'running', 'paused', 'running', 'stopped', 'destroyed']);
  } finally {
    await ctl.stop();
    await closeGateway(g);
  }
});
roundTrip.run();

// ---------------------------------------------------------------------------
const migration = suite('real hypervisor: live migration');
migration('a partition migrated mid-computation continues its console with exactly the next line', async () => {
  const fleet = uniqueFleet('hvh');
  const a = await gateway(fleet, 'gw-a');
  const b = await gateway(fleet, 'gw-b');
  const ctl = new Controller({ fleet, url: broker.url });
  await ctl.start();
  await ctl.watchConsoles();
  await ctl.whenOnline('gw-a');
  await ctl.whenOnline('gw-b');
  const lines = collectLines(ctl, 'c');
  try {
    await ctl.send('gw-a', 'deploy', counterDeploy('c', true));
    await until(() => lines.length >= 6, 3000, '6 ticks on gw-a');
    const t0 = performance.now();
    await ctl.migrate('c', 'gw-a', 'gw-b');
    const ms = performance.now() - t0;
    await until(() => lines.filter((l) => l.gw === 'gw-b').length >= 6, 3000, '6 ticks on gw-b');
    assert.is(a.host.partitions().length, 0, 'the source copy is destroyed');
    const ticks = lines.map((l) => tickOf(l.line)).sort((x, y) => x - y);
    ticks.forEach((t, i) => assert.is(t, i, 'every tick exactly once, none missing'));
    const lastA = Math.max(...lines.filter((l) => l.gw === 'gw-a').map((l) => tickOf(l.line)));
    const firstB = Math.min(...lines.filter((l) => l.gw === 'gw-b').map((l) => tickOf(l.line)));
    assert.is(firstB, lastA + 1);
    const oracle = await qemuCounter;
    for (const l of lines) assert.is(l.line, oracle[tickOf(l.line)]);
    assert.ok(ms < 2000, `migration took ${ms.toFixed(0)} ms`);
  } finally {
    await ctl.stop();
    await closeGateway(a);
    await closeGateway(b);
  }
});
migration.run();

// ---------------------------------------------------------------------------
const failover = suite('real hypervisor: an agent process killed with SIGKILL');

function spawnAgent(fleet: string, gw: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL('./_agent-process.ts', import.meta.url)), [broker.url, fleet, gw, String(4 << 20)], {
    execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`agent ${gw} exited with ${code} before it was ready`)));
  });
}

failover('its workload runs on another gateway within 3 s, resumed from its last checkpoint', async () => {
  const fleet = uniqueFleet('hvh');
  const procs = new Map<string, ChildProcess>();
  const [p1, p2] = await Promise.all([spawnAgent(fleet, 'gw-1'), spawnAgent(fleet, 'gw-2')]);
  procs.set('gw-1', p1!);
  procs.set('gw-2', p2!);
  const ctl = new Controller({ fleet, url: broker.url, checkpointIntervalMs: 300 });
  const events: ControllerEvent[] = [];
  ctl.on((e) => events.push(e));
  await ctl.start();
  await ctl.watchConsoles();
  await ctl.whenOnline('gw-1');
  await ctl.whenOnline('gw-2');
  const lines = collectLines(ctl, 'c');
  try {
    await ctl.setDesired([{ name: 'c', image: COUNTER, ramSize: RAM }]);
    const first = ctl.placement.get('c')!;
    const other = first === 'gw-1' ? 'gw-2' : 'gw-1';
    await until(() => events.some((e) => e.type === 'checkpoint' && e.workload === 'c'), 3000, `a checkpoint (${JSON.stringify(events.filter((e) => e.type === 'error').map((e) => String((e as { error: Error }).error)))})`);
    await until(() => lines.length >= 8, 3000, '8 ticks');
    const cp = ctl.checkpoints.get('c')!;
    const killedAt = performance.now();
    procs.get(first)!.kill('SIGKILL');
    const placed = await ctl.waitFor((e) => e.type === 'placed' && e.workload === 'c', 5000);
    assert.equal(placed, { type: 'placed', workload: 'c', gw: other, from: 'checkpoint' });
    await until(() => lines.some((l) => l.gw === other), 3000, 'output from the new gateway');
    const failoverMs = performance.now() - killedAt;
    assert.ok(failoverMs < 3000, `failover took ${failoverMs.toFixed(0)} ms`);
    await until(() => lines.filter((l) => l.gw === other).length >= 3, 3000, '3 ticks on the new gateway');
    // The checkpoint's own state is the oracle for where the new copy starts: restore it here.
    const probe = new HypervisorHost({ poolSize: 1 << 20 });
    const out: string[] = [];
    probe.onEvent((e) => { if (e.type === 'console') out.push(new TextDecoder().decode(e.data)); });
    await probe.restore('c', cp.doc);
    await probe.resume('c');
    await until(() => out.join('').includes('\n'), 2000, 'probe output');
    await probe.close();
    const expectedFirst = tickOf(out.join('').split('\n')[0]!);
    const moved = lines.filter((l) => l.gw === other).map((l) => tickOf(l.line));
    assert.is(moved[0], expectedFirst, 'resumes with the tick after its checkpoint');
    assert.ok(expectedFirst > 0, 'not a cold start');
    moved.forEach((t, i) => assert.is(t, expectedFirst + i));
    const oracle = await qemuCounter;
    for (const l of lines) assert.is(l.line, oracle[tickOf(l.line)]);
  } finally {
    await ctl.stop();
    for (const p of procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});
failover.run();

// ---------------------------------------------------------------------------
const restart = suite('real hypervisor: broker restart (Mosquitto with persistence)');
restart('acknowledged commands survive the restart and a command sent across it applies exactly once', async () => {
  const fleet = uniqueFleet('hvh');
  const g = await gateway(fleet, 'gw-1');
  // The agent reconnects on its own (default 1 s); so does the controller.
  const ctl = new Controller({ fleet, url: broker.url, connection: { reconnectPeriod: 200 } });
  await ctl.start();
  await ctl.whenOnline('gw-1');
  try {
    await ctl.send('gw-1', 'deploy', counterDeploy('c1', true));
    await ctl.send('gw-1', 'deploy', counterDeploy('c2', true));
    await ctl.send('gw-1', 'pause', { name: 'c2' });
    const session = g.agent.session;
    await broker.restart!();
    await until(() => g.agent.session > session && g.agent.transport!.connected && ctl.transport!.client.connected, 5000, 'both reconnected');
    await until(() => ctl.gateway('gw-1')?.session === g.agent.session && ctl.gateway('gw-1')!.online, 5000, 'the new birth');
    const states = Object.fromEntries(ctl.gateway('gw-1')!.partitions.map((p) => [p.name, p.state]));
    assert.equal(states, { c1: 'running', c2: 'paused' });
    // A fresh controller sees the same, from the retained state the broker persisted.
    const late = new Controller({ fleet, url: broker.url });
    await late.start();
    await late.whenOnline('gw-1');
    assert.equal(Object.fromEntries(late.gateway('gw-1')!.partitions.map((p) => [p.name, p.state])), states);
    await late.stop();

    // Across a second restart: the controller retries with the same id until it gets the reply.
    const before = g.events.length;
    let attempts = 0;
    const resumed = (async () => {
      for (;;) {
        attempts++;
        try {
          return await ctl.send('gw-1', 'resume', { name: 'c2' }, { id: 'resume-c2-once', timeoutMs: 700, allowOffline: true });
        } catch (err) {
          if ((err as { code?: string }).code !== 'FLEET_TIMEOUT') throw err;
        }
      }
    })();
    await broker.restart!();
    const r = await resumed;
    assert.is(r.partition.state, 'running');
    assert.is(g.events.slice(before).filter((e) => e.name === 'c2' && e.state === 'running').length, 1, `applied once in ${attempts} attempt(s)`);
    assert.is(g.host.hv.partition('c2')!.state, 'running');
  } finally {
    await ctl.stop();
    await closeGateway(g);
  }
});
restart.run();

// ---------------------------------------------------------------------------
const hostile = suite('real hypervisor: duplicates and hostile payloads');

interface Raw { t: Transport; fleet: string; replies: { topic: string; msg: ReplyMsg }[]; send(payload: Uint8Array): Promise<void> }
async function raw(fleet: string, gw: string): Promise<Raw> {
  const t = await Transport.connect({ url: broker.url, clientId: `raw-${fleet}` });
  const replies: Raw['replies'] = [];
  t.onMessage((m) => replies.push({ topic: m.topic, msg: decodeAs('reply', m.payload) }));
  await t.subscribe([replyTopic(fleet, gw, 'raw'), replyTopic(fleet, gw, INVALID_REPLY_ID)]);
  return { t, fleet, replies, send: (p) => t.publish(cmdTopic(fleet, gw), p, { qos: 1 }) };
}
const cmd = (fleet: string, id: string, kind: CommandMsg['kind'], args: unknown): CommandMsg =>
  ({ v: SCHEMA_VERSION, t: 'cmd', id, kind, replyTo: replyTopic(fleet, 'gw-1', 'raw'), deadline: Date.now() + 10_000, args }) as CommandMsg;

hostile('a deploy delivered twice creates and starts one partition and both deliveries get the same reply', async () => {
  const fleet = uniqueFleet('hvh');
  const g = await gateway(fleet, 'gw-1');
  const r = await raw(fleet, 'gw-1');
  try {
    const free0 = g.host.capabilities().poolFreeBytes;
    const payload = encodeMessage(cmd(fleet, 'dup-1', 'deploy', counterDeploy('c', true)));
    await Promise.all([r.send(payload), r.send(payload)]);
    await until(() => r.replies.length >= 2, 3000, 'two replies');
    assert.equal(r.replies[0]!.msg, r.replies[1]!.msg);
    assert.ok(r.replies[0]!.msg.ok);
    assert.is(g.host.partitions().length, 1);
    assert.is(g.host.capabilities().poolFreeBytes, free0 - RAM);
    assert.equal(g.events.map((e) => e.state), ['created', 'running']);
  } finally {
    await r.t.end();
    await closeGateway(g);
  }
});

hostile('garbage, oversized, unsigned, a corrupt ELF and a corrupt snapshot are refused; nothing changes; the agent keeps serving', async () => {
  const fleet = uniqueFleet('hvh');
  const keys = await generateKeyPair();
  const g = await gateway(fleet, 'gw-1', { trustedKeys: [keys.publicKey], maxPayload: 64 * 1024 });
  const r = await raw(fleet, 'gw-1');
  const signed = async (c: CommandMsg): Promise<Uint8Array> => encodeMessage(await signCommand(c, fleet, 'gw-1', keys.signer), { maxPayload: 1 << 20 });
  const next = async (n: number): Promise<ReplyMsg> => { await until(() => r.replies.length >= n, 3000, `reply ${n}`); return r.replies[n - 1]!.msg; };
  try {
    const free0 = g.host.capabilities().poolFreeBytes;
    await r.send(new Uint8Array([0xff, 0x00, 0x13, 0x37]));
    assert.is((await next(1)).error!.code, 'FLEET_BAD_PAYLOAD');
    assert.is(r.replies[0]!.topic, replyTopic(fleet, 'gw-1', INVALID_REPLY_ID));
    await r.send(encodeMessage(cmd(fleet, 'big', 'deploy', { ...counterDeploy('big', true), image: new Uint8Array(100 * 1024) }), { maxPayload: 1 << 20 }));
    assert.is((await next(2)).error!.code, 'FLEET_TOO_LARGE');
    await r.send(encodeMessage(cmd(fleet, 'nosig', 'deploy', counterDeploy('c', true))));
    assert.is((await next(3)).error!.code, 'FLEET_UNSIGNED');
    const junk = new Uint8Array(4096).fill(0x41);
    await r.send(await signed(cmd(fleet, 'badelf', 'deploy', { ...counterDeploy('c', true), image: junk, digest: await sha256Hex(junk) })));
    assert.match((await next(4)).error!.code, /^ELF_/);
    const fake = encodeMessage(cmd(fleet, 'x', 'rebirth', {}));
    await r.send(await signed(cmd(fleet, 'badsnap', 'restore', { name: 'c', doc: fake, digest: await sha256Hex(fake) })));
    assert.match((await next(5)).error!.code, /^SNAPSHOT_/);
    assert.is(g.host.partitions().length, 0);
    assert.is(g.host.capabilities().poolFreeBytes, free0);
    assert.is(g.events.length, 0, 'no partition ever appeared');
    await r.send(await signed(cmd(fleet, 'good', 'deploy', counterDeploy('c', true))));
    const ok = await next(6);
    assert.ok(ok.ok, JSON.stringify(ok.error));
    await until(() => (g.host.partitions()[0]?.instructions ?? 0) > 0, 2000, 'the counter to run');
  } finally {
    await r.t.end();
    await closeGateway(g);
  }
});
hostile.after(async () => { await broker.close(); });
hostile.run();
