/**
 * Admission control for memory: partition RAM regions and named shared
 * windows, all carved from one MemoryPool.
 *
 * Admission is two steps. `plan()` checks a whole request (several
 * partitions, windows and grants) against the current state and computes
 * every pool offset without changing anything; it throws a ConfigError on the
 * first problem. `commit()` applies a plan that is still current. A request
 * therefore either happens entirely or leaves no trace, and a caller can do
 * its own checks (schedule, channels) between the two steps.
 */

import { ConfigError } from '../errors.ts';
import type { MemoryPool, Region } from './pool.ts';

/** A partition id or window name does not match ID_PATTERN. */
export const MEMORY_BAD_NAME = 'MEMORY_BAD_NAME';
/** The partition id is already admitted (or listed twice). */
export const MEMORY_PARTITION_EXISTS = 'MEMORY_PARTITION_EXISTS';
/** A grant or release names a partition that is neither admitted nor in the request. */
export const MEMORY_UNKNOWN_PARTITION = 'MEMORY_UNKNOWN_PARTITION';
/** RAM placement (ramBase + ramSize) or a reserved range leaves the 32-bit address space, or RAM is misaligned. */
export const MEMORY_RAM_RANGE = 'MEMORY_RAM_RANGE';
/** The window name is already taken (or listed twice). */
export const MEMORY_WINDOW_EXISTS = 'MEMORY_WINDOW_EXISTS';
/** A grant or removal names a window that does not exist. */
export const MEMORY_UNKNOWN_WINDOW = 'MEMORY_UNKNOWN_WINDOW';
/** A window's guest address is missing, misaligned or past 4 GiB. */
export const MEMORY_WINDOW_RANGE = 'MEMORY_WINDOW_RANGE';
/** A window would cover the partition's RAM, a reserved range or another of its windows. */
export const MEMORY_WINDOW_OVERLAP = 'MEMORY_WINDOW_OVERLAP';
/** A grant's access is neither 'ro' nor 'rw'. */
export const MEMORY_BAD_GRANT = 'MEMORY_BAD_GRANT';
/** The same window is granted twice to one partition. */
export const MEMORY_DUPLICATE_GRANT = 'MEMORY_DUPLICATE_GRANT';
/** removeWindow() on a window that partitions still map. */
export const MEMORY_WINDOW_IN_USE = 'MEMORY_WINDOW_IN_USE';
/** commit() of a plan made before the layout changed. */
export const MEMORY_PLAN_STALE = 'MEMORY_PLAN_STALE';

/**
 * Partition ids and window names: safe in MQTT topics, file names and
 * messages, and never starting with '@' (reserved for the host endpoint).
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Guest addresses of windows are page aligned, like the bus's page flags. */
export const WINDOW_ADDRESS_ALIGN = 4096;

/** How a partition may access a shared window: `ro` maps it read-only (guest stores fault), `rw` read-write. */
export type Access = 'ro' | 'rw';

/** A named range of guest physical addresses, e.g. a device's MMIO window that shared windows must avoid. */
export interface GuestRange {
  /** Label used in error messages (e.g. `uart`). */
  name: string;
  /** First guest address of the range. */
  base: number;
  /** Length of the range in bytes. */
  size: number;
}

/**
 * The memory one partition asks for at admission: its RAM size and placement, and the guest ranges its devices
 * occupy.
 */
export interface PartitionMemorySpec {
  /** Partition id; must match {@link ID_PATTERN} and be unique in the partitioner. */
  id: string;
  /** Bytes of RAM; a positive multiple of 4 (rounded up to the pool alignment in the pool). */
  ramSize: number;
  /** Guest address of RAM[0]: 0 for `app`, 0x8000_0000 for `machine`. Default 0. */
  ramBase?: number;
  /** Guest ranges no window may cover (the profile's devices). */
  reserved?: ReadonlyArray<GuestRange>;
}

/** Permission for one partition to map a shared window, and where in its guest address space. */
export interface GrantSpec {
  /** Id of the partition receiving the grant (admitted, or admitted in the same request). */
  partition: string;
  /** Read-only or read-write mapping. */
  access: Access;
  /** Guest address in this partition; defaults to the window's `address`. */
  address?: number;
}

/** A named block of memory to create in the pool and share between partitions through grants. */
export interface SharedWindowSpec {
  /** Window name; must match {@link ID_PATTERN} and be unique. */
  name: string;
  /** Bytes; a positive multiple of 4. */
  size: number;
  /** Default guest address for grants that do not give their own. */
  address?: number;
  /** Partitions that map the window from the start. */
  grants?: ReadonlyArray<GrantSpec>;
}

/**
 * Everything one admission adds, checked and applied all or nothing by
 * {@link Partitioner.plan} / {@link Partitioner.commit}.
 */
export interface AdmissionRequest {
  /** New partitions whose RAM to allocate. */
  partitions?: ReadonlyArray<PartitionMemorySpec>;
  /** New shared windows to allocate, with their initial grants. */
  windows?: ReadonlyArray<SharedWindowSpec>;
  /** Grants on windows that already exist, e.g. for a partition joining them. */
  grants?: ReadonlyArray<GrantSpec & { window: string }>;
}

/** One window as one partition sees it: what the VM passes to `bus.mapMemory`. */
export interface WindowGrant {
  /** Name of the shared window. */
  readonly window: string;
  /** Id of the partition that maps it. */
  readonly partition: string;
  /** Guest physical address of the window in that partition. */
  readonly address: number;
  /** False for an `ro` grant: guest stores to it fault. */
  readonly writable: boolean;
  /** The window's memory (shared by every grant of the window). */
  readonly bytes: Uint8Array;
}

/** An admitted partition's memory: its RAM region in the pool and its guest placement. */
export interface PartitionMemory {
  /** Partition id. */
  readonly id: string;
  /** The pool region backing the partition's RAM. */
  readonly region: Region;
  /** Guest physical address of RAM[0]. */
  readonly ramBase: number;
  /** Guest ranges no window may cover in this partition. */
  readonly reserved: ReadonlyArray<GuestRange>;
}

/** A live shared window and its current grants. */
export interface SharedWindow {
  /** Window name. */
  readonly name: string;
  /** The pool region holding the window's bytes. */
  readonly region: Region;
  /** Default guest address for grants that give none; undefined when every grant must give its own. */
  readonly address: number | undefined;
  /** Current grants, by partition id. */
  readonly grants: ReadonlyMap<string, WindowGrant>;
}

/** A checked, fully placed admission that changes nothing until passed to {@link Partitioner.commit}. */
export interface AdmissionPlan {
  /** The layout version this plan was made against. */
  readonly generation: number;
  /** Partitions to create, with defaults filled in and their pool offsets. */
  readonly partitions: ReadonlyArray<Required<PartitionMemorySpec> & { offset: number }>;
  /** Windows to create, with their pool offsets. */
  readonly windows: ReadonlyArray<{ name: string; size: number; address: number | undefined; offset: number }>;
  /** Grants to record, with resolved guest addresses. */
  readonly grants: ReadonlyArray<{ window: string; partition: string; address: number; writable: boolean }>;
  /** Pool bytes the plan takes (aligned spans). */
  readonly bytes: number;
}

/** What a committed admission created. */
export interface Admission {
  /** The new partitions' memory. */
  readonly partitions: ReadonlyArray<PartitionMemory>;
  /** The new shared windows. */
  readonly windows: ReadonlyArray<SharedWindow>;
  /** Every grant the admission recorded (on new or existing windows). */
  readonly grants: ReadonlyArray<WindowGrant>;
}

interface WindowState {
  name: string;
  region: Region;
  address: number | undefined;
  grants: Map<string, WindowGrant>;
}

const ADDRESS_LIMIT = 0x1_0000_0000;

/**
 * Memory admission control: places partition RAM and shared windows in one {@link MemoryPool} and tracks which
 * partition maps which window.
 */
export class Partitioner {
  /** The pool every region is carved from. */
  readonly pool: MemoryPool;
  private parts = new Map<string, PartitionMemory>();
  private wins = new Map<string, WindowState>();
  /** Bumped by every commit/release/revoke/removeWindow; combined with the pool's. */
  private gen = 0;

  /** Admit into `pool`, which may already hold other regions. */
  constructor(pool: MemoryPool) {
    this.pool = pool;
  }

  private get generation(): number {
    // Both counters only grow, so their sum changes whenever either does.
    return this.gen + this.pool.generation;
  }

  /** Check `request` against the current layout and place it; changes nothing. */
  plan(request: AdmissionRequest): AdmissionPlan {
    const newParts = new Map<string, Required<PartitionMemorySpec>>();
    for (const p of request.partitions ?? []) {
      checkName(p.id, 'partition');
      if (this.parts.has(p.id) || newParts.has(p.id)) {
        throw new ConfigError(MEMORY_PARTITION_EXISTS, `partition ${p.id} already exists`);
      }
      const ramBase = p.ramBase ?? 0;
      this.pool.spanOf(p.ramSize, `partition ${p.id}`);
      if (!Number.isSafeInteger(ramBase) || ramBase < 0 || (ramBase & 3) !== 0 || ramBase + p.ramSize > ADDRESS_LIMIT) {
        throw new ConfigError(MEMORY_RAM_RANGE, `partition ${p.id}: RAM of ${p.ramSize} bytes at ${hex(ramBase)} does not fit the 32-bit address space`);
      }
      for (const r of p.reserved ?? []) {
        if (!Number.isSafeInteger(r.base) || r.base < 0 || !Number.isSafeInteger(r.size) || r.size <= 0 || r.base + r.size > ADDRESS_LIMIT) {
          throw new ConfigError(MEMORY_RAM_RANGE, `partition ${p.id}: reserved range ${String(r.name)} at ${hex(r.base)} (${String(r.size)} bytes) is not inside the 32-bit address space`);
        }
      }
      newParts.set(p.id, { id: p.id, ramSize: p.ramSize, ramBase, reserved: (p.reserved ?? []).map((r) => Object.freeze({ name: r.name, base: r.base, size: r.size })) });
    }

    const newWins = new Map<string, { name: string; size: number; address: number | undefined }>();
    const grants: Array<{ window: string; partition: string; address: number; writable: boolean; size: number }> = [];
    const all: Array<GrantSpec & { window: string }> = [];
    for (const w of request.windows ?? []) {
      checkName(w.name, 'window');
      if (this.wins.has(w.name) || newWins.has(w.name)) {
        throw new ConfigError(MEMORY_WINDOW_EXISTS, `shared window ${w.name} already exists`);
      }
      this.pool.spanOf(w.size, `shared window ${w.name}`);
      if (w.address !== undefined) checkAddress(w.name, w.address, w.size);
      newWins.set(w.name, { name: w.name, size: w.size, address: w.address });
      for (const g of w.grants ?? []) all.push({ ...g, window: w.name });
    }
    for (const g of request.grants ?? []) all.push(g);

    for (const g of all) {
      const win = newWins.get(g.window) ?? this.wins.get(g.window);
      if (win === undefined) throw new ConfigError(MEMORY_UNKNOWN_WINDOW, `shared window ${g.window} does not exist`);
      const size = 'region' in win ? win.region.size : win.size;
      const part = newParts.get(g.partition) ?? this.parts.get(g.partition);
      if (part === undefined) {
        throw new ConfigError(MEMORY_UNKNOWN_PARTITION, `shared window ${g.window} is granted to unknown partition ${String(g.partition)}`);
      }
      if (g.access !== 'ro' && g.access !== 'rw') {
        throw new ConfigError(MEMORY_BAD_GRANT, `shared window ${g.window}: access for partition ${g.partition} must be 'ro' or 'rw', not ${String(g.access)}`);
      }
      const address = g.address ?? win.address;
      if (address === undefined) {
        throw new ConfigError(MEMORY_WINDOW_RANGE, `shared window ${g.window} has no guest address for partition ${g.partition}`);
      }
      checkAddress(g.window, address, size);
      const dup = (this.wins.get(g.window)?.grants.has(g.partition) ?? false) || grants.some((o) => o.window === g.window && o.partition === g.partition);
      if (dup) throw new ConfigError(MEMORY_DUPLICATE_GRANT, `shared window ${g.window} is granted twice to partition ${g.partition}`);
      const ramBase = part.ramBase;
      const ramSize = 'region' in part ? part.region.size : part.ramSize;
      const where = `shared window ${g.window} at ${hex(address)} (${size} bytes) in partition ${g.partition}`;
      if (overlaps(address, size, ramBase, ramSize)) throw new ConfigError(MEMORY_WINDOW_OVERLAP, `${where} overlaps its RAM at ${hex(ramBase)}`);
      for (const r of part.reserved) {
        if (overlaps(address, size, r.base, r.size)) throw new ConfigError(MEMORY_WINDOW_OVERLAP, `${where} overlaps ${r.name} at ${hex(r.base)}`);
      }
      const others = [...this.grantsOf(g.partition), ...grants.filter((o) => o.partition === g.partition)];
      for (const o of others) {
        const osize = 'bytes' in o ? o.bytes.length : o.size;
        if (overlaps(address, size, o.address, osize)) {
          throw new ConfigError(MEMORY_WINDOW_OVERLAP, `${where} overlaps shared window ${o.window} at ${hex(o.address)}`);
        }
      }
      grants.push({ window: g.window, partition: g.partition, address, writable: g.access === 'rw', size });
    }

    const parts = [...newParts.values()];
    const wins = [...newWins.values()];
    const requests = [
      ...parts.map((p) => ({ owner: `partition ${p.id}`, size: p.ramSize })),
      ...wins.map((w) => ({ owner: `shared window ${w.name}`, size: w.size })),
    ];
    const offsets = this.pool.plan(requests);
    let bytes = 0;
    for (const r of requests) bytes += this.pool.spanOf(r.size, r.owner);
    return Object.freeze({
      generation: this.generation,
      partitions: Object.freeze(parts.map((p, i) => Object.freeze({ ...p, offset: offsets[i]! }))),
      windows: Object.freeze(wins.map((w, i) => Object.freeze({ ...w, offset: offsets[parts.length + i]! }))),
      grants: Object.freeze(grants.map(({ size: _size, ...g }) => Object.freeze(g))),
      bytes,
    });
  }

  /** Apply a plan made against the current layout (MEMORY_PLAN_STALE otherwise). */
  commit(plan: AdmissionPlan): Admission {
    if (plan.generation !== this.generation) {
      throw new ConfigError(MEMORY_PLAN_STALE, 'admission plan is stale: the memory layout changed after plan()');
    }
    const partitions: PartitionMemory[] = [];
    const windows: SharedWindow[] = [];
    const grants: WindowGrant[] = [];
    for (const p of plan.partitions) {
      const region = this.pool.allocateAt(p.id, p.offset, p.ramSize);
      const pm: PartitionMemory = Object.freeze({ id: p.id, region, ramBase: p.ramBase, reserved: Object.freeze([...p.reserved]) });
      this.parts.set(p.id, pm);
      partitions.push(pm);
    }
    for (const w of plan.windows) {
      const region = this.pool.allocateAt(`window:${w.name}`, w.offset, w.size);
      const ws: WindowState = { name: w.name, region, address: w.address, grants: new Map() };
      this.wins.set(w.name, ws);
    }
    for (const g of plan.grants) {
      const ws = this.wins.get(g.window)!;
      const grant: WindowGrant = Object.freeze({ ...g, bytes: ws.region.bytes });
      ws.grants.set(g.partition, grant);
      grants.push(grant);
    }
    for (const w of plan.windows) windows.push(this.window(w.name)!);
    this.gen++;
    return Object.freeze({ partitions: Object.freeze(partitions), windows: Object.freeze(windows), grants: Object.freeze(grants) });
  }

  /**
   * `plan()` then `commit()` in one step: admits `request` entirely or throws the plan's ConfigError and changes
   * nothing.
   */
  admit(request: AdmissionRequest): Admission {
    return this.commit(this.plan(request));
  }

  /** Free a partition's RAM and withdraw its grants; returns the grants it had (to unmap). */
  release(id: string): WindowGrant[] {
    const p = this.parts.get(id);
    if (p === undefined) throw new ConfigError(MEMORY_UNKNOWN_PARTITION, `partition ${String(id)} is not admitted`);
    const revoked = this.grantsOf(id);
    for (const w of this.wins.values()) w.grants.delete(id);
    this.parts.delete(id);
    this.pool.free(p.region);
    this.gen++;
    return revoked;
  }

  /** Withdraw one grant; returns whether it existed. */
  revoke(window: string, partition: string): boolean {
    const w = this.wins.get(window);
    if (w === undefined) throw new ConfigError(MEMORY_UNKNOWN_WINDOW, `shared window ${String(window)} does not exist`);
    const had = w.grants.delete(partition);
    if (had) this.gen++;
    return had;
  }

  /** Free a window; refused while any partition still holds a grant on it. */
  removeWindow(name: string): void {
    const w = this.wins.get(name);
    if (w === undefined) throw new ConfigError(MEMORY_UNKNOWN_WINDOW, `shared window ${String(name)} does not exist`);
    if (w.grants.size > 0) {
      throw new ConfigError(MEMORY_WINDOW_IN_USE, `shared window ${name} is still granted to ${[...w.grants.keys()].join(', ')}`);
    }
    this.wins.delete(name);
    this.pool.free(w.region);
    this.gen++;
  }

  /** The admitted partition `id`, or undefined. */
  partition(id: string): PartitionMemory | undefined {
    return this.parts.get(id);
  }

  /** A snapshot of shared window `name` and its grants, or undefined when it does not exist. */
  window(name: string): SharedWindow | undefined {
    const w = this.wins.get(name);
    if (w === undefined) return undefined;
    return Object.freeze({ name: w.name, region: w.region, address: w.address, grants: new Map(w.grants) });
  }

  /** Ids of the admitted partitions, in admission order. */
  partitionIds(): string[] {
    return [...this.parts.keys()];
  }

  /** Names of the live shared windows, in creation order. */
  windowNames(): string[] {
    return [...this.wins.keys()];
  }

  /** The windows a partition maps, in guest address order. */
  grantsOf(id: string): WindowGrant[] {
    const out: WindowGrant[] = [];
    for (const w of this.wins.values()) {
      const g = w.grants.get(id);
      if (g !== undefined) out.push(g);
    }
    return out.sort((a, b) => a.address - b.address);
  }
}

function checkName(name: unknown, what: string): void {
  if (typeof name !== 'string' || !ID_PATTERN.test(name)) {
    throw new ConfigError(MEMORY_BAD_NAME, `${what} name ${JSON.stringify(name)} must match ${ID_PATTERN.source}`);
  }
}

function checkAddress(window: string, address: number, size: number): void {
  if (!Number.isSafeInteger(address) || address < 0 || address % WINDOW_ADDRESS_ALIGN !== 0 || address + size > ADDRESS_LIMIT) {
    throw new ConfigError(MEMORY_WINDOW_RANGE, `shared window ${window} at ${hex(address)} (${size} bytes) is not page aligned inside the 32-bit address space`);
  }
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

function hex(n: number): string {
  return Number.isSafeInteger(n) && n >= 0 ? `0x${n.toString(16).padStart(8, '0')}` : String(n);
}
