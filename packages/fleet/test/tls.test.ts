import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../src/agent.ts';
import { Controller } from '../src/controller.ts';
import type { TlsOptions } from '../src/transport.ts';
import { FakeHost } from './_fake-host.ts';
import { freePort, startMosquitto, uniqueFleet, until } from './_brokers.ts';

/*
 * TLS options reach mqtt.js: a throwaway CA signs Mosquitto's server
 * certificate and a client certificate (openssl, generated here); agent and
 * controller talk over mqtts:// with the CA, and without it are refused.
 */

const IMAGE = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9]);
const dir = mkdtempSync(join(tmpdir(), 'rvisor-tls-'));

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    // Missing openssl is a failure, not a skip: the TLS pass-through would go untested.
    throw new Error(`openssl ${args[0]} failed (is openssl installed? apt-get install openssl): ${r.error?.message ?? r.stderr}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=rvisor test CA']);
writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
openssl(['req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'server.ext']);
openssl(['req', ...EC, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=gw-cert']);
openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1']);
const pem = (f: string): string => readFileSync(join(dir, f), 'utf8');
const ca = pem('ca.crt');

const tlsPort = await freePort();
const mtlsPort = await freePort();
const tlsListener = (port: number, requireCert: boolean): string[] => [
  `listener ${port} 127.0.0.1`, `cafile ${dir}/ca.crt`, `certfile ${dir}/server.crt`, `keyfile ${dir}/server.key`,
  ...(requireCert ? ['require_certificate true'] : []),
];
const broker = await startMosquitto({ extraConfig: [...tlsListener(tlsPort, false), ...tlsListener(mtlsPort, true)] });
const tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
const mtlsUrl = `mqtts://127.0.0.1:${mtlsPort}`;

async function refused(url: string, tls: TlsOptions | undefined): Promise<string> {
  const ctl = new Controller({ fleet: uniqueFleet('tls'), url, connection: { reconnectPeriod: 0, connectTimeout: 3000, ...(tls ? { tls } : {}) } });
  try {
    await ctl.start();
  } catch (err) {
    return (err as Error).message;
  }
  await ctl.stop();
  throw new Error(`a controller with ${JSON.stringify(Object.keys(tls ?? {}))} connected to ${url}, expected a refusal`);
}

const tls = suite('mqtts: TLS options are passed through to mqtt.js (Mosquitto with a throwaway CA)');
tls.after(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

tls('agent and controller complete a command round trip over mqtts with the CA', async () => {
  const fleet = uniqueFleet('tls');
  const host = new FakeHost();
  const agent = new Agent({ fleet, gw: 'gw-t', host, url: tlsUrl, telemetryIntervalMs: 0, connection: { tls: { ca } } });
  const ctl = new Controller({ fleet, url: tlsUrl, connection: { tls: { ca: new TextEncoder().encode(ca) } } });
  await agent.start();
  await ctl.start();
  try {
    assert.ok((agent.transport!.client.stream as { encrypted?: boolean }).encrypted, 'the agent socket is a TLS socket');
    await ctl.whenOnline('gw-t', 3000);
    const r = await ctl.send('gw-t', 'deploy', { name: 'p', image: IMAGE, profile: 'app', isa: 'rv32imac', ramSize: 4096, start: true });
    assert.is(r.partition.state, 'running');
    assert.is(host.parts.get('p')?.state, 'running');
  } finally {
    await agent.stop();
    await ctl.stop();
  }
});

tls('without the CA, or with a servername the certificate does not carry, the connection is refused', async () => {
  const [noCa, wrongName] = await Promise.all([refused(tlsUrl, undefined), refused(tlsUrl, { ca, servername: 'other.example' })]);
  assert.match(noCa, /self[- ]signed|unable to verify|certificate/i);
  assert.match(wrongName, /other\.example|altnames|Hostname/i);
  // The names the certificate does carry are accepted.
  const ok = new Controller({ fleet: uniqueFleet('tls'), url: tlsUrl, connection: { reconnectPeriod: 0, tls: { ca, servername: 'localhost' } } });
  await ok.start();
  await ok.stop();
});

tls('rejectUnauthorized: false accepts the unverified broker (the CLI --insecure)', async () => {
  const ctl = new Controller({ fleet: uniqueFleet('tls'), url: tlsUrl, connection: { reconnectPeriod: 0, tls: { rejectUnauthorized: false } } });
  await ctl.start();
  assert.ok(ctl.transport!.connected);
  await ctl.stop();
});

tls('a listener that requires client certificates accepts cert + key and refuses a client without them', async () => {
  const fleet = uniqueFleet('mtls');
  const agent = new Agent({ fleet, gw: 'gw-m', host: new FakeHost(), url: mtlsUrl, telemetryIntervalMs: 0, connection: { tls: { ca, cert: pem('client.crt'), key: pem('client.key') } } });
  await agent.start();
  const ctl = new Controller({ fleet, url: mtlsUrl, connection: { tls: { ca, cert: pem('client.crt'), key: pem('client.key') } } });
  await ctl.start();
  try {
    await until(() => ctl.gateway('gw-m')?.online === true, 3000, 'gw-m online over mutual TLS');
  } finally {
    await agent.stop();
    await ctl.stop();
  }
  const msg = await refused(mtlsUrl, { ca });
  assert.ok(msg.length > 0);
});

interface Run { code: number | null; out: string; err: string }
function cli(args: string[]): Promise<Run> {
  const entry = fileURLToPath(new URL('./_cli-entry.ts', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', entry, ...args], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}

tls('rvisor fleet --ca / --cert / --cert-key / --insecure reach the broker; without them it is refused', async () => {
  const fleet = uniqueFleet('tls-cli');
  const agent = new Agent({ fleet, gw: 'gw-c', host: new FakeHost(), url: mtlsUrl, telemetryIntervalMs: 0, connection: { tls: { ca, cert: pem('client.crt'), key: pem('client.key') } } });
  await agent.start();
  try {
    const ls = ['fleet', 'ls', '--fleet', fleet, '--json', '--wait', '200'];
    const client = ['--cert', join(dir, 'client.crt'), '--cert-key', join(dir, 'client.key')];
    const [withCa, insecure, noCa, halfPair] = await Promise.all([
      cli([...ls, '--broker', mtlsUrl, '--ca', join(dir, 'ca.crt'), ...client]),
      cli([...ls, '--broker', mtlsUrl, '--insecure', ...client]),
      cli([...ls, '--broker', tlsUrl]),
      cli([...ls, '--broker', tlsUrl, '--cert', join(dir, 'client.crt')]),
    ]);
    assert.is(withCa.code, 0, withCa.err);
    assert.equal((JSON.parse(withCa.out) as { gw: string; online: boolean }[]).map((g) => [g.gw, g.online]), [['gw-c', true]]);
    assert.is(insecure.code, 0, insecure.err);
    assert.is(noCa.code, 1, noCa.err);
    assert.match(noCa.err, /certificate/i);
    assert.is(halfPair.code, 2, halfPair.err);
    assert.match(halfPair.err, /--cert needs --cert-key/);
  } finally {
    await agent.stop();
  }
});
tls.run();
