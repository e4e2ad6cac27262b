import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, RvisorError } from '../src/errors.ts';
import {
  CHANNEL_BAD_DEPTH,
  CHANNEL_BAD_ENDPOINTS,
  CHANNEL_BAD_KIND,
  CHANNEL_BAD_NAME,
  CHANNEL_BAD_PERIOD,
  CHANNEL_BAD_POLICY,
  CHANNEL_BAD_SIZE,
  CHANNEL_BAD_STATE,
  CHANNEL_EXISTS,
  CHANNEL_MESSAGE_TOO_LARGE,
  CHANNEL_NOT_CONNECTED,
  CHANNEL_UNKNOWN,
  CHANNEL_UNKNOWN_PARTITION,
  CHANNEL_WRONG_KIND,
  ChannelRegistry,
  HOST,
} from '../src/partition/channel.ts';
import type { ChannelConfig } from '../src/partition/channel.ts';
import { QueuingPort } from '../src/partition/queuing.ts';
import { SamplingPort } from '../src/partition/sampling.ts';

const KNOWN = ['a', 'b', 'c'];

function manualClock(t = 0): { now(): number; t: number } {
  return { t, now() { return this.t; } };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, RvisorError);
    return (e as RvisorError).code;
  }
  assert.unreachable('no error thrown');
  return '';
}

const bytes = (...v: number[]): Uint8Array => new Uint8Array(v);

// ---------------------------------------------------------------------------

const queue = suite('queuing port');

queue('messages come out in FIFO order', () => {
  const q = new QueuingPort({ depth: 4, maxMessageSize: 8 });
  for (let i = 0; i < 3; i++) assert.ok(q.send(bytes(i, i)));
  assert.is(q.length, 3);
  assert.is(q.peekSize(), 2);
  assert.equal([...q.receive()!], [0, 0]);
  assert.equal([...q.receive()!], [1, 1]);
  assert.equal([...q.receive()!], [2, 2]);
  assert.is(q.receive(), undefined);
  assert.is(q.peekSize(), -1);
});

queue('reject policy: a full queue refuses the newest message and counts it', () => {
  const q = new QueuingPort({ depth: 2, maxMessageSize: 4 });
  assert.ok(q.send(bytes(1)));
  assert.ok(q.send(bytes(2)));
  assert.is(q.send(bytes(3)), false);
  assert.is(q.send(bytes(4)), false);
  assert.equal(q.stats, { sent: 2, received: 0, rejected: 2, dropped: 0 });
  assert.equal(q.messages().map((m) => m[0]), [1, 2]);
});

queue('drop-oldest policy: the oldest message makes room and is counted', () => {
  const q = new QueuingPort({ depth: 2, maxMessageSize: 4, overflow: 'drop-oldest' });
  for (let i = 1; i <= 5; i++) assert.ok(q.send(bytes(i)));
  assert.equal(q.stats, { sent: 5, received: 0, rejected: 0, dropped: 3 });
  assert.equal([q.receive()![0], q.receive()![0]], [4, 5]);
});

queue('a ring buffer model agrees over a random sequence', () => {
  let s = 99;
  const next = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x1_0000_0000;
  };
  for (const overflow of ['reject', 'drop-oldest'] as const) {
    const q = new QueuingPort({ depth: 5, maxMessageSize: 4, overflow });
    const model: number[] = [];
    for (let i = 0; i < 3000; i++) {
      if (next() < 0.55) {
        const v = i & 0xff;
        const full = model.length === 5;
        const ok = q.send(bytes(v));
        if (!full) model.push(v);
        else if (overflow === 'drop-oldest') {
          model.shift();
          model.push(v);
        }
        assert.is(ok, !full || overflow === 'drop-oldest');
      } else {
        const m = q.receive();
        const want = model.shift();
        assert.is(m?.[0], want);
      }
      assert.is(q.length, model.length);
    }
  }
});

queue('messages are copies: the sender may reuse its buffer', () => {
  const q = new QueuingPort({ depth: 2, maxMessageSize: 4 });
  const buf = bytes(1, 2);
  q.send(buf);
  buf[0] = 9;
  assert.equal([...q.receive()!], [1, 2]);
});

queue('messages over the maximum size are refused with a typed error', () => {
  const q = new QueuingPort({ depth: 2, maxMessageSize: 4, name: 'cmd' });
  assert.ok(q.send(new Uint8Array(4)), 'exactly the maximum is fine');
  assert.is(code(() => q.send(new Uint8Array(5))), CHANNEL_MESSAGE_TOO_LARGE);
  assert.is(q.length, 1);
});

queue('saved contents load back in order and are checked', () => {
  const q = new QueuingPort({ depth: 3, maxMessageSize: 4 });
  q.send(bytes(1));
  q.send(bytes(2));
  q.receive();
  q.send(bytes(3));
  const saved = q.messages();
  const r = new QueuingPort({ depth: 3, maxMessageSize: 4 });
  r.load(saved);
  assert.equal([r.receive()![0], r.receive()![0], r.receive()], [2, 3, undefined]);
  assert.is(code(() => r.load([bytes(1), bytes(2), bytes(3), bytes(4)])), CHANNEL_BAD_STATE);
  assert.is(code(() => r.load([new Uint8Array(5)])), CHANNEL_BAD_STATE);
});

queue.run();

// ---------------------------------------------------------------------------

const sample = suite('sampling port');

sample('reads return the latest value without consuming it', () => {
  const c = manualClock();
  const p = new SamplingPort({ maxMessageSize: 8, clock: c });
  assert.is(p.read(), undefined);
  p.write(bytes(1));
  p.write(bytes(2, 2));
  const r1 = p.read()!;
  const r2 = p.read()!;
  assert.equal([...r1.data], [2, 2]);
  assert.equal([...r2.data], [2, 2]);
  assert.is(r1.seq, 2);
});

sample('age grows with the clock and validity ends after the refresh period', () => {
  const c = manualClock(1000);
  const p = new SamplingPort({ maxMessageSize: 8, refreshPeriod: 100, clock: c });
  p.write(bytes(7));
  c.t = 1100;
  let r = p.read()!;
  assert.equal([r.age, r.valid], [100, true], 'an age equal to the period is still valid');
  c.t = 1101;
  r = p.read()!;
  assert.equal([r.age, r.valid], [101, false]);
  p.write(bytes(8));
  r = p.read()!;
  assert.equal([r.age, r.valid], [0, true], 'a fresh write is valid again');
  assert.equal(p.stats, { writes: 2, reads: 3, stale: 1 });
});

sample('without a refresh period a value never goes stale', () => {
  const c = manualClock();
  const p = new SamplingPort({ maxMessageSize: 8, clock: c });
  p.write(bytes(1));
  c.t = 1e12;
  assert.is(p.read()!.valid, true);
});

sample('readers get copies and cannot change the stored value', () => {
  const p = new SamplingPort({ maxMessageSize: 8, clock: manualClock() });
  p.write(bytes(1, 2));
  p.read()!.data[0] = 99;
  assert.equal([...p.read()!.data], [1, 2]);
});

sample('a saved sample keeps its age on another clock', () => {
  const c1 = manualClock(5000);
  const p = new SamplingPort({ maxMessageSize: 8, refreshPeriod: 50, clock: c1 });
  p.write(bytes(3));
  c1.t = 5030;
  const saved = p.save()!;
  const c2 = manualClock(1_000_000);
  const q = new SamplingPort({ maxMessageSize: 8, refreshPeriod: 50, clock: c2 });
  q.load(saved);
  assert.equal([q.read()!.age, q.read()!.seq], [30, 1]);
  c2.t += 21;
  assert.is(q.read()!.valid, false);
  assert.is(code(() => q.load({ data: new Uint8Array(9), age: 0, seq: 1 })), CHANNEL_BAD_STATE);
});

sample('an oversized write is refused and keeps the old value', () => {
  const p = new SamplingPort({ maxMessageSize: 2, clock: manualClock() });
  p.write(bytes(1));
  assert.is(code(() => p.write(bytes(1, 2, 3))), CHANNEL_MESSAGE_TOO_LARGE);
  assert.equal([...p.read()!.data], [1]);
});

sample.run();

// ---------------------------------------------------------------------------

const config = suite('channel configuration');

const good: ChannelConfig = { name: 'cmd', kind: 'queuing', senders: ['a'], receivers: ['b'], maxMessageSize: 64, depth: 8 };

const bad: Array<[string, string, ChannelConfig]> = [
  ['bad name', CHANNEL_BAD_NAME, { ...good, name: 'a b' }],
  ['unknown kind', CHANNEL_BAD_KIND, { ...good, kind: 'pipe' as 'queuing' }],
  ['zero message size', CHANNEL_BAD_SIZE, { ...good, maxMessageSize: 0 }],
  ['huge message size', CHANNEL_BAD_SIZE, { ...good, maxMessageSize: (1 << 20) + 1 }],
  ['missing depth', CHANNEL_BAD_DEPTH, { ...good, depth: undefined }],
  ['zero depth', CHANNEL_BAD_DEPTH, { ...good, depth: 0 }],
  ['unknown overflow policy', CHANNEL_BAD_POLICY, { ...good, overflow: 'drop-newest' as 'reject' }],
  ['zero refresh period', CHANNEL_BAD_PERIOD, { name: 's', kind: 'sampling', senders: ['a'], receivers: ['b'], maxMessageSize: 4, refreshPeriod: 0 }],
  ['no sender', CHANNEL_BAD_ENDPOINTS, { ...good, senders: [] }],
  ['no receiver', CHANNEL_BAD_ENDPOINTS, { ...good, receivers: [] }],
  ['duplicate receiver', CHANNEL_BAD_ENDPOINTS, { name: 's', kind: 'sampling', senders: ['a'], receivers: ['b', 'b'], maxMessageSize: 4 }],
  ['queue with two receivers', CHANNEL_BAD_ENDPOINTS, { ...good, receivers: ['b', 'c'] }],
  ['unknown partition', CHANNEL_UNKNOWN_PARTITION, { ...good, receivers: ['zz'] }],
];

for (const [what, expected, cfg] of bad) {
  config(`${what} -> ${expected}`, () => {
    const reg = new ChannelRegistry({ clock: manualClock() });
    try {
      reg.add(cfg, KNOWN);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.is((e as RvisorError).code, expected);
    }
    assert.equal(reg.names(), [], 'nothing was created');
  });
}

config('a second channel with the same name is refused', () => {
  const reg = new ChannelRegistry();
  reg.add(good, KNOWN);
  assert.is(code(() => reg.add(good, KNOWN)), CHANNEL_EXISTS);
});

config('the host is a valid endpoint without being a partition', () => {
  const reg = new ChannelRegistry();
  reg.add({ ...good, senders: [HOST, 'a'] }, KNOWN);
  assert.ok(reg.send(HOST, 'cmd', bytes(1)));
});

config.run();

// ---------------------------------------------------------------------------

const iso = suite('channel isolation');

iso('only connected endpoints send and receive, each in its own direction', () => {
  const reg = new ChannelRegistry({ clock: manualClock() });
  reg.add(good, KNOWN);
  assert.is(code(() => reg.send('c', 'cmd', bytes(1))), CHANNEL_NOT_CONNECTED);
  assert.is(code(() => reg.send('b', 'cmd', bytes(1))), CHANNEL_NOT_CONNECTED, 'the receiver cannot send');
  assert.is(code(() => reg.send(HOST, 'cmd', bytes(1))), CHANNEL_NOT_CONNECTED, 'the host is no exception');
  reg.send('a', 'cmd', bytes(42));
  assert.is(code(() => reg.receive('c', 'cmd')), CHANNEL_NOT_CONNECTED);
  assert.is(code(() => reg.receive('a', 'cmd')), CHANNEL_NOT_CONNECTED, 'the sender cannot read back');
  assert.equal([...reg.receive('b', 'cmd')!], [42]);
});

iso('a sampling channel reaches all its receivers and nobody else', () => {
  const reg = new ChannelRegistry({ clock: manualClock() });
  reg.add({ name: 'temp', kind: 'sampling', senders: ['a'], receivers: ['b', HOST], maxMessageSize: 4 }, KNOWN);
  reg.send('a', 'temp', bytes(21));
  assert.is(reg.read('b', 'temp')!.data[0], 21);
  assert.is(reg.read(HOST, 'temp')!.data[0], 21);
  assert.is(code(() => reg.read('c', 'temp')), CHANNEL_NOT_CONNECTED);
  assert.equal(reg.of('c'), []);
  assert.equal(reg.of('b').map((ch) => ch.name), ['temp']);
});

iso('the wrong access kind and unknown channels are typed errors', () => {
  const reg = new ChannelRegistry({ clock: manualClock() });
  reg.add(good, KNOWN);
  reg.add({ name: 'temp', kind: 'sampling', senders: ['a'], receivers: ['b'], maxMessageSize: 4 }, KNOWN);
  assert.is(code(() => reg.read('b', 'cmd')), CHANNEL_WRONG_KIND);
  assert.is(code(() => reg.receive('b', 'temp')), CHANNEL_WRONG_KIND);
  assert.is(code(() => reg.send('a', 'nope', bytes(1))), CHANNEL_UNKNOWN);
  assert.is(code(() => reg.send('a', 'cmd', new Uint8Array(65))), CHANNEL_MESSAGE_TOO_LARGE);
});

iso('a destroyed receiver leaves: queued messages never reach a new partition with its id', () => {
  const reg = new ChannelRegistry({ clock: manualClock() });
  reg.add(good, KNOWN);
  reg.send('a', 'cmd', bytes(1));
  assert.equal(reg.detach('b'), ['cmd']);
  assert.is(code(() => reg.receive('b', 'cmd')), CHANNEL_NOT_CONNECTED);
  const ch = reg.get('cmd')!;
  assert.is(ch.kind === 'queuing' ? ch.port.length : -1, 0);
  assert.equal(reg.detach('zz'), []);
});

iso('overflow under reject is reported to the sender, not thrown', () => {
  const reg = new ChannelRegistry({ clock: manualClock() });
  reg.add({ ...good, depth: 1 }, KNOWN);
  assert.is(reg.send('a', 'cmd', bytes(1)), true);
  assert.is(reg.send('a', 'cmd', bytes(2)), false);
  assert.is(reg.receive('b', 'cmd')![0], 1);
});

iso.run();
