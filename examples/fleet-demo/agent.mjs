// One demo gateway in its own process: an rvisor fleet Agent over a
// HypervisorHost. Forked by demo.mjs with argv: broker-url fleet gateway.
// Tells its parent { ready } once its birth is published.
import { Agent } from '../../packages/fleet/dist/agent.js';
import { HypervisorHost } from '../../packages/fleet/dist/hypervisor-host.js';

const [url, fleet, gw] = process.argv.slice(2);
const host = new HypervisorHost({ poolSize: 8 << 20, maxPartitions: 8 });
const agent = new Agent({ fleet, gw, host, url, telemetryIntervalMs: 500 });
await agent.start();
process.send?.({ ready: true });
const quit = async () => {
  await agent.stop();
  await host.close();
  process.exit(0);
};
process.on('message', (m) => { if (m === 'stop') quit(); });
// The demo went away without saying goodbye: do not outlive it.
process.on('disconnect', () => process.exit(0));
