/**
 * `rvisor` entry point: global flags, command dispatch, and the one place
 * where errors become exit statuses. Every error the user can fix prints as
 * one line `rvisor: <message> [CODE]` and exits 2; only a bug in rvisor
 * itself prints a stack trace.
 */
import { readFileSync } from 'node:fs';
import { RvisorError } from '@rvisor/core/errors';
import { agentCommand, AGENT_SUMMARY } from './commands/agent.ts';
import { fleetCommand, FLEET_SUMMARY } from './commands/fleet.ts';
import { runCommand, RUN_SUMMARY } from './commands/run.ts';
import { restoreCommand, RESTORE_SUMMARY } from './commands/restore.ts';
import { snapshotCommand, SNAPSHOT_SUMMARY } from './commands/snapshot.ts';
import { upCommand, UP_SUMMARY } from './commands/up.ts';
import { EXIT_INTERNAL, EXIT_USAGE } from './exit-codes.ts';
import { UsageError } from './usage.ts';

interface Command {
  summary: string;
  main(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: RUN_SUMMARY, main: runCommand },
  up: { summary: UP_SUMMARY, main: upCommand },
  snapshot: { summary: SNAPSHOT_SUMMARY, main: snapshotCommand },
  restore: { summary: RESTORE_SUMMARY, main: restoreCommand },
  agent: { summary: AGENT_SUMMARY, main: agentCommand },
  fleet: { summary: FLEET_SUMMARY, main: fleetCommand },
};

const HELP = `Usage: rvisor <command> [options]

rvisor runs RISC-V (RV32IMAC) guests on an interpreter written in TypeScript, alone or as
partitions of the gateways of a fleet.

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`).join('\n')}

Options:
  -h, --help     show this help (rvisor <command> --help for a command's own)
  -V, --version  print the version

Exit status: a guest's own status when it exits; 2 for usage errors and bad images;
see 'rvisor run --help' for the others.
`;

export async function main(argv: string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) throw new UsageError("missing command (see 'rvisor --help')");
    if (first === '-h' || first === '--help') return print(HELP);
    if (first === '-V' || first === '--version') return print(`rvisor ${version()}\n`);
    if (first === 'help') {
      const target = rest[0];
      if (target === undefined) return print(HELP);
      return await command(target).main(['--help']);
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option '${first}' (see 'rvisor --help')`);
    return await command(first).main(rest);
  } catch (err) {
    return report(err);
  }
}

function command(name: string): Command {
  const c = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!c) throw new UsageError(`unknown command '${name}' (see 'rvisor --help')`);
  return c;
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

/** Turns an error that escaped a command into its stderr line and exit status. */
export function report(err: unknown): number {
  if (err instanceof RvisorError) {
    process.stderr.write(`rvisor: ${err.message} [${err.code}]\n`);
    return EXIT_USAGE;
  }
  const e = err as Error;
  process.stderr.write(`rvisor: internal error: ${e?.stack ?? String(err)}\n`);
  return EXIT_INTERNAL;
}

function version(): string {
  // dist/main.js and src/main.ts are both one level below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// An exit code set here (not process.exit) lets queued stdout/stderr writes
// reach a pipe before the process ends.
process.exitCode = await main(process.argv.slice(2));
