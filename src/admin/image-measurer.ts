import { Inject, Injectable } from '@nestjs/common';

import { Digest } from '../common/digest.js';
import { maxManifestBytes } from '../common/manifest-parser.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import {
  type DescriptorDetails,
  distinctBlobBytes,
  imageConfigMediaTypes,
  type ManifestDocument,
  type Platform,
  platformOfConfig,
  readImageConfig,
  readManifestDocument,
} from './image-inspector.js';

/** Size and platforms of a tagged manifest. */
export interface ImageMeasure {
  size: number;
  /** False when part of the content is not stored here, so its bytes are missing from `size`. */
  sizeComplete: boolean;
  platforms: Platform[];
}

type ImageDocument = Extract<ManifestDocument, { kind: 'image' }>;

/**
 * Measures tagged manifests from content stored in this registry only: listing the tags of a
 * pull-through repository never reaches its upstream and never counts as a pull.
 */
@Injectable()
export class ImageMeasurer {
  constructor(@Inject(ContentReader) private readonly content: ContentReader) {}

  /**
   * Measures an image as manifest plus config plus layers, and an index as the index plus its child
   * manifests plus their distinct blobs, so a layer that several platforms share counts once.
   */
  async measure(repository: string, digest: string, manifestSize: number): Promise<ImageMeasure> {
    const document = await this.storedDocument(repository, digest);

    if (document === undefined) {
      return { size: manifestSize, sizeComplete: false, platforms: [] };
    }

    if (document.kind === 'image') {
      const platform = await this.platformOfImage(repository, document.config);

      return {
        size: manifestSize + distinctBlobBytes([document]),
        sizeComplete: true,
        platforms: platform === undefined ? [] : [platform],
      };
    }

    const children = await this.storedImages(repository, document.manifests);
    const childManifestBytes = document.manifests.reduce((sum, child) => sum + child.size, 0);

    return {
      size: manifestSize + childManifestBytes + distinctBlobBytes(children),
      sizeComplete: children.length === document.manifests.length,
      platforms: document.manifests.flatMap((child) => (child.platform ? [child.platform] : [])),
    };
  }

  private async storedDocument(repository: string, digest: string): Promise<ManifestDocument | undefined> {
    const stored = await this.content.storedManifest(repository, Digest.parse(digest));

    return stored?.bytes === undefined ? undefined : readManifestDocument(stored.bytes, stored.mediaType);
  }

  /** Reads the children of an index that are stored here and are images; nested indexes are skipped. */
  private async storedImages(repository: string, children: DescriptorDetails[]): Promise<ImageDocument[]> {
    const images: ImageDocument[] = [];

    for (const child of children) {
      const document = await this.storedDocument(repository, child.digest);

      if (document?.kind === 'image') {
        images.push(document);
      }
    }

    return images;
  }

  private async platformOfImage(
    repository: string,
    config: DescriptorDetails,
  ): Promise<Platform | undefined> {
    if (!imageConfigMediaTypes.includes(config.mediaType) || config.size > maxManifestBytes) {
      return undefined;
    }

    const bytes = await this.content.storedBlob(repository, Digest.parse(config.digest), maxManifestBytes);
    const parsed = bytes === undefined ? undefined : readImageConfig(bytes);

    return parsed === undefined ? undefined : platformOfConfig(parsed);
  }
}
