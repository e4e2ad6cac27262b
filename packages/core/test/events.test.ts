import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Emitter } from '../src/partition/events.ts';

type Events = { tick: number; note: string };

const test = suite('typed emitter');

test('listeners get payloads in subscription order', () => {
  const em = new Emitter<Events>();
  const seen: string[] = [];
  em.on('tick', (n) => seen.push(`a${n}`));
  em.on('tick', (n) => seen.push(`b${n}`));
  em.on('note', (s) => seen.push(s));
  em.emit('tick', 1);
  em.emit('note', 'hi');
  assert.equal(seen, ['a1', 'b1', 'hi']);
  assert.is(em.listenerCount('tick'), 2);
});

test('the function returned by on() unsubscribes', () => {
  const em = new Emitter<Events>();
  let n = 0;
  const off = em.on('tick', () => n++);
  em.emit('tick', 0);
  off();
  off();
  em.emit('tick', 0);
  assert.is(n, 1);
  assert.is(em.listenerCount('tick'), 0);
});

test('once() fires a single time', () => {
  const em = new Emitter<Events>();
  const seen: number[] = [];
  em.once('tick', (n) => seen.push(n));
  em.emit('tick', 1);
  em.emit('tick', 2);
  assert.equal(seen, [1]);
});

test('off() removes one subscription of a listener added twice', () => {
  const em = new Emitter<Events>();
  let n = 0;
  const fn = (): void => {
    n++;
  };
  em.on('tick', fn);
  em.on('tick', fn);
  em.off('tick', fn);
  em.emit('tick', 0);
  assert.is(n, 1);
});

test('subscribing or unsubscribing during emit does not affect that emit', () => {
  const em = new Emitter<Events>();
  const seen: string[] = [];
  let offB = (): void => {};
  em.on('tick', () => {
    seen.push('a');
    offB();
    em.on('tick', () => seen.push('late'));
  });
  offB = em.on('tick', () => seen.push('b'));
  em.emit('tick', 0);
  assert.equal(seen, ['a', 'b']);
  seen.length = 0;
  em.emit('tick', 0);
  assert.equal(seen, ['a', 'late']);
});

test('a throwing listener does not stop the others; the first error is rethrown after', () => {
  const em = new Emitter<Events>();
  const seen: string[] = [];
  em.on('tick', () => {
    throw new Error('first');
  });
  em.on('tick', () => {
    throw new Error('second');
  });
  em.on('tick', () => seen.push('ran'));
  assert.throws(() => em.emit('tick', 0), /first/);
  assert.equal(seen, ['ran']);
});

test('onListenerError receives listener errors instead of emit throwing', () => {
  const errors: string[] = [];
  const em = new Emitter<Events>({ onListenerError: (e, type) => errors.push(`${type}:${(e as Error).message}`) });
  em.on('note', () => {
    throw new Error('bad');
  });
  em.emit('note', 'x');
  assert.equal(errors, ['note:bad']);
});

test('emitting with no listener is a no-op', () => {
  new Emitter<Events>().emit('tick', 1);
});

test.run();
