import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The tests run the built CLI (dist/main.js, what `pnpm rvisor` and the `rvisor`
// bin run), rebuilt first when a source file is newer. Guests are compiled here
// from test/guests/ and every expected output comes from QEMU in the same run.

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const rootDir = join(pkgDir, '../..');
const cli = join(pkgDir, 'dist/main.js');
const tmp = mkdtempSync(join(tmpdir(), 'rvisor-cli-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
// The test runner's NODE_OPTIONS (--import=tsx) must not leak into the CLI under test.
const env = { ...process.env, NODE_OPTIONS: '' };

ensureBuilt();
const guest = buildGuests();

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function rvisor(args: string[], input = ''): Result {
  return exec(process.execPath, [cli, ...args], input);
}

function exec(cmd: string, args: string[], input = ''): Result {
  const r = spawnSync(cmd, args, { cwd: tmp, env, input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The status a shell reports for a process: its exit code, or 128 + the signal that killed it. */
function shellStatus(r: Result): number {
  return r.signal ? 128 + constants.signals[r.signal] : (r.status as number);
}

function qemu(elf: string, args: string[] = [], input = ''): Result {
  return exec('qemu-riscv32', [elf, ...args], input);
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** One `rvisor: ... [CODE]` line and nothing else (no stack trace). */
function assertOneErrorLine(r: Result, code: RegExp): void {
  const l = lines(r.stderr);
  assert.is(l.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(l[0], /^rvisor: .+ \[[A-Z][A-Z0-9_]*\]$/);
  const m = /\[([A-Z0-9_]+)\]$/.exec(l[0]);
  assert.match(m![1], code);
}

const help = suite('help and version');

help('--help at top level lists the commands and exits 0', () => {
  const r = rvisor(['--help']);
  assert.is(r.status, 0);
  assert.match(r.stdout, /^Usage: rvisor <command>/);
  for (const command of ['run', 'agent', 'fleet']) assert.match(r.stdout, new RegExp(`\\n  ${command} {2,}\\S`));
  assert.is(r.stderr, '');
});

help('run --help documents every flag and the exit statuses', () => {
  const r = rvisor(['run', '--help']);
  assert.is(r.status, 0);
  for (const flag of ['--profile', '--isa', '--ram', '--max-instructions', '--entry', '--load-address', '--stats', '--json', '--help']) {
    assert.ok(r.stdout.includes(flag), `run --help does not mention ${flag}`);
  }
  for (const status of ['124', '128+SIG', '130']) assert.ok(r.stdout.includes(status), `exit status ${status} undocumented`);
  assert.is(rvisor(['help', 'run']).stdout, r.stdout);
  assert.is(rvisor(['run', '-h']).stdout, r.stdout);
});

help('--version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const r = rvisor(['--version']);
  assert.is(r.status, 0);
  assert.is(r.stdout, `rvisor ${version}\n`);
});

help.run();

const usage = suite('usage errors');

for (const [what, args] of [
  ['no command', []],
  ['an unknown command', ['frobnicate']],
  ['an unknown global flag', ['--frobnicate']],
  ['an unknown run flag', ['run', '--frobnicate', 'x.elf']],
  ['a flag without its value', ['run', '--ram']],
  ['a boolean flag given a value', ['run', '--stats=yes', 'x.elf']],
  ['a bad size', ['run', '--ram', '16Q', 'x.elf']],
  ['a bad profile', ['run', '--profile', 'kernel', 'x.elf']],
  ['a bad isa', ['run', '--isa', 'rv64gc', 'x.elf']],
  ['a bad instruction count', ['run', '--max-instructions', '-5', 'x.elf']],
  ['a bad address', ['run', '--entry', '0xzz', 'x.elf']],
  ['no image', ['run', '--stats']],
] as [string, string[]][]) {
  usage(`${what} is a one-line usage error with exit status 2`, () => {
    const r = rvisor(args);
    assert.is(r.status, 2);
    assert.is(r.stdout, '');
    assertOneErrorLine(r, /^CLI_USAGE$/);
  });
}

usage.run();

const images = suite('image errors');

images('a missing image exits 2 naming the file', () => {
  const r = rvisor(['run', join(tmp, 'nope.elf')]);
  assert.is(r.status, 2);
  assertOneErrorLine(r, /^CLI_IMAGE_NOT_FOUND$/);
  assert.ok(r.stderr.includes('nope.elf'));
});

images('a directory is not an image', () => {
  const r = rvisor(['run', tmp]);
  assert.is(r.status, 2);
  assertOneErrorLine(r, /^CLI_IMAGE_UNREADABLE$/);
});

images('a file that is not ELF exits 2 with the loader error code', () => {
  const text = join(tmp, 'notes.txt');
  writeFileSync(text, 'this is not a RISC-V program\n');
  const r = rvisor(['run', text]);
  assert.is(r.status, 2);
  assert.is(r.stdout, '');
  assertOneErrorLine(r, /^ELF_/);
});

images('a truncated ELF exits 2 with the loader error code', () => {
  const cut = join(tmp, 'truncated.elf');
  writeFileSync(cut, readFileSync(guest.args).subarray(0, 40));
  const r = rvisor(['run', cut]);
  assert.is(r.status, 2);
  assertOneErrorLine(r, /^ELF_/);
});

images('--entry on an ELF image is refused', () => {
  const r = rvisor(['run', '--entry', '0x10000', guest.args]);
  assert.is(r.status, 2);
  assertOneErrorLine(r, /^CLI_USAGE$/);
});

images('an image with compressed instructions is refused for --isa rv32ima', () => {
  const r = rvisor(['run', '--isa', 'rv32ima', guest.args]);
  assert.is(r.status, 2);
  assertOneErrorLine(r, /^ELF_/);
});

images.run();

const guests = suite('guest console, arguments and exit status');

guests('stdout, stderr and exit status match qemu-riscv32', () => {
  const args = ['one', 'two words', '--json'];
  const want = qemu(guest.args, args);
  const got = rvisor(['run', guest.args, ...args]);
  assert.is(want.status, 4);
  assert.is(got.stdout, want.stdout);
  assert.is(got.stderr, want.stderr);
  assert.is(got.status, want.status);
});

guests('arguments after -- go to the guest', () => {
  const got = rvisor(['run', '--', guest.args, '--stats']);
  assert.is(got.stdout, '--stats\n');
  assert.is(got.status, 2);
});

guests('piped stdin reaches the guest read(0) until end-of-file', () => {
  const input = 'line one\nline two\n'.repeat(100);
  const want = qemu(guest.cat, [], input);
  const got = rvisor(['run', guest.cat], input);
  assert.is(want.stdout, input);
  assert.is(got.stdout, want.stdout);
  assert.is(got.status, 0);
});

guests('empty stdin is end-of-file at once', () => {
  const got = rvisor(['run', guest.cat]);
  assert.is(got.stdout, '');
  assert.is(got.status, 0, got.stderr);
});

guests('a flat binary runs with --entry and --load-address', () => {
  const want = rvisor(['run', guest.args, 'flat']);
  const got = rvisor(['run', '--entry', guest.argsEntry, '--load-address', guest.argsLoad, guest.argsBin, 'flat']);
  assert.is(got.stderr, want.stderr);
  assert.is(got.stdout, 'flat\n');
  assert.is(got.status, 2);
});

guests('--isa rv32ima runs an image built without the C extension', () => {
  const want = qemu(guest.argsNoRvc, ['ima']);
  const got = rvisor(['run', '--isa', 'rv32ima', guest.argsNoRvc, 'ima']);
  assert.is(want.stdout, 'ima\n');
  assert.is(got.stdout, want.stdout);
  assert.is(got.status, want.status);
});

guests.run();

const faults = suite('guest faults');

for (const [what, elf, cause] of [
  ['an illegal instruction', 'fault1', 2],
  ['a load access fault', 'fault2', 5],
  ['a breakpoint', 'fault3', 3],
] as [string, 'fault1' | 'fault2' | 'fault3', number][]) {
  faults(`${what} exits with the status qemu-riscv32 gets and one fault line`, () => {
    const want = qemu(guest[elf]);
    const got = rvisor(['run', guest[elf]]);
    assert.ok(want.signal, `qemu-riscv32 did not die by a signal: ${JSON.stringify(want)}`);
    assert.is(got.status, shellStatus(want));
    const l = lines(got.stderr);
    assert.is(l.length, 1, got.stderr);
    assert.match(l[0], new RegExp(`^rvisor: guest fault: .+ \\(pc=0x[0-9a-f]{8}, cause=${cause}, tval=0x[0-9a-f]{8}\\)$`));
  });
}

faults.run();

const machine = suite('machine profile');

machine('UART output and test-finisher status match qemu-system-riscv32', () => {
  const want = exec('qemu-system-riscv32', ['-machine', 'virt', '-bios', 'none', '-kernel', guest.finisher, '-display', 'none', '-serial', 'stdio', '-monitor', 'none']);
  const got = rvisor(['run', '--profile', 'machine', guest.finisher]);
  assert.is(want.status, 5);
  assert.is(got.stdout, want.stdout);
  assert.is(got.status, want.status);
});

machine('piped stdin reaches the UART receiver, as with qemu-system-riscv32 -serial stdio', () => {
  const input = 'hello, uart\nbye q';
  const want = exec('qemu-system-riscv32', ['-machine', 'virt', '-bios', 'none', '-kernel', guest.echo, '-display', 'none', '-serial', 'stdio', '-monitor', 'none'], input);
  const got = rvisor(['run', '--profile', 'machine', guest.echo], input);
  assert.is(want.stdout, 'HELLO, UART\nBYE ');
  assert.is(got.stdout, want.stdout);
  assert.is(got.status, 0);
});

machine('a guest idle with every wake-up source disabled halts with status 125', () => {
  const got = rvisor(['run', '--profile', 'machine', guest.halt]);
  assert.is(got.stdout, 'z\n');
  assert.is(got.status, 125);
  assert.match(got.stderr, /^rvisor: guest halted: idle with nothing left to wake it, after \d+ instructions\n$/);
});

machine.run();

const limits = suite('instruction limit, stats and json');

limits('--max-instructions stops the guest after exactly N instructions with status 124', () => {
  const got = rvisor(['run', '--max-instructions', '5000', '--json', guest.spin]);
  assert.is(got.status, 124);
  const summary = JSON.parse(got.stdout) as Record<string, unknown>;
  assert.is(summary.instructions, 5000);
  assert.is(summary.reason, 'limit');
  assert.is(summary.exitCode, 124);
  assert.match(got.stderr, /^ready\nrvisor: instruction limit reached: 5000 instructions/);
});

limits('--json prints one summary object on stdout and moves the console to stderr', () => {
  const got = rvisor(['run', '--json', guest.args, 'x']);
  assert.is(got.status, 2);
  const out = lines(got.stdout);
  assert.is(out.length, 1);
  const s = JSON.parse(out[0]) as Record<string, unknown>;
  assert.equal(Object.keys(s).sort(), ['exitCode', 'fault', 'guestExitCode', 'instructions', 'mips', 'reason', 'wallMs']);
  assert.is(s.exitCode, 2);
  assert.is(s.guestExitCode, 2);
  assert.is(s.reason, 'exit');
  assert.is(s.fault, null);
  assert.ok(Number.isInteger(s.instructions) && (s.instructions as number) > 10);
  assert.type(s.wallMs, 'number');
  assert.type(s.mips, 'number');
  assert.is(got.stderr, qemu(guest.args, ['x']).stdout + 'to stderr\n');
});

limits('--json reports a fault with its cause and pc', () => {
  const got = rvisor(['run', '--json', guest.fault1]);
  const s = JSON.parse(got.stdout) as { exitCode: number; reason: string; fault: { cause: number; pc: number } };
  assert.is(s.exitCode, got.status);
  assert.is(s.reason, 'fault');
  assert.is(s.fault.cause, 2);
  assert.is(s.fault.pc, guest.fault1Entry);
});

limits('--stats reports the instructions retired, wall time and MIPS on stderr', () => {
  const json = JSON.parse(rvisor(['run', '--json', guest.args, 'x']).stdout) as { instructions: number };
  const got = rvisor(['run', '--stats', guest.args, 'x']);
  assert.is(got.stdout, 'x\n');
  const l = lines(got.stderr);
  assert.is(l[0], 'to stderr');
  assert.match(l[1], new RegExp(`^rvisor: ${json.instructions} instructions in \\d+\\.\\d ms \\(\\d+\\.\\d MIPS\\)$`));
});

limits.run();

const interrupt = suite('Ctrl-C and closed output');

interrupt('SIGINT stops a guest that never exits, after its output has streamed', async () => {
  const child = spawn(process.execPath, [cli, 'run', guest.spin], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // "ready" arriving while the guest still runs shows that output streams between slices.
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('ready\n')) resolve();
    }),
  );
  await Promise.race([ready, closed]);
  assert.is(stdout, 'ready\n', `the guest did not start: ${stderr}`);
  child.kill('SIGINT');
  const status = await closed;
  assert.is(status, 130);
  assert.match(stderr, /^rvisor: interrupted after \d+ instructions\n$/);
});

interrupt('a reader that goes away stops the guest with status 141 and no message', async () => {
  const child = spawn(process.execPath, [cli, 'run', guest.yes], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  assert.is(await closed, 141);
  assert.is(stderr, '');
});

interrupt.run();

const examples = suite('shipped examples');

examples('examples/hello/hello.elf prints what it prints under qemu-riscv32', () => {
  const hello = join(rootDir, 'examples/hello/hello.elf');
  assert.ok(existsSync(hello), `${hello} is missing`);
  const want = qemu(hello);
  const got = rvisor(['run', hello]);
  assert.ok(want.stdout.length > 0);
  assert.is(got.stdout, want.stdout);
  assert.is(got.status, want.status);
});

examples('`pnpm rvisor` passes the CLI stdout and exit status through unchanged', () => {
  const direct = rvisor(['run', guest.args, 'a', 'b']);
  const viaPnpm = spawnSync('pnpm', ['rvisor', 'run', guest.args, 'a', 'b'], { cwd: rootDir, env, encoding: 'utf8', input: '', timeout: 60_000 });
  assert.is(direct.status, 3);
  assert.is(viaPnpm.stdout, direct.stdout);
  assert.is(viaPnpm.status, 3);
});

examples.run();

/** Rebuilds dist/ when it is missing or older than a source file, so the tests never run stale code. */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  if (existsSync(cli) && statSync(cli).mtimeMs >= Math.max(newest(join(pkgDir, 'src')), statSync(join(pkgDir, 'tsup.config.ts')).mtimeMs)) return;
  execFileSync(process.execPath, [join(rootDir, 'node_modules/tsup/dist/cli-default.js')], { cwd: pkgDir, env, stdio: 'ignore' });
}

/** Compiles the test guests with riscv64-unknown-elf-gcc (freestanding, no libc). */
function buildGuests() {
  const src = join(pkgDir, 'test/guests');
  const out = join(tmp, 'guests');
  mkdirSync(out);
  const flags = ['-march=rv32imac_zicsr', '-mabi=ilp32', '-O2', '-nostdlib', '-nostartfiles', '-ffreestanding', '-static', '-Wl,--no-relax'];
  const cc = (name: string, source: string, extra: string[] = []): string => {
    const elf = join(out, `${name}.elf`);
    execFileSync('riscv64-unknown-elf-gcc', [...flags, ...extra, '-o', elf, join(src, source)], { stdio: ['ignore', 'ignore', 'inherit'] });
    return elf;
  };
  const symbol = (elf: string, name: string): number => {
    const nm = execFileSync('riscv64-unknown-elf-nm', [elf], { encoding: 'utf8' });
    const m = new RegExp(`^([0-9a-f]+) \\w ${name}$`, 'm').exec(nm);
    if (!m) throw new Error(`${name} not found in ${elf}`);
    return parseInt(m[1], 16);
  };
  const args = cc('args', 'args.c');
  const argsBin = join(out, 'args.bin');
  execFileSync('riscv64-unknown-elf-objcopy', ['-O', 'binary', args, argsBin]);
  // objcopy -O binary starts at the lowest loaded address, which is .text's.
  const textStart = parseInt(/\.text\s+\w+\s+([0-9a-f]+)/.exec(execFileSync('riscv64-unknown-elf-objdump', ['-h', args], { encoding: 'utf8' }))![1], 16);
  const fault1 = cc('fault1', 'faults.S', ['-DFAULT=1']);
  // Machine-profile firmware at RAM start; -N makes one segment that starts
  // exactly there, with no ELF headers loaded below it.
  const firmware = ['-Wl,-N', '-Wl,--no-warn-rwx-segments', '-Wl,-Ttext=0x80000000'];
  return {
    args,
    argsBin,
    argsEntry: `0x${symbol(args, '_start').toString(16)}`,
    argsLoad: `0x${textStart.toString(16)}`,
    argsNoRvc: cc('args-ima', 'args.c', ['-march=rv32ima_zicsr']),
    cat: cc('cat', 'cat.c'),
    spin: cc('spin', 'spin.S'),
    yes: cc('yes', 'yes.c'),
    fault1,
    fault1Entry: symbol(fault1, '_start'),
    fault2: cc('fault2', 'faults.S', ['-DFAULT=2']),
    fault3: cc('fault3', 'faults.S', ['-DFAULT=3']),
    finisher: cc('finisher', 'finisher.S', firmware),
    echo: cc('echo', 'echo.S', firmware),
    halt: cc('halt', 'halt.S', firmware),
  };
}
