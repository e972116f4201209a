import { randomUUID } from 'node:crypto';
import { finished, PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';

import type { Digest } from '../common/digest.js';
import {
  BlobNotFoundError,
  DigestMismatchError,
  SizeMismatchError,
  type UpstreamFailureKind,
  UpstreamUnavailableError,
} from '../common/domain-errors.js';
import { firstBytes } from '../common/first-bytes.js';
import type { BlobContent } from '../common/registry-content.js';
import { ShutdownState } from '../common/shutdown-state.js';
import { WharfConfig } from '../config/config.schema.js';
import { durationMs } from '../config/units.js';
import { BlobRecordStore } from '../metadata/stores/blob-record.store.js';
import { UpstreamCacheStore } from '../metadata/stores/upstream-cache.store.js';
import { BlobStorage } from '../storage/blob-storage.service.js';
import { copyBufferBytes } from '../storage/byte-counter.js';
import { StoragePaths } from '../storage/storage-paths.js';
import { UploadStorage } from '../storage/upload-storage.service.js';
import { BlobTransfer } from './blob-transfer.js';
import { type UpstreamResponse, upstreamFailureKind } from './upstream-client.js';
import { UpstreamClients } from './upstream-clients.js';
import type { UpstreamTarget } from './upstream-routes.js';
import { UpstreamStatistics } from './upstream-statistics.service.js';

/** The error that stops the copies still running when the shutdown grace period ends. */
class ShutdownAbortError extends Error {
  constructor() {
    super('Wharf is shutting down');
  }
}

/**
 * Returns the kind of failure of a copy: bytes that do not match the digest or size are an invalid
 * response, and anything else a timeout or a network failure.
 */
function transferFailureKind(error: unknown): UpstreamFailureKind {
  if (error instanceof DigestMismatchError || error instanceof SizeMismatchError) {
    return 'invalid-response';
  }

  return upstreamFailureKind(error);
}

/** A copy from an upstream that is still running, which shutdown waits for. */
interface RunningCopy {
  readonly done: Promise<void>;
  /** Stops the copy; the partial upload is then removed. */
  readonly abort: (reason: Error) => void;
}

/**
 * Blobs through an upstream prefix. A cached blob is served from disk. A cold one is copied from the
 * upstream into an upload file by one transfer that every concurrent client reads while it grows. The
 * copy is verified against the digest before it is committed, and it continues when clients disconnect.
 * On shutdown, copies get the grace period to be stored.
 */
@Injectable()
export class PullThroughBlobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PullThroughBlobs.name);
  private readonly transfers = new Map<string, Promise<BlobTransfer>>();
  private readonly copies = new Set<RunningCopy>();
  private readonly shutdownGraceMs: number;

  constructor(
    @Inject(WharfConfig) config: Pick<WharfConfig, 'http'>,
    @Inject(UpstreamClients) private readonly clients: UpstreamClients,
    @Inject(BlobRecordStore) private readonly blobRecords: BlobRecordStore,
    @Inject(UpstreamCacheStore) private readonly cache: UpstreamCacheStore,
    @Inject(BlobStorage) private readonly blobs: BlobStorage,
    @Inject(UploadStorage) private readonly uploads: UploadStorage,
    @Inject(StoragePaths) private readonly paths: StoragePaths,
    @Inject(UpstreamStatistics) private readonly statistics: UpstreamStatistics,
    @Inject(ShutdownState) private readonly shutdown: ShutdownState,
  ) {
    this.shutdownGraceMs = durationMs(config.http.shutdownGracePeriod);
  }

  /**
   * Waits for the copies still running, which may have no client left, so that a blob that has
   * arrived is stored rather than left as an upload file. Copies still running when the grace period
   * ends are stopped, and their uploads removed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.copies.size === 0) {
      return;
    }

    const running = [...this.copies];
    const settled = Promise.allSettled(running.map((copy) => copy.done));

    this.logger.log({ transfers: running.length }, 'waiting for upstream blob transfers to finish');

    const finished = await Promise.race([
      settled.then(() => true),
      sleep(this.shutdown.remainingGraceMs() ?? this.shutdownGraceMs, false, { ref: false }),
    ]);

    if (!finished) {
      this.logger.warn(
        { transfers: this.copies.size },
        'grace period over; stopping the upstream blob transfers still running',
      );

      for (const copy of this.copies) {
        copy.abort(new ShutdownAbortError());
      }

      await settled;
    }

    // The statistics service may have flushed before these copies counted their bytes, so flush again.
    await this.statistics.flush();
  }

  /** Returns a blob's size from the cache, a transfer in progress, or an upstream HEAD. */
  async statBlob(target: UpstreamTarget, digest: Digest): Promise<number> {
    try {
      return await this.findSize(target, digest);
    } catch (error) {
      this.statistics.failure(target.upstream.prefix, target.localName, error);

      throw error;
    }
  }

  async fetchBlob(target: UpstreamTarget, digest: Digest): Promise<BlobContent> {
    try {
      return await this.findContent(target, digest);
    } catch (error) {
      this.statistics.failure(target.upstream.prefix, target.localName, error);

      throw error;
    }
  }

  private async findSize(target: UpstreamTarget, digest: Digest): Promise<number> {
    const cached = await this.cachedSize(target, digest);

    if (cached !== undefined) {
      return cached;
    }

    const transfer = await this.transfers.get(this.key(target, digest))?.catch(() => undefined);

    if (transfer?.size !== undefined) {
      return transfer.size;
    }

    this.assertNotKnownMissing(target, digest);

    const response = await this.clients
      .for(target.upstream)
      .blob('HEAD', target.remoteName, digest.toString());

    response.body.resume();
    this.assertFound(target, digest, response);

    const size = Number(response.headers['content-length']);

    if (!Number.isSafeInteger(size) || size < 0) {
      throw this.invalid(target, `blob HEAD for ${digest.toString()} has no valid Content-Length`);
    }

    return size;
  }

  private async findContent(target: UpstreamTarget, digest: Digest): Promise<BlobContent> {
    const cached = (await this.cachedSize(target, digest)) ?? (await this.linkStoredBytes(target, digest));

    if (cached !== undefined) {
      this.statistics.hit(target.upstream.prefix, target.localName, cached);
      this.statistics.pulled(target.localName, digest.toString(), 'blob');

      return { size: cached, open: (range) => this.blobs.open(digest, range) };
    }

    const joined = this.transfers.has(this.key(target, digest));
    const transfer = await this.transfer(target, digest);

    // A client that joins a transfer counts as a hit once the blob is verified, since a failed transfer
    // served it nothing whole.
    if (joined) {
      void transfer.outcome.then((verified) => {
        if (verified) {
          this.statistics.hit(target.upstream.prefix, target.localName, transfer.written);
        }
      });
    }

    return { size: transfer.size, open: (range) => firstBytes(transfer.read(range)) };
  }

  /**
   * Serves bytes already stored for another repository (a base layer shared by many images) without
   * downloading them again, once an upstream HEAD confirms this repository has the blob too, so no
   * repository can read a blob its upstream counterpart lacks.
   */
  private async linkStoredBytes(target: UpstreamTarget, digest: Digest): Promise<number | undefined> {
    if ((await this.blobs.size(digest)) === undefined || this.transfers.has(this.key(target, digest))) {
      return undefined;
    }

    const response = await this.clients
      .for(target.upstream)
      .blob('HEAD', target.remoteName, digest.toString());

    response.body.resume();
    this.assertFound(target, digest, response);

    // Checked again under the digest's exclusive section: garbage collection may have deleted the
    // bytes during the upstream request.
    return this.blobs.exclusive(digest, async () => {
      const size = await this.blobs.size(digest);

      if (size !== undefined) {
        await this.cache.linkFetchedBlob(target.localName, digest.toString(), size);
      }

      return size;
    });
  }

  private async cachedSize(target: UpstreamTarget, digest: Digest): Promise<number | undefined> {
    const size = await this.blobRecords.linkedSize(target.localName, digest.toString());

    return size !== undefined && (await this.blobs.size(digest)) !== undefined ? size : undefined;
  }

  /** Joins the transfer of this blob in progress, or starts one once the upstream has responded. */
  private transfer(target: UpstreamTarget, digest: Digest): Promise<BlobTransfer> {
    const key = this.key(target, digest);
    const existing = this.transfers.get(key);

    if (existing) {
      return existing;
    }

    const started = this.startTransfer(target, digest);

    this.transfers.set(key, started);
    started.catch(() => this.transfers.delete(key));

    return started;
  }

  private async startTransfer(target: UpstreamTarget, digest: Digest): Promise<BlobTransfer> {
    this.assertNotKnownMissing(target, digest);

    const response = await this.clients
      .for(target.upstream)
      .blob('GET', target.remoteName, digest.toString());

    this.assertFound(target, digest, response);

    const length = response.headers['content-length'];
    const size = length === undefined ? undefined : Number(length);
    const uploadId = randomUUID();

    await this.uploads.create(uploadId);

    const transfer = new BlobTransfer(this.paths.uploadData(uploadId), this.paths.blob(digest), size);

    // The copy runs on its own: a client that disconnects must not stop it. The agent's idle timeout
    // bounds it when the upstream stalls.
    const copy: RunningCopy = {
      done: this.copy(target, digest, uploadId, transfer, response).finally(() => {
        this.transfers.delete(this.key(target, digest));
        this.copies.delete(copy);
      }),
      abort: (reason) => response.body.destroy(reason),
    };

    this.copies.add(copy);

    return transfer;
  }

  private async copy(
    target: UpstreamTarget,
    digest: Digest,
    uploadId: string,
    transfer: BlobTransfer,
    response: UpstreamResponse,
  ): Promise<void> {
    const body = new PassThrough({ highWaterMark: copyBufferBytes });

    // The failure reaches append() through finished(); this listener keeps an error raised before
    // append() is listening from crashing the process as an unhandled 'error' event.
    body.on('error', () => undefined);

    // finished() also reports a body that failed while the upload was being created, before this ran.
    finished(response.body, { writable: false }, (error) => {
      if (error) {
        body.destroy(error);
      }
    });
    response.body.pipe(body);

    try {
      // Readers take each chunk from memory as it arrives, and from the file once it is written.
      const size = await this.uploads.append(uploadId, body, {
        length: transfer.size,
        onWritten: (written) => transfer.progress(written),
        onChunk: (chunk) => transfer.chunk(chunk),
      });

      // Readers may take the last byte as soon as the bytes match; flushing and moving them comes after.
      await this.uploads.commit(
        uploadId,
        digest,
        transfer.size,
        () => transfer.verified(),
        () => this.cache.linkFetchedBlob(target.localName, digest.toString(), size),
      );
      this.statistics.miss(target.upstream.prefix, target.localName, size);
      this.statistics.pulled(target.localName, digest.toString(), 'blob');
    } catch (error) {
      await this.uploads.remove(uploadId).catch(() => undefined);

      const kind = transferFailureKind(error);
      const failure = new UpstreamUnavailableError(
        target.upstream.prefix,
        kind,
        `blob ${digest.toString()} transfer failed: ${(error as Error).message}`,
      );

      transfer.failed(failure);

      // A copy stopped by shutdown is not an upstream failure.
      if (!(error instanceof ShutdownAbortError)) {
        this.statistics.error(target.upstream.prefix, target.localName, kind);
      }

      this.logger.warn(
        {
          upstream: target.upstream.prefix,
          repository: target.localName,
          digest: digest.toString(),
          err: error,
        },
        'failed to cache upstream blob',
      );
    }
  }

  private assertFound(target: UpstreamTarget, digest: Digest, response: UpstreamResponse): void {
    if (response.status === 200) {
      return;
    }

    response.body.resume();

    if (![401, 403, 404].includes(response.status)) {
      throw this.invalid(target, `blob request returned ${response.status}`);
    }

    this.clients.rememberNotFound(target.upstream, this.key(target, digest));
    this.statistics.notFound(target.upstream.prefix, target.localName);

    throw new BlobNotFoundError(digest.toString());
  }

  private assertNotKnownMissing(target: UpstreamTarget, digest: Digest): void {
    if (this.clients.isKnownNotFound(target.upstream, this.key(target, digest))) {
      throw new BlobNotFoundError(digest.toString());
    }
  }

  private key(target: UpstreamTarget, digest: Digest): string {
    return `${target.localName}|${digest.toString()}`;
  }

  private invalid(target: UpstreamTarget, reason: string): UpstreamUnavailableError {
    return new UpstreamUnavailableError(target.upstream.prefix, 'invalid-response', reason);
  }
}
