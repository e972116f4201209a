import { setTimeout as sleep } from 'node:timers/promises';

import { CliError, UsageError } from './cli-error.js';
import { readFirstLine } from './password-input.js';
import type { Terminal } from './user-commands.js';

const pollIntervalMs = 500;
/** Without a terminal, a progress line is written at most this often. */
const plainProgressIntervalMs = 10_000;
const barWidth = 24;

/** How to reach a running Wharf and sign in to it. */
export interface AdminConnectionOptions {
  /** Base URL of the running Wharf, such as `http://127.0.0.1:5000`. */
  url: string;
  user?: string;
  passwordStdin: boolean;
}

/** The fields every job report of the admin API has. */
export interface JobReportBody {
  state: 'running' | 'finished' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** A kind of background job, as the command line starts and follows it. */
export interface AdminJob<Report> {
  /** The job's name in messages, such as `scrub`. */
  name: string;
  /** The route that starts it, with its query, such as `/api/v1/gc?dryRun=true`. */
  route: string;
  /** The route that shows the run in progress and the last one, such as `/api/v1/gc`. */
  statusRoute: string;
  progressLine: (report: Report) => string;
  /**
   * Returns why the report of a run someone else started does not fit this request, such as a dry
   * run when a real one was requested, or undefined when it fits.
   */
  mismatch?: (report: Report) => string | undefined;
}

/**
 * Starts a background job of a running Wharf through the admin API, such as a scrub, draws its
 * progress on standard error until it ends, and returns its final report. A run already going is
 * followed. When it is not the kind of run requested, the requested run starts after it.
 */
export async function runAdminJob<Report extends JobReportBody>(
  job: AdminJob<Report>,
  options: AdminConnectionOptions,
  terminal: Terminal,
): Promise<Report> {
  const api = new AdminJobClient<Report>(
    job.name,
    new URL(job.route, options.url),
    await authorizationOf(options, terminal),
  );

  for (;;) {
    if ((await api.start()) === 'started') {
      return follow(api, job, terminal);
    }

    terminal.stderr.write(`a ${job.name} is already running; following it\n`);

    const report = await follow(api, job, terminal);
    const mismatch = job.mismatch?.(report);

    if (mismatch === undefined) {
      return report;
    }

    terminal.stderr.write(`${mismatch}; starting the one requested\n`);
  }
}

/** Throws when a job failed, after its report was printed. */
export function assertJobFinished(name: string, report: JobReportBody): void {
  if (report.state === 'failed') {
    throw new CliError(`the ${name} failed: ${report.error ?? 'no reason given'}`);
  }
}

/** Builds the Authorization header for `--user`, with the password from standard input or WHARF_PASSWORD. */
export async function authorizationOf(
  options: AdminConnectionOptions,
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

/** Polls the job until it ends, drawing progress, and returns its report. */
async function follow<Report extends JobReportBody>(
  api: AdminJobClient<Report>,
  job: AdminJob<Report>,
  terminal: Terminal,
): Promise<Report> {
  const interactive = (terminal.stderr as { isTTY?: boolean }).isTTY === true;
  let lastPlainLine = 0;

  for (;;) {
    const status = await api.status().catch((error: unknown) => {
      // Wharf stopping while the job runs, for a restart, is the usual cause.
      throw new CliError(
        `lost contact with Wharf while the ${job.name} ran (${(error as Error).message}); once Wharf is back, GET ${job.statusRoute} shows how the run ended`,
      );
    });

    if (status.running === null) {
      if (interactive) {
        terminal.stderr.write('\r\u001b[2K');
      }

      if (status.last === null) {
        throw new CliError(`the ${job.name} ended without a report; see the Wharf log`);
      }

      return status.last;
    }

    if (interactive) {
      terminal.stderr.write(`\r\u001b[2K${job.progressLine(status.running)}`);
    } else if (Date.now() - lastPlainLine >= plainProgressIntervalMs) {
      terminal.stderr.write(`${job.progressLine(status.running)}\n`);
      lastPlainLine = Date.now();
    }

    await sleep(pollIntervalMs);
  }
}

/**
 * Renders a bar, the count and bytes done, the rate since `startedAt` and the time left, such as
 * `[#####....] 42%  120/300 blobs  1.2 GiB/2.9 GiB  85.0 MiB/s  20s left`. Without a byte total, the
 * rate and time left follow the count instead. Without any total, only the count and rate are shown.
 */
export function progressBar(
  progress: { done: number; total: number; unit: string; bytesDone?: number; bytesTotal?: number },
  startedAt: string,
  now = Date.now(),
): string {
  const elapsedSeconds = Math.max(0.001, (now - Date.parse(startedAt)) / 1000);

  if (progress.total <= 0) {
    const rate = progress.done / elapsedSeconds;

    return `${progress.done} ${progress.unit}  ${rate.toFixed(rate < 10 ? 1 : 0)} ${progress.unit}/s`;
  }

  const byBytes = progress.bytesTotal !== undefined && progress.bytesDone !== undefined;
  const count = `${progress.done}/${progress.total}`;
  const done = byBytes ? (progress.bytesDone ?? 0) : progress.done;
  const total = byBytes ? (progress.bytesTotal ?? 0) : progress.total;
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * barWidth);
  const rate = done / elapsedSeconds;
  const left = rate > 0 && total > 0 ? Math.max(0, total - done) / rate : undefined;

  return [
    `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`,
    `${Math.floor(fraction * 100)}%`,
    `${count} ${progress.unit}`,
    ...(byBytes ? [`${formatBytes(progress.bytesDone ?? 0)}/${formatBytes(progress.bytesTotal ?? 0)}`] : []),
    byBytes ? `${formatBytes(rate)}/s` : `${rate.toFixed(rate < 10 ? 1 : 0)} ${progress.unit}/s`,
    left === undefined ? 'time left unknown' : `${formatSeconds(left)} left`,
  ].join('  ');
}

/** Seconds between a report's start and end, or 0 while it runs. */
export function durationOf(report: JobReportBody): number {
  return report.finishedAt === null
    ? 0
    : (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;

  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }

  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  }

  const minutes = Math.floor(seconds / 60);

  return minutes < 60
    ? `${minutes}m${Math.round(seconds % 60)}s`
    : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}

/** The two routes of a job in the admin API, with the server's error messages turned into CLI errors. */
class AdminJobClient<Report> {
  constructor(
    private readonly name: string,
    private readonly url: URL,
    private readonly authorization: string | undefined,
  ) {}

  async start(): Promise<'started' | 'already-running'> {
    const response = await this.request('POST');

    if (response.status === 409) {
      await response.body?.cancel();

      return 'already-running';
    }

    await this.assertOk(response, 202);

    return 'started';
  }

  async status(): Promise<{ running: Report | null; last: Report | null }> {
    const response = await this.request('GET');

    await this.assertOk(response, 200, false);

    return (await response.json()) as { running: Report | null; last: Report | null };
  }

  private async request(method: 'GET' | 'POST'): Promise<Response> {
    return adminFetch(method === 'GET' ? new URL(this.url.pathname, this.url) : this.url, {
      method,
      authorization: this.authorization,
    });
  }

  private async assertOk(response: Response, status: number, consume = true): Promise<void> {
    if (response.status === status) {
      if (consume) {
        await response.body?.cancel();
      }

      return;
    }

    throw await rejection(response, `the ${this.name} request`, this.authorization);
  }
}

/** Sends one admin API request; a Wharf out of reach becomes a CliError that names its address. */
export async function adminFetch(
  url: URL,
  options: { method: string; authorization: string | undefined; body?: string },
): Promise<Response> {
  try {
    return await fetch(url, {
      method: options.method,
      headers: {
        ...(options.authorization === undefined ? {} : { Authorization: options.authorization }),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: options.body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError(`cannot reach Wharf at ${url.origin}: ${(error as Error).message}; is it running?`);
  }
}

/** Turns an admin API error response into a CliError with the server's message. */
export async function rejection(
  response: Response,
  what: string,
  authorization: string | undefined,
): Promise<CliError> {
  const body: unknown = await response.json().catch(() => undefined);

  return rejectionOf(what, response.status, body, authorization);
}

/**
 * Builds the CliError for an admin API response with status `status` and the parsed JSON `body`, or
 * undefined for a body that is not JSON. For a 401 to a request sent without credentials, the error
 * tells how to sign in, in place of the server's message.
 */
export function rejectionOf(
  what: string,
  status: number,
  body: unknown,
  authorization: string | undefined,
): CliError {
  if (status === 401 && authorization === undefined) {
    return new CliError(
      `Wharf rejected ${what}: sign in with --user, and give the password in WHARF_PASSWORD or with --password-stdin`,
    );
  }

  const message = (body as { errors?: { message?: string }[] } | undefined)?.errors?.[0]?.message;

  return new CliError(`Wharf rejected ${what}: ${message ?? `HTTP ${status}`}`);
}
