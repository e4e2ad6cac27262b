import { Hypervisor, type Clock, type Partition } from '@rvisor/core/hypervisor';
import { decodeDocument } from '@rvisor/core/snapshot';
import type { DeploySpec, GatewayHost, HostEvent } from './host.ts';
import { FLEET_BAD_STATE, FLEET_EXISTS, FLEET_NO_ROOM, FLEET_NOT_FOUND, fleetError } from './protocol/errors.ts';
import type { Capabilities, PartitionReport, SchedulePlan, WindowSpec } from './protocol/schema.ts';
import { sha256Hex } from './protocol/sign.ts';

/*
 * The real GatewayHost: one core Hypervisor, driven by its own run loop.
 *
 * Time. The host runs the hypervisor in the `microseconds` time base by
 * default: windows are wall-clock time and a sleeping guest sleeps for real,
 * which is what a gateway serving the outside world needs (a deterministic
 * `instructions` run would race through idle time and flood the console).
 *
 * Schedule. The host owns exactly one schedule, `fleet`, rebuilt from the
 * partitions it hosts whenever one comes or goes (PROTOCOL.md §6.5): windows a
 * deploy asked for, or an `update-schedule` plan named, are kept as given; every
 * other partition gets an equal share of the time left in the major frame.
 * core's run loop keeps the schedule set it started with, so a rebuild halts the
 * loop after the current window, installs the new set positioned at the next
 * frame boundary on the same timeline, and starts the loop again.
 *
 * All or nothing. Core guarantees it per call; the compound operations here
 * (create + schedule, replace by restore) undo their first steps when a later one
 * fails, and mute the partition's transition events until the outcome is known,
 * so listeners never see a partition that "never happened".
 */

export interface HypervisorHostOptions {
  /** Bytes of the memory pool (ignored with `hypervisor`). Default 64 MiB. */
  poolSize?: number;
  /** Partition slots advertised to the controller. Default 16. */
  maxPartitions?: number;
  /** Major frame of the `fleet` schedule, in time-base units (µs by default). Default 10 000. */
  majorFrame?: number;
  /** Shortest window an automatically placed partition gets. Default 500. */
  minWindow?: number;
  /** Default `microseconds` (real time); `instructions` is deterministic and unthrottled. */
  timeBase?: 'microseconds' | 'instructions';
  /** Use this hypervisor instead of creating one (it must have no schedule the host does not own). */
  hypervisor?: Hypervisor;
  /** Errors of the background run loop (never thrown). */
  onError?: (err: unknown) => void;
}

const SCHEDULE = 'fleet';
/** core's nominal clock: 100 MHz, mtime at 10 MHz (10 cycles per tick). */
const CYCLES_PER_US = 100;

/**
 * A GatewayHost over one core Hypervisor (PROTOCOL.md §6.5). Its operations
 * are meant to be called one at a time, as the Agent does.
 */
export class HypervisorHost implements GatewayHost {
  readonly hv: Hypervisor;
  readonly maxPartitions: number;
  readonly #opts: HypervisorHostOptions;
  readonly #listeners = new Set<(e: HostEvent) => void>();
  readonly #digests = new Map<string, string>();
  /** Windows asked for by a deploy or named by an update-schedule plan. */
  readonly #explicit = new Map<string, WindowSpec[]>();
  /** Partitions whose transitions are held back while a compound operation may still be undone. */
  readonly #muted = new Set<string>();
  readonly #unsubscribe: (() => void)[] = [];
  #majorFrame: number;
  #loop: Promise<void> | undefined;
  #closed = false;
  /** Timers the hypervisor is sleeping on (real time), so a halt need not wait for the next window. */
  readonly #sleeping = new Map<unknown, () => void>();

  constructor(options: HypervisorHostOptions = {}) {
    this.#opts = options;
    this.hv = options.hypervisor ?? new Hypervisor({ poolSize: options.poolSize ?? 64 << 20, timeBase: options.timeBase ?? 'microseconds', clock: this.#clock() });
    this.maxPartitions = options.maxPartitions ?? 16;
    this.#majorFrame = options.majorFrame ?? 10_000;
    const ev = this.hv.events;
    this.#unsubscribe.push(
      ev.on('transition', (e) => {
        if (this.#muted.has(e.partition)) return;
        const fault = e.fault ? (e.fault.message ?? `cause ${e.fault.cause} at pc 0x${(e.fault.pc >>> 0).toString(16)}`) : undefined;
        this.#emit({ type: 'state', name: e.partition, state: e.to, ...(fault !== undefined ? { fault } : {}) });
      }),
      ev.on('console', (e) => this.#emit({ type: 'console', name: e.partition, data: e.bytes })),
      ev.on('telemetry', (e) => this.#emit({ type: 'telemetry', name: e.partition, data: e.payload, topic: e.topic })),
    );
  }

  // ---- GatewayHost: reports ---------------------------------------------------------------

  capabilities(): Capabilities {
    const pool = this.hv.stats.pool;
    return {
      poolBytes: pool.size,
      // The largest free block, not the sum: it is what the next partition can get.
      poolFreeBytes: pool.largestFree,
      maxPartitions: this.maxPartitions,
      schedules: [this.hv.timeBase],
      runtime: runtime(),
      isa: ['rv32imac', 'rv32ima'],
    };
  }

  partitions(): PartitionReport[] {
    // Core emits `destroyed` before it forgets the partition: a listener asking now must not see it.
    return this.hv.partitions().filter((p) => p.state !== 'destroyed').map((p) => {
      const r: PartitionReport = {
        name: p.name, state: p.state as PartitionReport['state'], ramSize: p.config.ramSize ?? p.stats.memory,
        instructions: p.stats.instructions, image: this.#digests.get(p.name) ?? '',
      };
      if (p.state === 'faulted' && p.fault) r.fault = p.fault.message ?? `cause ${p.fault.cause}`;
      return r;
    });
  }

  onEvent(listener: (e: HostEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- GatewayHost: operations ------------------------------------------------------------

  async deploy(spec: DeploySpec): Promise<void> {
    if (this.hv.partition(spec.name)) throw fleetError(FLEET_EXISTS, `partition ${spec.name} exists`);
    if (this.hv.partitions().length >= this.maxPartitions) throw fleetError(FLEET_NO_ROOM, `gateway already hosts ${this.maxPartitions} partitions`);
    const digest = await sha256Hex(spec.image);
    this.#muted.add(spec.name);
    try {
      this.hv.createPartition({ name: spec.name, image: spec.image, profile: spec.profile, isa: spec.isa, ramSize: spec.ramSize });
      try {
        await this.#reschedule(spec.windows ? { set: [[spec.name, spec.windows]] } : {});
      } catch (err) {
        this.hv.destroyPartition(spec.name);
        throw err;
      }
    } finally {
      this.#muted.delete(spec.name);
    }
    this.#digests.set(spec.name, digest);
    if (spec.windows) this.#explicit.set(spec.name, spec.windows);
    this.#emit({ type: 'state', name: spec.name, state: 'created' });
  }

  async start(name: string): Promise<void> {
    this.#require(name);
    this.hv.start(name);
    this.#ensureLoop();
  }

  async pause(name: string): Promise<void> {
    this.#require(name);
    this.hv.pause(name);
  }

  async resume(name: string): Promise<void> {
    this.#require(name);
    this.hv.resume(name);
    this.#ensureLoop();
  }

  async stop(name: string): Promise<void> {
    this.#require(name);
    this.hv.stop(name);
  }

  async destroy(name: string): Promise<void> {
    this.#require(name);
    this.hv.destroyPartition(name);
    this.#digests.delete(name);
    this.#explicit.delete(name);
    // Dropping a partition only frees time, so this cannot fail for lack of room.
    await this.#reschedule({}).catch((e) => this.#opts.onError?.(e));
  }

  async snapshot(name: string): Promise<Uint8Array> {
    const p = this.#require(name);
    if (p.state === 'running') throw fleetError(FLEET_BAD_STATE, `partition ${name} is running; pause it before a snapshot`);
    return this.hv.snapshot(name);
  }

  async restore(name: string, doc: Uint8Array): Promise<void> {
    const old = this.hv.partition(name);
    if (old?.state === 'running') throw fleetError(FLEET_BAD_STATE, `partition ${name} is running; cannot restore over it`);
    if (!old && this.hv.partitions().length >= this.maxPartitions) throw fleetError(FLEET_NO_ROOM, `gateway already hosts ${this.maxPartitions} partitions`);
    const hv = this.hv;
    // A corrupt, truncated or foreign document fails here, before anything is touched.
    await decodeDocument(doc);
    // Replacing: keep the old one as a snapshot, so a failed restore can put it back
    // (as it was, except that `created` and `faulted` come back `paused`).
    const backup = old ? await hv.snapshot(name) : undefined;
    const putBack = async (): Promise<void> => {
      if (!backup) return;
      await hv.restore(backup, { name });
      if (old!.state === 'stopped') hv.stop(name);
    };
    this.#muted.add(name);
    try {
      if (old) this.hv.destroyPartition(name);
      let p: Partition;
      try {
        p = await hv.restore(doc, { name });
        this.#noFutureClock(p);
      } catch (err) {
        await putBack();
        throw err;
      }
      try {
        if (!old) await this.#reschedule({});
        this.#digests.set(name, await sha256Hex(p.config.image));
      } catch (err) {
        this.hv.destroyPartition(name);
        await putBack();
        throw err;
      }
    } finally {
      this.#muted.delete(name);
    }
    this.#emit({ type: 'state', name, state: 'paused' });
  }

  async updateSchedule(plan: SchedulePlan): Promise<void> {
    const byName = new Map<string, WindowSpec[]>();
    for (const w of plan.windows) {
      if (!this.hv.partition(w.partition)) throw fleetError(FLEET_NOT_FOUND, `schedule window names unknown partition ${w.partition}`);
      const list = byName.get(w.partition) ?? [];
      list.push({ offset: w.offset, duration: w.duration });
      byName.set(w.partition, list);
    }
    await this.#reschedule({ majorFrame: plan.majorFrame, replaceAll: byName });
  }

  /** Stops the run loop and detaches from the hypervisor's events. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#halt();
    for (const off of this.#unsubscribe) off();
    this.#listeners.clear();
  }

  // ---- schedule and run loop ----------------------------------------------------------------

  /**
   * Builds the `fleet` schedule from the hosted partitions (with `change`
   * applied), installs it, and only then commits `change` to the host's own
   * bookkeeping: a plan the hypervisor refuses leaves everything as it was.
   */
  async #reschedule(change: { set?: [string, WindowSpec[]][]; majorFrame?: number; replaceAll?: Map<string, WindowSpec[]> }): Promise<void> {
    const explicit = new Map(change.replaceAll ?? this.#explicit);
    for (const [n, w] of change.set ?? []) explicit.set(n, w);
    for (const n of [...explicit.keys()]) if (!this.hv.partition(n)) explicit.delete(n);
    const majorFrame = change.majorFrame ?? this.#majorFrame;
    const names = this.hv.partitions().map((p) => p.name);
    const windows = planWindows(names, explicit, majorFrame, this.#opts.minWindow ?? 500);
    const wasRunning = this.#loop !== undefined;
    await this.#halt();
    try {
      if (windows.length > 0) {
        const before = this.hv.schedule?.position();
        const T = this.hv.timeline;
        this.hv.setSchedules([{ name: SCHEDULE, majorFrame, windows }], SCHEDULE);
        // A new schedule set walks from time 0; place it so its next frame starts
        // at or after the timeline's present, or time would run backwards.
        if (T > 0) {
          const frames = Math.ceil(T / majorFrame);
          // Core fills the gaps with idle windows: "last" is the validated schedule's last.
          const set = this.hv.schedule!;
          set.seek({ schedule: SCHEDULE, pending: null, frame: Math.max(0, before?.frame ?? 0), window: set.current.windows.length - 1, frameStart: (frames - 1) * majorFrame });
        }
      }
    } finally {
      if (wasRunning || windows.length > 0) this.#ensureLoop();
    }
    if (change.replaceAll) {
      this.#explicit.clear();
      for (const [n, w] of explicit) this.#explicit.set(n, w);
    }
    if (change.majorFrame !== undefined) this.#majorFrame = change.majorFrame;
  }

  #ensureLoop(): void {
    if (this.#loop || this.#closed || !this.hv.schedule || this.hv.partitions().length === 0) return;
    const loop = this.hv.run().catch((err) => this.#opts.onError?.(err)).finally(() => {
      if (this.#loop === loop) this.#loop = undefined;
    });
    this.#loop = loop;
  }

  async #halt(): Promise<void> {
    const loop = this.#loop;
    if (!loop) return;
    this.hv.halt();
    // Cut the wait for the next window short: a reconfiguration (deploy,
    // destroy, migrate-in) would otherwise wait up to a major frame.
    for (const [h, fn] of this.#sleeping) {
      clearTimeout(h as ReturnType<typeof setTimeout>);
      this.#sleeping.delete(h);
      fn();
    }
    await loop;
    this.#loop = undefined;
  }

  /** The system clock, with the hypervisor's pending sleeps kept where #halt can end them. */
  #clock(): Clock {
    return {
      now: () => performance.now(),
      setTimeout: (fn, ms) => {
        const h: ReturnType<typeof setTimeout> = setTimeout(() => {
          this.#sleeping.delete(h);
          fn();
        }, ms);
        this.#sleeping.set(h, fn);
        return h;
      },
      clearTimeout: (h) => {
        this.#sleeping.delete(h);
        clearTimeout(h as ReturnType<typeof setTimeout>);
      },
    };
  }

  // ---- helpers -------------------------------------------------------------------------------

  #require(name: string): Partition {
    const p = this.hv.partition(name);
    if (!p) throw fleetError(FLEET_NOT_FOUND, `partition ${name} does not exist`);
    return p;
  }

  /**
   * In real time a partition's clock must not be ahead of this gateway's
   * timeline: core would hold it (its sleeps would not end) until the
   * timeline caught up, e.g. after moving from a gateway that has been up
   * longer. Shift it back by whole mtime ticks, compensated in the time
   * offset, so the guest's own time stays continuous. A no-op when the
   * restore already placed it on this timeline.
   */
  #noFutureClock(p: Partition): void {
    if (this.hv.timeBase !== 'microseconds') return;
    const hart = p.vm.hart;
    const ahead = hart.cycle - this.hv.timeline * CYCLES_PER_US;
    if (ahead <= 0) return;
    const ticks = Math.floor(ahead / 10);
    hart.cycle -= ticks * 10;
    hart.timeOffset += ticks;
    hart.timerChanged();
  }

  #emit(e: HostEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#opts.onError?.(err);
      }
    }
  }
}

/**
 * Windows of the `fleet` schedule: explicit ones as given, then the free time
 * of the frame split evenly between the other partitions in name order (a
 * share may span several gaps). Overlaps and frame overruns are left to core's
 * validation, which names the offending window.
 */
export function planWindows(
  names: string[], explicit: ReadonlyMap<string, WindowSpec[]>, majorFrame: number, minWindow: number,
): { partition: string; offset: number; duration: number }[] {
  const out: { partition: string; offset: number; duration: number }[] = [];
  for (const [n, ws] of explicit) for (const w of ws) out.push({ partition: n, offset: w.offset, duration: w.duration });
  const auto = names.filter((n) => !explicit.has(n)).sort();
  if (auto.length === 0) return out;
  const taken = out.map((w) => [w.offset, w.offset + w.duration] as const).sort((a, b) => a[0] - b[0]);
  const gaps: [number, number][] = [];
  let at = 0;
  for (const [s, e] of taken) {
    if (s > at) gaps.push([at, s]);
    at = Math.max(at, e);
  }
  if (at < majorFrame) gaps.push([at, majorFrame]);
  const free = gaps.reduce((n, [s, e]) => n + (e - s), 0);
  const share = Math.floor(free / auto.length);
  if (share < minWindow) {
    throw fleetError(FLEET_NO_ROOM, `${free} free time units in a major frame of ${majorFrame} cannot give ${auto.length} partition(s) ${minWindow} each`);
  }
  let g = 0;
  let pos = gaps[0]![0];
  for (const n of auto) {
    let need = share;
    while (need > 0) {
      const [, end] = gaps[g]!;
      const take = Math.min(need, end - pos);
      if (take > 0) out.push({ partition: n, offset: pos, duration: take });
      need -= take;
      pos += take;
      if (pos < end) continue;
      if (g + 1 >= gaps.length) break;
      pos = gaps[++g]![0];
    }
  }
  return out;
}

function runtime(): string {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: { version?: { deno?: string } } };
  if (g.Deno?.version?.deno) return `deno ${g.Deno.version.deno}`;
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return 'unknown';
}
