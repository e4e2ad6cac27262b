/**
 * RAM images inside snapshots. Guest RAM is mostly zero (bss, heap never
 * touched, the gap below the stack), so only non-zero 4 KiB pages are
 * stored: a bitmap of present pages plus their bytes back to back.
 */
import { SnapshotError } from '../errors.ts';

/** Granularity of RAM images in bytes: a page is stored only when one of its bytes is non-zero. */
export const RAM_PAGE = 4096;

/** Guest RAM in snapshot form: only the non-zero 4 KiB pages, plus a bitmap saying which pages those are. */
export interface RamImage {
  /** Length of the RAM in bytes. */
  size: number;
  /** Bit i set: page i is stored in `data`. */
  present: Uint8Array;
  /** The stored pages back to back, {@link RAM_PAGE} bytes each (the last page zero-padded), in page order. */
  data: Uint8Array;
}

/** Compress `ram` into a {@link RamImage} by dropping all-zero pages; the result does not alias `ram`. */
export function encodeRam(ram: Uint8Array): RamImage {
  const pages = Math.ceil(ram.length / RAM_PAGE);
  const present = new Uint8Array((pages + 7) >>> 3);
  // Scan words, not bytes: a quarter of the loop iterations.
  const aligned = (ram.byteOffset & 3) === 0 && (ram.length & 3) === 0;
  const words = aligned ? new Int32Array(ram.buffer, ram.byteOffset, ram.length >>> 2) : null;
  let count = 0;
  for (let p = 0; p < pages; p++) {
    const start = p * RAM_PAGE;
    const end = Math.min(start + RAM_PAGE, ram.length);
    let nonZero = false;
    if (words !== null) {
      for (let i = start >>> 2, e = end >>> 2; i < e; i++) {
        if (words[i] !== 0) {
          nonZero = true;
          break;
        }
      }
    } else {
      for (let i = start; i < end; i++) {
        if (ram[i] !== 0) {
          nonZero = true;
          break;
        }
      }
    }
    if (nonZero) {
      present[p >>> 3]! |= 1 << (p & 7);
      count++;
    }
  }
  const data = new Uint8Array(count * RAM_PAGE);
  let at = 0;
  for (let p = 0; p < pages; p++) {
    if ((present[p >>> 3]! & (1 << (p & 7))) === 0) continue;
    const start = p * RAM_PAGE;
    const chunk = ram.subarray(start, Math.min(start + RAM_PAGE, ram.length));
    data.set(chunk, at);
    at += RAM_PAGE;
  }
  return { size: ram.length, present, data };
}

/** Check an image's shape against the RAM it will fill; throws before any byte is written. */
export function checkRam(image: RamImage, ramSize: number): void {
  if (image.size !== ramSize) {
    throw new SnapshotError('SNAPSHOT_RAM_SIZE', `snapshot RAM is ${image.size} bytes, the partition has ${ramSize}`);
  }
  const pages = Math.ceil(image.size / RAM_PAGE);
  if (image.present.length !== (pages + 7) >>> 3) {
    throw new SnapshotError('SNAPSHOT_FIELD', `ram.present has ${image.present.length} bytes, expected ${(pages + 7) >>> 3}`);
  }
  let count = 0;
  for (let p = 0; p < pages; p++) if (image.present[p >>> 3]! & (1 << (p & 7))) count++;
  if (image.data.length !== count * RAM_PAGE) {
    throw new SnapshotError('SNAPSHOT_FIELD', `ram.data has ${image.data.length} bytes for ${count} present pages`);
  }
}

/** Fill `ram` from an image checked with `checkRam`. */
export function decodeRam(image: RamImage, ram: Uint8Array): void {
  checkRam(image, ram.length);
  const pages = Math.ceil(image.size / RAM_PAGE);
  let at = 0;
  for (let p = 0; p < pages; p++) {
    const start = p * RAM_PAGE;
    const end = Math.min(start + RAM_PAGE, ram.length);
    if (image.present[p >>> 3]! & (1 << (p & 7))) {
      ram.set(image.data.subarray(at, at + (end - start)), start);
      at += RAM_PAGE;
    } else {
      ram.fill(0, start, end);
    }
  }
}
