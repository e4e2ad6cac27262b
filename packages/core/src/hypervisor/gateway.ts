/**
 * A gateway described as data (the JSON of `rvisor up GATEWAY.json`):
 * pool, partitions, shared windows, channels, schedules, health policy.
 * `parseGatewayConfig` checks a parsed JSON value field by field and names
 * the path of the first bad one (`partitions[1].ram: "12X" is not a size`);
 * `createGateway` builds the Hypervisor from it. Images are references
 * (file names) resolved by the caller, so this module stays runtime-free.
 */
import { ConfigError, RvisorError } from '../errors.ts';
import type { HealthPolicy } from '../partition/health.ts';
import type { ChannelConfig } from '../partition/channel.ts';
import type { ScheduleConfig, TimeBase } from '../schedule/frame.ts';
import { Hypervisor } from './hypervisor.ts';
import type { HypervisorOptions } from './hypervisor.ts';

/** One partition of a gateway file, with defaults filled in by {@link parseGatewayConfig}. */
export interface GatewayPartition {
  /** Unique partition name. */
  name: string;
  /** Image reference, resolved by the caller (e.g. a path relative to the file). */
  image: string;
  /** Machine profile of the VM. */
  profile: 'app' | 'machine';
  /** Instruction set of the hart. */
  isa: 'rv32imac' | 'rv32ima';
  /** RAM in bytes. */
  ramSize: number;
  /** App profile: argument strings for the initial stack. */
  argv?: string[];
  /** App profile: environment strings for the initial stack. */
  env?: string[];
  /** Start with the gateway (default true). */
  autostart: boolean;
  /** Overrides of the gateway's health policy for this partition. */
  health?: HealthPolicy;
}

/** One shared memory window of a gateway file and the partitions granted access to it. */
export interface GatewayWindow {
  /** Unique window name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Default guest address for grants that give none. */
  address: number;
  /** Partitions that map the window, their access and optional own address. */
  grants: { partition: string; access: 'ro' | 'rw'; address?: number }[];
}

/**
 * A whole gateway as data (the validated form of a gateway JSON file), turned into a running {@link Hypervisor} by
 * {@link createGateway}.
 */
export interface GatewayConfig {
  /** Bytes of the memory pool. */
  poolSize: number;
  /** Time base of every schedule. */
  timeBase: TimeBase;
  /** Console bytes a partition may write per major frame; see {@link HypervisorOptions.consoleLimit}. */
  consoleLimit?: number;
  /** Major frames between in-memory checkpoints; see {@link HypervisorOptions.checkpointEvery}. */
  checkpointEvery?: number;
  /** Default health policy for every partition. */
  health?: HealthPolicy;
  /** The partitions, created in this order. */
  partitions: GatewayPartition[];
  /** The shared windows. */
  windows: GatewayWindow[];
  /** The channels; `id` fixes the number guests use for it. */
  channels: (ChannelConfig & { id?: number })[];
  /** The schedules (their time base is the gateway's). */
  schedules: Omit<ScheduleConfig, 'timeBase'>[];
  /** Name of the schedule to start with. Default: the first. */
  initialSchedule?: string;
}

const SIZE = /^(\d+)\s*([KMG]i?B?)?$/i;
const UNITS: Record<string, number> = { K: 1 << 10, M: 1 << 20, G: 1 << 30 };

/** `4096`, `"64K"`, `"16M"`, `"1G"` (binary units). */
export function parseSize(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? SIZE.exec(v.trim()) : null;
  if (m === null) throw bad(path, `${JSON.stringify(v)} is not a size (e.g. 4096, "64K", "16M")`);
  const n = Number(m[1]) * (m[2] ? UNITS[m[2][0]!.toUpperCase()]! : 1);
  if (!Number.isSafeInteger(n) || n <= 0) throw bad(path, `${JSON.stringify(v)} is not a positive size`);
  return n;
}

/** A 32-bit address as a number or a "0x..." string. */
function parseAddress(v: unknown, path: string): number {
  const n = typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw bad(path, `${JSON.stringify(v)} is not a 32-bit address (a number or "0x...")`);
  }
  return n;
}

function bad(path: string, what: string): ConfigError {
  return new ConfigError('GATEWAY_FIELD', `${path}: ${what}`);
}

type Obj = Record<string, unknown>;

function object(v: unknown, path: string, allowed: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(path, 'must be an object');
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw bad(`${path}.${k}`, `unknown field (expected one of ${allowed.join(', ')})`);
  return v as Obj;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw bad(path, 'must be an array');
  return v;
}

function string(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw bad(path, 'must be a non-empty string');
  return v;
}

function strings(v: unknown, path: string): string[] {
  return array(v, path).map((s, i) => {
    if (typeof s !== 'string') throw bad(`${path}[${i}]`, 'must be a string');
    return s;
  });
}

function integer(v: unknown, path: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(path, `must be an integer >= ${min}`);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!values.includes(v as T)) throw bad(path, `${JSON.stringify(v)} is not one of ${values.map((x) => `"${x}"`).join(', ')}`);
  return v as T;
}

/** Validate a parsed gateway file. Schedules and channels are checked again, semantically, when built. */
export function parseGatewayConfig(value: unknown, where = 'gateway'): GatewayConfig {
  const g = object(value, where, ['$schema', 'pool', 'timeBase', 'consoleLimit', 'checkpointEvery', 'health', 'partitions', 'windows', 'channels', 'schedules', 'initialSchedule']);
  const timeBase = oneOf(g.timeBase, `${where}.timeBase`, ['instructions', 'microseconds'] as const, 'instructions');
  const partitions = array(g.partitions, `${where}.partitions`).map((v, i): GatewayPartition => {
    const path = `${where}.partitions[${i}]`;
    const p = object(v, path, ['name', 'image', 'profile', 'isa', 'ram', 'argv', 'env', 'autostart', 'health']);
    return {
      name: string(p.name, `${path}.name`),
      image: string(p.image, `${path}.image`),
      profile: oneOf(p.profile, `${path}.profile`, ['app', 'machine'] as const, 'app'),
      isa: oneOf(p.isa, `${path}.isa`, ['rv32imac', 'rv32ima'] as const, 'rv32imac'),
      ramSize: p.ram === undefined ? 1 << 20 : parseSize(p.ram, `${path}.ram`),
      argv: p.argv === undefined ? undefined : strings(p.argv, `${path}.argv`),
      env: p.env === undefined ? undefined : strings(p.env, `${path}.env`),
      autostart: p.autostart === undefined ? true : p.autostart === true ? true : p.autostart === false ? false : (() => { throw bad(`${path}.autostart`, 'must be true or false'); })(),
      health: p.health === undefined ? undefined : (object(p.health, `${path}.health`, ['table', 'restartLimit']) as HealthPolicy),
    };
  });
  if (partitions.length === 0) throw bad(`${where}.partitions`, 'must list at least one partition');
  const windows = (g.windows === undefined ? [] : array(g.windows, `${where}.windows`)).map((v, i): GatewayWindow => {
    const path = `${where}.windows[${i}]`;
    const w = object(v, path, ['name', 'size', 'address', 'grants']);
    return {
      name: string(w.name, `${path}.name`),
      size: parseSize(w.size, `${path}.size`),
      address: parseAddress(w.address, `${path}.address`),
      grants: array(w.grants, `${path}.grants`).map((gv, j) => {
        const gp = `${path}.grants[${j}]`;
        const gr = object(gv, gp, ['partition', 'access', 'address']);
        return {
          partition: string(gr.partition, `${gp}.partition`),
          access: oneOf(gr.access, `${gp}.access`, ['ro', 'rw'] as const, 'ro'),
          address: gr.address === undefined ? undefined : parseAddress(gr.address, `${gp}.address`),
        };
      }),
    };
  });
  const channels = (g.channels === undefined ? [] : array(g.channels, `${where}.channels`)).map((v, i) => {
    const path = `${where}.channels[${i}]`;
    const c = object(v, path, ['name', 'id', 'kind', 'senders', 'receivers', 'maxMessageSize', 'depth', 'overflow', 'refreshPeriod']);
    const kind = oneOf(c.kind, `${path}.kind`, ['queuing', 'sampling'] as const, 'queuing');
    const out: ChannelConfig & { id?: number } = {
      name: string(c.name, `${path}.name`),
      kind,
      senders: strings(c.senders, `${path}.senders`),
      receivers: strings(c.receivers, `${path}.receivers`),
      maxMessageSize: c.maxMessageSize === undefined ? 256 : parseSize(c.maxMessageSize, `${path}.maxMessageSize`),
    };
    if (c.id !== undefined) out.id = integer(c.id, `${path}.id`);
    if (kind === 'queuing') {
      out.depth = c.depth === undefined ? 16 : integer(c.depth, `${path}.depth`, 1);
      out.overflow = oneOf(c.overflow, `${path}.overflow`, ['reject', 'drop-oldest'] as const, 'reject');
    } else if (c.refreshPeriod !== undefined) {
      out.refreshPeriod = integer(c.refreshPeriod, `${path}.refreshPeriod`, 1);
    }
    return out;
  });
  const schedules = array(g.schedules, `${where}.schedules`).map((v, i) => {
    const path = `${where}.schedules[${i}]`;
    const s = object(v, path, ['name', 'majorFrame', 'windows']);
    return {
      name: string(s.name, `${path}.name`),
      majorFrame: integer(s.majorFrame, `${path}.majorFrame`, 1),
      windows: array(s.windows, `${path}.windows`).map((wv, j) => {
        const wp = `${path}.windows[${j}]`;
        const w = object(wv, wp, ['partition', 'offset', 'duration']);
        return {
          partition: w.partition === null ? null : string(w.partition, `${wp}.partition`),
          offset: integer(w.offset, `${wp}.offset`),
          duration: integer(w.duration, `${wp}.duration`, 1),
        };
      }),
    };
  });
  if (schedules.length === 0) throw bad(`${where}.schedules`, 'must define at least one schedule');
  return {
    poolSize: parseSize(g.pool ?? '64M', `${where}.pool`),
    timeBase,
    consoleLimit: g.consoleLimit === undefined ? undefined : parseSize(g.consoleLimit, `${where}.consoleLimit`),
    checkpointEvery: g.checkpointEvery === undefined ? undefined : integer(g.checkpointEvery, `${where}.checkpointEvery`),
    health: g.health === undefined ? undefined : (object(g.health, `${where}.health`, ['table', 'restartLimit']) as HealthPolicy),
    partitions,
    windows,
    channels,
    schedules,
    initialSchedule: g.initialSchedule === undefined ? undefined : string(g.initialSchedule, `${where}.initialSchedule`),
  };
}

/**
 * Build the gateway: partitions (with their windows), channels, schedules,
 * then start the autostart partitions. Errors name the config path; on any
 * error nothing is left running (the half-built hypervisor is dropped).
 */
export function createGateway(
  config: GatewayConfig,
  loadImage: (ref: string, path: string) => Uint8Array,
  options: Partial<Pick<HypervisorOptions, 'clock' | 'jitterLimit'>> = {},
): Hypervisor {
  const hv = new Hypervisor({
    poolSize: config.poolSize,
    timeBase: config.timeBase,
    consoleLimit: config.consoleLimit,
    checkpointEvery: config.checkpointEvery,
    health: config.health,
    ...options,
  });
  const at = <T>(path: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      // Same error class and code, with the config path in front of the message.
      if (e instanceof RvisorError && !e.message.startsWith('gateway.')) {
        const Kind = e.constructor as new (code: string, message: string, options?: { cause?: unknown }) => RvisorError;
        throw new Kind(e.code, `${path}: ${e.message}`, { cause: e });
      }
      throw e;
    }
  };
  config.partitions.forEach((p, i) => {
    const path = `gateway.partitions[${i}]`;
    const image = at(`${path}.image`, () => loadImage(p.image, `${path}.image`));
    // A window is admitted with its first grantee; later grantees join it.
    const windows = config.windows.filter((w) => w.grants.some((g) => g.partition === p.name));
    const fresh = windows.filter((w) => hvHasNoWindow(hv, w.name));
    const grants = windows
      .filter((w) => !fresh.includes(w))
      .flatMap((w) => w.grants.filter((g) => g.partition === p.name).map((g) => ({ window: w.name, ...g })));
    at(path, () =>
      hv.createPartition(
        { name: p.name, image, profile: p.profile, isa: p.isa, ramSize: p.ramSize, argv: p.argv, env: p.env, health: p.health },
        {
          windows: fresh.map((w) => ({ name: w.name, size: w.size, address: w.address, grants: w.grants.filter((g) => g.partition === p.name) })),
          grants,
        },
      ),
    );
  });
  config.windows.forEach((w, i) => {
    if (hvHasNoWindow(hv, w.name)) at(`gateway.windows[${i}]`, () => hv.addWindow(w));
    const unknown = w.grants.find((g) => hv.partition(g.partition) === undefined);
    if (unknown !== undefined) throw new ConfigError('GATEWAY_FIELD', `gateway.windows[${i}].grants: unknown partition ${unknown.partition}`);
  });
  config.channels.forEach((c, i) => at(`gateway.channels[${i}]`, () => hv.addChannel(c)));
  at('gateway.schedules', () => hv.setSchedules(config.schedules, config.initialSchedule));
  for (const p of config.partitions) if (p.autostart) hv.start(p.name);
  return hv;
}

function hvHasNoWindow(hv: Hypervisor, name: string): boolean {
  return hv.partitioner.window(name) === undefined;
}
