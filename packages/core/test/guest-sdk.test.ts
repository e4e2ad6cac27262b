// The guest SDK (packages/guest): committed prebuilt images must be exactly what their
// sources build to, rv32ima builds must hold no compressed instruction, and the SDK's
// start-up code must hand main its arguments (checked under qemu-riscv32).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, buildGuest, make, runQemuSystem, runQemuUser } from './_oracle.ts';

const EF_RISCV_RVC = 0x1;

const out = mkdtempSync(join(tmpdir(), 'rvisor-sdk-test-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));

const read = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

interface Section { name: string; addr: number; offset: number; size: number; flags: number }

/** The ELF32 section headers, enough to find the executable ones. */
function sections(elf: Uint8Array): Section[] {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = v.getUint32(32, true);
  const shentsize = v.getUint16(46, true);
  const shnum = v.getUint16(48, true);
  const shstrndx = v.getUint16(50, true);
  const strOff = v.getUint32(shoff + shstrndx * shentsize + 16, true);
  const out: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    let name = '';
    for (let p = strOff + v.getUint32(h, true); elf[p] !== 0; p++) name += String.fromCharCode(elf[p]!);
    out.push({ name, addr: v.getUint32(h + 12, true), offset: v.getUint32(h + 16, true), size: v.getUint32(h + 20, true), flags: v.getUint32(h + 8, true) });
  }
  return out;
}

/**
 * Count 16-bit instructions by walking the executable sections from their start, as
 * the hart would: a parcel whose low two bits are not 11 is a compressed instruction.
 */
function compressedCount(elf: Uint8Array): number {
  const SHF_EXECINSTR = 0x4;
  let n = 0;
  for (const s of sections(elf)) {
    if ((s.flags & SHF_EXECINSTR) === 0) continue;
    for (let p = s.offset; p < s.offset + s.size;) {
      if ((elf[p]! & 3) !== 3) {
        n++;
        p += 2;
      } else {
        p += 4;
      }
    }
  }
  return n;
}

function eflags(elf: Uint8Array): number {
  return new DataView(elf.buffer, elf.byteOffset).getUint32(36, true);
}

// Rebuild everything once, in parallel with nothing else: two make runs.
await Promise.all([
  make(['-C', join(REPO_ROOT, 'examples/hello'), `OUTDIR=${out}`], REPO_ROOT),
  make(['-C', join(REPO_ROOT, 'bench/guests'), `OUTDIR=${out}`], REPO_ROOT),
]);

const committed = suite('guest SDK: committed images are what their sources build to');
for (const [dir, name] of [
  ['examples/hello', 'hello.elf'],
  ['examples/hello', 'hello-machine.elf'],
  ['bench/guests', 'sha256.elf'],
  ['bench/guests', 'crc32.elf'],
  ['bench/guests', 'sort.elf'],
  ['bench/guests', 'coremark.elf'],
  ['bench/guests', 'tight.elf'],
] as const) {
  committed(`${dir}/${name} is byte-identical to a fresh build`, () => {
    const fresh = read(join(out, name));
    const repo = read(join(REPO_ROOT, dir, name));
    assert.ok(fresh.length > 0, 'fresh build is empty');
    assert.ok(
      fresh.length === repo.length && fresh.every((b, i) => b === repo[i]),
      `${dir}/${name} differs from what its source builds to: run \`make -C ${dir}\` and commit the result`,
    );
  });
}
committed.run();

const norvc = suite('guest SDK: MARCH=rv32ima images contain no compressed instruction');
const hello = 'examples/hello/hello.c';
const imac = await buildGuest({ sources: [hello], profile: 'app', march: 'rv32imac' });
const ima = await buildGuest({ sources: [hello], profile: 'app', march: 'rv32ima' });
const imaMachine = await buildGuest({ sources: [hello], profile: 'machine', march: 'rv32ima' });
norvc('the rv32imac build of hello does use compressed instructions (the check can fail)', () => {
  const elf = read(imac);
  assert.ok(compressedCount(elf) > 100, `only ${compressedCount(elf)} compressed instructions`);
  assert.ok((eflags(elf) & EF_RISCV_RVC) !== 0, 'EF_RISCV_RVC is clear');
});
norvc('the rv32ima app build of hello has none and leaves EF_RISCV_RVC clear', () => {
  const elf = read(ima);
  assert.is(compressedCount(elf), 0);
  assert.is(eflags(elf) & EF_RISCV_RVC, 0);
});
norvc('the rv32ima machine build of hello has none and leaves EF_RISCV_RVC clear', () => {
  const elf = read(imaMachine);
  assert.is(compressedCount(elf), 0);
  assert.is(eflags(elf) & EF_RISCV_RVC, 0);
});
norvc.run();

/** hello's checksum, computed here independently of the guest. */
function helloChecksum(): string {
  const words = new Uint16Array(4096);
  let x = 2463534242;
  for (let i = 0; i < words.length; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    words[i] = x & 0xffff;
  }
  // the same block-wise reduction as hello.c (359 sums cannot overflow 32 bits)
  let a = 0xffff;
  let b = 0xffff;
  for (let i = 0; i < words.length;) {
    const end = Math.min(i + 359, words.length);
    for (; i < end; i++) {
      a += words[i]!;
      b += a;
    }
    a = (a & 0xffff) + (a >>> 16);
    b = (b & 0xffff) + (b >>> 16);
  }
  a = (a & 0xffff) + (a >>> 16);
  b = (b & 0xffff) + (b >>> 16);
  return (((b << 16) | a) >>> 0).toString(16).padStart(8, '0');
}

const start = suite('guest SDK: start-up code passes argv and the exit code');
start('hello under qemu-riscv32 prints its argv and the checksum computed here, exits 0', async () => {
  const r = await runQemuUser(join(REPO_ROOT, 'examples/hello/hello.elf'), { argv: ['guest', 'a', 'b c'] });
  const text = new TextDecoder().decode(r.stdout);
  assert.is(r.exitCode, 0);
  assert.match(text, /^Hello from an rvisor guest!\n/);
  assert.match(text, 'argc = 3\nargv[1] = a\nargv[2] = b c\n');
  assert.match(text, `= 0x${helloChecksum()}\n`);
});
start('hello-machine under qemu-system-riscv32 prints the same checksum and powers off with 0', async () => {
  const r = await runQemuSystem(join(REPO_ROOT, 'examples/hello/hello-machine.elf'));
  assert.is(r.exitCode, 0);
  assert.match(new TextDecoder().decode(r.stdout), `= 0x${helloChecksum()}\n`);
});
start('an rv32ima build runs under qemu-riscv32 like the rv32imac one', async () => {
  const a = await runQemuUser(imac, { argv: ['guest', 'x'] });
  const b = await runQemuUser(ima, { argv: ['guest', 'x'] });
  assert.is(b.exitCode, 0);
  assert.equal(b.stdout, a.stdout);
});
start.run();
