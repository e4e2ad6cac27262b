/**
 * Guest images: ELF32 little-endian RISC-V executables and flat binaries.
 *
 * Loading is split in two so nothing is ever half-applied: `parseElf` /
 * `flatImage` are pure and validate everything that depends only on the file;
 * `loadImage` validates the placement against the partition's RAM and only
 * then writes. Every rejection is an `ElfError` with a stable code and a
 * one-line message naming the offending header field or segment.
 *
 * Only ET_EXEC is accepted: ET_DYN (PIE) would need a relocating loader and
 * an address-space layout policy, which a partition without an MMU does not
 * have. A PT_INTERP (dynamically linked program) is refused for the same
 * reason.
 */

import { ElfError } from '../errors.ts';
import type { Bus } from '../memory/bus.ts';

/** p_flags bit: the segment is executable. */
export const PF_X = 1;
/** p_flags bit: the segment is writable. */
export const PF_W = 2;
/** p_flags bit: the segment is readable. */
export const PF_R = 4;

/** e_flags bit: the image uses compressed instructions, so it cannot run on an `rv32ima` hart. */
export const EF_RISCV_RVC = 0x1;
/**
 * e_flags field: a non-zero float ABI (single, double or quad), which this hart cannot run; rejected with
 * `ELF_BAD_FLAGS`.
 */
export const EF_RISCV_FLOAT_ABI = 0x6;
/** e_flags bit: the image targets RV32E; rejected with `ELF_BAD_FLAGS`. */
export const EF_RISCV_RVE = 0x8;

const EM_RISCV = 243;
const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_PHDR = 6;
const SHT_SYMTAB = 2;
const SHN_UNDEF = 0;
const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
const SYM_SIZE = 16;

/** One loadable piece of an image. `data` is a view into the file (filesz bytes). */
export interface LoadSegment {
  /** Program header index (for messages); 0 for a flat binary. */
  readonly index: number;
  /** Linked (virtual) address; what the program's own pointers assume. */
  readonly vaddr: number;
  /** Physical address (p_paddr); where a bare-metal loader such as QEMU's puts it. */
  readonly paddr: number;
  /** Size in memory in bytes; the part past `data.length` is zero-filled (.bss). */
  readonly memsz: number;
  /** Permission bits (`PF_R | PF_W | PF_X`); informational, the bus does not enforce them. */
  readonly flags: number;
  /** The file bytes to copy (p_filesz of them). */
  readonly data: Uint8Array;
}

/** A defined symbol from the image's symbol table. */
export interface ElfSymbol {
  /** The symbol's address (st_value). */
  readonly value: number;
  /** The symbol's size in bytes (st_size), 0 when unknown. */
  readonly size: number;
}

/** A parsed, validated guest image (ELF32 RISC-V executable or flat binary), ready to load into a VM's RAM. */
export interface ElfImage {
  /** Whether the image came from an ELF file or a flat binary. */
  readonly kind: 'elf' | 'flat';
  /** Guest address where execution starts (e_entry, or the flat binary's `entry`). */
  readonly entry: number;
  /** e_flags (0 for a flat binary). */
  readonly flags: number;
  /** The loadable segments, in program-header order. */
  readonly segments: ReadonlyArray<LoadSegment>;
  /** Defined symbols by name (empty when the file is stripped). */
  readonly symbols: ReadonlyMap<string, ElfSymbol>;
  /** Where the program headers sit in guest memory (for AT_PHDR), 0 when not loaded. */
  readonly phdrAddr: number;
  /** Number of program headers (for AT_PHNUM); 0 for a flat binary. */
  readonly phnum: number;
  /** Highest vaddr + memsz over all segments (the app profile's initial break starts after it). */
  readonly end: number;
}

/** Placement of a flat binary (raw bytes with no headers); see {@link parseImage} and {@link flatImage}. */
export interface FlatOptions {
  /** Entry address; required. */
  entry?: number;
  /** Where byte 0 of the binary goes; defaults to `entry`. */
  loadAddress?: number;
}

/** How {@link loadImage} places segments in a VM's RAM. */
export interface LoadOptions {
  /** Place segments at p_paddr (bare metal, like QEMU `-kernel`) instead of p_vaddr. */
  physical?: boolean;
  /** Bytes at the top of RAM that segments may not use (the app profile's stack). */
  reserveTop?: number;
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/** True when `bytes` starts with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * An ELF file if `bytes` has the ELF magic, else a flat binary (which needs
 * `entry`). This is what the VM does with its `image` option.
 */
export function parseImage(bytes: Uint8Array, flat: FlatOptions = {}): ElfImage {
  if (isElf(bytes)) return parseElf(bytes);
  if (flat.entry === undefined && flat.loadAddress === undefined) {
    throw new ElfError('ELF_NOT_ELF', 'image has no ELF magic (\\x7fELF) and no entry address was given for a flat binary');
  }
  return flatImage(bytes, flat);
}

/** A flat binary: the whole file is one RWX segment at `loadAddress`. */
export function flatImage(bytes: Uint8Array, options: FlatOptions): ElfImage {
  const { entry } = options;
  if (entry === undefined) throw new ElfError('ELF_FLAT_NEEDS_ENTRY', 'a flat binary needs an entry address');
  const load = options.loadAddress ?? entry;
  checkAddress(entry, 'entry');
  checkAddress(load, 'load address');
  if (bytes.length === 0) throw new ElfError('ELF_NO_SEGMENTS', 'flat binary is empty');
  if (load + bytes.length > 0x1_0000_0000) {
    throw new ElfError('ELF_SEGMENT_OUT_OF_RANGE', `flat binary of ${bytes.length} bytes at ${hex(load)} runs past the end of the 32-bit address space`);
  }
  if (entry < load || entry >= load + bytes.length) {
    throw new ElfError('ELF_NO_ENTRY', `entry ${hex(entry)} is outside the flat binary loaded at ${hex(load)}..${hex(load + bytes.length)}`);
  }
  if ((entry & 1) !== 0) throw new ElfError('ELF_NO_ENTRY', `entry ${hex(entry)} is not 2-byte aligned`);
  const seg: LoadSegment = { index: 0, vaddr: load, paddr: load, memsz: bytes.length, flags: PF_R | PF_W | PF_X, data: bytes };
  return { kind: 'flat', entry, flags: 0, segments: [seg], symbols: new Map(), phdrAddr: 0, phnum: 0, end: load + bytes.length };
}

function checkAddress(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new ElfError('ELF_BAD_ADDRESS', `${what} ${String(n)} is not a 32-bit unsigned address`);
  }
}

/** Parse and validate an ELF32 RISC-V executable. Pure: touches no guest memory. */
export function parseElf(bytes: Uint8Array): ElfImage {
  if (!isElf(bytes)) throw new ElfError('ELF_NOT_ELF', 'image does not start with the ELF magic \\x7fELF');
  if (bytes.length < 16) throw new ElfError('ELF_TRUNCATED', `file of ${bytes.length} bytes is shorter than e_ident`);
  if (bytes[4] !== 1) throw new ElfError('ELF_BAD_CLASS', `EI_CLASS is ${bytes[4]}, expected 1 (ELFCLASS32)`);
  if (bytes[5] !== 1) throw new ElfError('ELF_BAD_ENDIAN', `EI_DATA is ${bytes[5]}, expected 1 (little-endian)`);
  if (bytes[6] !== 1) throw new ElfError('ELF_BAD_VERSION', `EI_VERSION is ${bytes[6]}, expected 1`);
  if (bytes.length < EHDR_SIZE) throw new ElfError('ELF_TRUNCATED', `file of ${bytes.length} bytes is shorter than the 52-byte ELF header`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);

  const type = u16(16);
  if (type === ET_DYN) {
    throw new ElfError('ELF_BAD_TYPE', 'e_type is ET_DYN (position-independent); link with -static -no-pie to get ET_EXEC');
  }
  if (type !== ET_EXEC) throw new ElfError('ELF_BAD_TYPE', `e_type is ${type}, expected 2 (ET_EXEC)`);
  const machine = u16(18);
  if (machine !== EM_RISCV) throw new ElfError('ELF_BAD_MACHINE', `e_machine is ${machine}, expected 243 (RISC-V)`);
  const version = u32(20);
  if (version !== 1) throw new ElfError('ELF_BAD_VERSION', `e_version is ${version}, expected 1`);
  const entry = u32(24);
  const phoff = u32(28);
  const shoff = u32(32);
  const flags = u32(36);
  const ehsize = u16(40);
  const phentsize = u16(42);
  const phnum = u16(44);
  const shentsize = u16(46);
  const shnum = u16(48);
  const shstrndx = u16(50);
  if (ehsize < EHDR_SIZE) throw new ElfError('ELF_BAD_HEADER', `e_ehsize is ${ehsize}, expected at least ${EHDR_SIZE}`);
  if ((flags & EF_RISCV_RVE) !== 0) throw new ElfError('ELF_BAD_FLAGS', `e_flags ${hex(flags)} asks for RV32E, which this hart does not implement`);
  if ((flags & EF_RISCV_FLOAT_ABI) !== 0) {
    throw new ElfError('ELF_BAD_FLAGS', `e_flags ${hex(flags)} asks for a hardware float ABI; the hart is RV32IMAC without F/D (use -mabi=ilp32)`);
  }

  if (phnum === 0) throw new ElfError('ELF_NO_SEGMENTS', 'e_phnum is 0: the file has no program headers');
  if (phnum === 0xffff) throw new ElfError('ELF_BAD_HEADER', 'e_phnum is PN_XNUM (extended numbering), which is not supported');
  if (phentsize !== PHDR_SIZE) throw new ElfError('ELF_BAD_HEADER', `e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`);
  if (phoff < EHDR_SIZE || phoff + phnum * PHDR_SIZE > bytes.length) {
    throw new ElfError('ELF_TRUNCATED', `program header table at offset ${phoff} (${phnum} entries) is outside the ${bytes.length}-byte file`);
  }

  const segments: LoadSegment[] = [];
  let phdrAddr = 0;
  let end = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * PHDR_SIZE;
    const ptype = u32(o);
    if (ptype === PT_INTERP) throw new ElfError('ELF_BAD_TYPE', `segment ${i} is PT_INTERP: dynamically linked programs are not supported (link with -static)`);
    if (ptype === PT_PHDR) phdrAddr = u32(o + 8);
    if (ptype !== PT_LOAD) continue;
    const offset = u32(o + 4);
    const vaddr = u32(o + 8);
    const paddr = u32(o + 12);
    const filesz = u32(o + 16);
    const memsz = u32(o + 20);
    const pflags = u32(o + 24);
    if (filesz > memsz) throw new ElfError('ELF_SEGMENT_SIZES', `segment ${i} has p_filesz ${filesz} larger than p_memsz ${memsz}`);
    if (offset + filesz > bytes.length) {
      throw new ElfError('ELF_TRUNCATED', `segment ${i} needs file bytes ${offset}..${offset + filesz}, beyond the ${bytes.length}-byte file`);
    }
    if (vaddr + memsz > 0x1_0000_0000 || paddr + memsz > 0x1_0000_0000) {
      throw new ElfError('ELF_SEGMENT_OUT_OF_RANGE', `segment ${i} at ${hex(vaddr)} of ${memsz} bytes runs past the end of the 32-bit address space`);
    }
    if (memsz === 0) continue;
    for (const s of segments) {
      if (vaddr < s.vaddr + s.memsz && s.vaddr < vaddr + memsz) {
        throw new ElfError('ELF_SEGMENT_OVERLAP', `segment ${i} at ${hex(vaddr)}..${hex(vaddr + memsz)} overlaps segment ${s.index} at ${hex(s.vaddr)}..${hex(s.vaddr + s.memsz)}`);
      }
    }
    // Linux derives AT_PHDR the same way when there is no PT_PHDR.
    if (phdrAddr === 0 && phoff >= offset && phoff + phnum * PHDR_SIZE <= offset + filesz) phdrAddr = vaddr + (phoff - offset);
    end = Math.max(end, vaddr + memsz);
    segments.push({ index: i, vaddr, paddr, memsz, flags: pflags, data: bytes.subarray(offset, offset + filesz) });
  }
  if (segments.length === 0) throw new ElfError('ELF_NO_SEGMENTS', 'the file has no PT_LOAD segment with a non-zero size');

  const home = segments.find((s) => entry >= s.vaddr && entry < s.vaddr + s.memsz);
  if (home === undefined) throw new ElfError('ELF_NO_ENTRY', `entry ${hex(entry)} is not inside any loadable segment`);
  if ((home.flags & PF_X) === 0) throw new ElfError('ELF_NO_ENTRY', `entry ${hex(entry)} is in segment ${home.index}, which is not executable`);
  if ((entry & 1) !== 0) throw new ElfError('ELF_NO_ENTRY', `entry ${hex(entry)} is not 2-byte aligned`);

  const symbols = readSymbols(bytes, dv, shoff, shnum, shentsize, shstrndx);
  return { kind: 'elf', entry, flags, segments, symbols, phdrAddr, phnum, end };
}

/**
 * The section header table is optional for loading, but when the header
 * points at one it must lie inside the file: it sits at the end of a linked
 * ELF, so this is what catches a file truncated after its last segment.
 */
function readSymbols(bytes: Uint8Array, dv: DataView, shoff: number, shnum: number, shentsize: number, shstrndx: number): Map<string, ElfSymbol> {
  const symbols = new Map<string, ElfSymbol>();
  if (shoff === 0 || shnum === 0) return symbols;
  if (shentsize !== SHDR_SIZE) throw new ElfError('ELF_BAD_HEADER', `e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`);
  if (shoff + shnum * SHDR_SIZE > bytes.length) {
    throw new ElfError('ELF_TRUNCATED', `section header table at offset ${shoff} (${shnum} entries) is outside the ${bytes.length}-byte file`);
  }
  if (shstrndx !== 0 && shstrndx >= shnum) throw new ElfError('ELF_BAD_HEADER', `e_shstrndx ${shstrndx} is not below e_shnum ${shnum}`);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const section = (i: number) => {
    const o = shoff + i * SHDR_SIZE;
    return { type: u32(o + 4), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24) };
  };
  const decoder = new TextDecoder();
  for (let i = 0; i < shnum; i++) {
    const sh = section(i);
    if (sh.type !== SHT_SYMTAB) continue;
    if (sh.link >= shnum) throw new ElfError('ELF_BAD_HEADER', `symbol table section ${i} links to string table ${sh.link}, beyond e_shnum ${shnum}`);
    const str = section(sh.link);
    for (const [s, what] of [[sh, `symbol table section ${i}`], [str, `string table section ${sh.link}`]] as const) {
      if (s.offset + s.size > bytes.length) {
        throw new ElfError('ELF_TRUNCATED', `${what} at offset ${s.offset} of ${s.size} bytes is outside the ${bytes.length}-byte file`);
      }
    }
    const strtab = bytes.subarray(str.offset, str.offset + str.size);
    for (let o = sh.offset + SYM_SIZE; o + SYM_SIZE <= sh.offset + sh.size; o += SYM_SIZE) {
      const name = u32(o);
      const shndx = dv.getUint16(o + 14, true);
      if (name === 0 || shndx === SHN_UNDEF || name >= strtab.length) continue;
      let e = name;
      while (e < strtab.length && strtab[e] !== 0) e++;
      const key = decoder.decode(strtab.subarray(name, e));
      // A global definition wins over a local one of the same name.
      const bind = bytes[o + 12]! >>> 4;
      if (bind === 0 && symbols.has(key)) continue;
      symbols.set(key, { value: u32(o + 4), size: u32(o + 8) });
    }
  }
  return symbols;
}

/** Where a segment goes under the given placement rule. */
export function segmentAddress(seg: LoadSegment, physical: boolean): number {
  return physical ? seg.paddr : seg.vaddr;
}

/**
 * Check that every segment fits RAM [ramBase, ramBase + ramSize) minus
 * `reserveTop`, and that the placed segments do not overlap. Throws the
 * first problem as an ElfError; writes nothing.
 */
export function checkPlacement(image: ElfImage, ramBase: number, ramSize: number, options: LoadOptions = {}): void {
  const physical = options.physical === true && image.kind === 'elf';
  const ramEnd = ramBase + ramSize;
  const limit = ramEnd - (options.reserveTop ?? 0);
  const segs = image.segments;
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k]!;
    const at = segmentAddress(s, physical);
    const end = at + s.memsz;
    const name = image.kind === 'flat' ? 'flat binary' : `segment ${s.index}`;
    if (at < ramBase) throw new ElfError('ELF_SEGMENT_OUT_OF_RANGE', `${name} starts at ${hex(at)}, below RAM start ${hex(ramBase)}`);
    if (end > ramEnd) throw new ElfError('ELF_SEGMENT_OUT_OF_RANGE', `${name} ends at ${hex(end)}, beyond RAM end ${hex(ramEnd)}`);
    if (end > limit) throw new ElfError('ELF_SEGMENT_OUT_OF_RANGE', `${name} ends at ${hex(end)}, inside the stack area that starts at ${hex(limit)}`);
    if (physical) {
      for (let j = 0; j < k; j++) {
        const o = segs[j]!;
        if (at < o.paddr + o.memsz && o.paddr < end) {
          throw new ElfError('ELF_SEGMENT_OVERLAP', `segment ${s.index} at physical ${hex(at)}..${hex(end)} overlaps segment ${o.index} at ${hex(o.paddr)}..${hex(o.paddr + o.memsz)}`);
        }
      }
    }
  }
}

/**
 * Validate the placement (checkPlacement) against the bus's RAM, then copy
 * the segments in and zero their bss. Nothing is written when a check fails.
 */
export function loadImage(bus: Bus, image: ElfImage, options: LoadOptions = {}): void {
  checkPlacement(image, bus.ramBase, bus.ramSize, options);
  const physical = options.physical === true && image.kind === 'elf';
  for (const s of image.segments) {
    const at = segmentAddress(s, physical);
    bus.writeRam(at, s.data);
    if (s.memsz > s.data.length) bus.fillRam(at + s.data.length, s.memsz - s.data.length, 0);
  }
}
