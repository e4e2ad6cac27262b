// Run by hot.test.ts in a child `node --trace-deopt-verbose`: the benchmark guests at small
// sizes and the machine-profile hello (device accesses below RAM), interpreter only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualMachine } from '../src/vm/vm.ts';
import { REPO_ROOT } from './_oracle.ts';

const runs: [string, string[], 'app' | 'machine'][] = [
  ['bench/guests/crc32.elf', ['crc32', '2'], 'app'],
  ['bench/guests/sha256.elf', ['sha256', '1'], 'app'],
  ['bench/guests/sort.elf', ['sort', '20000'], 'app'],
  ['bench/guests/coremark.elf', ['coremark', '300'], 'app'],
  ['bench/guests/tight.elf', ['tight', '10'], 'app'],
  ...Array.from({ length: 10 }, (): [string, string[], 'machine'] => ['examples/hello/hello-machine.elf', [], 'machine']),
];
let retired = 0;
for (const [path, argv, profile] of runs) {
  const image = new Uint8Array(readFileSync(join(REPO_ROOT, path)));
  const vm = new VirtualMachine({ image, argv, profile, compile: false, onConsole: () => {} });
  while (vm.run(1 << 22).reason === 'budget');
  if (vm.exitCode !== 0) throw new Error(`${path} exited ${String(vm.exitCode)}`);
  retired += Number(vm.hart.instret);
}
console.log(`probe retired ${retired}`);
