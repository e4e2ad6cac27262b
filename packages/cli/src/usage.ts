import { RvisorError } from '@rvisor/core/errors';

/**
 * A mistake on the command line (unknown flag, bad value, missing operand).
 * Reported as one line with its code and exit status 2, like every other
 * error the user can fix by changing the invocation.
 */
export class UsageError extends RvisorError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}
