import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ElfError } from '../src/errors.ts';
import { flatImage, loadImage, parseElf, parseImage } from '../src/loader/elf.ts';
import { Bus } from '../src/memory/bus.ts';
import { E, P, buildElf, phdrAt, words } from './fixtures/elf-builder.ts';
import { buildElfFile, readBytes } from './fixtures/toolchain.ts';

const RAM_BASE = 0x8000_0000;
const RAM_SIZE = 64 * 1024;
const CODE = words(0x00000013, 0x00100073); // nop; ebreak

function freshBus(): Bus {
  const bus = new Bus(new Uint8Array(RAM_SIZE), RAM_BASE);
  bus.ram.fill(0xa5);
  return bus;
}

function goodSpec() {
  return {
    entry: RAM_BASE + 0x100,
    segments: [
      { vaddr: RAM_BASE + 0x100, data: CODE, flags: 5 },
      { vaddr: RAM_BASE + 0x1000, data: [1, 2, 3, 4, 5], memsz: 0x40, flags: 6 },
    ],
    symbols: { tohost: { value: RAM_BASE + 0x1010, size: 8 }, main: RAM_BASE + 0x104 },
  };
}

/** Parse + load must fail with `code`, leaving RAM exactly as it was. */
function rejects(bytes: Uint8Array, code: string, mentions?: string): void {
  const bus = freshBus();
  const before = bus.ram.slice();
  try {
    loadImage(bus, parseElf(bytes), { physical: true });
    assert.unreachable(`accepted, expected ${code}`);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    assert.is(e.code, code, e.message);
    if (mentions !== undefined) assert.ok(e.message.includes(mentions), `message "${e.message}" should mention ${mentions}`);
    assert.not.match(e.message, /\n/);
  }
  assert.equal(bus.ram, before, 'RAM was modified by a rejected image');
}

function patched(edit: (dv: DataView, bytes: Uint8Array) => void, spec = goodSpec()): Uint8Array {
  const bytes = buildElf(spec);
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

const good = suite('elf: a valid executable');

good('loads every segment and zeroes the bss', () => {
  const bus = freshBus();
  const image = parseElf(buildElf(goodSpec()));
  loadImage(bus, image, { physical: true });
  assert.equal(bus.readRam(RAM_BASE + 0x100, 8), CODE);
  assert.equal(Array.from(bus.readRam(RAM_BASE + 0x1000, 5)), [1, 2, 3, 4, 5]);
  assert.ok(bus.readRam(RAM_BASE + 0x1005, 0x3b).every((b) => b === 0), 'bss not zeroed');
  // Bytes outside the segments keep their old contents.
  assert.is(bus.ram[0x1040], 0xa5);
  assert.is(bus.ram[0xff], 0xa5);
});

good('reports entry, end and symbols', () => {
  const image = parseElf(buildElf(goodSpec()));
  assert.is(image.entry, RAM_BASE + 0x100);
  assert.is(image.end, RAM_BASE + 0x1040);
  assert.equal(image.symbols.get('tohost'), { value: RAM_BASE + 0x1010, size: 8 });
  assert.is(image.symbols.get('main')?.value, RAM_BASE + 0x104);
  assert.is(image.segments.length, 2);
});

good('a stripped file has no symbols and still loads', () => {
  const spec = { ...goodSpec(), symbols: undefined };
  const image = parseElf(buildElf(spec));
  assert.is(image.symbols.size, 0);
});

good('zero-size PT_LOAD and non-load headers are ignored', () => {
  const spec = goodSpec();
  spec.segments.push({ vaddr: RAM_BASE + 0x100, data: [], memsz: 0, flags: 4 });
  spec.segments.push({ vaddr: 0, data: [], memsz: 0, flags: 4, type: 0x6474e551 } as never);
  assert.is(parseElf(buildElf(spec)).segments.length, 2);
});

good('segments go to p_paddr when physical, p_vaddr otherwise', () => {
  const spec = {
    entry: RAM_BASE + 0x100,
    segments: [{ vaddr: RAM_BASE + 0x100, paddr: RAM_BASE + 0x2000, data: CODE, flags: 5 }],
  };
  const image = parseElf(buildElf(spec));
  const a = freshBus();
  loadImage(a, image, { physical: true });
  assert.equal(a.readRam(RAM_BASE + 0x2000, 8), CODE);
  const b = freshBus();
  loadImage(b, image);
  assert.equal(b.readRam(RAM_BASE + 0x100, 8), CODE);
});

good.run();

const header = suite('elf: header fields are validated');

header('no magic is ELF_NOT_ELF', () => rejects(patched((_, b) => (b[1] = 0x46)), 'ELF_NOT_ELF'));
header('a 3-byte file is ELF_NOT_ELF', () => rejects(new Uint8Array([0x7f, 0x45, 0x4c]), 'ELF_NOT_ELF'));
header('a header cut short is ELF_TRUNCATED', () => rejects(buildElf(goodSpec()).slice(0, 40), 'ELF_TRUNCATED'));
header('ELFCLASS64 is ELF_BAD_CLASS', () => rejects(patched((_, b) => (b[E.class] = 2)), 'ELF_BAD_CLASS'));
header('big-endian is ELF_BAD_ENDIAN', () => rejects(patched((_, b) => (b[E.data] = 2)), 'ELF_BAD_ENDIAN'));
header('EI_VERSION 0 is ELF_BAD_VERSION', () => rejects(patched((_, b) => (b[E.identVersion] = 0)), 'ELF_BAD_VERSION'));
header('e_version 2 is ELF_BAD_VERSION', () => rejects(patched((dv) => dv.setUint32(E.version, 2, true)), 'ELF_BAD_VERSION'));
header('ET_DYN is ELF_BAD_TYPE', () => rejects(patched((dv) => dv.setUint16(E.type, 3, true)), 'ELF_BAD_TYPE', 'ET_DYN'));
header('ET_REL is ELF_BAD_TYPE', () => rejects(patched((dv) => dv.setUint16(E.type, 1, true)), 'ELF_BAD_TYPE'));
header('x86-64 is ELF_BAD_MACHINE', () => rejects(patched((dv) => dv.setUint16(E.machine, 62, true)), 'ELF_BAD_MACHINE', '62'));
header('e_phentsize 56 is ELF_BAD_HEADER', () => rejects(patched((dv) => dv.setUint16(E.phentsize, 56, true)), 'ELF_BAD_HEADER', 'e_phentsize'));
header('e_ehsize 40 is ELF_BAD_HEADER', () => rejects(patched((dv) => dv.setUint16(E.ehsize, 40, true)), 'ELF_BAD_HEADER'));
header('e_shentsize 64 is ELF_BAD_HEADER', () => rejects(patched((dv) => dv.setUint16(E.shentsize, 64, true)), 'ELF_BAD_HEADER'));
header('a hard-float ABI is ELF_BAD_FLAGS', () => rejects(patched((dv) => dv.setUint32(E.flags, 0x4, true)), 'ELF_BAD_FLAGS'));
header('RV32E is ELF_BAD_FLAGS', () => rejects(patched((dv) => dv.setUint32(E.flags, 0x8, true)), 'ELF_BAD_FLAGS'));
header('program headers past the end are ELF_TRUNCATED', () =>
  rejects(patched((dv, b) => dv.setUint32(E.phoff, b.length - 16, true)), 'ELF_TRUNCATED', 'program header table'));
header('section headers past the end are ELF_TRUNCATED', () => {
  const b = buildElf(goodSpec());
  rejects(b.slice(0, b.length - 8), 'ELF_TRUNCATED', 'section header table');
});
header('a symbol table past the end is ELF_TRUNCATED', () => {
  const b = buildElf(goodSpec());
  const dv = new DataView(b.buffer);
  const shoff = dv.getUint32(E.shoff, true);
  dv.setUint32(shoff + 40 + 20, 0x10000, true); // .symtab sh_size
  rejects(b, 'ELF_TRUNCATED', 'symbol table');
});
header('no program headers is ELF_NO_SEGMENTS', () => rejects(patched((dv) => dv.setUint16(E.phnum, 0, true)), 'ELF_NO_SEGMENTS'));
header('no PT_LOAD is ELF_NO_SEGMENTS', () =>
  rejects(patched((dv) => [0, 1].forEach((i) => dv.setUint32(phdrAt(i) + P.type, 4, true))), 'ELF_NO_SEGMENTS'));
header('PT_INTERP is refused', () => rejects(patched((dv) => dv.setUint32(phdrAt(1) + P.type, 3, true)), 'ELF_BAD_TYPE', 'PT_INTERP'));

header.run();

const segments = suite('elf: segments are validated before anything is written');

segments('file bytes past the end are ELF_TRUNCATED', () =>
  rejects(
    patched((dv) => {
      dv.setUint32(phdrAt(1) + P.filesz, 0x10000, true);
      dv.setUint32(phdrAt(1) + P.memsz, 0x10000, true);
    }),
    'ELF_TRUNCATED',
    'segment 1',
  ));
segments('p_filesz > p_memsz is ELF_SEGMENT_SIZES', () =>
  rejects(patched((dv) => dv.setUint32(phdrAt(1) + P.memsz, 2, true)), 'ELF_SEGMENT_SIZES', 'segment 1'));
segments('overlapping segments are ELF_SEGMENT_OVERLAP', () =>
  rejects(patched((dv) => dv.setUint32(phdrAt(1) + P.vaddr, RAM_BASE + 0x104, true)), 'ELF_SEGMENT_OVERLAP', 'segment 1'));
segments('overlapping physical placement is ELF_SEGMENT_OVERLAP', () =>
  rejects(patched((dv) => dv.setUint32(phdrAt(1) + P.paddr, RAM_BASE + 0x104, true)), 'ELF_SEGMENT_OVERLAP', 'physical'));
segments('a segment wrapping the address space is ELF_SEGMENT_OUT_OF_RANGE', () =>
  rejects(patched((dv) => dv.setUint32(phdrAt(1) + P.memsz, 0x8000_0000, true)), 'ELF_SEGMENT_OUT_OF_RANGE'));
segments('a segment past RAM end names both addresses', () => {
  // Segment 0 is fine and comes first: it must not be written either.
  const spec = goodSpec();
  spec.segments[1]!.memsz = RAM_SIZE;
  rejects(buildElf(spec), 'ELF_SEGMENT_OUT_OF_RANGE', `segment 1 ends at 0x${(RAM_BASE + 0x1000 + RAM_SIZE).toString(16)}, beyond RAM end 0x80010000`);
});
segments('a segment below RAM is ELF_SEGMENT_OUT_OF_RANGE', () => {
  const spec = goodSpec();
  spec.segments[1]!.vaddr = 0x1000;
  rejects(buildElf(spec), 'ELF_SEGMENT_OUT_OF_RANGE', 'below RAM start');
});
segments('a segment in the reserved stack area is refused', () => {
  const bus = freshBus();
  const image = parseElf(buildElf(goodSpec()));
  try {
    loadImage(bus, image, { reserveTop: RAM_SIZE - 0x1000 });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ElfError).code, 'ELF_SEGMENT_OUT_OF_RANGE');
    assert.match((e as Error).message, /stack area/);
  }
  assert.is(bus.ram[0x100], 0xa5);
});
segments('an entry outside every segment is ELF_NO_ENTRY', () =>
  rejects(patched((dv) => dv.setUint32(E.entry, RAM_BASE + 0x8000, true)), 'ELF_NO_ENTRY', '0x80008000'));
segments('an entry in a non-executable segment is ELF_NO_ENTRY', () =>
  rejects(patched((dv) => dv.setUint32(E.entry, RAM_BASE + 0x1000, true)), 'ELF_NO_ENTRY', 'not executable'));
segments('an odd entry is ELF_NO_ENTRY', () => rejects(patched((dv) => dv.setUint32(E.entry, RAM_BASE + 0x101, true)), 'ELF_NO_ENTRY'));

segments.run();

const flat = suite('elf: flat binaries');

flat('load at loadAddress with the given entry', () => {
  const image = flatImage(CODE, { entry: RAM_BASE + 0x204, loadAddress: RAM_BASE + 0x200 });
  const bus = freshBus();
  loadImage(bus, image);
  assert.equal(bus.readRam(RAM_BASE + 0x200, 8), CODE);
  assert.is(image.entry, RAM_BASE + 0x204);
});

flat('loadAddress defaults to the entry', () => {
  assert.is(flatImage(CODE, { entry: RAM_BASE }).segments[0]!.vaddr, RAM_BASE);
});

flat('without an entry is ELF_FLAT_NEEDS_ENTRY', () => {
  try {
    parseImage(CODE, { loadAddress: RAM_BASE });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ElfError).code, 'ELF_FLAT_NEEDS_ENTRY');
  }
});

flat('bytes without ELF magic and no entry are ELF_NOT_ELF', () => {
  try {
    parseImage(CODE);
    assert.unreachable();
  } catch (e) {
    assert.is((e as ElfError).code, 'ELF_NOT_ELF');
  }
});

flat('an entry outside the binary is ELF_NO_ENTRY', () => {
  try {
    flatImage(CODE, { entry: RAM_BASE + 8, loadAddress: RAM_BASE });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ElfError).code, 'ELF_NO_ENTRY');
  }
});

flat('an image too large for RAM leaves RAM untouched', () => {
  const bus = freshBus();
  const before = bus.ram.slice();
  try {
    loadImage(bus, flatImage(new Uint8Array(RAM_SIZE), { entry: RAM_BASE + 4 }));
    assert.unreachable();
  } catch (e) {
    assert.is((e as ElfError).code, 'ELF_SEGMENT_OUT_OF_RANGE');
    assert.match((e as Error).message, /^flat binary ends at 0x80010004, beyond RAM end 0x80010000$/);
  }
  assert.equal(bus.ram, before);
});

flat.run();

const real = suite('elf: files from the real toolchain agree with readelf');

real('entry, PT_LOAD segments and symbols match riscv64-unknown-elf-readelf', () => {
  const src = `
    volatile unsigned long long tohost __attribute__((section(".tohost")));
    int counter = 5;
    char buffer[300];
    void _start(void) { buffer[counter] = 1; tohost = 1; for (;;) ; }
  `;
  const path = buildElfFile('readelf', { 'a.c': src }, ['-Ttext=0x80000000']);
  const image = parseElf(readBytes(path));
  const out = execFileSync('riscv64-unknown-elf-readelf', ['-W', '-h', '-l', '-s', path], { encoding: 'utf8' });
  const entry = Number(/Entry point address:\s+(0x[0-9a-f]+)/.exec(out)![1]);
  assert.is(image.entry, entry);
  const loads = [...out.matchAll(/^\s+LOAD\s+(0x\S+)\s+(0x\S+)\s+(0x\S+)\s+(0x\S+)\s+(0x\S+)\s+(.{3})/gm)]
    .map((m) => ({ vaddr: Number(m[2]), paddr: Number(m[3]), filesz: Number(m[4]), memsz: Number(m[5]) }))
    .filter((s) => s.memsz > 0);
  assert.equal(
    image.segments.map((s) => ({ vaddr: s.vaddr, paddr: s.paddr, filesz: s.data.length, memsz: s.memsz })),
    loads,
  );
  for (const name of ['tohost', 'buffer', 'counter', '_start']) {
    const m = new RegExp(`^\\s*\\d+:\\s+([0-9a-f]+)\\s+(\\d+)\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+${name}$`, 'm').exec(out);
    assert.ok(m, `readelf lists ${name}`);
    assert.equal(image.symbols.get(name), { value: parseInt(m![1]!, 16), size: Number(m![2]) }, name);
  }
});

real.run();

const fuzz = suite('elf: corrupt files fail only with ElfError');

fuzz('random byte flips in a real executable never escape as another error', () => {
  const path = buildElfFile('fuzz', { 'a.c': 'int x = 3; void _start(void) { for (;;) x++; }' }, []);
  const original = readBytes(path);
  let seed = 0x1234_5678;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) >>> 8);
  let rejected = 0;
  for (let i = 0; i < 400; i++) {
    const b = original.slice();
    // Headers are where the interesting failures are: bias the flips there.
    for (let k = 0; k < 3; k++) {
      const at = rand() % 3 === 0 ? rand() % b.length : rand() % 160;
      b[at] = rand() & 0xff;
    }
    const cut = rand() % 4 === 0 ? b.subarray(0, rand() % b.length) : b;
    try {
      loadImage(freshAppBus(), parseElf(cut));
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      rejected++;
    }
  }
  assert.ok(rejected > 0, 'some corruptions must be detected');
});

function freshAppBus(): Bus {
  return new Bus(new Uint8Array(1 << 20), 0);
}

fuzz.run();
