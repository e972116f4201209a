import { createHash } from 'node:crypto';
import { createReadStream, type Stats, stat as statWithCallback } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

import { Digest } from '../common/digest.js';
import { KeyedMutex } from '../common/keyed-mutex.js';
import type { ByteRange } from '../common/registry-content.js';
import { BlobFileStream } from './blob-file-stream.js';
import { ContentCache } from './content-cache.js';
import { StoragePaths } from './storage-paths.js';

export type { ByteRange };

/** The result of reading a stored blob's bytes back. */
export type BlobCheck =
  | { readonly state: 'ok'; readonly size: number }
  | { readonly state: 'missing' }
  /** The bytes no longer hash to the digest: `actualDigest` is what they hash to now. */
  | { readonly state: 'corrupt'; readonly size: number; readonly actualDigest: string };

/** Read size for verification: large reads keep the hashing, not the system calls, the bottleneck. */
const verifyChunkBytes = 1024 * 1024;

/** Blobs that readSmall reads whole and may keep in memory; manifests are at most 4 MiB. */
const smallBlobMaxBytes = 4 * 1024 * 1024;

/** Content-addressed blob bytes on disk. Writers go through UploadStorage; this class reads and places. */
export class BlobStorage {
  private readonly smallBlobs: ContentCache;
  private readonly digestLocks = new KeyedMutex();

  /** `smallBlobCacheBytes` bounds the memory that keeps recently read small blobs; 0 turns it off. */
  constructor(
    private readonly paths: StoragePaths,
    smallBlobCacheBytes = 0,
  ) {
    this.smallBlobs = new ContentCache(smallBlobCacheBytes);
  }

  /** Returns the size of a stored blob, or undefined when its bytes are not on disk. */
  async size(digest: Digest): Promise<number | undefined> {
    try {
      const info = await statFile(this.paths.blob(digest));

      return info.isFile() ? info.size : undefined;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }

      throw error;
    }
  }

  /**
   * Opens the blob's bytes, optionally limited to one range, as a stream. Rejects when the file cannot
   * be opened, before any byte is promised to a client.
   */
  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    const handle = await open(this.paths.blob(digest), 'r');

    try {
      const end = range ? range.end + 1 : (await handle.stat()).size;

      return new BlobFileStream(handle, range?.start ?? 0, end);
    } catch (error) {
      await handle.close();

      throw error;
    }
  }

  /**
   * Reads a small blob, such as a manifest, whole, or returns undefined when its bytes are not on disk.
   * Recently read ones come from memory.
   */
  async readSmall(digest: Digest): Promise<Buffer | undefined> {
    const key = digest.toString();
    const cached = this.smallBlobs.get(key);

    if (cached !== undefined) {
      return cached;
    }

    let bytes: Buffer;

    try {
      bytes = await readFile(this.paths.blob(digest));
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }

      throw error;
    }

    if (bytes.length <= smallBlobMaxBytes) {
      this.smallBlobs.set(key, bytes);
    }

    return bytes;
  }

  /**
   * Moves a verified file into its content-addressed place with an atomic rename. When the blob is
   * already there the file is deleted instead, because equal digests mean equal bytes.
   */
  async place(verifiedFile: string, digest: Digest): Promise<void> {
    const target = this.paths.blob(digest);

    if ((await this.size(digest)) !== undefined) {
      await unlink(verifiedFile);

      return;
    }

    await mkdir(dirname(target), { recursive: true });
    await syncFile(verifiedFile);
    await rename(verifiedFile, target);
  }

  /**
   * Reads a blob's bytes back and hashes them with its digest's algorithm, for scrubbing. Nothing is
   * cached and nothing changes on disk; a file that vanishes while it is read counts as missing.
   */
  async verify(digest: Digest): Promise<BlobCheck> {
    const hash = createHash(digest.algorithm);
    let size = 0;

    try {
      for await (const chunk of createReadStream(this.paths.blob(digest), {
        highWaterMark: verifyChunkBytes,
      })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch (error) {
      if (isNotFound(error)) {
        return { state: 'missing' };
      }

      throw error;
    }

    const actualDigest = `${digest.algorithm}:${hash.digest('hex')}`;

    return actualDigest === digest.toString()
      ? { state: 'ok', size }
      : { state: 'corrupt', size, actualDigest };
  }

  /**
   * Moves a blob's bytes out of the store into the quarantine directory, so that they are never served
   * again. Returns false when there was no file to move.
   */
  async quarantine(digest: Digest): Promise<boolean> {
    const target = this.paths.quarantine(digest);

    this.smallBlobs.delete(digest.toString());
    await mkdir(dirname(target), { recursive: true });

    try {
      await rename(this.paths.blob(digest), target);
    } catch (error) {
      if (isNotFound(error)) {
        return false;
      }

      throw error;
    }

    return true;
  }

  /**
   * Runs `work` while no other `exclusive` section of the same digest runs. Writers keep it from placing
   * a blob's bytes until its row is recorded, and garbage collection keeps it from deleting the row
   * until the file is gone, so neither ever sees the other half done.
   */
  exclusive<T>(digest: Digest, work: () => Promise<T>): Promise<T> {
    return this.digestLocks.run(digest.toString(), work);
  }

  /** Lists every stored blob file with its size and last change (epoch milliseconds). */
  async *files(): AsyncGenerator<{ digest: Digest; size: number; changedAt: number }> {
    for (const algorithm of await listDirectory(this.paths.blobListing())) {
      for (const shard of await listDirectory(this.paths.blobListing(algorithm))) {
        for (const hex of await listDirectory(this.paths.blobListing(algorithm, shard))) {
          const text = `${algorithm}:${hex}`;

          if (!Digest.isValid(text)) {
            continue;
          }

          const digest = Digest.parse(text);
          const info = await statFile(this.paths.blob(digest)).catch((error: unknown) => {
            if (isNotFound(error)) {
              return undefined;
            }

            throw error;
          });

          if (info?.isFile()) {
            yield { digest, size: info.size, changedAt: info.mtimeMs };
          }
        }
      }
    }
  }

  /** Deletes a blob's bytes; only garbage collection may call this, once nothing references them. */
  async remove(digest: Digest): Promise<void> {
    this.smallBlobs.delete(digest.toString());
    await rm(this.paths.blob(digest), { force: true });
  }
}

/** Flushes a file to disk so that a rename never exposes bytes the kernel has not written. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');

  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Lists a directory's entries, or none when it does not exist. */
async function listDirectory(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isNotFound(error)) {
      return [];
    }

    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Returns a file's status through `fs.stat`'s callback. On Node 20 that took half the CPU of
 * `fs/promises` `stat` in a loop of 50,000 calls here, and every blob HEAD and GET makes one.
 */
function statFile(path: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    statWithCallback(path, (error, stats) => (error ? reject(error) : resolve(stats)));
  });
}
