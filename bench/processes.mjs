import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';

/** Child processes of command-line tools (curl, wrk, ab) that are still running, so that cleanup can stop them. */
const runningTools = new Set();
let stoppingTools = false;

/**
 * Runs a command-line tool and collects its output. The tool is killed by its pid with SIGKILL after
 * `timeoutMs`. Resolves with the exit code, standard output and standard error, and rejects when the
 * tool fails to start, times out or is killed by `killRunningTools`.
 */
export function runTool(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';

    runningTools.add(child);

    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);

    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));

    child.once('error', (error) => {
      clearTimeout(timer);
      runningTools.delete(child);
      reject(new Error(`${command} failed to start: ${error.message}`));
    });

    child.once('close', (code, signal) => {
      clearTimeout(timer);
      runningTools.delete(child);

      if (signal === 'SIGKILL' && stoppingTools) {
        reject(new Error(`${command} was stopped because the run is stopping`));

        return;
      }

      if (signal === 'SIGKILL') {
        reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms`));

        return;
      }

      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a tool and rejects unless it exits with code 0. Resolves with its standard output. */
export async function runToolChecked(command, args, timeoutMs) {
  const result = await runTool(command, args, timeoutMs);

  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with code ${String(result.code)}: ${result.stderr.trim()}`,
    );
  }

  return result.stdout;
}

/** Kills every tool process that is still running, each by its pid. */
export function killRunningTools() {
  stoppingTools = true;

  for (const child of runningTools) {
    child.kill('SIGKILL');
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function findFreePort() {
  const server = createServer();

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  const { port } = server.address();

  await new Promise((resolve) => server.close(resolve));

  return port;
}
