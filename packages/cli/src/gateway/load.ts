/** Reading gateway files and snapshots from disk for the gateway commands. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '@rvisor/core/errors';
import { createGateway, Hypervisor, parseGatewayConfig } from '@rvisor/core/hypervisor';

export function loadGatewayFile(file: string): Hypervisor {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('GATEWAY_FILE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('GATEWAY_JSON', `${file} is not valid JSON: ${(e as Error).message}`);
  }
  const config = parseGatewayConfig(json);
  const base = dirname(resolve(file));
  return createGateway(config, (ref, path) => {
    const at = resolve(base, ref);
    try {
      return readFileSync(at);
    } catch (e) {
      throw new ConfigError('GATEWAY_IMAGE', `${path}: cannot read image ${at}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  });
}

export async function loadGatewaySnapshot(file: string, resume: boolean): Promise<Hypervisor> {
  let doc: Uint8Array;
  try {
    doc = readFileSync(file);
  } catch (e) {
    throw new ConfigError('SNAPSHOT_FILE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return Hypervisor.restoreGateway(doc, { resume });
}
