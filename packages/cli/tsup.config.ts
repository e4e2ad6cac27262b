import { defineConfig } from 'tsup';

// The CLI is a Node program; @rvisor/core stays an external import (a
// workspace dependency), so `rvisor` runs exactly the core that embedders get.
export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  banner: { js: '#!/usr/bin/env node' },
  sourcemap: true,
  clean: true,
  dts: false,
});
