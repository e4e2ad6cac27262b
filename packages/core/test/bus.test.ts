import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Bus, PAGE_CODE } from '../src/memory/bus.ts';
import { ConfigError, RvisorError } from '../src/errors.ts';

const test = suite('bus');

test('ram loads are little-endian and zero-extended', () => {
  const bus = new Bus(new Uint8Array(64), 0x8000_0000);
  bus.writeRam(0x8000_0000, new Uint8Array([0x78, 0x56, 0x34, 0xf2]));
  assert.is(bus.load(0x8000_0000, 4), 0xf2345678);
  assert.is(bus.load(0x8000_0002, 2), 0xf234);
  assert.is(bus.load(0x8000_0003, 1), 0xf2);
  assert.is(bus.fault, false);
});

test('an unmapped address sets fault instead of throwing', () => {
  const bus = new Bus(new Uint8Array(64), 0);
  assert.is(bus.load(64, 4), 0);
  assert.is(bus.fault, true);
  bus.fault = false;
  bus.store(0x1000_0000, 1, 5);
  assert.is(bus.fault, true);
});

test('an access straddling the end of ram faults', () => {
  const bus = new Bus(new Uint8Array(64), 0);
  bus.load(62, 4);
  assert.is(bus.fault, true);
});

test('read-only memory windows refuse stores', () => {
  const bus = new Bus(new Uint8Array(64), 0);
  const win = new Uint8Array(16);
  win[0] = 9;
  bus.mapMemory('ro', 0x2000, win, false);
  assert.is(bus.load(0x2000, 1), 9);
  bus.store(0x2000, 1, 1);
  assert.is(bus.fault, true);
  assert.is(win[0], 9);
});

test('devices receive offsets relative to their base', () => {
  const bus = new Bus(new Uint8Array(64), 0);
  const seen: number[] = [];
  bus.mapDevice('dev', 0x1000_0000, 8, { read: (o) => o + 100, write: (o, w, v) => seen.push(o, w, v) });
  assert.is(bus.load(0x1000_0004, 1), 104);
  bus.store(0x1000_0005, 1, 0x41);
  assert.equal(seen, [5, 1, 0x41]);
});

test('overlapping maps are refused with a typed error', () => {
  const bus = new Bus(new Uint8Array(64), 0);
  bus.mapDevice('a', 0x1000, 16, { read: () => 0, write: () => {} });
  try {
    bus.mapDevice('b', 0x1008, 16, { read: () => 0, write: () => {} });
    assert.unreachable('overlap accepted');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is((e as RvisorError).code, 'MEMORY_MAP_OVERLAP');
  }
});

test('stores to flagged pages call the hook, others do not', () => {
  const bus = new Bus(new Uint8Array(8192), 0);
  const hits: number[] = [];
  bus.onFlaggedStore = (off) => hits.push(off);
  bus.pageFlags[1] = PAGE_CODE;
  bus.store(4, 4, 1);
  bus.store(4096 + 8, 2, 1);
  bus.writeRam(4090, new Uint8Array(10));
  assert.equal(hits, [4096 + 8, 4096]);
});

test('host writes outside ram are typed errors', () => {
  const bus = new Bus(new Uint8Array(64), 0);
  try {
    bus.writeRam(60, new Uint8Array(8));
    assert.unreachable();
  } catch (e) {
    assert.is((e as RvisorError).code, 'MEMORY_OUT_OF_RANGE');
  }
});

test.run();
