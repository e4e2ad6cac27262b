import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualMachine } from '../src/vm/vm.ts';
import { buildGuest, GUEST_SOURCES, runQemuUser } from './_oracle.ts';

const test = suite('app profile: misaligned loads and stores');

const elf = await buildGuest({ sources: [join(GUEST_SOURCES, 'misaligned-app.c')], profile: 'app', march: 'rv32imac' });
const elfIma = await buildGuest({ sources: [join(GUEST_SOURCES, 'misaligned-app.c')], profile: 'app', march: 'rv32ima' });

function rvisor(path: string, isa: 'rv32imac' | 'rv32ima', argv: string[] = []) {
  let out = '';
  const vm = new VirtualMachine({ image: readFileSync(path), isa, argv: ['misaligned', ...argv], onConsole: (b) => (out += new TextDecoder().decode(b)) });
  const r = vm.runToEnd({ maxInstructions: 10_000_000 });
  return { out, vm, r };
}

for (const [label, path, isa] of [['rv32imac', elf, 'rv32imac'], ['rv32ima', elfIma, 'rv32ima']] as const) {
  test(`complete as under qemu-riscv32 (${label})`, async () => {
    const q = await runQemuUser(path);
    const r = rvisor(path, isa);
    assert.is(q.exitCode, 0);
    assert.is(r.r.reason, 'exit');
    assert.is(r.out, new TextDecoder().decode(q.stdout));
    assert.match(r.out, /off 3: lw [0-9a-f]{8}/);
  });
}

test('a misaligned access into unmapped memory is an access fault at the first missing byte', async () => {
  const q = await runQemuUser(elf, { argv: ['misaligned', 'edge'] });
  assert.ok(q.exitCode !== 0, 'qemu-riscv32 stops the program too');
  const r = rvisor(elf, 'rv32imac', ['edge']);
  assert.is(r.r.reason, 'fault');
  assert.is(r.vm.fault!.cause, 5);
  // RAM ends far below 0xfffffffe: the first byte read is already outside it.
  assert.is(r.vm.fault!.tval, 0xfffffffe);
});

test.run();
