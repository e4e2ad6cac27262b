import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { decode as plainDecode, encode as plainEncode } from 'cbor-x';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FleetError, SCHEMA_VERSION, ReplayGuard, TrustStore,
  cmdTopic, commandSigningBytes, consoleTopic, decodeAs, decodeMessage, encodeMessage, generateKeyPair, parseTopic,
  replyTopic, signCommand, signImage, stateTopic, telemetryTopic, verifyCommand, verifyImage,
  type CommandMsg,
} from '../src/protocol/index.ts';
import { TokenBucket } from '../src/rate-limit.ts';

function code(fn: () => unknown): { code: string; path?: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.instance(err, FleetError);
    return err as FleetError & { path?: string };
  }
  throw new assert.Assertion({ message: 'expected a FleetError', operator: 'throws', expects: 'FleetError', actual: 'no error' });
}

async function codeAsync(fn: () => Promise<unknown>): Promise<{ code: string; path?: string; message: string }> {
  try {
    await fn();
  } catch (err) {
    assert.instance(err, FleetError);
    return err as FleetError & { path?: string };
  }
  throw new assert.Assertion({ message: 'expected a FleetError', operator: 'throws', expects: 'FleetError', actual: 'no error' });
}

const cmd = (over: Partial<CommandMsg> = {}): CommandMsg => ({
  v: SCHEMA_VERSION, t: 'cmd', id: 'c1', kind: 'start', replyTo: replyTopic('f', 'g', 'ctl'), deadline: 1e13, args: { name: 'p0' }, ...over,
} as CommandMsg);

// ---------------------------------------------------------------------------
const topics = suite('topics: builders and parser are inverse, names cannot inject levels');

topics('every builder yields a topic under rvisor/v1/<fleet>/gw/<gw>/ that parses back', () => {
  assert.is(stateTopic('f1', 'gw-a'), 'rvisor/v1/f1/gw/gw-a/state');
  assert.equal(parseTopic(stateTopic('f1', 'gw-a')), { fleet: 'f1', gw: 'gw-a', kind: 'state' });
  assert.equal(parseTopic(cmdTopic('f1', 'gw-a')), { fleet: 'f1', gw: 'gw-a', kind: 'cmd' });
  assert.equal(parseTopic(telemetryTopic('f1', 'gw-a')), { fleet: 'f1', gw: 'gw-a', kind: 'telemetry' });
  assert.equal(parseTopic(replyTopic('f1', 'gw-a', 'ctl.1')), { fleet: 'f1', gw: 'gw-a', kind: 'reply', replyId: 'ctl.1' });
  assert.equal(parseTopic(consoleTopic('f1', 'gw-a', 'p0')), { fleet: 'f1', gw: 'gw-a', kind: 'console', partition: 'p0' });
});

topics('names with separators, wildcards, $ or over 64 chars are refused', () => {
  for (const bad of ['a/b', '+', '#', 'a+b', '$SYS', '', 'x'.repeat(65), 'a b', 'a\0']) {
    assert.is(code(() => stateTopic('f', bad)).code, 'FLEET_BAD_TOPIC', bad);
  }
});

topics('foreign and malformed topics parse to null', () => {
  for (const t of ['rvisor/v2/f/gw/g/state', 'other/v1/f/gw/g/state', 'rvisor/v1/f/gw/g', 'rvisor/v1/f/gw/g/state/x', 'rvisor/v1/f/gw/g/p/p0/stdout', 'rvisor/v1/f/xx/g/state']) {
    assert.is(parseTopic(t), null, t);
  }
});
topics.run();

// ---------------------------------------------------------------------------
const codec = suite('codec: decoding validates every field and names the bad one');

codec('a command round-trips and keeps only known fields', () => {
  const c = cmd({ kind: 'deploy', args: { name: 'p0', image: new Uint8Array([1, 2, 3]), profile: 'app', isa: 'rv32imac', ramSize: 65536, windows: [{ offset: 0, duration: 100 }], start: true } });
  const bytes = encodeMessage({ ...c, extra: 'ignored' } as CommandMsg);
  const back = decodeAs('cmd', bytes);
  assert.equal(back, c);
  assert.not.ok('extra' in back);
});

codec('payloads are plain CBOR: a generic CBOR encoder produces acceptable input and a generic decoder reads ours', () => {
  const c = cmd();
  assert.equal(decodeAs('cmd', plainEncode(c)), c);
  assert.equal(plainDecode(encodeMessage(c)), c);
});

codec('garbage, truncated and trailing bytes are FLEET_BAD_PAYLOAD', () => {
  const good = encodeMessage(cmd());
  assert.is(code(() => decodeMessage(new Uint8Array([0xff, 0x00, 0x13]))).code, 'FLEET_BAD_PAYLOAD');
  assert.is(code(() => decodeMessage(good.subarray(0, good.length - 3))).code, 'FLEET_BAD_PAYLOAD');
  const trailing = new Uint8Array(good.length + 1);
  trailing.set(good);
  assert.is(code(() => decodeMessage(trailing)).code, 'FLEET_BAD_PAYLOAD');
  assert.is(code(() => decodeMessage(plainEncode([1, 2, 3]))).code, 'FLEET_BAD_PAYLOAD');
  assert.is(code(() => decodeMessage(plainEncode('text'))).code, 'FLEET_BAD_PAYLOAD');
});

codec('a payload above the limit is FLEET_TOO_LARGE before it is parsed', () => {
  const big = new Uint8Array(2048);
  assert.is(code(() => decodeMessage(big, { maxPayload: 1024 })).code, 'FLEET_TOO_LARGE');
  assert.is(code(() => encodeMessage(cmd({ kind: 'restore', args: { name: 'p', doc: big, digest: 'a'.repeat(64) } } as Partial<CommandMsg>), { maxPayload: 1024 })).code, 'FLEET_TOO_LARGE');
});

codec('missing or unknown schema version and unknown message type are FLEET_BAD_SCHEMA', () => {
  const { v: _v, ...noV } = cmd();
  assert.is(code(() => decodeMessage(plainEncode(noV))).code, 'FLEET_BAD_SCHEMA');
  assert.is(code(() => decodeMessage(plainEncode({ ...cmd(), v: SCHEMA_VERSION + 1 }))).path, 'v');
  assert.is(code(() => decodeMessage(plainEncode({ ...cmd(), t: 'bogus' }))).path, 't');
});

codec('wrong field types are FLEET_BAD_FIELD with the field path', () => {
  const cases: [unknown, string][] = [
    [{ ...cmd(), id: 42 }, 'id'],
    [{ ...cmd(), deadline: 1.5 }, 'deadline'],
    [{ ...cmd(), deadline: -1 }, 'deadline'],
    [{ ...cmd(), args: { name: 'a/b' } }, 'args.name'],
    [{ ...cmd(), args: undefined }, 'args'],
    [{ ...cmd(), kind: 'deploy', args: { name: 'p', image: new Uint8Array(4), profile: 'app', isa: 'rv32imac', ramSize: '64k' } }, 'args.ramSize'],
    [{ ...cmd(), kind: 'deploy', args: { name: 'p', image: new Uint8Array(4), profile: 'bios', isa: 'rv32imac', ramSize: 4096 } }, 'args.profile'],
    [{ ...cmd(), kind: 'deploy', args: { name: 'p', image: 'AAAA', profile: 'app', isa: 'rv32imac', ramSize: 4096 } }, 'args.image'],
    [{ ...cmd(), kind: 'deploy', args: { name: 'p', image: new Uint8Array(4), profile: 'app', isa: 'rv32imac', ramSize: 4096, windows: [{ offset: 0, duration: 1 }, { offset: 5, duration: 0 }] } }, 'args.windows[1].duration'],
    [{ ...cmd(), kind: 'chunk-put', args: { transfer: 't', index: 3, count: 3, data: new Uint8Array(1) } }, 'args.index'],
    [{ ...cmd(), sig: { key: 'k', nonce: new Uint8Array(8), exp: 1, sig: new Uint8Array(64) } }, 'sig.nonce'],
  ];
  for (const [payload, path] of cases) {
    const e = code(() => decodeMessage(plainEncode(payload)));
    assert.is(e.code, 'FLEET_BAD_FIELD', path);
    assert.is(e.path, path);
    assert.ok(e.message.includes(path), e.message);
  }
});

codec('an unknown command kind is FLEET_UNKNOWN_COMMAND, and id/replyTo are salvaged for the error reply', () => {
  const salvage = {};
  assert.is(code(() => decodeMessage(plainEncode({ ...cmd(), kind: 'format-disk' }), {}, salvage)).code, 'FLEET_UNKNOWN_COMMAND');
  assert.equal(salvage, { id: 'c1', replyTo: replyTopic('f', 'g', 'ctl'), kind: 'format-disk' });
});

codec('a __proto__ key cannot change the prototype of decoded objects', () => {
  const raw = new Uint8Array([...plainEncode({ ...cmd() })]);
  const m = decodeMessage(raw) as unknown as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(m), Object.prototype);
  const evil = plainEncode(JSON.parse(`{"v":1,"t":"cmd","id":"c1","kind":"start","replyTo":"x","deadline":1,"args":{"name":"p","__proto__":{"polluted":true}}}`));
  const e = decodeMessage(evil) as CommandMsg;
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(e.args, { name: 'p' });
});
codec.run();

// ---------------------------------------------------------------------------
const sign = suite('sign: Ed25519 over the canonical command, bound to fleet and gateway');

sign('a signed command verifies; the signature is a standard Ed25519 signature (node:crypto agrees)', async () => {
  const kp = await generateKeyPair();
  const trust = new TrustStore();
  assert.is(await trust.add(kp.publicKey), kp.keyId);
  const c = await signCommand(cmd(), 'f', 'g', kp.signer, { now: 1000 });
  await verifyCommand(c, 'f', 'g', trust);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(kp.publicKey)]);
  const ok = nodeVerify(null, commandSigningBytes('f', 'g', c, c.sig!.nonce, c.sig!.exp), createPublicKey({ key: spki, format: 'der', type: 'spki' }), c.sig!.sig);
  assert.ok(ok);
});

sign('canonical form: args with the same content in another key order still verify', async () => {
  const kp = await generateKeyPair();
  const trust = new TrustStore();
  await trust.add(kp.publicKey);
  const c = await signCommand(cmd({ kind: 'update-schedule', args: { majorFrame: 100, windows: [{ partition: 'p', offset: 0, duration: 10 }] } } as Partial<CommandMsg>), 'f', 'g', kp.signer);
  const reordered = { ...c, args: { windows: [{ duration: 10, offset: 0, partition: 'p' }], majorFrame: 100 } } as CommandMsg;
  await verifyCommand(decodeAs('cmd', encodeMessage(reordered)), 'f', 'g', trust);
});

sign('tampering, another gateway, an unknown key or no signature are each rejected with their own code', async () => {
  const kp = await generateKeyPair();
  const other = await generateKeyPair();
  const trust = new TrustStore();
  await trust.add(kp.publicKey);
  const c = await signCommand(cmd(), 'f', 'g', kp.signer);
  assert.is((await codeAsync(() => verifyCommand({ ...c, args: { name: 'p1' } } as CommandMsg, 'f', 'g', trust))).code, 'FLEET_BAD_SIGNATURE');
  assert.is((await codeAsync(() => verifyCommand({ ...c, deadline: c.deadline + 1 }, 'f', 'g', trust))).code, 'FLEET_BAD_SIGNATURE');
  assert.is((await codeAsync(() => verifyCommand(c, 'f', 'g2', trust))).code, 'FLEET_BAD_SIGNATURE');
  const foreign = await signCommand(cmd(), 'f', 'g', other.signer);
  assert.is((await codeAsync(() => verifyCommand(foreign, 'f', 'g', trust))).code, 'FLEET_UNKNOWN_KEY');
  assert.is((await codeAsync(() => verifyCommand(cmd(), 'f', 'g', trust))).code, 'FLEET_UNSIGNED');
});

sign('replay guard: a nonce is accepted once, expired and too-distant expiries are refused', () => {
  const g = new ReplayGuard(60_000);
  const n1 = new Uint8Array(16).fill(1);
  g.check(n1, 10_000, 1000);
  assert.is(code(() => g.check(n1, 10_000, 2000)).code, 'FLEET_REPLAYED');
  assert.is(code(() => g.check(new Uint8Array(16).fill(2), 999, 1000)).code, 'FLEET_EXPIRED');
  assert.is(code(() => g.check(new Uint8Array(16).fill(3), 1000 + 60_001, 1000)).code, 'FLEET_EXPIRY_TOO_FAR');
  // After expiry the nonce is forgotten, and the expiry check alone refuses it.
  assert.is(code(() => g.check(n1, 10_000, 10_001)).code, 'FLEET_EXPIRED');
});

sign('image signatures cover the image digest', async () => {
  const kp = await generateKeyPair();
  const trust = new TrustStore();
  await trust.add(kp.publicKey);
  const img = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
  const s = await signImage(img, kp.signer);
  await verifyImage(img, s, trust);
  const bad = img.slice();
  bad[6] ^= 1;
  assert.is((await codeAsync(() => verifyImage(bad, s, trust))).code, 'FLEET_BAD_SIGNATURE');
  assert.is((await codeAsync(() => verifyImage(img, undefined, trust))).code, 'FLEET_UNSIGNED');
});
sign.run();

// ---------------------------------------------------------------------------
const bucket = suite('rate limit: token bucket grants burst, then rate per second');

bucket('a burst is granted at once, then tokens refill at the rate', () => {
  const b = new TokenBucket(100, 50, 0);
  assert.is(b.take(80, 0), 50);
  assert.is(b.take(10, 0), 0);
  assert.is(b.take(10, 50), 5);
  assert.is(b.take(1000, 10_000), 50);
});
bucket.run();
