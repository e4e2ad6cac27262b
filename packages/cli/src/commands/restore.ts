/** `rvisor restore`: continue a gateway from a snapshot written by `up --save` or `snapshot`. */
import { loadGatewaySnapshot } from '../gateway/load.ts';
import { parseGatewayArgs } from '../gateway/args.ts';
import { runGateway } from '../gateway/runner.ts';
import { UsageError } from '../usage.ts';

export const RESTORE_SUMMARY = 'continue a gateway from a snapshot file';

const HELP = `Usage: rvisor restore [options] SNAPSHOT

Rebuilds the gateway saved in SNAPSHOT (by 'rvisor up --save' or 'rvisor snapshot') and
continues it exactly where it stopped: same timeline, schedule position, channel queues,
partition states. A corrupt, truncated or foreign file is refused with its reason.

Options: the same as 'rvisor up' (--frames, --idle-frames, --save, --json, -q).
`;

export async function restoreCommand(argv: string[]): Promise<number> {
  const args = parseGatewayArgs(argv, 'restore');
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.file === undefined) throw new UsageError("missing SNAPSHOT (see 'rvisor restore --help')");
  return runGateway(await loadGatewaySnapshot(args.file, true), args.run);
}
