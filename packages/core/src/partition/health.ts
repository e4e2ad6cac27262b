/**
 * The health monitor: a table from error event to recovery action, per
 * partition, with a limit on restarts so a partition that faults at start-up
 * does not restart forever (it is stopped once the limit is reached).
 *
 * The monitor only decides; the hypervisor carries the action out (and falls
 * back from `restore` to `restart` when there is no snapshot). Time comes from
 * an injected clock so tests and deterministic runs can step it.
 */

import { ConfigError } from '../errors.ts';
import { Emitter } from './events.ts';

/** An event name not in HEALTH_EVENTS. */
export const HEALTH_BAD_EVENT = 'HEALTH_BAD_EVENT';
/** An action name not in HEALTH_ACTIONS. */
export const HEALTH_BAD_ACTION = 'HEALTH_BAD_ACTION';
/** A restart limit whose max is not a non-negative integer or whose window is not positive. */
export const HEALTH_BAD_LIMIT = 'HEALTH_BAD_LIMIT';

/**
 * A partition health problem the hypervisor reports: an unhandled guest fault, a window's instruction budget overrun,
 * console output over its rate limit, or a missed deadline.
 */
export type HealthEvent = 'guest-fault' | 'budget-overrun' | 'console-flood' | 'deadline-miss';
/**
 * What to do about a health event: nothing, log it, stop the partition, cold-restart it from its image, or restart it
 * from its last snapshot.
 */
export type HealthAction = 'ignore' | 'log' | 'stop' | 'restart' | 'restore';

/** Every {@link HealthEvent}, for validating policy tables. */
export const HEALTH_EVENTS: ReadonlyArray<HealthEvent> = ['guest-fault', 'budget-overrun', 'console-flood', 'deadline-miss'];
/** `restart` = cold restart from the image; `restore` = restart from the last snapshot. */
export const HEALTH_ACTIONS: ReadonlyArray<HealthAction> = ['ignore', 'log', 'stop', 'restart', 'restore'];

/** A complete recovery table: the action for each health event. */
export type HealthTable = Readonly<Record<HealthEvent, HealthAction>>;

/**
 * Defaults: a fault stops the partition and keeps it for inspection; the
 * others are symptoms the schedule already contains (the window ends, the
 * console is rate-limited), so they are only logged.
 */
export const DEFAULT_HEALTH_TABLE: HealthTable = /* @__PURE__ */ Object.freeze({
  'guest-fault': 'stop',
  'budget-overrun': 'log',
  'console-flood': 'log',
  'deadline-miss': 'log',
});

/** At most `max` restarts (of either kind) within any `window` of clock time. */
export interface RestartLimit {
  /** Maximum restarts allowed in the window; a further restart becomes `stop`. */
  readonly max: number;
  /** Length of the sliding window, in the monitor's clock units (milliseconds by default). */
  readonly window: number;
}

/** 3 restarts per 60 s, with a millisecond clock. */
export const DEFAULT_RESTART_LIMIT: RestartLimit = /* @__PURE__ */ Object.freeze({ max: 3, window: 60_000 });

/** A partition's (or the monitor's default) recovery policy; unset fields fall back to the defaults. */
export interface HealthPolicy {
  /** Actions to override, by event. */
  table?: Partial<Record<HealthEvent, HealthAction>>;
  /** Restart limit to use instead of the default. */
  restartLimit?: RestartLimit;
}

/** The monitor's verdict on one reported health event, also emitted as the `decision` event. */
export interface HealthDecision {
  /** Id of the partition the event concerns. */
  readonly partition: string;
  /** The reported event. */
  readonly event: HealthEvent;
  /** What the table says. */
  readonly configured: HealthAction;
  /** What to do: `configured`, or `stop` when the restart limit was reached. */
  readonly action: HealthAction;
  /** True when the restart limit turned a restart or restore into `stop`. */
  readonly limited: boolean;
  /** Restarts counted in the current limit window, including this one if it restarts. */
  readonly restarts: number;
  /** Free-form context given by the reporter. */
  readonly detail: string | undefined;
  /** The monitor clock's `now()` when the event was reported. */
  readonly at: number;
}

/** Events of a health monitor: `decision` after every reported event. */
export type HealthEvents = {
  /** After every reported health event. */
  decision: HealthDecision;
};

/** Options for {@link HealthMonitor}'s constructor. */
export interface HealthMonitorOptions {
  /** Time source for restart windows and `at`; `now()` in milliseconds. Default `performance.now()`. */
  clock?: {
    /** Current time in milliseconds. */
    now(): number;
  };
  /** Defaults for every partition (merged over DEFAULT_HEALTH_TABLE / DEFAULT_RESTART_LIMIT). */
  policy?: HealthPolicy;
  /** Emitter for `decision` events, e.g. one shared with the embedder. Default: a new emitter. */
  events?: Emitter<HealthEvents>;
}

interface Resolved {
  table: HealthTable;
  restartLimit: RestartLimit;
}

/** @internal An opaque reference to one partition's health record; see {@link HealthMonitor.handle}. */
export type HealthHandle = object;

interface PartitionRecord {
  policy: HealthPolicy | undefined;
  /** `policy` merged over the defaults, resolved once when it is set. */
  resolved: Resolved | undefined;
  /** Times of restarts still inside the limit window, oldest first. */
  restarts: number[];
  counts: Record<HealthEvent, number>;
}

/**
 * Decides the recovery action for each partition health event from a per-partition table, enforcing a restart limit.
 */
export class HealthMonitor {
  /** Where `decision` events are emitted. */
  readonly events: Emitter<HealthEvents>;
  private readonly clock: { now(): number };
  private readonly base: Resolved;
  private readonly parts = new Map<string, PartitionRecord>();
  /** Cached listenerCount('decision') > 0, valid while events.revision === seenRevision. */
  private deciding = false;
  private seenRevision = -1;

  /**
   * Create a monitor whose defaults are `options.policy` over the built-in defaults.
   * @throws ConfigError `HEALTH_BAD_EVENT`, `HEALTH_BAD_ACTION` or `HEALTH_BAD_LIMIT` when `options.policy` is
   * invalid.
   */
  constructor(options: HealthMonitorOptions = {}) {
    this.clock = options.clock ?? { now: () => performance.now() };
    this.events = options.events ?? new Emitter();
    this.base = resolve({ table: DEFAULT_HEALTH_TABLE, restartLimit: DEFAULT_RESTART_LIMIT }, options.policy, 'default policy');
  }

  /** Override the defaults for one partition (undefined = back to defaults). */
  setPolicy(partition: string, policy: HealthPolicy | undefined): void {
    const resolved = policy === undefined ? undefined : resolve(this.base, policy, `partition ${partition}`);
    const rec = this.record(partition);
    rec.policy = policy;
    rec.resolved = resolved;
  }

  /** The effective table and restart limit for `partition` (its override merged over the defaults). */
  policyOf(partition: string): { table: HealthTable; restartLimit: RestartLimit } {
    return this.parts.get(partition)?.resolved ?? this.base;
  }

  /**
   * Count `event` for `partition` without a decision or an event, when its
   * configured action is `ignore` or `log` and nobody listens: the cheap path
   * for events that happen every window (budget overruns of compute guests).
   * Returns false (and counts nothing) when a full {@link decide} is needed.
   */
  tally(event: HealthEvent, partition: string): boolean {
    return this.tallyOn(this.record(partition), event);
  }

  /**
   * @internal The record tally() and decide() keep for `partition`, for a
   * caller that tallies every window and would rather not look it up each time.
   * Valid until forget(partition).
   */
  handle(partition: string): HealthHandle {
    return this.record(partition);
  }

  /** @internal tally() on a handle from {@link HealthMonitor.handle}. */
  tallyOn(handle: HealthHandle, event: HealthEvent): boolean {
    const rec = handle as PartitionRecord;
    const action = (rec.resolved ?? this.base).table[event];
    if (action !== 'ignore' && action !== 'log') return false;
    if (this.events.revision !== this.seenRevision) {
      this.seenRevision = this.events.revision;
      this.deciding = this.events.listenerCount('decision') > 0;
    }
    if (this.deciding) return false;
    rec.counts[event]++;
    return true;
  }

  /** Record `event` for `partition` and return what to do about it. */
  report(event: HealthEvent, partition: string, detail?: string): HealthAction {
    return this.decide(event, partition, detail).action;
  }

  /** Like report(), with the whole decision. */
  decide(event: HealthEvent, partition: string, detail?: string): HealthDecision {
    if (!HEALTH_EVENTS.includes(event)) throw new ConfigError(HEALTH_BAD_EVENT, `unknown health event ${String(event)}`);
    const rec = this.record(partition);
    const { table, restartLimit } = this.policyOf(partition);
    const now = this.clock.now();
    rec.counts[event]++;
    const configured = table[event];
    let action = configured;
    let limited = false;
    const live = this.prune(rec, restartLimit, now);
    if (configured === 'restart' || configured === 'restore') {
      if (live.length >= restartLimit.max) {
        action = 'stop';
        limited = true;
      } else {
        live.push(now);
      }
    }
    const decision: HealthDecision = Object.freeze({ partition, event, configured, action, limited, restarts: live.length, detail, at: now });
    this.events.emit('decision', decision);
    return decision;
  }

  /** Restarts inside the current limit window. */
  restartsInWindow(partition: string): number {
    const rec = this.parts.get(partition);
    if (rec === undefined) return 0;
    return this.prune(rec, this.policyOf(partition).restartLimit, this.clock.now()).length;
  }

  /** How often each event was reported for `partition`. */
  counts(partition: string): Record<HealthEvent, number> {
    return { ...(this.parts.get(partition)?.counts ?? zeroCounts()) };
  }

  /** Drop everything about `partition` (it was destroyed). */
  forget(partition: string): void {
    this.parts.delete(partition);
  }

  private record(partition: string): PartitionRecord {
    let rec = this.parts.get(partition);
    if (rec === undefined) {
      rec = { policy: undefined, resolved: undefined, restarts: [], counts: zeroCounts() };
      this.parts.set(partition, rec);
    }
    return rec;
  }

  private prune(rec: PartitionRecord, limit: RestartLimit, now: number): number[] {
    // A restart at time t counts while now - t < window.
    let drop = 0;
    while (drop < rec.restarts.length && now - rec.restarts[drop]! >= limit.window) drop++;
    if (drop > 0) rec.restarts.splice(0, drop);
    return rec.restarts;
  }
}

function zeroCounts(): Record<HealthEvent, number> {
  return { 'guest-fault': 0, 'budget-overrun': 0, 'console-flood': 0, 'deadline-miss': 0 };
}

function resolve(base: Resolved, policy: HealthPolicy | undefined, where: string): Resolved {
  if (policy === undefined) return base;
  const table: Record<HealthEvent, HealthAction> = { ...base.table };
  for (const [event, action] of Object.entries(policy.table ?? {})) {
    if (!HEALTH_EVENTS.includes(event as HealthEvent)) throw new ConfigError(HEALTH_BAD_EVENT, `${where}: unknown health event ${event}`);
    if (!HEALTH_ACTIONS.includes(action as HealthAction)) {
      throw new ConfigError(HEALTH_BAD_ACTION, `${where}: unknown action ${String(action)} for ${event}`);
    }
    table[event as HealthEvent] = action as HealthAction;
  }
  const limit = policy.restartLimit ?? base.restartLimit;
  if (!Number.isSafeInteger(limit.max) || limit.max < 0 || !(limit.window > 0)) {
    throw new ConfigError(HEALTH_BAD_LIMIT, `${where}: restart limit ${String(limit.max)} per ${String(limit.window)} is not a count per positive time window`);
  }
  return { table: Object.freeze(table), restartLimit: Object.freeze({ max: limit.max, window: limit.window }) };
}
