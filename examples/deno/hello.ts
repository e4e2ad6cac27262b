// Runs one guest image on Deno with the built ESM of @rvisor/core (packages/core/dist):
//   deno run --allow-read examples/deno/hello.ts [image.elf] [guest args...]
// Without an image it runs examples/hello/hello.elf. The process exits with the guest's code.
// @ts-types="../../packages/core/dist/vm/index.d.ts"
import { VirtualMachine } from '../../packages/core/dist/vm/index.js';
// @ts-types="../../packages/core/dist/loader/index.d.ts"
import { parseImage } from '../../packages/core/dist/loader/index.js';

const path = Deno.args[0] ?? new URL('../hello/hello.elf', import.meta.url).pathname;
const image = await Deno.readFile(path);

function writeAll(bytes: Uint8Array): void {
  for (let n = 0; n < bytes.length;) n += Deno.stdout.writeSync(bytes.subarray(n));
}

// Images linked at RAM 0x8000_0000 are full-system firmware; the rest are Linux-style apps.
const profile = parseImage(image).entry >= 0x8000_0000 ? 'machine' : 'app';
const vm = new VirtualMachine({
  image,
  profile,
  argv: [path.split('/').pop()!, ...Deno.args.slice(1)],
  onConsole: (bytes: Uint8Array) => writeAll(bytes),
});
// runToEnd skips idle time (sleep, wfi) deterministically instead of waiting for it.
vm.runToEnd();
if (vm.fault) console.error(`guest fault: ${vm.fault.message}`);
Deno.exit(vm.exitCode ?? 1);
