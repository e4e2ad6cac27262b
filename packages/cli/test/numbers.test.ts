import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAddress, parseCount, parseSize } from '../src/numbers.ts';
import { UsageError } from '../src/usage.ts';

const size = suite('sizes (--ram)');

size('K, M and G are binary multiples, with or without iB/B', () => {
  assert.is(parseSize('--ram', '4096'), 4096);
  assert.is(parseSize('--ram', '64K'), 64 * 1024);
  assert.is(parseSize('--ram', '16m'), 16 * 1024 * 1024);
  assert.is(parseSize('--ram', '1G'), 1024 ** 3);
  assert.is(parseSize('--ram', '16MiB'), parseSize('--ram', '16MB'));
});

size('anything else is a usage error naming the flag', () => {
  for (const bad of ['', 'K', '1.5M', '-4K', '16Q', '0', '5G']) {
    assert.throws(() => parseSize('--ram', bad), (e: unknown) => e instanceof UsageError && e.message.startsWith('--ram '));
  }
});

size.run();

const address = suite('addresses (--entry, --load-address)');

address('hex with 0x and decimal, up to 32 bits', () => {
  assert.is(parseAddress('--entry', '0x80000000'), 0x8000_0000);
  assert.is(parseAddress('--entry', '0x8000_0000'), 0x8000_0000);
  assert.is(parseAddress('--entry', '65536'), 65536);
  assert.is(parseAddress('--entry', '0xffffffff'), 0xffff_ffff);
});

address('out of range or malformed addresses are refused', () => {
  for (const bad of ['0x100000000', '0x', 'x10', '-1', '1e3']) {
    assert.throws(() => parseAddress('--entry', bad), (e: unknown) => e instanceof UsageError);
  }
});

address.run();

const count = suite('counts (--max-instructions)');

count('K, M and G are decimal multiples; _ separates digits', () => {
  assert.is(parseCount('-n', '1000'), 1000);
  assert.is(parseCount('-n', '1_000_000'), 1e6);
  assert.is(parseCount('-n', '500M'), 5e8);
  assert.is(parseCount('-n', '2G'), 2e9);
  assert.is(parseCount('-n', '3k'), 3000);
});

count('zero, negatives and fractions are refused', () => {
  for (const bad of ['0', '-5', '1.5', 'M', '']) {
    assert.throws(() => parseCount('-n', bad), (e: unknown) => e instanceof UsageError);
  }
});

count.run();
