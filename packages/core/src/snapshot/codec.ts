/**
 * The snapshot document: a CBOR envelope `{ format, version, body, sha256 }`
 * whose `body` is itself CBOR-encoded bytes, so the digest covers exactly the
 * bytes that will be decoded. The digest is SHA-256 from WebCrypto, which
 * Node, Deno and browsers all provide natively.
 *
 * This is the only module of the core that imports cbor-x.
 */
import { Encoder } from 'cbor-x';
import { SnapshotError } from '../errors.ts';

/**
 * The `format` marker every snapshot envelope carries; a document without it is rejected with
 * `SNAPSHOT_NOT_SNAPSHOT`.
 */
export const SNAPSHOT_FORMAT = 'rvisor.snapshot';
/** Envelope version this build writes and the only one it reads; others are rejected with `SNAPSHOT_VERSION`. */
export const SNAPSHOT_VERSION = 1;

// Decoded byte strings are views into the document, not copies (snapshots are
// mostly RAM): callers copy what they keep beyond the document's lifetime.
const cbor = /* @__PURE__ */ new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, copyBuffers: false });

/** Encode `body` (plain data: numbers, strings, arrays, objects, Uint8Array) into a snapshot document. */
export async function encodeDocument(body: unknown): Promise<Uint8Array> {
  const bytes = toU8(cbor.encode(body));
  const sha256 = await digest(bytes);
  return toU8(cbor.encode({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, body: bytes, sha256 }));
}

/**
 * Verify and decode a snapshot document; every failure is a SnapshotError
 * with its own code. Byte strings in the result are views into `doc`.
 */
export async function decodeDocument(doc: Uint8Array): Promise<unknown> {
  if (!(doc instanceof Uint8Array) || doc.length === 0) {
    throw new SnapshotError('SNAPSHOT_EMPTY', 'snapshot is empty');
  }
  const envelope = decodeCbor(doc, 'snapshot');
  if (envelope === null || typeof envelope !== 'object' || (envelope as { format?: unknown }).format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError('SNAPSHOT_NOT_SNAPSHOT', 'not an rvisor snapshot (format marker missing)');
  }
  const { version, body, sha256 } = envelope as { version?: unknown; body?: unknown; sha256?: unknown };
  if (version !== SNAPSHOT_VERSION) {
    throw new SnapshotError('SNAPSHOT_VERSION', `snapshot version ${String(version)} is not supported (this build reads version ${SNAPSHOT_VERSION})`);
  }
  if (!(body instanceof Uint8Array) || !(sha256 instanceof Uint8Array) || sha256.length !== 32) {
    throw new SnapshotError('SNAPSHOT_FIELD', 'snapshot envelope lacks body or sha256');
  }
  // WebCrypto hashes off the main thread: decode meanwhile, but hand nothing
  // out before the digest matches.
  const pending = digest(body);
  let decoded: unknown;
  let failure: unknown;
  try {
    decoded = decodeCbor(body, 'snapshot body');
  } catch (e) {
    failure = e;
  }
  const actual = await pending;
  for (let i = 0; i < 32; i++) {
    if (actual[i] !== sha256[i]) throw new SnapshotError('SNAPSHOT_CHECKSUM', 'snapshot checksum mismatch: the document is corrupt');
  }
  if (failure !== undefined) throw failure;
  return decoded;
}

function decodeCbor(bytes: Uint8Array, what: string): unknown {
  try {
    return cbor.decode(bytes);
  } catch (cause) {
    // cbor-x marks a short read with `incomplete: true`.
    const truncated = (cause as { incomplete?: boolean } | null)?.incomplete === true;
    throw new SnapshotError(
      truncated ? 'SNAPSHOT_TRUNCATED' : 'SNAPSHOT_NOT_CBOR',
      `${what} is ${truncated ? 'truncated' : 'not valid CBOR'}`,
      { cause },
    );
  }
}

async function digest(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

function toU8(b: Uint8Array): Uint8Array {
  // cbor-x hands back a Node Buffer on Node; callers get a plain view either way.
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
