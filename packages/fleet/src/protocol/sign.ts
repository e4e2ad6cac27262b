import { encodeValue } from './codec.ts';
import {
  FLEET_BAD_SIGNATURE, FLEET_EXPIRED, FLEET_EXPIRY_TOO_FAR, FLEET_REPLAYED, FLEET_UNKNOWN_KEY, FLEET_UNSIGNED, fleetError,
} from './errors.ts';
import type { CommandMsg, ImageSignature, Signature } from './schema.ts';

/*
 * Ed25519 through WebCrypto (`globalThis.crypto.subtle`), available on Node
 * 20, Deno and browsers alike, so signing tools need not run on Node.
 *
 * What is signed is a canonical CBOR array, not the payload bytes: the array
 * fixes field order (maps in CBOR have none) and binds the command to its
 * target fleet and gateway, so a command signed for one gateway cannot be
 * replayed to another. Maps inside `args` are encoded with keys sorted
 * (length first, then code units: RFC 8949 §4.2.1 for text keys).
 */
const ED25519 = { name: 'Ed25519' } as const;
const COMMAND_DOMAIN = 'rvisor/v1/cmd';
const IMAGE_DOMAIN = 'rvisor/v1/image';

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw fleetError(FLEET_BAD_SIGNATURE, 'WebCrypto (globalThis.crypto.subtle) is not available in this runtime');
  return s;
}

const HEX = /* @__PURE__ */ Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes));
}

/** Key id of a raw 32-byte public key: first 8 bytes of its SHA-256, hex. */
export async function keyIdOf(publicKey: Uint8Array): Promise<string> {
  return toHex((await sha256(publicKey)).subarray(0, 8));
}

function sortKeys(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sortKeys);
  if (x === null || typeof x !== 'object' || x instanceof Uint8Array) return x;
  const keys = Object.keys(x).filter((k) => (x as Record<string, unknown>)[k] !== undefined);
  keys.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = sortKeys((x as Record<string, unknown>)[k]);
  return out;
}

/** The exact bytes a command signature covers. */
export function commandSigningBytes(fleet: string, gw: string, cmd: CommandMsg, nonce: Uint8Array, exp: number): Uint8Array {
  return encodeValue([COMMAND_DOMAIN, fleet, gw, cmd.id, cmd.kind, cmd.replyTo, cmd.deadline, sortKeys(cmd.args), nonce, exp]);
}

export interface Signer {
  readonly keyId: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface KeyPair {
  keyId: string;
  /** Raw 32-byte public key: what an agent is configured to trust. */
  publicKey: Uint8Array;
  /** PKCS#8 private key, for storing; `signer` is ready to use. */
  privateKey: Uint8Array;
  signer: Signer;
}

export async function generateKeyPair(): Promise<KeyPair> {
  const kp = (await subtle().generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await subtle().exportKey('raw', kp.publicKey));
  const privateKey = new Uint8Array(await subtle().exportKey('pkcs8', kp.privateKey));
  const keyId = await keyIdOf(publicKey);
  return { keyId, publicKey, privateKey, signer: signerFromKey(keyId, kp.privateKey) };
}

function signerFromKey(keyId: string, key: CryptoKey): Signer {
  return { keyId, sign: async (data) => new Uint8Array(await subtle().sign(ED25519, key, data as Uint8Array<ArrayBuffer>)) };
}

/** A signer from a stored PKCS#8 private key. */
export async function importSigner(pkcs8: Uint8Array, keyId: string): Promise<Signer> {
  const key = await subtle().importKey('pkcs8', pkcs8 as Uint8Array<ArrayBuffer>, ED25519, false, ['sign']);
  return signerFromKey(keyId, key);
}

/** Trusted public keys by key id. */
export class TrustStore {
  readonly #keys = new Map<string, CryptoKey>();

  /** Adds a raw 32-byte public key; returns its key id (derived unless given). */
  async add(publicKey: Uint8Array, keyId?: string): Promise<string> {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw fleetError(FLEET_UNKNOWN_KEY, `public key must be 32 raw bytes, got ${publicKey?.length}`);
    const id = keyId ?? (await keyIdOf(publicKey));
    this.#keys.set(id, await subtle().importKey('raw', publicKey as Uint8Array<ArrayBuffer>, ED25519, false, ['verify']));
    return id;
  }

  get size(): number {
    return this.#keys.size;
  }

  async verify(keyId: string, data: Uint8Array, sig: Uint8Array, what: string): Promise<void> {
    const key = this.#keys.get(keyId);
    if (!key) throw fleetError(FLEET_UNKNOWN_KEY, `${what} is signed with key ${keyId}, which this agent does not trust`, 'sig.key');
    const ok = await subtle().verify(ED25519, key, sig as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>);
    if (!ok) throw fleetError(FLEET_BAD_SIGNATURE, `${what} signature does not verify with key ${keyId} (content altered or wrong key)`, 'sig.sig');
  }
}

/** Signs `cmd` in place (sets `cmd.sig`) for delivery to `fleet`/`gw`, valid for `ttlMs`. */
export async function signCommand(cmd: CommandMsg, fleet: string, gw: string, signer: Signer, options: { ttlMs?: number; now?: number } = {}): Promise<CommandMsg> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const exp = Math.floor((options.now ?? Date.now()) + (options.ttlMs ?? 60_000));
  const sig = await signer.sign(commandSigningBytes(fleet, gw, cmd, nonce, exp));
  cmd.sig = { key: signer.keyId, nonce, exp, sig } satisfies Signature;
  return cmd;
}

/**
 * Nonces seen inside the replay window. An entry lives until its signature
 * expires, after which the expiry check alone rejects a replay, so memory is
 * bounded by (commands per window); `maxEntries` caps it against floods.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  constructor(readonly windowMs = 5 * 60_000, readonly maxEntries = 65_536) {}

  /** Throws FLEET_EXPIRED / FLEET_EXPIRY_TOO_FAR / FLEET_REPLAYED; otherwise records the nonce. */
  check(nonce: Uint8Array, exp: number, now: number): void {
    if (exp <= now) throw fleetError(FLEET_EXPIRED, `signature expired ${now - exp} ms ago`, 'sig.exp');
    if (exp > now + this.windowMs) throw fleetError(FLEET_EXPIRY_TOO_FAR, `signature expiry is ${exp - now} ms ahead, beyond the ${this.windowMs} ms replay window`, 'sig.exp');
    for (const [k, e] of this.#seen) if (e <= now) this.#seen.delete(k);
    const key = toHex(nonce);
    if (this.#seen.has(key)) throw fleetError(FLEET_REPLAYED, `nonce ${key} was already used (replayed command)`, 'sig.nonce');
    if (this.#seen.size >= this.maxEntries) throw fleetError(FLEET_REPLAYED, `replay cache full (${this.maxEntries} live nonces); refusing new signed commands until some expire`, 'sig.nonce');
    this.#seen.set(key, exp);
  }
}

/**
 * Verifies that a command is signed by a trusted key for this fleet/gateway;
 * throws a FleetError saying why not. Freshness (nonce, expiry) is a separate
 * step, `ReplayGuard.check`, because the agent answers a duplicate delivery
 * of an already-executed command from its idempotency cache in between.
 */
export async function verifyCommand(cmd: CommandMsg, fleet: string, gw: string, trust: TrustStore): Promise<void> {
  const s = cmd.sig;
  if (!s) throw fleetError(FLEET_UNSIGNED, `command ${cmd.id} is unsigned and this agent only accepts signed commands`, 'sig');
  await trust.verify(s.key, commandSigningBytes(fleet, gw, cmd, s.nonce, s.exp), s.sig, `command ${cmd.id}`);
}

function imageSigningBytes(digest: Uint8Array): Uint8Array {
  return encodeValue([IMAGE_DOMAIN, digest]);
}

export async function signImage(image: Uint8Array, signer: Signer): Promise<ImageSignature> {
  return { key: signer.keyId, sig: await signer.sign(imageSigningBytes(await sha256(image))) };
}

export async function verifyImage(image: Uint8Array, s: ImageSignature | undefined, trust: TrustStore): Promise<void> {
  if (!s) throw fleetError(FLEET_UNSIGNED, 'image is unsigned and this agent only accepts signed images', 'args.imageSig');
  await trust.verify(s.key, imageSigningBytes(await sha256(image)), s.sig, 'image');
}
