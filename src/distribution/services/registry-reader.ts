import type { Readable } from 'node:stream';

import type { Digest } from '../../common/digest.js';
import type { ManifestRecord, Page } from '../../metadata/records.js';
import type { ByteRange } from '../../storage/blob-storage.service.js';
import type { Reference } from '../oci-path.js';

/**
 * Everything the read endpoints need. The local implementation reads disk and SQLite; a pull-through
 * implementation serves the same calls from an upstream registry, so handlers cannot tell them apart.
 */
export abstract class RegistryReader {
  /** Resolves a tag or digest to a stored manifest; throws ManifestNotFoundError. */
  abstract resolveManifest(name: string, reference: Reference): Promise<ManifestRecord>;

  /** Returns a resolved manifest's bytes exactly as they were pushed. */
  abstract readManifest(manifest: ManifestRecord): Promise<Buffer>;

  /** Returns the size of a blob the repository links to; throws BlobNotFoundError. */
  abstract blobSize(name: string, digest: Digest): Promise<number>;

  /** Streams a blob the repository links to, whole or one byte range. */
  abstract openBlob(name: string, digest: Digest, range?: ByteRange): Promise<Readable>;

  /** Lists tags in byte order; throws RepositoryNotFoundError. */
  abstract listTags(name: string, limit: number, last?: string): Promise<Page>;

  /** Lists manifests whose subject is `digest`, optionally only those of one artifact type. */
  abstract listReferrers(name: string, digest: Digest, artifactType?: string): Promise<ManifestRecord[]>;
}
