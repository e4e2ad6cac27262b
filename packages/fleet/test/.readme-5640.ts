const { myGatewayHost, elfBytes, out } = globalThis as any;
import { startBroker } from '/work/main/packages/fleet/src/broker.ts';          // embedded aedes (optional peer dep)
import { Agent, Controller } from '/work/main/packages/fleet/src/index.ts';
const broker = await startBroker();                           // mqtt://127.0.0.1:<free port>
const agent = new Agent({ fleet: 'demo', gw: 'gw-1', host: myGatewayHost, url: broker.url });
await agent.start();                                          // retained birth, last will = offline
const ctl = new Controller({ fleet: 'demo', url: broker.url });
await ctl.start();
await ctl.setDesired([{ name: 'blink', image: elfBytes, ramSize: 64 * 1024 }]); // placed + started
out.push(ctl.gateways());                                  // online, capabilities, partitions
await agent.stop(); await ctl.stop(); await broker.close();

export {};
