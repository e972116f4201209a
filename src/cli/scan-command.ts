import { setTimeout as sleep } from 'node:timers/promises';

import { atOrAbove } from '../scanning/matcher.js';
import { exitCodes, CliError, UsageError } from './cli-error.js';
import {
  type AdminConnectionOptions,
  adminFetch,
  authorizationOf,
  progressBar,
  rejection,
} from './admin-job.js';
import type { Terminal } from './user-commands.js';

const pollIntervalMs = 500;
const severities = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'] as const;
const unfinished = new Set(['queued', 'scanning', 'matching']);

type Severity = (typeof severities)[number];

export interface ScanOptions extends AdminConnectionOptions {
  format: 'table' | 'json';
  /** Exit with 3 when a finding is at or above this severity; UNKNOWN means any finding. */
  failOn?: Severity;
}

interface ProgressBody {
  state: string;
  layers: number;
  layersRead: number;
  bytes: number;
  bytesRead: number;
  startedAt: string | null;
  queuedAt: string;
}

interface ImageBody {
  digest: string;
  status: string;
  /** False when a layer could not be read, so that findings may be missing. */
  complete: boolean;
  platform: { os: string; architecture: string; variant?: string } | null;
  os: { prettyName: string | null; id: string; versionId: string | null } | null;
  packageCount: number;
  error: string | null;
  warnings: string[];
  progress: ProgressBody | null;
}

interface FindingBody {
  id: string;
  aliases: string[];
  severity: Severity;
  score: number | null;
  package: { name: string; type: string; location: string; sourceName?: string };
  installedVersion: string;
  fixedVersion: string | null;
  image: string;
}

interface VulnerabilitiesBody {
  repository: string;
  digest: string;
  images: ImageBody[];
  summary: { counts: Record<Severity, number> };
  findings: FindingBody[];
}

/** An image reference split into its parts; `host` is set when it began with a registry host. */
export interface ImageReference {
  host?: string;
  repository: string;
  reference: string;
  /** True when no tag or digest was given, so `latest` was assumed. */
  defaulted: boolean;
}

/**
 * Splits an image reference as `wharf scan` takes it: `name:tag`, `name@digest`, or a bare name for
 * `latest`. A first component with a `.` or a `:`, or `localhost`, is a registry host, as in the
 * `docker pull` lines the web UI shows, and is set apart.
 */
export function parseImageReference(text: string): ImageReference {
  if (text === '') {
    throw new UsageError('give an image reference, such as team/app:v1 or team/app@sha256:…');
  }

  if (text.includes('://')) {
    throw new UsageError(
      `${text} has a transport or scheme; give the reference as docker pull takes it, such as team/app:v1`,
    );
  }

  const slash = text.indexOf('/');
  const first = slash > 0 ? text.slice(0, slash) : '';
  const host = first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
  const rest = host === undefined ? text : text.slice(slash + 1);
  const at = rest.indexOf('@');

  if (at > 0) {
    return { host, repository: rest.slice(0, at), reference: rest.slice(at + 1), defaulted: false };
  }

  const colon = rest.lastIndexOf(':');

  if (colon > rest.lastIndexOf('/') && colon > 0) {
    return { host, repository: rest.slice(0, colon), reference: rest.slice(colon + 1), defaulted: false };
  }

  return { host, repository: rest, reference: 'latest', defaulted: true };
}

/** Says which image Wharf does not have, and that a bare name means `latest`. */
function notFoundMessage(image: ImageReference, url: string): string {
  if (image.defaulted) {
    return `no image ${image.repository}:latest in Wharf at ${url} (a name without a tag means :latest)`;
  }

  const separator = image.reference.includes(':') ? '@' : ':';

  return `no image ${image.repository}${separator}${image.reference} in Wharf at ${url}`;
}

/**
 * Scans an image of a running Wharf now, ahead of queued scans, draws progress on standard error and
 * prints the findings as a table or as JSON on standard output.
 */
export async function scanCommand(image: string, options: ScanOptions, terminal: Terminal): Promise<number> {
  const { host, repository, reference, defaulted } = parseImageReference(image);
  const authorization = await authorizationOf(options, terminal);

  if (host !== undefined && host !== new URL(options.url).host) {
    throw new UsageError(
      `${image} names the registry ${host}, but wharf scan asks the Wharf at ${options.url}; give --url with that registry's address, or leave the host out`,
    );
  }

  const started = await adminFetch(new URL('/api/v1/scans', options.url), {
    method: 'POST',
    authorization,
    body: JSON.stringify({ repository, reference }),
  });

  if (started.status === 404) {
    await started.body?.cancel();

    throw new CliError(notFoundMessage({ host, repository, reference, defaulted }, options.url));
  }

  if (started.status === 400) {
    const error = await rejection(started, `the scan of ${image}`, authorization);

    throw new UsageError(error.message);
  }

  if (started.status !== 202) {
    throw await rejection(started, `the scan of ${image}`, authorization);
  }

  const { digest, repository: stored } = (await started.json()) as { digest: string; repository: string };
  const route = new URL(
    `/api/v1/repositories/${encodeURIComponent(stored)}/manifests/${encodeURIComponent(digest)}/vulnerabilities`,
    options.url,
  );
  const result = await follow(route, authorization, terminal);

  terminal.stdout.write(options.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : tableOf(result));

  const failed = result.images.filter((entry) => entry.status === 'failed');

  if (failed.length > 0) {
    throw new CliError(
      `the scan of ${failed.map((entry) => entry.digest).join(', ')} failed: ${failed[0].error ?? 'see the Wharf log'}`,
    );
  }

  const incomplete = result.images.filter((entry) => !entry.complete).length;

  if (incomplete > 0) {
    terminal.stderr.write(
      `${incomplete === 1 ? 'one image was' : `${incomplete} images were`} not read completely, so findings may be missing; see the warnings\n`,
    );
  }

  if (options.failOn !== undefined && incomplete > 0) {
    return exitCodes.problemsFound;
  }

  if (options.failOn !== undefined) {
    const threshold = options.failOn;
    const above = result.findings.filter((finding) => atOrAbove(finding.severity, threshold));

    if (above.length > 0) {
      terminal.stderr.write(`${counted(above.length, 'finding')} at or above ${options.failOn}\n`);

      return exitCodes.problemsFound;
    }
  }

  return exitCodes.ok;
}

async function follow(
  route: URL,
  authorization: string | undefined,
  terminal: Terminal,
): Promise<VulnerabilitiesBody> {
  const interactive = (terminal.stderr as { isTTY?: boolean }).isTTY === true;

  for (;;) {
    const response = await adminFetch(route, { method: 'GET', authorization });

    if (response.status !== 200) {
      throw await rejection(response, 'reading the scan result', authorization);
    }

    const body = (await response.json()) as VulnerabilitiesBody;

    if (!body.images.some((entry) => unfinished.has(entry.status))) {
      if (interactive) {
        terminal.stderr.write('\r\u001b[2K');
      }

      return body;
    }

    if (interactive) {
      terminal.stderr.write(`\r\u001b[2K${progressLine(body)}`);
    }

    await sleep(pollIntervalMs);
  }
}

/** Renders the layers and bytes read so far over every image of the scan. */
export function progressLine(body: VulnerabilitiesBody, now = Date.now()): string {
  const running = body.images.flatMap((entry) => (entry.progress === null ? [] : [entry.progress]));
  const startedAt =
    running.map((entry) => entry.startedAt ?? entry.queuedAt).sort()[0] ?? new Date(now).toISOString();
  const state = running.some((entry) => entry.state === 'scanning')
    ? 'reading layers'
    : (running[0]?.state ?? 'queued');

  return `${state}  ${progressBar(
    {
      done: running.reduce((sum, entry) => sum + entry.layersRead, 0),
      total: running.reduce((sum, entry) => sum + entry.layers, 0),
      unit: 'layers',
      bytesDone: running.reduce((sum, entry) => sum + entry.bytesRead, 0),
      bytesTotal: running.reduce((sum, entry) => sum + entry.bytes, 0),
    },
    startedAt,
    now,
  )}`;
}

/** Lists the findings in columns, then a summary line per image and the warnings. */
export function tableOf(body: VulnerabilitiesBody): string {
  const several = body.images.length > 1;
  const rows = body.findings.map((finding) => [
    finding.severity,
    finding.id,
    finding.aliases.slice(0, 2).join(' '),
    finding.package.sourceName === undefined
      ? finding.package.name
      : `${finding.package.name} (${finding.package.sourceName})`,
    finding.installedVersion,
    finding.fixedVersion ?? '-',
    ...(several ? [platformOf(body.images.find((entry) => entry.digest === finding.image))] : []),
  ]);
  const header = [
    'SEVERITY',
    'ID',
    'ALIASES',
    'PACKAGE',
    'INSTALLED',
    'FIXED',
    ...(several ? ['PLATFORM'] : []),
  ];
  const lines = rows.length === 0 ? [] : columns([header, ...rows]);

  for (const entry of body.images) {
    const counts = severities
      .map(
        (level) =>
          [
            level,
            body.findings.filter((finding) => finding.image === entry.digest && finding.severity === level)
              .length,
          ] as const,
      )
      .filter(([, count]) => count > 0)
      .map(([level, count]) => `${count} ${level}`);

    lines.push(
      `${body.repository}@${entry.digest}${several ? ` (${platformOf(entry)})` : ''}: ${entry.status}${entry.complete ? '' : ' but incomplete, a layer could not be read'}, ${entry.os?.prettyName ?? 'unknown OS'}, ${counted(entry.packageCount, 'package')}, ${counts.length === 0 ? 'no findings' : counts.join(', ')}`,
    );

    for (const warning of entry.warnings.slice(0, 10)) {
      lines.push(`  warning: ${warning}`);
    }

    if (entry.warnings.length > 10) {
      lines.push(`  and ${entry.warnings.length - 10} more warnings (see --format json)`);
    }
  }

  return `${lines.join('\n')}\n`;
}

/** Writes a count with its noun, singular for one: `1 finding`, `3 findings`. */
function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function platformOf(entry: ImageBody | undefined): string {
  const platform = entry?.platform;

  return platform == null
    ? 'unknown'
    : [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));

  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd(),
  );
}
