/**
 * `rvisor fleet`: operate a fleet from the command line. Each invocation is a
 * short-lived controller: it connects, learns the gateways from their retained
 * states, sends one command (signed with --key when given), prints the result
 * and leaves. Results go to stdout (a table, or one JSON document with --json);
 * diagnostics to stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Controller, GatewayView, RolloutAction, RolloutReport, RolloutSpec, TlsOptions } from '@rvisor/fleet/controller';
import { parseCount, parseSize } from '../numbers.ts';
import { UsageError } from '../usage.ts';
import { fail, redact, required, usage, withTimeout } from './agent.ts';

export const FLEET_SUMMARY = 'list and control the gateways and partitions of a fleet';

const HELP = `Usage: rvisor fleet <subcommand> --broker URL --fleet FLEET [options]

Subcommands:
  ls                                   gateways, their state and partitions
  deploy --gw GW NAME IMAGE            create partition NAME from IMAGE on GW and start it
         [--ram SIZE] [--profile app|machine] [--isa rv32imac|rv32ima] [--no-start]
  start|stop|pause|resume --gw GW NAME lifecycle of one partition
  destroy --gw GW NAME                 remove a partition and free its memory
  migrate NAME --from GW --to GW       live migration (paused, moved, resumed there)
  snapshot --gw GW NAME -o FILE        save a partition's snapshot (a running one is
                                       paused around it)
  logs --gw GW NAME [--duration MS]    stream a partition's console until Ctrl-C
  rollout --name NAME --image FILE     deploy (or --action update|start|stop|pause|resume|
                                       destroy) NAME on many gateways: progress on stderr,
                                       summary on stdout; see 'Rollout options'
  keygen --out PREFIX                  new Ed25519 key pair: PREFIX.key (private, PKCS#8)
                                       and PREFIX.pub (for 'rvisor agent --trusted-key')

Options:
  --broker URL           mqtt://[user:password@]host:port (also mqtts://, ws://)
  --fleet FLEET          fleet name
  --key FILE             sign commands with this private key (PREFIX.key)
  --ca FILE              trust this CA certificate (PEM) for an mqtts:// broker
  --cert FILE            client certificate (PEM) for brokers that require one
  --cert-key FILE        its private key (PEM); --key is the command signing key
  --insecure             do not verify the broker's certificate (testing only)
  --timeout MS           per-command deadline (default 10000)
  --wait MS              how long 'ls' and 'rollout' listen for gateways (default 500)
  --json                 print the result as one JSON document
  -h, --help             show this help

Rollout options:
  --action ACTION        deploy (default), update (destroy + deploy), start, stop,
                         pause, resume, destroy
  --gateways A,B,C       these gateways, in this order (default: every gateway online
                         after --wait, by name)
  --rate N[/s]           start at most N gateways per second (default: no limit)
  --concurrency N        at most N gateways in flight (default 1)
  --abort-after N|P%     stop sending after N failed gateways, or once more than P%
                         of the settled ones failed
  --id JOB               job id (default random): re-running a job id applies nothing
                         twice and attempts only what it skipped
  --ram SIZE --profile --isa --no-start   as for deploy

Exit status: 0 on success, 1 when the fleet refuses or does not answer (the
error code, e.g. [FLEET_NOT_FOUND], ends the message) or a rollout aborted or
had a failed gateway, 2 for usage errors.
`;

const OPTIONS = {
  broker: { type: 'string' },
  fleet: { type: 'string' },
  gw: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  ram: { type: 'string' },
  profile: { type: 'string' },
  isa: { type: 'string' },
  'no-start': { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  duration: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  'cert-key': { type: 'string' },
  insecure: { type: 'boolean' },
  name: { type: 'string' },
  image: { type: 'string' },
  action: { type: 'string' },
  gateways: { type: 'string' },
  rate: { type: 'string' },
  concurrency: { type: 'string' },
  'abort-after': { type: 'string' },
  id: { type: 'string' },
  timeout: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];
const SUBCOMMANDS = ['ls', 'deploy', 'start', 'stop', 'pause', 'resume', 'destroy', 'migrate', 'snapshot', 'logs', 'rollout', 'keygen'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw usage(err, 'fleet');
  }
}

export async function fleetCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [subName, ...args] = positionals;
  if (subName === undefined) throw new UsageError("missing subcommand (see 'rvisor fleet --help')");
  if (!(SUBCOMMANDS as readonly string[]).includes(subName)) throw new UsageError(`unknown subcommand '${subName}' (see 'rvisor fleet --help')`);
  const sub = subName as Sub;
  if (sub === 'keygen') return keygen(values, args);

  // Everything the invocation can get wrong is checked before connecting.
  const plan = check(sub, values, args);
  const broker = required(values.broker, '--broker', 'fleet');
  const fleet = required(values.fleet, '--fleet', 'fleet');
  const timeoutMs = values.timeout === undefined ? 10_000 : parseCount('--timeout', values.timeout);
  const tls = tlsOptions(values);

  const { Controller } = await import('@rvisor/fleet/controller');
  const { importSigner, keyIdOf } = await import('@rvisor/fleet/protocol');
  let ctl: Controller | undefined;
  try {
    const signer = values.key === undefined ? undefined : await loadSigner(values.key, importSigner, keyIdOf);
    ctl = new Controller({ fleet, url: broker, commandTimeoutMs: timeoutMs, failover: false, ...(signer ? { signer } : {}), connection: { connectTimeout: 10_000, reconnectPeriod: 0, ...(tls ? { tls } : {}) } });
    await withTimeout(ctl.start(), 15_000, `cannot reach the broker at ${redact(broker)}`);
    return await plan(ctl, values);
  } catch (err) {
    return fail(err);
  } finally {
    await ctl?.stop().catch(() => {});
  }
}

type Plan = (ctl: Controller, values: Values) => Promise<number>;

function check(sub: Exclude<Sub, 'keygen'>, values: Values, args: string[]): Plan {
  const arity = (n: number, what: string): void => {
    if (args.length !== n) throw new UsageError(`'rvisor fleet ${sub}' expects ${what}, got ${args.length} argument(s) (see 'rvisor fleet --help')`);
  };
  const gw = (): string => required(values.gw, '--gw', 'fleet');
  const json = values.json === true;
  switch (sub) {
    case 'ls':
      arity(0, 'no arguments');
      return async (ctl) => {
        await settle(ctl, values.wait === undefined ? 500 : parseCount('--wait', values.wait));
        const gws = ctl.gateways().sort((a, b) => a.gw.localeCompare(b.gw));
        process.stdout.write(json ? `${JSON.stringify(gws.map(viewJson), null, 2)}\n` : lsTable(gws));
        return 0;
      };
    case 'deploy': {
      arity(2, 'NAME IMAGE');
      const target = gw();
      const [name, path] = args as [string, string];
      const image = readBinary(path);
      const ramSize = values.ram === undefined ? 1 << 20 : parseSize('--ram', values.ram);
      const profile = oneOf('--profile', values.profile ?? 'app', ['app', 'machine'] as const);
      const isa = oneOf('--isa', values.isa ?? 'rv32imac', ['rv32imac', 'rv32ima'] as const);
      return async (ctl) => {
        await ctl.whenOnline(target, 3000).catch(() => { throw offline(target); });
        const ref = await ctl.stageBlob(target, image);
        const r = await ctl.send(target, 'deploy', {
          name, ...(ref.doc ? { image: ref.doc } : { transfer: ref.transfer! }), digest: ref.digest, profile, isa, ramSize, start: values['no-start'] !== true,
        });
        print(json, r.partition, `${target}: ${name} ${r.partition.state} (${r.partition.ramSize} bytes, image ${r.partition.image.slice(0, 12)})\n`);
        return 0;
      };
    }
    case 'start':
    case 'stop':
    case 'pause':
    case 'resume':
    case 'destroy': {
      arity(1, 'NAME');
      const target = gw();
      const name = args[0]!;
      return async (ctl) => {
        await ctl.whenOnline(target, 3000).catch(() => { throw offline(target); });
        if (sub === 'destroy') {
          await ctl.send(target, 'destroy', { name });
          print(json, { name, destroyed: true }, `${target}: ${name} destroyed\n`);
        } else {
          const r = await ctl.send(target, sub, { name });
          print(json, r.partition, `${target}: ${name} ${r.partition.state}\n`);
        }
        return 0;
      };
    }
    case 'migrate': {
      arity(1, 'NAME');
      const from = required(values.from, '--from', 'fleet');
      const to = required(values.to, '--to', 'fleet');
      const name = args[0]!;
      return async (ctl) => {
        await ctl.whenOnline(from, 3000).catch(() => { throw offline(from); });
        await ctl.whenOnline(to, 3000).catch(() => { throw offline(to); });
        const t0 = performance.now();
        await ctl.migrate(name, from, to);
        const ms = Math.round(performance.now() - t0);
        print(json, { name, from, to, ms }, `${name}: ${from} -> ${to} in ${ms} ms\n`);
        return 0;
      };
    }
    case 'snapshot': {
      arity(1, 'NAME');
      const target = gw();
      const out = required(values.out, '--out', 'fleet');
      const name = args[0]!;
      return async (ctl) => {
        await ctl.whenOnline(target, 3000).catch(() => { throw offline(target); });
        const blob = await ctl.send(target, 'snapshot', { name });
        const doc = await ctl.fetchBlob(target, blob);
        writeFileSync(out, doc);
        print(json, { name, gw: target, file: out, size: doc.length, digest: blob.digest }, `${target}: ${name} -> ${out} (${doc.length} bytes, sha256 ${blob.digest})\n`);
        return 0;
      };
    }
    case 'rollout':
      arity(0, 'no arguments (NAME and IMAGE are --name and --image)');
      return rolloutPlan(values);
    case 'logs': {
      arity(1, 'NAME');
      const target = gw();
      const name = args[0]!;
      const duration = values.duration === undefined ? Infinity : parseCount('--duration', values.duration);
      return async (ctl) => {
        ctl.on((e) => {
          if (e.type !== 'console' || e.partition !== name || e.gw !== target) return;
          if (process.stdout.destroyed) return;
          if (json) process.stdout.write(`${JSON.stringify({ gw: e.gw, partition: e.partition, text: new TextDecoder().decode(e.data), dropped: e.dropped })}\n`);
          else process.stdout.write(e.data);
          if (e.dropped > 0) process.stderr.write(`rvisor: ${e.dropped} console bytes of ${name} dropped by the agent's rate limit\n`);
        });
        await ctl.watchConsoles(target);
        process.stderr.write(`rvisor: following the console of ${name} on ${target}${Number.isFinite(duration) ? ` for ${duration} ms` : ' (Ctrl-C ends)'}\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          // `rvisor fleet logs ... | head`: the reader has seen enough; end quietly.
          process.stdout.on('error', () => resolve());
          if (Number.isFinite(duration)) setTimeout(resolve, duration);
        });
        return 0;
      };
    }
  }
}

const ACTIONS = ['deploy', 'update', 'start', 'stop', 'pause', 'resume', 'destroy'] as const;

function rolloutPlan(values: Values): Plan {
  const action: RolloutAction = oneOf('--action', values.action ?? 'deploy', ACTIONS);
  const name = required(values.name, '--name', 'fleet');
  const withImage = action === 'deploy' || action === 'update';
  const spec: Omit<RolloutSpec, 'gateways'> & { gateways?: RolloutSpec['gateways'] } = { action, name };
  if (withImage) {
    spec.image = readBinary(required(values.image, '--image', 'fleet'));
    spec.ramSize = values.ram === undefined ? 1 << 20 : parseSize('--ram', values.ram);
    spec.profile = oneOf('--profile', values.profile ?? 'app', ['app', 'machine'] as const);
    spec.isa = oneOf('--isa', values.isa ?? 'rv32imac', ['rv32imac', 'rv32ima'] as const);
    if (action === 'deploy') spec.start = values['no-start'] !== true;
  } else if (values.image !== undefined) {
    throw new UsageError(`--image is only for --action deploy or update, not ${action}`);
  }
  if (values.id !== undefined) spec.id = values.id;
  if (values.timeout !== undefined) spec.timeoutMs = parseCount('--timeout', values.timeout);
  const rate: NonNullable<RolloutSpec['rate']> = {};
  if (values.rate !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(values.rate.trim());
    if (!m || !(Number(m[1]) > 0)) throw new UsageError(`--rate expects commands per second such as 5 or 5/s, got '${values.rate}'`);
    rate.perSecond = Number(m[1]);
  }
  if (values.concurrency !== undefined) rate.concurrency = parseCount('--concurrency', values.concurrency);
  spec.rate = rate;
  const abort = values['abort-after'];
  if (abort !== undefined) {
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(abort.trim());
    if (pct) {
      const ratio = Number(pct[1]) / 100;
      if (!(ratio < 1)) throw new UsageError(`--abort-after percentage must be below 100%, got '${abort}'`);
      spec.abortAfter = { failureRatio: ratio };
    } else {
      spec.abortAfter = { failures: parseCount('--abort-after', abort) };
    }
  }
  const list = values.gateways?.split(',').map((g) => g.trim()).filter(Boolean);
  if (list !== undefined && list.length === 0) throw new UsageError('--gateways names no gateway');
  const json = values.json === true;
  return async (ctl) => {
    await settle(ctl, values.wait === undefined ? 500 : parseCount('--wait', values.wait));
    if (list === undefined && !ctl.gateways().some((g) => g.online)) {
      throw Object.assign(new Error(`no gateway of fleet ${ctl.fleet} is online; nothing to roll out`), { code: 'FLEET_NO_GATEWAY' });
    }
    const job = ctl.rollout({ ...spec, gateways: list ?? 'all' });
    const total = job.status().pending.length;
    const say = (line: string): void => { process.stderr.write(`rvisor: rollout ${job.id}: ${line}\n`); };
    say(`${action} ${name} on ${total} gateway(s)`);
    let settled = 0;
    job.on((e) => {
      if (e.type === 'started') say(`${e.gw} started`);
      else if (e.type === 'succeeded') say(`${e.gw} ok in ${e.ms} ms (${++settled}/${total})`);
      else if (e.type === 'failed') say(`${e.gw} FAILED in ${e.ms} ms: ${e.message} [${e.code}] (${++settled}/${total})`);
      else if (e.type === 'aborted') say(`aborting: ${e.reason}; ${e.skipped.length} gateway(s) will not be attempted`);
    });
    const stop = (): void => job.abort('interrupted (SIGINT)');
    process.once('SIGINT', stop);
    const report = await job.result.finally(() => process.off('SIGINT', stop));
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : rolloutSummary(report));
    return report.outcome === 'completed' && report.failed.length === 0 ? 0 : 1;
  };
}

function rolloutSummary(r: RolloutReport): string {
  const lines = [
    `rollout ${r.id}: ${r.action} ${r.name}: ${r.outcome}${r.abortReason ? ` (${r.abortReason})` : ''} in ${r.finishedAt - r.startedAt} ms`,
    `  succeeded ${r.succeeded.length}${r.succeeded.length > 0 ? `: ${r.succeeded.join(', ')}` : ''}`,
    `  failed    ${r.failed.length}${r.failed.map((f) => `\n    ${f.gw}: ${f.message} [${f.code}]`).join('')}`,
    `  skipped   ${r.skipped.length}${r.skipped.length > 0 ? `: ${r.skipped.join(', ')}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** TLS for mqtts:// from --ca / --cert / --cert-key / --insecure (files read before connecting). */
function tlsOptions(values: Values): TlsOptions | undefined {
  if (values['cert-key'] !== undefined && values.cert === undefined) throw new UsageError('--cert-key needs --cert');
  if (values.cert !== undefined && values['cert-key'] === undefined) throw new UsageError('--cert needs --cert-key');
  const t: TlsOptions = {};
  if (values.ca !== undefined) t.ca = readPem(values.ca, '--ca');
  if (values.cert !== undefined) t.cert = readPem(values.cert, '--cert');
  if (values['cert-key'] !== undefined) t.key = readPem(values['cert-key'], '--cert-key');
  if (values.insecure) t.rejectUnauthorized = false;
  return Object.keys(t).length > 0 ? t : undefined;
}

function readPem(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: '${path}' is not a PEM file`);
  return text;
}

/** Waits until no new gateway state has arrived for a while (retained states come in a burst after subscribing). */
async function settle(ctl: Controller, ms: number): Promise<void> {
  let last = performance.now();
  const off = ctl.on((e) => { if (e.type === 'state' || e.type === 'online') last = performance.now(); });
  const end = performance.now() + ms;
  while (performance.now() < end && performance.now() - last < Math.min(ms, 150) + 50) await new Promise((r) => setTimeout(r, 25));
  if (performance.now() < end) await new Promise((r) => setTimeout(r, Math.min(50, end - performance.now())));
  off();
}

function lsTable(gws: GatewayView[]): string {
  if (gws.length === 0) return 'no gateways\n';
  const rows = [['GATEWAY', 'STATUS', 'POOL FREE', 'PARTITION', 'STATE', 'RAM', 'INSTRUCTIONS']];
  for (const g of gws) {
    const head = [g.gw, g.online ? 'online' : 'offline', g.capabilities ? `${g.capabilities.poolFreeBytes}/${g.capabilities.poolBytes}` : '-'];
    const parts = g.online ? g.partitions : [];
    if (parts.length === 0) rows.push([...head, '-', '', '', '']);
    parts.forEach((p, i) => rows.push([...(i === 0 ? head : ['', '', '']), p.name, p.fault ? `${p.state} (${p.fault})` : p.state, String(p.ramSize), String(p.instructions)]));
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return `${rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n')}\n`;
}

function viewJson(g: GatewayView): object {
  return { gw: g.gw, online: g.online, session: g.session, capabilities: g.capabilities ?? null, partitions: g.online ? g.partitions : [] };
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : text);
}

function offline(gw: string): Error {
  return Object.assign(new Error(`gateway ${gw} is not online in this fleet`), { code: 'FLEET_OFFLINE' });
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

function readBinary(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new UsageError(`cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

type ImportSigner = typeof import('@rvisor/fleet/protocol')['importSigner'];
type KeyIdOf = typeof import('@rvisor/fleet/protocol')['keyIdOf'];

/** The PKCS#8 file keygen wrote; its public half (for the key id) comes from the JWK export. */
async function loadSigner(path: string, importSigner: ImportSigner, keyIdOf: KeyIdOf) {
  const pkcs8 = readBinary(path);
  let pub: Uint8Array;
  try {
    const key = await crypto.subtle.importKey('pkcs8', pkcs8 as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', key);
    pub = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  } catch {
    throw new UsageError(`--key: '${path}' is not an Ed25519 private key in PKCS#8 (as 'rvisor fleet keygen' writes)`);
  }
  return importSigner(pkcs8, await keyIdOf(pub));
}

async function keygen(values: Values, args: string[]): Promise<number> {
  if (args.length !== 0) throw new UsageError("'rvisor fleet keygen' takes no arguments (see 'rvisor fleet --help')");
  const prefix = required(values.out, '--out', 'fleet');
  const { generateKeyPair } = await import('@rvisor/fleet/protocol');
  const kp = await generateKeyPair();
  try {
    writeFileSync(`${prefix}.key`, kp.privateKey, { mode: 0o600 });
    writeFileSync(`${prefix}.pub`, kp.publicKey);
  } catch (err) {
    return fail(err);
  }
  print(values.json === true, { keyId: kp.keyId, private: `${prefix}.key`, public: `${prefix}.pub` }, `key ${kp.keyId}: ${prefix}.key (private), ${prefix}.pub (public)\n`);
  return 0;
}
