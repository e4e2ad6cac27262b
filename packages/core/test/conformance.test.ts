// Conformance: guest programs from test/guests (and examples/hello) run under QEMU and
// under rvisor's VirtualMachine; stdout, stderr and the exit code must match byte for
// byte. QEMU runs in this same test, so nothing expected is copied from an earlier run.
// Behaviour where QEMU 7.2 and our Spike-like choices differ is kept out of these guests
// and listed in test/guests/README.md.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { VirtualMachine } from '../src/vm/vm.ts';
import { buildGuest, mapLimit, runQemuSystem, runQemuUser } from './_oracle.ts';
import type { GuestMarch, GuestProfile, OracleResult } from './_oracle.ts';

interface Guest {
  name: string;
  sources: string[];
  profile: GuestProfile;
  marches: GuestMarch[];
  nocrt?: boolean;
  argv?: string[];
  stdin?: string;
  /** The guest dies: QEMU by this signal, rvisor with a fault of one of these causes. */
  dies?: { signal: string; causes: number[] };
  /** Turn QEMU's output into what rvisor must print (documented divergences only). */
  expect?: (qemu: OracleResult) => OracleResult;
}

const G = 'packages/core/test/guests/';
const BOTH: GuestMarch[] = ['rv32imac', 'rv32ima'];
const TRAP = `${G}_trap.S`;

const GUESTS: Guest[] = [
  { name: 'isa', sources: [`${G}isa.c`], profile: 'app', marches: BOTH },
  { name: 'atomics', sources: [`${G}atomics.c`], profile: 'app', marches: BOTH },
  { name: 'compressed', sources: [`${G}compressed.c`], profile: 'app', marches: ['rv32imac'] },
  {
    name: 'syscalls', sources: [`${G}syscalls.c`], profile: 'app', marches: BOTH,
    argv: ['guest', 'x', 'two words'], stdin: 'hello stdin\nsecond line, no newline',
  },
  { name: 'fault illegal', sources: [`${G}app-fault.c`], profile: 'app', marches: BOTH, argv: ['guest', 'illegal'], dies: { signal: 'SIGILL', causes: [2] } },
  { name: 'fault load', sources: [`${G}app-fault.c`], profile: 'app', marches: ['rv32imac'], argv: ['guest', 'load'], dies: { signal: 'SIGSEGV', causes: [5] } },
  { name: 'fault store', sources: [`${G}app-fault.c`], profile: 'app', marches: ['rv32imac'], argv: ['guest', 'store'], dies: { signal: 'SIGSEGV', causes: [7] } },
  { name: 'fault ebreak', sources: [`${G}app-fault.c`], profile: 'app', marches: ['rv32imac'], argv: ['guest', 'ebreak'], dies: { signal: 'SIGTRAP', causes: [3] } },
  { name: 'exit', sources: [`${G}exit.S`], profile: 'app', marches: BOTH, nocrt: true, argv: ['guest', 'one'] },
  { name: 'hello', sources: ['examples/hello/hello.c'], profile: 'app', marches: BOTH, argv: ['guest', 'world'] },
  { name: 'traps', sources: [`${G}traps.c`, TRAP], profile: 'machine', marches: BOTH },
  { name: 'interrupts', sources: [`${G}interrupts.c`, TRAP], profile: 'machine', marches: BOTH },
  { name: 'csr', sources: [`${G}csr.c`, TRAP], profile: 'machine', marches: BOTH },
  { name: 'finisher', sources: [`${G}finisher.c`], profile: 'machine', marches: BOTH },
  { name: 'hello-machine', sources: ['examples/hello/hello.c'], profile: 'machine', marches: BOTH },
  {
    name: 'uart-input', sources: [`${G}uart-input.c`], profile: 'machine', marches: BOTH,
    stdin: 'hello uart\nsecond line. ignored after the dot',
  },
  {
    name: 'htif', sources: [`${G}htif.c`], profile: 'machine', marches: BOTH,
    // QEMU virt has no HTIF: it prints the fallback line before the finisher stops it.
    expect: (q) => ({ ...q, stdout: stripSuffix(q.stdout, 'htif: no host\n') }),
  },
];

// The benchmark guests at their quick sizes: same code paths as the timed runs.
const B = 'bench/guests/';
for (const [name, arg] of [['sha256', '64k'], ['crc32', '256k'], ['sort', '5000'], ['coremark', '50'], ['tight', '500k']]) {
  GUESTS.push({ name: `bench ${name}`, sources: [`${B}${name}.c`], profile: 'app', marches: ['rv32imac'], argv: ['guest', arg!] });
}

/** Instructions after which a guest that has not finished counts as hung. */
const MAX_INSTRUCTIONS = 200_000_000;
const SLICE = 1 << 20;

const enc = new TextEncoder();
const dec = new TextDecoder();

function stripSuffix(bytes: Uint8Array, suffix: string): Uint8Array {
  const s = dec.decode(bytes);
  return s.endsWith(suffix) ? enc.encode(s.slice(0, -suffix.length)) : bytes;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

interface VmRun {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number | undefined;
  fault: string | undefined;
  faultCause: number | undefined;
  instructions: number;
}

function runVm(image: Uint8Array, g: Guest, march: GuestMarch): VmRun {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const vm = new VirtualMachine({
    profile: g.profile,
    isa: march,
    image,
    argv: g.argv ?? ['guest'],
    env: [],
    stdin: g.profile === 'app' && g.stdin !== undefined ? enc.encode(g.stdin) : undefined,
    onConsole: (bytes, stream) => (stream === 'stderr' ? err : out).push(bytes.slice()),
  });
  if (g.profile === 'machine' && g.stdin !== undefined) vm.input(enc.encode(g.stdin));
  let instructions = 0;
  while (vm.exitCode === undefined && !vm.fault && instructions < MAX_INSTRUCTIONS) {
    const r = vm.run(SLICE);
    instructions += r.instructions;
    // Waiting guests: skip virtual time to their wake-up, deterministically.
    if ((r.reason === 'idle' || r.reason === 'sleep') && !vm.idle()) break;
  }
  return { stdout: concat(out), stderr: concat(err), exitCode: vm.exitCode, fault: vm.fault?.message, faultCause: vm.fault?.cause, instructions };
}

interface Case {
  guest: Guest;
  march: GuestMarch;
  elf: string;
  qemu: OracleResult;
}

const t0 = performance.now();
const work = GUESTS.flatMap((guest) => guest.marches.map((march) => ({ guest, march })));
const cases: Case[] = await mapLimit(work, 2, async ({ guest, march }) => {
  const elf = await buildGuest({ sources: guest.sources, profile: guest.profile, march, nocrt: guest.nocrt });
  const stdin = guest.stdin === undefined ? undefined : enc.encode(guest.stdin);
  const qemu = guest.profile === 'app'
    ? await runQemuUser(elf, { argv: guest.argv, stdin })
    : await runQemuSystem(elf, { stdin });
  return { guest, march, elf, qemu };
});
const prepared = performance.now() - t0;

function show(bytes: Uint8Array): string {
  return dec.decode(bytes);
}

for (const g of GUESTS) {
  const how = g.dies ? 'prints, then faults as QEMU kills it' : 'prints and exits as under QEMU';
  const s = suite(`conformance: ${g.name} (${g.profile}) ${how}`);
  for (const c of cases.filter((c) => c.guest === g)) {
    const what = g.dies ? `output equals QEMU's, fault cause matches ${g.dies.signal}` : "output and exit code equal QEMU's";
    s(`${g.name} ${c.march}: rvisor ${what}`, () => {
      assert.not.ok(c.qemu.timedOut, `QEMU timed out on ${g.name} ${c.march}`);
      const want = g.expect ? g.expect(c.qemu) : c.qemu;
      // A guest that never printed would make the comparison vacuous.
      assert.ok(want.stdout.length > 0, `QEMU printed nothing for ${g.name} ${c.march}`);
      const image = new Uint8Array(readFileSync(c.elf));
      const got = runVm(image, g, c.march);
      const where = `${g.name} ${c.march} (${c.elf})`;
      if (g.dies !== undefined) {
        assert.is(c.qemu.signal, g.dies.signal, `QEMU's end of ${where}`);
        assert.ok(got.fault !== undefined, `rvisor did not fault on ${where} (exit code ${got.exitCode})`);
        assert.ok(g.dies.causes.includes(got.faultCause!), `rvisor fault on ${where}: ${got.fault}`);
        assert.fixture(show(got.stdout), show(want.stdout), `stdout of ${where}`);
        return;
      }
      if (got.fault !== undefined) {
        assert.unreachable(`rvisor faulted on ${where}: ${got.fault}\n--- stdout so far ---\n${show(got.stdout)}`);
      }
      assert.fixture(show(got.stdout), show(want.stdout), `stdout of ${where}`);
      // qemu-system's stderr is its own diagnostics; the machine profile has one console.
      if (g.profile === 'app') assert.fixture(show(got.stderr), show(want.stderr), `stderr of ${where}`);
      assert.equal(got.stdout, want.stdout, `stdout bytes of ${where}`);
      assert.ok(want.exitCode !== null, `QEMU did not exit normally on ${where} (signal ${want.signal})`);
      assert.ok(got.exitCode !== undefined, `rvisor did not finish ${where} within ${got.instructions} instructions`);
      assert.is(got.exitCode, want.exitCode, `exit code of ${where}`);
    });
  }
  s.run();
}

const timing = suite('conformance: preparation stays fast');
timing('builds (cached) and QEMU runs of all guests finish within 60 s', () => {
  assert.ok(cases.length >= 20, `only ${cases.length} cases`);
  assert.ok(prepared < 60_000, `preparation took ${Math.round(prepared)} ms`);
});
timing.run();
