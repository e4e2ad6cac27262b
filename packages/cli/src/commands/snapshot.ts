/** `rvisor snapshot`: run a gateway file (or a snapshot) for N frames and save its state. */
import { writeFileSync } from 'node:fs';
import { loadGatewayFile, loadGatewaySnapshot } from '../gateway/load.ts';
import { parseGatewayArgs } from '../gateway/args.ts';
import { runGateway } from '../gateway/runner.ts';
import { UsageError } from '../usage.ts';

export const SNAPSHOT_SUMMARY = 'save a gateway snapshot after N frames of a gateway file';

const HELP = `Usage: rvisor snapshot [options] -o FILE GATEWAY.json|SNAPSHOT

Starts the gateway (a GATEWAY.json file, or a snapshot to continue), runs it for
--frames N major frames (default 0: the state right after start) and writes a
gateway snapshot to FILE. For a gateway that is running in 'rvisor up', use
'rvisor up --save FILE' (written when it ends or is interrupted).

Options:
  -o, --out FILE    where to write the snapshot (required)
  --frames N        major frames to run first (default 0)
  --json            print the run summary as JSON on stdout
  -q, --quiet       no consoles, lifecycle lines or summary
  -h, --help        show this help
`;

export async function snapshotCommand(argv: string[]): Promise<number> {
  const args = parseGatewayArgs(argv, 'snapshot');
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.file === undefined) throw new UsageError("missing GATEWAY.json or SNAPSHOT (see 'rvisor snapshot --help')");
  if (args.out === undefined) throw new UsageError("missing -o FILE (see 'rvisor snapshot --help')");
  const hv = args.file.endsWith('.json') ? loadGatewayFile(args.file) : await loadGatewaySnapshot(args.file, true);
  if (args.run.frames === undefined) {
    writeFileSync(args.out, await hv.snapshotGateway());
    if (!args.run.quiet) process.stderr.write(`rvisor: gateway snapshot written to ${args.out}\n`);
    return 0;
  }
  return runGateway(hv, { ...args.run, save: args.out });
}
