import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../src/agent.ts';
import { Controller } from '../src/controller.ts';
import { cmdTopic, consoleTopic, replyTopic, stateTopic, telemetryTopic } from '../src/protocol/topics.ts';
import { Transport, type Incoming } from '../src/transport.ts';
import { FakeHost } from './_fake-host.ts';
import { sleep, startMosquitto, uniqueFleet, until } from './_brokers.ts';

/*
 * examples/mosquitto/rvisor.acl on a real Mosquitto: gateways authenticate
 * with their gateway name and may only touch their own topics. Every negative
 * check ends with a barrier message on an allowed path from the same client:
 * MQTT keeps one client's QoS 1 messages in order, so once the barrier has
 * arrived, a forbidden message sent before it would have too.
 */

const acl = readFileSync(fileURLToPath(new URL('../../../examples/mosquitto/rvisor.acl', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'rvisor-acl-'));
const passwd = join(dir, 'passwd');
execFileSync('mosquitto_passwd', ['-b', '-c', passwd, 'controller', 'ctl-secret']);
for (const gw of ['gw-1', 'gw-2']) execFileSync('mosquitto_passwd', ['-b', passwd, gw, `${gw}-secret`]);
const broker = await startMosquitto({
  extraConfig: ['allow_anonymous false', `password_file ${passwd}`, 'acl_file ${DIR}/rvisor.acl'],
  files: { 'rvisor.acl': acl },
});

async function client(user: string, password = `${user}-secret`): Promise<{ t: Transport; got: Incoming[] }> {
  const t = await Transport.connect({ url: broker.url, clientId: `acl-${user}-${Math.random().toString(16).slice(2)}`, username: user, password, reconnectPeriod: 0 });
  const got: Incoming[] = [];
  t.onMessage((m) => got.push(m));
  return { t, got };
}

// ---------------------------------------------------------------------------
const works = suite('mosquitto ACL: a gateway and a controller run the whole protocol');
works('birth, command, reply and console pass under the ACL; a wrong password is refused', async () => {
  const fleet = uniqueFleet('acl');
  const host = new FakeHost();
  const agent = new Agent({ fleet, gw: 'gw-1', host, url: broker.url, telemetryIntervalMs: 0, connection: { username: 'gw-1', password: 'gw-1-secret' } });
  await agent.start();
  const ctl = new Controller({ fleet, url: broker.url, connection: { username: 'controller', password: 'ctl-secret' } });
  await ctl.start();
  await ctl.watchConsoles();
  try {
    await ctl.whenOnline('gw-1', 3000);
    const r = await ctl.send('gw-1', 'deploy', { name: 'p', image: new Uint8Array([1, 2, 3]), profile: 'app', isa: 'rv32imac', ramSize: 65536, start: true });
    assert.is(r.partition.state, 'running');
    const seen = ctl.waitFor((e) => e.type === 'console' && e.partition === 'p', 3000);
    host.emit({ type: 'console', name: 'p', data: new TextEncoder().encode('hi\n') });
    await seen;
    let refused = false;
    await Transport.connect({ url: broker.url, clientId: 'acl-bad', username: 'gw-2', password: 'wrong', reconnectPeriod: 0 }).then((t) => t.end(), () => { refused = true; });
    assert.ok(refused, 'a wrong password must not connect');
  } finally {
    await ctl.stop();
    await agent.stop();
  }
});
works.run();

// ---------------------------------------------------------------------------
const isolation = suite('mosquitto ACL: a gateway cannot reach another gateway');
isolation('gw-1 publishing on gw-2\'s cmd, state, reply, telemetry and console topics (and its own cmd) delivers nothing', async () => {
  const fleet = uniqueFleet('acl');
  const watcher = await client('controller', 'ctl-secret');
  await watcher.t.subscribe([`rvisor/v1/${fleet}/#`]);
  const gw1 = await client('gw-1');
  try {
    const forbidden = [
      cmdTopic(fleet, 'gw-2'), stateTopic(fleet, 'gw-2'), replyTopic(fleet, 'gw-2', 'x'), telemetryTopic(fleet, 'gw-2'),
      consoleTopic(fleet, 'gw-2', 'p'), cmdTopic(fleet, 'gw-1'), `rvisor/v1/${fleet}/other`,
    ];
    for (const topic of forbidden) await gw1.t.publish(topic, new TextEncoder().encode('forged'), { qos: 1 });
    await gw1.t.publish(telemetryTopic(fleet, 'gw-1'), new TextEncoder().encode('barrier'), { qos: 1 });
    await until(() => watcher.got.some((m) => m.topic === telemetryTopic(fleet, 'gw-1')), 3000, 'the barrier');
    assert.equal(watcher.got.filter((m) => m.topic !== telemetryTopic(fleet, 'gw-1')).map((m) => m.topic), []);
  } finally {
    await watcher.t.end();
    await gw1.t.end();
  }
});

isolation('gw-1 subscribed to gw-2\'s cmd topic (and to everything) receives only its own commands', async () => {
  const fleet = uniqueFleet('acl');
  const gw1 = await client('gw-1');
  const ctl = await client('controller', 'ctl-secret');
  try {
    await gw1.t.subscribe([cmdTopic(fleet, 'gw-2')]).catch(() => {});
    await gw1.t.subscribe([`rvisor/v1/${fleet}/#`]).catch(() => {});
    await gw1.t.subscribe([cmdTopic(fleet, 'gw-1')]);
    await ctl.t.publish(cmdTopic(fleet, 'gw-2'), new TextEncoder().encode('secret'), { qos: 1 });
    await ctl.t.publish(telemetryTopic(fleet, 'gw-2'), new TextEncoder().encode('secret'), { qos: 1 });
    await ctl.t.publish(cmdTopic(fleet, 'gw-1'), new TextEncoder().encode('barrier'), { qos: 1 });
    await until(() => gw1.got.some((m) => m.topic === cmdTopic(fleet, 'gw-1')), 3000, 'the barrier');
    await sleep(50);
    assert.equal([...new Set(gw1.got.map((m) => m.topic))], [cmdTopic(fleet, 'gw-1')]);
  } finally {
    await gw1.t.end();
    await ctl.t.end();
  }
});
isolation.after(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});
isolation.run();
