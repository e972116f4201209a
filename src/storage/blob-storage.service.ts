import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';

import type { Digest } from '../common/digest.js';
import type { ByteRange } from '../common/registry-content.js';
import { StoragePaths } from './storage-paths.js';

export type { ByteRange };

/** Content-addressed blob bytes on disk. Writers go through UploadStorage; this class reads and places. */
export class BlobStorage {
  constructor(private readonly paths: StoragePaths) {}

  /** Returns the size of a stored blob, or undefined when its bytes are not on disk. */
  async size(digest: Digest): Promise<number | undefined> {
    try {
      const info = await stat(this.paths.blob(digest));

      return info.isFile() ? info.size : undefined;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }

      throw error;
    }
  }

  /** Opens a stream of the blob's bytes, optionally limited to one range. */
  read(digest: Digest, range?: ByteRange): Readable {
    return createReadStream(this.paths.blob(digest), range ? { start: range.start, end: range.end } : {});
  }

  /** Reads a small blob, such as a manifest, whole. */
  async readAll(digest: Digest): Promise<Buffer> {
    const chunks: Buffer[] = [];

    for await (const chunk of this.read(digest)) {
      chunks.push(chunk as Buffer);
    }

    return Buffer.concat(chunks);
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

  /** Deletes a blob's bytes; only garbage collection may call this, once nothing references them. */
  async remove(digest: Digest): Promise<void> {
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

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
