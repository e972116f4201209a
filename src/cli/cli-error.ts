/** Exit codes of the `wharf` command. */
export const exitCodes = { ok: 0, failure: 1, usage: 2, problemsFound: 3 } as const;

/** A command failed for a reason the user can act on; the message is printed as one line. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The command line, the input or the configuration is wrong; exits with code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, exitCodes.usage);
    this.name = 'UsageError';
  }
}
