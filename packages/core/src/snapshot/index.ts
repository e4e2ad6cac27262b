export { decodeDocument, encodeDocument, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from './codec.ts';
export { checkRam, decodeRam, encodeRam, RAM_PAGE } from './ram.ts';
export type { RamImage } from './ram.ts';
