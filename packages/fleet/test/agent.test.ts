import { createHash } from 'node:crypto';
import { encode as plainEncode } from 'cbor-x';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeAs, encodeMessage } from '../src/protocol/codec.ts';
import { consoleTopic, stateTopic, telemetryTopic } from '../src/protocol/topics.ts';
import { generateKeyPair, signCommand, signImage, type KeyPair } from '../src/protocol/sign.ts';
import type { CommandMsg, ConsoleMsg, StateMsg, TelemetryMsg } from '../src/protocol/schema.ts';
import { Transport } from '../src/transport.ts';
import { FakeHost } from './_fake-host.ts';
import { sleep, startTestBroker, until, type TestBroker } from './_brokers.ts';
import { rig, type Rig } from './_rig.ts';

const IMAGE = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 9, 8, 7]);
const deployArgs = (name = 'p0', start = true) => ({ name, image: IMAGE, profile: 'app' as const, isa: 'rv32imac' as const, ramSize: 65536, start });

const brokers: TestBroker[] = [await startTestBroker('mosquitto'), await startTestBroker('aedes')];
const closeAll = async (): Promise<void> => { for (const b of brokers) await b.close(); };

const keys: KeyPair = await generateKeyPair();

for (const broker of brokers) {
  const k = broker.kind;

  // -------------------------------------------------------------------------
  const roundTrip = suite(`${k}: agent executes commands and answers with results`);
  let r: Rig;
  roundTrip.before.each(async () => { r = await rig(broker); });
  roundTrip.after.each(async () => { await r.close(); });

  roundTrip('deploy+start, pause, snapshot, resume, stop, destroy each reply ok with the new state', async () => {
    const d = await r.send(r.cmd('deploy', deployArgs()));
    assert.ok(d.ok, JSON.stringify(d.error));
    const report = (d.result as { partition: { state: string; image: string } }).partition;
    assert.is(report.state, 'running');
    assert.is(report.image, createHash('sha256').update(IMAGE).digest('hex'));
    assert.is(((await r.send(r.cmd('pause', { name: 'p0' }))).result as { partition: { state: string } }).partition.state, 'paused');
    const snap = await r.send(r.cmd('snapshot', { name: 'p0' }));
    const blob = snap.result as { doc: Uint8Array; digest: string; size: number };
    assert.is(blob.digest, createHash('sha256').update(blob.doc).digest('hex'));
    assert.is(blob.size, blob.doc.length);
    assert.is(r.host.parts.get('p0')!.state, 'paused', 'snapshot of a paused partition leaves it paused');
    assert.is(((await r.send(r.cmd('resume', { name: 'p0' }))).result as { partition: { state: string } }).partition.state, 'running');
    assert.is(((await r.send(r.cmd('stop', { name: 'p0' }))).result as { partition: { state: string } }).partition.state, 'stopped');
    assert.equal((await r.send(r.cmd('destroy', { name: 'p0' }))).result, { name: 'p0' });
    assert.is(r.host.parts.size, 0);
  });

  roundTrip('the retained state follows partition changes with growing seq in one session', async () => {
    await r.send(r.cmd('deploy', deployArgs()));
    await sleep(50);
    const late = await Transport.connect({ url: broker.url, clientId: `late-${r.fleet}` });
    const got: StateMsg[] = [];
    late.onMessage((m) => got.push(decodeAs('state', m.payload)));
    await late.subscribe([stateTopic(r.fleet, r.gw)]);
    await until(() => got.length > 0, 2000, 'retained state');
    await late.end();
    const s = got[0]!;
    assert.ok(s.online);
    assert.is(s.session, r.agent.session);
    assert.ok(s.seq > 0, `seq ${s.seq} grew past the birth`);
    assert.equal(s.partitions!.map((p) => [p.name, p.state]), [['p0', 'running']]);
    assert.is(s.capabilities!.poolBytes, r.host.poolBytes);
  });

  roundTrip('a host error comes back typed and the host is unchanged', async () => {
    const e = await r.send(r.cmd('start', { name: 'nope' }));
    assert.not.ok(e.ok);
    assert.is(e.error!.code, 'FLEET_NOT_FOUND');
    const big = await r.send(r.cmd('deploy', { ...deployArgs(), ramSize: r.host.poolBytes + 1 }));
    assert.is(big.error!.code, 'FLEET_NO_ROOM');
    assert.is(r.host.parts.size, 0);
  });

  roundTrip('update-schedule is validated by the host as a whole and applied', async () => {
    await r.send(r.cmd('deploy', deployArgs()));
    const bad = await r.send(r.cmd('update-schedule', { majorFrame: 100, windows: [{ partition: 'p0', offset: 0, duration: 50 }, { partition: 'ghost', offset: 50, duration: 50 }] }));
    assert.is(bad.error!.code, 'SCHEDULE_UNKNOWN_PARTITION');
    assert.is(r.host.plan, undefined);
    const ok = await r.send(r.cmd('update-schedule', { majorFrame: 100, windows: [{ partition: 'p0', offset: 0, duration: 50 }] }));
    assert.equal(ok.result, { majorFrame: 100 });
    assert.is(r.host.plan!.windows.length, 1);
  });

  roundTrip('a stale will of an older session overwriting the retained birth makes the agent publish its birth again', async () => {
    const states: StateMsg[] = [];
    r.raw.onMessage((m) => { if (m.topic.endsWith('/state')) states.push(decodeAs('state', m.payload)); });
    await r.raw.subscribe([stateTopic(r.fleet, r.gw)]);
    await until(() => states.length > 0, 2000, 'retained birth');
    const will: StateMsg = { v: 1, t: 'state', gw: r.gw, online: false, session: r.agent.session - 1, seq: 0, ts: Date.now(), reason: 'will' };
    await r.raw.publish(stateTopic(r.fleet, r.gw), encodeMessage(will), { retain: true });
    await until(() => states.some((s) => s.online && s.reason === 'rebirth'), 2000, 'rebirth after stale will');
    assert.is(states.at(-1)!.session, r.agent.session);
    assert.ok(states.at(-1)!.online);
  });

  roundTrip('guest telemetry is published with the shared seq and limited per partition', async () => {
    await r.close();
    let now = Date.now();
    const clock = { now: () => now, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
    r = await rig(broker, { clock, guestTelemetry: { messagesPerSecond: 1, burst: 3 } });
    const got: TelemetryMsg[] = [];
    r.raw.onMessage((m) => { if (m.topic.endsWith('/telemetry')) got.push(decodeAs('telemetry', m.payload)); });
    await r.raw.subscribe([telemetryTopic(r.fleet, r.gw)]);
    for (let i = 0; i < 10; i++) r.host.emit({ type: 'telemetry', name: 'a', topic: 'temp', data: new Uint8Array([i]) });
    r.host.emit({ type: 'telemetry', name: 'b', data: new Uint8Array([99]) });
    await until(() => got.length === 4, 2000, 'telemetry messages');
    await sleep(100);
    assert.is(got.length, 4, 'burst of 3 for a, 1 for b');
    assert.equal(got.filter((t) => t.p === 'a').map((t) => t.data![0]), [0, 1, 2]);
    assert.is(got.find((t) => t.p === 'a')!.topic, 'temp');
    const seqs = got.map((t) => t.seq).sort((x, y) => x - y);
    assert.equal(seqs, [1, 2, 3, 4]);
    r.host.emit({ type: 'telemetry', name: 'a', data: new Uint8Array([50]) });
    now += 1000;
    r.host.emit({ type: 'telemetry', name: 'a', data: new Uint8Array([51]) });
    await until(() => got.length === 5, 2000, 'telemetry after refill');
    assert.equal([got[4]!.data![0], got[4]!.dropped], [51, 8], 'drops since the last one sent are reported');
  });
  roundTrip.run();

  // -------------------------------------------------------------------------
  const bad = suite(`${k}: bad payloads get a typed error reply and the agent keeps serving`);
  bad.before.each(async () => { r = await rig(broker, { maxPayload: 4096 }); });
  bad.after.each(async () => { await r.close(); });

  bad('garbage bytes -> FLEET_BAD_PAYLOAD on reply/_invalid, then a valid command still works', async () => {
    const g = await r.sendRaw(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0xff]), r.invalidTo);
    assert.is(g.msg.error!.code, 'FLEET_BAD_PAYLOAD');
    assert.is(g.msg.id, null);
    const ok = await r.send(r.cmd('deploy', deployArgs()));
    assert.ok(ok.ok);
  });

  bad('an oversized payload -> FLEET_TOO_LARGE and nothing is applied', async () => {
    const c = r.cmd('deploy', { ...deployArgs(), image: new Uint8Array(8192).fill(1) });
    const e = await r.sendRaw(plainEncode(c), r.invalidTo);
    assert.is(e.msg.error!.code, 'FLEET_TOO_LARGE');
    assert.is(r.host.calls.deploy, undefined);
    assert.ok((await r.send(r.cmd('deploy', deployArgs()))).ok);
  });

  bad('wrong schema version, unknown kind and wrong field types answer to the salvaged replyTo with the command id', async () => {
    const v2 = await r.sendRaw(plainEncode({ ...r.cmd('start', { name: 'p0' }), id: 'v2', v: 2 }));
    assert.equal([v2.msg.id, v2.msg.error!.code, v2.msg.error!.path], ['v2', 'FLEET_BAD_SCHEMA', 'v']);
    const unk = await r.sendRaw(plainEncode({ ...r.cmd('start', { name: 'p0' }), id: 'u1', kind: 'format' }));
    assert.equal([unk.msg.id, unk.msg.error!.code], ['u1', 'FLEET_UNKNOWN_COMMAND']);
    const wt = await r.sendRaw(plainEncode({ ...r.cmd('deploy', deployArgs()), id: 'w1', args: { ...deployArgs(), ramSize: 'lots' } }));
    assert.equal([wt.msg.id, wt.msg.error!.code, wt.msg.error!.path], ['w1', 'FLEET_BAD_FIELD', 'args.ramSize']);
    assert.is(r.host.calls.deploy, undefined);
    assert.ok((await r.send(r.cmd('deploy', deployArgs()))).ok);
  });

  bad('a replyTo outside this gateway\'s reply prefix is not used (no reflection to foreign topics)', async () => {
    const e = await r.sendRaw(encodeMessage(r.cmd('start', { name: 'p0' }, { id: 'x1', replyTo: 'elsewhere/topic' })), r.invalidTo);
    assert.equal([e.msg.id, e.msg.error!.code, e.msg.error!.path], ['x1', 'FLEET_BAD_FIELD', 'replyTo']);
  });
  bad.run();

  // -------------------------------------------------------------------------
  const idem = suite(`${k}: commands are idempotent by command id and never half-applied`);
  idem.before.each(async () => { r = await rig(broker); });
  idem.after.each(async () => { await r.close(); });

  idem('a duplicate delivery (even concurrent) is applied once and answered with the same result', async () => {
    const c = r.cmd('deploy', deployArgs());
    const bytes = encodeMessage(c);
    await Promise.all([r.raw.publish(`rvisor/v1/${r.fleet}/gw/${r.gw}/cmd`, bytes), r.raw.publish(`rvisor/v1/${r.fleet}/gw/${r.gw}/cmd`, bytes)]);
    await until(() => r.replies.filter((x) => x.msg.id === c.id).length === 2, 3000, 'two replies');
    const again = await r.send(c);
    const all = r.replies.filter((x) => x.msg.id === c.id).map((x) => x.msg);
    assert.is(all.length, 3);
    assert.is(r.host.calls.deploy, 1);
    assert.is(r.host.calls.start, 1);
    for (const m of all) assert.equal(m.result, again.result);
  });

  idem('the same id with different content is FLEET_ID_REUSED', async () => {
    await r.send(r.cmd('deploy', deployArgs(), { id: 'dup' }));
    const e = await r.send(r.cmd('deploy', deployArgs('p1'), { id: 'dup' }));
    assert.is(e.error!.code, 'FLEET_ID_REUSED');
    assert.not.ok(r.host.parts.has('p1'));
  });

  idem('deploy with start: a failing start undoes the deploy', async () => {
    r.host.failNext('start');
    const e = await r.send(r.cmd('deploy', deployArgs()));
    assert.is(e.error!.code, 'FAKE_REFUSED');
    assert.is(r.host.parts.size, 0);
  });

  idem('migrate-out: a failing snapshot resumes the partition', async () => {
    await r.send(r.cmd('deploy', deployArgs()));
    r.host.failNext('snapshot');
    const e = await r.send(r.cmd('migrate-out', { name: 'p0' }));
    assert.is(e.error!.code, 'FAKE_REFUSED');
    assert.is(r.host.parts.get('p0')!.state, 'running');
  });

  idem('restore with a digest that does not match is refused before the host sees it', async () => {
    const e = await r.send(r.cmd('restore', { name: 'p9', doc: plainEncode({ v: 1 }), digest: '0'.repeat(64) }));
    assert.is(e.error!.code, 'FLEET_DIGEST_MISMATCH');
    assert.is(r.host.calls.restore, undefined);
  });

  idem('a command past its deadline is reported timed out and not executed', async () => {
    const e = await r.send(r.cmd('deploy', deployArgs(), { deadline: Date.now() - 1 }));
    assert.is(e.error!.code, 'FLEET_TIMEOUT');
    assert.is(r.host.parts.size, 0);
  });
  idem.run();

  // -------------------------------------------------------------------------
  const sig = suite(`${k}: an agent with a trusted key runs only fresh commands signed by it`);
  sig.before.each(async () => { r = await rig(broker, { trustedKeys: [keys.publicKey], idempotencyEntries: 1 }); });
  sig.after.each(async () => { await r.close(); });
  const signed = async (c: CommandMsg, over: { ttlMs?: number; now?: number } = {}) => signCommand(c, r.fleet, r.gw, keys.signer, over);

  sig('a signed command runs', async () => {
    const ok = await r.send(await signed(r.cmd('deploy', deployArgs())));
    assert.ok(ok.ok, JSON.stringify(ok.error));
    assert.is(r.host.calls.deploy, 1);
  });

  sig('unsigned, tampered, foreign-key, expired and too-long-lived commands are rejected with the reason', async () => {
    assert.is((await r.send(r.cmd('deploy', deployArgs()))).error!.code, 'FLEET_UNSIGNED');
    const t = await signed(r.cmd('deploy', deployArgs()));
    assert.is((await r.send({ ...t, args: { ...t.args, ramSize: 131072 } } as CommandMsg)).error!.code, 'FLEET_BAD_SIGNATURE');
    const other = await generateKeyPair();
    assert.is((await r.send(await signCommand(r.cmd('deploy', deployArgs()), r.fleet, r.gw, other.signer))).error!.code, 'FLEET_UNKNOWN_KEY');
    assert.is((await r.send(await signed(r.cmd('deploy', deployArgs()), { now: Date.now() - 120_000, ttlMs: 60_000 }))).error!.code, 'FLEET_EXPIRED');
    assert.is((await r.send(await signed(r.cmd('deploy', deployArgs()), { ttlMs: 3_600_000 }))).error!.code, 'FLEET_EXPIRY_TOO_FAR');
    assert.is(r.host.calls.deploy, undefined);
  });

  sig('a replay of a captured command is rejected once it left the idempotency cache; a duplicate inside it gets the cached result', async () => {
    const a = await signed(r.cmd('deploy', deployArgs('pa')));
    assert.ok((await r.send(a)).ok);
    const dup = await r.send(a);
    assert.ok(dup.ok);
    assert.is(r.host.calls.deploy, 1);
    assert.ok((await r.send(await signed(r.cmd('deploy', deployArgs('pb'))))).ok); // evicts a (cache of 1)
    await r.send(await signed(r.cmd('stop', { name: 'pa' })));
    await r.send(await signed(r.cmd('destroy', { name: 'pa' })));
    const replay = await r.send(a);
    assert.is(replay.error!.code, 'FLEET_REPLAYED');
    assert.not.ok(r.host.parts.has('pa'));
  });
  sig.run();

  const img = suite(`${k}: an agent with a trusted image key deploys only signed images`);
  img.before.each(async () => { r = await rig(broker, { trustedImageKeys: [keys.publicKey] }); });
  img.after.each(async () => { await r.close(); });
  img('unsigned or altered images are refused, a signed one deploys', async () => {
    assert.is((await r.send(r.cmd('deploy', deployArgs()))).error!.code, 'FLEET_UNSIGNED');
    const imageSig = await signImage(IMAGE, keys.signer);
    const altered = IMAGE.slice();
    altered[10] ^= 0xff;
    assert.is((await r.send(r.cmd('deploy', { ...deployArgs(), image: altered, imageSig }))).error!.code, 'FLEET_BAD_SIGNATURE');
    assert.ok((await r.send(r.cmd('deploy', { ...deployArgs(), imageSig }))).ok);
  });
  img.run();

  // -------------------------------------------------------------------------
  const cons = suite(`${k}: console output is forwarded per partition within its rate limit`);
  cons.before.each(async () => { r = await rig(broker, { console: { bytesPerSecond: 1000, burstBytes: 500, flushMs: 20 } }); });
  cons.after.each(async () => { await r.close(); });

  cons('a flooding partition is cut to its budget with drops counted; a quiet one is unaffected', async () => {
    await r.send(r.cmd('deploy', deployArgs('loud')));
    await r.send(r.cmd('deploy', deployArgs('quiet')));
    const got: ConsoleMsg[] = [];
    r.raw.onMessage((m) => { if (m.topic.endsWith('/console')) got.push(decodeAs('console', m.payload)); });
    await r.raw.subscribe([consoleTopic(r.fleet, r.gw, 'loud'), consoleTopic(r.fleet, r.gw, 'quiet')]);
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) r.host.emit({ type: 'console', name: 'loud', data: new Uint8Array(100).fill(65) });
    r.host.emit({ type: 'console', name: 'quiet', data: new TextEncoder().encode('hello\n') });
    await sleep(150);
    const elapsed = Date.now() - t0;
    await until(() => got.some((c) => c.p === 'quiet'), 2000, 'quiet console');
    const loud = got.filter((c) => c.p === 'loud');
    const bytes = loud.reduce((n, c) => n + c.data.length, 0);
    const dropped = loud.reduce((n, c) => n + c.dropped, 0);
    assert.ok(bytes >= 500 && bytes <= 500 + elapsed * 1.0 + 1, `forwarded ${bytes} bytes in ${elapsed} ms`);
    assert.is(bytes + dropped, 5000);
    assert.equal(loud.map((c) => c.seq), loud.map((_, i) => i));
    assert.is(new TextDecoder().decode(got.find((c) => c.p === 'quiet')!.data), 'hello\n');
  });
  cons.run();

  // -------------------------------------------------------------------------
  if (broker.versions.includes(5)) {
    const v5 = suite(`${k}: over MQTT 5 the reply also uses responseTopic and echoes correlationData`);
    v5.before.each(async () => { r = await rig(broker, { version: 5 }); });
    v5.after.each(async () => { await r.close(); });
    v5('garbage with a responseTopic is answered there with the correlation data', async () => {
      const corr = new Uint8Array([1, 2, 3, 4]);
      const e = await r.sendRaw(new Uint8Array([0xff]), r.replyTo, { responseTopic: r.replyTo, correlationData: corr });
      assert.is(e.msg.error!.code, 'FLEET_BAD_PAYLOAD');
      assert.equal([...e.m.correlationData!], [...corr]);
      const ok = await r.send(r.cmd('deploy', deployArgs()));
      assert.ok(ok.ok);
    });
    v5.run();
  }
}

const done = suite('brokers shut down');
done('both brokers stop', async () => {
  await closeAll();
});
done.run();

void FakeHost;
