import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, RvisorError } from '../src/errors.ts';
import {
  SCHEDULE_BAD_FRAME,
  SCHEDULE_BAD_NAME,
  SCHEDULE_BAD_TIME_BASE,
  SCHEDULE_BAD_WINDOW,
  SCHEDULE_OUTSIDE_FRAME,
  SCHEDULE_OVERLAP,
  SCHEDULE_UNKNOWN_PARTITION,
  SCHEDULE_ZERO_LENGTH,
  validateSchedule,
} from '../src/schedule/frame.ts';
import type { ScheduleConfig, WindowConfig } from '../src/schedule/frame.ts';
import {
  SCHEDULE_BAD_POSITION,
  SCHEDULE_EXISTS,
  SCHEDULE_SET_EMPTY,
  SCHEDULE_TIME_BASE_MISMATCH,
  SCHEDULE_UNKNOWN,
  ScheduleSet,
} from '../src/schedule/set.ts';
import type { ScheduleSwitch } from '../src/schedule/set.ts';

const KNOWN = ['a', 'b', 'c'];

function cfg(windows: WindowConfig[], majorFrame = 100, name = 'main'): ScheduleConfig {
  return { name, timeBase: 'instructions', majorFrame, windows };
}

function error(fn: () => unknown): RvisorError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ConfigError);
    return e as RvisorError;
  }
  assert.unreachable('no error thrown');
  throw new Error('unreachable');
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

// ---------------------------------------------------------------------------

const invalid = suite('schedule validation errors');

const cases: Array<[string, string, ScheduleConfig, RegExp]> = [
  ['bad name', SCHEDULE_BAD_NAME, cfg([], 100, 'no spaces'), /no spaces/],
  ['unknown time base', SCHEDULE_BAD_TIME_BASE, { ...cfg([]), timeBase: 'cycles' as 'instructions' }, /cycles/],
  ['zero major frame', SCHEDULE_BAD_FRAME, cfg([], 0), /major frame 0/],
  ['fractional major frame', SCHEDULE_BAD_FRAME, cfg([], 10.5), /10\.5/],
  ['negative offset', SCHEDULE_BAD_WINDOW, cfg([{ partition: 'a', offset: -1, duration: 5 }]), /window 0 \(partition a/],
  ['fractional duration', SCHEDULE_BAD_WINDOW, cfg([{ partition: 'a', offset: 0, duration: 1.5 }]), /window 0/],
  ['partition not a string', SCHEDULE_BAD_WINDOW, cfg([{ partition: 7 as unknown as string, offset: 0, duration: 5 }]), /window 0/],
  ['zero-length window', SCHEDULE_ZERO_LENGTH, cfg([{ partition: 'a', offset: 0, duration: 10 }, { partition: 'b', offset: 10, duration: 0 }]), /window 1 \(partition b at 10\+0\) has zero length/],
  ['window ending past the frame', SCHEDULE_OUTSIDE_FRAME, cfg([{ partition: 'a', offset: 90, duration: 11 }]), /window 0 .*ends at 101/],
  ['window starting past the frame', SCHEDULE_OUTSIDE_FRAME, cfg([{ partition: 'a', offset: 100, duration: 1 }]), /window 0/],
  ['unknown partition', SCHEDULE_UNKNOWN_PARTITION, cfg([{ partition: 'a', offset: 0, duration: 10 }, { partition: 'zz', offset: 10, duration: 10 }]), /window 1 .*zz/],
  ['overlapping windows', SCHEDULE_OVERLAP, cfg([{ partition: 'a', offset: 0, duration: 50 }, { partition: 'b', offset: 49, duration: 10 }]), /window 1 \(partition b at 49\+10\) overlaps window 0/],
  ['overlap listed out of order', SCHEDULE_OVERLAP, cfg([{ partition: 'b', offset: 40, duration: 10 }, { partition: 'a', offset: 0, duration: 45 }]), /window 1 .*overlaps window 0/],
  ['window inside another', SCHEDULE_OVERLAP, cfg([{ partition: 'a', offset: 0, duration: 90 }, { partition: 'b', offset: 20, duration: 10 }]), /window 1/],
  ['idle window overlapping a partition window', SCHEDULE_OVERLAP, cfg([{ partition: 'a', offset: 0, duration: 50 }, { partition: null, offset: 30, duration: 30 }]), /window 1 \(idle/],
  ['same offset twice', SCHEDULE_OVERLAP, cfg([{ partition: 'a', offset: 10, duration: 5 }, { partition: 'b', offset: 10, duration: 5 }]), /window 1/],
];

for (const [what, code, config, message] of cases) {
  invalid(`${what} -> ${code} naming the window`, () => {
    const e = error(() => validateSchedule(config, KNOWN));
    assert.is(e.code, code);
    assert.match(e.message, message);
    assert.match(e.message, /schedule/);
  });
}

invalid('every error code is distinct', () => {
  const codes = [SCHEDULE_BAD_NAME, SCHEDULE_BAD_TIME_BASE, SCHEDULE_BAD_FRAME, SCHEDULE_BAD_WINDOW, SCHEDULE_ZERO_LENGTH, SCHEDULE_OUTSIDE_FRAME, SCHEDULE_OVERLAP, SCHEDULE_UNKNOWN_PARTITION];
  assert.is(new Set(codes).size, codes.length);
});

invalid.run();

// ---------------------------------------------------------------------------

const normal = suite('schedule normalisation');

normal('a window ending exactly at the frame end is accepted', () => {
  const s = validateSchedule(cfg([{ partition: 'a', offset: 60, duration: 40 }]), KNOWN);
  assert.equal(s.windows.map((w) => [w.partition, w.offset, w.end]), [[null, 0, 60], ['a', 60, 100]]);
});

normal('touching windows are accepted and stay separate', () => {
  const s = validateSchedule(cfg([{ partition: 'b', offset: 30, duration: 70 }, { partition: 'a', offset: 0, duration: 30 }]), KNOWN);
  assert.equal(s.windows.map((w) => [w.partition, w.offset, w.duration, w.source]), [['a', 0, 30, 1], ['b', 30, 70, 0]]);
  assert.is(s.idle, 0);
});

normal('gaps become idle windows and adjacent idle time is merged', () => {
  const s = validateSchedule(cfg([
    { partition: 'a', offset: 10, duration: 10 },
    { partition: null, offset: 20, duration: 5 },
    { partition: 'a', offset: 40, duration: 10 },
    { partition: 'b', offset: 50, duration: 20 },
  ]), KNOWN);
  assert.equal(s.windows.map((w) => [w.index, w.partition, w.offset, w.end]), [
    [0, null, 0, 10],
    [1, 'a', 10, 20],
    [2, null, 20, 40],
    [3, 'a', 40, 50],
    [4, 'b', 50, 70],
    [5, null, 70, 100],
  ]);
  assert.is(s.idle, 10 + 20 + 30);
  assert.equal([...s.budgets.entries()], [['a', 20], ['b', 20]]);
  assert.equal(s.partitions, ['a', 'b']);
});

normal('an empty schedule is one idle window', () => {
  const s = validateSchedule(cfg([], 500), KNOWN);
  assert.equal(s.windows.map((w) => [w.partition, w.offset, w.end]), [[null, 0, 500]]);
  assert.equal(s.partitions, []);
});

normal('the result is frozen', () => {
  const s = validateSchedule(cfg([{ partition: 'a', offset: 0, duration: 10 }]), KNOWN);
  assert.ok(Object.isFrozen(s));
  assert.ok(Object.isFrozen(s.windows));
  assert.ok(Object.isFrozen(s.windows[0]));
  assert.throws(() => (s.windows as unknown as WindowConfig[]).push({ partition: 'a', offset: 0, duration: 1 }));
  assert.not.ok('set' in s.budgets && typeof (s.budgets as Map<string, number>).set === 'function');
});

normal('real-time schedules keep their time base', () => {
  const s = validateSchedule({ name: 'rt', timeBase: 'microseconds', majorFrame: 20_000, windows: [{ partition: 'c', offset: 0, duration: 5_000 }] }, KNOWN);
  assert.is(s.timeBase, 'microseconds');
  assert.is(s.budgets.get('c'), 5_000);
});

normal('random configurations agree with a per-tick model', () => {
  const next = rng(2024);
  let accepted = 0;
  let overlaps = 0;
  for (let round = 0; round < 400; round++) {
    const frame = 1 + Math.floor(next() * 60);
    const windows: WindowConfig[] = [];
    const n = Math.floor(next() * 5);
    for (let i = 0; i < n; i++) {
      const offset = Math.floor(next() * frame);
      const duration = 1 + Math.floor(next() * Math.max(1, (frame - offset) / 2));
      windows.push({ partition: next() < 0.2 ? null : KNOWN[Math.floor(next() * 3)]!, offset, duration: Math.min(duration, frame - offset) });
    }
    // Model: paint each tick; a tick painted twice is an overlap.
    const owner: Array<string | null | undefined> = new Array(frame).fill(undefined);
    let clash = false;
    for (const w of windows) {
      for (let t = w.offset; t < w.offset + w.duration; t++) {
        if (owner[t] !== undefined) clash = true;
        owner[t] = w.partition;
      }
    }
    if (clash) {
      assert.is(error(() => validateSchedule(cfg(windows, frame), KNOWN)).code, SCHEDULE_OVERLAP);
      overlaps++;
      continue;
    }
    const s = validateSchedule(cfg(windows, frame), KNOWN);
    accepted++;
    let t = 0;
    for (const w of s.windows) {
      assert.is(w.offset, t, 'windows tile the frame');
      for (let u = w.offset; u < w.end; u++) assert.is(w.partition, owner[u] ?? null, `tick ${u}`);
      t = w.end;
    }
    assert.is(t, frame);
    for (let i = 1; i < s.windows.length; i++) {
      assert.not.ok(s.windows[i]!.partition === null && s.windows[i - 1]!.partition === null, 'idle merged');
    }
    for (const p of KNOWN) assert.is(s.budgets.get(p) ?? 0, owner.filter((o) => o === p).length);
  }
  assert.ok(accepted > 50 && overlaps > 50, `${accepted} accepted, ${overlaps} overlapping`);
});

normal.run();

// ---------------------------------------------------------------------------

const set = suite('schedule set');

function twoSchedules(): ScheduleSet {
  return ScheduleSet.from([
    cfg([{ partition: 'a', offset: 0, duration: 60 }, { partition: 'b', offset: 60, duration: 40 }], 100, 'day'),
    cfg([{ partition: 'c', offset: 0, duration: 50 }], 80, 'night'),
  ], KNOWN);
}

set('next() walks the windows of the frame in order, forever', () => {
  const s = twoSchedules();
  const seen = [];
  for (let i = 0; i < 5; i++) {
    const slot = s.next();
    seen.push([slot.frame, slot.window.partition, slot.start]);
  }
  assert.equal(seen, [[0, 'a', 0], [0, 'b', 60], [1, 'a', 100], [1, 'b', 160], [2, 'a', 200]]);
});

set('advance() walks like next() but fills in one reused slot; next() slots stay as they were', () => {
  const a = twoSchedules();
  const b = twoSchedules();
  const kept = [];
  let shared;
  for (let i = 0; i < 5; i++) {
    const slot = a.next();
    const reused = b.advance();
    if (i > 0) assert.ok(reused === shared);
    shared = reused;
    assert.equal({ ...reused }, { ...slot });
    kept.push(slot);
  }
  assert.equal(kept.map((s) => s.start), [0, 60, 100, 160, 200]);
  assert.equal(b.position(), a.position());
});

set('a switch takes effect at the next major-frame boundary, not before', () => {
  const s = twoSchedules();
  const switches: ScheduleSwitch[] = [];
  s.events.on('switch', (e) => switches.push(e));
  assert.is(s.next().window.partition, 'a');
  s.requestSwitch('night');
  assert.is(s.pending?.name, 'night');
  assert.is(s.current.name, 'day');
  const b = s.next();
  assert.equal([b.schedule.name, b.window.partition], ['day', 'b'], 'the frame finishes under the old schedule');
  assert.is(switches.length, 0);
  const c = s.next();
  assert.equal([c.schedule.name, c.window.partition, c.frame, c.start], ['night', 'c', 1, 100]);
  assert.equal(switches, [{ from: 'day', to: 'night', frame: 1, at: 100 }]);
  assert.is(s.pending, null);
  const idle = s.next();
  assert.equal([idle.window.partition, idle.start], [null, 150]);
  const c2 = s.next();
  assert.equal([c2.frame, c2.start], [2, 180], 'frames now last 80');
});

set('a switch requested before the first window applies at once', () => {
  const s = twoSchedules();
  s.requestSwitch('night');
  assert.is(s.next().schedule.name, 'night');
});

set('the last request wins and asking for the current schedule cancels', () => {
  const s = twoSchedules();
  s.next();
  s.requestSwitch('night');
  s.requestSwitch('day');
  assert.is(s.pending, null);
  s.next();
  assert.is(s.next().schedule.name, 'day');
});

set('bad sets and switches are typed errors', () => {
  const day = validateSchedule(cfg([], 100, 'day'), KNOWN);
  const rt = validateSchedule({ ...cfg([], 100, 'rt'), timeBase: 'microseconds' }, KNOWN);
  assert.is(error(() => new ScheduleSet([])).code, SCHEDULE_SET_EMPTY);
  assert.is(error(() => new ScheduleSet([day, day])).code, SCHEDULE_EXISTS);
  assert.is(error(() => new ScheduleSet([day, rt])).code, SCHEDULE_TIME_BASE_MISMATCH);
  assert.is(error(() => new ScheduleSet([day], 'other')).code, SCHEDULE_UNKNOWN);
  assert.is(error(() => new ScheduleSet([day]).requestSwitch('other')).code, SCHEDULE_UNKNOWN);
  assert.is(error(() => ScheduleSet.from([cfg([{ partition: 'x', offset: 0, duration: 1 }])], KNOWN)).code, SCHEDULE_UNKNOWN_PARTITION);
});

set('uses() lists the schedules a partition appears in', () => {
  const s = twoSchedules();
  assert.equal(s.uses('a'), ['day']);
  assert.equal(s.uses('c'), ['night']);
  assert.equal(s.uses('zz'), []);
});

set('a saved position resumes the walk where it left off', () => {
  const a = twoSchedules();
  a.next();
  a.next();
  a.next();
  a.requestSwitch('night');
  const pos = a.position();
  const b = twoSchedules();
  b.seek(pos);
  for (let i = 0; i < 6; i++) {
    const x = a.next();
    const y = b.next();
    assert.equal([y.schedule.name, y.window.index, y.frame, y.start], [x.schedule.name, x.window.index, x.frame, x.start]);
  }
  assert.is(error(() => b.seek({ ...pos, window: 99 })).code, SCHEDULE_BAD_POSITION);
  assert.is(error(() => b.seek({ ...pos, schedule: 'zz' })).code, SCHEDULE_UNKNOWN);
});

set.run();
