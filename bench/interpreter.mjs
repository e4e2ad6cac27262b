// Section "interpreter": each app-profile benchmark guest in bench/guests under
// rvisor (in-process) and under qemu-riscv32, same image, same arguments.
// QEMU reports no instruction count; both retire the same program, so its MIPS
// uses the count rvisor measured. Outputs must match or the row is an error.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { best, fmt, loadCore, readImage, root, runQemu, runRvisor } from './harness.mjs';

export const name = 'interpreter';
export const title = 'rvisor interpreter vs qemu-riscv32 (app profile, rv32imac)';

export const note = ({ runs, warmup }) =>
  `Best of ${runs} runs each; rvisor in-process after ${warmup.toLocaleString('en-US')} warm-up instructions, ` +
  'qemu-riscv32 as a whole process (start-up included).';

export const columns = [
  ['guest', 'guest'],
  ['instructions', 'instructions', fmt.int],
  ['rvisorMs', 'rvisor ms', fmt.fixed(0)],
  ['rvisorMips', 'rvisor MIPS', fmt.fixed(1)],
  ['qemuMs', 'qemu ms', fmt.fixed(0)],
  ['qemuMips', 'qemu MIPS', fmt.fixed(1)],
  ['ratio', 'rvisor/qemu', fmt.fixed(3)],
  ['cpuRatio', 'rvisor/qemu (CPU time)', fmt.fixed(3)],
];

/**
 * @param {{ runs: number, warmup: number, only: string[], log: (s: string) => void, vmOptions?: object }} opts
 * `warmup`: instructions of the same guest run untimed first, so V8 has optimised the engine.
 * `vmOptions` lets a later tier (e.g. a compiling engine) reuse this section unchanged.
 */
export async function run({ runs, warmup, only, log, vmOptions = { compile: false } }) {
  const core = await loadCore();
  const dir = join(root, 'bench/guests');
  const elves = readdirSync(dir).filter((f) => f.endsWith('.elf')).sort();
  const rows = [];
  for (const file of elves) {
    const guest = basename(file, '.elf');
    if (only.length && !only.includes(guest)) continue;
    const path = join(dir, file);
    const image = readImage(path);
    log(`${guest}: qemu-riscv32 x${runs}`);
    const q = best(runs, () => runQemu(path));
    log(`${guest}: rvisor warm-up + x${runs}`);
    const argv = [path];
    runRvisor(core, image, { argv, vmOptions, maxInstructions: warmup });
    const r = best(runs, () => runRvisor(core, image, { argv, vmOptions }));
    const match = r.stdout === q.stdout && r.exitCode === q.exitCode && !q.signal;
    if (!match) {
      log(`${guest}: OUTPUT MISMATCH\n  rvisor (exit ${r.exitCode}): ${JSON.stringify(r.stdout)}\n  qemu (exit ${q.exitCode}): ${JSON.stringify(q.stdout)}`);
    }
    rows.push({
      guest,
      instructions: r.instructions,
      rvisorMs: r.ms,
      rvisorMips: r.instructions / r.ms / 1000,
      qemuMs: q.ms,
      qemuMips: r.instructions / q.ms / 1000,
      ratio: q.ms / r.ms,
      rvisorCpuMs: r.cpuMs,
      qemuCpuMs: q.cpuMs,
      // On a shared machine wall time includes waiting for a core; CPU time does not.
      cpuRatio: q.cpuMs / r.cpuMs,
      match,
    });
  }
  return rows;
}
