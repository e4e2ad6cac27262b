/**
 * Snapshot, restore and clone of partitions, and of a whole gateway.
 *
 * A partition snapshot holds everything needed to continue it elsewhere:
 * its configuration (with the image, so a restored partition can still be
 * restarted cold), lifecycle state and start condition, counters, the VM's
 * complete state (hart, CSRs, devices, profile runtime), its RAM (zero pages
 * elided), the messages queued for it, and the hypervisor timeline when it
 * was taken. Restore lands paused and shifts the partition's clock by the
 * difference between the two timelines (rounded down to whole mtime ticks),
 * so its virtual time runs on without a jump; when the difference is a
 * multiple of 10 instructions the continuation is bit-exact.
 *
 * A gateway snapshot adds the timeline, schedules and their position,
 * channels and shared windows, and restores onto a fresh Hypervisor as an
 * exact continuation.
 */
import { SnapshotError } from '../errors.ts';
import { HOST } from '../partition/channel.ts';
import type { ChannelConfig } from '../partition/channel.ts';
import type { HealthPolicy } from '../partition/health.ts';
import type { PartitionState } from '../partition/lifecycle.ts';
import type { ScheduleConfig } from '../schedule/frame.ts';
import type { SchedulePosition } from '../schedule/set.ts';
import { decodeDocument, encodeDocument } from '../snapshot/codec.ts';
import { checkRam, decodeRam, encodeRam } from '../snapshot/ram.ts';
import type { RamImage } from '../snapshot/ram.ts';
import type { VmState } from '../vm/state.ts';
import { checkVmState } from '../vm/state.ts';
import type { Hypervisor } from './hypervisor.ts';
import type { Partition, PartitionConfig, PartitionStats } from './partition.ts';

/** What a partition snapshot body holds (CBOR inside the checksummed envelope). */
export interface PartitionSnapshot {
  kind: 'partition';
  name: string;
  config: Omit<PartitionConfig, 'health'>;
  state: PartitionState;
  startCondition: number;
  stats: PartitionStats;
  vm: VmState;
  ram: RamImage;
  /** Messages waiting for this partition, by queuing channel name, oldest first. */
  queued: Record<string, Uint8Array[]>;
  /** Names of the shared windows granted to it, with address and access. */
  grants: { window: string; address: number; writable: boolean }[];
  /** Hypervisor timeline when taken, in the units of `timeBase`. */
  timeline: number;
  /** Time base of that timeline (instructions, or microseconds in real-time mode). */
  timeBase: 'instructions' | 'microseconds';
  /** Pending blocking receive deadline (mtime ticks), if any. */
  recvDeadline: number | null;
}

export interface GatewaySnapshot {
  kind: 'gateway';
  timeBase: string;
  timeline: number;
  frames: number;
  schedules: { configs: ScheduleConfig[]; initial: string | null; position: SchedulePosition | null };
  windows: { name: string; size: number; address: number | null; bytes: Uint8Array }[];
  channels: (ChannelConfig & { id: number; queued: Uint8Array[]; sample: unknown })[];
  /** Each partition's snapshot, with its health policy (part of the gateway's configuration). */
  partitions: (PartitionSnapshot & { health?: HealthPolicy })[];
}

/** Capture one partition (plain data; encodeDocument turns it into bytes). */
export function capturePartition(hv: Hypervisor, p: Partition): PartitionSnapshot {
  const queued: Record<string, Uint8Array[]> = {};
  for (const ch of hv.channels.of(p.name)) {
    if (ch.kind === 'queuing' && ch.canReceive(p.name) && ch.port.length > 0) queued[ch.name] = ch.port.messages();
  }
  const { health: _health, ...config } = p.config;
  return {
    kind: 'partition',
    name: p.name,
    config: { ...config, image: config.image.slice(), stdin: config.stdin?.slice() },
    state: p.state,
    startCondition: p.lifecycle.startCondition,
    stats: { ...p.stats },
    vm: p.vm.saveState(),
    ram: encodeRam(p.vm.bus.ram),
    queued,
    grants: p.grants.map((g) => ({ window: g.window, address: g.address, writable: g.writable })),
    timeline: hv.timeline,
    timeBase: hv.timeBase,
    recvDeadline: p.recvDeadline === undefined ? null : p.recvDeadline === Infinity ? -1 : p.recvDeadline,
  };
}

export async function encodePartitionSnapshot(s: PartitionSnapshot): Promise<Uint8Array> {
  return encodeDocument(s);
}

/** Decode and check the shape of a partition snapshot; nothing is applied yet. */
export async function decodePartitionSnapshot(doc: Uint8Array): Promise<PartitionSnapshot> {
  const body = await decodeDocument(doc);
  return checkPartition(body, 'snapshot');
}

export async function decodeGatewaySnapshot(doc: Uint8Array): Promise<GatewaySnapshot> {
  const body = (await decodeDocument(doc)) as GatewaySnapshot;
  if (!isObject(body) || body.kind !== 'gateway') {
    throw new SnapshotError('SNAPSHOT_KIND', `expected a gateway snapshot, got ${isObject(body) ? String(body.kind) : typeof body}`);
  }
  need(typeof body.timeline === 'number' && typeof body.frames === 'number', 'timeline');
  need(typeof body.timeBase === 'string', 'timeBase');
  need(isObject(body.schedules) && Array.isArray(body.schedules.configs), 'schedules');
  need(Array.isArray(body.windows) && body.windows.every((w) => isObject(w) && typeof w.name === 'string' && w.bytes instanceof Uint8Array), 'windows');
  need(Array.isArray(body.channels) && body.channels.every((c) => isObject(c) && typeof c.name === 'string' && Array.isArray(c.queued)), 'channels');
  need(Array.isArray(body.partitions), 'partitions');
  body.partitions.forEach((p, i) => checkPartition(p, `partitions[${i}]`));
  return body;
}

function checkPartition(body: unknown, where: string): PartitionSnapshot {
  if (!isObject(body) || body.kind !== 'partition') {
    throw new SnapshotError('SNAPSHOT_KIND', `${where}: expected a partition snapshot, got ${isObject(body) ? String(body.kind) : typeof body}`);
  }
  const s = body as unknown as PartitionSnapshot;
  need(typeof s.name === 'string', `${where}.name`);
  need(isObject(s.config) && s.config.image instanceof Uint8Array, `${where}.config`);
  need(typeof s.state === 'string' && typeof s.startCondition === 'number', `${where}.state`);
  need(isObject(s.stats), `${where}.stats`);
  need(isObject(s.ram) && s.ram.present instanceof Uint8Array && s.ram.data instanceof Uint8Array && typeof s.ram.size === 'number', `${where}.ram`);
  need(isObject(s.queued) && Object.values(s.queued).every((q) => Array.isArray(q) && q.every((m) => m instanceof Uint8Array)), `${where}.queued`);
  need(Array.isArray(s.grants), `${where}.grants`);
  need(typeof s.timeline === 'number', `${where}.timeline`);
  need(s.timeBase === 'instructions' || s.timeBase === 'microseconds', `${where}.timeBase`);
  checkRam(s.ram, s.config.ramSize ?? s.ram.size);
  checkVmState(s.vm, `${where}.vm`);
  return s;
}

/**
 * Apply a decoded snapshot to a freshly created partition `p` (state
 * `created`, same RAM size). Everything that can fail was checked before.
 */
export function applyPartition(hv: Hypervisor, p: Partition, s: PartitionSnapshot, timelineShift: boolean): void {
  const vm = p.vm;
  vm.loadState(s.vm);
  decodeRam(s.ram, vm.bus.ram);
  vm.hart.flushDecodeCache();
  if (timelineShift) {
    // Keep mtime continuous on the new timeline: shift by whole ticks only.
    const delta = cycles(hv.timeline, hv.timeBase) - cycles(s.timeline, s.timeBase);
    const ticks = Math.floor(delta / 10);
    vm.hart.cycle += ticks * 10;
    vm.hart.timeOffset -= ticks;
    vm.hart.timerChanged();
  }
  Object.assign(p.stats, s.stats, { memory: p.stats.memory });
  p.recvDeadline = s.recvDeadline === null ? undefined : s.recvDeadline === -1 ? Infinity : s.recvDeadline;
  for (const [name, messages] of Object.entries(s.queued)) {
    const ch = hv.channels.get(name)!;
    if (ch.kind === 'queuing') for (const m of messages) ch.port.send(m);
  }
}

/** Problems that would make applyPartition fail, found before anything changes. */
export function checkApplicable(hv: Hypervisor, s: PartitionSnapshot, name: string): void {
  for (const [ch, messages] of Object.entries(s.queued)) {
    const c = hv.channels.get(ch);
    if (messages.length === 0) continue;
    if (c === undefined || c.kind !== 'queuing' || !c.canReceive(name)) {
      throw new SnapshotError('SNAPSHOT_CHANNEL_MISSING', `snapshot has ${messages.length} message(s) for ${name} on channel ${ch}, which does not exist here or does not deliver to ${name}`);
    }
    if (c.port.length + messages.length > c.port.depth) {
      throw new SnapshotError('SNAPSHOT_CHANNEL_FULL', `channel ${ch} has no room for the ${messages.length} queued message(s) of ${name}`);
    }
  }
}

export function captureGateway(hv: Hypervisor): GatewaySnapshot {
  const sched = hv.scheduleConfig;
  const windows = hv.partitioner.windowNames().map((n) => {
    const w = hv.partitioner.window(n)!;
    return { name: n, size: w.region.size, address: w.address ?? null, bytes: w.region.bytes.slice() };
  });
  const channels = hv.channels.names().map((n) => {
    const c = hv.channels.get(n)!;
    const base = { name: n, senders: c.senders, receivers: c.receivers, maxMessageSize: c.maxMessageSize, id: hv.channelId(n)! };
    return c.kind === 'queuing'
      ? { ...base, kind: 'queuing' as const, depth: c.port.depth, overflow: c.port.overflow, queued: c.port.messages(), sample: null }
      : { ...base, kind: 'sampling' as const, refreshPeriod: c.port.refreshPeriod, queued: [], sample: c.port.save() ?? null };
  });
  const partitions = hv.partitions().map((p) => {
    const s: PartitionSnapshot & { health?: HealthPolicy } = capturePartition(hv, p);
    s.queued = {}; // held by the channels above
    if (p.config.health !== undefined) s.health = p.config.health;
    return s;
  });
  return {
    kind: 'gateway',
    timeBase: hv.timeBase,
    timeline: hv.timeline,
    frames: hv.stats.frames,
    schedules: { configs: [...sched.configs], initial: sched.initial ?? null, position: hv.schedule?.position() ?? null },
    windows,
    channels,
    partitions,
  };
}

export { HOST };

/** A timeline position in hart cycles (instructions at the nominal 100 MHz). */
function cycles(timeline: number, base: string): number {
  return base === 'microseconds' ? timeline * 100 : timeline;
}

function need(ok: boolean, field: string): void {
  if (!ok) throw new SnapshotError('SNAPSHOT_FIELD', `snapshot field ${field} is missing or has the wrong type`);
}

function isObject(v: unknown): v is Record<string, unknown> & Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
