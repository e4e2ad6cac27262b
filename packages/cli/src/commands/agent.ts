/**
 * `rvisor agent`: this machine as one gateway of a fleet. A Hypervisor runs
 * the partitions; the fleet agent connects it to an MQTT broker, publishes its
 * birth and last will, and executes the controller's commands until SIGINT or
 * SIGTERM, which end it gracefully (state `online: false`, exit 0).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RvisorError } from '@rvisor/core/errors';
import { parseCount, parseSize } from '../numbers.ts';
import { UsageError } from '../usage.ts';

export const AGENT_SUMMARY = 'run this machine as a gateway of an rvisor fleet (MQTT)';

const HELP = `Usage: rvisor agent --broker URL --fleet FLEET --gw NAME [options]

Hosts partitions for a fleet controller: connects to the MQTT broker at URL,
announces gateway NAME in FLEET (retained birth, last will) and executes the
commands sent to it (deploy, start, stop, snapshot, migrate, ...) until
interrupted. Protocol: packages/fleet/PROTOCOL.md.

Options:
  --broker URL            mqtt://host:1883, mqtts://..., ws://...; credentials may be
                          given in the URL (mqtt://user:password@host) or below
  --fleet FLEET           fleet name (letters, digits, _ . : -)
  --gw NAME               this gateway's name, unique in the fleet
  --pool SIZE             memory pool for all partitions, e.g. 64M (default 64M)
  --max-partitions N      partition slots offered to the controller (default 16)
  --trusted-key FILE      run only commands signed by this Ed25519 public key (raw
                          32 bytes or 64 hex digits, as 'rvisor fleet keygen' writes);
                          repeatable
  --username NAME         MQTT username (default: from the URL)
  --password-file FILE    MQTT password, read from FILE (first line)
  --ca FILE               trust this CA certificate (PEM) for an mqtts:// broker
  --cert FILE             client certificate (PEM) for brokers that require one
  --cert-key FILE         its private key (PEM)
  --insecure              do not verify the broker's certificate (testing only)
  --mqtt5                 speak MQTT 5 instead of 3.1.1
  -h, --help              show this help

Exit status: 0 after Ctrl-C / SIGTERM, 1 if the broker cannot be reached or the
agent fails, 2 for usage errors.
`;

const OPTIONS = {
  broker: { type: 'string' },
  fleet: { type: 'string' },
  gw: { type: 'string' },
  pool: { type: 'string' },
  'max-partitions': { type: 'string' },
  'trusted-key': { type: 'string', multiple: true },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  'cert-key': { type: 'string' },
  insecure: { type: 'boolean' },
  mqtt5: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function agentCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw usage(err, 'agent');
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const broker = required(values.broker, '--broker', 'agent');
  const fleet = required(values.fleet, '--fleet', 'agent');
  const gw = required(values.gw, '--gw', 'agent');
  const poolSize = values.pool === undefined ? 64 << 20 : parseSize('--pool', values.pool);
  const maxPartitions = values['max-partitions'] === undefined ? 16 : parseCount('--max-partitions', values['max-partitions']);
  const trustedKeys = (values['trusted-key'] ?? []).map(readPublicKey);
  const password = values['password-file'] === undefined ? undefined : readText(values['password-file'], '--password-file').split('\n')[0]!;
  const tls = tlsFlags(values);

  // Loaded here, not at start-up, so that `--help` and usage errors stay instant.
  const [{ Agent }, { HypervisorHost }] = await Promise.all([import('@rvisor/fleet/agent'), import('@rvisor/fleet/hypervisor-host')]);
  const host = new HypervisorHost({ poolSize, maxPartitions, onError: (e) => warn(`hypervisor: ${(e as Error).message}`) });
  let agent;
  try {
    agent = new Agent({
      fleet, gw, host, url: broker, protocolVersion: values.mqtt5 ? 5 : 4,
      connection: {
        connectTimeout: 10_000,
        ...(values.username !== undefined ? { username: values.username } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(tls ? { tls } : {}),
      },
      ...(trustedKeys.length > 0 ? { trustedKeys } : {}),
      onError: (e) => warn((e as Error).message),
    });
    await withTimeout(agent.start(), 15_000, `cannot reach the broker at ${redact(broker)}`);
  } catch (err) {
    await host.close();
    return fail(err);
  }
  process.stderr.write(`rvisor agent: gateway ${gw} of fleet ${fleet} online at ${redact(broker)} (session ${agent.session}, pool ${poolSize} bytes${trustedKeys.length > 0 ? `, ${trustedKeys.length} trusted key(s)` : ', commands unsigned'})\n`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stderr.write(`rvisor agent: ${signal}: going offline\n`);
  await agent.stop().catch((e) => warn((e as Error).message));
  await host.close();
  return 0;
}

function readPublicKey(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new UsageError(`--trusted-key: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (bytes.length === 32) return bytes;
  const text = new TextDecoder().decode(bytes).trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return Uint8Array.from(text.match(/../g)!.map((h) => parseInt(h, 16)));
  throw new UsageError(`--trusted-key: '${path}' is neither a raw 32-byte Ed25519 public key nor 64 hex digits (${bytes.length} bytes)`);
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

// ---- shared with `rvisor fleet` -------------------------------------------------------------

/** TLS for mqtts:// from --ca / --cert / --cert-key / --insecure (files read before connecting). */
export function tlsFlags(values: { ca?: string; cert?: string; 'cert-key'?: string; insecure?: boolean }): { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean } | undefined {
  if (values['cert-key'] !== undefined && values.cert === undefined) throw new UsageError('--cert-key needs --cert');
  if (values.cert !== undefined && values['cert-key'] === undefined) throw new UsageError('--cert needs --cert-key');
  const t: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean } = {};
  const pem = (path: string, flag: string): string => {
    const text = readText(path, flag);
    if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: '${path}' is not a PEM file`);
    return text;
  };
  if (values.ca !== undefined) t.ca = pem(values.ca, '--ca');
  if (values.cert !== undefined) t.cert = pem(values.cert, '--cert');
  if (values['cert-key'] !== undefined) t.key = pem(values['cert-key'], '--cert-key');
  if (values.insecure) t.rejectUnauthorized = false;
  return Object.keys(t).length > 0 ? t : undefined;
}

export function usage(err: unknown, command: string): UsageError {
  // parseArgs says "Unknown option '--x'. To specify a positional...": keep the first sentence.
  const first = (err as Error).message.split(/\.\s|\n/)[0]!;
  return new UsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)} (see 'rvisor ${command} --help')`);
}

export function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${flag} (see 'rvisor ${command} --help')`);
  return value;
}

/** A runtime failure (not the user's invocation): one line, exit status 1. */
export function fail(err: unknown): number {
  if (err instanceof UsageError) throw err;
  const e = err as Error & { code?: string };
  process.stderr.write(`rvisor: ${e?.message ?? String(err)}${err instanceof RvisorError || typeof e?.code === 'string' ? ` [${e.code}]` : ''}\n`);
  return 1;
}

export function warn(message: string): void {
  process.stderr.write(`rvisor: warning: ${message}\n`);
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${message} (no answer within ${ms} ms)`), { code: 'FLEET_NOT_CONNECTED' })), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
