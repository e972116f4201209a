import type { Digest } from '../../common/digest.js';
import type { Reference } from '../../common/reference.js';
import type { BlobContent, ManifestContent } from '../../common/registry-content.js';
import type { ManifestRecord, Page } from '../../metadata/records.js';

/**
 * Everything the read endpoints need. The local implementation reads disk and SQLite; for names under
 * an upstream prefix the same calls are served by the pull-through cache, so handlers cannot tell
 * where bytes came from.
 */
export abstract class RegistryReader {
  /** Resolves a tag or digest; with `withBody` the bytes come too. Throws ManifestNotFoundError. */
  abstract getManifest(name: string, reference: Reference, withBody: boolean): Promise<ManifestContent>;

  /** Returns the size of a blob the repository has; throws BlobNotFoundError. */
  abstract statBlob(name: string, digest: Digest): Promise<number>;

  /** Prepares a blob for streaming; throws BlobNotFoundError. */
  abstract fetchBlob(name: string, digest: Digest): Promise<BlobContent>;

  /** Lists tags in byte order; throws RepositoryNotFoundError. */
  abstract listTags(name: string, limit: number, last?: string): Promise<Page>;

  /** Lists manifests whose subject is `digest`, optionally only those of one artifact type. */
  abstract listReferrers(name: string, digest: Digest, artifactType?: string): Promise<ManifestRecord[]>;
}
