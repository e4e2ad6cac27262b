#!/usr/bin/env node
// Fleet costs, over MQTT on loopback (packages/fleet/dist, packages/core/dist):
//   round trip  - one command (pause or resume of a running partition) from
//                 send() to its reply, controller and agent in one process
//   migration   - migrate() of a 1 MiB partition whose RAM is mostly random
//                 (incompressible, nothing elided), from the source's pause to
//                 the target running it, between two HypervisorHosts
//   tracking    - N simulated gateways (agents over an in-memory host, one
//                 process, one connection each): every birth seen, then one
//                 workload per gateway deployed and reported running
// The broker is the embedded aedes, and Mosquitto too when it is installed.
//
//   node bench/fleet.mjs [--gateways N] [--json]      (or as a section of `pnpm bench`)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, root, table } from './harness.mjs';

export const name = 'fleet';
export const title = 'fleet: command round trip, migration, gateway tracking (MQTT on loopback)';
export const columns = [
  ['metric', 'metric'],
  ['broker', 'broker'],
  ['value', 'measured', (v, r) => `${fmt.fixed(r.digits ?? 1)(v)} ${r.unit}`],
  ['goal', 'goal'],
  ['ok', 'meets goal', (v) => (v === undefined ? '-' : v ? 'yes' : 'NO')],
];

async function loadFleet() {
  const dist = join(root, 'packages/fleet/dist/');
  try {
    const [broker, agent, controller, host] = await Promise.all(['broker.js', 'agent.js', 'controller.js', 'hypervisor-host.js'].map((f) => import(join(dist, f))));
    return { ...broker, ...agent, ...controller, ...host };
  } catch (err) {
    throw new Error(`cannot load ${dist} (${err.code ?? err.message}): run 'pnpm build' first`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs, q) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** A private Mosquitto on a free port, or undefined when it is not installed. */
async function mosquitto() {
  const which = spawnSync('sh', ['-c', 'command -v mosquitto || ls /usr/sbin/mosquitto'], { encoding: 'utf8' });
  const bin = which.stdout.trim().split('\n')[0];
  if (which.status !== 0 || !bin) return undefined;
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { createServer, connect } = await import('node:net');
  const { spawn } = await import('node:child_process');
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-bench-mosq-'));
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nuser root\nlog_dest none\nmax_queued_messages 100000\n`);
  const child = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  const up = () => new Promise((res) => { const c = connect(port, '127.0.0.1'); c.once('connect', () => { c.destroy(); res(true); }); c.once('error', () => res(false)); });
  const t0 = Date.now();
  while (!(await up())) {
    if (Date.now() - t0 > 5000) throw new Error('mosquitto did not start');
    await sleep(20);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); rmSync(dir, { recursive: true, force: true }); },
  };
}

const COUNTER = () => new Uint8Array(readFileSync(join(root, 'examples/fleet-demo/counter.elf')));

async function roundTrip(f, url, n) {
  const fleet = `bench-rt-${process.pid}-${Date.now()}`;
  const host = new f.HypervisorHost({ poolSize: 4 << 20 });
  const agent = new f.Agent({ fleet, gw: 'gw', host, url, telemetryIntervalMs: 0 });
  await agent.start();
  const ctl = new f.Controller({ fleet, url });
  await ctl.start();
  await ctl.whenOnline('gw');
  await ctl.send('gw', 'deploy', { name: 'c', image: COUNTER(), profile: 'app', isa: 'rv32imac', ramSize: 256 << 10, start: true });
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await ctl.send('gw', i % 2 === 0 ? 'pause' : 'resume', { name: 'c' });
    times.push(performance.now() - t0);
  }
  await ctl.stop();
  await agent.stop();
  await host.close();
  return { median: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

async function migration(f, url, runs) {
  const fleet = `bench-mig-${process.pid}-${Date.now()}`;
  const hosts = ['a', 'b'].map(() => new f.HypervisorHost({ poolSize: 8 << 20 }));
  const agents = hosts.map((host, i) => new f.Agent({ fleet, gw: `gw-${i}`, host, url, telemetryIntervalMs: 0 }));
  for (const a of agents) await a.start();
  const ctl = new f.Controller({ fleet, url });
  await ctl.start();
  await ctl.watchConsoles();
  for (const a of agents) await ctl.whenOnline(a.gw);
  await ctl.send('gw-0', 'deploy', { name: 'big', image: COUNTER(), profile: 'app', isa: 'rv32imac', ramSize: 1 << 20, start: false });
  // Fill the RAM the counter does not use (between its image at 64 KiB + data, and its stack)
  // with random bytes, so the snapshot carries ~1 MiB that nothing elides.
  const ram = hosts[0].hv.partition('big').vm.bus.ram;
  for (let o = 128 << 10; o < ram.length - (128 << 10); o += 65536) crypto.getRandomValues(ram.subarray(o, o + 65536));
  await ctl.send('gw-0', 'start', { name: 'big' });
  let last = '';
  ctl.on((e) => { if (e.type === 'console') last = new TextDecoder().decode(e.data); });
  await sleep(200);
  const times = [];
  let size = 0;
  for (let i = 0; i < runs; i++) {
    const from = `gw-${i % 2}`;
    const to = `gw-${(i + 1) % 2}`;
    const t0 = performance.now();
    await ctl.migrate('big', from, to);
    times.push(performance.now() - t0);
    size = ctl.checkpoints.get('big').doc.length;
    await sleep(120);
  }
  const ticking = /tick \d+/.test(last);
  await ctl.stop();
  for (const a of agents) await a.stop();
  for (const h of hosts) await h.close();
  return { median: quantile(times, 0.5), best: Math.min(...times), size, ticking };
}

/** In-memory GatewayHost: what the tracking benchmark needs and nothing more. */
class SimHost {
  parts = new Map();
  listeners = new Set();
  capabilities() {
    return { poolBytes: 1 << 24, poolFreeBytes: (1 << 24) - this.parts.size * 65536, maxPartitions: 4, schedules: ['microseconds'], runtime: 'sim', isa: ['rv32imac'] };
  }
  partitions() {
    return [...this.parts.values()].map((p) => ({ name: p.name, state: p.state, ramSize: 65536, instructions: 0, image: p.digest }));
  }
  onEvent(l) { this.listeners.add(l); return () => this.listeners.delete(l); }
  #set(name, state) { this.parts.get(name).state = state; for (const l of this.listeners) l({ type: 'state', name, state }); }
  async deploy(spec) { this.parts.set(spec.name, { name: spec.name, state: 'created', digest: createHash('sha256').update(spec.image).digest('hex') }); for (const l of this.listeners) l({ type: 'state', name: spec.name, state: 'created' }); }
  async start(n) { this.#set(n, 'running'); }
  async pause(n) { this.#set(n, 'paused'); }
  async resume(n) { this.#set(n, 'running'); }
  async stop(n) { this.#set(n, 'stopped'); }
  async destroy(n) { this.parts.delete(n); }
  async snapshot() { return new Uint8Array(16); }
  async restore() {}
  async updateSchedule() {}
}

async function tracking(f, url, n) {
  const fleet = `bench-trk-${process.pid}-${Date.now()}`;
  const t0 = performance.now();
  const agents = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++) {
      const a = new f.Agent({ fleet, gw: `gw-${String(j).padStart(4, '0')}`, host: new SimHost(), url, telemetryIntervalMs: 0, connection: { keepaliveSeconds: 300 } });
      agents.push(a);
      batch.push(a.start());
    }
    await Promise.all(batch);
  }
  const agentsUp = performance.now() - t0;
  const ctl = new f.Controller({ fleet, url, commandTimeoutMs: 30_000 });
  const t1 = performance.now();
  await ctl.start();
  const online = () => ctl.gateways().filter((g) => g.online).length;
  while (online() < n) {
    if (performance.now() - t1 > 60_000) throw new Error(`only ${online()} of ${n} gateways online after 60 s`);
    await sleep(10);
  }
  const seen = performance.now() - t1;
  const image = new Uint8Array(4096).fill(7);
  const t2 = performance.now();
  await ctl.setDesired(agents.map((a) => ({ name: `w-${a.gw}`, image, ramSize: 65536, gateway: a.gw })));
  const running = () => ctl.gateways().filter((g) => g.partitions.some((p) => p.state === 'running')).length;
  while (running() < n) {
    if (performance.now() - t2 > 60_000) throw new Error(`only ${running()} of ${n} gateways converged after 60 s`);
    await sleep(10);
  }
  const converged = performance.now() - t2;
  await ctl.stop();
  for (let i = 0; i < agents.length; i += 100) await Promise.all(agents.slice(i, i + 100).map((a) => a.stop()));
  return { agentsUp, seen, converged };
}

export async function run(opts = {}) {
  const log = opts.log ?? ((s) => process.stderr.write(`bench: ${s}\n`));
  const gateways = opts.gateways ?? 1000;
  const f = await loadFleet();
  const brokers = [];
  const aedes = await f.startBroker();
  brokers.push({ name: 'aedes', url: aedes.url, close: () => aedes.close() });
  const mosq = await mosquitto();
  if (mosq) brokers.push({ name: 'mosquitto', ...mosq });
  const rows = [];
  try {
    for (const b of brokers) {
      log(`${b.name}: command round trip`);
      const rt = await roundTrip(f, b.url, 200);
      rows.push({ metric: 'command round trip (median)', broker: b.name, value: rt.median, unit: 'ms', digits: 2, goal: '-' });
      rows.push({ metric: 'command round trip (p99)', broker: b.name, value: rt.p99, unit: 'ms', digits: 2, goal: '-' });
      log(`${b.name}: migration of a 1 MiB partition`);
      const mig = await migration(f, b.url, 10);
      const what = `migration, 1 MiB RAM (${(mig.size / 1024).toFixed(0)} KiB snapshot)`;
      rows.push({ metric: `${what}, median`, broker: b.name, value: mig.median, unit: 'ms', goal: '< 100 ms', ok: mig.median < 100 && mig.ticking });
      rows.push({ metric: `${what}, best`, broker: b.name, value: mig.best, unit: 'ms', goal: '-' });
      log(`${b.name}: tracking ${gateways} gateways`);
      const trk = await tracking(f, b.url, gateways);
      rows.push({ metric: `${gateways} gateways: all births seen by a new controller`, broker: b.name, value: trk.seen, unit: 'ms', digits: 0, goal: '-' });
      rows.push({ metric: `${gateways} gateways: one workload each, deployed + running`, broker: b.name, value: trk.converged, unit: 'ms', digits: 0, goal: '< 10 s', ok: trk.converged < 10_000 });
    }
  } finally {
    for (const b of brokers) await b.close();
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { gateways: { type: 'string', default: '1000' }, json: { type: 'boolean' } } });
  const rows = await run({ gateways: Number(values.gateways) });
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `\n## ${title}\n\n${table(columns, rows)}\n`);
  process.exitCode = rows.some((r) => r.ok === false) ? 1 : 0;
}
