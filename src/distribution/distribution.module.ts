import { Module } from '@nestjs/common';

import { DistributionController } from './distribution.controller.js';
import { BlobsHandler } from './handlers/blobs.handler.js';
import { ListingsHandler } from './handlers/listings.handler.js';
import { ManifestsHandler } from './handlers/manifests.handler.js';
import { UploadsHandler } from './handlers/uploads.handler.js';
import { OciUrls } from './oci-urls.js';
import { BlobService } from './services/blob.service.js';
import { BlobWriter } from './services/blob-writer.js';
import { LocalRegistryReader } from './services/local-registry-reader.js';
import { ManifestService } from './services/manifest.service.js';
import { RegistryReader } from './services/registry-reader.js';
import { UploadPurger } from './services/upload-purger.service.js';
import { UploadService } from './services/upload.service.js';

/** The OCI Distribution API under `/v2`. */
@Module({
  controllers: [DistributionController],
  providers: [
    OciUrls,
    BlobService,
    BlobWriter,
    ManifestService,
    UploadService,
    UploadPurger,
    { provide: RegistryReader, useClass: LocalRegistryReader },
    ManifestsHandler,
    BlobsHandler,
    UploadsHandler,
    ListingsHandler,
  ],
  exports: [RegistryReader, UploadService],
})
export class DistributionModule {}
