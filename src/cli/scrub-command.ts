import { setTimeout as sleep } from 'node:timers/promises';

import { CliError, exitCodes, UsageError } from './cli-error.js';
import { readFirstLine } from './password-input.js';
import type { Terminal } from './user-commands.js';

/** `wharf scrub` exits with this when the scrub finished and found broken blobs. */
export const problemsFoundExitCode = 3;

const pollIntervalMs = 500;
/** Without a terminal, a progress line is written at most this often. */
const plainProgressIntervalMs = 10_000;
const barWidth = 24;

export interface ScrubCommandOptions {
  /** Base URL of the running Wharf, such as `http://127.0.0.1:5000`. */
  url: string;
  user?: string;
  passwordStdin: boolean;
}

interface Report {
  state: 'running' | 'finished' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  totalBlobs: number;
  totalBytes: number;
  checkedBlobs: number;
  checkedBytes: number;
  problems: {
    digest: string;
    problem: string;
    quarantined: boolean;
    recoverable: boolean;
    holders: { repository: string; kind: string }[];
  }[];
  error: string | null;
}

/**
 * Starts a scrub on a running Wharf through the admin API, shows its progress on standard error and
 * prints the findings on standard output. Returns the exit code: 0 when every blob is intact,
 * `problemsFoundExitCode` when some are broken.
 */
export async function scrubCommand(options: ScrubCommandOptions, terminal: Terminal): Promise<number> {
  const api = new AdminApiClient(options.url, await authorizationOf(options, terminal));
  const started = await api.startScrub();

  if (started === 'already-running') {
    terminal.stderr.write('a scrub is already running; following it\n');
  }

  const report = await follow(api, terminal);

  terminal.stdout.write(summaryOf(report));

  if (report.state === 'failed') {
    throw new CliError(`the scrub failed: ${report.error ?? 'no reason given'}`);
  }

  return report.problems.length > 0 ? problemsFoundExitCode : exitCodes.ok;
}

async function authorizationOf(
  options: ScrubCommandOptions,
  terminal: Terminal,
): Promise<string | undefined> {
  if (options.user === undefined) {
    if (options.passwordStdin) {
      throw new UsageError('--password-stdin needs --user');
    }

    return undefined;
  }

  const password = options.passwordStdin ? await readFirstLine(terminal.stdin) : process.env.WHARF_PASSWORD;

  if (password === undefined || password === '') {
    throw new UsageError(
      `give the password or an API key of "${options.user}" on standard input with --password-stdin, or in WHARF_PASSWORD`,
    );
  }

  return `Basic ${Buffer.from(`${options.user}:${password}`).toString('base64')}`;
}

/** Polls the scrub until it ends, drawing progress, and returns its report. */
async function follow(api: AdminApiClient, terminal: Terminal): Promise<Report> {
  const interactive = (terminal.stderr as { isTTY?: boolean }).isTTY === true;
  let lastPlainLine = 0;

  for (;;) {
    const status = await api.scrubStatus();

    if (status.running === null) {
      if (interactive) {
        terminal.stderr.write('\r\u001b[2K');
      }

      if (status.last === null) {
        throw new CliError('the scrub ended without a report; see the Wharf log');
      }

      return status.last;
    }

    if (interactive) {
      terminal.stderr.write(`\r\u001b[2K${progressLine(status.running)}`);
    } else if (Date.now() - lastPlainLine >= plainProgressIntervalMs) {
      terminal.stderr.write(`${progressLine(status.running)}\n`);
      lastPlainLine = Date.now();
    }

    await sleep(pollIntervalMs);
  }
}

/** Renders a bar, files and bytes done, the rate and the time left, such as `[#####....] 42% …`. */
export function progressLine(report: Report, now = Date.now()): string {
  const fraction = report.totalBytes > 0 ? Math.min(1, report.checkedBytes / report.totalBytes) : 0;
  const filled = Math.round(fraction * barWidth);
  const elapsedSeconds = Math.max(0.001, (now - Date.parse(report.startedAt)) / 1000);
  const rate = report.checkedBytes / elapsedSeconds;
  const left = rate > 0 ? (report.totalBytes - report.checkedBytes) / rate : undefined;

  return [
    `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`,
    `${Math.floor(fraction * 100)}%`,
    `${report.checkedBlobs}/${report.totalBlobs} blobs`,
    `${formatBytes(report.checkedBytes)}/${formatBytes(report.totalBytes)}`,
    `${formatBytes(rate)}/s`,
    left === undefined ? 'time left unknown' : `${formatSeconds(left)} left`,
  ].join('  ');
}

/** Lists what the scrub found, one broken blob a line, after a line of totals. */
export function summaryOf(report: Report): string {
  const seconds =
    report.finishedAt === null ? 0 : (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  const lines = [
    `scrub ${report.state}: ${report.checkedBlobs} blobs, ${formatBytes(report.checkedBytes)} checked in ${formatSeconds(seconds)}; ${report.problems.length} broken`,
  ];

  for (const problem of report.problems) {
    const holders = problem.holders.map((holder) => `${holder.repository} (${holder.kind})`).join(', ');
    const outcome = [
      problem.quarantined ? 'quarantined' : undefined,
      problem.recoverable ? 'fetched again on the next pull' : 'lost',
    ].filter((part) => part !== undefined);

    lines.push(`${problem.problem}  ${problem.digest}  ${holders || 'no repository'}  ${outcome.join(', ')}`);
  }

  return `${lines.join('\n')}\n`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;

  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }

  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  }

  const minutes = Math.floor(seconds / 60);

  return minutes < 60
    ? `${minutes}m${Math.round(seconds % 60)}s`
    : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** The two scrub routes of the admin API, with the server's error messages turned into CLI errors. */
class AdminApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly authorization: string | undefined,
  ) {}

  async startScrub(): Promise<'started' | 'already-running'> {
    const response = await this.request('POST');

    if (response.status === 409) {
      await response.body?.cancel();

      return 'already-running';
    }

    await this.assertOk(response, 202);

    return 'started';
  }

  async scrubStatus(): Promise<{ running: Report | null; last: Report | null }> {
    const response = await this.request('GET');

    await this.assertOk(response, 200, false);

    return (await response.json()) as { running: Report | null; last: Report | null };
  }

  private async request(method: 'GET' | 'POST'): Promise<Response> {
    const url = new URL('/api/v1/scrub', this.baseUrl);

    try {
      return await fetch(url, {
        method,
        headers: this.authorization === undefined ? {} : { Authorization: this.authorization },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new CliError(`cannot reach Wharf at ${url.origin}: ${(error as Error).message}; is it running?`);
    }
  }

  private async assertOk(response: Response, status: number, consume = true): Promise<void> {
    if (response.status === status) {
      if (consume) {
        await response.body?.cancel();
      }

      return;
    }

    const body = (await response.json().catch(() => undefined)) as
      { errors?: { message?: string }[] } | undefined;
    const message = body?.errors?.[0]?.message ?? `HTTP ${response.status}`;
    const hint = response.status === 401 ? '; sign in with --user' : '';

    throw new CliError(`Wharf rejected the scrub request: ${message}${hint}`);
  }
}
