/**
 * The lifecycle state machine of one partition.
 *
 *   created -> running <-> paused -> stopped      destroyed is final
 *                 |                                faulted holds the guest fault
 *                 +-> faulted -> running (restart) | paused (restore) | stopped
 *
 * Every transition carries a reason and is emitted as an event after the
 * state has changed. Transitions the table does not allow, and reasons that
 * make no sense for the target state, are PartitionErrors: the event stream
 * an embedder records is then always a valid path through the table.
 */

import { PartitionError } from '../errors.ts';
import { Emitter } from './events.ts';

/** The table does not allow this transition. */
export const PARTITION_ILLEGAL_TRANSITION = 'PARTITION_ILLEGAL_TRANSITION';
/** Any transition requested on a destroyed partition. */
export const PARTITION_DESTROYED = 'PARTITION_DESTROYED';
/** The reason does not apply to the target state (or `faulted` without a fault). */
export const PARTITION_BAD_REASON = 'PARTITION_BAD_REASON';

/** A partition's lifecycle state; see the module's transition diagram. */
export type PartitionState = 'created' | 'running' | 'paused' | 'stopped' | 'faulted' | 'destroyed';

/** Every {@link PartitionState}, in lifecycle order (for validation and UIs). */
export const PARTITION_STATES: ReadonlyArray<PartitionState> = ['created', 'running', 'paused', 'stopped', 'faulted', 'destroyed'];

/** Allowed targets, by source state. Self transitions are never allowed. */
export const TRANSITIONS: Readonly<Record<PartitionState, ReadonlyArray<PartitionState>>> = /* @__PURE__ */ Object.freeze({
  created: ['running', 'paused', 'stopped', 'destroyed'],
  running: ['paused', 'stopped', 'faulted', 'destroyed'],
  paused: ['running', 'stopped', 'destroyed'],
  stopped: ['running', 'paused', 'destroyed'],
  faulted: ['running', 'paused', 'stopped', 'destroyed'],
  destroyed: [],
});

/** Why a lifecycle transition happened; each reason is only valid for certain target states. */
export type TransitionReason =
  | 'started' // first start after creation
  | 'resumed' // paused -> running
  | 'operator' // pause or stop asked for by the embedder, CLI or fleet
  | 'exited' // the guest exited or powered off
  | 'fault' // unhandled guest fault
  | 'restarted' // cold restart asked for by the operator
  | 'health-restart' // cold restart decided by the health monitor
  | 'health-restore' // restart from the last snapshot decided by the health monitor
  | 'health-stop' // stop decided by the health monitor
  | 'restored' // state restored from a snapshot
  | 'migrated' // arrived from (or left to) another host
  | 'destroyed'; // removed by the operator

/** Target states each reason may lead to. */
export const REASON_TARGETS: Readonly<Record<TransitionReason, ReadonlyArray<PartitionState>>> = /* @__PURE__ */ Object.freeze({
  started: ['running'],
  resumed: ['running'],
  operator: ['paused', 'stopped'],
  exited: ['stopped'],
  fault: ['faulted'],
  restarted: ['running', 'paused'],
  'health-restart': ['running'],
  'health-restore': ['running'],
  'health-stop': ['stopped'],
  restored: ['running', 'paused'],
  migrated: ['running', 'paused', 'destroyed'],
  destroyed: ['destroyed'],
});

// Start conditions: why the guest's current run began, readable by the guest
// through a hypercall (ARINC 653 GET_PARTITION_STATUS.START_CONDITION).
/** Start condition: the partition's first start after creation. */
export const START_NORMAL = 0;
/** Start condition: cold restart asked for by the operator. */
export const START_RESTART = 1;
/** Start condition: cold restart decided by the health monitor. */
export const START_HEALTH_RESTART = 2;
/** Start condition: restart from the last snapshot decided by the health monitor. */
export const START_HEALTH_RESTORE = 3;
/** Start condition: the state was restored from a snapshot. */
export const START_RESTORED = 4;
/** Start condition: the partition arrived from another host. */
export const START_MIGRATED = 5;

/** Reasons that begin a new run, and the start condition each sets. */
const START_CONDITIONS: Partial<Record<TransitionReason, number>> = /* @__PURE__ */ Object.freeze({
  started: START_NORMAL,
  restarted: START_RESTART,
  'health-restart': START_HEALTH_RESTART,
  'health-restore': START_HEALTH_RESTORE,
  restored: START_RESTORED,
  migrated: START_MIGRATED,
});

/** An unhandled guest trap, as the VM reports it. */
export interface FaultInfo {
  /** Guest address of the faulting instruction. */
  readonly pc: number;
  /** RISC-V `mcause` value (a `CAUSE_*` code). */
  readonly cause: number;
  /** RISC-V `mtval` value: the faulting address or instruction bits. */
  readonly tval: number;
  /** Human-readable description of the fault. */
  readonly message?: string;
}

/** One lifecycle transition of one partition, emitted as the `transition` event after the state changed. */
export interface LifecycleEvent {
  /** Id of the partition. */
  readonly partition: string;
  /** State before the transition. */
  readonly from: PartitionState;
  /** State after the transition. */
  readonly to: PartitionState;
  /** Why the transition happened. */
  readonly reason: TransitionReason;
  /** Free-form explanation supplied by whoever requested the transition. */
  readonly detail: string | undefined;
  /** Set when `to` is `faulted`. */
  readonly fault: FaultInfo | undefined;
  /** Start condition after the transition. */
  readonly startCondition: number;
  /** Per-partition counter, from 1: lets a listener spot a gap. */
  readonly seq: number;
  /** The clock's now() at the transition. */
  readonly at: number;
}

/** Events of a lifecycle emitter: `transition` after every state change. */
export type LifecycleEvents = {
  /** After every state change. */
  transition: LifecycleEvent;
};

/** Options for {@link Lifecycle}'s constructor. */
export interface LifecycleOptions {
  /** Share one emitter among all partitions so an embedder subscribes once. */
  events?: Emitter<LifecycleEvents>;
  /** Time source for {@link LifecycleEvent.at}; `now()` returns milliseconds. Default `Date.now()`. */
  clock?: {
    /** Current time in milliseconds. */
    now(): number;
  };
  /** Restoring a partition's lifecycle from a snapshot. Default 'created'. */
  state?: PartitionState;
  /** Start condition to restore with `state` (a `START_*` value). Default {@link START_NORMAL}. */
  startCondition?: number;
}

/** True when the transition table allows going from `from` to `to` (self transitions never are). */
export function canTransition(from: PartitionState, to: PartitionState): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

/** The lifecycle state machine of one partition: enforces the transition table and emits every change. */
export class Lifecycle {
  /** Id of the partition this lifecycle belongs to. */
  readonly partition: string;
  /** Where `transition` events are emitted (possibly shared with other partitions). */
  readonly events: Emitter<LifecycleEvents>;
  private st: PartitionState;
  private cond: number;
  private flt: FaultInfo | undefined;
  private last: FaultInfo | undefined;
  private seq = 0;
  private readonly clock: { now(): number };

  /** Create the lifecycle of partition `partition`, in `options.state` (default `created`). */
  constructor(partition: string, options: LifecycleOptions = {}) {
    this.partition = partition;
    this.events = options.events ?? new Emitter();
    this.clock = options.clock ?? { now: () => Date.now() };
    this.st = options.state ?? 'created';
    this.cond = options.startCondition ?? START_NORMAL;
  }

  /** The current state. */
  get state(): PartitionState {
    return this.st;
  }

  /** Why the current run began: one of the START_* numbers. */
  get startCondition(): number {
    return this.cond;
  }

  /** The fault while `faulted`, else undefined. */
  get fault(): FaultInfo | undefined {
    return this.flt;
  }

  /** The most recent fault, kept across restarts for inspection. */
  get lastFault(): FaultInfo | undefined {
    return this.last;
  }

  /** True when the current state may go to `to`. */
  can(to: PartitionState): boolean {
    return canTransition(this.st, to);
  }

  /**
   * Move to `to` for `reason` and emit the event; use {@link Lifecycle.fail} to enter `faulted`.
   * @throws PartitionError `PARTITION_DESTROYED` when destroyed, `PARTITION_ILLEGAL_TRANSITION` when the table
   * forbids it, `PARTITION_BAD_REASON` when `reason` does not lead to `to` or `to` is `faulted`.
   */
  transition(to: PartitionState, reason: TransitionReason, detail?: string): LifecycleEvent {
    if (to === 'faulted') {
      throw new PartitionError(PARTITION_BAD_REASON, `partition ${this.partition}: use fail() to enter faulted, with the fault`);
    }
    return this.apply(to, reason, detail, undefined);
  }

  /** Enter `faulted` with the guest fault that caused it. */
  fail(fault: FaultInfo, detail?: string): LifecycleEvent {
    return this.apply('faulted', 'fault', detail, Object.freeze({ ...fault }));
  }

  private apply(to: PartitionState, reason: TransitionReason, detail: string | undefined, fault: FaultInfo | undefined): LifecycleEvent {
    const from = this.st;
    if (from === 'destroyed') {
      throw new PartitionError(PARTITION_DESTROYED, `partition ${this.partition} is destroyed; cannot go to ${to}`);
    }
    if (!canTransition(from, to)) {
      throw new PartitionError(PARTITION_ILLEGAL_TRANSITION, `partition ${this.partition} cannot go from ${from} to ${to}`);
    }
    if (!(REASON_TARGETS[reason]?.includes(to) ?? false)) {
      throw new PartitionError(PARTITION_BAD_REASON, `partition ${this.partition}: reason ${String(reason)} does not lead to ${to}`);
    }
    this.st = to;
    this.flt = fault;
    if (fault !== undefined) this.last = fault;
    const cond = START_CONDITIONS[reason];
    if (cond !== undefined && to !== 'destroyed') this.cond = cond;
    const event: LifecycleEvent = Object.freeze({
      partition: this.partition,
      from,
      to,
      reason,
      detail,
      fault,
      startCondition: this.cond,
      seq: ++this.seq,
      at: this.clock.now(),
    });
    this.events.emit('transition', event);
    return event;
  }
}
