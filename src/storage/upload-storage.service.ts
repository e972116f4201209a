import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createReadStream, WriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { finished, PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Digest, type DigestAlgorithm } from '../common/digest.js';
import {
  DigestMismatchError,
  SizeMismatchError,
  UploadNotFoundError,
  UploadRangeInvalidError,
} from '../common/domain-errors.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import { BlobStorage, isNotFound } from './blob-storage.service.js';
import { ByteCounter, copyBufferBytes, TooManyBytesError } from './byte-counter.js';
import { isUploadId, StoragePaths } from './storage-paths.js';

/** Expected start offset and length of a chunk, when the client declared them. */
export interface ChunkExpectation {
  offset?: number;
  length?: number;
  /** Called with the upload's size each time bytes reach the file, so readers may follow it as it grows. */
  onWritten?: (size: number) => void;
  /**
   * Called with each chunk once it is counted and hashed, before it is written, so readers may take it
   * from memory. A chunk of a failed append is truncated away afterwards.
   */
  onChunk?: (chunk: Buffer) => void;
}

/** The running sha256 of an upload's bytes, valid while the file still has `size` bytes. */
interface RunningHash {
  hash: Hash;
  size: number;
}

/**
 * Bytes of uploads in progress. Each upload is a directory with one append-only `data` file. A chunk
 * either lands whole or is truncated away, so the file always ends at a chunk boundary.
 */
export class UploadStorage {
  private readonly runningHashes = new Map<string, RunningHash>();
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly paths: StoragePaths,
    private readonly blobs: BlobStorage,
  ) {}

  async create(uploadId: string): Promise<void> {
    await mkdir(this.paths.uploadDirectory(uploadId), { recursive: true });
    await writeFile(this.paths.uploadData(uploadId), '', { flag: 'wx' });
    this.runningHashes.set(uploadId, { hash: createHash('sha256'), size: 0 });
  }

  /**
   * Returns the number of bytes received, or undefined when the upload has no data file. It waits for a
   * chunk in progress, so it never counts bytes that may still be truncated away.
   */
  async size(uploadId: string): Promise<number | undefined> {
    return this.locks.run(uploadId, () => this.fileSize(uploadId));
  }

  private async fileSize(uploadId: string): Promise<number | undefined> {
    try {
      return (await stat(this.paths.uploadData(uploadId))).size;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }

      throw error;
    }
  }

  /**
   * Appends a chunk and returns the new size. A chunk whose offset is not the current size is rejected
   * before reading. A chunk that fails midway or differs from its declared length is truncated away.
   */
  async append(uploadId: string, body: Readable, expected: ChunkExpectation = {}): Promise<number> {
    return this.locks.run(uploadId, async () => {
      const size = await this.requireSize(uploadId);

      if (expected.offset !== undefined && expected.offset !== size) {
        body.resume();

        throw new UploadRangeInvalidError(
          size,
          `chunk starts at ${expected.offset}, upload has ${size} bytes`,
        );
      }

      const base = await this.hashOf(uploadId, size);
      const counter = new ByteCounter(base, expected.length, expected.onChunk);
      const path = this.paths.uploadData(uploadId);

      const source = detachedSource(body);

      try {
        await pipeline(
          source,
          counter,
          new ReportingWriteStream(path, (written) => expected.onWritten?.(size + written)),
        );

        if (expected.length !== undefined && counter.bytes !== expected.length) {
          throw new SizeMismatchError(expected.length, counter.bytes);
        }
      } catch (error) {
        body.unpipe();
        body.resume();
        this.runningHashes.delete(uploadId);
        await truncate(path, size);

        if (error instanceof TooManyBytesError) {
          throw new SizeMismatchError(error.limit, counter.bytes);
        }

        throw error;
      }

      this.runningHashes.set(uploadId, { hash: counter.hash, size: size + counter.bytes });

      return size + counter.bytes;
    });
  }

  /**
   * Verifies the upload against the digest (and size, when given) and moves it into blob storage. On a
   * mismatch the upload is deleted, so nothing of it is stored. Returns the blob's size.
   *
   * `onVerified` runs once the bytes match, before they are flushed to disk and moved, which for a large
   * blob takes a while: a reader of the upload file may finish then. `record` runs right after the move,
   * under the digest's exclusive section, so that garbage collection never deletes the bytes between
   * the move and the row that `record` writes.
   */
  async commit(
    uploadId: string,
    digest: Digest,
    expectedSize?: number,
    onVerified?: () => void,
    record?: (size: number) => Promise<void>,
  ): Promise<number> {
    return this.locks.run(uploadId, async () => {
      const size = await this.requireSize(uploadId);

      try {
        if (expectedSize !== undefined && expectedSize !== size) {
          throw new SizeMismatchError(expectedSize, size);
        }

        const actual = await this.digestOf(uploadId, size, digest.algorithm);

        if (!actual.equals(digest)) {
          throw new DigestMismatchError(digest.toString(), actual.toString());
        }

        onVerified?.();
        await this.blobs.exclusive(digest, async () => {
          await this.blobs.place(this.paths.uploadData(uploadId), digest);
          await record?.(size);
        });
      } catch (error) {
        await this.removeUnlocked(uploadId);

        throw error;
      }

      await this.removeUnlocked(uploadId);

      return size;
    });
  }

  /**
   * Stores a small payload held in memory, such as a manifest, through the same verified path; `record`
   * runs as in `commit`.
   */
  async writeBytes(bytes: Buffer, digest: Digest, record?: () => Promise<void>): Promise<void> {
    const uploadId = randomUUID();

    await this.create(uploadId);

    try {
      await this.append(uploadId, Readable.from([bytes]));
    } catch (error) {
      await this.remove(uploadId);

      throw error;
    }

    await this.commit(uploadId, digest, bytes.length, undefined, record);
  }

  async remove(uploadId: string): Promise<void> {
    await this.locks.run(uploadId, () => this.removeUnlocked(uploadId));
  }

  /** Lists uploads whose bytes last changed before `cutoff` (epoch milliseconds). */
  async listStale(cutoff: number): Promise<string[]> {
    let entries: string[];

    try {
      entries = await readdir(this.paths.uploadsDirectory);
    } catch (error) {
      if (isNotFound(error)) {
        return [];
      }

      throw error;
    }

    const stale: string[] = [];

    for (const entry of entries.filter(isUploadId)) {
      const modified = await this.lastModified(entry);

      if (modified === undefined || modified < cutoff) {
        stale.push(entry);
      }
    }

    return stale;
  }

  private async lastModified(uploadId: string): Promise<number | undefined> {
    for (const path of [this.paths.uploadData(uploadId), this.paths.uploadDirectory(uploadId)]) {
      try {
        return (await stat(path)).mtimeMs;
      } catch (error) {
        if (!isNotFound(error)) {
          throw error;
        }
      }
    }

    return undefined;
  }

  private async removeUnlocked(uploadId: string): Promise<void> {
    this.runningHashes.delete(uploadId);
    await rm(this.paths.uploadDirectory(uploadId), { recursive: true, force: true });
  }

  private async requireSize(uploadId: string): Promise<number> {
    const size = await this.fileSize(uploadId);

    if (size === undefined) {
      throw new UploadNotFoundError(uploadId);
    }

    return size;
  }

  /** Returns a hash of the first `size` bytes to continue from, re-reading the file after a restart. */
  private async hashOf(uploadId: string, size: number): Promise<Hash> {
    const running = this.runningHashes.get(uploadId);

    if (running?.size === size) {
      return running.hash.copy();
    }

    return this.hashFile(uploadId, 'sha256');
  }

  private async digestOf(uploadId: string, size: number, algorithm: DigestAlgorithm): Promise<Digest> {
    const hash =
      algorithm === 'sha256' ? await this.hashOf(uploadId, size) : await this.hashFile(uploadId, algorithm);

    return Digest.fromHash(algorithm, hash);
  }

  private async hashFile(uploadId: string, algorithm: DigestAlgorithm): Promise<Hash> {
    const hash = createHash(algorithm);

    for await (const chunk of createReadStream(this.paths.uploadData(uploadId))) {
      hash.update(chunk as Buffer);
    }

    return hash;
  }
}

/**
 * Copies `body` into a new stream that fails when `body` fails or ends early. pipeline() destroys every
 * stream it was given on error, and destroying an HTTP request would close the socket before the
 * error response is sent, so the request itself is kept out of the pipeline.
 */
function detachedSource(body: Readable): PassThrough {
  const source = new PassThrough({ highWaterMark: copyBufferBytes });

  finished(body, { writable: false }, (error) => {
    if (error) {
      source.destroy(error);
    }
  });
  body.pipe(source);

  return source;
}

/** fs.WriteStream's constructor, which takes (path, options); @types/node declares none for the class. */
const FileWriteStream = WriteStream as unknown as new (
  path: string,
  options: { flags: string; highWaterMark: number },
) => WriteStream;

/** Appends to a file and reports how many bytes it has written each time a write completes. */
class ReportingWriteStream extends FileWriteStream {
  constructor(
    path: string,
    private readonly onWritten: (bytes: number) => void,
  ) {
    super(path, { flags: 'a', highWaterMark: copyBufferBytes });
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    super._write(chunk, encoding, (error) => this.report(error, callback));
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    super._writev?.(chunks, (error) => this.report(error, callback));
  }

  private report(error: Error | null | undefined, callback: (error?: Error | null) => void): void {
    if (!error) {
      this.onWritten(this.bytesWritten);
    }

    callback(error);
  }
}
