/**
 * The hypervisor's fixed memory pool: one ArrayBuffer, allocated once, carved
 * into aligned regions that are Uint8Array views of it. The pool never grows,
 * so the host's memory use is decided when the hypervisor is created.
 *
 * Free space is a list of blocks sorted by offset and coalesced on every
 * free(), so a create/destroy loop lands on the same offsets and usage stays
 * flat. Allocation is best fit (smallest block that fits, lowest offset on a
 * tie): it keeps large blocks whole for large partitions and is deterministic,
 * so two hosts given the same sequence of requests lay memory out the same.
 */

import { ConfigError } from '../errors.ts';

/** The pool's size or alignment is not usable. */
export const MEMORY_POOL_CONFIG = 'MEMORY_POOL_CONFIG';
/** A requested size is not a positive multiple of 4 bytes. */
export const MEMORY_BAD_SIZE = 'MEMORY_BAD_SIZE';
/** No free block is large enough (the message gives the largest one). */
export const MEMORY_EXHAUSTED = 'MEMORY_EXHAUSTED';
/** free() of a region this pool does not hold (double free, foreign region). */
export const MEMORY_NOT_ALLOCATED = 'MEMORY_NOT_ALLOCATED';

/** Default alignment: the bus's page size, so page flags never straddle two owners. */
export const DEFAULT_ALIGN = 4096;

/** A live allocation from a {@link MemoryPool}: a zero-filled, aligned slice of the pool's buffer held by one owner. */
export interface Region {
  /** Who holds it: a partition id or `window:<name>`; for messages and inspection. */
  readonly owner: string;
  /** Byte offset in the pool; a multiple of the pool's alignment. */
  readonly offset: number;
  /** Usable size as requested (`bytes.length`). */
  readonly size: number;
  /** Bytes taken from the pool: `size` rounded up to the alignment. */
  readonly span: number;
  /** A view of the pool; zero-filled when allocated. */
  readonly bytes: Uint8Array;
}

/** A snapshot of a pool's usage, in bytes unless noted; returned by {@link MemoryPool.stats}. */
export interface PoolStats {
  /** Total pool size in bytes. */
  size: number;
  /** Sum of the spans of live regions. */
  used: number;
  /** Bytes in free blocks (`size - used`). */
  free: number;
  /** Size of the largest free block: the biggest region that can still be allocated. */
  largestFree: number;
  /** Number of separate free blocks. */
  freeBlocks: number;
  /** Number of live regions. */
  regions: number;
  /** 1 - largestFree / free: 0 when free space is one block (or none), towards 1 when scattered. */
  fragmentation: number;
}

/** Options for {@link MemoryPool}'s constructor. */
export interface PoolOptions {
  /** Power of two, at least 4 (the bus needs 4-aligned RAM). Default 4096. */
  align?: number;
}

interface Block {
  offset: number;
  size: number;
}

/**
 * A fixed-size memory pool (one ArrayBuffer allocated up front) carved into aligned regions by deterministic best
 * fit.
 */
export class MemoryPool {
  /** Pool size in bytes, fixed at construction. */
  readonly size: number;
  /** Alignment in bytes of every region's offset and span. */
  readonly align: number;
  /** The single backing buffer every region views. */
  readonly buffer: ArrayBuffer;
  /** Sorted by offset; no two blocks touch (they are coalesced). */
  private freeList: Block[];
  private live = new Set<Region>();
  /** Bumped by every allocate/free so a plan can tell it is stale. */
  private gen = 0;
  /** End of the highest byte ever handed out; everything above is still zero. */
  private touched = 0;

  /**
   * Allocate the pool's `size` bytes at once.
   * @throws ConfigError `MEMORY_POOL_CONFIG` when `align` is not a power of two in [4, 2^30], `size` is not a
   * positive multiple of it, or the host cannot allocate the buffer.
   */
  constructor(size: number, options: PoolOptions = {}) {
    const align = options.align ?? DEFAULT_ALIGN;
    if (!Number.isInteger(align) || align < 4 || (align & (align - 1)) !== 0 || align > 0x4000_0000) {
      throw new ConfigError(MEMORY_POOL_CONFIG, `pool alignment ${align} is not a power of two between 4 and 2^30`);
    }
    if (!Number.isSafeInteger(size) || size <= 0 || size % align !== 0) {
      throw new ConfigError(MEMORY_POOL_CONFIG, `pool size ${size} is not a positive multiple of the alignment ${align}`);
    }
    this.size = size;
    this.align = align;
    try {
      this.buffer = new ArrayBuffer(size);
    } catch (cause) {
      throw new ConfigError(MEMORY_POOL_CONFIG, `pool of ${size} bytes cannot be allocated on this host`, { cause });
    }
    this.freeList = [{ offset: 0, size }];
  }

  /** Changes whenever the pool's layout changes. */
  get generation(): number {
    return this.gen;
  }

  /** `size` rounded up to the alignment, after checking it is a valid request. */
  spanOf(size: number, owner: string): number {
    if (!Number.isSafeInteger(size) || size <= 0 || (size & 3) !== 0) {
      throw new ConfigError(MEMORY_BAD_SIZE, `${owner}: size ${size} is not a positive multiple of 4 bytes`);
    }
    const a = this.align;
    return Math.ceil(size / a) * a;
  }

  /**
   * Offsets that `allocate()` would give to `requests`, in order, without
   * changing the pool. Throws MEMORY_EXHAUSTED naming the first request that
   * does not fit, so a caller can admit several regions all or nothing.
   */
  plan(requests: ReadonlyArray<{ owner: string; size: number }>): number[] {
    const blocks = this.freeList.map((b) => ({ offset: b.offset, size: b.size }));
    const out: number[] = [];
    for (const r of requests) out.push(take(blocks, this.spanOf(r.size, r.owner), r.owner, this.size));
    return out;
  }

  /**
   * Take a zero-filled region of `size` bytes for `owner` (best fit, lowest offset on a tie).
   * @throws ConfigError `MEMORY_BAD_SIZE` when `size` is not a positive multiple of 4, `MEMORY_EXHAUSTED` when no
   * free block is large enough.
   */
  allocate(owner: string, size: number): Region {
    const span = this.spanOf(size, owner);
    const offset = take(this.freeList, span, owner, this.size);
    return this.adopt(owner, offset, size, span);
  }

  /** Give the block at `offset` (which must be free) to `owner`; used to replay a plan. */
  allocateAt(owner: string, offset: number, size: number): Region {
    const span = this.spanOf(size, owner);
    const list = this.freeList;
    const i = list.findIndex((b) => b.offset <= offset && offset + span <= b.offset + b.size);
    if (i < 0 || offset % this.align !== 0) {
      throw new ConfigError(MEMORY_EXHAUSTED, `${owner}: ${span} bytes at pool offset 0x${offset.toString(16)} are not free`);
    }
    carve(list, i, offset, span);
    return this.adopt(owner, offset, size, span);
  }

  /**
   * Return `region` to the pool, coalescing it with adjacent free blocks.
   * @throws ConfigError `MEMORY_NOT_ALLOCATED` when `region` is not live in this pool (double free or foreign
   * region).
   */
  free(region: Region): void {
    if (!this.live.delete(region)) {
      throw new ConfigError(MEMORY_NOT_ALLOCATED, `region of ${region.owner} at pool offset 0x${region.offset.toString(16)} is not allocated in this pool`);
    }
    this.gen++;
    insertFree(this.freeList, region.offset, region.span);
  }

  /** Live regions, in offset order. */
  regions(): Region[] {
    return [...this.live].sort((a, b) => a.offset - b.offset);
  }

  /** Free blocks, in offset order (copies). */
  freeBlocks(): Array<{ offset: number; size: number }> {
    return this.freeList.map((b) => ({ offset: b.offset, size: b.size }));
  }

  /** Current usage and fragmentation of the pool. */
  stats(): PoolStats {
    let free = 0;
    let largest = 0;
    for (const b of this.freeList) {
      free += b.size;
      if (b.size > largest) largest = b.size;
    }
    return {
      size: this.size,
      used: this.size - free,
      free,
      largestFree: largest,
      freeBlocks: this.freeList.length,
      regions: this.live.size,
      fragmentation: free === 0 ? 0 : 1 - largest / free,
    };
  }

  private adopt(owner: string, offset: number, size: number, span: number): Region {
    const bytes = new Uint8Array(this.buffer, offset, size);
    // A region is never handed out with a previous owner's bytes in it. Memory
    // above the high-water mark was never handed out: a new ArrayBuffer is zero.
    if (offset < this.touched) bytes.fill(0, 0, Math.min(size, this.touched - offset));
    this.touched = Math.max(this.touched, offset + size);
    const region: Region = Object.freeze({ owner, offset, size, span, bytes });
    this.live.add(region);
    this.gen++;
    return region;
  }
}

/** Best fit from `list` (mutated); returns the offset or throws MEMORY_EXHAUSTED. */
function take(list: Block[], span: number, owner: string, poolSize: number): number {
  let best = -1;
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!.size;
    if (s >= span && (best < 0 || s < list[best]!.size)) best = i;
  }
  if (best < 0) {
    let largest = 0;
    for (const b of list) largest = Math.max(largest, b.size);
    throw new ConfigError(MEMORY_EXHAUSTED, `${owner}: ${span} bytes do not fit the memory pool (${poolSize} bytes, largest free block ${largest})`);
  }
  const offset = list[best]!.offset;
  carve(list, best, offset, span);
  return offset;
}

/** Remove [offset, offset+span) from block i, which contains it. */
function carve(list: Block[], i: number, offset: number, span: number): void {
  const b = list[i]!;
  const before = offset - b.offset;
  const after = b.offset + b.size - (offset + span);
  const parts: Block[] = [];
  if (before > 0) parts.push({ offset: b.offset, size: before });
  if (after > 0) parts.push({ offset: offset + span, size: after });
  list.splice(i, 1, ...parts);
}

/** Insert a freed block, merging it with the neighbours it touches. */
function insertFree(list: Block[], offset: number, size: number): void {
  let i = 0;
  while (i < list.length && list[i]!.offset < offset) i++;
  const prev = i > 0 ? list[i - 1]! : null;
  const next = i < list.length ? list[i]! : null;
  if (prev !== null && prev.offset + prev.size === offset) {
    prev.size += size;
    if (next !== null && prev.offset + prev.size === next.offset) {
      prev.size += next.size;
      list.splice(i, 1);
    }
  } else if (next !== null && offset + size === next.offset) {
    next.offset = offset;
    next.size += size;
  } else {
    list.splice(i, 0, { offset, size });
  }
}
