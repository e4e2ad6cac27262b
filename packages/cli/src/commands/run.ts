/**
 * `rvisor run`: load one image into a VirtualMachine and run it to the end,
 * streaming its console. The VM runs in slices with a turn of the event loop
 * between them, so console output reaches the terminal as it is produced,
 * stdout back-pressure is respected and Ctrl-C is noticed.
 */
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { RvisorError } from '@rvisor/core/errors';
import type { VirtualMachine } from '@rvisor/core/vm';
import { EXIT_HALTED, EXIT_INTERRUPTED, EXIT_LIMIT, EXIT_OUTPUT_CLOSED, faultExitCode } from '../exit-codes.ts';
import { parseAddress, parseCount, parseSize } from '../numbers.ts';
import { UsageError } from '../usage.ts';

export const RUN_SUMMARY = 'run a RISC-V guest image (ELF32 or flat binary)';

const HELP = `Usage: rvisor run [options] IMAGE [--] [guest args...]

Runs IMAGE (an ELF32 RISC-V executable, or a flat binary with --entry) to completion.
Everything after IMAGE is passed to the guest as argv[1..] (argv[0] is IMAGE).

Options:
  --profile app|machine   app (default): the image starts in U-mode at RAM address 0 and
                          talks to rvisor through Linux RV32 syscalls, as under qemu-riscv32.
                          machine: the image starts in M-mode on a QEMU 'virt'-compatible
                          board (RAM at 0x80000000, NS16550A UART, CLINT, test finisher).
  --isa rv32imac|rv32ima  instruction set (default rv32imac)
  --ram SIZE              guest RAM, a multiple of 4K up to 1G, e.g. 64K, 16M (default 16M)
  --max-instructions N    stop after N instructions (K/M/G = 10^3/10^6/10^9, e.g. 500M)
  --entry ADDR            flat binary: entry point (0x... or decimal)
  --load-address ADDR     flat binary: where the bytes are loaded (default: the entry)
  --env NAME=VALUE        add to the guest's environment (repeatable; default empty)
  --stats                 print instructions retired, wall time and MIPS on stderr
  --json                  print one JSON object on stdout when the run ends:
                          {"exitCode","guestExitCode","reason","instructions","wallMs","mips","fault"};
                          the guest's console (stdout and stderr) then goes to stderr
  -h, --help              show this help

Standard input: app profile, read to its end before the guest starts (unless it is a
terminal) and served to the guest's read(0, ...), end-of-file after it; machine profile,
forwarded to the UART receiver as it arrives (a terminal line by line).

Time is virtual (1 instruction = 1 cycle at a nominal 100 MHz): a guest that sleeps or
waits for a timer continues at once, so every run is deterministic.

Exit status:
  N        the guest exited with status N (app: exit/exit_group; machine: the test
           finisher, 0 for pass, the code for fail), masked to 0-255
  2        usage error, unreadable or invalid image, invalid configuration
  124      --max-instructions reached before the guest exited
  125      the guest halted: idle (wfi or sleep) with nothing left that could wake it
  128+SIG  guest fault: the signal Linux would deliver for the trap (SIGILL 132,
           SIGTRAP 133 for ebreak, SIGBUS 135 for misaligned, SIGSEGV 139 for access
           faults), the status a shell reports for the same program under qemu-riscv32
  130      interrupted with Ctrl-C
  141      the reader of stdout went away (rvisor run x.elf | head), silently
`;

/** Instructions per slice: ~1-10 ms of guest time, short enough to keep the event loop lively. */
const SLICE = 1 << 21;

const OPTIONS = {
  profile: { type: 'string' },
  isa: { type: 'string' },
  ram: { type: 'string' },
  'max-instructions': { type: 'string' },
  entry: { type: 'string' },
  'load-address': { type: 'string' },
  env: { type: 'string', multiple: true },
  stats: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Reason = 'exit' | 'fault' | 'limit' | 'halted' | 'interrupted' | 'output-closed';

/** What `--json` prints; `exitCode` is always the status rvisor exits with. */
export interface RunSummary {
  exitCode: number;
  guestExitCode: number | null;
  reason: Reason;
  instructions: number;
  wallMs: number;
  mips: number;
  fault: { message: string; pc: number; cause: number; tval: number } | null;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { flags, image, guestArgs } = splitArgs(argv);
  let values;
  try {
    ({ values } = parseArgs({ args: flags, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    // parseArgs says "Unknown option '--x'. To specify a positional...": keep the first sentence.
    const first = (err as Error).message.split(/\.\s|\n/)[0];
    throw new UsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)} (see 'rvisor run --help')`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (image === undefined) throw new UsageError("missing IMAGE (see 'rvisor run --help')");

  const profile = oneOf('--profile', values.profile ?? 'app', ['app', 'machine'] as const);
  const isa = oneOf('--isa', values.isa ?? 'rv32imac', ['rv32imac', 'rv32ima'] as const);
  const ramSize = values.ram === undefined ? undefined : parseSize('--ram', values.ram);
  const limit = values['max-instructions'] === undefined ? Infinity : parseCount('--max-instructions', values['max-instructions']);
  const entry = values.entry === undefined ? undefined : parseAddress('--entry', values.entry);
  const loadAddress = values['load-address'] === undefined ? undefined : parseAddress('--load-address', values['load-address']);
  const env = values.env ?? [];
  for (const e of env) if (!/^[^=]+=/.test(e)) throw new UsageError(`--env expects NAME=VALUE, got '${e}'`);

  const bytes = readImage(image);
  const isElf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (isElf && (entry !== undefined || loadAddress !== undefined)) {
    throw new UsageError(`--entry and --load-address are for flat binaries; '${image}' is an ELF file`);
  }
  if (loadAddress !== undefined && entry === undefined) throw new UsageError('--load-address needs --entry');

  const json = values.json === true;
  const output = watchOutput();
  const sink = json ? { stdout: process.stderr, stderr: process.stderr } : { stdout: process.stdout, stderr: process.stderr };
  // App profile: the guest's read(0) is served from a buffer, so all of stdin
  // is read first. Machine profile: stdin feeds the UART as it arrives.
  const stdin = profile === 'app' ? await readStdin() : undefined;

  // Loaded here, not at start-up, so that `--help` and usage errors stay instant.
  const { VirtualMachine, causeName } = await loadVm();
  const vm = new VirtualMachine({
    profile,
    isa,
    ramSize,
    image: bytes,
    entry,
    loadAddress: entry === undefined ? undefined : loadAddress ?? entry,
    argv: [image, ...guestArgs],
    env,
    stdin,
    // The VM may hand out a view of a buffer it reuses; a pipe write is
    // asynchronous, so keep a copy.
    onConsole: (data, stream) => {
      if (!output.closed) sink[stream].write(Buffer.from(data));
    },
  });

  const input = vm.profile === 'machine' ? forwardToUart(vm) : undefined;
  let summary: RunSummary;
  try {
    output.vm = vm;
    summary = await drive(vm, limit, input, output);
  } finally {
    input?.close();
  }
  // Like a Unix filter whose reader went away (`rvisor run x.elf | head`): no message.
  if (summary.reason === 'output-closed') return summary.exitCode;
  if (values.stats) {
    process.stderr.write(
      `rvisor: ${summary.instructions} instructions in ${summary.wallMs.toFixed(1)} ms (${summary.mips.toFixed(1)} MIPS)\n`,
    );
  }
  if (summary.fault) {
    const f = summary.fault;
    // The cause's name, not f.message: the numbers follow in the fixed format and would repeat.
    process.stderr.write(`rvisor: guest fault: ${causeName(f.cause)} (pc=${hex(f.pc)}, cause=${f.cause}, tval=${hex(f.tval)})\n`);
  } else if (summary.reason === 'limit') {
    process.stderr.write(`rvisor: instruction limit reached: ${summary.instructions} instructions retired, the guest did not exit\n`);
  } else if (summary.reason === 'halted') {
    process.stderr.write(`rvisor: guest halted: idle with nothing left to wake it, after ${summary.instructions} instructions\n`);
  } else if (summary.reason === 'interrupted') {
    process.stderr.write(`rvisor: interrupted after ${summary.instructions} instructions\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.exitCode;
}

/**
 * Runs the VM to an end (exit, fault, limit, Ctrl-C, or idle for good), one
 * slice per event-loop turn. Virtual time is skipped, not waited for: a guest
 * that sleeps or idles until a timer continues at once, so runs are
 * deterministic and as fast as the interpreter.
 */
async function drive(vm: VirtualMachine, limit: number, input: MachineInput | undefined, output: Output): Promise<RunSummary> {
  let interrupted = false;
  let wakeLoop: (() => void) | undefined;
  const onSigint = (): void => {
    // A second Ctrl-C means the guest is not coming back to the loop: leave now.
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    wakeLoop?.();
  };
  process.on('SIGINT', onSigint);
  const start = performance.now();
  let reason: Reason;
  try {
    for (;;) {
      const left = limit - vm.hart.instret;
      if (left <= 0) {
        reason = 'limit';
        break;
      }
      const r = vm.run(Math.min(SLICE, left));
      if (output.closed) {
        reason = 'output-closed';
        break;
      }
      if (r.reason === 'fault' || r.reason === 'exit') {
        reason = r.reason;
        break;
      }
      if ((r.reason === 'idle' || r.reason === 'sleep') && !vm.idle()) {
        // Nothing will wake the guest but console input (machine profile UART).
        if (input === undefined || input.ended) {
          reason = 'halted';
          break;
        }
        await new Promise<void>((resolve) => {
          wakeLoop = resolve;
          input.waiting = resolve;
        });
        wakeLoop = input.waiting = undefined;
      } else {
        await nextTurn(output);
      }
      if (interrupted) {
        reason = 'interrupted';
        break;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  const wallMs = performance.now() - start;
  const instructions = vm.hart.instret;
  const fault = vm.fault ? { message: vm.fault.message, pc: vm.fault.pc >>> 0, cause: vm.fault.cause, tval: vm.fault.tval >>> 0 } : null;
  const exitCode =
    reason === 'exit' ? (vm.exitCode as number) & 0xff
    : reason === 'fault' ? faultExitCode(fault!.cause)
    : reason === 'limit' ? EXIT_LIMIT
    : reason === 'halted' ? EXIT_HALTED
    : reason === 'output-closed' ? EXIT_OUTPUT_CLOSED
    : EXIT_INTERRUPTED;
  return {
    exitCode,
    guestExitCode: reason === 'exit' ? (vm.exitCode as number) : null,
    reason,
    instructions,
    wallMs: Math.round(wallMs * 1000) / 1000,
    mips: wallMs > 0 ? Math.round((instructions / wallMs / 1000) * 100) / 100 : 0,
    fault,
  };
}

/** Machine profile: standard input feeds the UART receiver as it arrives. */
interface MachineInput {
  ended: boolean;
  /** Set while the run loop waits for input to wake an idle guest. */
  waiting: (() => void) | undefined;
  close(): void;
}

/**
 * A terminal is forwarded too, line by line as the terminal delivers it
 * (cooked mode: Ctrl-C stays a signal, Ctrl-D ends the input), so a
 * firmware console is usable interactively.
 */
function forwardToUart(vm: VirtualMachine): MachineInput {
  const input: MachineInput = {
    ended: false,
    waiting: undefined,
    close: () => {
      process.stdin.off('data', onData).off('end', onEnd).off('error', onEnd);
      process.stdin.destroy();
    },
  };
  const onData = (chunk: Buffer): void => {
    vm.input(new Uint8Array(chunk));
    input.waiting?.();
  };
  const onEnd = (): void => {
    input.ended = true;
    input.waiting?.();
  };
  process.stdin.on('data', onData).on('end', onEnd).on('error', onEnd);
  return input;
}

/**
 * Whether stdout or stderr can still take the guest's console. A write error
 * (EPIPE: the reader exited) stops the guest at once instead of crashing.
 */
interface Output {
  closed: boolean;
  vm: VirtualMachine | undefined;
}

function watchOutput(): Output {
  const output: Output = { closed: false, vm: undefined };
  const onError = (): void => {
    output.closed = true;
    output.vm?.requestStop();
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
  return output;
}

/** Yields to the event loop, and waits while stdout/stderr hold more than their high-water mark. */
async function nextTurn(output: Output): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  for (const s of [process.stdout, process.stderr]) {
    if (!s.writableNeedDrain || output.closed) continue;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        s.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      s.on('drain', done).on('error', done).on('close', done);
    });
  }
}

/**
 * Splits `[flags...] IMAGE [--] [guest args...]`: everything after the first
 * operand belongs to the guest, even if it looks like an rvisor flag.
 */
function splitArgs(argv: string[]): { flags: string[]; image: string | undefined; guestArgs: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { flags: argv.slice(0, i), image: argv[i + 1], guestArgs: argv.slice(i + 2) };
    if (a.startsWith('--') && !a.includes('=')) {
      const def = (OPTIONS as Record<string, { type: string }>)[a.slice(2)];
      if (def?.type === 'string') i++;
      continue;
    }
    if (a.startsWith('-') && a !== '-') continue;
    const rest = argv.slice(i + 1);
    return { flags: argv.slice(0, i), image: a, guestArgs: rest[0] === '--' ? rest.slice(1) : rest };
  }
  return { flags: argv, image: undefined, guestArgs: [] };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

function readImage(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RvisorError('CLI_IMAGE_NOT_FOUND', `image '${path}' does not exist`);
    if (code === 'EISDIR') throw new RvisorError('CLI_IMAGE_UNREADABLE', `image '${path}' is a directory`);
    if (code === 'EACCES' || code === 'EPERM') throw new RvisorError('CLI_IMAGE_UNREADABLE', `image '${path}' is not readable (permission denied)`);
    throw err;
  }
}

async function loadVm(): Promise<typeof import('@rvisor/core/vm')> {
  try {
    return await import('@rvisor/core/vm');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new RvisorError('CLI_CORE_NOT_BUILT', `cannot load @rvisor/core/vm (${(err as Error).message.split('\n')[0]}): run 'pnpm build'`);
  }
}

/** All of standard input when it is a pipe or a file; a terminal is never read. */
async function readStdin(): Promise<Uint8Array | undefined> {
  if (isatty(0)) return undefined;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  } catch {
    // A closed or unreadable fd 0 is an empty input, not an error.
  }
  return chunks.length ? new Uint8Array(Buffer.concat(chunks)) : undefined;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
