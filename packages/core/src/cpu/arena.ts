/**
 * The decode arena: the one array that holds the decoded code of every hart
 * in the process, in fixed-size blocks, and (in slots below the first block)
 * the registers of the chunk that is running. One array for all harts because
 * the hot loop reads it as a constant (cpu/hot.ts says why that is faster).
 *
 * Blocks are handed out on first use and come back when their hart is
 * garbage collected (a FinalizationRegistry: no weak reference, which would
 * keep every hart made in one synchronous job alive until the job ends). When
 * none is free, the arena walks on from a rotating cursor and takes back all
 * blocks of each hart it meets that is not running, until a 32nd of the arena
 * is free (so a burst of new harts does not pay a walk each); the hart finds
 * its share marked lost and forgets its blocks before it next reads one. If
 * only running harts hold blocks, the asking hart gives up its own. A block
 * is zeroed when handed out and a hart that lost its blocks decodes again on
 * its next miss: taking blocks back costs speed, never exactness, and no hart
 * runs code decoded for another. A hart's blocks are never taken while its
 * exec() is on the stack (a device callback may run another hart inside it).
 */

import { RvisorError } from '../errors.ts';

/** One hart's part of the arena. */
export class ArenaShare {
  /** First slot of each block the hart holds. */
  readonly blocks: number[] = [];
  /** Set when the arena took the blocks back: the hart must forget where they were. */
  lost = false;
  /** The hart's chunks on the stack. */
  running = 0;
}

export class DecodeArena {
  readonly slots: Int32Array;
  readonly blockSlots: number;
  /** Slot of the first block (the slots below it are the running chunk's registers). */
  readonly first: number;
  /** Blocks the arena holds in all. */
  readonly capacity: number;
  /** The share holding each block, null while free. */
  private readonly holder: (ArenaShare | null)[];
  private readonly free: Int32Array;
  private freeTop = 0;
  /** Blocks below this index have been handed out at least once. */
  private high = 0;
  private cursor = 0;
  /** Chunks on the stack, of all harts. */
  private depth = 0;
  private readonly gone = new FinalizationRegistry<ArenaShare>((share) => this.release(share));

  constructor(slots: Int32Array, first: number, blockSlots: number) {
    this.slots = slots;
    this.first = first;
    this.blockSlots = blockSlots;
    this.capacity = Math.floor((slots.length - first) / blockSlots);
    this.holder = new Array<ArenaShare | null>(this.capacity).fill(null);
    this.free = new Int32Array(this.capacity);
  }

  /** A share for `owner`; its blocks return to the arena when `owner` is garbage collected. */
  join(owner: object): ArenaShare {
    const share = new ArenaShare();
    this.gone.register(owner, share);
    return share;
  }

  /** First slot of a zeroed block for `share` (taking blocks back first when none is free). */
  alloc(share: ArenaShare): number {
    if (this.freeTop === 0 && this.high === this.capacity) this.reclaim(share);
    const k = this.freeTop > 0 ? this.free[--this.freeTop]! : this.high++;
    this.holder[k] = share;
    const base = this.first + k * this.blockSlots;
    this.slots.fill(0, base, base + this.blockSlots);
    share.blocks.push(base);
    return base;
  }

  /**
   * `share`'s hart starts running a chunk; returns whether another chunk is
   * already running (the caller then saves and restores the register slots).
   */
  enter(share: ArenaShare): boolean {
    share.running++;
    return ++this.depth > 1;
  }

  leave(share: ArenaShare): void {
    share.running--;
    this.depth--;
  }

  private reclaim(asking: ArenaShare): void {
    const want = Math.max(1, this.capacity >>> 5);
    for (let n = 0; n < this.capacity && this.freeTop < want; n++) {
      const k = this.cursor;
      this.cursor = k + 1 === this.capacity ? 0 : k + 1;
      const s = this.holder[k] ?? null;
      if (s !== null && s !== asking && s.running === 0) this.take(s);
    }
    if (this.freeTop > 0) return;
    // Only running harts hold blocks: the asking one gives up its own (its exec()
    // asks for a block only when it leaves the one it was in).
    if (asking.blocks.length > 0) {
      this.take(asking);
      return;
    }
    throw new RvisorError('HART_DECODE_ARENA_FULL', `every decode block (${this.capacity}) belongs to a running hart`);
  }

  private take(share: ArenaShare): void {
    this.release(share);
    share.lost = true;
  }

  /** Return `share`'s blocks to the free list. */
  private release(share: ArenaShare): void {
    for (const base of share.blocks) {
      const k = (base - this.first) / this.blockSlots;
      this.holder[k] = null;
      this.free[this.freeTop++] = k;
    }
    share.blocks.length = 0;
  }
}
