/**
 * Test-only helpers (Node APIs allowed): build guests with the guest SDK's Makefile and
 * run them under the QEMU oracles.
 *
 * Builds are cached in `$TMPDIR/rvisor-guest-cache/<key>.elf`, keyed by a hash of every
 * input (sources, SDK files, profile, march, flags), so a second test run does not
 * invoke gcc at all and a changed source can never hit a stale entry.
 */

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const GUEST_SDK = join(REPO_ROOT, 'packages/guest');
export const GUEST_SOURCES = join(REPO_ROOT, 'packages/core/test/guests');

export type GuestProfile = 'app' | 'machine';
export type GuestMarch = 'rv32imac' | 'rv32ima';

export interface BuildOptions {
  /** C / assembly files (absolute, or relative to the repo root). */
  sources: string[];
  profile: GuestProfile;
  march: GuestMarch;
  /** Copy the built ELF here as well (else only the cache holds it). */
  out?: string;
  /** The sources bring their own _start and use no C library. */
  nocrt?: boolean;
}

export interface OracleResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Process exit status; null when killed (timeout or signal). */
  exitCode: number | null;
  /** The signal that killed it (qemu-riscv32 passes the guest's SIGILL/SIGSEGV/SIGTRAP on). */
  signal: string | null;
  timedOut: boolean;
}

const CACHE = join(tmpdir(), 'rvisor-guest-cache');

function sdkFiles(): string[] {
  const files: string[] = [join(GUEST_SDK, 'Makefile')];
  for (const sub of ['include', 'crt', 'ld']) {
    const dir = join(GUEST_SDK, sub);
    for (const f of readdirSync(dir).sort()) files.push(join(dir, f));
  }
  return files;
}

/** Headers next to the sources (e.g. guests/_trap.h) are inputs too. */
function headersOf(sources: string[]): string[] {
  const dirs = [...new Set(sources.map((s) => dirname(s)))].sort();
  const out: string[] = [];
  for (const d of dirs) for (const f of readdirSync(d).sort()) if (f.endsWith('.h')) out.push(join(d, f));
  return out;
}

function cacheKey(opts: BuildOptions, sources: string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ profile: opts.profile, march: opts.march, nocrt: opts.nocrt === true, n: sources.length }));
  for (const f of [...sources, ...headersOf(sources), ...sdkFiles()]) {
    h.update(f.startsWith(REPO_ROOT) ? f.slice(REPO_ROOT.length) : f);
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 24);
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { cwd, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else ok();
    });
  });
}

/** Build a guest with packages/guest/Makefile; resolves to the ELF path (in the cache). */
export async function buildGuest(opts: BuildOptions): Promise<string> {
  const sources = opts.sources.map((s) => resolve(REPO_ROOT, s));
  const key = cacheKey(opts, sources);
  const cached = join(CACHE, `${key}.elf`);
  if (!existsSync(cached)) {
    mkdirSync(CACHE, { recursive: true });
    const work = mkdtempSync(join(CACHE, 'build-'));
    try {
      const includes = [...new Set(sources.map((s) => `-I${dirname(s)}`))].join(' ');
      const args = [
        '-s', '--no-print-directory', '-f', join(GUEST_SDK, 'Makefile'),
        `SRCS=${sources.join(' ')}`, `OUT=${join(work, 'guest.elf')}`,
        `PROFILE=${opts.profile}`, `MARCH=${opts.march}`, `CFLAGS_EXTRA=${includes}`,
      ];
      if (opts.nocrt) args.push('NOCRT=1');
      await run('make', args, work);
      // rename is atomic: a concurrent build of the same key just overwrites an identical file
      renameSync(join(work, 'guest.elf'), cached);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  if (opts.out !== undefined) copyFileSync(cached, opts.out);
  return cached;
}

/** Run `make` with arguments in `cwd` (used to rebuild committed images). */
export function make(args: string[], cwd: string): Promise<void> {
  return run('make', ['-s', '--no-print-directory', ...args], cwd);
}

/**
 * `toFile`: the child's stdout is a temporary file instead of a pipe. qemu-system's
 * `-serial stdio` puts stdout in non-blocking mode; on a pipe that the reader drains
 * late, UART bytes are dropped, and output still queued when the finisher powers the
 * machine off is lost. A regular file never pushes back.
 */
function spawnOracle(cmd: string, args: string[], stdin: Uint8Array | undefined, timeoutMs: number, toFile = false): Promise<OracleResult> {
  return new Promise((ok, fail) => {
    let outDir: string | undefined;
    let outFd: number | undefined;
    if (toFile) {
      outDir = mkdtempSync(join(tmpdir(), 'rvisor-oracle-'));
      outFd = openSync(join(outDir, 'stdout'), 'w+');
    }
    const cleanup = (): Buffer | undefined => {
      if (outDir === undefined) return undefined;
      closeSync(outFd!);
      const data = readFileSync(join(outDir, 'stdout'));
      rmSync(outDir, { recursive: true, force: true });
      return data;
    };
    // An empty environment: qemu-user hands its own environment to the guest.
    const child = spawn(cmd, args, { env: {}, stdio: ['pipe', outFd ?? 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      cleanup();
      fail(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const fromFile = cleanup();
      if (fromFile !== undefined) out.push(fromFile);
      ok({ stdout: new Uint8Array(Buffer.concat(out)), stderr: new Uint8Array(Buffer.concat(err)), exitCode: code, signal: timedOut ? null : signal, timedOut });
    });
    child.stdin!.on('error', () => {}); // the guest may exit without reading its input
    child.stdin!.end(stdin === undefined ? undefined : Buffer.from(stdin));
  });
}

/**
 * Run an app-profile ELF under `qemu-riscv32` with an empty environment. argv[0] is
 * `argv[0]` (default 'guest', as rvisor's VM), not the file path.
 */
export function runQemuUser(
  elf: string,
  opts: { stdin?: Uint8Array; argv?: string[]; timeoutMs?: number } = {},
): Promise<OracleResult> {
  const argv = opts.argv ?? ['guest'];
  return spawnOracle('qemu-riscv32', ['-0', argv[0] ?? 'guest', elf, ...argv.slice(1)], opts.stdin, opts.timeoutMs ?? 10_000);
}

/** Run a machine-profile firmware under `qemu-system-riscv32 -machine virt -bios none`. */
export function runQemuSystem(elf: string, opts: { stdin?: Uint8Array; timeoutMs?: number } = {}): Promise<OracleResult> {
  return spawnOracle(
    'qemu-system-riscv32',
    ['-machine', 'virt', '-bios', 'none', '-kernel', elf, '-display', 'none', '-serial', 'stdio', '-monitor', 'none'],
    opts.stdin,
    opts.timeoutMs ?? 10_000,
    true,
  );
}

/** Run `fn` over `items` with at most `limit` in flight (the test machine has 2 cores). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}
