import { Inject, Injectable } from '@nestjs/common';

import type { Subject } from '../auth/subject.js';
import { Digest } from '../common/digest.js';
import { BlobNotFoundError } from '../common/domain-errors.js';
import { maxManifestBytes } from '../common/manifest-parser.js';
import type { ManifestRecord } from '../metadata/records.js';
import type {
  ChildManifestView,
  DescriptorView,
  ImageConfigView,
  ManifestDetailsView,
  ReferrerView,
} from './admin-responses.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import {
  type DescriptorDetails,
  imageConfigMediaTypes,
  type ImageConfigDetails,
  readImageConfig,
  readManifestDocument,
} from './image-inspector.js';
import { RepositoryPermissions } from './repository-permissions.js';

/** Image configs larger than this are listed by descriptor only. Typical configs are a few KiB. */
const maxConfigBytes = maxManifestBytes;

/**
 * Details of one manifest: an index's children with their platforms, or an image's config (platform,
 * creation time, environment, labels, history) and layers; and its referrers. Content that is not
 * stored here yet is fetched through the pull-through cache, like a `/v2` pull.
 */
@Injectable()
export class ManifestDetails {
  constructor(
    @Inject(ContentReader) private readonly content: ContentReader,
    @Inject(RepositoryPermissions) private readonly permissions: RepositoryPermissions,
  ) {}

  async describe(subject: Subject, name: string, digestText: string): Promise<ManifestDetailsView> {
    const repository = this.permissions.storedName(name);

    this.permissions.assertReadable(subject, repository);

    const digest = Digest.parse(digestText);
    const manifest = await this.content.manifest(repository, digest);
    const document = readManifestDocument(manifest.bytes ?? Buffer.alloc(0), manifest.mediaType);
    const referrers = await this.content.referrers(repository, digest);
    const details: ManifestDetailsView = {
      repository,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      artifactType: document.artifactType,
      size: manifest.size,
      annotations: document.annotations,
      subject: document.subject === null ? null : descriptorView(document.subject),
      manifests: [],
      config: null,
      layers: [],
      referrers: referrers.map(referrerView),
    };

    if (document.kind === 'index') {
      details.manifests = document.manifests.map(childView);
    } else {
      details.config = await this.configView(repository, document.config);
      details.layers = document.layers.map(descriptorView);
    }

    return details;
  }

  private async configView(repository: string, descriptor: DescriptorDetails): Promise<ImageConfigView> {
    const parsed = await this.readConfig(repository, descriptor);

    return {
      ...descriptorView(descriptor),
      parsed: parsed !== undefined,
      os: parsed?.os ?? null,
      architecture: parsed?.architecture ?? null,
      variant: parsed?.variant ?? null,
      created: parsed?.created ?? null,
      author: parsed?.author ?? null,
      env: parsed?.env ?? [],
      labels: parsed?.labels ?? {},
      entrypoint: parsed?.entrypoint ?? null,
      cmd: parsed?.cmd ?? null,
      workingDir: parsed?.workingDir ?? null,
      user: parsed?.user ?? null,
      exposedPorts: parsed?.exposedPorts ?? [],
      history: parsed?.history ?? [],
    };
  }

  /**
   * Reads an image config. Returns undefined for an artifact's config, for one that is too large, and
   * for one whose blob was deleted through `/v2`, so that the manifest can still be described.
   */
  private async readConfig(
    repository: string,
    descriptor: DescriptorDetails,
  ): Promise<ImageConfigDetails | undefined> {
    if (!imageConfigMediaTypes.includes(descriptor.mediaType) || descriptor.size > maxConfigBytes) {
      return undefined;
    }

    try {
      return readImageConfig(
        await this.content.blob(repository, Digest.parse(descriptor.digest), maxConfigBytes),
      );
    } catch (error) {
      if (error instanceof BlobNotFoundError) {
        return undefined;
      }

      throw error;
    }
  }
}

function descriptorView(descriptor: DescriptorDetails): DescriptorView {
  return {
    mediaType: descriptor.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(descriptor.artifactType === undefined ? {} : { artifactType: descriptor.artifactType }),
    ...(descriptor.annotations === undefined ? {} : { annotations: descriptor.annotations }),
  };
}

function childView(child: DescriptorDetails): ChildManifestView {
  return { ...descriptorView(child), platform: child.platform ?? null };
}

function referrerView(referrer: ManifestRecord): ReferrerView {
  return {
    digest: referrer.digest,
    mediaType: referrer.mediaType,
    artifactType: referrer.artifactType,
    size: referrer.size,
    annotations: referrer.annotations,
  };
}
