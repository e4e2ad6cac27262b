import { defineConfig } from 'tsup';

// One entry per public sub-path; tsup splits shared code into chunks so that
// importing `@rvisor/core/cpu` pulls in only the interpreter.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    errors: 'src/errors.ts',
    'cpu/index': 'src/cpu/index.ts',
    'cpu/jit/index': 'src/cpu/jit/index.ts',
    'memory/index': 'src/memory/index.ts',
    'devices/index': 'src/devices/index.ts',
    'loader/index': 'src/loader/index.ts',
    'vm/index': 'src/vm/index.ts',
    'schedule/index': 'src/schedule/index.ts',
    'partition/index': 'src/partition/index.ts',
    'snapshot/index': 'src/snapshot/index.ts',
    'hypervisor/index': 'src/hypervisor/index.ts',
    'adapters/node': 'src/adapters/node.ts',
    'adapters/node-worker': 'src/adapters/node-worker.ts',
    'adapters/web': 'src/adapters/web.ts',
    'adapters/web-worker': 'src/adapters/web-worker.ts',
  },
  format: ['esm'],
  dts: true,
  splitting: true,
  treeshake: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  // cbor-x stays an import of the snapshot chunk, never inlined.
  external: ['cbor-x'],
});
