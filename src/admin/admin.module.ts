import { Module } from '@nestjs/common';

import { AuthModule } from '../auth/auth.module.js';
import { DistributionModule } from '../distribution/distribution.module.js';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { ScanningModule } from '../scanning/scanning.module.js';
import { SigningModule } from '../signing/signing.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { ImageMeasurer } from './image-measurer.js';
import { ManifestDetails } from './manifest-details.service.js';
import { GcController } from './gc.controller.js';
import { RepositoriesController } from './repositories.controller.js';
import { RepositoryListing } from './repository-listing.service.js';
import { RepositoryPermissions } from './repository-permissions.js';
import { ScansController } from './scans.controller.js';
import { ScrubController } from './scrub.controller.js';
import { SignaturesController, SigningTrustController } from './signing.controller.js';
import { SystemController } from './system.controller.js';
import { UpstreamsController } from './upstreams.controller.js';
import { VulnDbController } from './vulndb.controller.js';

/**
 * The admin REST API under /api/v1: repositories, tags and images, deletes, upstream statistics and
 * system information, scrubbing, scans and signing trust. Its OpenAPI document is served by setUpOpenApi in openapi.ts.
 */
@Module({
  imports: [AuthModule, DistributionModule, UpstreamModule, LifecycleModule, ScanningModule, SigningModule],
  controllers: [
    RepositoriesController,
    UpstreamsController,
    SystemController,
    ScrubController,
    ScansController,
    GcController,
    VulnDbController,
    SigningTrustController,
    SignaturesController,
  ],
  providers: [ImageMeasurer, ManifestDetails, RepositoryListing, RepositoryPermissions],
})
export class AdminModule {}
