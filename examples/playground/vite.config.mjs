// The playground imports @rvisor/core by name, as an embedder would; here the name
// resolves to the TypeScript sources, so `pnpm playground` needs no build and edits to
// the core reload live. Guest images come from examples/*/*.elf (see src/guests.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const core = fileURLToPath(new URL('../../packages/core/src/', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: {
    alias: [
      { find: /^@rvisor\/core$/, replacement: `${core}index.ts` },
      { find: /^@rvisor\/core\/errors$/, replacement: `${core}errors.ts` },
      { find: /^@rvisor\/core\/(.+)$/, replacement: `${core}$1/index.ts` },
    ],
  },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
