import { Module } from '@nestjs/common';

import { AuthModule } from '../auth/auth.module.js';
import { DistributionModule } from '../distribution/distribution.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { ImageScanner } from './image-scanner.service.js';
import { PullPolicy } from './pull-policy.js';
import { SbomPublisher } from './sbom/sbom-publisher.js';
import { VulnerabilityDatabase } from './osv/vulnerability-database.service.js';

/**
 * Vulnerability scanning: the inventory (SBOM) of each image, an OSV vulnerability database imported
 * or mirrored by the operator, scans queued on push, cache fill and database changes, and the pull
 * policy that refuses images with findings.
 */
@Module({
  imports: [AuthModule, DistributionModule, UpstreamModule],
  providers: [VulnerabilityDatabase, ImageScanner, PullPolicy, SbomPublisher],
  exports: [VulnerabilityDatabase, ImageScanner, SbomPublisher],
})
export class ScanningModule {}
