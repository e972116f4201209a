import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';

import { Digest } from '../../common/digest.js';
import {
  BlobNotFoundError,
  ManifestNotFoundError,
  RepositoryNotFoundError,
} from '../../common/domain-errors.js';
import type { ManifestRecord, Page } from '../../metadata/records.js';
import { BlobRecordStore } from '../../metadata/stores/blob-record.store.js';
import { ManifestStore } from '../../metadata/stores/manifest.store.js';
import { BlobStorage, type ByteRange } from '../../storage/blob-storage.service.js';
import { type Reference, referenceText } from '../oci-path.js';
import { RegistryReader } from './registry-reader.js';

/** Reads content pushed to this registry from SQLite and the blob directory. */
@Injectable()
export class LocalRegistryReader extends RegistryReader {
  constructor(
    @Inject(ManifestStore) private readonly manifests: ManifestStore,
    @Inject(BlobRecordStore) private readonly blobRecords: BlobRecordStore,
    @Inject(BlobStorage) private readonly blobStorage: BlobStorage,
  ) {
    super();
  }

  async resolveManifest(name: string, reference: Reference): Promise<ManifestRecord> {
    const digest =
      reference.digest?.toString() ?? (await this.manifests.resolveTag(name, reference.tag ?? ''));
    const manifest = digest === undefined ? undefined : await this.manifests.find(name, digest);

    if (!manifest) {
      throw new ManifestNotFoundError(referenceText(reference));
    }

    return manifest;
  }

  async readManifest(manifest: ManifestRecord): Promise<Buffer> {
    const digest = Digest.parse(manifest.digest);

    if ((await this.blobStorage.size(digest)) === undefined) {
      throw new ManifestNotFoundError(manifest.digest);
    }

    return this.blobStorage.readAll(digest);
  }

  async blobSize(name: string, digest: Digest): Promise<number> {
    const size = await this.blobRecords.linkedSize(name, digest.toString());

    // A link whose bytes are gone (removed by hand, or a disk error) is reported as unknown rather than
    // failing midway through the response.
    if (size === undefined || (await this.blobStorage.size(digest)) === undefined) {
      throw new BlobNotFoundError(digest.toString());
    }

    return size;
  }

  async openBlob(name: string, digest: Digest, range?: ByteRange): Promise<Readable> {
    await this.blobSize(name, digest);

    return this.blobStorage.read(digest, range);
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
