import { decode as plainDecode } from 'cbor-x';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, type AgentOptions } from '../src/agent.ts';
import { Controller, type ControllerEvent, type ControllerOptions } from '../src/controller.ts';
import { encodeMessage } from '../src/protocol/codec.ts';
import { FleetError } from '../src/protocol/errors.ts';
import { generateKeyPair } from '../src/protocol/sign.ts';
import { SCHEMA_VERSION, type TelemetryMsg } from '../src/protocol/schema.ts';
import { telemetryTopic } from '../src/protocol/topics.ts';
import { Transport } from '../src/transport.ts';
import { FakeHost } from './_fake-host.ts';
import { startTestBroker, uniqueFleet, until, type TestBroker } from './_brokers.ts';

const IMAGE = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 42]);
const brokers: TestBroker[] = [await startTestBroker('mosquitto'), await startTestBroker('aedes')];

interface Fleet {
  fleet: string;
  ctl: Controller;
  agents: Map<string, { agent: Agent; host: FakeHost }>;
  events: ControllerEvent[];
  addAgent(gw: string, opts?: Partial<AgentOptions> & { host?: FakeHost }): Promise<{ agent: Agent; host: FakeHost }>;
  close(): Promise<void>;
}

async function fleetOf(broker: TestBroker, ctlOpts: Partial<ControllerOptions> = {}): Promise<Fleet> {
  const fleet = uniqueFleet(`c-${broker.kind}`);
  const ctl = new Controller({ fleet, url: broker.url, commandTimeoutMs: 3000, rebirthHoldoffMs: 0, ...ctlOpts });
  const events: ControllerEvent[] = [];
  ctl.on((e) => events.push(e));
  await ctl.start();
  const agents = new Map<string, { agent: Agent; host: FakeHost }>();
  const fl: Fleet = {
    fleet, ctl, agents, events,
    async addAgent(gw, opts = {}) {
      const host = opts.host ?? new FakeHost();
      const agent = new Agent({ fleet, gw, host, url: broker.url, telemetryIntervalMs: 0, ...opts });
      agents.set(gw, { agent, host });
      await agent.start();
      await until(() => fl.ctl.gateway(gw)?.online === true && fl.ctl.gateway(gw)!.session === agent.session, 3000, `${gw} online`);
      return { agent, host };
    },
    async close() {
      for (const { agent } of agents.values()) await agent.stop();
      await fl.ctl.stop();
    },
  };
  return fl;
}

for (const broker of brokers) {
  const k = broker.kind;
  let f: Fleet;

  // -------------------------------------------------------------------------
  const live = suite(`${k}: controller tracks gateway liveness from births, wills and sequence numbers`);
  live.before.each(async () => { f = await fleetOf(broker); });
  live.after.each(async () => { await f.close(); });

  live('a birth brings capabilities and partitions; a controller started later learns them from the retained state', async () => {
    const { agent, host } = await f.addAgent('gw-a');
    await f.ctl.send('gw-a', 'deploy', { name: 'p0', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 4096, start: true });
    const late = new Controller({ fleet: f.fleet, url: broker.url });
    await late.start();
    await until(() => late.gateway('gw-a')?.partitions.length === 1, 3000, 'late controller view');
    const v = late.gateway('gw-a')!;
    await late.stop();
    assert.ok(v.online);
    assert.is(v.session, agent.session);
    assert.equal(v.capabilities, host.capabilities());
    assert.equal(v.partitions.map((p) => [p.name, p.state]), [['p0', 'running']]);
  });

  live('an agent that dies without DISCONNECT is reported offline by its last will', async () => {
    const { agent } = await f.addAgent('gw-a');
    const offline = f.ctl.waitFor((e) => e.type === 'offline' && e.gw === 'gw-a', 3000);
    await agent.stop({ graceful: false });
    const e = await offline;
    assert.equal([e.type, (e as { reason: string }).reason, (e as { session: number }).session], ['offline', 'will', agent.session]);
    assert.is(f.ctl.gateway('gw-a')!.online, false);
  });

  live('a graceful stop is reported offline as shutdown', async () => {
    const { agent } = await f.addAgent('gw-a');
    const offline = f.ctl.waitFor((e) => e.type === 'offline' && e.gw === 'gw-a', 3000);
    await agent.stop();
    assert.is((await offline as { reason: string }).reason, 'shutdown');
  });

  live('a gap in the sequence numbers makes the controller ask for a rebirth, which the agent publishes', async () => {
    const { agent } = await f.addAgent('gw-a');
    await agent.publishTelemetry();
    await until(() => f.events.some((e) => e.type === 'telemetry'), 2000, 'telemetry');
    assert.not.ok(f.events.some((e) => e.type === 'rebirth-requested'), 'no rebirth without a gap');
    const seen = f.ctl.gateway('gw-a')!.seq;
    // A message the controller sees with seq + 3: two were lost in between.
    const raw = await Transport.connect({ url: broker.url, clientId: `raw-${f.fleet}` });
    const forged: TelemetryMsg = { v: SCHEMA_VERSION, t: 'telemetry', gw: 'gw-a', session: agent.session, seq: seen + 3, ts: Date.now() };
    const rebirth = f.ctl.waitFor((e) => e.type === 'state' && e.msg.reason === 'rebirth', 3000);
    await raw.publish(telemetryTopic(f.fleet, 'gw-a'), encodeMessage(forged));
    await raw.end();
    const ev = await rebirth;
    const req = f.events.find((e) => e.type === 'rebirth-requested') as Extract<ControllerEvent, { type: 'rebirth-requested' }>;
    assert.equal([req.expected, req.got], [seen + 1, seen + 3]);
    assert.is((ev as Extract<ControllerEvent, { type: 'state' }>).msg.seq, 0);
    assert.is(f.ctl.gateway('gw-a')!.seq, 0);
  });

  live('an agent that reconnects starts a new, larger session with a new birth', async () => {
    const { agent } = await f.addAgent('gw-a', { connection: { reconnectPeriod: 50 } });
    const s0 = agent.session;
    const online = f.ctl.waitFor((e) => e.type === 'online' && e.gw === 'gw-a' && e.session > s0, 4000);
    agent.transport!.client.stream.destroy();
    const e = await online as Extract<ControllerEvent, { type: 'online' }>;
    assert.is(e.session, s0 + 1);
    assert.ok(f.ctl.gateway('gw-a')!.online);
  });
  live.run();

  // -------------------------------------------------------------------------
  const cmds = suite(`${k}: controller commands resolve with results or typed errors, or time out`);
  cmds.before.each(async () => { f = await fleetOf(broker); });
  cmds.after.each(async () => { await f.close(); });

  cmds('an agent error rejects with the same code', async () => {
    await f.addAgent('gw-a');
    try {
      await f.ctl.send('gw-a', 'start', { name: 'ghost' });
      assert.unreachable('should reject');
    } catch (err) {
      assert.instance(err, FleetError);
      assert.is((err as FleetError).code, 'FLEET_NOT_FOUND');
    }
  });

  cmds('no reply before the deadline is FLEET_TIMEOUT; a retry with the same id returns the real result once', async () => {
    const { host } = await f.addAgent('gw-a');
    host.delayMs = 400;
    const args = { name: 'p0', image: IMAGE, profile: 'app' as const, isa: 'rv32imac' as const, ramSize: 4096 };
    try {
      await f.ctl.send('gw-a', 'deploy', args, { timeoutMs: 150, id: 'slow-1' });
      assert.unreachable('should time out');
    } catch (err) {
      assert.is((err as FleetError).code, 'FLEET_TIMEOUT');
    }
    host.delayMs = 0;
    await until(() => host.parts.has('p0'), 2000, 'slow deploy to finish');
    const r = await f.ctl.send('gw-a', 'deploy', args, { id: 'slow-1' });
    assert.is(r.partition.name, 'p0');
    assert.is(host.calls.deploy, 1);
  });

  cmds('a signing controller talks to an agent that requires signatures', async () => {
    const kp = await generateKeyPair();
    await f.ctl.stop();
    f.ctl = new Controller({ fleet: f.fleet, url: broker.url, signer: kp.signer });
    await f.ctl.start();
    await f.addAgent('gw-plain');
    try {
      await f.ctl.send('gw-plain', 'deploy', { name: 'p0', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 4096 });
    } catch (err) {
      assert.unreachable(`an agent without trusted keys ignores signatures: ${(err as Error).message}`);
    }
    await f.addAgent('gw-s', { trustedKeys: [kp.publicKey] });
    const r = await f.ctl.send('gw-s', 'deploy', { name: 'p0', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 4096, start: true });
    assert.is(r.partition.state, 'running');
  });

  cmds('commands to an offline gateway fail fast with FLEET_OFFLINE', async () => {
    const { agent } = await f.addAgent('gw-a');
    await agent.stop();
    await until(() => f.ctl.gateway('gw-a')!.online === false, 2000, 'offline');
    try {
      await f.ctl.send('gw-a', 'start', { name: 'p0' });
      assert.unreachable('should reject');
    } catch (err) {
      assert.is((err as FleetError).code, 'FLEET_OFFLINE');
    }
  });

  cmds('console output of a watched gateway arrives as console events', async () => {
    const { host } = await f.addAgent('gw-a', { console: { flushMs: 10 } });
    await f.ctl.watchConsoles('gw-a');
    const ev = f.ctl.waitFor((e) => e.type === 'console', 2000);
    host.emit({ type: 'console', name: 'p0', data: new TextEncoder().encode('boot ok\n') });
    const e = await ev as Extract<ControllerEvent, { type: 'console' }>;
    assert.equal([e.gw, e.partition, new TextDecoder().decode(e.data), e.dropped], ['gw-a', 'p0', 'boot ok\n', 0]);
  });

  if (broker.versions.includes(5)) {
    cmds('controller and agent on MQTT 5 work the same (properties in addition to payload fields)', async () => {
      await f.ctl.stop();
      f.ctl = new Controller({ fleet: f.fleet, url: broker.url, protocolVersion: 5 });
      await f.ctl.start();
      await f.addAgent('gw-5', { protocolVersion: 5 });
      const r = await f.ctl.send('gw-5', 'deploy', { name: 'p0', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 4096, start: true });
      assert.is(r.partition.state, 'running');
    });
  }
  cmds.run();

  // -------------------------------------------------------------------------
  const mig = suite(`${k}: live migration moves a workload and never loses it`);
  mig.before.each(async () => { f = await fleetOf(broker, { chunkSize: 64 * 1024 }); });
  mig.after.each(async () => { await f.close(); });

  mig('a running partition moves with its state (large snapshot in chunks) and runs only on the target', async () => {
    const a = await f.addAgent('gw-a', { chunkSize: 64 * 1024 });
    const b = await f.addAgent('gw-b', { chunkSize: 64 * 1024 });
    a.host.snapshotPad = 200 * 1024;
    await f.ctl.send('gw-a', 'deploy', { name: 'w', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 8192, start: true });
    a.host.tick(12345);
    await f.ctl.migrate('w', 'gw-a', 'gw-b');
    assert.not.ok(a.host.parts.has('w'));
    const moved = b.host.parts.get('w')!;
    assert.is(moved.state, 'running');
    assert.is(moved.instructions, 12345);
    assert.equal(moved.image, IMAGE);
    assert.ok((b.host.calls.restore ?? 0) === 1);
    assert.ok(f.events.some((e) => e.type === 'migrated'));
  });

  mig('a failed restore on the target leaves the source running and nothing on the target', async () => {
    const a = await f.addAgent('gw-a');
    const b = await f.addAgent('gw-b');
    await f.ctl.send('gw-a', 'deploy', { name: 'w', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 8192, start: true });
    b.host.failNext('restore');
    try {
      await f.ctl.migrate('w', 'gw-a', 'gw-b');
      assert.unreachable('should fail');
    } catch (err) {
      assert.is((err as FleetError).code, 'FLEET_MIGRATION_FAILED');
    }
    assert.is(a.host.parts.get('w')!.state, 'running');
    assert.not.ok(b.host.parts.has('w'));
  });

  mig('an image larger than one payload is uploaded in chunks and deployed from the transfer', async () => {
    const a = await f.addAgent('gw-a');
    const image = new Uint8Array(150 * 1024).map((_, i) => (i * 31) & 0xff);
    await f.ctl.setDesired([{ name: 'big', image, ramSize: 256 * 1024 }]);
    const p = a.host.parts.get('big')!;
    assert.is(p.state, 'running');
    assert.equal(p.image, image);
    assert.is(a.host.calls.deploy, 1);
  });
  mig.run();

  // -------------------------------------------------------------------------
  const rec = suite(`${k}: desired state is placed where there is room and survives a gateway's death`);
  rec.before.each(async () => { f = await fleetOf(broker); });
  rec.after.each(async () => { await f.close(); });

  rec('workloads go to gateways with room; a workload that fits nowhere is reported', async () => {
    const small = await f.addAgent('gw-small', { host: new FakeHost(64 * 1024) });
    const big = await f.addAgent('gw-big', { host: new FakeHost(1024 * 1024) });
    await f.ctl.setDesired([
      { name: 'w1', image: IMAGE, ramSize: 512 * 1024 },
      { name: 'w2', image: IMAGE, ramSize: 32 * 1024 },
    ]);
    assert.is(big.host.parts.get('w1')?.state, 'running');
    assert.ok(big.host.parts.has('w2') || small.host.parts.has('w2'));
    const errs = await (async () => { await f.ctl.setDesired([{ name: 'huge', image: IMAGE, ramSize: 4 * 1024 * 1024 }]); return f.events.filter((e) => e.type === 'error'); })();
    assert.ok(errs.some((e) => e.type === 'error' && (e.error as FleetError).code === 'FLEET_NO_GATEWAY'));
  });

  rec('when a gateway dies its workload restarts elsewhere from the latest checkpoint', async () => {
    const a = await f.addAgent('gw-a', { host: new FakeHost(1024 * 1024) });
    await f.ctl.setDesired([{ name: 'w', image: IMAGE, ramSize: 64 * 1024 }]);
    assert.is(f.ctl.placement.get('w'), 'gw-a');
    const b = await f.addAgent('gw-b', { host: new FakeHost(256 * 1024) });
    a.host.tick(777);
    const cp = await f.ctl.checkpoint('w');
    assert.is((plainDecode(cp.doc) as { instructions: number }).instructions, 777);
    a.host.tick(100); // progress after the checkpoint is lost on failover
    const placed = f.ctl.waitFor((e) => e.type === 'placed' && e.workload === 'w' && e.gw === 'gw-b', 4000);
    await a.agent.stop({ graceful: false });
    const e = await placed as Extract<ControllerEvent, { type: 'placed' }>;
    assert.is(e.from, 'checkpoint');
    const w = b.host.parts.get('w')!;
    assert.is(w.state, 'running');
    assert.is(w.instructions, 777);
    assert.ok(f.events.some((x) => x.type === 'failover' && x.workload === 'w'));

    // The dead gateway comes back with its stale copy: the copy is fenced off.
    const back = new Agent({ fleet: f.fleet, gw: 'gw-a', host: a.host, url: broker.url, telemetryIntervalMs: 0 });
    f.agents.set('gw-a2', { agent: back, host: a.host });
    await back.start();
    await until(() => !a.host.parts.has('w'), 3000, 'stale copy destroyed');
    assert.is(b.host.parts.get('w')!.state, 'running');
    assert.is(f.ctl.placement.get('w'), 'gw-b');
  });

  rec('checkpoints are taken every checkpointIntervalMs for placed workloads', async () => {
    await f.ctl.stop();
    f.ctl = new Controller({ fleet: f.fleet, url: broker.url, checkpointIntervalMs: 100 });
    f.ctl.on((e) => f.events.push(e));
    await f.ctl.start();
    const a = await f.addAgent('gw-a');
    await f.ctl.setDesired([{ name: 'w', image: IMAGE, ramSize: 4096 }]);
    a.host.tick(5);
    await until(() => f.events.filter((e) => e.type === 'checkpoint').length >= 2, 2000, 'two checkpoints');
    assert.is(f.ctl.checkpoints.get('w')!.gw, 'gw-a');
    assert.is(a.host.parts.get('w')!.state, 'running', 'a checkpoint pauses only around the snapshot');
  });

  rec('with prune, a workload removed from the desired state is destroyed; unmanaged partitions stay', async () => {
    await f.ctl.stop();
    f.ctl = new Controller({ fleet: f.fleet, url: broker.url, prune: true });
    await f.ctl.start();
    const a = await f.addAgent('gw-a');
    await f.ctl.send('gw-a', 'deploy', { name: 'manual', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 4096, start: true });
    await f.ctl.setDesired([{ name: 'w', image: IMAGE, ramSize: 4096 }]);
    assert.ok(a.host.parts.has('w'));
    await until(() => f.ctl.gateway('gw-a')!.partitions.some((p) => p.name === 'w' && p.state === 'running'), 2000, 'reported');
    await f.ctl.setDesired([]);
    assert.not.ok(a.host.parts.has('w'));
    assert.ok(a.host.parts.has('manual'));
  });

  rec('with reconcileIntervalMs a placement that failed is retried', async () => {
    await f.ctl.stop();
    f.ctl = new Controller({ fleet: f.fleet, url: broker.url, reconcileIntervalMs: 100 });
    f.ctl.on((e) => f.events.push(e));
    await f.ctl.start();
    const a = await f.addAgent('gw-a');
    a.host.failNext('deploy');
    await f.ctl.setDesired([{ name: 'w', image: IMAGE, ramSize: 4096 }]);
    assert.not.ok(a.host.parts.has('w'));
    assert.ok(f.events.some((e) => e.type === 'error' && (e.error as FleetError).code === 'FAKE_REFUSED'));
    await until(() => a.host.parts.get('w')?.state === 'running', 2000, 'retried placement');
  });
  rec.run();
}

const done = suite('brokers shut down');
done('both brokers stop', async () => {
  for (const b of brokers) await b.close();
});
done.run();
