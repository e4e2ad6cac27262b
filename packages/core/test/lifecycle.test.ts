import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionError, RvisorError } from '../src/errors.ts';
import { Emitter } from '../src/partition/events.ts';
import {
  Lifecycle,
  PARTITION_BAD_REASON,
  PARTITION_DESTROYED,
  PARTITION_ILLEGAL_TRANSITION,
  PARTITION_STATES,
  START_HEALTH_RESTART,
  START_HEALTH_RESTORE,
  START_MIGRATED,
  START_NORMAL,
  START_RESTART,
  START_RESTORED,
  canTransition,
} from '../src/partition/lifecycle.ts';
import type { LifecycleEvent, LifecycleEvents, PartitionState, TransitionReason } from '../src/partition/lifecycle.ts';

// The specification, written out independently of the implementation's table:
// rows = from, columns = to, in the order created running paused stopped faulted destroyed.
const SPEC: Record<PartitionState, string> = {
  created: '.YYY.Y',
  running: '..YYYY',
  paused: '.Y.Y.Y',
  stopped: '.YY..Y',
  faulted: '.YYY.Y',
  destroyed: '......',
};
const ORDER: PartitionState[] = ['created', 'running', 'paused', 'stopped', 'faulted', 'destroyed'];

/** A reason that fits each target state, so only the table decides. */
const REASON_FOR: Record<PartitionState, TransitionReason> = {
  created: 'started',
  running: 'resumed',
  paused: 'operator',
  stopped: 'operator',
  faulted: 'fault',
  destroyed: 'destroyed',
};

const FAULT = { pc: 0x1234, cause: 2, tval: 0xdead_beef };

function clock(): { now(): number; t: number } {
  return { t: 1000, now() { return this.t; } };
}

function go(lc: Lifecycle, to: PartitionState): LifecycleEvent {
  return to === 'faulted' ? lc.fail(FAULT) : lc.transition(to, REASON_FOR[to]);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, PartitionError);
    return (e as RvisorError).code;
  }
  assert.unreachable('no error thrown');
  return '';
}

const table = suite('lifecycle transition table');

table('the states are exactly the six of the design', () => {
  assert.equal([...PARTITION_STATES].sort(), [...ORDER].sort());
});

for (const from of ORDER) {
  for (const to of ORDER) {
    const legal = SPEC[from][ORDER.indexOf(to)] === 'Y';
    table(`${from} -> ${to} is ${legal ? 'legal' : 'illegal'}`, () => {
      assert.is(canTransition(from, to), legal);
      const events: LifecycleEvent[] = [];
      const lc = new Lifecycle('p1', { state: from, clock: clock() });
      lc.events.on('transition', (e) => events.push(e));
      assert.is(lc.can(to), legal);
      if (legal) {
        const e = go(lc, to);
        assert.is(lc.state, to);
        assert.equal(events, [e]);
        assert.equal([e.partition, e.from, e.to, e.seq, e.at], ['p1', from, to, 1, 1000]);
      } else {
        const expected = from === 'destroyed' ? PARTITION_DESTROYED : PARTITION_ILLEGAL_TRANSITION;
        const c = code(() => go(lc, to));
        assert.is(c, expected);
        assert.is(lc.state, from, 'state unchanged');
        assert.is(events.length, 0, 'no event for a refused transition');
      }
    });
  }
}

table.run();

// ---------------------------------------------------------------------------

const events = suite('lifecycle events and reasons');

events('the documented path emits one event per step with its reason', () => {
  const c = clock();
  const lc = new Lifecycle('gw-sensor', { clock: c });
  const log: string[] = [];
  lc.events.on('transition', (e) => log.push(`${e.seq}:${e.from}->${e.to}:${e.reason}@${e.at}`));
  lc.transition('running', 'started');
  c.t = 1005;
  lc.transition('paused', 'operator', 'paused from the CLI');
  lc.transition('running', 'resumed');
  lc.transition('stopped', 'exited');
  lc.transition('destroyed', 'destroyed');
  assert.equal(log, [
    '1:created->running:started@1000',
    '2:running->paused:operator@1005',
    '3:paused->running:resumed@1005',
    '4:running->stopped:exited@1005',
    '5:stopped->destroyed:destroyed@1005',
  ]);
  assert.is(code(() => lc.transition('running', 'restarted')), PARTITION_DESTROYED);
});

events('a fault is kept with the faulted state and as lastFault after a restart', () => {
  const lc = new Lifecycle('p', { clock: clock() });
  lc.transition('running', 'started');
  const e = lc.fail({ ...FAULT, message: 'load access fault' }, 'window 3');
  assert.equal(e.fault, { ...FAULT, message: 'load access fault' });
  assert.is(e.reason, 'fault');
  assert.is(e.detail, 'window 3');
  assert.equal(lc.fault, e.fault);
  lc.transition('running', 'health-restart');
  assert.is(lc.fault, undefined);
  assert.equal(lc.lastFault, e.fault);
});

events('faulted can only be entered through fail()', () => {
  const lc = new Lifecycle('p', { state: 'running' });
  assert.is(code(() => lc.transition('faulted', 'fault')), PARTITION_BAD_REASON);
  assert.is(lc.state, 'running');
});

events('a reason that does not lead to the target state is refused', () => {
  const bad: Array<[PartitionState, PartitionState, TransitionReason]> = [
    ['created', 'running', 'exited'],
    ['running', 'paused', 'started'],
    ['running', 'stopped', 'resumed'],
    ['paused', 'destroyed', 'operator'],
    ['faulted', 'running', 'health-stop'],
    ['running', 'stopped', 'bogus' as TransitionReason],
  ];
  for (const [from, to, reason] of bad) {
    const lc = new Lifecycle('p', { state: from });
    assert.is(code(() => lc.transition(to, reason)), PARTITION_BAD_REASON, `${from}->${to} ${reason}`);
    assert.is(lc.state, from);
  }
});

events('one emitter can serve many partitions', () => {
  const shared = new Emitter<LifecycleEvents>();
  const seen: string[] = [];
  shared.on('transition', (e) => seen.push(`${e.partition}:${e.to}`));
  const a = new Lifecycle('a', { events: shared });
  const b = new Lifecycle('b', { events: shared });
  a.transition('running', 'started');
  b.transition('running', 'started');
  b.transition('paused', 'operator');
  assert.equal(seen, ['a:running', 'b:running', 'b:paused']);
});

events('a throwing listener does not undo the transition', () => {
  const lc = new Lifecycle('p');
  lc.events.on('transition', () => {
    throw new Error('listener bug');
  });
  assert.throws(() => lc.transition('running', 'started'), /listener bug/);
  assert.is(lc.state, 'running');
});

events.run();

// ---------------------------------------------------------------------------

const start = suite('start condition');

start('each way of (re)starting sets its own start condition', () => {
  const cases: Array<[PartitionState, PartitionState, TransitionReason, number]> = [
    ['created', 'running', 'started', START_NORMAL],
    ['stopped', 'running', 'restarted', START_RESTART],
    ['faulted', 'running', 'health-restart', START_HEALTH_RESTART],
    ['faulted', 'running', 'health-restore', START_HEALTH_RESTORE],
    ['created', 'paused', 'restored', START_RESTORED],
    ['created', 'paused', 'migrated', START_MIGRATED],
  ];
  const values = new Set<number>();
  for (const [from, to, reason, expected] of cases) {
    const lc = new Lifecycle('p', { state: from, startCondition: 99 });
    const e = lc.transition(to, reason);
    assert.is(lc.startCondition, expected, reason);
    assert.is(e.startCondition, expected);
    values.add(expected);
  }
  assert.is(values.size, cases.length, 'the numbers are distinct');
  for (const v of values) assert.ok(Number.isInteger(v) && v >= 0, 'a small non-negative integer for a0');
});

start('pause, resume and stop keep the start condition of the current run', () => {
  const lc = new Lifecycle('p', { state: 'faulted' });
  lc.transition('running', 'health-restart');
  lc.transition('paused', 'operator');
  lc.transition('running', 'resumed');
  lc.transition('stopped', 'operator');
  assert.is(lc.startCondition, START_HEALTH_RESTART);
  lc.transition('destroyed', 'migrated');
  assert.is(lc.startCondition, START_HEALTH_RESTART, 'leaving by migration does not restart anything');
});

start('a new partition starts with NORMAL_START', () => {
  assert.is(new Lifecycle('p').startCondition, START_NORMAL);
});

start.run();
