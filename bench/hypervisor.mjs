// Hypervisor costs, each measured against an anchor from the same run (CPU time where a
// loop is timed):
//   world switch  - four partitions running the same compute guest, switched every
//                   1M instructions (the anchor) vs. every 1k instructions, and the
//                   time of one switch (windows of a single instruction)
//   density       - 1,000 partitions of 64 KiB created and scheduled in one process:
//                   host heap per partition beyond its RAM
//   snapshot      - encode + decode of a partition snapshot, per MiB of RAM (all pages
//                   non-zero, so nothing is elided)
//   create        - createPartition() to the guest's first retired instruction
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, root } from './harness.mjs';

export const name = 'hypervisor';
export const title = 'hypervisor: world switch, density, snapshot, start-up';
export const columns = [
  ['metric', 'metric'],
  ['value', 'measured', (v, r) => `${fmt.fixed(r.digits ?? 2)(v)} ${r.unit}`],
  ['goal', 'goal'],
  ['ok', 'meets goal', (v, r) => (r.goal === '-' ? '-' : v ? 'yes' : 'NO')],
];

async function loadHypervisor() {
  const entry = join(root, 'packages/core/dist/hypervisor/index.js');
  try {
    return await import(entry);
  } catch (err) {
    throw new Error(`cannot load ${entry} (${err.code ?? err.message}): run 'pnpm build' first`);
  }
}

const image = (n) => readFileSync(join(root, n));

/**
 * World switch: two hypervisors, each with four partitions of the same deterministic
 * compute guest, one switching every 1M instructions (the anchor), one every 1k.
 * They run in alternating spans in which every partition retires the same number
 * of instructions under both, so both retire the very same guest code (the guest's
 * phases differ in speed by far more than the switching costs). Returns the
 * overhead (%) of 1k windows for each pair of spans.
 */
function worldSwitch(core, guestImage, pairs, span) {
  const count = 4;
  const make = (w) => {
    const hv = new core.Hypervisor({ poolSize: 64 << 20 });
    const windows = [];
    for (let i = 0; i < count; i++) {
      hv.createPartition({ name: `g${i}`, image: guestImage, ramSize: 4 << 20, argv: ['guest', '1000000'] });
      windows.push({ partition: `g${i}`, offset: w * i, duration: w });
    }
    hv.setSchedules([{ name: 'm', majorFrame: w * count, windows }]);
    for (const p of hv.partitions()) hv.start(p.name);
    return { hv, w };
  };
  const retired = ({ hv }) => hv.partitions().reduce((n, p) => n + p.stats.instructions, 0);
  // Instructions per CPU-µs over `total` instructions (a multiple of 4M, so whole frames of both).
  const rate = (run, total) => {
    const n0 = retired(run);
    // CPU time of this process: a loaded shared machine moves wall time far more.
    const c0 = process.cpuUsage();
    run.hv.runFrames(total / (run.w * count));
    const cu = process.cpuUsage(c0);
    return (retired(run) - n0) / (cu.user + cu.system);
  };
  const alone = make(1_000_000);
  const sliced = make(1000);
  // The same warm-up for both (V8 and the decode caches).
  rate(alone, 8_000_000);
  rate(sliced, 8_000_000);
  const overheads = [];
  for (let i = 0; i < pairs; i++) {
    const a = rate(alone, span);
    const b = rate(sliced, span);
    overheads.push((a / b - 1) * 100);
  }
  for (const { hv } of [alone, sliced]) {
    if (hv.partitions().some((p) => p.state !== 'running')) throw new Error('world switch: a guest stopped during the measurement');
  }
  return overheads;
}

export async function run({ log }) {
  const core = await loadHypervisor();
  const rows = [];
  const coremark = image('bench/guests/coremark.elf');

  // World switch: all partitions compute, so any loss is switching cost. Single
  // spans scatter by several percent on a shared machine; the median of the pairs
  // is the figure.
  log('hypervisor: world switch');
  const pairs = 9;
  const overheads = worldSwitch(core, coremark, pairs, 20_000_000);
  const overhead = overheads.slice().sort((a, b) => a - b)[pairs >> 1];
  log(`hypervisor: world switch overhead of each pair: ${overheads.map((o) => o.toFixed(1)).join(', ')} %`);
  rows.push({
    metric: `world switch overhead: 4 partitions, 1k- vs 1M-instruction windows (median of ${pairs} pairs)`,
    value: overhead, unit: '%', goal: '< 5 %', ok: overhead < 5, digits: 1, pairs: overheads,
  });

  // The switch itself: windows of one instruction, so nearly all the time is the
  // hypervisor's per-window path (schedule, accounting, entering and leaving the hart).
  {
    const hv = new core.Hypervisor({ poolSize: 64 << 20 });
    const windows = [];
    for (let i = 0; i < 4; i++) {
      hv.createPartition({ name: `g${i}`, image: coremark, ramSize: 4 << 20, argv: ['guest', '1000000'] });
      windows.push({ partition: `g${i}`, offset: i, duration: 1 });
    }
    hv.setSchedules([{ name: 'm', majorFrame: 4, windows }]);
    for (const p of hv.partitions()) hv.start(p.name);
    hv.runFrames(100_000);
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const c0 = process.cpuUsage();
      hv.runFrames(100_000);
      const cu = process.cpuUsage(c0);
      best = Math.min(best, ((cu.user + cu.system) * 1000) / 400_000);
    }
    rows.push({ metric: 'cost of one window switch (windows of 1 instruction, 4 partitions)', value: best, unit: 'ns', goal: '-', digits: 0 });
  }

  // Density.
  log('hypervisor: density');
  globalThis.gc?.();
  const heap0 = process.memoryUsage();
  const hv = new core.Hypervisor({ poolSize: 1000 * (64 << 10) + (1 << 20) });
  const small = image('bench/partitions/tiny64k.elf');
  const windows = [];
  for (let i = 0; i < 1000; i++) {
    hv.createPartition({ name: `p${i}`, image: small, profile: 'machine', ramSize: 64 << 10 });
    windows.push({ partition: `p${i}`, offset: i * 1000, duration: 1000 });
  }
  hv.setSchedules([{ name: 'm', majorFrame: 1000 * 1000, windows }]);
  for (const p of hv.partitions()) hv.start(p.name);
  hv.runFrames(2);
  globalThis.gc?.();
  const heap1 = process.memoryUsage();
  const poolBytes = hv.pool.size;
  // Decoded code lives in the process-wide decode arena, allocated before heap0: count each
  // partition's blocks there (decodeCacheBytes() also counts its block table, already in
  // arrayBuffers, so this overstates by 256 bytes a partition).
  let decodeBytes = 0;
  for (const p of hv.partitions()) decodeBytes += p.vm.hart.decodeCacheBytes();
  const perPartition = (heap1.heapUsed + heap1.arrayBuffers - heap0.heapUsed - heap0.arrayBuffers - poolBytes + decodeBytes) / 1000;
  rows.push({
    metric: `density: host memory per 64 KiB partition beyond its RAM (1,000 partitions${globalThis.gc ? '' : ', no --expose-gc'})`,
    value: perPartition / 1024,
    unit: 'KiB',
    goal: '< 16 KiB',
    ok: perPartition < 16 * 1024,
    digits: 1,
  });

  // Snapshot + restore per MiB.
  log('hypervisor: snapshot');
  const mib = 8;
  const sh = new core.Hypervisor({ poolSize: 64 << 20 });
  const sp = sh.createPartition({ name: 's', image: coremark, ramSize: mib << 20, argv: ['guest', '1'] });
  const ram = sp.vm.bus.ram;
  for (let i = 0; i < ram.length; i += 4096) ram[i] = 1 + (i & 0x7f); // every page present
  let bestSnap = Infinity;
  let bestRestore = Infinity;
  let bestBoth = Infinity;
  for (let i = 0; i < 5; i++) {
    // A fresh target each time; creating its pool is not part of the restore.
    const target = new core.Hypervisor({ poolSize: 16 << 20 });
    const t0 = performance.now();
    const doc = await sh.snapshot('s');
    const t1 = performance.now();
    await target.restore(doc);
    const t2 = performance.now();
    bestSnap = Math.min(bestSnap, t1 - t0);
    bestRestore = Math.min(bestRestore, t2 - t1);
    bestBoth = Math.min(bestBoth, t2 - t0);
  }
  rows.push({ metric: `snapshot of a ${mib} MiB partition (every page non-zero), per MiB`, value: bestSnap / mib, unit: 'ms/MiB', goal: '< 5 ms/MiB', ok: bestSnap / mib < 5 });
  rows.push({ metric: `restore of that snapshot on a fresh hypervisor, per MiB`, value: bestRestore / mib, unit: 'ms/MiB', goal: '< 5 ms/MiB', ok: bestRestore / mib < 5 });
  rows.push({ metric: `snapshot + restore round trip, per MiB`, value: bestBoth / mib, unit: 'ms/MiB', goal: '-' });

  // Create to first instruction.
  log('hypervisor: create');
  const ch = new core.Hypervisor({ poolSize: 64 << 20 });
  let create = Infinity;
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    const p = ch.createPartition({ name: `c${i}`, image: small, profile: 'machine', ramSize: 64 << 10 });
    p.start();
    p.vm.run(1);
    const dt = performance.now() - t0;
    if (p.vm.stats.instructions !== 1) throw new Error('the first instruction did not retire');
    create = Math.min(create, dt);
    ch.destroyPartition(`c${i}`);
  }
  rows.push({ metric: 'createPartition() to first guest instruction (64 KiB RAM)', value: create * 1000, unit: 'us', goal: '< 1000 us', ok: create < 1, digits: 0 });
  return rows;
}
