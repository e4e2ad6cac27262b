/**
 * The snapshot document format: a versioned, SHA-256-checked CBOR envelope, and the sparse encoding of
 * guest RAM inside it.
 *
 * @module @rvisor/core/snapshot
 */
export { decodeDocument, encodeDocument, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from './codec.ts';
export { checkRam, decodeRam, encodeRam, RAM_PAGE } from './ram.ts';
export type { RamImage } from './ram.ts';
