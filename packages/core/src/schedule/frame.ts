/**
 * Validation of a static cyclic schedule (ARINC 653 style): a major frame cut
 * into windows `{ partition, offset, duration }`. Everything is checked when
 * the schedule is configured, so the run loop never meets a bad window.
 *
 * The result is normalised: windows sorted by offset, every gap turned into
 * an explicit idle window (partition `null`, adjacent idle merged), so the
 * windows tile [0, majorFrame) exactly and the run loop just walks them.
 */

import { ConfigError } from '../errors.ts';

/** The schedule name does not match SCHEDULE_NAME_PATTERN. */
export const SCHEDULE_BAD_NAME = 'SCHEDULE_BAD_NAME';
/** timeBase is neither 'instructions' nor 'microseconds'. */
export const SCHEDULE_BAD_TIME_BASE = 'SCHEDULE_BAD_TIME_BASE';
/** majorFrame is not a positive safe integer. */
export const SCHEDULE_BAD_FRAME = 'SCHEDULE_BAD_FRAME';
/** A window's offset or duration is not a non-negative safe integer, or its partition is not a string/null. */
export const SCHEDULE_BAD_WINDOW = 'SCHEDULE_BAD_WINDOW';
/** A window has duration 0. */
export const SCHEDULE_ZERO_LENGTH = 'SCHEDULE_ZERO_LENGTH';
/** A window ends after the major frame. */
export const SCHEDULE_OUTSIDE_FRAME = 'SCHEDULE_OUTSIDE_FRAME';
/** Two windows share time. Touching windows (one ends where the next starts) are fine. */
export const SCHEDULE_OVERLAP = 'SCHEDULE_OVERLAP';
/** A window names a partition that is not known. */
export const SCHEDULE_UNKNOWN_PARTITION = 'SCHEDULE_UNKNOWN_PARTITION';

/** Valid schedule names: a letter or digit, then up to 63 letters, digits, `_`, `.` or `-`. */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * `instructions`: deterministic mode, durations are instruction budgets.
 * `microseconds`: real-time mode, durations are wall-clock microseconds.
 */
export type TimeBase = 'instructions' | 'microseconds';

/** One window of a schedule as configured: a partition owns [offset, offset + duration) of every major frame. */
export interface WindowConfig {
  /** Owner of the window; `null` declares an explicit idle window. */
  partition: string | null;
  /** Start of the window from the start of the major frame, in time-base units. */
  offset: number;
  /** Length of the window in time-base units (instructions or microseconds); positive. */
  duration: number;
}

/** A static cyclic schedule as configured: a major frame that repeats forever, cut into windows. */
export interface ScheduleConfig {
  /** Unique schedule name, matching {@link SCHEDULE_NAME_PATTERN}. */
  name: string;
  /** Unit of `majorFrame`, offsets and durations. */
  timeBase: TimeBase;
  /** Length of the repeating frame in time-base units; a positive integer. */
  majorFrame: number;
  /** The windows, in any order; they must not overlap, and gaps become idle time. */
  windows: ReadonlyArray<WindowConfig>;
}

/** One window of a validated schedule, including the idle windows that fill the gaps. */
export interface ScheduleWindow {
  /** Position in `Schedule.windows`. */
  readonly index: number;
  /** `null` = idle. */
  readonly partition: string | null;
  /** Start from the start of the major frame, in time-base units. */
  readonly offset: number;
  /** Length in time-base units. */
  readonly duration: number;
  /** offset + duration. */
  readonly end: number;
  /** Index in the configuration's `windows`; -1 for idle time the configuration left implicit. */
  readonly source: number;
}

/** A validated, normalised, frozen schedule, as returned by {@link validateSchedule}. */
export interface Schedule {
  /** The schedule's name. */
  readonly name: string;
  /** Unit of every time in this schedule. */
  readonly timeBase: TimeBase;
  /** Length of the repeating frame in time-base units. */
  readonly majorFrame: number;
  /** Sorted, tiling [0, majorFrame) with no gap. */
  readonly windows: ReadonlyArray<ScheduleWindow>;
  /** Partitions that own at least one window, sorted. */
  readonly partitions: ReadonlyArray<string>;
  /** Time per major frame, by partition. */
  readonly budgets: ReadonlyMap<string, number>;
  /** Idle time per major frame. */
  readonly idle: number;
}

/**
 * Check `config` and return the normalised, frozen schedule. Each problem is
 * a ConfigError with its own code and a message naming the schedule and window.
 */
export function validateSchedule(config: ScheduleConfig, knownPartitions: Iterable<string>): Schedule {
  const name = config.name;
  if (typeof name !== 'string' || !SCHEDULE_NAME_PATTERN.test(name)) {
    throw new ConfigError(SCHEDULE_BAD_NAME, `schedule name ${JSON.stringify(name)} must match ${SCHEDULE_NAME_PATTERN.source}`);
  }
  const where = `schedule ${name}`;
  if (config.timeBase !== 'instructions' && config.timeBase !== 'microseconds') {
    throw new ConfigError(SCHEDULE_BAD_TIME_BASE, `${where}: time base ${JSON.stringify(config.timeBase)} is neither "instructions" nor "microseconds"`);
  }
  const frame = config.majorFrame;
  if (!Number.isSafeInteger(frame) || frame <= 0) {
    throw new ConfigError(SCHEDULE_BAD_FRAME, `${where}: major frame ${String(frame)} is not a positive integer`);
  }
  if (!Array.isArray(config.windows)) {
    throw new ConfigError(SCHEDULE_BAD_WINDOW, `${where}: windows is not an array`);
  }
  const known = new Set(knownPartitions);

  const listed = config.windows.map((w, i) => {
    const label = describe(where, i, w);
    if (w === null || typeof w !== 'object' || (w.partition !== null && typeof w.partition !== 'string')) {
      throw new ConfigError(SCHEDULE_BAD_WINDOW, `${label}: partition must be a partition id or null (idle)`);
    }
    if (!Number.isSafeInteger(w.offset) || w.offset < 0 || !Number.isSafeInteger(w.duration) || w.duration < 0) {
      throw new ConfigError(SCHEDULE_BAD_WINDOW, `${label}: offset and duration must be non-negative integers`);
    }
    if (w.duration === 0) throw new ConfigError(SCHEDULE_ZERO_LENGTH, `${label} has zero length`);
    if (w.offset + w.duration > frame) {
      throw new ConfigError(SCHEDULE_OUTSIDE_FRAME, `${label} ends at ${w.offset + w.duration}, after the major frame of ${frame}`);
    }
    if (w.partition !== null && !known.has(w.partition)) {
      throw new ConfigError(SCHEDULE_UNKNOWN_PARTITION, `${label} names unknown partition ${w.partition}`);
    }
    return { partition: w.partition, offset: w.offset, duration: w.duration, source: i, label };
  });

  const sorted = listed.slice().sort((a, b) => a.offset - b.offset || a.source - b.source);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.offset < a.offset + a.duration) {
      const [first, second] = a.source < b.source ? [a, b] : [b, a];
      throw new ConfigError(SCHEDULE_OVERLAP, `${second.label} overlaps window ${first.source} (${first.offset}..${first.offset + first.duration})`);
    }
  }

  const windows: ScheduleWindow[] = [];
  const budgets = new Map<string, number>();
  let idle = 0;
  let t = 0;
  const push = (partition: string | null, offset: number, end: number, source: number): void => {
    const last = windows[windows.length - 1];
    if (partition === null) {
      idle += end - offset;
      // One idle window per gap keeps the run loop's per-window work minimal.
      if (last !== undefined && last.partition === null) {
        windows[windows.length - 1] = mk(last.index, null, last.offset, end, -1);
        return;
      }
    } else {
      budgets.set(partition, (budgets.get(partition) ?? 0) + end - offset);
    }
    windows.push(mk(windows.length, partition, offset, end, source));
  };
  for (const w of sorted) {
    if (w.offset > t) push(null, t, w.offset, -1);
    push(w.partition, w.offset, w.offset + w.duration, w.source);
    t = w.offset + w.duration;
  }
  if (t < frame) push(null, t, frame, -1);

  return Object.freeze({
    name,
    timeBase: config.timeBase,
    majorFrame: frame,
    windows: Object.freeze(windows),
    partitions: Object.freeze([...budgets.keys()].sort()),
    budgets: new ReadonlyMapView(budgets),
    idle,
  });
}

function mk(index: number, partition: string | null, offset: number, end: number, source: number): ScheduleWindow {
  return Object.freeze({ index, partition, offset, duration: end - offset, end, source });
}

function describe(where: string, i: number, w: WindowConfig | null | undefined): string {
  if (w === null || typeof w !== 'object') return `${where} window ${i}`;
  const who = w.partition === null ? 'idle' : `partition ${String(w.partition)}`;
  return `${where} window ${i} (${who} at ${String(w.offset)}+${String(w.duration)})`;
}

/** A Map that cannot be changed through its public type or at run time (frozen schedules). */
class ReadonlyMapView<K, V> implements ReadonlyMap<K, V> {
  readonly #map: Map<K, V>;
  constructor(map: Map<K, V>) {
    this.#map = map;
    Object.freeze(this);
  }
  get size(): number {
    return this.#map.size;
  }
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  has(key: K): boolean {
    return this.#map.has(key);
  }
  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    this.#map.forEach((v, k) => fn(v, k, this));
  }
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  keys(): MapIterator<K> {
    return this.#map.keys();
  }
  values(): MapIterator<V> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map[Symbol.iterator]();
  }
}
