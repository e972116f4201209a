import { Readable } from 'node:stream';

import { request } from 'undici';

import { OsvSourceError, readOsvSource } from '../scanning/osv/osv-source.js';
import { type AdminConnectionOptions, authorizationOf, rejectionOf } from './admin-job.js';
import { CliError, exitCodes } from './cli-error.js';
import type { Terminal } from './user-commands.js';

/** Without a terminal, a progress line is written at most this often. */
const plainProgressIntervalMs = 10_000;

/** On a terminal, the progress line is redrawn at most this often. */
const interactiveProgressIntervalMs = 100;

/** Warnings the summary lists; the rest are counted. */
const listedWarnings = 20;

/** An import report as the admin API returns it. */
export interface ImportReportBody {
  origin: string;
  startedAt: string;
  finishedAt: string | null;
  records: number;
  added: number;
  updated: number;
  unchanged: number;
  skipped: number;
  warnings: string[];
  moreWarnings: number;
  generation: number;
  error: string | null;
}

/** A mirror refresh report as the admin API returns it. */
interface RefreshReportBody {
  state: string;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  url: string;
  notModified: boolean;
  bytes: number;
  import: ImportReportBody | null;
}

/** `GET /api/v1/vulndb` as the admin API returns it. */
export interface StatusBody {
  records: number;
  withdrawn: number;
  ecosystems: { ecosystem: string; records: number }[];
  generation: number;
  updatedAt: string | null;
  lastImport: ImportReportBody | null;
  importing: ImportReportBody | null;
  mirror: {
    url: string;
    interval: string;
    running: RefreshReportBody | null;
    last: RefreshReportBody | null;
  } | null;
}

/** The warnings about records the command line could not send, and the file name of each line it sent. */
interface LocalImport {
  /** File or entry names by line number, from 1, to name the lines the server's warnings mention. */
  names: string[];
  /** One warning for each record or file skipped here, so their number is the number skipped. */
  warnings: string[];
}

/**
 * Reads OSV records from a folder, zip archive or JSON file on this machine and streams them as NDJSON
 * to a running Wharf, showing how many were sent on standard error and the import report on standard
 * output. Files that cannot be read and records that are not JSON are reported here and not sent.
 * Throws a CliError, and sends nothing, when the source contains no record that can be sent.
 */
export async function vulndbImportCommand(
  options: AdminConnectionOptions & { path: string },
  terminal: Terminal,
): Promise<number> {
  const api = new VulnDbClient(options.url, await authorizationOf(options, terminal));
  const local: LocalImport = { names: [''], warnings: [] };

  // Checks the address and the credentials before any record is read.
  await api.status('the import');

  const progress = new Progress(terminal);
  const lines = ndjsonLines(options.path, local, progress);
  // Reading the first record before the upload starts reports a missing path or a damaged archive as
  // itself, not as a failed request.
  const first = await lines.next();

  if (first.done === true) {
    throw nothingToSend(options.path, local, terminal);
  }

  const report = await api.import(Readable.from(resume(first, lines))).finally(() => progress.finish());

  terminal.stdout.write(importSummary(options.path, report, local));

  return exitCodes.ok;
}

/** Prints the state of the vulnerability database of a running Wharf, or its JSON with `json`. */
export async function vulndbStatusCommand(
  options: AdminConnectionOptions & { json: boolean },
  terminal: Terminal,
): Promise<number> {
  const api = new VulnDbClient(options.url, await authorizationOf(options, terminal));
  const status = await api.status();

  terminal.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : statusSummary(status));

  return exitCodes.ok;
}

/**
 * Turns the source's records into NDJSON lines, each record's JSON on one line. Records that are not
 * JSON and files the source skipped become local warnings.
 */
async function* ndjsonLines(path: string, local: LocalImport, progress: Progress): AsyncGenerator<Buffer> {
  try {
    for await (const item of readOsvSource(path)) {
      if ('warning' in item) {
        local.warnings.push(item.warning);
        progress.skipped++;
        continue;
      }

      let json: unknown;

      try {
        json = JSON.parse(item.text);
      } catch (error) {
        local.warnings.push(`${item.name}: not valid JSON (${(error as Error).message})`);
        progress.skipped++;
        continue;
      }

      local.names.push(item.name);
      progress.sent++;
      progress.draw();
      yield Buffer.from(`${JSON.stringify(json)}\n`);
    }
  } catch (error) {
    throw error instanceof OsvSourceError ? new CliError(error.message) : error;
  }
}

async function* resume<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done !== true) {
    yield first.value;
    yield* rest;
  }
}

/**
 * Builds the error for a source whose every item was skipped here. With more than one, their warnings
 * are written to standard error first, because the error is printed as one line.
 */
function nothingToSend(path: string, local: LocalImport, terminal: Terminal): CliError {
  if (local.warnings.length === 1) {
    return new CliError(`no OSV record could be read from ${path}: ${oneLine(local.warnings[0])}`);
  }

  terminal.stderr.write(`${warningLines(local.warnings, 0).join('\n')}\n`);

  return new CliError(
    `no OSV record could be read from ${path}: all ${local.warnings.length} were skipped (see the warnings above)`,
  );
}

/**
 * Lists the counts, then the first warnings, local ones first, with file names for the server's line
 * numbers. The records read here and skipped are counted in `records` too, so that `records` is the sum
 * of added, updated, unchanged and skipped.
 */
export function importSummary(path: string, report: ImportReportBody, local: LocalImport): string {
  const records = report.records + local.warnings.length;
  const skipped = report.skipped + local.warnings.length;
  const lines = [
    `imported ${counted(records, 'record')} from ${path}: ${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged, ${skipped} skipped; database generation ${report.generation}`,
  ];
  const warnings = [
    ...local.warnings,
    ...report.warnings.map((warning) => {
      const match = /^line (\d+): (.*)$/s.exec(warning);
      const name = match === null ? undefined : local.names[Number(match[1])];

      return match !== null && name !== undefined ? `${name}: ${match[2]}` : warning;
    }),
  ];

  lines.push(...warningLines(warnings, report.moreWarnings));

  return `${lines.join('\n')}\n`;
}

/** Renders the first warnings one per line, and counts the rest with the `unlisted` ones the server counted. */
function warningLines(warnings: string[], unlisted: number): string[] {
  const lines = warnings.slice(0, listedWarnings).map((warning) => `warning: ${oneLine(warning)}`);
  const more = warnings.length - Math.min(warnings.length, listedWarnings) + unlisted;

  if (more > 0) {
    lines.push(`and ${counted(more, 'more warning')}`);
  }

  return lines;
}

/** Writes line breaks and other control characters as JSON escapes, so that a warning stays on one line. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  return text.replace(/[\u0000-\u001f\u007f]/g, (character) => JSON.stringify(character).slice(1, -1));
}

/** Writes `count` with `noun`, adding an `s` unless the count is 1. */
function counted(count: number, noun: string): string {
  return `${count} ${count === 1 ? noun : `${noun}s`}`;
}

/** Renders the counts per ecosystem, the last import and the mirror. */
export function statusSummary(status: StatusBody): string {
  const lines = [
    `${counted(status.records, 'record')} (${status.withdrawn} withdrawn), generation ${status.generation}, last changed ${status.updatedAt ?? 'never'}`,
  ];

  for (const { ecosystem, records } of status.ecosystems) {
    lines.push(`  ${ecosystem.padEnd(24)} ${records}`);
  }

  if (status.importing !== null) {
    lines.push(
      `importing from ${status.importing.origin}: ${counted(status.importing.records, 'record')} read so far`,
    );
  }

  lines.push(
    status.lastImport === null ? 'last import: none' : `last import: ${importLine(status.lastImport)}`,
  );

  if (status.mirror === null) {
    lines.push('mirror: none configured');
  } else {
    const { mirror } = status;

    lines.push(`mirror: ${mirror.url}, every ${mirror.interval}`);

    if (mirror.running !== null) {
      lines.push(`  refresh running since ${mirror.running.startedAt}`);
    }

    if (mirror.last !== null) {
      lines.push(`  last refresh: ${refreshLine(mirror.last)}`);
    }
  }

  return `${lines.join('\n')}\n`;
}

function importLine(report: ImportReportBody): string {
  const outcome = report.error === null ? '' : `, stopped early: ${report.error}`;

  return `${report.origin} at ${report.finishedAt ?? report.startedAt}: ${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged, ${report.skipped} skipped${outcome}`;
}

function refreshLine(report: RefreshReportBody): string {
  const when = report.finishedAt ?? report.startedAt;

  if (report.state === 'failed') {
    return `failed at ${when}: ${report.error ?? 'no reason given'}`;
  }

  if (report.notModified) {
    return `${report.state} at ${when}: not modified since the refresh before`;
  }

  return `${report.state} at ${when}: ${counted(report.bytes, 'byte')}, ${report.import === null ? 'nothing imported' : importLine(report.import)}`;
}

/** Counts records sent and skipped, and shows them on standard error. */
class Progress {
  sent = 0;
  skipped = 0;
  private readonly interactive: boolean;
  /** Starts at the creation time, so that an import that ends early writes only the final line. */
  private lastDrawn = Date.now();

  constructor(private readonly terminal: Terminal) {
    this.interactive = (terminal.stderr as { isTTY?: boolean }).isTTY === true;
  }

  draw(): void {
    const now = Date.now();
    const interval = this.interactive ? interactiveProgressIntervalMs : plainProgressIntervalMs;

    if (now - this.lastDrawn < interval) {
      return;
    }

    this.lastDrawn = now;
    this.terminal.stderr.write(this.interactive ? `\r\u001b[2K${this.line()}` : `${this.line()}\n`);
  }

  finish(): void {
    this.terminal.stderr.write(this.interactive ? `\r\u001b[2K${this.line()}\n` : `${this.line()}\n`);
  }

  private line(): string {
    return `sent ${counted(this.sent, 'record')}${this.skipped > 0 ? `, ${this.skipped} skipped` : ''}`;
  }
}

/** The vulnerability database routes of the admin API, with the server's error messages turned into CLI errors. */
class VulnDbClient {
  constructor(
    private readonly baseUrl: string,
    private readonly authorization: string | undefined,
  ) {}

  /** Reads the database state; `purpose` names the request in errors, such as `the import`. */
  async status(purpose = 'the status request'): Promise<StatusBody> {
    const response = await this.send('GET', '/api/v1/vulndb');

    return (await this.bodyOf(response, purpose)) as StatusBody;
  }

  async import(body: Readable): Promise<ImportReportBody> {
    const response = await this.send('POST', '/api/v1/vulndb/import', body);

    return (await this.bodyOf(response, 'the import')) as ImportReportBody;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body?: Readable,
  ): Promise<{ statusCode: number; text: () => Promise<string> }> {
    const headers: Record<string, string> = { accept: 'application/json' };

    if (this.authorization !== undefined) {
      headers.authorization = this.authorization;
    }

    if (body !== undefined) {
      headers['content-type'] = 'application/x-ndjson';
    }

    try {
      const response = await request(new URL(path, this.baseUrl), {
        method,
        headers,
        body,
        // Wharf responds to an import once it has stored the last batch, however long the upload took.
        headersTimeout: body === undefined ? 30_000 : 0,
        bodyTimeout: 30_000,
      });

      return { statusCode: response.statusCode, text: () => response.body.text() };
    } catch (error) {
      if (error instanceof CliError) {
        throw error;
      }

      throw new CliError(
        `cannot reach Wharf at ${new URL(this.baseUrl).origin}: ${(error as Error).message}; is it running?`,
      );
    }
  }

  private async bodyOf(
    response: { statusCode: number; text: () => Promise<string> },
    requestName: string,
  ): Promise<unknown> {
    const text = await response.text();
    let body: unknown;

    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }

    if (response.statusCode === 200) {
      return body;
    }

    throw rejectionOf(requestName, response.statusCode, body, this.authorization);
  }
}
