import { defineConfig } from 'tsup';

// One entry per public sub-path; tsup splits shared code into chunks so that
// importing `@rvisor/core/cpu` pulls in only the interpreter.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    errors: 'src/errors.ts',
    'memory/index': 'src/memory/index.ts',
  },
  format: ['esm'],
  dts: true,
  splitting: true,
  treeshake: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
});
