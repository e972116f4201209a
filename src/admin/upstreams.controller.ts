import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';

import { RepositorySummaryStore } from '../metadata/stores/repository-summary.store.js';
import {
  type UpstreamSample,
  type UpstreamTotals,
  UpstreamStatisticsStore,
} from '../metadata/stores/upstream-statistics.store.js';
import type { Upstream } from '../upstream/upstream-routes.js';
import { UpstreamRoutes } from '../upstream/upstream-routes.js';
import { UpstreamStatisticsSampler } from '../upstream/upstream-statistics-sampler.service.js';
import { isFailure, UpstreamStatus } from '../upstream/upstream-status.service.js';
import { AdminApi } from './admin-api.decorator.js';
import {
  ErrorBody,
  UpstreamHistoryView,
  UpstreamListView,
  type UpstreamSampleView,
  type UpstreamView,
} from './admin-responses.js';
import { isoTime } from './repository-listing.service.js';
import { withoutUrlPassword } from './system-report.js';
import { historyRanges, UpstreamHistoryQuery } from './upstream-history-query.js';

const noRequests: UpstreamTotals = {
  hits: 0,
  misses: 0,
  bytesFetched: 0,
  bytesServed: 0,
  notFound: 0,
  errors: 0,
  errorsByKind: {},
};

/** Samples per upstream that a history response has at most, enough for a chart's width. */
const maxSamplesPerUpstream = 300;

/**
 * `/api/v1/upstreams`: each configured pull-through upstream with its cache statistics (summed over its
 * repositories, from the database), the storage its cache uses, whether its latest request got a
 * response, and Docker Hub's pull quota when seen. `/history` returns the statistics over time. Any
 * signed-in user may read both, because counts, sizes and configured URLs name no repository and no
 * secret, and a password in a URL is removed.
 */
@AdminApi('upstreams')
@Controller('api/v1/upstreams')
export class UpstreamsController {
  constructor(
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(UpstreamStatus) private readonly status: UpstreamStatus,
    @Inject(UpstreamStatisticsStore) private readonly statistics: UpstreamStatisticsStore,
    @Inject(RepositorySummaryStore) private readonly repositories: RepositorySummaryStore,
    @Inject(UpstreamStatisticsSampler) private readonly sampler: UpstreamStatisticsSampler,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List the pull-through upstreams with cache statistics, status and rate limit' })
  @ApiOkResponse({ type: UpstreamListView })
  async list(): Promise<UpstreamListView> {
    const totals = await this.statistics.totals();
    const storage = await this.statistics.storageBytes(this.routes.all.map((upstream) => upstream.prefix));
    const upstreams: UpstreamView[] = [];

    for (const upstream of this.routes.all) {
      upstreams.push(
        await this.viewOf(
          upstream,
          totals.get(upstream.prefix) ?? noRequests,
          storage.get(upstream.prefix) ?? 0,
        ),
      );
    }

    return { upstreams };
  }

  @Get('history')
  @ApiOperation({
    summary: 'Read the cache statistics and storage of every upstream over time, for charts',
    description:
      'Samples are taken every `statistics.sampleInterval` and kept for `statistics.retention`. Counters ' +
      'are cumulative: the difference between two samples is the traffic between them.',
  })
  @ApiOkResponse({ type: UpstreamHistoryView })
  @ApiBadRequestResponse({
    type: ErrorBody,
    description: 'The range is not 1h, 24h or 7d, or the query has another parameter.',
  })
  async history(@Query() query: UpstreamHistoryQuery): Promise<UpstreamHistoryView> {
    const to = Date.now();
    const from = to - historyRanges[query.range];
    const history = await this.statistics.samples({
      upstreams: this.routes.all.map((upstream) => upstream.prefix),
      from,
      to,
      intervalMs: this.sampler.intervalMs,
      maxSamples: maxSamplesPerUpstream,
    });

    return {
      from: isoTime(from),
      to: isoTime(to),
      intervalSeconds: history.stepMs / 1000,
      upstreams: [...history.samples].map(([prefix, samples]) => ({
        prefix,
        samples: samples.map(sampleView),
      })),
    };
  }

  private async viewOf(
    upstream: Upstream,
    totals: UpstreamTotals,
    storageBytes: number,
  ): Promise<UpstreamView> {
    const status = this.status.snapshot(upstream.prefix);
    const rateLimit = status.rateLimit;

    return {
      prefix: upstream.prefix,
      url: withoutUrlPassword(upstream.url),
      dockerHub: upstream.dockerHub,
      cachedRepositories: await this.repositories.countInNamespace(upstream.prefix),
      storageBytes,
      statistics: totals,
      status: {
        reachable: status.lastResult === null ? null : !isFailure(status.lastResult),
        lastResult: status.lastResult,
        lastRequestAt: status.lastRequestAt === null ? null : isoTime(status.lastRequestAt),
        lastResponseAt: status.lastResponseAt === null ? null : isoTime(status.lastResponseAt),
        lastError:
          status.lastError === null
            ? null
            : { kind: status.lastError.kind, at: isoTime(status.lastError.at) },
      },
      rateLimit:
        rateLimit === null
          ? null
          : {
              limit: rateLimit.limit,
              remaining: rateLimit.remaining,
              windowSeconds: rateLimit.windowSeconds,
              observedAt: isoTime(rateLimit.observedAt),
            },
    };
  }
}

function sampleView(sample: UpstreamSample): UpstreamSampleView {
  return {
    at: isoTime(sample.sampledAt),
    hits: sample.hits,
    misses: sample.misses,
    bytesFetched: sample.bytesFetched,
    bytesServed: sample.bytesServed,
    notFound: sample.notFound,
    errors: sample.errors,
    storageBytes: sample.storageBytes,
  };
}
