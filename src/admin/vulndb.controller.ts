import {
  BadRequestException,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Req,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';

import type { FastifyRequest } from 'fastify';

import { callerName } from '../auth/subject.js';
import { maxRecordBytes, type OsvSourceItem } from '../scanning/osv/osv-source.js';
import {
  type ImportReport,
  MirrorNotConfiguredError,
  type MirrorRefreshReport,
  VulnerabilityDatabase,
  VulnerabilityImportRunningError,
} from '../scanning/osv/vulnerability-database.service.js';
import { AdminApi } from './admin-api.decorator.js';
import {
  ErrorBody,
  VulnDbImportReportView,
  VulnDbMirrorRefreshView,
  VulnDbStatusView,
  VulnerabilityView,
} from './admin-responses.js';
import { isoTime } from './repository-listing.service.js';

const ndjsonType = 'application/x-ndjson';

/**
 * `/api/v1/vulndb` and `/api/v1/vulnerabilities`: the OSV vulnerability database that scans match
 * against. Administrators import records as NDJSON, refresh from the configured mirror, and read the
 * state and single records.
 */
@AdminApi('vulnerabilities', { adminOnly: true })
@Controller('api/v1')
export class VulnDbController {
  constructor(@Inject(VulnerabilityDatabase) private readonly database: VulnerabilityDatabase) {}

  @Get('vulndb')
  @ApiOperation({
    summary: 'Show the vulnerability database: record counts, generation, imports and the mirror',
  })
  @ApiOkResponse({ type: VulnDbStatusView })
  status(): VulnDbStatusView {
    const status = this.database.status();
    const mirror = status.mirror;

    return {
      records: status.records,
      withdrawn: status.withdrawn,
      ecosystems: status.ecosystems,
      generation: status.generation,
      updatedAt: status.updatedAt === null ? null : isoTime(status.updatedAt),
      lastImport: isImportReport(status.lastImport) ? importView(status.lastImport) : null,
      importing: status.importing === null ? null : importView(status.importing),
      mirror:
        mirror === null
          ? null
          : {
              url: mirror.url,
              interval: mirror.interval,
              running: mirror.running === null ? null : refreshView(mirror.running),
              last: mirror.last === null ? null : refreshView(mirror.last),
            },
    };
  }

  @Post('vulndb/import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import OSV records, one JSON record per line',
    description:
      'The body is streamed and stored in batches. A malformed line or record is a warning in the report, not a failure, but a body without any line is rejected.',
  })
  @ApiConsumes(ndjsonType)
  @ApiBody({ schema: { type: 'string', example: '{"id":"GHSA-...","modified":"...","affected":[...]}\n' } })
  @ApiOkResponse({ type: VulnDbImportReportView })
  @ApiBadRequestResponse({ type: ErrorBody, description: 'The body contains only blank lines, or nothing.' })
  @ApiConflictResponse({ type: ErrorBody, description: 'Another import is running.' })
  @ApiPayloadTooLargeResponse({ type: ErrorBody, description: 'A line is longer than 8 MiB.' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBody, description: 'The body is not application/x-ndjson.' })
  async import(@Req() request: FastifyRequest): Promise<VulnDbImportReportView> {
    const mediaType = request.headers['content-type']?.split(';')[0].trim().toLowerCase();

    if (mediaType !== ndjsonType) {
      throw new UnsupportedMediaTypeException(
        `send the records as ${ndjsonType}, one OSV record per line, not ${mediaType ?? 'without a Content-Type'}`,
      );
    }

    const body = (request.body ?? []) as AsyncIterable<Buffer | string>;
    const origin = `upload by ${callerName(request.caller?.subject)}`;

    try {
      return importView(await this.database.import(ndjsonRecords(body, maxRecordBytes), origin));
    } catch (error) {
      if (error instanceof VulnerabilityImportRunningError) {
        throw new ConflictException(error.message);
      }

      throw error;
    }
  }

  @Post('vulndb/refresh')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Refresh from the configured mirror in the background; follow it with GET /api/v1/vulndb',
  })
  @ApiAcceptedResponse({ type: VulnDbMirrorRefreshView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No mirror is configured.' })
  @ApiConflictResponse({ type: ErrorBody, description: 'A refresh is already running.' })
  refresh(@Req() request: FastifyRequest): VulnDbMirrorRefreshView {
    try {
      return refreshView(this.database.refreshMirror(callerName(request.caller?.subject)));
    } catch (error) {
      if (error instanceof MirrorNotConfiguredError) {
        throw new NotFoundException(error.message);
      }

      throw error;
    }
  }

  @Get('vulnerabilities/:id')
  @ApiOperation({ summary: 'Show one stored OSV record and the packages it names' })
  @ApiOkResponse({ type: VulnerabilityView })
  @ApiNotFoundResponse({ type: ErrorBody, description: 'No record has this id.' })
  vulnerability(@Param('id') id: string): VulnerabilityView {
    const stored = this.database.get(id);

    if (stored === undefined) {
      throw new NotFoundException(`no vulnerability record has the id ${JSON.stringify(id)}`);
    }

    return {
      id: stored.id,
      modified: isoTime(stored.modified),
      withdrawn: stored.withdrawn === null ? null : isoTime(stored.withdrawn),
      importedAt: isoTime(stored.importedAt),
      packages: stored.packages,
      record: JSON.parse(stored.record) as Record<string, unknown>,
    };
  }
}

/**
 * Splits an NDJSON body into records named `line N`, skipping blank lines. Throws a 413 as soon as a
 * line grows past `maxLineBytes`, so no line is held in memory beyond that, and a 400 at the end of a
 * body without any line that is not blank.
 */
export async function* ndjsonRecords(
  body: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<OsvSourceItem> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNumber = 0;
  let records = 0;

  const lineOf = (last: Buffer): OsvSourceItem | undefined => {
    lineNumber++;

    if (pendingBytes + last.length > maxLineBytes) {
      throw lineTooLong(lineNumber, maxLineBytes);
    }

    const text = Buffer.concat([...pending, last])
      .toString('utf8')
      .replace(/\r$/, '');

    pending = [];
    pendingBytes = 0;

    return text.trim() === '' ? undefined : { name: `line ${lineNumber}`, text };
  };

  for await (const received of body) {
    const chunk = typeof received === 'string' ? Buffer.from(received) : received;
    let start = 0;

    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const item = lineOf(chunk.subarray(start, end));

      start = end + 1;

      if (item !== undefined) {
        records++;
        yield item;
      }
    }

    const rest = chunk.subarray(start);

    pendingBytes += rest.length;

    if (pendingBytes > maxLineBytes) {
      throw lineTooLong(lineNumber + 1, maxLineBytes);
    }

    if (rest.length > 0) {
      pending.push(rest);
    }
  }

  const last = lineOf(Buffer.alloc(0));

  if (last !== undefined) {
    records++;
    yield last;
  }

  if (records === 0) {
    throw new BadRequestException('the body contains no OSV records; send one JSON record per line');
  }
}

function lineTooLong(lineNumber: number, maxLineBytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(
    `line ${lineNumber} is longer than ${maxLineBytes} bytes, the limit for one record; the records before it were imported`,
  );
}

function isImportReport(value: unknown): value is ImportReport {
  return typeof value === 'object' && value !== null && typeof (value as ImportReport).origin === 'string';
}

function importView(report: ImportReport): VulnDbImportReportView {
  return {
    ...report,
    startedAt: isoTime(report.startedAt),
    finishedAt: report.finishedAt === null ? null : isoTime(report.finishedAt),
    warnings: [...report.warnings],
  };
}

function refreshView(report: MirrorRefreshReport): VulnDbMirrorRefreshView {
  return {
    ...report,
    startedAt: isoTime(report.startedAt),
    finishedAt: report.finishedAt === null ? null : isoTime(report.finishedAt),
    import: report.import === null ? null : importView(report.import),
  };
}
