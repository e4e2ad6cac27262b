import { defineConfig } from 'tsup';

// One entry per public sub-path. The agent and the controller share the
// protocol chunk; the broker entry is the only one that reaches aedes.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'protocol/index': 'src/protocol/index.ts',
    agent: 'src/agent.ts',
    controller: 'src/controller.ts',
    broker: 'src/broker.ts',
    'hypervisor-host': 'src/hypervisor-host.ts',
  },
  format: ['esm'],
  dts: true,
  splitting: true,
  treeshake: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'node',
  external: ['@rvisor/core', 'mqtt', 'cbor-x', 'aedes'],
});
