/**
 * The decode arena: the one array that holds the decoded code of every hart
 * in the process, in fixed-size blocks, and (in slots below the first block)
 * the registers of the chunk that is running. One array for all harts because
 * the hot loop reads it as a constant (cpu/hot.ts says why that is faster).
 *
 * Blocks are handed out on first use and come back when their hart is
 * garbage collected. When none is free, the arena takes back every block of
 * one other hart that is not running (the first owner found from a rotating
 * cursor) and tells it to forget them; if only running harts hold blocks, the
 * asking hart gives up its own. Correctness never depends on a block staying:
 * a hart that lost its blocks decodes again on its next miss. A hart's blocks
 * are never taken while its exec() is on the stack (a device callback may run
 * another hart inside it), and a new block is always zeroed, so no hart ever
 * runs code decoded for another.
 */

import { RvisorError } from '../errors.ts';

/** What the arena asks of a hart whose blocks it takes back. */
export interface ArenaOwner {
  /** Forget every block (they are no longer the owner's). */
  dropBlocks(): void;
}

export class DecodeArena {
  readonly slots: Int32Array;
  readonly blockSlots: number;
  /** Slot of the first block (the slots below it are the running chunk's registers). */
  readonly first: number;
  /** Blocks the arena holds in all. */
  readonly capacity: number;
  /** Owner id of each block, 0 while free. */
  private readonly owner: Int32Array;
  private readonly free: Int32Array;
  private freeTop = 0;
  /** Blocks below this index have been handed out at least once. */
  private high = 0;
  private cursor = 0;
  private nextId = 1;
  private readonly owners = new Map<number, WeakRef<ArenaOwner>>();
  /** Owners whose exec() is on the stack, innermost last. */
  private readonly running: number[] = [];
  private readonly gone = new FinalizationRegistry<number>((id) => this.release(id));

  constructor(slots: Int32Array, first: number, blockSlots: number) {
    this.slots = slots;
    this.first = first;
    this.blockSlots = blockSlots;
    this.capacity = Math.floor((slots.length - first) / blockSlots);
    this.owner = new Int32Array(this.capacity);
    this.free = new Int32Array(this.capacity);
  }

  /** Register an owner; its blocks return to the arena when it is garbage collected. */
  join(owner: ArenaOwner): number {
    const id = this.nextId++;
    this.owners.set(id, new WeakRef(owner));
    this.gone.register(owner, id);
    return id;
  }

  /** First slot of a zeroed block for owner `id` (taking blocks back first when none is free). */
  alloc(id: number): number {
    if (this.freeTop === 0 && this.high === this.capacity) this.reclaim(id);
    const k = this.freeTop > 0 ? this.free[--this.freeTop]! : this.high++;
    this.owner[k] = id;
    const base = this.first + k * this.blockSlots;
    this.slots.fill(0, base, base + this.blockSlots);
    return base;
  }

  /** Blocks owner `id` holds now. */
  blocksOf(id: number): number {
    let n = 0;
    for (let k = 0; k < this.high; k++) if (this.owner[k] === id) n++;
    return n;
  }

  /**
   * Owner `id` starts running a chunk; returns whether another owner's chunk is
   * already running (the caller then saves and restores the register slots).
   */
  enter(id: number): boolean {
    this.running.push(id);
    return this.running.length > 1;
  }

  leave(): void {
    this.running.pop();
  }

  private reclaim(asking: number): void {
    for (let n = 0; n < this.capacity; n++) {
      const k = this.cursor;
      this.cursor = k + 1 === this.capacity ? 0 : k + 1;
      const o = this.owner[k]!;
      if (o !== 0 && o !== asking && !this.running.includes(o)) {
        this.take(o);
        return;
      }
    }
    // Only running harts hold blocks: the asking one gives up its own (its exec()
    // asks for a block only when it leaves the one it was in).
    if (this.blocksOf(asking) > 0) {
      this.take(asking);
      return;
    }
    throw new RvisorError('HART_DECODE_ARENA_FULL', `every decode block (${this.capacity}) belongs to a running hart`);
  }

  /** Take back every block of a live owner, telling it first. */
  private take(id: number): void {
    this.owners.get(id)?.deref()?.dropBlocks();
    this.release(id);
  }

  /** Return owner `id`'s blocks to the free list. */
  private release(id: number): void {
    for (let k = 0; k < this.high; k++) {
      if (this.owner[k] === id) {
        this.owner[k] = 0;
        this.free[this.freeTop++] = k;
      }
    }
    if (this.owners.get(id)?.deref() === undefined) this.owners.delete(id);
  }
}
