// A three-partition gateway on Deno, from the built ESM of @rvisor/core (packages/core/dist):
// sensor -> filter -> logger, linked by queuing channels, on a static cyclic schedule.
//   deno run --allow-read --allow-env=CBOR_NATIVE_ACCELERATION_DISABLED examples/deno/gateway.ts [frames]
// (dist/ imports cbor-x for snapshots; its npm build reads that one variable on start-up)
// The guests are the prebuilt images of examples/gateway. `hv.run()` yields to Deno's event
// loop between windows, so timers and I/O stay live while partitions run.
// @ts-types="../../packages/core/dist/hypervisor/index.d.ts"
import { Hypervisor } from '../../packages/core/dist/hypervisor/index.js';

const frames = Number(Deno.args[0] ?? 60);
const image = (name: string) => Deno.readFile(new URL(`../gateway/${name}.elf`, import.meta.url));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const hv = new Hypervisor({ poolSize: 4 << 20 });
// Console lines arrive in pieces; prefix whole lines with their partition's name.
const pending = new Map<string, string>();
hv.events.on('console', ({ partition, bytes }) => {
  const text = (pending.get(partition) ?? '') + decoder.decode(bytes);
  const lines = text.split('\n');
  pending.set(partition, lines.pop()!);
  for (const line of lines) Deno.stdout.writeSync(encoder.encode(`[${partition.padEnd(6)}] ${line}\n`));
});

for (const name of ['sensor', 'filter', 'logger']) {
  hv.createPartition({ name, image: await image(name), ramSize: 256 << 10 });
}
hv.addChannel({ name: 'readings', kind: 'queuing', senders: ['sensor'], receivers: ['filter'], maxMessageSize: 8, depth: 8 });
hv.addChannel({ name: 'averages', kind: 'queuing', senders: ['filter'], receivers: ['logger'], maxMessageSize: 8, depth: 8 });
hv.addChannel({ name: 'latest', kind: 'sampling', senders: ['filter'], receivers: ['@host'], maxMessageSize: 8 });
// Budgets are instructions (the deterministic time base): every run prints the same thing.
hv.setSchedules([{
  name: 'main',
  majorFrame: 1_000_000,
  windows: [
    { partition: 'sensor', offset: 0, duration: 200_000 },
    { partition: 'filter', offset: 200_000, duration: 200_000 },
    { partition: 'logger', offset: 400_000, duration: 300_000 },
  ],
}]);
for (const name of ['sensor', 'filter', 'logger']) hv.start(name);
await hv.run({ frames });

console.log(`\n${hv.stats.frames} major frames, last utilisation ${(hv.stats.utilisation * 100).toFixed(1)} %`);
console.log('partition  state      instructions  windows  overruns');
for (const [name, s] of Object.entries(hv.stats.partitions)) {
  console.log(`${name.padEnd(9)}  ${s.state.padEnd(9)}  ${String(s.instructions).padStart(12)}  ${String(s.windows).padStart(7)}  ${String(s.overruns).padStart(8)}`);
}
