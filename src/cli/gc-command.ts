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
  dryRun: boolean;
  phase: string | null;
  phaseStartedAt: string | null;
  phaseDone: number;
  phaseTotal: number;
  removed: { tags: number; manifests: number; links: number; blobs: number; files: number; bytes: number };
  quotas: {
    upstream: string;
    maxSize: number;
    sizeBefore: number;
    sizeAfter: number;
    evictedImages: number;
  }[];
  deletions: {
    kind: string;
    repository: string | null;
    tag: string | null;
    digest: string;
    size: number | null;
    reason: string;
  }[];
  unlistedDeletions: number;
}

/** The unit each phase counts in, for the progress line. */
const phaseUnits: Record<string, string> = {
  retention: 'repositories',
  quotas: 'images',
  blobs: 'blobs',
  files: 'files',
};

/**
 * Runs garbage collection on a running Wharf through the admin API, shows its progress on standard
 * error and prints what it deleted, or in a dry run what it would delete, on standard output.
 */
export async function gcCommand(
  options: AdminConnectionOptions & { dryRun: boolean },
  terminal: Terminal,
): Promise<number> {
  const report = await runAdminJob<Report>(
    {
      name: 'garbage collection',
      route: options.dryRun ? '/api/v1/gc?dryRun=true' : '/api/v1/gc',
      statusRoute: '/api/v1/gc',
      progressLine,
      mismatch: (report) =>
        report.dryRun === options.dryRun
          ? undefined
          : `the garbage collection that ran was ${report.dryRun ? 'a dry run' : 'a real run'}`,
    },
    options,
    terminal,
  );

  terminal.stdout.write(summaryOf(report));
  assertJobFinished('garbage collection', report);

  return exitCodes.ok;
}

/** Renders the phase, a bar, the count done, the rate and the time left. */
export function progressLine(report: Report, now = Date.now()): string {
  const phase = report.phase ?? 'starting';
  const bar = progressBar(
    { done: report.phaseDone, total: report.phaseTotal, unit: phaseUnits[phase] ?? 'steps' },
    report.phaseStartedAt ?? report.startedAt,
    now,
  );

  return `${phase}  ${bar}`;
}

/** Lists totals, each cache over its quota, and every listed deletion, one a line. */
export function summaryOf(report: Report): string {
  const { removed } = report;
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `garbage collection ${report.state}${report.dryRun ? ' (dry run)' : ''} in ${formatSeconds(durationOf(report))}: ${verb} ${removed.tags} tags, ${removed.manifests} manifests, ${removed.links} blob links, ${removed.blobs} blobs and ${removed.files} files, ${formatBytes(removed.bytes)}`,
  ];

  for (const quota of report.quotas) {
    lines.push(
      `cache ${quota.upstream}: ${formatBytes(quota.sizeBefore)} before, ${formatBytes(quota.sizeAfter)} after, quota ${formatBytes(quota.maxSize)}; ${quota.evictedImages} images ${report.dryRun ? 'would be evicted' : 'evicted'}`,
    );
  }

  for (const deletion of report.deletions) {
    lines.push(deletionLine(deletion));
  }

  if (report.unlistedDeletions > 0) {
    lines.push(`and ${report.unlistedDeletions} more`);
  }

  return `${lines.join('\n')}\n`;
}

function deletionLine(deletion: Report['deletions'][number]): string {
  const what =
    deletion.kind === 'tag'
      ? `${deletion.repository ?? ''}:${deletion.tag ?? ''}  ${deletion.digest}`
      : deletion.repository === null
        ? deletion.digest
        : `${deletion.repository}@${deletion.digest}`;
  const size = deletion.size === null ? [] : [formatBytes(deletion.size)];

  return [deletion.kind.padEnd(8), what, ...size, deletion.reason].join('  ');
}
