/** The committed example gateway (examples/gateway/gateway.json), built the way `rvisor up` builds it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGateway, parseGatewayConfig } from '../src/hypervisor/gateway.ts';
import type { Hypervisor } from '../src/hypervisor/hypervisor.ts';
import { REPO_ROOT } from './_oracle.ts';

const dir = join(REPO_ROOT, 'examples/gateway');
const config = parseGatewayConfig(JSON.parse(readFileSync(join(dir, 'gateway.json'), 'utf8')));

/** sensor -> filter -> logger over channels 0 and 1, `latest` sampled by the host; all started. */
export function exampleGateway(): Hypervisor {
  return createGateway(config, (ref) => readFileSync(join(dir, ref)));
}
