import { Module } from '@nestjs/common';

import { AuthModule } from '../auth/auth.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { DistributionController } from './distribution.controller.js';
import { BlobsHandler } from './handlers/blobs.handler.js';
import { ListingsHandler } from './handlers/listings.handler.js';
import { ManifestsHandler } from './handlers/manifests.handler.js';
import { UploadsHandler } from './handlers/uploads.handler.js';
import { OciUrls } from './oci-urls.js';
import { BlobService } from './services/blob.service.js';
import { ContentReader } from './services/content-reader.js';
import { LocalRegistryReader } from './services/local-registry-reader.js';
import { ManifestService } from './services/manifest.service.js';
import { RegistryReader } from './services/registry-reader.js';
import { RoutingRegistryReader } from './services/routing-registry-reader.js';
import { UploadPurger } from './services/upload-purger.service.js';
import { UploadService } from './services/upload.service.js';

/** The OCI Distribution API under `/v2`. */
@Module({
  imports: [UpstreamModule, AuthModule],
  controllers: [DistributionController],
  providers: [
    OciUrls,
    BlobService,
    ManifestService,
    UploadService,
    UploadPurger,
    LocalRegistryReader,
    ContentReader,
    { provide: RegistryReader, useClass: RoutingRegistryReader },
    ManifestsHandler,
    BlobsHandler,
    UploadsHandler,
    ListingsHandler,
  ],
  exports: [RegistryReader, LocalRegistryReader, ContentReader, ManifestService, UploadService],
})
export class DistributionModule {}
