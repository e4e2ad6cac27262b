#!/usr/bin/env node
// rvisor fleet demo: an embedded MQTT broker, a controller and three gateway
// agents in their own processes. Deploys four workloads, shows a live status
// table, migrates a running partition, then kills a gateway with SIGKILL and
// shows its workload resuming elsewhere from its last checkpoint.
//
//   node examples/fleet-demo/demo.mjs [--keep] [--quick]
//
// --keep keeps the fleet running (and the table live) until Ctrl-C;
// --quick shortens the pauses between the acts (used by the tests).
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const dist = here('../../packages/fleet/dist/');
if (!existsSync(`${dist}hypervisor-host.js`)) {
  process.stderr.write('fleet-demo: packages/fleet is not built; run `bash scripts/setup.sh` (or `pnpm build`) first\n');
  process.exit(1);
}
const { values: flags } = parseArgs({ options: { keep: { type: 'boolean' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
if (flags.help) {
  process.stdout.write('Usage: node examples/fleet-demo/demo.mjs [--keep] [--quick]\n');
  process.exit(0);
}
const { startBroker } = await import(`${dist}broker.js`);
const { Controller } = await import(`${dist}controller.js`);

const FLEET = 'demo';
const GATEWAYS = ['gw-1', 'gw-2', 'gw-3'];
const RAM = 256 * 1024;
const image = (p) => new Uint8Array(readFileSync(here(p)));
const WORKLOADS = [
  { name: 'counter-a', image: image('./counter.elf'), ramSize: RAM },
  { name: 'counter-b', image: image('./counter.elf'), ramSize: RAM },
  { name: 'primes', image: image('./primes.elf'), ramSize: RAM },
  { name: 'hello', image: image('../hello/hello.elf'), ramSize: RAM },
];
const pause = (ms) => new Promise((r) => setTimeout(r, flags.quick ? ms / 2 : ms));
const tty = process.stdout.isTTY === true;
const t0 = performance.now();
const clock = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s`;

// ---- the fleet --------------------------------------------------------------------------
const broker = await startBroker();
const agents = new Map();
function startAgent(gw) {
  const child = fork(here('./agent.mjs'), [broker.url, FLEET, gw], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  agents.set(gw, child);
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code, sig) => reject(new Error(`gateway ${gw} exited (${code ?? sig}) before it was ready`)));
  });
}

const ctl = new Controller({ fleet: FLEET, url: broker.url, checkpointIntervalMs: 1000 });
const log = [];
let phase = 'starting';
function event(text) {
  log.push(`${clock()}  ${text}`);
  if (log.length > 8) log.shift();
  if (!tty) process.stdout.write(`${clock()}  ${text}\n`);
}

// Last console line and a MIPS estimate per (gateway, partition).
const lastLine = new Map();
const partial = new Map();
const lines = [];
const rates = new Map();
ctl.on((e) => {
  if (e.type === 'console') {
    const key = `${e.gw}/${e.partition}`;
    const parts = ((partial.get(key) ?? '') + new TextDecoder().decode(e.data)).split('\n');
    partial.set(key, parts.pop());
    for (const line of parts) {
      lastLine.set(key, line);
      lines.push({ gw: e.gw, partition: e.partition, line, at: performance.now() });
    }
  } else if (e.type === 'telemetry' && e.msg.partitions) {
    for (const p of e.msg.partitions) {
      const key = `${e.gw}/${p.name}`;
      const prev = rates.get(key);
      const now = { instructions: p.instructions, ts: e.msg.ts, mips: prev?.mips ?? 0 };
      if (prev && e.msg.ts > prev.ts) now.mips = (p.instructions - prev.instructions) / ((e.msg.ts - prev.ts) * 1000);
      rates.set(key, now);
    }
  } else if (e.type === 'placed') event(`placed ${e.workload} on ${e.gw} (from ${e.from})`);
  else if (e.type === 'migrated') event(`migrated ${e.workload}: ${e.from} -> ${e.to}`);
  else if (e.type === 'offline') event(`${e.gw} is offline (${e.reason})`);
  else if (e.type === 'failover') event(`failover: ${e.workload} lost with ${e.from}`);
  else if (e.type === 'error' && !/checkpoint/.test(e.context)) event(`error (${e.context}): ${e.error.message}`);
});

// ---- the table ----------------------------------------------------------------------------
const fmtInt = (n) => n.toLocaleString('en-US');
const fmtSize = (n) => (n >= 1 << 20 ? `${+(n / (1 << 20)).toFixed(2)}M` : `${(n / 1024).toFixed(0)}K`);
function table() {
  const rows = [['GATEWAY', 'STATUS', 'FREE', 'PARTITION', 'STATE', 'INSTRUCTIONS', 'MIPS', 'RAM', 'LAST OUTPUT']];
  for (const gw of GATEWAYS) {
    const v = ctl.gateway(gw);
    const status = v?.online ? 'online' : 'OFFLINE';
    const free = v?.online && v.capabilities ? fmtSize(v.capabilities.poolFreeBytes) : '-';
    const parts = v?.online ? [...v.partitions].sort((a, b) => a.name.localeCompare(b.name)) : [];
    if (parts.length === 0) rows.push([gw, status, free, '-', '', '', '', '', '']);
    parts.forEach((p, i) => {
      const key = `${gw}/${p.name}`;
      const mips = p.state === 'running' ? (rates.get(key)?.mips ?? 0).toFixed(2) : '-';
      rows.push([i === 0 ? gw : '', i === 0 ? status : '', i === 0 ? free : '', p.name, p.state, fmtInt(p.instructions), mips, fmtSize(p.ramSize), (lastLine.get(key) ?? '').slice(0, 40)]);
    });
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const right = new Set([5, 6, 7]);
  const text = rows.map((r) => r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
  return [`rvisor fleet demo: fleet "${FLEET}", embedded broker ${broker.url}, ${clock()}`, `now: ${phase}`, '', ...text].join('\n');
}
let drawn = 0;
function draw() {
  // A line wider than the terminal wraps and would break the cursor-up count.
  const cols = process.stdout.columns || 200;
  const out = `${table()}\n\nevents:\n${log.map((l) => `  ${l}`).join('\n')}`.split('\n').map((l) => l.slice(0, cols - 1)).join('\n') + '\n';
  process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${out}`);
  drawn = out.split('\n').length - 1;
}
const refresher = tty ? setInterval(draw, 250) : undefined;
function act(text) {
  phase = text;
  if (tty) draw();
  else process.stdout.write(`\n== ${text}\n`);
}
const snapshotTable = () => { if (!tty) process.stdout.write(`${table()}\n`); };

const waitFor = async (cond, ms, what) => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const tick = (line) => Number(/^tick (\d+)/.exec(line)?.[1] ?? NaN);

let failed = false;
try {
  act(`starting an embedded MQTT broker, the controller and ${GATEWAYS.length} gateway processes`);
  await ctl.start();
  await ctl.watchConsoles();
  await Promise.all(GATEWAYS.map(startAgent));
  for (const gw of GATEWAYS) await ctl.whenOnline(gw);
  event(`${GATEWAYS.length} gateways online`);

  act(`deploying ${WORKLOADS.map((w) => w.name).join(', ')} (desired state; the controller places them)`);
  await ctl.setDesired(WORKLOADS);
  await pause(5000);
  snapshotTable();

  // ---- act 2: live migration --------------------------------------------------------------
  const from = ctl.placement.get('counter-a');
  const to = GATEWAYS.filter((g) => g !== from).sort((a, b) => ctl.gateway(a).partitions.length - ctl.gateway(b).partitions.length)[0];
  act(`live migration of counter-a from ${from} to ${to}`);
  const m0 = performance.now();
  await ctl.migrate('counter-a', from, to);
  const migrateMs = performance.now() - m0;
  await waitFor(() => lines.some((l) => l.partition === 'counter-a' && l.gw === to), 3000, 'counter-a output on the target');
  const before = lines.filter((l) => l.partition === 'counter-a' && l.gw === from).at(-1);
  const after = lines.find((l) => l.partition === 'counter-a' && l.gw === to);
  event(`counter-a moved in ${migrateMs.toFixed(0)} ms; last line on ${from}: "${before?.line}", first on ${to}: "${after.line}"`);
  const continuous = before && tick(after.line) === tick(before.line) + 1;
  event(continuous ? 'console continues exactly where it stopped' : 'console did NOT continue where it stopped');
  if (!continuous) failed = true;
  await pause(4000);
  snapshotTable();

  // ---- act 3: a gateway dies ----------------------------------------------------------------
  const victim = ctl.placement.get('counter-b');
  act(`killing ${victim} (SIGKILL): counter-b must resume elsewhere from its last checkpoint`);
  const cp = ctl.checkpoints.get('counter-b');
  const lastSeen = lines.filter((l) => l.partition === 'counter-b').at(-1);
  const k0 = performance.now();
  const killedAt = Date.now();
  agents.get(victim).kill('SIGKILL');
  const placed = await ctl.waitFor((e) => e.type === 'placed' && e.workload === 'counter-b', 10_000);
  await waitFor(() => lines.some((l) => l.partition === 'counter-b' && l.gw === placed.gw), 5000, 'counter-b output on its new gateway');
  const resumed = lines.find((l) => l.partition === 'counter-b' && l.gw === placed.gw);
  const age = cp ? `its checkpoint taken ${((killedAt - cp.at) / 1000).toFixed(1)} s before the kill` : 'its image (no checkpoint yet)';
  event(`counter-b runs on ${placed.gw} ${(resumed.at - k0).toFixed(0)} ms after the kill, resumed from ${age}`);
  event(`last line before the kill: "${lastSeen?.line}", first after: "${resumed.line}" (work since the checkpoint is redone)`);
  if (!(tick(resumed.line) > 0)) failed = true;
  await pause(4000);
  act(flags.keep ? 'running until Ctrl-C' : 'done');
  snapshotTable();
  if (flags.keep) await new Promise((resolve) => process.once('SIGINT', resolve));
} catch (err) {
  failed = true;
  event(`demo failed: ${err.message}`);
} finally {
  if (tty) {
    clearInterval(refresher);
    draw();
  }
  await ctl.stop();
  await Promise.all([...agents.values()].map((a) => (a.exitCode === null && a.signalCode === null
    ? new Promise((r) => { a.once('exit', r); a.send('stop'); })
    : undefined)));
  await broker.close();
}
process.exitCode = failed ? 1 : 0;
