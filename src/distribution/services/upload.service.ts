import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';

import { Inject, Injectable, Optional } from '@nestjs/common';

import type { Digest } from '../../common/digest.js';
import { UploadNotFoundError } from '../../common/domain-errors.js';
import { BlobRecordStore } from '../../metadata/stores/blob-record.store.js';
import { UploadSessionStore } from '../../metadata/stores/upload-session.store.js';
import { ActivityObserver } from '../../common/activity-observer.js';
import { type ChunkExpectation, UploadStorage } from '../../storage/upload-storage.service.js';

/**
 * Blob upload sessions. A session is a metadata row plus a data file; both must exist and belong to the
 * repository in the URL, otherwise the session is unknown.
 */
@Injectable()
export class UploadService {
  constructor(
    @Inject(UploadSessionStore) private readonly sessions: UploadSessionStore,
    @Inject(UploadStorage) private readonly uploads: UploadStorage,
    @Inject(BlobRecordStore) private readonly blobRecords: BlobRecordStore,
    // Optional so that integration tests can build the service without a Nest container.
    @Optional() @Inject(ActivityObserver) private readonly activity?: ActivityObserver,
  ) {}

  /** Opens a session and returns its id. */
  async start(name: string): Promise<string> {
    const uploadId = randomUUID();

    await this.sessions.create(uploadId, name);
    await this.uploads.create(uploadId);

    return uploadId;
  }

  /** Returns the number of bytes the session has received. */
  async status(name: string, uploadId: string): Promise<number> {
    return this.requireSession(name, uploadId);
  }

  /** Appends a chunk and returns the session's new size. */
  async append(name: string, uploadId: string, body: Readable, expected: ChunkExpectation): Promise<number> {
    await this.requireSession(name, uploadId);

    return this.uploads.append(uploadId, body, expected);
  }

  /**
   * Appends an optional last chunk, verifies the whole upload against `digest` and links the blob into
   * the repository. The session ends whether or not the digest matched.
   */
  async complete(
    name: string,
    uploadId: string,
    digest: Digest,
    lastChunk?: { body: Readable; expected: ChunkExpectation },
  ): Promise<number> {
    await this.requireSession(name, uploadId);

    if (lastChunk) {
      await this.uploads.append(uploadId, lastChunk.body, lastChunk.expected);
    }

    try {
      const size = await this.uploads.commit(uploadId, digest, undefined, undefined, (stored) =>
        this.blobRecords.link(name, digest.toString(), stored),
      );

      this.activity?.recordUpload(size);

      return size;
    } finally {
      await this.sessions.delete(uploadId);
    }
  }

  async cancel(name: string, uploadId: string): Promise<void> {
    await this.requireSession(name, uploadId);
    await this.uploads.remove(uploadId);
    await this.sessions.delete(uploadId);
  }

  /** Stores a whole blob sent in one request (POST with `?digest=`), without a session row. */
  async uploadWhole(name: string, digest: Digest, body: Readable, length?: number): Promise<number> {
    const uploadId = randomUUID();

    await this.uploads.create(uploadId);

    try {
      await this.uploads.append(uploadId, body, { length });
    } catch (error) {
      await this.uploads.remove(uploadId);

      throw error;
    }

    const size = await this.uploads.commit(uploadId, digest, length, undefined, (stored) =>
      this.blobRecords.link(name, digest.toString(), stored),
    );

    this.activity?.recordUpload(size);

    return size;
  }

  /**
   * Deletes uploads whose bytes have not changed since `cutoff` (epoch ms), and session rows left
   * without bytes by a crash. Returns how many uploads were removed.
   */
  async purgeStale(cutoff: number): Promise<number> {
    const stale = await this.uploads.listStale(cutoff);

    for (const uploadId of stale) {
      await this.uploads.remove(uploadId);
      await this.sessions.delete(uploadId);
    }

    for (const uploadId of await this.sessions.listIds()) {
      const session = await this.sessions.find(uploadId);

      if (session && session.startedAt < cutoff && (await this.uploads.size(uploadId)) === undefined) {
        await this.sessions.delete(uploadId);
      }
    }

    return stale.length;
  }

  private async requireSession(name: string, uploadId: string): Promise<number> {
    const session = await this.sessions.find(uploadId);
    const size = session?.repository === name ? await this.uploads.size(uploadId) : undefined;

    if (size === undefined) {
      throw new UploadNotFoundError(uploadId);
    }

    return size;
  }
}
