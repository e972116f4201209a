import { join, sep } from 'node:path';

import type { Digest } from '../common/digest.js';

/**
 * Computes every path under the storage root; no other code joins storage paths.
 *
 * ```
 * <root>/
 *   blobs/<algorithm>/<first two hex>/<full hex>   blob and manifest bytes, once each
 *   uploads/<upload id>/data                        bytes of an upload or a write in progress
 *   uploads/.readiness-probe                        written and deleted by each readiness check
 * ```
 * Bytes reach `blobs/` only by an atomic rename from `uploads/`, so a blob path always contains a
 * whole, verified blob.
 */
export class StoragePaths {
  readonly blobsDirectory: string;

  constructor(readonly root: string) {
    this.blobsDirectory = join(root, 'blobs');
  }

  get uploadsDirectory(): string {
    return join(this.root, 'uploads');
  }

  blob(digest: Digest): string {
    // A parsed digest has a known algorithm and hex only, so its parts need no normalizing, and this
    // runs for every blob request.
    return [this.blobsDirectory, digest.algorithm, digest.hex.slice(0, 2), digest.hex].join(sep);
  }

  /** Returns a directory inside `blobs/`, such as an algorithm's or a shard's, for listing stored blobs. */
  blobListing(...parts: string[]): string {
    return join(this.blobsDirectory, ...parts);
  }

  /** Returns where scrubbing moves a blob file whose bytes no longer match its digest, kept for inspection. */
  quarantine(digest: Digest): string {
    return join(this.root, 'quarantine', digest.algorithm, digest.hex);
  }

  /** The directory of one upload; `uploadId` must already be validated as a UUID by the caller. */
  uploadDirectory(uploadId: string): string {
    assertUploadId(uploadId);

    return join(this.uploadsDirectory, uploadId);
  }

  uploadData(uploadId: string): string {
    return join(this.uploadDirectory(uploadId), 'data');
  }

  /**
   * The file the readiness probe writes and deletes, in `uploads/` because every write starts there.
   * Its name is not a UUID, so the upload purge never takes it for an upload.
   */
  get readinessProbe(): string {
    return join(this.uploadsDirectory, '.readiness-probe');
  }
}

const uploadIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUploadId(text: string): boolean {
  return uploadIdPattern.test(text);
}

function assertUploadId(uploadId: string): void {
  if (!isUploadId(uploadId)) {
    // NOTE: callers validate ids first; this guard keeps a bad id from ever naming a path outside uploads/.
    throw new Error(`upload id is not a UUID: ${JSON.stringify(uploadId)}`);
  }
}
