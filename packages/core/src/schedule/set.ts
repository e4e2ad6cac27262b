/**
 * Named schedules and the walk through them.
 *
 * Exactly one schedule is current. A switch requested at any time is held as
 * pending and takes effect at the next major-frame boundary (ARINC 653
 * SET_SCHEDULE semantics), so a frame always runs to completion under one
 * plan and every partition gets the budget that plan promised.
 *
 * `next()` yields windows in order forever; the run loop (elsewhere) runs
 * each one. Switching between time bases is refused: a deterministic run
 * must stay deterministic.
 */

import { ConfigError } from '../errors.ts';
import { Emitter } from '../partition/events.ts';
import type { Schedule, ScheduleConfig, ScheduleWindow, TimeBase } from './frame.ts';
import { validateSchedule } from './frame.ts';

/** A set needs at least one schedule. */
export const SCHEDULE_SET_EMPTY = 'SCHEDULE_SET_EMPTY';
/** Two schedules with the same name. */
export const SCHEDULE_EXISTS = 'SCHEDULE_EXISTS';
/** A switch (or the initial schedule) names a schedule the set does not have. */
export const SCHEDULE_UNKNOWN = 'SCHEDULE_UNKNOWN';
/** seek() got a position that does not fit the named schedule. */
export const SCHEDULE_BAD_POSITION = 'SCHEDULE_BAD_POSITION';
/** Schedules of one set must share a time base. */
export const SCHEDULE_TIME_BASE_MISMATCH = 'SCHEDULE_TIME_BASE_MISMATCH';

/** One window to run, with where it sits in absolute time. */
export interface Slot {
  /** The schedule the window belongs to. */
  readonly schedule: Schedule;
  /** The window to run. */
  readonly window: ScheduleWindow;
  /** Major frames completed before this one (0 for the first). */
  readonly frame: number;
  /** Absolute start, in the time base: sum of earlier frames + window offset. */
  readonly start: number;
}

/** A schedule switch that took effect at a major-frame boundary, emitted as the `switch` event. */
export interface ScheduleSwitch {
  /** Name of the schedule that ran until the boundary. */
  readonly from: string;
  /** Name of the schedule that runs from the boundary on. */
  readonly to: string;
  /** The frame number that is the first to run under `to`. */
  readonly frame: number;
  /** Absolute time (time base units) of that frame's start. */
  readonly at: number;
}

/** Where the walk is; enough to resume it elsewhere (snapshots, migration). */
export interface SchedulePosition {
  /** Name of the current schedule. */
  readonly schedule: string;
  /** Name of the schedule a requested switch will move to, or null. */
  readonly pending: string | null;
  /** Frame number of the last window returned; -1 before the first next(). */
  readonly frame: number;
  /** Index of the last window returned in its schedule; -1 before the first next(). */
  readonly window: number;
  /** Absolute start of that frame. */
  readonly frameStart: number;
}

/** Events of a schedule set: `switch` when a pending switch takes effect. */
export type ScheduleSetEvents = {
  /** When a requested switch takes effect at a frame boundary. */
  switch: ScheduleSwitch;
};

/**
 * A set of named schedules sharing one time base, and the endless walk through the current one's windows; switches
 * take effect at major-frame boundaries.
 */
export class ScheduleSet {
  /** The time base every schedule of the set uses. */
  readonly timeBase: TimeBase;
  /** Where `switch` events are emitted. */
  readonly events: Emitter<ScheduleSetEvents>;
  private readonly byName = new Map<string, Schedule>();
  private cur: Schedule;
  private pend: Schedule | null = null;
  private frame = -1;
  private win = -1;
  private frameStart = 0;
  /** The one slot advance() fills in. */
  private readonly slot: { schedule: Schedule; window: ScheduleWindow; frame: number; start: number };

  /** `initial` defaults to the first schedule. */
  constructor(schedules: ReadonlyArray<Schedule>, initial?: string, events: Emitter<ScheduleSetEvents> = new Emitter()) {
    if (schedules.length === 0) throw new ConfigError(SCHEDULE_SET_EMPTY, 'a schedule set needs at least one schedule');
    this.timeBase = schedules[0]!.timeBase;
    for (const s of schedules) this.add(s);
    const first = initial === undefined ? schedules[0]! : this.byName.get(initial);
    if (first === undefined) throw new ConfigError(SCHEDULE_UNKNOWN, `initial schedule ${initial} is not in the set`);
    this.cur = first;
    this.events = events;
    this.slot = { schedule: first, window: first.windows[0]!, frame: -1, start: 0 };
  }

  /** Validate every configuration against `knownPartitions` and build the set. */
  static from(configs: ReadonlyArray<ScheduleConfig>, knownPartitions: Iterable<string>, initial?: string): ScheduleSet {
    const known = [...knownPartitions];
    return new ScheduleSet(configs.map((c) => validateSchedule(c, known)), initial);
  }

  /**
   * Add a validated schedule to the set.
   * @throws ConfigError `SCHEDULE_EXISTS` for a duplicate name, `SCHEDULE_TIME_BASE_MISMATCH` for another time base.
   */
  add(schedule: Schedule): void {
    if (this.byName.has(schedule.name)) throw new ConfigError(SCHEDULE_EXISTS, `schedule ${schedule.name} is defined twice`);
    if (schedule.timeBase !== this.timeBase) {
      throw new ConfigError(SCHEDULE_TIME_BASE_MISMATCH, `schedule ${schedule.name} counts ${schedule.timeBase}, the set counts ${this.timeBase}`);
    }
    this.byName.set(schedule.name, schedule);
  }

  /** The schedule whose frame is running (or will run first). */
  get current(): Schedule {
    return this.cur;
  }

  /** The schedule a requested switch will move to at the next frame boundary, or null. */
  get pending(): Schedule | null {
    return this.pend;
  }

  /** The schedule called `name`, or undefined. */
  get(name: string): Schedule | undefined {
    return this.byName.get(name);
  }

  /** Names of all schedules, in the order they were added. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Names of schedules in which `partition` owns a window. */
  uses(partition: string): string[] {
    return [...this.byName.values()].filter((s) => s.budgets.has(partition)).map((s) => s.name);
  }

  /**
   * Switch to `name` at the next major-frame boundary (or at the first
   * next() if the walk has not started). Asking for the current schedule
   * cancels a pending switch; a later request replaces an earlier one.
   */
  requestSwitch(name: string): void {
    const s = this.byName.get(name);
    if (s === undefined) throw new ConfigError(SCHEDULE_UNKNOWN, `cannot switch to unknown schedule ${name}`);
    this.pend = s === this.cur ? null : s;
  }

  /** The next window to run. Applies a pending switch when a new frame begins. */
  next(): Slot {
    const s = this.advance();
    return { schedule: s.schedule, window: s.window, frame: s.frame, start: s.start };
  }

  /**
   * @internal next() for the hypervisor's window loop, which runs thousands of
   * windows a second: the same object every time, overwritten by the next call.
   */
  advance(): Slot {
    let w = this.win + 1;
    if (this.frame < 0 || w >= this.cur.windows.length) {
      if (this.frame >= 0) this.frameStart += this.cur.majorFrame;
      this.frame++;
      w = 0;
      const p = this.pend;
      if (p !== null) {
        const from = this.cur.name;
        this.cur = p;
        this.pend = null;
        this.events.emit('switch', { from, to: p.name, frame: this.frame, at: this.frameStart });
      }
    }
    this.win = w;
    const slot = this.slot;
    const window = this.cur.windows[w]!;
    slot.schedule = this.cur;
    slot.window = window;
    slot.frame = this.frame;
    slot.start = this.frameStart + window.offset;
    return slot;
  }

  /** Where the walk is, for a snapshot; {@link ScheduleSet.seek} resumes it. */
  position(): SchedulePosition {
    return { schedule: this.cur.name, pending: this.pend?.name ?? null, frame: this.frame, window: this.win, frameStart: this.frameStart };
  }

  /** Resume a walk saved by position(); the next() after it returns the window after `window`. */
  seek(pos: SchedulePosition): void {
    const s = this.byName.get(pos.schedule);
    if (s === undefined) throw new ConfigError(SCHEDULE_UNKNOWN, `position names unknown schedule ${pos.schedule}`);
    const p = pos.pending === null ? null : this.byName.get(pos.pending);
    if (p === undefined) throw new ConfigError(SCHEDULE_UNKNOWN, `position names unknown pending schedule ${pos.pending}`);
    const validFrame = Number.isSafeInteger(pos.frame) && pos.frame >= -1;
    const validWindow = Number.isSafeInteger(pos.window) && pos.window >= -1 && pos.window < s.windows.length && (pos.window === -1) === (pos.frame === -1);
    if (!validFrame || !validWindow || !Number.isSafeInteger(pos.frameStart) || pos.frameStart < 0) {
      throw new ConfigError(SCHEDULE_BAD_POSITION, `position frame ${pos.frame} window ${pos.window} does not fit schedule ${s.name}`);
    }
    this.cur = s;
    this.pend = p;
    this.frame = pos.frame;
    this.win = pos.window;
    this.frameStart = pos.frameStart;
  }
}
