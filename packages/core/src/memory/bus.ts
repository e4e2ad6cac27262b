/**
 * The guest physical address space of one partition.
 *
 * RAM is a single typed-array region that the hart reaches through its own
 * fast path (`((addr - ramBase) >>> 0) < ramSize`); everything else — shared
 * windows and memory-mapped devices — is found here through `map*()` entries.
 * An address covered by nothing is an access fault, reported through
 * `fault` instead of an exception so the hot loop never unwinds.
 *
 * Pages (4 KiB) of RAM can be flagged: a store to a flagged page calls
 * `onFlaggedStore`, which is how predecoded-instruction caches are
 * invalidated and how the HTIF `tohost` word is watched without any cost for
 * stores to ordinary pages.
 */

import { ConfigError, RvisorError } from '../errors.ts';

/** A memory-mapped device. Offsets are relative to the mapping's base. */
export interface Device {
  /** Width is 1, 2 or 4 bytes; the result is the zero-extended value. */
  read(offset: number, width: number): number;
  /** Width is 1, 2 or 4 bytes; `value` holds the bits to store in its low `width` bytes. */
  write(offset: number, width: number, value: number): void;
}

/** log2 of the page size: RAM is flagged (code tracking, watched words) per 4 KiB page. */
export const PAGE_SHIFT = 12;
/** Bytes per flagged page (4 KiB). */
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** Bit in `pageFlags`: the page holds decoded instructions. */
export const PAGE_CODE = 1;
/** Bit in `pageFlags`: the page holds a watched word (HTIF tohost). */
export const PAGE_WATCH = 2;

interface Mapping {
  base: number;
  size: number;
  name: string;
  /** Either a device... */
  device: Device | null;
  /** ...or plain memory (a shared window). */
  bytes: Uint8Array | null;
  view: DataView | null;
  writable: boolean;
}

/** Called after a store to a flagged RAM page with the store's RAM offset (from `ramBase`) and width in bytes. */
export type FlaggedStoreHook = (offset: number, width: number) => void;

/**
 * One partition's guest physical address space: its RAM (reached directly by the hart) plus named device and shared-
 * memory mappings.
 */
export class Bus {
  /** Guest RAM; byteOffset must be 4-aligned so the wider views line up. */
  readonly ram: Uint8Array;
  /** Halfword view of `ram` (host byte order, which must be little-endian). */
  readonly ram16: Int16Array;
  /** Word view of `ram` (host byte order, which must be little-endian). */
  readonly ram32: Int32Array;
  /** Guest physical address of ram[0] (0 for `app`, 0x8000_0000 for `machine`). */
  readonly ramBase: number;
  /** Length of RAM in bytes. */
  readonly ramSize: number;
  /** One byte per RAM page, bits PAGE_CODE | PAGE_WATCH. */
  readonly pageFlags: Uint8Array;
  /** Set by a failed slow-path access; the caller clears it. */
  fault = false;
  /** Called after a store to a page whose flags are non-zero. */
  onFlaggedStore: FlaggedStoreHook | null = null;

  private maps: Mapping[] = [];

  /**
   * Use `ram` (not copied) as guest RAM at guest address `ramBase`, with no mappings yet.
   * @throws ConfigError `MEMORY_ALIGNMENT` when `ram` does not start and end on a 4-byte boundary.
   */
  constructor(ram: Uint8Array, ramBase: number) {
    if ((ram.byteOffset & 3) !== 0 || (ram.length & 3) !== 0) {
      throw new ConfigError('MEMORY_ALIGNMENT', 'guest RAM view must start and end on a 4-byte boundary');
    }
    this.ram = ram;
    this.ram16 = new Int16Array(ram.buffer, ram.byteOffset, ram.length >>> 1);
    this.ram32 = new Int32Array(ram.buffer, ram.byteOffset, ram.length >>> 2);
    this.ramBase = ramBase >>> 0;
    this.ramSize = ram.length;
    this.pageFlags = new Uint8Array((ram.length + PAGE_SIZE - 1) >>> PAGE_SHIFT);
  }

  /** Map a device at [base, base + size). Overlaps with RAM or other maps are refused. */
  mapDevice(name: string, base: number, size: number, device: Device): void {
    this.add({ base: base >>> 0, size, name, device, bytes: null, view: null, writable: true });
  }

  /** Map plain memory (a shared window) at [base, base + bytes.length). */
  mapMemory(name: string, base: number, bytes: Uint8Array, writable: boolean): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.add({ base: base >>> 0, size: bytes.length, name, device: null, bytes, view, writable });
  }

  /** Remove the mapping called `name`; returns whether one existed. */
  unmap(name: string): boolean {
    const i = this.maps.findIndex((m) => m.name === name);
    if (i < 0) return false;
    this.maps.splice(i, 1);
    return true;
  }

  /** The mappings, for inspection and snapshots. */
  mappings(): ReadonlyArray<{ name: string; base: number; size: number; kind: 'device' | 'memory'; writable: boolean }> {
    return this.maps.map((m) => ({
      name: m.name,
      base: m.base,
      size: m.size,
      kind: m.device ? 'device' : 'memory',
      writable: m.writable,
    }));
  }

  private add(m: Mapping): void {
    if (m.size <= 0 || m.base + m.size > 0x1_0000_0000) {
      throw new ConfigError('MEMORY_MAP_RANGE', `mapping ${m.name} at 0x${hex(m.base)} of ${m.size} bytes does not fit the 32-bit address space`);
    }
    if (overlaps(m.base, m.size, this.ramBase, this.ramSize)) {
      throw new ConfigError('MEMORY_MAP_OVERLAP', `mapping ${m.name} at 0x${hex(m.base)} overlaps guest RAM`);
    }
    for (const o of this.maps) {
      if (overlaps(m.base, m.size, o.base, o.size)) {
        throw new ConfigError('MEMORY_MAP_OVERLAP', `mapping ${m.name} at 0x${hex(m.base)} overlaps ${o.name} at 0x${hex(o.base)}`);
      }
    }
    this.maps.push(m);
  }

  private find(addr: number, width: number): Mapping | null {
    const maps = this.maps;
    for (let i = 0; i < maps.length; i++) {
      const m = maps[i]!;
      const off = (addr - m.base) >>> 0;
      if (off < m.size && off + width <= m.size) return m;
    }
    return null;
  }

  /**
   * Slow-path load of `width` bytes (zero-extended). Sets `fault` and returns 0
   * when nothing is mapped there. Handles RAM too, so callers outside the hot
   * loop (debuggers, hypercalls) can use one entry point.
   */
  load(addr: number, width: number): number {
    addr >>>= 0;
    const roff = (addr - this.ramBase) >>> 0;
    if (roff < this.ramSize && roff + width <= this.ramSize) {
      const r = this.ram;
      if (width === 1) return r[roff]!;
      if (width === 2) return r[roff]! | (r[roff + 1]! << 8);
      return (r[roff]! | (r[roff + 1]! << 8) | (r[roff + 2]! << 16) | (r[roff + 3]! << 24)) >>> 0;
    }
    const m = this.find(addr, width);
    if (m === null) {
      this.fault = true;
      return 0;
    }
    const off = addr - m.base;
    if (m.device !== null) return m.device.read(off, width) >>> 0;
    const v = m.view!;
    if (width === 1) return v.getUint8(off);
    if (width === 2) return v.getUint16(off, true);
    return v.getUint32(off, true);
  }

  /** Slow-path store; sets `fault` on an unmapped or read-only address. */
  store(addr: number, width: number, value: number): void {
    addr >>>= 0;
    const roff = (addr - this.ramBase) >>> 0;
    if (roff < this.ramSize && roff + width <= this.ramSize) {
      const r = this.ram;
      r[roff] = value;
      if (width > 1) r[roff + 1] = value >>> 8;
      if (width > 2) {
        r[roff + 2] = value >>> 16;
        r[roff + 3] = value >>> 24;
      }
      if (this.pageFlags[roff >>> PAGE_SHIFT] !== 0 && this.onFlaggedStore !== null) this.onFlaggedStore(roff, width);
      return;
    }
    const m = this.find(addr, width);
    if (m === null || !m.writable) {
      this.fault = true;
      return;
    }
    const off = addr - m.base;
    if (m.device !== null) {
      m.device.write(off, width, value);
      return;
    }
    const v = m.view!;
    if (width === 1) v.setUint8(off, value);
    else if (width === 2) v.setUint16(off, value, true);
    else v.setUint32(off, value, true);
  }

  /** Host-side copy into guest RAM (loader, channels); invalidates code pages it touches. */
  writeRam(addr: number, data: Uint8Array): void {
    const off = this.ramOffset(addr, data.length, 'write');
    this.ram.set(data, off);
    this.touched(off, data.length);
  }

  /** Host-side zero fill of guest RAM. */
  fillRam(addr: number, length: number, value = 0): void {
    const off = this.ramOffset(addr, length, 'fill');
    this.ram.fill(value, off, off + length);
    this.touched(off, length);
  }

  /** Host-side read of guest RAM (a copy). */
  readRam(addr: number, length: number): Uint8Array {
    const off = this.ramOffset(addr, length, 'read');
    return this.ram.slice(off, off + length);
  }

  /** True when [addr, addr+length) lies inside guest RAM. */
  inRam(addr: number, length: number): boolean {
    const off = (addr - this.ramBase) >>> 0;
    return off < this.ramSize && length <= this.ramSize - off;
  }

  private ramOffset(addr: number, length: number, what: string): number {
    if (!this.inRam(addr, length)) {
      throw new RvisorError('MEMORY_OUT_OF_RANGE', `${what} of ${length} bytes at 0x${hex(addr)} is outside guest RAM`);
    }
    return (addr - this.ramBase) >>> 0;
  }

  private touched(off: number, length: number): void {
    const hook = this.onFlaggedStore;
    if (hook === null || length === 0) return;
    const flags = this.pageFlags;
    for (let p = off >>> PAGE_SHIFT, last = (off + length - 1) >>> PAGE_SHIFT; p <= last; p++) {
      if (flags[p] !== 0) {
        // Report page-sized spans so a cache can drop whole pages at once.
        const start = Math.max(off, p << PAGE_SHIFT);
        const end = Math.min(off + length, (p + 1) << PAGE_SHIFT);
        hook(start, end - start);
      }
    }
  }
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
