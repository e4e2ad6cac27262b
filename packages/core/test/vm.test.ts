import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, ElfError, RvisorError, SnapshotError } from '../src/errors.ts';
import { MTIME_HZ, REALTIME_EPOCH } from '../src/vm/app.ts';
import { checkVmState } from '../src/vm/state.ts';
import { VirtualMachine } from '../src/vm/vm.ts';
import { parseElf } from '../src/loader/elf.ts';
import type { VmOptions } from '../src/vm/vm.ts';
import { buildElf, words } from './fixtures/elf-builder.ts';
import { APP_CRT0, APP_MAIN, FW_LD, FW_MAIN, FW_START, htifTest } from './fixtures/guests.ts';
import { buildElfFile, qemuSystem, qemuUser, readBytes } from './fixtures/toolchain.ts';

// Instruction words used by hand-built images (RISC-V unprivileged spec encodings).
const ADDI_A0_5 = 0x00500513; // addi a0, zero, 5
const ADDI_A7_93 = 0x05d00893; // addi a7, zero, 93
const ECALL = 0x00000073;
const WFI = 0x10500073;
const J_SELF = 0x0000006f; // jal zero, 0
const J_BACK4 = 0xffdff06f; // jal zero, -4

const APP = buildElfFile('app', { 'crt0.S': APP_CRT0, 'main.c': APP_MAIN }, []);
const APP_IMAGE = readBytes(APP);
// One variable: qemu-user and node do not agree on the order of several.
const ENV = { RVISOR_TEST: 'yes' };

interface Captured {
  vm: VirtualMachine;
  stdout: () => string;
  stderr: () => string;
}

function boot(options: VmOptions): Captured {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const vm = new VirtualMachine({ onConsole: (b, s) => (s === 'stdout' ? out : err).push(b.slice()), ...options });
  const text = (parts: Uint8Array[]) => parts.map((p) => new TextDecoder().decode(p)).join('');
  return { vm, stdout: () => text(out), stderr: () => text(err) };
}

function appVm(args: string[], extra: Partial<VmOptions> = {}): Captured {
  return boot({ image: APP_IMAGE, argv: [APP, ...args], env: Object.entries(ENV).map(([k, v]) => `${k}=${v}`), ...extra });
}

/** The same program under qemu-riscv32 and in the VM: same stdout and exit status. */
function sameAsQemu(args: string[], stdin = ''): Captured {
  const q = qemuUser(APP, args, stdin, ENV);
  const c = appVm(args, { stdin: new TextEncoder().encode(stdin) });
  const r = c.vm.runToEnd({ maxInstructions: 50_000_000 });
  assert.is(c.stdout(), q.stdout);
  if (q.status !== null) {
    assert.is(r.reason, 'exit');
    assert.is(c.vm.exitCode, q.status);
  }
  return c;
}

/** A flat image at 0x10000 in the app profile. */
function flatApp(ws: number[], extra: Partial<VmOptions> = {}): Captured {
  return boot({ image: words(...ws), entry: 0x10000, ...extra });
}

function throwsCode(fn: () => unknown, type: typeof RvisorError, code: string): void {
  try {
    fn();
    assert.unreachable(`expected ${code}`);
  } catch (e) {
    if (!(e instanceof RvisorError)) throw e;
    assert.instance(e, type);
    assert.is(e.code, code, e.message);
  }
}

const oracle = suite('vm app profile: programs behave as under qemu-riscv32');

oracle('hello: stdout, stderr and exit status', () => {
  const c = sameAsQemu(['hello']);
  assert.is(c.stdout(), 'hello, world\n');
  assert.is(c.stderr(), qemuUser(APP, ['hello'], '', ENV).stderr);
});

oracle('exit codes, truncated to 8 bits like Linux', () => {
  for (const code of ['0', '7', '255', '300']) sameAsQemu(['exit', code]);
});

oracle('argv, envp and auxv on the initial stack', () => {
  const c = sameAsQemu(['args', 'two words', '']);
  assert.match(c.stdout(), /pagesz 4096\nentry_ok 1\nrandom 1\nphnum>0 1/);
});

oracle('brk: initial break, growth, zeroed memory, refusals', () => {
  const c = sameAsQemu(['brk']);
  assert.match(c.stdout(), /grew 65536\nzero 1/);
});

oracle('read from stdin until EOF, and the errno values of bad calls', () => {
  const c = sameAsQemu(['cat'], 'line one\nline two is longer\n');
  assert.match(c.stdout(), /read fd 5 -9\nread bad buffer -14\nwrite bad buffer -14\nwrite fd 7 -9\nunknown syscall -38/);
});

oracle('clock_gettime64: monotonic, realtime, errors', () => {
  const c = sameAsQemu(['clock']);
  assert.match(c.stdout(), /monotonic 1/);
});

oracle('clock_nanosleep_time64: relative, absolute, past, invalid', () => {
  const c = sameAsQemu(['sleep', '30']);
  assert.match(c.stdout(), /slept enough 1/);
  assert.match(c.stdout(), /bad nsec -22/);
});

oracle('a load from an unmapped address stops the guest at the faulting instruction', () => {
  const c = sameAsQemu(['fault']);
  assert.is(c.stdout(), 'before\n');
  const f = c.vm.fault!;
  assert.ok(f, 'fault recorded');
  assert.is(f.pc, parseElf(readBytes(APP)).symbols.get('fault_pc')!.value);
  assert.is(f.cause, 5);
  assert.is(f.tval, 0xfffff000);
  assert.is(f.message, `load access fault at pc 0x${f.pc.toString(16).padStart(8, '0')} (address 0xfffff000)`);
  assert.is(c.vm.run(100).reason, 'fault', 'a faulted guest stays faulted');
});

oracle.run();

const time = suite('vm app profile: virtual time is deterministic');

time('nanosleep returns from run() with a wake-up time that idle() skips to', () => {
  const c = appVm(['sleep', '1500']);
  const vm = c.vm;
  let r = vm.run(10_000_000);
  assert.is(r.reason, 'sleep');
  const wake = vm.wakeAt!;
  assert.ok(wake >= vm.hart.mtime + 1.5 * MTIME_HZ, 'wake-up at least 1.5 s ahead');
  assert.equal(vm.run(1000), { reason: 'sleep', instructions: 0 }, 'a sleeping guest does not run');
  assert.ok(vm.idle());
  assert.is(vm.hart.mtime, wake);
  assert.is(vm.wakeAt, undefined);
  r = vm.runToEnd({ maxInstructions: 10_000_000 });
  assert.is(r.reason, 'exit');
  assert.match(c.stdout(), /rel 0\nslept enough 1\nabs 0\nabs reached 1\nabs past 0\nbad nsec -22\n/);
  assert.ok(vm.stats.idleCycles >= 1.5e8, 'skipped idle cycles are counted');
  assert.is(vm.stats.cycles, vm.stats.instructions + vm.stats.idleCycles);
});

time('a sleep beyond the exact time range is a sleep forever: no wake-up, idle() refuses', () => {
  const src = `
  .globl _start
_start:
  addi sp, sp, -16
  li t0, 0x7fffffff
  sw t0, 0(sp)
  sw zero, 4(sp)
  sw zero, 8(sp)
  sw zero, 12(sp)
  li a0, 1
  li a1, 0
  mv a2, sp
  li a3, 0
  li a7, 407
  ecall
  li a7, 93
  ecall
`;
  const c = boot({ image: readBytes(buildElfFile('sleep-forever', { 's.S': src }, [])) });
  assert.is(c.vm.run(1000).reason, 'sleep');
  assert.is(c.vm.wakeAt, undefined);
  assert.not.ok(c.vm.idle());
  assert.is(c.vm.runToEnd({ maxInstructions: 1000 }).reason, 'sleep');
  assert.is(c.vm.exitCode, undefined);
});

time('two runs of the same program retire the same instructions at the same times', () => {
  const a = appVm(['sleep', '250']);
  const b = appVm(['sleep', '250']);
  a.vm.runToEnd({ maxInstructions: 20_000_000 });
  b.vm.runToEnd({ maxInstructions: 20_000_000, slice: 777 });
  assert.is(a.stdout(), b.stdout());
  assert.equal(a.vm.stats, b.vm.stats);
});

time('clock_gettime64 reads mtime: realtime is the documented epoch plus it', () => {
  // la a1, buf (auipc+addi); li a0, clock; li a7, 403; ecall; li a7, 93; ecall
  const prog = (clock: number) => [0x00000597, 0x10058593, 0x00000513 | (clock << 20), 0x19300893, ECALL, ADDI_A7_93, ECALL];
  for (const clock of [0, 1]) {
    const c = flatApp(prog(clock));
    c.vm.hart.cycle = 123_456_789;
    assert.is(c.vm.runToEnd({ maxInstructions: 20_000_000 }).reason, 'exit');
    // The ecall is the 5th instruction: cycle 123_456_794 at the call, mtime = floor(cycle / 10).
    const ticks = Math.floor(123_456_794 / 10);
    const dv = new DataView(c.vm.bus.readRam(0x10100, 16).buffer);
    const sec = Number(dv.getBigInt64(0, true));
    const nsec = Number(dv.getBigInt64(8, true));
    assert.is(sec, (clock === 0 ? REALTIME_EPOCH : 0) + Math.floor(ticks / MTIME_HZ));
    assert.is(nsec, (ticks % MTIME_HZ) * 100);
  }
});

time.run();

const brk = suite('vm app profile: brk stays below the stack');

brk('brk up to the stack bottom succeeds, one byte more returns the old break', () => {
  // li a0, 0xF0000; li a7, 214; ecall; mv s0, a0; li a0, 0xF0001; ecall; mv s1, a0; li a7, 93; ecall
  const prog = [0x000f0537, 0x0d600893, ECALL, 0x00050413, 0x000f0537, 0x00150513, ECALL, 0x00050493, ADDI_A7_93, ECALL];
  const c = flatApp(prog, { ramSize: 1 << 20, stackSize: 64 << 10 });
  assert.is(c.vm.runToEnd({ maxInstructions: 20_000_000 }).reason, 'exit');
  assert.is(c.vm.hart.x[8], 0xf0000, 'grew to the limit');
  assert.is(c.vm.hart.x[9], 0xf0000, 'past the limit: old break');
  assert.is(c.vm.app!.brkStart, 0x11000, 'initial break: page-aligned image end');
});

brk.run();

const counting = suite('vm: instruction counting and budgets');

counting('exit after three instructions retires exactly three', () => {
  const c = flatApp([ADDI_A0_5, ADDI_A7_93, ECALL]);
  assert.equal(c.vm.run(100), { reason: 'exit', instructions: 3 });
  assert.is(c.vm.exitCode, 5);
  assert.is(c.vm.stats.instructions, 3);
  assert.equal(c.vm.run(100), { reason: 'exit', instructions: 0 });
});

counting('a spinning guest uses its whole budget and no more', () => {
  const c = flatApp([J_SELF]);
  assert.equal(c.vm.run(12_345), { reason: 'budget', instructions: 12_345 });
  assert.equal(c.vm.runToEnd({ maxInstructions: 1000 }), { reason: 'budget', instructions: 1000 });
  assert.is(c.vm.stats.instructions, 13_345);
});

counting('a guest entered in U-mode can read cycle, time and instret', () => {
  // rdcycle a0; rdtime a1; rdinstret a2; addi a7, zero, 93; ecall
  const c = flatApp([0xc0002573, 0xc01025f3, 0xc0202673, ADDI_A7_93, ECALL]);
  c.vm.hart.cycle = 1000;
  assert.is(c.vm.runToEnd({ maxInstructions: 20_000_000 }).reason, 'exit');
  assert.is(c.vm.hart.x[11], 100, 'time = cycle / 10');
  assert.is(c.vm.hart.x[12], 2, 'instret before the third instruction');
  assert.is(c.vm.exitCode, 1000 & 0xff);
});

counting.run();

const hyper = suite('vm: hypercalls 0x400 and up go to vm.hypercalls');

hyper('registered numbers return their value; unknown ones -ENOSYS', () => {
  const c = appVm(['hypercall']);
  const seen: number[] = [];
  c.vm.hypercalls.set(0x400, (vm) => {
    seen.push(vm.hart.x[10]!);
    return vm.hart.x[10]! * 2;
  });
  c.vm.hypercalls.set(0x401, () => ({ a0: 7, stop: 'yield' }));
  let r = c.vm.run(1_000_000);
  assert.is(r.reason, 'yield');
  r = c.vm.runToEnd({ maxInstructions: 20_000_000 });
  assert.is(r.reason, 'exit');
  assert.equal(seen, [20]);
  assert.is(c.stdout(), '0x400 40\n0x401 7\n0x7ff -38\n');
});

hyper('a blocked hypercall is retried by the next run() and retires once', () => {
  const plain = appVm(['hypercall']);
  plain.vm.hypercalls.set(0x400, () => 1);
  plain.vm.runToEnd({ maxInstructions: 20_000_000 });
  const c = appVm(['hypercall']);
  let calls = 0;
  c.vm.hypercalls.set(0x400, () => (++calls < 3 ? { stop: 'block' } : 1));
  assert.is(c.vm.run(1_000_000).reason, 'blocked');
  const pc = c.vm.hart.pc;
  assert.is(c.vm.run(1_000_000).reason, 'blocked');
  assert.is(c.vm.hart.pc, pc, 'pc stays at the ecall');
  assert.is(c.vm.runToEnd({ maxInstructions: 20_000_000 }).reason, 'exit');
  assert.is(calls, 3);
  assert.is(c.stdout(), plain.stdout());
  assert.is(c.vm.stats.instructions, plain.vm.stats.instructions);
});

hyper.run();

const FW = buildElfFile('fw', { 'start.S': FW_START, 'main.c': FW_MAIN }, [], FW_LD);
const FW_IMAGE = readBytes(FW);

const machine = suite('vm machine profile: firmware behaves as under qemu-system-riscv32 virt');

machine('UART registers, UART input, CLINT timer interrupt and finisher exit match QEMU', () => {
  const q = qemuSystem(FW, 'abc');
  const c = boot({ profile: 'machine', image: FW_IMAGE });
  c.vm.input(new TextEncoder().encode('abc'));
  const r = c.vm.runToEnd({ maxInstructions: 10_000_000 });
  assert.is(r.reason, 'exit');
  assert.is(c.stdout(), q.stdout);
  assert.is(c.vm.exitCode, q.status);
  assert.match(c.stdout(), /tick cause=80000007\nwaited enough=01\n$/);
});

machine('polling for input spins until input() arrives', () => {
  const c = boot({ profile: 'machine', image: FW_IMAGE });
  assert.is(c.vm.runToEnd({ maxInstructions: 200_000 }).reason, 'budget');
  c.vm.input(new TextEncoder().encode('xyz'));
  assert.is(c.vm.runToEnd({ maxInstructions: 10_000_000 }).reason, 'exit');
  assert.match(c.stdout(), /<x><y><z>\n/);
});

machine('the firmware run is deterministic', () => {
  const runs = [1, 2].map(() => {
    const c = boot({ profile: 'machine', image: FW_IMAGE });
    c.vm.input(new TextEncoder().encode('abc'));
    c.vm.runToEnd({ maxInstructions: 20_000_000 });
    return { out: c.stdout(), stats: c.vm.stats };
  });
  assert.equal(runs[0], runs[1]);
});

machine('the hart starts in M-mode at the entry with a0 = mhartid', () => {
  const c = boot({ profile: 'machine', image: FW_IMAGE, hartId: 5 });
  assert.is(c.vm.hart.pc, 0x8000_0000);
  assert.is(c.vm.hart.priv, 3);
  assert.is(c.vm.hart.x[10], 5);
  c.vm.input(new TextEncoder().encode('abc'));
  c.vm.runToEnd({ maxInstructions: 20_000_000 });
  assert.match(c.stdout(), /hartid=05/);
});

machine.run();

const idle = suite('vm machine profile: wfi and idle time');

function machineFlat(ws: number[]): Captured {
  return boot({ profile: 'machine', image: words(...ws), entry: 0x8000_0000 });
}

idle('wfi with no interrupt enabled is idle forever: wakeAt undefined', () => {
  const c = machineFlat([WFI, J_BACK4]);
  const r = c.vm.run(1000);
  assert.equal(r, { reason: 'idle', instructions: 1 });
  assert.is(c.vm.wakeAt, undefined);
  assert.not.ok(c.vm.idle());
  assert.equal(c.vm.run(1000), { reason: 'idle', instructions: 0 });
  assert.is(c.vm.runToEnd({ maxInstructions: 1000 }).reason, 'idle');
});

idle('wfi with the timer armed reports its wake-up; idle() skips to it and the interrupt is taken', () => {
  // mtimecmp = 5000 (lo then hi), mtvec = handler, mie.MTIE, mstatus.MIE, wfi, spin; handler: finisher pass.
  const src = `
  .section .text.init
  .globl _start
_start:
  li t0, 0x02004000
  li t1, 5000
  sw t1, 0(t0)
  sw zero, 4(t0)
  la t0, handler
  csrw mtvec, t0
  li t0, 0x80
  csrw mie, t0
  csrsi mstatus, 8
  wfi
1: j 1b
  .align 2
handler:
  csrr s0, mcause
  li t0, 0x100000
  li t1, 0x5555
  sw t1, 0(t0)
2: j 2b
`;
  const elf = buildElfFile('timer', { 'timer.S': src }, [], FW_LD);
  const c = boot({ profile: 'machine', image: readBytes(elf) });
  const r = c.vm.run(10_000);
  assert.is(r.reason, 'idle');
  assert.is(c.vm.wakeAt, 5000);
  assert.ok(c.vm.idle());
  assert.is(c.vm.hart.mtime, 5000);
  assert.is(c.vm.run(10_000).reason, 'exit');
  assert.is(c.vm.exitCode, 0);
  assert.is(c.vm.hart.x[8] >>> 0, 0x8000_0007, 'machine timer interrupt');
  assert.ok(c.vm.stats.cycles >= 50_000);
});

idle('UART input wakes a guest idling in wfi without a timer', () => {
  const c = machineFlat([WFI, J_BACK4]);
  assert.is(c.vm.run(100).reason, 'idle');
  c.vm.input(new Uint8Array([1]));
  const r = c.vm.run(100);
  assert.is(r.reason, 'budget', 'wfi acts as a no-op while input is queued');
});

idle.run();

const htif = suite('vm machine profile: riscv-tests tohost convention');

htif('tohost = 1 passes; console putchar reaches onConsole', () => {
  const elf = buildElfFile('htif-pass', { 't.S': htifTest(7, true) }, [], FW_LD);
  const c = boot({ profile: 'machine', image: readBytes(elf) });
  assert.is(c.vm.runToEnd({ maxInstructions: 100_000 }).reason, 'exit');
  assert.is(c.vm.exitCode, 0);
  assert.is(c.stdout(), 'htif\n');
});

htif('an odd tohost value fails with the test number', () => {
  const elf = buildElfFile('htif-fail', { 't.S': htifTest(7, false) }, [], FW_LD);
  const c = boot({ profile: 'machine', image: readBytes(elf) });
  assert.is(c.vm.runToEnd({ maxInstructions: 100_000 }).reason, 'exit');
  assert.is(c.vm.exitCode, 7);
});

htif.run();

const finisher = suite('vm machine profile: finisher reset and unhandled traps');

finisher('0x7777 reboots the guest and run() reports reset', () => {
  // li t0, 0x100000; li t1, 0x7777; sw t1, 0(t0)
  const c = machineFlat([0x001002b7, 0x00007337, 0x77730313, 0x0062a023, J_SELF]);
  c.vm.bus.store(0x8000_1000, 4, 0xdead);
  const r = c.vm.run(100);
  assert.is(r.reason, 'reset');
  assert.is(c.vm.hart.pc, 0x8000_0000);
  assert.is(c.vm.hart.instret, 0);
  assert.is(c.vm.bus.load(0x8000_1000, 4), 0, 'RAM cleared');
  assert.is(c.vm.run(100).reason, 'reset');
});

finisher('a trap with no handler (mtvec unmapped) is a fault naming the cause', () => {
  const c = machineFlat([0x00100073]); // ebreak with mtvec = 0
  const r = c.vm.run(100);
  assert.is(r.reason, 'fault');
  assert.is(c.vm.fault!.cause, 1);
  assert.is(c.vm.fault!.pc, 0);
  assert.is(c.vm.hart.mcause, 3, 'the ebreak was taken first');
  assert.match(c.vm.fault!.message, /^instruction access fault at pc 0x00000000 \(address 0x00000000\)$/);
});

finisher.run();

const options = suite('vm: bad options are ConfigError / ElfError');

const tiny = () => words(ADDI_A0_5, ADDI_A7_93, ECALL);

options('RAM size must be a positive multiple of 4 KiB up to 1 GiB', () => {
  for (const ramSize of [0, -4096, 1000, 4096 + 4, 2 ** 31, Number.NaN, 1.5]) {
    throwsCode(() => new VirtualMachine({ image: tiny(), entry: 0x1000, ramSize }), ConfigError, 'VM_RAM_SIZE');
  }
  throwsCode(() => new VirtualMachine({ image: tiny(), entry: 0x1000, ram: new Uint8Array(8192), ramSize: 4096 }), ConfigError, 'VM_RAM_SIZE');
});

options('unknown profile or isa', () => {
  throwsCode(() => new VirtualMachine({ image: tiny(), entry: 0x1000, profile: 'kernel' as never }), ConfigError, 'VM_PROFILE');
  throwsCode(() => new VirtualMachine({ image: tiny(), entry: 0x1000, isa: 'rv64gc' as never }), ConfigError, 'VM_ISA');
});

options('bad stack size', () => {
  throwsCode(() => new VirtualMachine({ image: tiny(), entry: 0x1000, stackSize: 100 }), ConfigError, 'VM_STACK_SIZE');
  throwsCode(() => new VirtualMachine({ image: tiny(), entry: 0x1000, ramSize: 65536, stackSize: 65536 }), ConfigError, 'VM_STACK_SIZE');
});

options('a flat binary needs an entry; a compressed image needs rv32imac', () => {
  throwsCode(() => new VirtualMachine({ image: tiny() }), ElfError, 'ELF_NOT_ELF');
  throwsCode(() => new VirtualMachine({ image: APP_IMAGE, isa: 'rv32ima' }), ElfError, 'ELF_ISA_MISMATCH');
});

options('an image that does not fit leaves the given RAM untouched', () => {
  const ram = new Uint8Array(64 * 1024).fill(0x77);
  throwsCode(() => new VirtualMachine({ image: APP_IMAGE, ram }), ElfError, 'ELF_SEGMENT_OUT_OF_RANGE');
  assert.ok(ram.every((b) => b === 0x77));
  const elf = buildElf({ entry: 0x10000, segments: [{ vaddr: 0x10000, data: words(J_SELF) }] });
  throwsCode(() => new VirtualMachine({ image: elf, profile: 'machine' }), ElfError, 'ELF_SEGMENT_OUT_OF_RANGE');
});

options('a negative budget is refused; budget 0 runs nothing', () => {
  const vm = new VirtualMachine({ image: tiny(), entry: 0x1000 });
  throwsCode(() => vm.run(-1), ConfigError, 'VM_BUDGET');
  assert.equal(vm.run(0), { reason: 'budget', instructions: 0 });
});

options('input() needs the machine profile', () => {
  const vm = new VirtualMachine({ image: tiny(), entry: 0x1000 });
  throwsCode(() => vm.input(new Uint8Array(1)), ConfigError, 'VM_NO_UART');
});

options.run();

const state = suite('vm: saveState / loadState continue a guest exactly');

function restoreInto(from: Captured, fresh: Captured): void {
  fresh.vm.loadState(from.vm.saveState());
  fresh.vm.bus.ram.set(from.vm.bus.ram);
  fresh.vm.hart.flushDecodeCache();
}

state('an app guest restored mid-run prints and retires what the original does', () => {
  const a = appVm(['brk']);
  assert.is(a.vm.run(100_000).reason, 'budget');
  const b = appVm(['brk']);
  restoreInto(a, b);
  const before = a.stdout();
  a.vm.runToEnd({ maxInstructions: 20_000_000 });
  b.vm.runToEnd({ maxInstructions: 20_000_000 });
  assert.is(b.stdout(), a.stdout().slice(before.length));
  assert.is(b.vm.exitCode, a.vm.exitCode);
  assert.equal(b.vm.stats, a.vm.stats);
  assert.equal(b.vm.saveState(), a.vm.saveState());
});

state('a machine guest restored mid-run keeps its unread UART input', () => {
  const a = boot({ profile: 'machine', image: FW_IMAGE });
  a.vm.input(new TextEncoder().encode('abc'));
  assert.is(a.vm.run(50).reason, 'budget');
  const b = boot({ profile: 'machine', image: FW_IMAGE });
  restoreInto(a, b);
  assert.is(b.vm.uart!.rxLength, 3);
  const before = a.stdout();
  for (const c of [a, b]) assert.is(c.vm.runToEnd({ maxInstructions: 1_000_000 }).reason, 'exit');
  assert.is(b.stdout(), a.stdout().slice(before.length));
  assert.match(b.stdout(), /<a><b><c>/);
  assert.equal(b.vm.stats, a.vm.stats);
});

state('a machine guest restored while idle keeps its timer, devices and wake-up', () => {
  const a = boot({ profile: 'machine', image: FW_IMAGE });
  a.vm.input(new TextEncoder().encode('abc'));
  let r;
  do r = a.vm.run(1_000_000);
  while (r.reason === 'budget');
  assert.is(r.reason, 'idle');
  const b = boot({ profile: 'machine', image: FW_IMAGE });
  restoreInto(a, b);
  assert.is(b.vm.wakeAt, a.vm.wakeAt);
  assert.equal(b.vm.uart!.saveState(), a.vm.uart!.saveState());
  assert.equal(b.vm.clint!.saveState(), a.vm.clint!.saveState());
  const before = a.stdout();
  for (const c of [a, b]) {
    assert.ok(c.vm.idle());
    assert.is(c.vm.runToEnd({ maxInstructions: 1_000_000 }).reason, 'exit');
  }
  assert.is(b.stdout(), a.stdout().slice(before.length));
  assert.match(b.stdout(), /tick cause=80000007/);
  assert.is(b.vm.exitCode, 3);
  assert.equal(b.vm.stats, a.vm.stats);
});

state('a corrupt or mismatched state is refused before anything changes', () => {
  const a = appVm(['hello']);
  const good = a.vm.saveState();
  const bad = { ...good, hart: { ...good.hart, pc: -5 } };
  const b = appVm(['hello']);
  const pc = b.vm.hart.pc;
  throwsCode(() => b.vm.loadState(bad), SnapshotError, 'SNAPSHOT_VM_STATE');
  assert.is(b.vm.hart.pc, pc);
  const m = boot({ profile: 'machine', image: FW_IMAGE });
  throwsCode(() => b.vm.loadState(m.vm.saveState()), SnapshotError, 'SNAPSHOT_VM_MISMATCH');
  throwsCode(() => checkVmState({ ...good, version: 99 }), SnapshotError, 'SNAPSHOT_VM_STATE');
});

state.run();

const robust = suite('vm: guest behaviour never throws');

robust('random instruction words run under both profiles without a host exception', () => {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0));
  for (let i = 0; i < 60; i++) {
    const ws = Array.from({ length: 64 }, () => rand());
    for (const profile of ['app', 'machine'] as const) {
      const entry = profile === 'app' ? 0x10000 : 0x8000_0000;
      const c = boot({ profile, image: words(...ws), entry, ramSize: 1 << 20 });
      const r = c.vm.runToEnd({ maxInstructions: 20_000 });
      assert.ok(['budget', 'exit', 'fault', 'idle', 'sleep', 'reset'].includes(r.reason), r.reason);
      if (r.reason === 'fault') assert.match(c.vm.fault!.message, / at pc 0x[0-9a-f]{8}/);
    }
  }
});

robust.run();
