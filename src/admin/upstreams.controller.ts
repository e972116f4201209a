import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';

import { RepositorySummaryStore } from '../metadata/stores/repository-summary.store.js';
import {
  type UpstreamTotals,
  UpstreamStatisticsStore,
} from '../metadata/stores/upstream-statistics.store.js';
import type { Upstream } from '../upstream/upstream-routes.js';
import { UpstreamRoutes } from '../upstream/upstream-routes.js';
import { isFailure, UpstreamStatus } from '../upstream/upstream-status.service.js';
import { ErrorBody, UpstreamListView, type UpstreamView } from './admin-responses.js';
import { isoTime } from './repository-listing.service.js';
import { withoutUrlPassword } from './system-report.js';

const noRequests: UpstreamTotals = {
  hits: 0,
  misses: 0,
  bytesFetched: 0,
  bytesServed: 0,
  notFound: 0,
  errors: 0,
  errorsByKind: {},
};

/**
 * `/api/v1/upstreams`: each configured pull-through upstream with its cache statistics (summed over its
 * repositories, from the database), whether its latest request got a response, and Docker Hub's pull
 * quota when seen. Any signed-in user may read it: counts and configured URLs name no repository
 * and no secret, and a password in a URL is removed.
 */
@ApiTags('upstreams')
@ApiSecurity('basic')
@ApiSecurity('session')
@ApiUnauthorizedResponse({ type: ErrorBody, description: 'Not signed in.' })
@Controller('api/v1/upstreams')
export class UpstreamsController {
  constructor(
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(UpstreamStatus) private readonly status: UpstreamStatus,
    @Inject(UpstreamStatisticsStore) private readonly statistics: UpstreamStatisticsStore,
    @Inject(RepositorySummaryStore) private readonly repositories: RepositorySummaryStore,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List the pull-through upstreams with cache statistics, status and rate limit' })
  @ApiOkResponse({ type: UpstreamListView })
  async list(): Promise<UpstreamListView> {
    const totals = await this.statistics.totals();
    const upstreams: UpstreamView[] = [];

    for (const upstream of this.routes.all) {
      upstreams.push(await this.viewOf(upstream, totals.get(upstream.prefix) ?? noRequests));
    }

    return { upstreams };
  }

  private async viewOf(upstream: Upstream, totals: UpstreamTotals): Promise<UpstreamView> {
    const status = this.status.snapshot(upstream.prefix);
    const rateLimit = status.rateLimit;

    return {
      prefix: upstream.prefix,
      url: withoutUrlPassword(upstream.url),
      dockerHub: upstream.dockerHub,
      cachedRepositories: await this.repositories.countInNamespace(upstream.prefix),
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
