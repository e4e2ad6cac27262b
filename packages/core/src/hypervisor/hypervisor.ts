/**
 * The hypervisor: one memory pool, many partitions, one static cyclic
 * schedule that decides who runs when, channels between them, a health
 * monitor, and snapshots.
 *
 * Time. In the `instructions` time base (deterministic) the hypervisor keeps
 * one virtual timeline counted in instructions at a nominal 100 MHz; every
 * partition's clock (mcycle, mtime) is brought forward to the window start
 * before it runs, so time passes for a partition while others run, exactly
 * as on a partitioned single-core machine, and two runs are identical. In
 * the `microseconds` time base windows are wall-clock time, each partition
 * runs in instruction slices calibrated against the clock until its window
 * ends, and mtime follows the wall clock.
 */
import { ConfigError, PartitionError, SnapshotError } from '../errors.ts';
import { MemoryPool } from '../memory/pool.ts';
import { Partitioner } from '../memory/partitioner.ts';
import type { AdmissionRequest, GuestRange, PartitionMemory, SharedWindowSpec } from '../memory/partitioner.ts';
import { ChannelRegistry, HOST } from '../partition/channel.ts';
import type { ChannelConfig } from '../partition/channel.ts';
import { Emitter } from '../partition/events.ts';
import { HealthMonitor } from '../partition/health.ts';
import type { HealthDecision, HealthEvent, HealthPolicy } from '../partition/health.ts';
import { Lifecycle } from '../partition/lifecycle.ts';
import type { LifecycleEvent, LifecycleEvents, TransitionReason } from '../partition/lifecycle.ts';
import type { Sample } from '../partition/sampling.ts';
import { validateSchedule } from '../schedule/frame.ts';
import type { Schedule, ScheduleConfig, TimeBase } from '../schedule/frame.ts';
import { ScheduleSet } from '../schedule/set.ts';
import type { ScheduleSwitch, Slot } from '../schedule/set.ts';
import { VIRT_CLINT, VIRT_FINISHER, VIRT_RAM_BASE, VIRT_UART } from '../vm/virt.ts';
import { VirtualMachine } from '../vm/vm.ts';
import { systemClock, yieldToHost } from './clock.ts';
import type { Clock } from './clock.ts';
import { installHypercalls } from './hypercalls.ts';
import { Partition } from './partition.ts';
import type { PartitionConfig } from './partition.ts';
import { encodeDocument } from '../snapshot/codec.ts';
import { decodeRam } from '../snapshot/ram.ts';
import {
  applyPartition,
  captureGateway,
  capturePartition,
  checkApplicable,
  decodeGatewaySnapshot,
  decodePartitionSnapshot,
} from './snapshot.ts';
import type { PartitionSnapshot } from './snapshot.ts';

/** Options for {@link Hypervisor}'s constructor. */
export interface HypervisorOptions {
  /** Bytes of the memory pool all partitions and shared windows come from. */
  poolSize: number;
  /** Default 'instructions' (deterministic). */
  timeBase?: TimeBase;
  /** Time source for real-time windows and health/sampling timestamps. Default {@link systemClock}. */
  clock?: Clock;
  /** Default health policy for every partition. */
  health?: HealthPolicy;
  /** Console bytes a partition may write per major frame before `console-flood` (default 64 KiB). */
  consoleLimit?: number;
  /** Real-time mode: a window starting later than this (µs) is a `deadline-miss` (default 2000). */
  jitterLimit?: number;
  /** Keep an in-memory checkpoint of every running partition each N major frames (0 = never, default). */
  checkpointEvery?: number;
  /**
   * Compile hot guest code of partitions (cpu/jit). Off by default here: fresh
   * translations run slowly until V8 optimises them, which makes the wall time
   * of a window uneven for the first ~0.1-1 s of a partition, and real-time
   * slices are sized in instructions. Results are identical either way.
   */
  compile?: boolean;
}

/** Options for {@link Hypervisor.restore}. */
export interface RestoreOptions {
  /** Name of the restored partition; default the snapshot's. */
  name?: string;
  /** Lifecycle reason: 'restored' (default) or 'migrated' (start condition 5). */
  reason?: 'restored' | 'migrated';
  /**
   * Channels to create together with the partition (they may name it):
   * how a target gateway receives a partition whose snapshot carries queued
   * messages. Created and removed again atomically with the restore.
   */
  channels?: ReadonlyArray<ChannelConfig & { id?: number }>;
}

/** Console output of one partition (UART, HTIF or `write` to fd 1/2), emitted as the hypervisor's `console` event. */
export interface ConsoleEvent {
  /** Name of the partition that wrote. */
  partition: string;
  /** The bytes written, as the guest wrote them (not decoded). */
  bytes: Uint8Array;
  /** Which guest stream they were written to. */
  stream: 'stdout' | 'stderr';
}

/**
 * A telemetry message published by a guest through the `HC_TELEMETRY` hypercall, emitted as the hypervisor's `telemetry`
 * event.
 */
export interface TelemetryEvent {
  /** Name of the publishing partition. */
  partition: string;
  /** Topic chosen by the guest (UTF-8 decoded). */
  topic: string;
  /** The payload (a copy, owned by the listener). */
  payload: Uint8Array;
}

/** Summary of one completed major frame, emitted as the hypervisor's `frame` event. */
export interface FrameReport {
  /** Frame number, from 0. */
  frame: number;
  /** Name of the schedule the frame ran. */
  schedule: string;
  /** Length of the major frame in time-base units. */
  length: number;
  /** Time partitions actually used (time-base units). */
  busy: number;
  /** busy / length. */
  utilisation: number;
}

/** One window as it ran (emitted only while someone listens to `window`). */
export interface WindowReport {
  /** Number of the major frame the window belongs to, from 0. */
  frame: number;
  /** Owner, or null for an idle window. */
  partition: string | null;
  /** Planned start on the timeline (time-base units). */
  planned: number;
  /** Real-time base: when it actually started, in µs on the same timeline (deterministic: = planned). */
  started: number;
  /** Planned length of the window (time-base units). */
  duration: number;
  /** Time the partition used (time-base units). */
  used: number;
  /** Real-time base: when the window's work ended, µs on the timeline (deterministic: planned + used). */
  ended: number;
}

/**
 * Events of {@link Hypervisor.events}, by name: per-window and per-frame reports, lifecycle transitions, console and
 * telemetry output, health decisions and schedule switches.
 */
export type HypervisorEvents = {
  /** After each schedule window ran (only computed while someone listens). */
  window: WindowReport;
  /** After every partition lifecycle transition. */
  transition: LifecycleEvent;
  /** Console output of a partition. */
  console: ConsoleEvent;
  /** A telemetry message published by a partition. */
  telemetry: TelemetryEvent;
  /** After every health decision (fault, overrun, console flood, deadline miss). */
  health: HealthDecision;
  /** After each completed major frame. */
  frame: FrameReport;
  /** When a schedule switch takes effect at a frame boundary. */
  switch: ScheduleSwitch;
};

/** A snapshot of a hypervisor's progress and resource use; see {@link Hypervisor.stats}. */
export interface HypervisorStats {
  /** The time base all times here are counted in. */
  timeBase: TimeBase;
  /** Major frames completed. */
  frames: number;
  /** Position on the timeline in time-base units. */
  time: number;
  /** Memory pool usage. */
  pool: ReturnType<MemoryPool['stats']>;
  /** Utilisation of the last completed frame. */
  utilisation: number;
  /** Per-partition counters and lifecycle state, by partition name. */
  partitions: Record<string, Partition['stats'] & { state: string }>;
}

/** Cycles (instructions at the nominal 100 MHz) per microsecond. */
const CYCLES_PER_US = 100;
const DEFAULT_RAM = 1 << 20;
const MACHINE_RESERVED: ReadonlyArray<GuestRange> = /* @__PURE__ */ [VIRT_CLINT, VIRT_UART, VIRT_FINISHER].map((d) => ({
  name: d.name,
  base: d.base,
  size: d.size,
}));

/**
 * The micro-hypervisor: owns the memory pool, creates and controls partitions, runs them under a static cyclic
 * schedule, and connects them through channels.
 */
export class Hypervisor {
  /**
   * Every hypervisor event ({@link HypervisorEvents}); listener errors are logged, never propagated into the run
   * loop.
   */
  readonly events: Emitter<HypervisorEvents>;
  /** Whether windows are counted in instructions (deterministic) or wall-clock microseconds. */
  readonly timeBase: TimeBase;
  /** The single memory pool every partition's RAM and every shared window is carved from. */
  readonly pool: MemoryPool;
  /** Memory admission control over {@link Hypervisor.pool}. */
  readonly partitioner: Partitioner;
  /** The channels between partitions and the host. */
  readonly channels: ChannelRegistry;
  /** Decides the recovery action for faults, overruns, console floods and deadline misses. */
  readonly health: HealthMonitor;

  private readonly clock: Clock;
  private readonly lifecycleEvents: Emitter<LifecycleEvents>;
  private readonly parts = new Map<string, Partition>();
  private readonly channelIds = new Map<number, string>();
  private nextChannelId = 0;
  private nextPartitionId = 0;
  private scheduleConfigs: ScheduleConfig[] = [];
  private schedules: ScheduleSet | undefined;
  private initialSchedule: string | undefined;
  private readonly consoleLimit: number;
  private readonly jitterLimit: number;
  private readonly checkpointEvery: number;
  private readonly compile: boolean;
  /** Timeline position (time-base units) of the next window's start. */
  private time = 0;
  private framesDone = 0;
  private frameBusy = 0;
  private lastUtilisation = 0;
  private seenRevision = -1;
  /** Bumped whenever `parts` changes; invalidates `owners`. */
  private partsVersion = 0;
  /** Owner of each window of `ownersOf`, as of `ownersVersion`. */
  private owners: (Partition | undefined)[] = [];
  private ownersOf: Schedule | undefined;
  private ownersVersion = -1;
  private onWindow = false;
  private onFrame = false;
  private onHealthEvent = false;
  private running = false;
  private stopRequested = false;
  private realtimeOrigin = 0;
  /** Instructions per microsecond, per partition, for real-time slices. */
  private readonly speed = new Map<string, number>();
  /** In-memory checkpoints for the health monitor's `restore` action. */
  private readonly checkpoints = new Map<string, PartitionSnapshot>();

  /**
   * Allocate the memory pool and set up an empty hypervisor (no partitions, no schedule).
   * @throws ConfigError (`HYPERVISOR_TIME_BASE`, `HYPERVISOR_CONFIG`, `HYPERVISOR_CHECKPOINT`, `MEMORY_POOL_CONFIG`)
   * when an option is invalid.
   */
  constructor(options: HypervisorOptions) {
    this.timeBase = options.timeBase ?? 'instructions';
    if (this.timeBase !== 'instructions' && this.timeBase !== 'microseconds') {
      throw new ConfigError('HYPERVISOR_TIME_BASE', `timeBase ${String(this.timeBase)} is not 'instructions' or 'microseconds'`);
    }
    this.clock = options.clock ?? systemClock;
    this.consoleLimit = positive(options.consoleLimit ?? 64 * 1024, 'consoleLimit');
    this.jitterLimit = positive(options.jitterLimit ?? 2000, 'jitterLimit');
    this.checkpointEvery = options.checkpointEvery ?? 0;
    this.compile = options.compile ?? false;
    if (!Number.isInteger(this.checkpointEvery) || this.checkpointEvery < 0) {
      throw new ConfigError('HYPERVISOR_CHECKPOINT', `checkpointEvery ${options.checkpointEvery} is not a non-negative integer`);
    }
    this.events = new Emitter({ onListenerError: (e) => reportListenerError(e) });
    this.lifecycleEvents = new Emitter({ onListenerError: (e) => reportListenerError(e) });
    this.lifecycleEvents.on('transition', (e) => this.events.emit('transition', e));
    this.pool = new MemoryPool(options.poolSize);
    this.partitioner = new Partitioner(this.pool);
    const clock = { now: () => this.now() };
    this.channels = new ChannelRegistry({ clock });
    this.health = new HealthMonitor({ clock, policy: options.health });
  }

  /**
   * Hypervisor time in milliseconds: virtual (from the timeline) in the
   * deterministic time base, wall-clock since the first run otherwise.
   */
  now(): number {
    return this.timeBase === 'instructions' ? this.time / (CYCLES_PER_US * 1000) : this.clock.now() - this.realtimeOrigin;
  }

  // ----- partitions -----

  /**
   * Admit a partition: memory from the pool, optional shared windows and
   * grants, the loaded image. All or nothing: on any error nothing remains.
   */
  createPartition(config: PartitionConfig, share: Pick<AdmissionRequest, 'windows' | 'grants'> = {}): Partition {
    if (config === null || typeof config !== 'object') throw new ConfigError('PARTITION_CONFIG', 'partition config must be an object');
    const profile = config.profile ?? 'app';
    const ramSize = config.ramSize ?? DEFAULT_RAM;
    const ramBase = profile === 'machine' ? VIRT_RAM_BASE : 0;
    const admission = this.partitioner.admit({
      partitions: [{ id: config.name, ramSize, ramBase, reserved: profile === 'machine' ? MACHINE_RESERVED : [] }],
      windows: share.windows,
      grants: share.grants,
    });
    const memory = admission.partitions[0]!;
    try {
      if (config.health !== undefined) this.health.setPolicy(config.name, config.health);
      return this.build(config, memory);
    } catch (e) {
      this.partitioner.release(config.name);
      for (const w of share.windows ?? []) this.partitioner.removeWindow(w.name);
      this.health.forget(config.name);
      throw e;
    }
  }

  /** Create the VM and the handle for admitted memory. */
  private build(config: PartitionConfig, memory: PartitionMemory, id = this.nextPartitionId): Partition {
    const vm = new VirtualMachine({
      profile: config.profile,
      isa: config.isa,
      ramSize: memory.region.size,
      ram: memory.region.bytes,
      ramZeroed: true, // the pool zeroes every region it hands out
      image: config.image,
      entry: config.entry,
      loadAddress: config.loadAddress,
      argv: config.argv ?? [config.name],
      env: config.env,
      stackSize: config.stackSize,
      stdin: config.stdin,
      compile: config.compile ?? this.compile,
    });
    const grants = this.partitioner.grantsOf(config.name);
    for (const g of grants) vm.bus.mapMemory(g.window, g.address, g.bytes, g.writable);
    const lifecycle = new Lifecycle(config.name, { events: this.lifecycleEvents, clock: { now: () => this.now() } });
    const p = new Partition(id, config, memory, grants, vm, lifecycle, this);
    this.attach(p, vm);
    if (id === this.nextPartitionId) this.nextPartitionId++;
    this.parts.set(config.name, p);
    this.partsVersion++;
    return p;
  }

  /** Wire a VM to its partition: console, hypercalls. Also used after restore. */
  private attach(p: Partition, vm: VirtualMachine): void {
    vm.onConsole = (bytes, stream) => this.console(p, bytes, stream);
    installHypercalls(p, vm, {
      channels: this.channels,
      channelName: (id) => this.channelIds.get(id),
      telemetry: (part, topic, payload) => this.events.emit('telemetry', { partition: part.name, topic, payload }),
    });
  }

  /** @internal replace a partition's VM (restore). */
  replaceVm(p: Partition, vm: VirtualMachine): void {
    p.vm = vm;
    for (const g of p.grants) vm.bus.mapMemory(g.window, g.address, g.bytes, g.writable);
    this.attach(p, vm);
  }

  private console(p: Partition, bytes: Uint8Array, stream: 'stdout' | 'stderr'): void {
    // The flood count restarts with each major frame (reset here, not by a walk over all partitions per frame).
    if (p.consoleFrame !== this.framesDone) {
      p.consoleFrame = this.framesDone;
      p.frameConsole = 0;
    }
    const room = this.consoleLimit - p.frameConsole;
    if (room <= 0) {
      p.stats.consoleDropped += bytes.length;
      return;
    }
    let out = bytes;
    if (bytes.length > room) {
      out = bytes.subarray(0, room);
      p.stats.consoleDropped += bytes.length - room;
    }
    p.frameConsole += bytes.length;
    p.stats.consoleBytes += out.length;
    this.events.emit('console', { partition: p.name, bytes: out, stream });
    if (p.frameConsole >= this.consoleLimit) {
      this.onHealth(p, 'console-flood', `more than ${this.consoleLimit} console bytes in one major frame`);
    }
  }

  /**
   * Remove a partition for good: memory back to the pool, channels detached.
   * Its schedule windows stay and run idle (a partition created again under
   * the same name takes them over).
   */
  destroyPartition(name: string): void {
    const p = this.require(name);
    p.lifecycle.transition('destroyed', 'destroyed');
    this.parts.delete(name);
    this.partsVersion++;
    this.partitioner.release(name);
    this.channels.detach(name);
    this.health.forget(name);
    this.checkpoints.delete(name);
    this.speed.delete(name);
  }

  /** The partition called `name`, or undefined. */
  partition(name: string): Partition | undefined {
    return this.parts.get(name);
  }

  /** All partitions, in creation order. */
  partitions(): Partition[] {
    return [...this.parts.values()];
  }

  /** @internal */
  require(name: string): Partition {
    const p = this.parts.get(name);
    if (p === undefined) throw new PartitionError('PARTITION_UNKNOWN', `partition ${String(name)} does not exist`);
    return p;
  }

  // ----- lifecycle operations (PartitionControl) -----

  /**
   * Start partition `name`: first start, resume from `paused`, or a cold restart from its image when stopped or
   * faulted.
   * @throws PartitionError `PARTITION_UNKNOWN` for an unknown name, `PARTITION_ILLEGAL_TRANSITION` when it is already
   * running.
   */
  start(name: string): void {
    const p = this.require(name);
    const from = p.state;
    if (from === 'stopped' || from === 'faulted') {
      // A stopped guest starts over from its image.
      p.lifecycle.transition('running', 'restarted');
      this.coldBoot(p);
      return;
    }
    p.lifecycle.transition('running', from === 'paused' ? 'resumed' : 'started');
  }

  /**
   * Pause partition `name`: it keeps its state but its windows run idle.
   * @throws PartitionError `PARTITION_UNKNOWN` or a lifecycle error when it cannot be paused from its state.
   */
  pause(name: string): void {
    this.require(name).lifecycle.transition('paused', 'operator');
  }

  /**
   * Resume a paused partition.
   * @throws PartitionError `PARTITION_UNKNOWN`, or `PARTITION_ILLEGAL_TRANSITION` when it is not paused.
   */
  resume(name: string): void {
    const p = this.require(name);
    if (p.state !== 'paused') throw new PartitionError('PARTITION_ILLEGAL_TRANSITION', `partition ${name} is ${p.state}, not paused`);
    p.lifecycle.transition('running', 'resumed');
  }

  /**
   * Stop partition `name`; its next start is a cold restart from the image.
   * @throws PartitionError `PARTITION_UNKNOWN` or a lifecycle error when it cannot be stopped from its state.
   */
  stop(name: string): void {
    this.require(name).lifecycle.transition('stopped', 'operator');
  }

  /** Cold restart: the image reloaded, RAM cleared, start condition `restart`. */
  restart(name: string): void {
    const p = this.require(name);
    p.lifecycle.transition('running', 'restarted');
    this.coldBoot(p);
  }

  private coldBoot(p: Partition): void {
    p.vm.reset();
    p.recvDeadline = undefined;
    p.stats.restarts++;
    this.syncClock(p);
  }

  // ----- shared windows and channels -----

  /** Declare a shared window (and its grants) after partitions exist; all or nothing. */
  addWindow(spec: SharedWindowSpec): void {
    const admission = this.partitioner.admit({ windows: [spec] });
    for (const g of admission.grants) this.require(g.partition).vm.bus.mapMemory(g.window, g.address, g.bytes, g.writable);
  }

  /**
   * Create a channel. Endpoints are partition names or `'@host'` (the
   * embedder, through send/receive/read below). Guests address channels by
   * number: `id`, or the next free number from 0.
   */
  addChannel(config: ChannelConfig & { id?: number }): number {
    const id = config.id ?? this.nextChannelId;
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new ConfigError('CHANNEL_BAD_ID', `channel ${config.name}: id ${id} is not an integer in 0..65535`);
    if (this.channelIds.has(id)) throw new ConfigError('CHANNEL_ID_EXISTS', `channel ${config.name}: id ${id} is taken by ${this.channelIds.get(id)}`);
    this.channels.add(config, [...this.parts.keys(), HOST]);
    this.channelIds.set(id, config.name);
    this.nextChannelId = Math.max(this.nextChannelId, id + 1);
    return id;
  }

  /** Remove a channel; queued messages are dropped. Returns whether it existed. */
  removeChannel(name: string): boolean {
    const id = this.channelId(name);
    if (id !== undefined) this.channelIds.delete(id);
    return this.channels.remove(name);
  }

  /** The number guests use for channel `name`. */
  channelId(name: string): number | undefined {
    for (const [id, n] of this.channelIds) if (n === name) return id;
    return undefined;
  }

  /** Host endpoint: send on a channel that lists '@host' as a sender. */
  send(channel: string, message: Uint8Array): boolean {
    return this.channels.send(HOST, channel, message);
  }

  /** Host endpoint: take the oldest message of a queuing channel. */
  receive(channel: string): Uint8Array | undefined {
    return this.channels.receive(HOST, channel);
  }

  /** Host endpoint: the latest sample of a sampling channel. */
  read(channel: string): Sample | undefined {
    return this.channels.read(HOST, channel);
  }

  // ----- schedules -----

  /**
   * Configure the named schedules (replacing earlier ones). Validated
   * against the partitions that exist now; the walk restarts at the next
   * frame. Durations are instructions or microseconds by the time base.
   */
  setSchedules(configs: ReadonlyArray<Omit<ScheduleConfig, 'timeBase'> & { timeBase?: TimeBase }>, initial?: string): void {
    const full = configs.map((c) => ({ ...c, timeBase: c.timeBase ?? this.timeBase }));
    for (const c of full) {
      if (c.timeBase !== this.timeBase) {
        throw new ConfigError('SCHEDULE_TIME_BASE_MISMATCH', `schedule ${c.name} counts ${c.timeBase}, the hypervisor counts ${this.timeBase}`);
      }
    }
    const set = new ScheduleSet(full.map((c) => validateSchedule(c, this.parts.keys())), initial);
    set.events.on('switch', (s) => this.events.emit('switch', s));
    this.schedules = set;
    this.scheduleConfigs = full;
    this.initialSchedule = initial;
  }

  /** Switch schedule at the end of the current major frame. */
  switchSchedule(name: string): void {
    if (this.schedules === undefined) throw new ConfigError('SCHEDULE_SET_EMPTY', 'no schedule is configured');
    this.schedules.requestSwitch(name);
  }

  /** The active schedule set, or undefined before {@link Hypervisor.setSchedules}. */
  get schedule(): ScheduleSet | undefined {
    return this.schedules;
  }

  /** @internal the configurations (for snapshots and the CLI). */
  get scheduleConfig(): { configs: ReadonlyArray<ScheduleConfig>; initial: string | undefined } {
    return { configs: this.scheduleConfigs, initial: this.initialSchedule };
  }

  // ----- running -----

  /**
   * Run `n` major frames synchronously (deterministic time base only): the
   * mode for tests, simulations and `rvisor up --frames`.
   */
  runFrames(n: number): void {
    if (this.timeBase !== 'instructions') throw new ConfigError('HYPERVISOR_TIME_BASE', 'runFrames() needs the instructions time base; use run()');
    const set = this.requireSchedules();
    const target = this.framesDone + n;
    while (this.framesDone < target) this.runSlot(set.advance(), set);
  }

  /**
   * Run until halt() (or `frames` major frames), giving the host's event
   * loop a turn after every window, so no window blocks it longer than its
   * own length.
   */
  async run(options: { frames?: number } = {}): Promise<void> {
    if (this.running) throw new PartitionError('HYPERVISOR_RUNNING', 'the hypervisor is already running');
    const set = this.requireSchedules();
    this.running = true;
    this.stopRequested = false;
    const target = options.frames === undefined ? Infinity : this.framesDone + options.frames;
    try {
      if (this.timeBase === 'microseconds') this.realtimeOrigin = this.clock.now() - this.time / 1000;
      while (!this.stopRequested && this.framesDone < target) {
        const slot = set.advance();
        if (this.timeBase === 'microseconds') await this.waitFor(slot.start);
        this.runSlot(slot, set);
        await yieldToHost();
      }
    } finally {
      this.running = false;
    }
  }

  /** Ask run() to return after the current window. */
  halt(): void {
    this.stopRequested = true;
  }

  /** True while {@link Hypervisor.run} is in progress. */
  get isRunning(): boolean {
    return this.running;
  }

  private requireSchedules(): ScheduleSet {
    if (this.schedules === undefined) throw new ConfigError('SCHEDULE_SET_EMPTY', 'no schedule is configured: call setSchedules() first');
    return this.schedules;
  }

  /** Real-time: sleep until the window's planned start (µs on the timeline). */
  private async waitFor(startUs: number): Promise<void> {
    const due = startUs / 1000;
    // Timers fire late, never early, but truncate fractional milliseconds: sleep
    // the whole milliseconds, then wait out the rest of the last one here.
    const ahead = due - this.now();
    if (ahead >= 1) await new Promise<void>((r) => this.clock.setTimeout(r, Math.floor(ahead)));
    while (this.now() < due) {
      if (due - this.now() > 1) await new Promise<void>((r) => this.clock.setTimeout(r, 0));
    }
  }

  private runSlot(slot: Slot, set: ScheduleSet): void {
    const w = slot.window;
    if (w.index === 0) this.beginFrame();
    const p = this.partitionIn(slot);
    let used = 0;
    const started = this.timeBase === 'instructions' ? slot.start : this.now() * 1000;
    if (p !== undefined && p.state === 'running') {
      used = this.timeBase === 'instructions' ? this.runInstructions(p, slot) : this.runRealtime(p, slot);
    }
    if (this.events.revision !== this.seenRevision) this.watchListeners();
    if (this.onWindow) {
      const ended = this.timeBase === 'instructions' ? slot.start + used : this.now() * 1000;
      this.events.emit('window', { frame: slot.frame, partition: w.partition, planned: slot.start, started, duration: w.duration, used, ended });
    }
    this.frameBusy += used;
    this.time = slot.start + w.duration;
    if (w.index === slot.schedule.windows.length - 1) this.endFrame(slot, set);
  }

  /** The partition that owns the slot's window (resolved once per schedule and set of partitions). */
  private partitionIn(slot: Slot): Partition | undefined {
    if (slot.schedule !== this.ownersOf || this.ownersVersion !== this.partsVersion) {
      this.ownersOf = slot.schedule;
      this.ownersVersion = this.partsVersion;
      this.owners = slot.schedule.windows.map((w) => (w.partition === null ? undefined : this.parts.get(w.partition)));
    }
    return this.owners[slot.window.index];
  }

  /** Which events have listeners, re-read when the emitter's subscriptions change (checked every window). */
  private watchListeners(): void {
    this.seenRevision = this.events.revision;
    this.onWindow = this.events.listenerCount('window') > 0;
    this.onFrame = this.events.listenerCount('frame') > 0;
    this.onHealthEvent = this.events.listenerCount('health') > 0;
  }

  private beginFrame(): void {
    this.frameBusy = 0;
  }

  private endFrame(slot: Slot, _set: ScheduleSet): void {
    const length = slot.schedule.majorFrame;
    this.lastUtilisation = this.frameBusy / length;
    const report: FrameReport | undefined = !this.onFrame ? undefined : {
      frame: slot.frame,
      schedule: slot.schedule.name,
      length,
      busy: this.frameBusy,
      utilisation: this.lastUtilisation,
    };
    this.framesDone++;
    if (this.checkpointEvery > 0 && this.framesDone % this.checkpointEvery === 0) {
      for (const p of this.parts.values()) if (p.state === 'running') this.checkpoint(p.name);
    }
    if (report !== undefined) this.events.emit('frame', report);
  }

  /** Bring a partition's clock up to the timeline (time never runs backwards for it). */
  private syncClock(p: Partition, at = this.time): void {
    const hart = p.vm.hart;
    const cycle = this.timeBase === 'instructions' ? at : Math.floor(this.now() * 1000 * CYCLES_PER_US);
    if (hart.cycle < cycle) {
      hart.cycle = cycle;
      hart.timerChanged();
    }
  }

  /** Deterministic window: `duration` instructions at most. Returns the time used. */
  private runInstructions(p: Partition, slot: Slot): number {
    const vm = p.vm;
    const hart = vm.hart;
    const start = slot.start;
    const end = start + slot.window.duration;
    this.syncClock(p, start);
    p.stats.windows++;
    let preempted = false;
    let busy = 0;
    for (;;) {
      const before = hart.cycle;
      const left = end - before;
      if (left <= 0) {
        preempted = true;
        break;
      }
      const reason = vm.step(left);
      const n = vm.stepped;
      p.stats.instructions += n;
      busy += n;
      if (reason === 'budget') continue;
      if (reason === 'reset') {
        // The guest rebooted itself; its clock must not run backwards.
        hart.cycle = Math.max(hart.cycle, before + n);
        hart.timerChanged();
        continue;
      }
      if (reason === 'idle' || reason === 'sleep') {
        // Wake inside this window: skip the idle time and go on running.
        const wake = vm.wakeAt;
        if (wake !== undefined && (wake - hart.timeOffset) * 10 < end && vm.idle()) continue;
        break;
      }
      if (reason === 'exit') {
        if (p.state === 'running') p.lifecycle.transition('stopped', 'exited', `exit code ${vm.exitCode}`);
      } else if (reason === 'fault') {
        this.onFault(p);
      }
      break;
    }
    const used = Math.min(busy, slot.window.duration);
    p.stats.idle += slot.window.duration - used;
    if (preempted) this.onOverrun(p);
    return used;
  }

  /** Real-time window: run calibrated slices until the window's wall-clock end. */
  private runRealtime(p: Partition, slot: Slot): number {
    const vm = p.vm;
    const startMs = slot.start / 1000;
    const endMs = (slot.start + slot.window.duration) / 1000;
    const begin = this.now();
    if ((begin - startMs) * 1000 > this.jitterLimit) {
      this.onHealth(p, 'deadline-miss', `window started ${Math.round((begin - startMs) * 1000)} µs late`);
    }
    p.stats.windows++;
    let speed = this.speed.get(p.name) ?? 50; // instructions per µs; refined below
    let preempted = true;
    for (;;) {
      const now = this.now();
      const leftUs = (endMs - now) * 1000;
      if (leftUs <= 0) break;
      this.syncClock(p);
      // Slices of at most 1 ms keep the overrun past the window end small.
      const slice = Math.max(1000, Math.floor(Math.min(leftUs, 1000) * speed));
      const t0 = this.clock.now();
      const r = vm.run(slice);
      const dt = (this.clock.now() - t0) * 1000;
      p.stats.instructions += r.instructions;
      if (r.instructions > 10_000 && dt > 0) speed = speed * 0.5 + (r.instructions / dt) * 0.5;
      if (r.reason === 'budget' || r.reason === 'reset') continue;
      preempted = false;
      if (r.reason === 'exit') {
        if (p.state === 'running') p.lifecycle.transition('stopped', 'exited', `exit code ${vm.exitCode}`);
      } else if (r.reason === 'fault') {
        this.onFault(p);
      }
      // idle, sleep, yield, blocked: real time cannot be skipped, the rest of the window is given back.
      break;
    }
    this.speed.set(p.name, speed);
    const usedUs = Math.min(this.now(), endMs) * 1000 - Math.max(begin, startMs) * 1000;
    const used = Math.max(0, Math.min(slot.window.duration, usedUs));
    p.stats.idle += slot.window.duration - used;
    if (preempted) this.onOverrun(p);
    return used;
  }

  private onOverrun(p: Partition): void {
    p.stats.overruns++;
    // Compute guests overrun every window: count it without a decision when nobody cares.
    if (this.events.revision !== this.seenRevision) this.watchListeners();
    if (!this.onHealthEvent && this.health.tallyOn(p.healthHandle ??= this.health.handle(p.name), 'budget-overrun')) return;
    this.onHealth(p, 'budget-overrun', 'the window ended while the guest still wanted the CPU');
  }

  private onFault(p: Partition): void {
    const f = p.vm.fault!;
    p.stats.faults++;
    p.lifecycle.fail({ pc: f.pc, cause: f.cause, tval: f.tval, message: f.message });
    this.onHealth(p, 'guest-fault', f.message);
  }

  private onHealth(p: Partition, event: HealthEvent, detail: string): void {
    const decision = this.health.decide(event, p.name, detail);
    this.events.emit('health', decision);
    const action = decision.action;
    if (action === 'ignore' || action === 'log') return;
    if (action === 'stop') {
      if (p.state !== 'stopped' && p.lifecycle.can('stopped')) p.lifecycle.transition('stopped', 'health-stop', detail);
      return;
    }
    const saved = action === 'restore' ? this.checkpoints.get(p.name) : undefined;
    if (saved !== undefined) {
      this.transitionRunning(p, 'health-restore', detail);
      this.rewind(p, saved);
      return;
    }
    // 'restart', or 'restore' without a checkpoint: a cold restart.
    this.transitionRunning(p, 'health-restart', detail);
    this.coldBoot(p);
  }

  private transitionRunning(p: Partition, reason: TransitionReason, detail: string): void {
    if (p.state === 'running') {
      // A running partition (overrun, flood) passes through stopped so the restart is visible.
      p.lifecycle.transition('stopped', 'health-stop', detail);
    }
    p.lifecycle.transition('running', reason, detail);
  }

  // ----- snapshots -----

  /**
   * Keep an in-memory checkpoint of a partition (what the health monitor's
   * `restore` action and `checkpointEvery` use).
   */
  checkpoint(name: string): void {
    this.checkpoints.set(name, capturePartition(this, this.require(name)));
  }

  /** Put a partition back to its checkpoint, in place. */
  private rewind(p: Partition, s: PartitionSnapshot): void {
    const stats = { ...p.stats };
    p.vm.loadState(s.vm);
    decodeRam(s.ram, p.vm.bus.ram);
    p.vm.hart.flushDecodeCache();
    p.recvDeadline = undefined;
    // Counters describe the partition's life, not the checkpoint's.
    Object.assign(p.stats, stats, { restarts: stats.restarts + 1 });
    this.syncClock(p);
  }

  /** A partition's complete state as a versioned, checksummed CBOR document. */
  async snapshot(name: string): Promise<Uint8Array> {
    return encodeDocument(capturePartition(this, this.require(name)));
  }

  /**
   * Create a partition from a snapshot; it lands `paused` (resume() it).
   * Checks everything before it admits anything: a corrupt, truncated or
   * wrong-version document, a name in use, missing shared windows or
   * channels are typed errors and leave the hypervisor unchanged.
   */
  async restore(doc: Uint8Array, options: RestoreOptions = {}): Promise<Partition> {
    const s = await decodePartitionSnapshot(doc);
    return this.restoreDecoded(s, options.name ?? s.name, options.reason ?? 'restored', true, options.channels ?? []);
  }

  /** Restore `name`'s current state under a new name and identity, paused. */
  async clone(name: string, newName: string): Promise<Partition> {
    const s = capturePartition(this, this.require(name));
    s.queued = {}; // messages waiting for the original stay with it
    // A clone is a new partition: its counters start from zero.
    const zero = { instructions: 0, windows: 0, overruns: 0, idle: 0, faults: 0, restarts: 0, memory: 0, consoleBytes: 0, consoleDropped: 0 };
    s.stats = zero;
    return this.restoreDecoded(s, newName, 'restored', false, []);
  }

  private restoreDecoded(s: PartitionSnapshot, name: string, reason: 'restored' | 'migrated', shift: boolean, channels: RestoreOptions['channels'] & object): Partition {
    if (this.parts.has(name)) throw new PartitionError('PARTITION_EXISTS', `partition ${name} already exists`);
    const grants = s.grants.map((g) => ({ window: g.window, partition: name, access: g.writable ? ('rw' as const) : ('ro' as const), address: g.address }));
    for (const g of s.grants) {
      if (this.partitioner.window(g.window) === undefined) {
        throw new SnapshotError('SNAPSHOT_WINDOW_MISSING', `snapshot of ${s.name} is granted shared window ${g.window}, which does not exist here`);
      }
    }
    // The decoded document's byte strings are views into it: copy what the partition keeps.
    const p = this.createPartition({ ...s.config, name, image: s.config.image.slice(), stdin: s.config.stdin?.slice() }, { grants });
    const added: string[] = [];
    try {
      for (const c of channels) {
        this.addChannel(c);
        added.push(c.name);
      }
      checkApplicable(this, s, name);
      applyPartition(this, p, s, shift);
      p.lifecycle.transition('paused', reason, `from snapshot of ${s.name}`);
    } catch (e) {
      for (const c of added) this.removeChannel(c);
      this.parts.delete(name);
      this.partsVersion++;
      this.partitioner.release(name);
      this.health.forget(name);
      throw e;
    }
    return p;
  }

  /** The whole gateway: timeline, schedules, windows, channels and every partition. */
  async snapshotGateway(): Promise<Uint8Array> {
    return encodeDocument({ ...captureGateway(this), poolSize: this.pool.size });
  }

  /**
   * Rebuild a gateway from snapshotGateway() on a fresh hypervisor: an exact
   * continuation. Partitions that were running land paused unless
   * `resume` is set.
   */
  static async restoreGateway(doc: Uint8Array, options: Partial<HypervisorOptions> & { resume?: boolean } = {}): Promise<Hypervisor> {
    const g = await decodeGatewaySnapshot(doc);
    const poolSize = options.poolSize ?? (g as unknown as { poolSize?: number }).poolSize;
    if (typeof poolSize !== 'number') throw new ConfigError('HYPERVISOR_CONFIG', 'poolSize is missing (not in the snapshot, not in the options)');
    const hv = new Hypervisor({ ...options, poolSize, timeBase: g.timeBase as TimeBase });
    hv.time = g.timeline;
    hv.framesDone = g.frames;
    for (const w of g.windows) {
      hv.partitioner.admit({ windows: [{ name: w.name, size: w.size, address: w.address ?? undefined }] });
      hv.partitioner.window(w.name)!.region.bytes.set(w.bytes);
    }
    for (const s of g.partitions) {
      const grants = s.grants.map((gr) => ({ window: gr.window, partition: s.name, access: gr.writable ? ('rw' as const) : ('ro' as const), address: gr.address }));
      const p = hv.createPartition(
        { ...s.config, name: s.name, image: s.config.image.slice(), stdin: s.config.stdin?.slice(), health: s.health },
        { grants },
      );
      applyPartition(hv, p, s, false);
      if (s.state !== 'created') p.lifecycle.transition(options.resume === true && s.state === 'running' ? 'running' : 'paused', 'restored');
    }
    for (const c of g.channels) {
      hv.addChannel(c);
      const ch = hv.channels.get(c.name)!;
      if (ch.kind === 'queuing') for (const m of c.queued) ch.port.send(m);
      else if (c.sample !== null) ch.port.load(c.sample as Parameters<typeof ch.port.load>[0]);
    }
    if (g.schedules.configs.length > 0) {
      hv.setSchedules(g.schedules.configs, g.schedules.initial ?? undefined);
      if (g.schedules.position !== null) hv.schedules!.seek(g.schedules.position);
    }
    return hv;
  }

  // ----- stats -----

  /** Current progress and resource use (a fresh object each call). */
  get stats(): HypervisorStats {
    const partitions: HypervisorStats['partitions'] = {};
    for (const p of this.parts.values()) partitions[p.name] = { ...p.stats, state: p.state };
    return {
      timeBase: this.timeBase,
      frames: this.framesDone,
      time: this.time,
      pool: this.pool.stats(),
      utilisation: this.lastUtilisation,
      partitions,
    };
  }

  /** @internal timeline position, restored by snapshots of the whole gateway. */
  get timeline(): number {
    return this.time;
  }
}

function positive(n: number, what: string): number {
  if (!(typeof n === 'number' && n > 0 && Number.isFinite(n))) throw new ConfigError('HYPERVISOR_CONFIG', `${what} ${n} is not a positive number`);
  return n;
}

function reportListenerError(e: unknown): void {
  // A listener's bug must neither stop the run loop nor half-apply a transition.
  console.error('rvisor: an event listener threw:', e);
}
