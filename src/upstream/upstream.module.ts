import { Module } from '@nestjs/common';

import { PullThroughBlobs } from './pull-through-blobs.service.js';
import { PullThroughListings } from './pull-through-listings.service.js';
import { PullThroughManifests } from './pull-through-manifests.service.js';
import { UpstreamClients } from './upstream-clients.js';
import { UpstreamRoutes } from './upstream-routes.js';
import { UpstreamStatisticsSampler } from './upstream-statistics-sampler.service.js';
import { UpstreamStatistics } from './upstream-statistics.service.js';
import { UpstreamStatus } from './upstream-status.service.js';

/** Pull-through caching of upstream registries behind path prefixes. */
@Module({
  providers: [
    UpstreamRoutes,
    UpstreamClients,
    UpstreamStatistics,
    UpstreamStatisticsSampler,
    UpstreamStatus,
    PullThroughManifests,
    PullThroughBlobs,
    PullThroughListings,
  ],
  exports: [
    UpstreamRoutes,
    UpstreamStatus,
    UpstreamStatisticsSampler,
    PullThroughManifests,
    PullThroughBlobs,
    PullThroughListings,
  ],
})
export class UpstreamModule {}
