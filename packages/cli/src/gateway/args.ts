/** Flags shared by the gateway commands. */
import { parseArgs } from 'node:util';
import { parseCount } from '../numbers.ts';
import { UsageError } from '../usage.ts';
import type { GatewayRunOptions } from './runner.ts';

export const GATEWAY_OPTIONS = {
  frames: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  save: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'idle-frames': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseGatewayArgs(argv: string[], command: string): { file: string | undefined; help: boolean; run: GatewayRunOptions; out?: string } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: GATEWAY_OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    const first = (e as Error).message.split('. ')[0]!;
    throw new UsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)} (see 'rvisor ${command} --help')`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}' (see 'rvisor ${command} --help')`);
  const frames = values.frames === undefined ? undefined : parseCount('--frames', values.frames);
  const idleFrames = values['idle-frames'] === undefined ? 1000 : parseCount('--idle-frames', values['idle-frames']);
  return {
    file: positionals[0],
    help: values.help === true,
    out: values.out,
    run: { frames, json: values.json === true, quiet: values.quiet === true, save: values.save, idleFrames: Math.max(1, idleFrames) },
  };
}
