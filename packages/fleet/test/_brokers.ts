import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/broker.ts';

export interface TestBroker {
  kind: 'mosquitto' | 'aedes';
  url: string;
  /** MQTT versions the broker speaks. */
  versions: (4 | 5)[];
  close(): Promise<void>;
  /** Mosquitto only: stop it (SIGTERM, which saves the persistence file) and start it again on the same port and store. */
  restart?(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/**
 * A private Mosquitto on a free loopback port with persistence in a temp dir.
 * Missing mosquitto is an error, not a skip: the suite promises to run against a real broker.
 */
export async function startMosquitto(options: { extraConfig?: string[]; files?: Record<string, string> } = {}): Promise<TestBroker> {
  const which = spawnSync('sh', ['-c', 'command -v mosquitto || ls /usr/sbin/mosquitto'], { encoding: 'utf8' });
  const bin = which.stdout.trim().split('\n')[0];
  if (which.status !== 0 || !bin) {
    throw new Error('mosquitto is not installed (apt-get install mosquitto): the fleet suite needs a real broker and does not skip');
  }
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-mosq-'));
  const port = await freePort();
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text.replaceAll('${DIR}', dir));
  const allowAnonymous = (options.extraConfig ?? []).some((l) => l.startsWith('allow_anonymous')) ? [] : ['allow_anonymous true'];
  writeFileSync(join(dir, 'm.conf'), [
    `listener ${port} 127.0.0.1`, ...allowAnonymous, 'set_tcp_nodelay true', 'user root', 'persistence true', `persistence_location ${dir}/`, 'log_dest none',
    ...(options.extraConfig ?? []).map((l) => l.replaceAll('${DIR}', dir)), '',
  ].join('\n'));
  let child!: ChildProcess;
  let stderr = '';
  const kill = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const launch = async (): Promise<void> => {
    child = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => { stderr += d; });
    const t0 = Date.now();
    while (!(await canConnect(port))) {
      if (child.exitCode !== null || Date.now() - t0 > 5000) {
        kill();
        throw new Error(`mosquitto did not start on port ${port}: ${stderr.trim() || `exit ${child.exitCode}`}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const terminate = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await done;
  };
  process.on('exit', kill);
  await launch();
  return {
    kind: 'mosquitto', url: `mqtt://127.0.0.1:${port}`, versions: [4, 5],
    close: async () => {
      process.off('exit', kill);
      await terminate();
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await terminate();
      await launch();
    },
  };
}

export async function startAedes(): Promise<TestBroker> {
  const b = await startBroker();
  return { kind: 'aedes', url: b.url, versions: [4], close: () => b.close() };
}

export function startTestBroker(kind: 'mosquitto' | 'aedes'): Promise<TestBroker> {
  return kind === 'mosquitto' ? startMosquitto() : startAedes();
}

let n = 0;
/** A fleet name no other test uses, so retained states never leak between tests. */
export function uniqueFleet(tag: string): string {
  return `${tag}-${process.pid}-${++n}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until true (throws after `timeoutMs`). */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
