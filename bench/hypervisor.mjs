// Hypervisor costs, each measured against an anchor from the same run (CPU time where a
// loop is timed):
//   world switch  - four partitions running the same compute guest, switched every
//                   1M instructions (the anchor) vs. every 1k instructions
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

/** Instructions per millisecond of `count` partitions of the same guest, switched every `window` instructions. */
function switchRate(core, guestImage, window, count, totalInstructions) {
  const hv = new core.Hypervisor({ poolSize: 64 << 20 });
  const windows = [];
  for (let i = 0; i < count; i++) {
    hv.createPartition({ name: `g${i}`, image: guestImage, ramSize: 4 << 20, argv: ['guest', '1000000'] });
    windows.push({ partition: `g${i}`, offset: window * i, duration: window });
  }
  hv.setSchedules([{ name: 'm', majorFrame: window * count, windows }]);
  for (const p of hv.partitions()) hv.start(p.name);
  const frames = Math.ceil(totalInstructions / (window * count));
  // The same warm-up in instructions for both window sizes (V8 and the decode caches).
  hv.runFrames(Math.ceil(10_000_000 / (window * count)));
  // CPU time of this process: a loaded shared machine moves wall time far more.
  const c0 = process.cpuUsage();
  hv.runFrames(frames);
  const cu = process.cpuUsage(c0);
  const dt = (cu.user + cu.system) / 1000;
  let n = 0;
  for (const p of hv.partitions()) n += p.stats.instructions;
  return n / dt; // instructions per ms, all partitions together
}

export async function run({ log }) {
  const core = await loadHypervisor();
  const rows = [];
  const tight = image('bench/guests/coremark.elf');

  // World switch: all partitions compute, so any loss is switching cost.
  log('hypervisor: world switch');
  const total = 40_000_000;
  let alone = 0;
  let sliced = 0;
  for (let i = 0; i < 3; i++) {
    alone = Math.max(alone, switchRate(core, tight, 1_000_000, 4, total));
    sliced = Math.max(sliced, switchRate(core, tight, 1000, 4, total));
  }
  const overhead = (alone / sliced - 1) * 100;
  rows.push({ metric: 'world switch overhead: 4 partitions, 1k- vs 1M-instruction windows', value: overhead, unit: '%', goal: '< 5 %', ok: overhead < 5, digits: 1 });

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
  const perPartition = (heap1.heapUsed + heap1.arrayBuffers - heap0.heapUsed - heap0.arrayBuffers - poolBytes) / 1000;
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
  const sp = sh.createPartition({ name: 's', image: tight, ramSize: mib << 20, argv: ['guest', '1'] });
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
