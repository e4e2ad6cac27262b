// Section "compiler": the performance tiers side by side. Each compute guest in
// bench/guests runs, in one process and one run, under the fast interpreter,
// under the compiling tier (cpu/jit; its default plain JavaScript code and, for
// the design record, the same translations as asm.js) and under qemu-riscv32, at
// the same size.
// QEMU reports no instruction count; all three retire the same program, so its
// MIPS uses the count rvisor measured. Outputs must match QEMU's or the row is an
// error. The compiled tiers are timed at peak speed: fresh VMs run the guest until two
// runs in a row are no faster than the ones before (the generated code is shared per
// process, so that is when V8 has finished optimizing it); "warm-up" is the wall time from the
// first guest instruction of the first of those runs until a 4M-instruction slice
// first runs at 90 % of the best slice rate of any run of that tier.
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { best, fmt, readImage, root, runQemu } from './harness.mjs';

export const name = 'compiler';
export const title = 'performance tiers: interpreter, compiling tier, qemu-riscv32 (app profile, rv32imac)';

/**
 * Guest sizes for this section: big enough that QEMU runs well past its start-up,
 * small enough that the interpreter column finishes in seconds (the interpreter
 * section runs the default sizes).
 */
export const SIZES = { coremark: '8000', sha256: '8', sort: '400000', crc32: '32', tight: '100' };

export const note = ({ runs }) =>
  `Best of ${runs} runs each at the sizes in bench/compiler.mjs (SIZES); rvisor in-process, the interpreter after one untimed run, ` +
  'the compiling tier after untimed runs of fresh VMs until two runs in a row are no faster than the best before them by 3 % ' +
  '("warm-up runs"; each VM has its own code cache, the generated functions are shared per process), ' +
  'qemu-riscv32 as a whole process (start-up included). Ratios are from the same run. ' +
  `Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' / ')}.`;

export const columns = [
  ['guest', 'guest'],
  ['size', 'size'],
  ['instructions', 'instructions', fmt.int],
  ['interpMips', 'interpreter MIPS', fmt.fixed(0)],
  ['compiledMips', 'compiled MIPS', fmt.fixed(0)],
  ['asmMips', 'compiled (asm.js) MIPS', fmt.fixed(0)],
  ['qemuMips', 'qemu MIPS', fmt.fixed(0)],
  ['interpRatio', 'interp/qemu', fmt.fixed(3)],
  ['compiledRatio', 'compiled/qemu', fmt.fixed(3)],
  ['speedup', 'compiled/interp', fmt.fixed(2)],
  ['warmupRuns', 'warm-up runs', fmt.int],
  ['warmupMs', 'warm-up ms', fmt.fixed(0)],
  ['asmWarmupMs', 'warm-up ms (asm.js)', fmt.fixed(0)],
];

const SLICE = 1 << 22;

/** The built core (RVISOR_CORE_DIST overrides packages/core/dist), or null with the reason logged. */
async function load(log) {
  const dist = process.env.RVISOR_CORE_DIST ?? join(root, 'packages/core/dist');
  try {
    const vm = await import(join(dist, 'vm/index.js'));
    const jit = await import(join(dist, 'cpu/jit/index.js'));
    return { VirtualMachine: vm.VirtualMachine, attachCompiler: jit.attachCompiler };
  } catch (err) {
    log(`compiler: skipped, cannot load the core and cpu/jit from ${dist} (${err.code ?? err.message}): ` +
      "run 'pnpm build' (tsup.config.ts needs the entry 'cpu/jit/index': 'src/cpu/jit/index.ts')");
    return null;
  }
}

/**
 * Runs an image to its end in a fresh VM, compiled or not. Returns output, counts,
 * time, and the per-slice rates (for the warm-up figure).
 */
function runGuest(core, image, argv, tier) {
  const chunks = [];
  const vm = new core.VirtualMachine({
    image,
    argv,
    compile: false, // the tier under test is attached explicitly below
    onConsole: (bytes, stream) => {
      if (stream === 'stdout') chunks.push(Uint8Array.from(bytes));
    },
  });
  if (tier !== 'interpreter' && core.attachCompiler(vm.hart, { asm: tier === 'asm' }) === null) {
    throw new Error('the compiling tier is not available here');
  }
  const slices = [];
  const start = performance.now();
  let last = start;
  let lastInstret = 0;
  while (vm.exitCode === undefined && vm.fault === undefined) {
    vm.run(SLICE);
    const now = performance.now();
    slices.push({ at: now - start, mips: (vm.hart.instret - lastInstret) / (now - last) / 1000 });
    last = now;
    lastInstret = vm.hart.instret;
  }
  const ms = performance.now() - start;
  if (vm.fault) throw new Error(`guest fault: ${vm.fault.message}`);
  return { stdout: Buffer.concat(chunks).toString('utf8'), exitCode: vm.exitCode, instructions: vm.hart.instret, ms, slices };
}

/**
 * Fresh compiled VMs run the guest one after another (the generated functions and
 * V8's feedback for them are shared per process) until two runs in a row are no
 * faster than the best before them by 3 % (at most MAX_WARMUP_RUNS runs): one slow
 * run alone may be a deoptimization in progress, not the end of the warm-up.
 * Returns the runs with their slices on one clock from the first instruction.
 */
const MAX_WARMUP_RUNS = 10;
function untilPeak(core, image, argv, tier) {
  const done = [];
  let clock = 0;
  let bestMs = Infinity;
  let flat = 0;
  for (let i = 0; i < MAX_WARMUP_RUNS && flat < 2; i++) {
    const r = runGuest(core, image, argv, tier);
    for (const s of r.slices) s.at += clock;
    clock += r.ms;
    done.push(r);
    flat = r.ms < bestMs * 0.97 ? 0 : flat + 1;
    bestMs = Math.min(bestMs, r.ms);
  }
  return done;
}

/**
 * Warm-up to peak: time (on the clock of `untilPeak`) until a slice first reaches
 * 90 % of the best slice rate seen in any run of that tier, timed runs included.
 */
function warmup(warmRuns, timedRuns) {
  const all = [...warmRuns, ...timedRuns].flatMap((r) => r.slices).filter((s) => s.mips > 0);
  if (all.length === 0) return NaN;
  const peak = Math.max(...all.map((s) => s.mips));
  const first = warmRuns.flatMap((r) => r.slices).find((s) => s.mips >= 0.9 * peak);
  return first === undefined ? NaN : first.at;
}

/** @param {{ runs: number, only: string[], log: (s: string) => void }} opts */
export async function run({ runs, only, log }) {
  const core = await load(log);
  if (core === null) return [];
  const dir = join(root, 'bench/guests');
  const elves = readdirSync(dir).filter((f) => f.endsWith('.elf')).sort();
  const rows = [];
  for (const file of elves) {
    const guest = basename(file, '.elf');
    if (only.length && !only.includes(guest)) continue;
    const size = SIZES[guest] ?? '';
    const path = join(dir, file);
    const image = readImage(path);
    const argv = [path, ...(size ? [size] : [])];
    log(`${guest} ${size}: qemu-riscv32 x${runs}`);
    const q = best(runs, () => runQemu(path, size ? [size] : []));
    log(`${guest} ${size}: compiled, runs until peak speed + x${runs}`);
    const warm = untilPeak(core, image, argv, 'compiled');
    const timed = Array.from({ length: runs }, () => runGuest(core, image, argv, 'compiled'));
    const c = timed.reduce((a, b) => (b.ms < a.ms ? b : a));
    log(`${guest} ${size}: compiled as asm.js, runs until peak speed + x${runs}`);
    const asmWarm = untilPeak(core, image, argv, 'asm');
    const asmTimed = Array.from({ length: runs }, () => runGuest(core, image, argv, 'asm'));
    const asm = asmTimed.reduce((a, b) => (b.ms < a.ms ? b : a));
    log(`${guest} ${size}: interpreter, untimed run + x${runs}`);
    runGuest(core, image, argv, 'interpreter');
    const i = best(runs, () => runGuest(core, image, argv, 'interpreter'));
    const match = [...warm, ...timed, ...asmWarm, ...asmTimed, i].every((r) => r.stdout === q.stdout && r.exitCode === q.exitCode) && !q.signal;
    if (!match) log(`${guest}: OUTPUT MISMATCH\n  rvisor: ${JSON.stringify(c.stdout)}\n  qemu: ${JSON.stringify(q.stdout)}`);
    rows.push({
      guest,
      size,
      instructions: c.instructions,
      interpMips: i.instructions / i.ms / 1000,
      compiledMips: c.instructions / c.ms / 1000,
      asmMips: asm.instructions / asm.ms / 1000,
      qemuMips: c.instructions / q.ms / 1000,
      interpRatio: q.ms / i.ms,
      compiledRatio: q.ms / c.ms,
      speedup: i.ms / c.ms,
      warmupRuns: warm.length,
      warmupMs: warmup(warm, timed),
      asmWarmupMs: warmup(asmWarm, asmTimed),
      match,
    });
  }
  return rows;
}
