import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled entry point that the `wharf` command runs. */
export const wharfMainScript = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Maximum run time of one command. */
const commandTimeoutMs = 60_000;

/** What a finished command left: its exit code (null when the timeout killed it) and its output. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wharf ARGS` with `input` on standard input and returns its exit code and output. */
export function runWharfCli(
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [wharfMainScript, ...args],
      { cwd: options.cwd, timeout: commandTimeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        let code: number | null = 0;

        // A command killed by the timeout has no exit code.
        if (error !== null) {
          code = typeof error.code === 'number' ? error.code : null;
        }

        resolve({ code, stdout, stderr });
      },
    );

    child.stdin?.end(options.input ?? '');
  });
}
