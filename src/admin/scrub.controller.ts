import { Controller, Get, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';

import type { FastifyRequest } from 'fastify';

import { callerName } from '../auth/subject.js';
import { Scrubber, type ScrubReport } from '../lifecycle/scrubber.service.js';
import { AdminApi } from './admin-api.decorator.js';
import { ErrorBody, ScrubReportView, ScrubStatusView } from './admin-responses.js';
import { isoTime } from './repository-listing.service.js';

/**
 * `/api/v1/scrub`: checks that every stored blob still hashes to its digest. Starting one reads the
 * whole store from disk, so only administrators may.
 */
@AdminApi('lifecycle', { adminOnly: true })
@Controller('api/v1/scrub')
export class ScrubController {
  constructor(@Inject(Scrubber) private readonly scrubber: Scrubber) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Start a scrub in the background; follow it with GET' })
  @ApiAcceptedResponse({ type: ScrubReportView })
  @ApiConflictResponse({ type: ErrorBody, description: 'A scrub is already running.' })
  start(@Req() request: FastifyRequest): ScrubReportView {
    return reportView(this.scrubber.start(callerName(request.caller?.subject)));
  }

  @Get()
  @ApiOperation({ summary: 'Show the scrub in progress and the findings of the last one' })
  @ApiOkResponse({ type: ScrubStatusView })
  status(): ScrubStatusView {
    const { running, last } = this.scrubber.status();

    return {
      running: running === null ? null : reportView(running),
      last: last === null ? null : reportView(last),
    };
  }
}

function reportView(report: ScrubReport): ScrubReportView {
  return {
    ...report,
    startedAt: isoTime(report.startedAt),
    finishedAt: report.finishedAt === null ? null : isoTime(report.finishedAt),
    problems: report.problems.map((problem) => ({ ...problem, holders: [...problem.holders] })),
  };
}
