/*
 * Runs the CLI's `agent` and `fleet` commands as packages/cli/src/main.ts
 * will once they are registered there: usage errors (RvisorError escaping the
 * command) print one line and exit 2.
 */
import { RvisorError } from '@rvisor/core/errors';
import { agentCommand } from '../../cli/src/commands/agent.ts';
import { fleetCommand } from '../../cli/src/commands/fleet.ts';

const [cmd, ...rest] = process.argv.slice(2);
try {
  process.exitCode = await (cmd === 'agent' ? agentCommand : fleetCommand)(rest);
} catch (err) {
  if (!(err instanceof RvisorError)) throw err;
  process.stderr.write(`rvisor: ${err.message} [${err.code}]\n`);
  process.exitCode = 2;
}
