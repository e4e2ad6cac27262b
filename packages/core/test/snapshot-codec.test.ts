import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Encoder } from 'cbor-x';
import { decodeDocument, encodeDocument, SNAPSHOT_FORMAT } from '../src/snapshot/codec.ts';
import { decodeRam, encodeRam, RAM_PAGE } from '../src/snapshot/ram.ts';
import { SnapshotError } from '../src/errors.ts';

const codec = suite('snapshot codec');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, SnapshotError);
    return (e as SnapshotError).code;
  }
  throw new Error('expected a SnapshotError');
}

codec('a document round-trips numbers, strings, nested objects and bytes', async () => {
  const body = { a: 1, b: -2147483648, c: 2 ** 52 + 1, s: 'p1', nested: { x: [1, 2, 3] }, bytes: new Uint8Array([0, 255, 7]) };
  const back = (await decodeDocument(await encodeDocument(body))) as typeof body;
  assert.is(back.a, 1);
  assert.is(back.b, -2147483648);
  assert.is(back.c, 2 ** 52 + 1);
  assert.is(back.s, 'p1');
  assert.equal(back.nested.x, [1, 2, 3]);
  assert.equal(Array.from(back.bytes), [0, 255, 7]);
});

codec('every flipped byte of the body is detected', async () => {
  const doc = await encodeDocument({ ram: new Uint8Array(64).fill(3), pc: 0x1000 });
  let detected = 0;
  for (let i = 0; i < doc.length; i++) {
    const bad = doc.slice();
    bad[i]! ^= 0x40;
    try {
      await decodeDocument(bad);
    } catch (e) {
      if (e instanceof SnapshotError) detected++;
    }
  }
  assert.is(detected, doc.length);
});

codec('truncated documents are typed errors', async () => {
  const doc = await encodeDocument({ ram: new Uint8Array(300).fill(1) });
  for (const n of [1, 10, doc.length >> 1, doc.length - 1]) {
    const c = await code(decodeDocument(doc.subarray(0, n)));
    assert.ok(['SNAPSHOT_TRUNCATED', 'SNAPSHOT_NOT_CBOR', 'SNAPSHOT_NOT_SNAPSHOT', 'SNAPSHOT_FIELD'].includes(c), c);
  }
});

codec('garbage, empty and foreign CBOR are rejected with distinct codes', async () => {
  assert.is(await code(decodeDocument(new Uint8Array(0))), 'SNAPSHOT_EMPTY');
  assert.is(await code(decodeDocument(new Uint8Array([0xff, 0xff, 0xff]))), 'SNAPSHOT_NOT_CBOR');
  const foreign = new Encoder({ useRecords: false }).encode({ hello: 'world' });
  assert.is(await code(decodeDocument(foreign)), 'SNAPSHOT_NOT_SNAPSHOT');
});

codec('a document from a newer version is refused', async () => {
  const enc = new Encoder({ useRecords: false, tagUint8Array: false });
  const doc = enc.encode({ format: SNAPSHOT_FORMAT, version: 99, body: new Uint8Array(1), sha256: new Uint8Array(32) });
  assert.is(await code(decodeDocument(doc)), 'SNAPSHOT_VERSION');
});

codec.run();

const ram = suite('snapshot ram image');

ram('zero pages are elided and restored as zero', () => {
  const src = new Uint8Array(RAM_PAGE * 8);
  src[5] = 1;
  src[RAM_PAGE * 6 + 17] = 0xaa;
  const img = encodeRam(src);
  assert.is(img.data.length, 2 * RAM_PAGE);
  const dst = new Uint8Array(src.length).fill(0x55);
  decodeRam(img, dst);
  assert.equal(dst, src);
});

ram('a size mismatch is refused before any byte is written', () => {
  const img = encodeRam(new Uint8Array(RAM_PAGE * 2).fill(1));
  const dst = new Uint8Array(RAM_PAGE * 4).fill(9);
  try {
    decodeRam(img, dst);
    assert.unreachable();
  } catch (e) {
    assert.is((e as SnapshotError).code, 'SNAPSHOT_RAM_SIZE');
  }
  assert.ok(dst.every((b) => b === 9));
});

ram('inconsistent page data is refused', () => {
  const img = encodeRam(new Uint8Array(RAM_PAGE * 2).fill(1));
  try {
    decodeRam({ ...img, data: img.data.subarray(0, RAM_PAGE) }, new Uint8Array(RAM_PAGE * 2));
    assert.unreachable();
  } catch (e) {
    assert.is((e as SnapshotError).code, 'SNAPSHOT_FIELD');
  }
});

ram.run();
