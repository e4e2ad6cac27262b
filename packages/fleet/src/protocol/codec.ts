import { Decoder, Encoder } from 'cbor-x';
import { FLEET_BAD_FIELD, FLEET_BAD_PAYLOAD, FLEET_BAD_SCHEMA, FLEET_TOO_LARGE, FLEET_UNKNOWN_COMMAND, fleetError } from './errors.ts';
import { NAME_PATTERN } from './topics.ts';
import {
  COMMAND_KINDS, DEFAULT_MAX_PAYLOAD, ISAS, PARTITION_STATES, PROFILES, SCHEMA_VERSION,
  type CommandKind, type CommandMsg, type Message, type MessageType,
} from './schema.ts';

/*
 * The only module that turns payload bytes into messages and back. Decoding
 * validates every field before anything acts on it and returns fresh objects
 * holding only the known fields, so handlers never see unchecked input.
 * Records/structured clones are off: peers in other languages must be able to
 * read every payload with a plain CBOR library.
 */
const encoder = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export interface CodecOptions {
  /** Largest accepted payload in bytes (default 1 MiB). */
  maxPayload?: number;
}

export function encodeMessage(msg: Message, options: CodecOptions = {}): Uint8Array {
  const bytes = encoder.encode(msg) as Uint8Array;
  const max = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (bytes.length > max) throw fleetError(FLEET_TOO_LARGE, `${msg.t} payload of ${bytes.length} bytes exceeds the ${max}-byte limit`);
  return bytes;
}

/** Plain CBOR of any value (used by sign.ts for canonical bodies); no size limit. */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(value) as Uint8Array;
}

/** What was salvaged from a command that failed validation, so the error can be answered. */
export interface Salvage {
  id?: string;
  replyTo?: string;
  kind?: string;
}

/** Decodes and validates one payload. Throws FleetError (FLEET_TOO_LARGE, _BAD_PAYLOAD, _BAD_SCHEMA, _BAD_FIELD); `salvage` receives id/replyTo when readable. */
export function decodeMessage(bytes: Uint8Array, options: CodecOptions = {}, salvage?: Salvage): Message {
  const max = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (bytes.length > max) throw fleetError(FLEET_TOO_LARGE, `payload of ${bytes.length} bytes exceeds the ${max}-byte limit`);
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    throw fleetError(FLEET_BAD_PAYLOAD, `payload is not one well-formed CBOR item: ${(err as Error).message}`, undefined, err);
  }
  if (!isPlainObject(raw)) throw fleetError(FLEET_BAD_PAYLOAD, `payload is ${describe(raw)}, expected a CBOR map`);
  if (salvage) {
    if (typeof raw.id === 'string' && raw.id.length <= 64) salvage.id = raw.id;
    if (typeof raw.replyTo === 'string' && raw.replyTo.length <= 256) salvage.replyTo = raw.replyTo;
    if (typeof raw.kind === 'string' && raw.kind.length <= 64) salvage.kind = raw.kind;
  }
  if (!Object.hasOwn(raw, 'v')) throw fleetError(FLEET_BAD_SCHEMA, 'payload has no schema version field v', 'v');
  if (raw.v !== SCHEMA_VERSION) throw fleetError(FLEET_BAD_SCHEMA, `schema version ${describe(raw.v)} is not supported (expected ${SCHEMA_VERSION})`, 'v');
  const t = raw.t;
  if (typeof t !== 'string' || !Object.hasOwn(MESSAGES, t)) throw fleetError(FLEET_BAD_SCHEMA, `message type ${describe(t)} is unknown`, 't');
  return MESSAGES[t as MessageType](raw, '') as Message;
}

/** Like decodeMessage but insists on type `t`. */
export function decodeAs<T extends MessageType>(t: T, bytes: Uint8Array, options?: CodecOptions, salvage?: Salvage): Extract<Message, { t: T }> {
  const m = decodeMessage(bytes, options, salvage);
  if (m.t !== t) throw fleetError(FLEET_BAD_SCHEMA, `message type ${m.t} where ${t} was expected`, 't');
  return m as Extract<Message, { t: T }>;
}

// ---- validators -----------------------------------------------------------

type V<T> = (x: unknown, path: string) => T;

function bad(path: string, expected: string, x: unknown): never {
  throw fleetError(FLEET_BAD_FIELD, `field ${path || '(root)'} is ${describe(x)}, expected ${expected}`, path);
}

function describe(x: unknown): string {
  if (x === undefined) return 'missing';
  if (x === null) return 'null';
  if (x instanceof Uint8Array) return `bytes(${x.length})`;
  if (Array.isArray(x)) return `an array(${x.length})`;
  if (typeof x === 'string') return x.length > 40 ? `string "${x.slice(0, 40)}..."` : `string ${JSON.stringify(x)}`;
  if (typeof x === 'number') return `number ${x}`;
  if (typeof x === 'object') return isPlainObject(x) ? 'a map' : `a ${(x as object).constructor?.name ?? 'tagged value'}`;
  return `${typeof x} ${String(x)}`;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x) || x instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

const str = (max = 256, pattern?: RegExp, what = `a string of at most ${max} chars`): V<string> => (x, p) =>
  typeof x === 'string' && x.length <= max && (!pattern || pattern.test(x)) ? x : bad(p, what, x);
const name: V<string> = str(64, NAME_PATTERN, 'a name of 1-64 [A-Za-z0-9_.:-]');
const hex64: V<string> = str(64, /^[0-9a-f]{64}$/, 'a 64-digit lowercase hex SHA-256');
const int = (min: number, max: number): V<number> => (x, p) =>
  typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max ? x : bad(p, `an integer in [${min}, ${max}]`, x);
const uint = int(0, Number.MAX_SAFE_INTEGER);
const bool: V<boolean> = (x, p) => (typeof x === 'boolean' ? x : bad(p, 'a boolean', x));
const bytes = (min = 0, max = Infinity): V<Uint8Array> => (x, p) => {
  if (!(x instanceof Uint8Array) || x.length < min || x.length > max) return bad(p, min === max ? `bytes(${min})` : 'a byte string', x);
  // Copy out of the receive buffer: handlers may keep the bytes (images, snapshots).
  return new Uint8Array(x);
};
const oneOf = <T extends string>(values: readonly T[]): V<T> => (x, p) =>
  typeof x === 'string' && (values as readonly string[]).includes(x) ? (x as T) : bad(p, `one of ${values.join('|')}`, x);
const arr = <T>(item: V<T>, max: number): V<T[]> => (x, p) => {
  if (!Array.isArray(x) || x.length > max) return bad(p, `an array of at most ${max} items`, x);
  return x.map((e, i) => item(e, `${p}[${i}]`));
};
const any: V<unknown> = (x) => x;

type Spec = Record<string, V<unknown>>;
/** A map with required fields `req` and optional fields `opt`; unknown keys are dropped. */
function obj<T>(req: Spec, opt: Spec = {}): V<T> {
  return (x, p) => {
    if (!isPlainObject(x)) return bad(p, 'a map', x);
    const out: Record<string, unknown> = {};
    const at = (k: string): string => (p ? `${p}.${k}` : k);
    for (const k in req) out[k] = req[k]!(Object.hasOwn(x, k) ? x[k] : undefined, at(k));
    for (const k in opt) if (Object.hasOwn(x, k) && x[k] !== undefined && x[k] !== null) out[k] = opt[k]!(x[k], at(k));
    return out as T;
  };
}

const partitionReport = obj({
  name, state: oneOf(PARTITION_STATES), ramSize: uint, instructions: uint, image: str(128),
}, { fault: str(256) });
const capabilities = obj({
  poolBytes: uint, poolFreeBytes: uint, maxPartitions: uint,
  schedules: arr(str(32), 16), runtime: str(64), isa: arr(str(32), 16),
});
const windowSpec = obj({ offset: uint, duration: int(1, Number.MAX_SAFE_INTEGER) });
const nameArgs = obj({ name });
const blobRef = { doc: bytes(), transfer: name };
function blobArgs(x: unknown, p: string): unknown {
  const a = obj<{ doc?: Uint8Array; transfer?: string }>({ name, digest: hex64 }, blobRef)(x, p);
  if ((a.doc === undefined) === (a.transfer === undefined)) bad(p ? `${p}.doc` : 'doc', 'exactly one of doc or transfer', a.doc);
  return a;
}

const ARGS: Record<CommandKind, V<unknown>> = {
  deploy: (x, p) => {
    const a = obj<{ image?: Uint8Array; transfer?: string; digest?: string }>(
      { name, profile: oneOf(PROFILES), isa: oneOf(ISAS), ramSize: int(1, 2 ** 32) },
      { image: bytes(1), transfer: name, digest: hex64, windows: arr(windowSpec, 64), start: bool, imageSig: obj({ key: str(64), sig: bytes(64, 64) }) },
    )(x, p);
    if ((a.image === undefined) === (a.transfer === undefined)) bad(`${p}.image`, 'exactly one of image or transfer', a.image);
    if (a.transfer !== undefined && a.digest === undefined) bad(`${p}.digest`, 'the image digest (required with transfer)', undefined);
    return a;
  },
  start: nameArgs, pause: nameArgs, resume: nameArgs, stop: nameArgs, destroy: nameArgs, snapshot: nameArgs,
  restore: blobArgs,
  'migrate-out': nameArgs,
  'migrate-in': blobArgs,
  'update-schedule': obj({ majorFrame: int(1, Number.MAX_SAFE_INTEGER), windows: arr(obj({ partition: name, offset: uint, duration: int(1, Number.MAX_SAFE_INTEGER) }), 256) }),
  rebirth: obj({}),
  'chunk-put': (x, p) => {
    const a = obj<{ index: number; count: number }>({ transfer: name, index: uint, count: int(1, 65536), data: bytes() })(x, p);
    if (a.index >= a.count) bad(`${p}.index`, `an index below count ${a.count}`, a.index);
    return a;
  },
  'chunk-get': obj({ transfer: name, index: uint }),
};

const signature = obj({ key: str(64), nonce: bytes(16, 16), exp: uint, sig: bytes(64, 64) });
const errorBody = obj({ code: str(64), message: str(1024) }, { path: str(256) });
const seqFields = { gw: name, session: uint, seq: uint };

const MESSAGES: Record<MessageType, V<unknown>> = {
  state: obj({ v: any, t: any, ...seqFields, online: bool, ts: uint }, { capabilities, partitions: arr(partitionReport, 1024), reason: str(64) }),
  cmd: (x, p) => {
    const m = obj<CommandMsg>({ v: any, t: any, id: name, kind: any, replyTo: str(256), deadline: uint }, { sig: signature })(x, p);
    const raw = x as Record<string, unknown>;
    if (typeof m.kind !== 'string' || !Object.hasOwn(ARGS, m.kind)) {
      throw fleetError(FLEET_UNKNOWN_COMMAND, `command kind ${describe(m.kind)} is unknown`, 'kind');
    }
    m.args = ARGS[m.kind as CommandKind](Object.hasOwn(raw, 'args') ? raw.args : undefined, 'args') as never;
    return m;
  },
  reply: obj({ v: any, t: any, gw: name, ok: bool, ts: uint, id: (x, p) => (x === null ? null : name(x, p)) }, { kind: str(64), result: any, error: errorBody }),
  telemetry: obj({ v: any, t: any, ...seqFields, ts: uint }, { partitions: arr(partitionReport, 1024), poolFreeBytes: uint, p: name, topic: str(64), data: bytes(), dropped: uint }),
  console: obj({ v: any, t: any, ...seqFields, p: name, data: bytes(), dropped: uint }),
};
