import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, RvisorError } from '../src/errors.ts';
import {
  DEFAULT_HEALTH_TABLE,
  DEFAULT_RESTART_LIMIT,
  HEALTH_ACTIONS,
  HEALTH_BAD_ACTION,
  HEALTH_BAD_EVENT,
  HEALTH_BAD_LIMIT,
  HEALTH_EVENTS,
  HealthMonitor,
} from '../src/partition/health.ts';
import type { HealthAction, HealthDecision, HealthEvent } from '../src/partition/health.ts';

function manualClock(t = 0): { now(): number; t: number } {
  return { t, now() { return this.t; } };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as RvisorError).code;
  }
  assert.unreachable('no error thrown');
  return '';
}

const table = suite('health table');

table('defaults: a fault stops, the other events are logged', () => {
  const hm = new HealthMonitor({ clock: manualClock() });
  assert.is(hm.report('guest-fault', 'p'), 'stop');
  assert.is(hm.report('budget-overrun', 'p'), 'log');
  assert.is(hm.report('console-flood', 'p'), 'log');
  assert.is(hm.report('deadline-miss', 'p'), 'log');
  assert.equal(DEFAULT_RESTART_LIMIT, { max: 3, window: 60_000 });
});

table('every event can be mapped to every action', () => {
  for (const event of HEALTH_EVENTS) {
    for (const action of HEALTH_ACTIONS) {
      const hm = new HealthMonitor({ clock: manualClock(), policy: { table: { [event]: action } } });
      assert.is(hm.report(event, 'p'), action, `${event} -> ${action}`);
      for (const other of HEALTH_EVENTS) {
        if (other !== event) assert.is(hm.report(other, 'q'), DEFAULT_HEALTH_TABLE[other], 'other rows keep their default');
      }
    }
  }
});

table('a per-partition policy overrides the defaults for that partition only', () => {
  const hm = new HealthMonitor({ clock: manualClock(), policy: { table: { 'guest-fault': 'restart' } } });
  hm.setPolicy('critical', { table: { 'guest-fault': 'restore', 'deadline-miss': 'stop' } });
  assert.is(hm.report('guest-fault', 'critical'), 'restore');
  assert.is(hm.report('deadline-miss', 'critical'), 'stop');
  assert.is(hm.report('guest-fault', 'other'), 'restart');
  hm.setPolicy('critical', undefined);
  assert.is(hm.report('deadline-miss', 'critical'), 'log');
});

table('bad tables and limits are typed configuration errors', () => {
  const hm = new HealthMonitor();
  assert.is(code(() => new HealthMonitor({ policy: { table: { 'cpu-on-fire': 'stop' } as unknown as Record<HealthEvent, HealthAction> } })), HEALTH_BAD_EVENT);
  assert.is(code(() => new HealthMonitor({ policy: { table: { 'guest-fault': 'panic' as HealthAction } } })), HEALTH_BAD_ACTION);
  assert.is(code(() => hm.setPolicy('p', { restartLimit: { max: -1, window: 10 } })), HEALTH_BAD_LIMIT);
  assert.is(code(() => hm.setPolicy('p', { restartLimit: { max: 1, window: 0 } })), HEALTH_BAD_LIMIT);
  assert.is(code(() => hm.setPolicy('p', { restartLimit: { max: 1.5, window: 10 } })), HEALTH_BAD_LIMIT);
  assert.is(code(() => hm.report('meltdown' as HealthEvent, 'p')), HEALTH_BAD_EVENT);
  assert.is(hm.report('guest-fault', 'p'), 'stop', 'a refused policy was not installed');
});

table('decisions are emitted and counted', () => {
  const c = manualClock(42);
  const hm = new HealthMonitor({ clock: c });
  const seen: HealthDecision[] = [];
  hm.events.on('decision', (d) => seen.push(d));
  hm.report('console-flood', 'p', '4 KiB in one window');
  hm.report('console-flood', 'p');
  hm.report('guest-fault', 'p');
  assert.equal(seen[0], { partition: 'p', event: 'console-flood', configured: 'log', action: 'log', limited: false, restarts: 0, detail: '4 KiB in one window', at: 42 });
  assert.equal(hm.counts('p'), { 'guest-fault': 1, 'budget-overrun': 0, 'console-flood': 2, 'deadline-miss': 0 });
  hm.forget('p');
  assert.equal(hm.counts('p'), { 'guest-fault': 0, 'budget-overrun': 0, 'console-flood': 0, 'deadline-miss': 0 });
});

table.run();

// ---------------------------------------------------------------------------

const limit = suite('health restart limit');

limit('restarts beyond the limit inside the window become stop', () => {
  const c = manualClock(0);
  const hm = new HealthMonitor({ clock: c, policy: { table: { 'guest-fault': 'restart' }, restartLimit: { max: 2, window: 1000 } } });
  assert.is(hm.report('guest-fault', 'p'), 'restart');
  c.t = 100;
  assert.is(hm.report('guest-fault', 'p'), 'restart');
  c.t = 999;
  const d = hm.decide('guest-fault', 'p');
  assert.equal([d.configured, d.action, d.limited, d.restarts], ['restart', 'stop', true, 2]);
  assert.is(hm.restartsInWindow('p'), 2);
});

limit('the window slides: old restarts stop counting', () => {
  const c = manualClock(0);
  const hm = new HealthMonitor({ clock: c, policy: { table: { 'guest-fault': 'restart' }, restartLimit: { max: 2, window: 1000 } } });
  hm.report('guest-fault', 'p'); // t=0
  c.t = 500;
  hm.report('guest-fault', 'p'); // t=500
  c.t = 999;
  assert.is(hm.report('guest-fault', 'p'), 'stop', 'both restarts are still inside (999 - 0 < 1000)');
  c.t = 1000;
  assert.is(hm.restartsInWindow('p'), 1, 'the restart at 0 left the window exactly at 1000');
  assert.is(hm.report('guest-fault', 'p'), 'restart');
  c.t = 1499;
  assert.is(hm.report('guest-fault', 'p'), 'stop');
  c.t = 1500;
  assert.is(hm.report('guest-fault', 'p'), 'restart');
});

limit('restart and restore share one budget; other actions do not use it', () => {
  const c = manualClock(0);
  const hm = new HealthMonitor({ clock: c, policy: { table: { 'guest-fault': 'restart', 'deadline-miss': 'restore', 'console-flood': 'stop' }, restartLimit: { max: 2, window: 10 } } });
  hm.report('console-flood', 'p');
  hm.report('guest-fault', 'p');
  hm.report('deadline-miss', 'p');
  assert.is(hm.report('deadline-miss', 'p'), 'stop');
  assert.is(hm.report('guest-fault', 'p'), 'stop');
});

limit('limits are counted per partition', () => {
  const c = manualClock(0);
  const hm = new HealthMonitor({ clock: c, policy: { table: { 'guest-fault': 'restart' }, restartLimit: { max: 1, window: 10 } } });
  assert.is(hm.report('guest-fault', 'a'), 'restart');
  assert.is(hm.report('guest-fault', 'b'), 'restart');
  assert.is(hm.report('guest-fault', 'a'), 'stop');
});

limit('a limit of zero never restarts', () => {
  const hm = new HealthMonitor({ clock: manualClock(), policy: { table: { 'guest-fault': 'restore' }, restartLimit: { max: 0, window: 1 } } });
  const d = hm.decide('guest-fault', 'p');
  assert.equal([d.action, d.limited], ['stop', true]);
});

limit('random report sequences agree with a brute-force count of recent restarts', () => {
  let s = 7;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x1_0000_0000;
  };
  const c = manualClock(0);
  const max = 3;
  const window = 50;
  const hm = new HealthMonitor({ clock: c, policy: { table: { 'guest-fault': 'restart' }, restartLimit: { max, window } } });
  const granted: number[] = [];
  let stops = 0;
  for (let i = 0; i < 2000; i++) {
    c.t += Math.floor(next() * 30);
    const recent = granted.filter((t) => c.t - t < window).length;
    const expected = recent >= max ? 'stop' : 'restart';
    assert.is(hm.report('guest-fault', 'p'), expected, `report ${i} at ${c.t}`);
    if (expected === 'restart') granted.push(c.t);
    else stops++;
  }
  assert.ok(stops > 50 && granted.length > 50);
});

limit.run();
