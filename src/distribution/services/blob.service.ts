import { Inject, Injectable } from '@nestjs/common';

import type { Digest } from '../../common/digest.js';
import { BlobNotFoundError } from '../../common/domain-errors.js';
import { BlobRecordStore } from '../../metadata/stores/blob-record.store.js';

/** Blob operations that change which repositories link to a blob. */
@Injectable()
export class BlobService {
  constructor(@Inject(BlobRecordStore) private readonly blobRecords: BlobRecordStore) {}

  /** Removes the repository's link to a blob; the bytes stay while other links or manifests use them. */
  async delete(name: string, digest: Digest): Promise<void> {
    if (!(await this.blobRecords.unlink(name, digest.toString()))) {
      throw new BlobNotFoundError(digest.toString());
    }
  }

  /** Links a blob of repository `from` into `name`; returns false when `from` has no such blob. */
  async mount(name: string, digest: Digest, from: string): Promise<boolean> {
    return this.blobRecords.mount(from, name, digest.toString());
  }
}
