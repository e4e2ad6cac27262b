// The same as hello.ts, but from the single-file minified bundle (packages/core/dist/bundle,
// built by `pnpm bundle`): what a Deno or browser user loads from a CDN without npm.
//   deno run --allow-read examples/deno/bundle.ts [image.elf] [guest args...]
// @ts-types="../../packages/core/dist/index.d.ts"
import { VirtualMachine } from '../../packages/core/dist/bundle/index.js';

const path = Deno.args[0] ?? new URL('../hello/hello.elf', import.meta.url).pathname;
const vm = new VirtualMachine({
  image: await Deno.readFile(path),
  argv: [path.split('/').pop()!, ...Deno.args.slice(1)],
  onConsole: (bytes: Uint8Array) => {
    for (let n = 0; n < bytes.length;) n += Deno.stdout.writeSync(bytes.subarray(n));
  },
});
// runToEnd skips idle time (sleep, wfi) deterministically instead of waiting for it.
vm.runToEnd();
if (vm.fault) console.error(`guest fault: ${vm.fault.message}`);
Deno.exit(vm.exitCode ?? 1);
