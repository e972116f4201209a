import { Inject, Injectable } from '@nestjs/common';

import { Digest } from '../../common/digest.js';
import {
  BlobNotFoundError,
  ManifestNotFoundError,
  RepositoryNotFoundError,
} from '../../common/domain-errors.js';
import { type Reference, referenceText } from '../../common/reference.js';
import type { BlobContent, ManifestContent } from '../../common/registry-content.js';
import type { ManifestRecord, Page } from '../../metadata/records.js';
import { BlobRecordStore } from '../../metadata/stores/blob-record.store.js';
import { ManifestStore } from '../../metadata/stores/manifest.store.js';
import { BlobStorage } from '../../storage/blob-storage.service.js';
import { RegistryReader } from './registry-reader.js';

/** Reads content stored in this registry from SQLite and the blob directory. */
@Injectable()
export class LocalRegistryReader extends RegistryReader {
  constructor(
    @Inject(ManifestStore) private readonly manifests: ManifestStore,
    @Inject(BlobRecordStore) private readonly blobRecords: BlobRecordStore,
    @Inject(BlobStorage) private readonly blobStorage: BlobStorage,
  ) {
    super();
  }

  async getManifest(name: string, reference: Reference, withBody: boolean): Promise<ManifestContent> {
    const digest =
      reference.digest?.toString() ?? (await this.manifests.resolveTag(name, reference.tag ?? ''));
    const manifest = digest === undefined ? undefined : await this.manifests.find(name, digest);

    if (!manifest) {
      throw new ManifestNotFoundError(referenceText(reference));
    }

    const content: ManifestContent = {
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      size: manifest.size,
    };

    if (withBody) {
      content.bytes = await this.blobStorage.readSmall(Digest.parse(manifest.digest));

      if (content.bytes === undefined) {
        throw new ManifestNotFoundError(manifest.digest);
      }
    }

    return content;
  }

  async statBlob(name: string, digest: Digest): Promise<number> {
    const size = await this.blobRecords.linkedSize(name, digest.toString());

    // A link whose bytes are gone (removed by hand, or a disk error) is reported as unknown rather than
    // failing midway through the response.
    if (size === undefined || (await this.blobStorage.size(digest)) === undefined) {
      throw new BlobNotFoundError(digest.toString());
    }

    return size;
  }

  async fetchBlob(name: string, digest: Digest): Promise<BlobContent> {
    const size = await this.statBlob(name, digest);

    return { size, open: (range) => this.blobStorage.open(digest, range) };
  }

  async listTags(name: string, limit: number, last?: string): Promise<Page> {
    const page = await this.manifests.listTags(name, limit, last);

    if (!page) {
      throw new RepositoryNotFoundError(name);
    }

    return page;
  }

  async listReferrers(name: string, digest: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    return this.manifests.referrers(name, digest.toString(), artifactType);
  }
}
