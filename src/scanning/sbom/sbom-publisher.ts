import { Readable } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';

import { Digest } from '../../common/digest.js';
import { mediaTypes } from '../../common/media-types.js';
import { findPackage } from '../../common/package-info.js';
import { WharfConfig } from '../../config/config.schema.js';
import { ContentReader } from '../../distribution/services/content-reader.js';
import { ManifestService } from '../../distribution/services/manifest.service.js';
import { UploadService } from '../../distribution/services/upload.service.js';
import { UpstreamRoutes } from '../../upstream/upstream-routes.js';
import type { ImagePlatform, StoredInventory } from '../image-scanner.service.js';
import { cycloneDxDocument } from './cyclonedx.js';
import { type ImageDescription, sbomArtifact, sbomArtifactTypes } from './sbom-artifact.js';
import { spdxDocument } from './spdx.js';

/** The SBOM formats Wharf writes. */
export type SbomFormat = 'spdx' | 'cyclonedx';

export const sbomFormats: readonly SbomFormat[] = ['spdx', 'cyclonedx'];

/** The image an SBOM describes: its manifest descriptor. */
export interface SbomSubject {
  digest: string;
  mediaType: string;
  size: number;
}

/**
 * Writes SBOM documents of scanned images, and attaches them to images in local repositories as OCI
 * referrer artifacts, one per format, so that `/v2/<name>/referrers/<digest>` lists them. Cached
 * repositories mirror their upstream and get no artifacts of Wharf's own.
 */
@Injectable()
export class SbomPublisher {
  private readonly toolVersion = findPackage(import.meta.url).version;

  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(UpstreamRoutes) private readonly routes: UpstreamRoutes,
    @Inject(ContentReader) private readonly reader: ContentReader,
    @Inject(UploadService) private readonly uploads: UploadService,
    @Inject(ManifestService) private readonly manifests: ManifestService,
  ) {}

  /** The SBOM document of an image in one format. */
  document(
    format: SbomFormat,
    repository: string,
    subject: SbomSubject,
    inventory: StoredInventory,
    created: Date,
  ): object {
    const image = this.describe(repository, subject, inventory.platform);

    return format === 'spdx'
      ? spdxDocument(image, inventory, created)
      : cycloneDxDocument(image, inventory, created);
  }

  /** Attaches both SBOM formats to a local image, skipping a format it already has and blobs the repository stores. */
  async publish(repository: string, subject: SbomSubject, inventory: StoredInventory): Promise<void> {
    if (!this.config.scanning.attachSbom || this.routes.match(repository) !== undefined) {
      return;
    }

    const referrers = await this.reader.referrers(repository, Digest.parse(subject.digest));

    for (const format of sbomFormats) {
      if (referrers.some((referrer) => referrer.artifactType === sbomArtifactTypes[format])) {
        continue;
      }

      const document = this.document(format, repository, subject, inventory, new Date());
      const artifact = sbomArtifact(format, document, subject);

      for (const blob of artifact.blobs) {
        const digest = Digest.parse(blob.digest);

        // Every artifact has the same two-byte empty config, so after the first one the repository has it.
        if (await this.reader.hasStoredBlob(repository, digest)) {
          continue;
        }

        await this.uploads.uploadWhole(repository, digest, Readable.from([blob.bytes]), blob.bytes.length);
      }

      await this.manifests.push({
        name: repository,
        reference: { digest: Digest.of(artifact.manifest, 'sha256') },
        bytes: artifact.manifest,
        contentType: mediaTypes.ociManifest,
        tags: [],
      });
    }
  }

  private describe(
    repository: string,
    subject: SbomSubject,
    platform: ImagePlatform | null,
  ): ImageDescription {
    return {
      repository,
      digest: subject.digest,
      mediaType: subject.mediaType,
      ...(platform === null ? {} : { platform }),
      registryHost: this.registryHost(),
      toolVersion: this.toolVersion,
    };
  }

  /** Returns the host clients pull from: that of `http.externalUrl`, else the address Wharf listens on. */
  private registryHost(): string {
    const { externalUrl, address, port } = this.config.http;

    if (externalUrl !== undefined) {
      return new URL(externalUrl).host;
    }

    const host = address === '0.0.0.0' || address === '::' ? 'localhost' : address;

    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
}
