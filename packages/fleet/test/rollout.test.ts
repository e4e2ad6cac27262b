import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../src/agent.ts';
import { Controller } from '../src/controller.ts';
import { FleetError } from '../src/protocol/errors.ts';
import { rolloutCommandId, type RolloutEvent, type RolloutReport } from '../src/rollout.ts';
import { FakeHost } from './_fake-host.ts';
import { startTestBroker, uniqueFleet, until, type TestBroker } from './_brokers.ts';

/*
 * Controller.rollout over FakeHost gateways: rate limits (token bucket and
 * concurrency window), the abort threshold, idempotent re-runs.
 */

const IMAGE = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 7]);
const brokers: TestBroker[] = [await startTestBroker('mosquitto'), await startTestBroker('aedes')];

interface Fleet {
  fleet: string;
  ctl: Controller;
  hosts: Map<string, FakeHost>;
  agents: Agent[];
  close(): Promise<void>;
}

async function fleetOf(broker: TestBroker, n: number, opts: { chunkSize?: number; delayMs?: number } = {}): Promise<Fleet> {
  const fleet = uniqueFleet(`r-${broker.kind}`);
  const ctl = new Controller({ fleet, url: broker.url, commandTimeoutMs: 3000, ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}) });
  await ctl.start();
  const hosts = new Map<string, FakeHost>();
  const agents: Agent[] = [];
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const gw = `gw-${i}`;
    const host = new FakeHost();
    host.delayMs = opts.delayMs ?? 0;
    hosts.set(gw, host);
    const agent = new Agent({ fleet, gw, host, url: broker.url, telemetryIntervalMs: 0 });
    agents.push(agent);
    await agent.start();
  }));
  await until(() => ctl.gateways().filter((g) => g.online).length === n, 3000, `${n} gateways online`);
  return {
    fleet, ctl, hosts, agents,
    async close() {
      for (const a of agents) await a.stop();
      await ctl.stop();
    },
  };
}

function collect(events: RolloutEvent[]): (e: RolloutEvent) => void {
  return (e) => events.push(e);
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `gw-${i}`);

for (const broker of brokers) {
  const k = broker.kind;
  let f: Fleet;

  // -------------------------------------------------------------------------
  const ok = suite(`${k}: a rollout applies its action to every selected gateway once`);
  ok.after.each(async () => { await f.close(); });

  ok('deploy to all gateways: every one runs the image, the report lists all as succeeded', async () => {
    f = await fleetOf(broker, 5);
    const events: RolloutEvent[] = [];
    const job = f.ctl.rollout({ id: 'ok1', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: 'all', rate: { concurrency: 3 } });
    job.on(collect(events));
    const report = await job.result;
    assert.is(report.outcome, 'completed');
    assert.equal([...report.succeeded].sort(), names(5));
    assert.equal([report.failed, report.skipped], [[], []]);
    for (const [gw, host] of f.hosts) {
      assert.is(host.parts.get('app')?.state, 'running', gw);
      assert.is(host.calls.deploy, 1, gw);
    }
    assert.equal(events.filter((e) => e.type === 'started').map((e) => (e as { gw: string }).gw), names(5), 'started in job order');
    assert.is(events.at(-1)!.type, 'done');
    assert.is(job.status().state, 'done');
  });

  ok('running the same job id again applies nothing twice and reports the same outcome', async () => {
    f = await fleetOf(broker, 4, { chunkSize: 1024 });
    // Larger than a chunk: the upload (chunk-put ids, transfer id) must be idempotent too.
    const image = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
    const spec = { id: 'dup', action: 'deploy' as const, name: 'app', image, ramSize: 8192, gateways: names(4), rate: { concurrency: 4 } };
    f.hosts.get('gw-2')!.failNext('deploy');
    const first = await f.ctl.rollout(spec).result;
    assert.equal(first.failed.map((x) => [x.gw, x.code]), [['gw-2', 'FAKE_REFUSED']]);
    const again = await f.ctl.rollout(spec).result;
    assert.equal([...again.succeeded].sort(), [...first.succeeded].sort());
    assert.equal(again.failed, first.failed, 'a stored failure is reported again, not retried under the same id');
    for (const [gw, host] of f.hosts) {
      assert.is(host.calls.deploy ?? 0, gw === 'gw-2' ? 0 : 1, gw);
      if (gw !== 'gw-2') assert.equal(host.parts.get('app')!.image, image);
    }
    // A new job id is a new attempt: only gw-2 had nothing to keep, the others already hold the name.
    const retry = await f.ctl.rollout({ ...spec, id: 'dup-retry', gateways: first.failed.map((x) => x.gw) }).result;
    assert.equal(retry.succeeded, ['gw-2']);
    assert.is(f.hosts.get('gw-2')!.calls.deploy, 1);
  });

  ok('update replaces the image; start/stop act on the named partition; unknown gateways fail as offline', async () => {
    f = await fleetOf(broker, 2);
    await f.ctl.rollout({ id: 'u0', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: 'all' }).result;
    const v2 = new Uint8Array([...IMAGE, 2]);
    const up = await f.ctl.rollout({ id: 'u1', action: 'update', name: 'app', image: v2, ramSize: 4096, gateways: 'all', rate: { concurrency: 2 } }).result;
    assert.equal([...up.succeeded].sort(), names(2));
    for (const host of f.hosts.values()) assert.equal([host.parts.get('app')!.image, host.parts.get('app')!.state], [v2, 'running']);
    const stop = await f.ctl.rollout({ id: 'u2', action: 'stop', name: 'app', gateways: ['gw-1', 'gw-nowhere'] }).result;
    assert.equal(stop.succeeded, ['gw-1']);
    assert.equal(stop.failed.map((x) => [x.gw, x.code]), [['gw-nowhere', 'FLEET_OFFLINE']]);
    assert.is(f.hosts.get('gw-1')!.parts.get('app')!.state, 'stopped');
    assert.is(f.hosts.get('gw-0')!.parts.get('app')!.state, 'running');
  });
  ok.run();

  // -------------------------------------------------------------------------
  const rate = suite(`${k}: a rollout respects its rate limit`);
  rate.after.each(async () => { await f.close(); });

  rate('never more than `concurrency` gateways in flight, and the window is kept full', async () => {
    f = await fleetOf(broker, 6, { delayMs: 40 });
    const events: RolloutEvent[] = [];
    const job = f.ctl.rollout({ id: 'cw', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: 'all', rate: { concurrency: 2 } });
    job.on(collect(events));
    const snapshots: number[] = [];
    job.on(() => snapshots.push(job.status().inFlight.length));
    const report = await job.result;
    assert.is(report.succeeded.length, 6);
    let inFlight = 0;
    let max = 0;
    for (const e of events) {
      if (e.type === 'started') max = Math.max(max, ++inFlight);
      else if (e.type === 'succeeded' || e.type === 'failed') inFlight--;
    }
    assert.is(max, 2, 'the window is used and never exceeded');
    assert.ok(Math.max(...snapshots) <= 2);
    // Ordering: the third gateway starts only after one of the first two settled.
    const i3 = events.findIndex((e) => e.type === 'started' && e.gw === 'gw-2');
    assert.ok(events.slice(0, i3).some((e) => e.type === 'succeeded'));
  });

  rate('perSecond: the i-th start comes no earlier than i/rate after the job started (burst 1)', async () => {
    f = await fleetOf(broker, 5);
    const events: RolloutEvent[] = [];
    const job = f.ctl.rollout({ id: 'tb', action: 'start', name: 'none', gateways: 'all', rate: { perSecond: 25, concurrency: 5 } });
    job.on(collect(events));
    const { startedAt } = await job.result;
    const at = events.filter((e) => e.type === 'started').map((e) => (e as { at: number }).at);
    assert.is(at.length, 5);
    // The token bucket's bound, on the controller clock that timestamps the events: nothing faster.
    for (let i = 0; i < at.length; i++) assert.ok(at[i]! - startedAt >= i * 40, `start ${i} came ${at[i]! - startedAt} ms after the job started`);
  });

  rate('a burst lets that many go at once, then the rate applies', async () => {
    f = await fleetOf(broker, 4);
    const events: RolloutEvent[] = [];
    const job = f.ctl.rollout({ id: 'bu', action: 'start', name: 'none', gateways: 'all', rate: { perSecond: 10, burst: 3, concurrency: 4 } });
    job.on(collect(events));
    const { startedAt } = await job.result;
    const at = events.filter((e) => e.type === 'started').map((e) => (e as { at: number }).at);
    assert.ok(at[3]! - startedAt >= 100, 'the fourth waits for a new token');
    // The first three need no token wait: they start before any reply (no round trip in between).
    const firstSettle = events.findIndex((e) => e.type === 'failed' || e.type === 'succeeded');
    assert.is(events.slice(0, firstSettle).filter((e) => e.type === 'started').length, 3);
  });
  rate.run();

  // -------------------------------------------------------------------------
  const ab = suite(`${k}: the abort threshold stops a rollout and names what was not attempted`);
  ab.after.each(async () => { await f.close(); });

  ab('after N failures no new command is sent; the rest are skipped, in job order, untouched', async () => {
    f = await fleetOf(broker, 7);
    f.hosts.get('gw-1')!.failNext('deploy', 'FAKE_BROKEN');
    f.hosts.get('gw-3')!.failNext('deploy', 'FAKE_BROKEN');
    const events: RolloutEvent[] = [];
    const job = f.ctl.rollout({ id: 'ab', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: names(7), abortAfter: { failures: 2 } });
    job.on(collect(events));
    const r: RolloutReport = await job.result;
    assert.is(r.outcome, 'aborted');
    assert.match(r.abortReason!, /abortAfter\.failures = 2/);
    assert.equal(r.succeeded, ['gw-0', 'gw-2']);
    assert.equal(r.failed.map((x) => [x.gw, x.code]), [['gw-1', 'FAKE_BROKEN'], ['gw-3', 'FAKE_BROKEN']]);
    assert.equal(r.skipped, ['gw-4', 'gw-5', 'gw-6']);
    for (const gw of r.skipped) assert.equal([f.hosts.get(gw)!.parts.size, f.hosts.get(gw)!.calls], [0, {}], `${gw} untouched`);
    assert.is(f.hosts.get('gw-0')!.parts.get('app')!.state, 'running', 'nothing applied is rolled back');
    const aborted = events.find((e) => e.type === 'aborted') as Extract<RolloutEvent, { type: 'aborted' }>;
    assert.equal(aborted.skipped, r.skipped);
    // Re-running the job continues it: done gateways answer from the cache, the skipped ones are attempted now.
    const cont = await f.ctl.rollout({ id: 'ab', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: names(7) }).result;
    assert.equal(cont.failed.map((x) => x.gw), ['gw-1', 'gw-3']);
    assert.is(cont.succeeded.length, 5);
    for (const gw of ['gw-0', 'gw-2', 'gw-4']) assert.is(f.hosts.get(gw)!.calls.deploy, 1, gw);
  });

  ab('commands in flight when the threshold is crossed finish and are reported', async () => {
    f = await fleetOf(broker, 6, { delayMs: 30 });
    f.hosts.get('gw-0')!.failNext('deploy');
    f.hosts.get('gw-0')!.delayMs = 0;
    const job = f.ctl.rollout({ id: 'fl', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: names(6), rate: { concurrency: 3 }, abortAfter: { failures: 1 } });
    const r = await job.result;
    assert.equal(r.failed.map((x) => x.gw), ['gw-0']);
    // gw-1 and gw-2 were sent together with gw-0 and completed after the abort.
    assert.equal([...r.succeeded].sort(), ['gw-1', 'gw-2']);
    assert.equal(r.skipped, ['gw-3', 'gw-4', 'gw-5']);
    assert.is(f.hosts.get('gw-1')!.parts.get('app')!.state, 'running');
  });

  ab('a failure ratio above the limit aborts once minSettled gateways settled; abort() stops it too', async () => {
    f = await fleetOf(broker, 6);
    for (const gw of ['gw-0', 'gw-2']) f.hosts.get(gw)!.failNext('start');
    await f.ctl.rollout({ id: 'pre', action: 'deploy', name: 'app', image: IMAGE, ramSize: 4096, gateways: 'all', start: false, rate: { concurrency: 6 } }).result;
    const r = await f.ctl.rollout({ id: 'ra', action: 'start', name: 'app', gateways: names(6), abortAfter: { failureRatio: 0.5, minSettled: 3 } }).result;
    // gw-0 fails (1/1 but below minSettled), gw-1 ok, gw-2 fails: 2/3 > 0.5.
    assert.equal([r.outcome, r.succeeded, r.failed.map((x) => x.gw), r.skipped], ['aborted', ['gw-1'], ['gw-0', 'gw-2'], ['gw-3', 'gw-4', 'gw-5']]);

    const job = f.ctl.rollout({ id: 'man', action: 'stop', name: 'app', gateways: names(6), rate: { perSecond: 1000, burst: 1 } });
    job.on((e) => { if (e.type === 'succeeded' && e.gw === 'gw-1') job.abort('operator'); });
    const m = await job.result;
    assert.equal([m.outcome, m.abortReason, m.succeeded, m.skipped.length], ['aborted', 'operator', ['gw-0', 'gw-1'], 4]);
  });

  ab('bad specs are refused before anything is sent', async () => {
    f = await fleetOf(broker, 1);
    const bad = [
      { id: 'x', action: 'deploy', name: 'app', gateways: 'all' },
      { id: 'x', action: 'start', name: 'app', gateways: 'all', rate: { concurrency: 0 } },
      { id: 'x', action: 'start', name: 'app', gateways: 'all', abortAfter: { failureRatio: 1.5 } },
      { id: 'x', action: 'explode', name: 'app', gateways: 'all' },
      { id: 'not/a/name', action: 'start', name: 'app', gateways: 'all' },
    ];
    for (const spec of bad) {
      try {
        f.ctl.rollout(spec as never);
        assert.unreachable(JSON.stringify(spec));
      } catch (err) {
        assert.instance(err, FleetError);
      }
    }
    assert.equal(f.hosts.get('gw-0')!.calls, {});
  });
  ab.run();
}

const ids = suite('rollout command ids');
ids('are <job>.<gw>.<step> and stay valid names for long gateway names', () => {
  assert.is(rolloutCommandId('job-1', 'gw-7', 'deploy'), 'job-1.gw-7.deploy');
  const long = 'g'.repeat(64);
  const a = rolloutCommandId('j'.repeat(32), long, 'up12');
  assert.ok(a.length <= 64 && /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(a), a);
  assert.is.not(a, rolloutCommandId('j'.repeat(32), `${'g'.repeat(63)}h`, 'up12'));
  assert.is(a, rolloutCommandId('j'.repeat(32), long, 'up12'));
});
ids.run();

const done = suite('brokers shut down');
done('both brokers stop', async () => {
  for (const b of brokers) await b.close();
});
done.run();
