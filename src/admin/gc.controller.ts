import { Controller, Get, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';

import type { FastifyRequest } from 'fastify';

import { callerName } from '../auth/subject.js';
import { GarbageCollector, type GcReport } from '../lifecycle/garbage-collector.service.js';
import { AdminApi } from './admin-api.decorator.js';
import { StartGcQuery } from './admin-requests.js';
import { ErrorBody, GcReportView, GcStatusView } from './admin-responses.js';
import { isoTime } from './repository-listing.service.js';

/**
 * `/api/v1/gc`: garbage collection, which applies retention rules and cache quotas and deletes what
 * nothing holds. Only administrators may start it or read what it deleted.
 */
@AdminApi('lifecycle', { adminOnly: true })
@Controller('api/v1/gc')
export class GcController {
  constructor(@Inject(GarbageCollector) private readonly collector: GarbageCollector) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Start garbage collection in the background; follow it with GET' })
  @ApiAcceptedResponse({ type: GcReportView })
  @ApiBadRequestResponse({ type: ErrorBody, description: '`dryRun` is neither true nor false.' })
  @ApiConflictResponse({ type: ErrorBody, description: 'Garbage collection is already running.' })
  start(@Req() request: FastifyRequest, @Query() query: StartGcQuery): GcReportView {
    return reportView(
      this.collector.start({
        dryRun: query.dryRun === 'true',
        startedBy: callerName(request.caller?.subject),
      }),
    );
  }

  @Get()
  @ApiOperation({ summary: 'Show the garbage collection in progress and the report of the last one' })
  @ApiOkResponse({ type: GcStatusView })
  status(): GcStatusView {
    const { running, last, lastRealRun } = this.collector.status();

    return {
      running: running === null ? null : reportView(running),
      last: last === null ? null : reportView(last),
      lastRealRun: lastRealRun === null ? null : reportView(lastRealRun),
    };
  }
}

function reportView(report: GcReport): GcReportView {
  return {
    ...report,
    startedAt: isoTime(report.startedAt),
    finishedAt: report.finishedAt === null ? null : isoTime(report.finishedAt),
    phaseStartedAt: report.phaseStartedAt === null ? null : isoTime(report.phaseStartedAt),
    removed: { ...report.removed },
    quotas: report.quotas.map((quota) => ({ ...quota })),
    deletions: [...report.deletions],
  };
}
