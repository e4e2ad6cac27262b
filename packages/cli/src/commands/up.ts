/** `rvisor up`: start a gateway from a declarative file and run it. */
import { loadGatewayFile } from '../gateway/load.ts';
import { parseGatewayArgs } from '../gateway/args.ts';
import { runGateway } from '../gateway/runner.ts';
import { UsageError } from '../usage.ts';

export const UP_SUMMARY = 'start a gateway (partitions, channels, schedules) from a JSON file';

const HELP = `Usage: rvisor up [options] GATEWAY.json

Creates the gateway GATEWAY.json describes (memory pool, partitions and their images,
shared windows, channels, schedules, health policy), starts its partitions and runs
the schedule. Partition consoles are shown line by line as 'name | text'; lifecycle
changes go to stderr. A bad file is reported with the path of the bad field, e.g.
'gateway.partitions[1].ram: "12X" is not a size'. See examples/gateway/gateway.json.

Options:
  --frames N        run N major frames, then stop (default: until no partition runs,
                    or the gateway has been idle for --idle-frames frames)
  --idle-frames N   frames without a single instruction that end the run (default 1000)
  --save FILE       write a gateway snapshot when the run ends (also after Ctrl-C);
                    'rvisor restore FILE' continues from it
  --json            one JSON object with the final stats on stdout; consoles go to stderr
  -q, --quiet       no lifecycle lines and no summary on stderr
  -h, --help        show this help

Time is virtual in the 'instructions' time base (the default): every run of the same
file prints the same consoles and the same stats.

Exit status: 0 when every partition ran without a fault, 1 when one faulted,
2 for a bad file or image, 130 when interrupted.
`;

export async function upCommand(argv: string[]): Promise<number> {
  const args = parseGatewayArgs(argv, 'up');
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.file === undefined) throw new UsageError("missing GATEWAY.json (see 'rvisor up --help')");
  if (args.out !== undefined) throw new UsageError("-o/--out is for 'rvisor snapshot'; use --save FILE");
  return runGateway(loadGatewayFile(args.file), args.run);
}
