// Shared pieces of the benchmark sections: running a guest under rvisor
// (in-process, the way an embedder runs it) and under QEMU, timing both, and
// formatting result tables. Sections (bench/<section>.mjs) only decide what
// to run and which columns to show.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

/** Loads the built core; benchmarks measure what users get from `pnpm build`, not tsx output. */
export async function loadCore() {
  const entry = join(root, 'packages/core/dist/vm/index.js');
  try {
    return await import(entry);
  } catch (err) {
    throw new Error(`cannot load ${entry} (${err.code ?? err.message}): run 'pnpm build' first`);
  }
}

/** Instructions per run() call: the same order of slice the CLI and the scheduler use. */
const SLICE = 1 << 22;

/**
 * Runs an image to its end (or `maxInstructions`) in a fresh VirtualMachine and returns what it
 * printed, its exit code, instructions retired and the time spent running
 * (VM construction excluded: it is a one-off cost, not throughput).
 */
export function runRvisor(core, image, { argv = ['guest'], vmOptions = {}, maxInstructions = Infinity } = {}) {
  const chunks = [];
  const vm = new core.VirtualMachine({
    image,
    argv,
    ...vmOptions,
    onConsole: (bytes, stream) => {
      if (stream === 'stdout') chunks.push(Uint8Array.from(bytes));
    },
  });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (vm.exitCode === undefined && vm.fault === undefined && vm.hart.instret < maxInstructions) vm.run(SLICE);
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  if (vm.fault) throw new Error(`guest fault: ${vm.fault.message}`);
  return { stdout: Buffer.concat(chunks).toString('utf8'), exitCode: vm.exitCode, instructions: vm.hart.instret, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * Runs an ELF under qemu-riscv32 and times the whole process (start-up
 * included): wall time, and CPU time through GNU time(1) when it is there.
 */
export function runQemu(elfPath, args = []) {
  const timeFile = join(tmpdir(), `rvisor-bench-${process.pid}.time`);
  const timed = existsSync('/usr/bin/time');
  const [cmd, argv] = timed ? ['/usr/bin/time', ['-f', '%U %S', '-o', timeFile, 'qemu-riscv32', elfPath, ...args]] : ['qemu-riscv32', [elfPath, ...args]];
  const start = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - start;
  if (r.error) throw new Error(`qemu-riscv32: ${r.error.message}`);
  let cpuMs = NaN;
  if (timed) {
    const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpuMs = (user + sys) * 1000;
    rmSync(timeFile, { force: true });
  }
  // GNU time reports a signal death as exit status 128 + signal.
  return { stdout: r.stdout, exitCode: r.status, signal: r.signal, ms, cpuMs };
}

/** Best (lowest) time of `runs` calls of `fn`; returns that call's result. */
export function best(runs, fn) {
  let result;
  for (let i = 0; i < runs; i++) {
    const r = fn();
    if (result === undefined || r.ms < result.ms) result = r;
  }
  return result;
}

export function readImage(path) {
  return new Uint8Array(readFileSync(path));
}

/** What the numbers were measured on, recorded with every result. */
export function environment() {
  const qemu = spawnSync('qemu-riscv32', ['--version'], { encoding: 'utf8' });
  return {
    // Deno runs the same scripts through its Node compatibility layer.
    runtime: globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.version}`,
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    qemu: qemu.status === 0 ? qemu.stdout.split('\n')[0] : 'not found',
    date: new Date().toISOString(),
  };
}

/** A Markdown table (it also reads well in a terminal). `columns`: [[key, title, format?], ...]. */
export function table(columns, rows) {
  const cells = rows.map((r) => columns.map(([key, , fmt]) => (fmt ? fmt(r[key], r) : String(r[key]))));
  const head = columns.map(([, title]) => title);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => `| ${c.map((s, i) => (i === 0 ? s.padEnd(width[i]) : s.padStart(width[i]))).join(' | ')} |`;
  return [line(head), `| ${width.map((w, i) => (i === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ')} |`, ...cells.map(line)].join('\n');
}

export const fmt = {
  int: (n) => Math.round(n).toLocaleString('en-US'),
  fixed: (digits) => (n) => (Number.isFinite(n) ? n.toFixed(digits) : '-'),
};
