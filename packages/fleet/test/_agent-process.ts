/*
 * One gateway as its own Node process (forked by tests with --import=tsx):
 * an Agent over a HypervisorHost. argv: url fleet gw [poolBytes]. Sends
 * { ready: session } to the parent once its birth is published; a test ends it
 * with SIGKILL (no DISCONNECT: the broker publishes its will) or a 'stop' message.
 */
import { Agent } from '../src/agent.ts';
import { HypervisorHost } from '../src/hypervisor-host.ts';

const [url, fleet, gw, pool] = process.argv.slice(2);
const host = new HypervisorHost({ poolSize: Number(pool ?? 16 << 20) });
const agent = new Agent({ fleet: fleet!, gw: gw!, host, url: url!, telemetryIntervalMs: 0, console: { bytesPerSecond: 1 << 20, burstBytes: 1 << 20 } });
await agent.start();
process.send?.({ ready: agent.session });
process.on('message', async (m) => {
  if (m !== 'stop') return;
  await agent.stop();
  await host.close();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
