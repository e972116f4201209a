import type { Readable } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';

import type { Digest } from '../../common/digest.js';
import { BlobNotFoundError, ManifestNotFoundError } from '../../common/domain-errors.js';
import { readLimited } from '../../common/read-limited.js';
import type { BlobContent, ManifestContent } from '../../common/registry-content.js';
import { LocalRegistryReader } from './local-registry-reader.js';
import { RegistryReader } from './registry-reader.js';
import type { ManifestRecord } from '../../metadata/records.js';

/**
 * Reads manifests and blobs for the admin API and for scans. Content this registry stores (pushed, or already
 * cached from an upstream) is read through LocalRegistryReader, so looking at it is not counted as a
 * pull in the cache statistics or last-pulled times. Only content that is not stored yet goes through
 * RegistryReader, the reader of `/v2`, which fetches it from the upstream for pull-through names.
 */
@Injectable()
export class ContentReader {
  constructor(
    @Inject(LocalRegistryReader) private readonly local: LocalRegistryReader,
    @Inject(RegistryReader) private readonly registry: RegistryReader,
  ) {}

  /** Returns a manifest with its bytes from this registry only; undefined when it is not stored here. */
  async storedManifest(name: string, digest: Digest): Promise<ManifestContent | undefined> {
    try {
      return await this.local.getManifest(name, { digest }, true);
    } catch (error) {
      if (error instanceof ManifestNotFoundError) {
        return undefined;
      }

      throw error;
    }
  }

  /** Returns a manifest with its bytes, fetching it through the pull-through cache when it is not stored. */
  async manifest(name: string, digest: Digest): Promise<ManifestContent> {
    return (await this.storedManifest(name, digest)) ?? this.registry.getManifest(name, { digest }, true);
  }

  /** Tells whether this registry stores the blob under `name`: linked to the repository, with its bytes on disk. */
  async hasStoredBlob(name: string, digest: Digest): Promise<boolean> {
    try {
      await this.local.statBlob(name, digest);

      return true;
    } catch (error) {
      if (error instanceof BlobNotFoundError) {
        return false;
      }

      throw error;
    }
  }

  /** Reads a blob of at most `limit` bytes from this registry only; undefined when it is not stored here. */
  async storedBlob(name: string, digest: Digest, limit: number): Promise<Buffer | undefined> {
    try {
      return await readWhole(await this.local.fetchBlob(name, digest), limit);
    } catch (error) {
      if (error instanceof BlobNotFoundError) {
        return undefined;
      }

      throw error;
    }
  }

  /** Reads a blob of at most `limit` bytes, fetching it through the pull-through cache when it is not stored. */
  async blob(name: string, digest: Digest, limit: number): Promise<Buffer> {
    return (
      (await this.storedBlob(name, digest, limit)) ??
      readWhole(await this.registry.fetchBlob(name, digest), limit)
    );
  }

  /** Opens a blob, stored or, for pull-through names, fetched from the upstream into the cache. */
  async openBlob(name: string, digest: Digest): Promise<Readable> {
    try {
      return await (await this.local.fetchBlob(name, digest)).open();
    } catch (error) {
      if (!(error instanceof BlobNotFoundError)) {
        throw error;
      }
    }

    return (await this.registry.fetchBlob(name, digest)).open();
  }

  /** Lists the referrers of a manifest as `/v2` does, which for pull-through names sends a request upstream. */
  referrers(name: string, digest: Digest): Promise<ManifestRecord[]> {
    return this.registry.listReferrers(name, digest);
  }
}

async function readWhole(content: BlobContent, limit: number): Promise<Buffer> {
  const stream = await content.open();

  try {
    return await readLimited(stream, limit);
  } finally {
    stream.destroy();
  }
}
