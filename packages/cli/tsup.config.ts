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
  // One entry, no chunks: nothing stale to clean, and not deleting dist/ first
  // keeps a concurrently running `rvisor` (tests, a second build) working.
  clean: false,
  dts: false,
});
