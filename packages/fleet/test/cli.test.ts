import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent } from '../src/agent.ts';
import { HypervisorHost } from '../src/hypervisor-host.ts';
import { FakeHost } from './_fake-host.ts';
import { startMosquitto, uniqueFleet, until } from './_brokers.ts';

/*
 * `rvisor agent` and `rvisor fleet` (packages/cli/src/commands/{agent,fleet}.ts)
 * as processes: exit statuses, signed commands, snapshots, logs, against a real
 * Mosquitto and a real HypervisorHost.
 */

const entry = fileURLToPath(new URL('./_cli-entry.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const COUNTER = `${root}examples/fleet-demo/counter.elf`;
const tmp = mkdtempSync(join(tmpdir(), 'rvisor-fleet-cli-'));
const broker = await startMosquitto();
const fleet = uniqueFleet('cli');
const base = ['--broker', broker.url, '--fleet', fleet];

interface Run { code: number | null; out: string; err: string }
function cli(args: string[], options: { timeoutMs?: number; onErr?: (text: string) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', entry, ...args], { cwd: join(root, 'packages/fleet'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; options.onErr?.(err); });
    const t = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}

// ---------------------------------------------------------------------------
const usage = suite('rvisor agent / fleet: help and usage errors');
usage('--help exits 0; unknown subcommands, missing flags and arguments exit 2 with one line', async () => {
  const [fh, ah, bogus, noBroker, deployArity, badRam, agentNoGw] = await Promise.all([
    cli(['fleet', '--help']), cli(['agent', '--help']), cli(['fleet', 'bogus', ...base]), cli(['fleet', 'ls', '--fleet', 'f']),
    cli(['fleet', 'deploy', '--gw', 'g', 'only-name', ...base]), cli(['fleet', 'deploy', '--gw', 'g', 'n', COUNTER, '--ram', 'lots', ...base]),
    cli(['agent', '--broker', broker.url, '--fleet', fleet]),
  ]);
  assert.is(fh.code, 0);
  assert.match(fh.out, /^Usage: rvisor fleet/);
  assert.is(ah.code, 0);
  assert.match(ah.out, /^Usage: rvisor agent/);
  for (const [r, re] of [[bogus, /unknown subcommand 'bogus'/], [noBroker, /missing --broker/], [deployArity, /expects NAME IMAGE/], [badRam, /--ram expects a size/], [agentNoGw, /missing --gw/]] as const) {
    assert.is(r.code, 2, r.err);
    assert.match(r.err, re);
    assert.is(r.err.trim().split('\n').length, 1);
  }
});
usage('an unreachable broker exits 1', async () => {
  const r = await cli(['fleet', 'ls', '--broker', 'mqtt://127.0.0.1:1', '--fleet', 'f']);
  assert.is(r.code, 1);
  assert.match(r.err, /ECONNREFUSED/);
});
usage.run();

// ---------------------------------------------------------------------------
const roll = suite('rvisor fleet rollout: progress on stderr, summary on stdout, exit 1 when aborted');
roll('usage errors exit 2; a rollout to every gateway exits 0; an aborted one exits 1 and names the skipped gateways', async () => {
  const agents: Agent[] = [];
  const gateways = async (f: string, n: number): Promise<Map<string, FakeHost>> => {
    const hosts = new Map<string, FakeHost>();
    for (let i = 0; i < n; i++) {
      const host = new FakeHost();
      const agent = new Agent({ fleet: f, gw: `gw-${i}`, host, url: broker.url, telemetryIntervalMs: 0 });
      await agent.start();
      agents.push(agent);
      hosts.set(`gw-${i}`, host);
    }
    return hosts;
  };
  try {
    const okFleet = uniqueFleet('roll-ok');
    const abFleet = uniqueFleet('roll-ab');
    const okHosts = await gateways(okFleet, 3);
    const abHosts = await gateways(abFleet, 4);
    abHosts.get('gw-1')!.failNext('deploy', 'FAKE_BROKEN');
    const image = ['--image', COUNTER, '--ram', '64K'];
    const [noName, badRate, noImage, ok, ab] = await Promise.all([
      cli(['fleet', 'rollout', ...base, ...image]),
      cli(['fleet', 'rollout', ...base, '--name', 'app', ...image, '--rate', 'fast']),
      cli(['fleet', 'rollout', ...base, '--name', 'app']),
      cli(['fleet', 'rollout', '--broker', broker.url, '--fleet', okFleet, '--name', 'app', ...image, '--concurrency', '2', '--rate', '50/s']),
      cli(['fleet', 'rollout', '--broker', broker.url, '--fleet', abFleet, '--name', 'app', ...image, '--gateways', 'gw-0,gw-1,gw-2,gw-3', '--abort-after', '1', '--id', 'ab1', '--json']),
    ]);
    for (const [r, re] of [[noName, /missing --name/], [badRate, /--rate expects/], [noImage, /missing --image/]] as const) {
      assert.is(r.code, 2, r.err);
      assert.match(r.err, re);
    }
    assert.is(ok.code, 0, ok.err);
    assert.match(ok.out, /^rollout job-[0-9a-f]+: deploy app: completed in \d+ ms\n  succeeded 3: gw-0, gw-1, gw-2\n  failed    0\n  skipped   0\n$/);
    assert.match(ok.err, /gw-2 ok in \d+ ms \(3\/3\)/);
    for (const host of okHosts.values()) assert.is(host.parts.get('app')?.state, 'running');
    assert.is(ab.code, 1, ab.err);
    const report = JSON.parse(ab.out) as { outcome: string; succeeded: string[]; failed: { gw: string; code: string }[]; skipped: string[] };
    assert.equal([report.outcome, report.succeeded, report.failed.map((x) => [x.gw, x.code]), report.skipped], ['aborted', ['gw-0'], [['gw-1', 'FAKE_BROKEN']], ['gw-2', 'gw-3']]);
    assert.match(ab.err, /gw-1 FAILED .*\[FAKE_BROKEN\]/);
    assert.match(ab.err, /aborting: .*2 gateway\(s\) will not be attempted/);
    assert.is(abHosts.get('gw-2')!.parts.size, 0);
  } finally {
    for (const a of agents) await a.stop();
  }
});
roll.run();

// ---------------------------------------------------------------------------
const e2e = suite('rvisor agent / fleet: a signed fleet from the command line');
let agent: ChildProcess | undefined;
let agentErr = '';
e2e.after(async () => {
  if (agent && agent.exitCode === null) agent.kill('SIGKILL');
  await broker.close();
  rmSync(tmp, { recursive: true, force: true });
});

e2e('keygen, agent with --trusted-key, ls, deploy, logs, pause, snapshot, resume, destroy; unsigned commands exit 1', async () => {
  const keys = join(tmp, 'ops');
  const kg = await cli(['fleet', 'keygen', '--out', keys, '--json']);
  assert.is(kg.code, 0, kg.err);
  assert.ok(existsSync(`${keys}.key`) && readFileSync(`${keys}.pub`).length === 32);
  const signed = [...base, '--key', `${keys}.key`];

  agent = spawn(process.execPath, ['--import=tsx', entry, 'agent', ...base, '--gw', 'gw-1', '--pool', '4M', '--trusted-key', `${keys}.pub`], {
    cwd: join(root, 'packages/fleet'), stdio: ['ignore', 'ignore', 'pipe'],
  });
  agent.stderr!.on('data', (d) => { agentErr += d; });
  await until(() => agentErr.includes('online'), 10_000, `the agent to come online (${agentErr})`);

  const ls = await cli(['fleet', 'ls', ...base, '--json']);
  assert.is(ls.code, 0, ls.err);
  const view = JSON.parse(ls.out) as { gw: string; online: boolean; capabilities: { poolBytes: number } }[];
  assert.is(view.length, 1);
  assert.is(view[0]!.gw, 'gw-1');
  assert.ok(view[0]!.online);
  assert.is(view[0]!.capabilities.poolBytes, 4 << 20);

  const unsigned = await cli(['fleet', 'deploy', ...base, '--gw', 'gw-1', 'c', COUNTER, '--ram', '256K']);
  assert.is(unsigned.code, 1);
  assert.match(unsigned.err, /\[FLEET_UNSIGNED\]$/m);

  let following = false;
  const logs = cli(['fleet', 'logs', ...base, '--gw', 'gw-1', 'c', '--duration', '2000'], { onErr: (t) => { following ||= t.includes('following'); } });
  await until(() => following, 10_000, 'logs to subscribe');
  const dep = await cli(['fleet', 'deploy', ...signed, '--gw', 'gw-1', 'c', COUNTER, '--ram', '256K', '--json']);
  assert.is(dep.code, 0, dep.err);
  assert.is(JSON.parse(dep.out).state, 'running');
  const l = await logs;
  assert.is(l.code, 0, l.err);
  assert.match(l.out, /^tick 0 3c88596c 3c88596c\ntick 1 /);

  const paused = await cli(['fleet', 'pause', ...signed, '--gw', 'gw-1', 'c']);
  assert.is(paused.out, 'gw-1: c paused\n', paused.err);
  const file = join(tmp, 'c.snap');
  const snap = await cli(['fleet', 'snapshot', ...signed, '--gw', 'gw-1', 'c', '-o', file, '--json']);
  assert.is(snap.code, 0, snap.err);
  assert.is(JSON.parse(snap.out).size, readFileSync(file).length);
  // The file is a core snapshot: it restores into another hypervisor and goes on ticking.
  const probe = new HypervisorHost({ poolSize: 1 << 20 });
  let text = '';
  probe.onEvent((e) => { if (e.type === 'console') text += new TextDecoder().decode(e.data); });
  await probe.restore('c', new Uint8Array(readFileSync(file)));
  await probe.resume('c');
  await until(() => /tick \d+/.test(text), 2000, 'the restored counter');
  await probe.close();

  assert.is((await cli(['fleet', 'resume', ...signed, '--gw', 'gw-1', 'c'])).out, 'gw-1: c running\n');
  const missing = await cli(['fleet', 'stop', ...signed, '--gw', 'gw-1', 'nope']);
  assert.is(missing.code, 1);
  assert.match(missing.err, /\[FLEET_NOT_FOUND\]$/m);
  assert.is((await cli(['fleet', 'destroy', ...signed, '--gw', 'gw-1', 'c'])).code, 0);

  const exited = new Promise((r) => agent!.once('exit', r));
  agent.kill('SIGTERM');
  assert.is(await exited, 0, agentErr);
  const after = JSON.parse((await cli(['fleet', 'ls', ...base, '--json'])).out) as { online: boolean }[];
  assert.is(after[0]!.online, false, 'a gracefully stopped agent reports itself offline');
});
e2e.run();
