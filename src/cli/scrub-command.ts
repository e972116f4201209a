import { exitCodes } from './cli-error.js';
import {
  type AdminConnectionOptions,
  assertJobFinished,
  durationOf,
  formatBytes,
  formatSeconds,
  type JobReportBody,
  progressBar,
  runAdminJob,
} from './admin-job.js';
import type { Terminal } from './user-commands.js';

interface Report extends JobReportBody {
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
}

/**
 * Starts a scrub on a running Wharf through the admin API, shows its progress on standard error and
 * prints the findings on standard output. Returns the exit code: 0 when every blob is intact,
 * `exitCodes.problemsFound` when some are broken.
 */
export async function scrubCommand(options: AdminConnectionOptions, terminal: Terminal): Promise<number> {
  const report = await runAdminJob<Report>(
    { name: 'scrub', route: '/api/v1/scrub', statusRoute: '/api/v1/scrub', progressLine },
    options,
    terminal,
  );

  terminal.stdout.write(summaryOf(report));
  assertJobFinished('scrub', report);

  return report.problems.length > 0 ? exitCodes.problemsFound : exitCodes.ok;
}

/** Renders a bar, files and bytes done, the rate and the time left, such as `[#####....] 42% …`. */
export function progressLine(report: Report, now = Date.now()): string {
  return progressBar(
    {
      done: report.checkedBlobs,
      total: report.totalBlobs,
      unit: 'blobs',
      bytesDone: report.checkedBytes,
      bytesTotal: report.totalBytes,
    },
    report.startedAt,
    now,
  );
}

/** Lists what the scrub found, one broken blob a line, after a line of totals. */
export function summaryOf(report: Report): string {
  const seconds = durationOf(report);
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
