import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';

import type { Digest } from '../../common/digest.js';
import { UploadStorage } from '../../storage/upload-storage.service.js';

/** Writes small, complete payloads (manifests) through the same verified path that uploads take. */
@Injectable()
export class BlobWriter {
  constructor(@Inject(UploadStorage) private readonly uploads: UploadStorage) {}

  async writeBytes(bytes: Buffer, digest: Digest): Promise<void> {
    const uploadId = randomUUID();

    await this.uploads.create(uploadId);

    try {
      await this.uploads.append(uploadId, Readable.from([bytes]));
    } catch (error) {
      await this.uploads.remove(uploadId);

      throw error;
    }

    await this.uploads.commit(uploadId, digest, bytes.length);
  }
}
