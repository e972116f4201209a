import { EventEmitter } from 'node:events';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';

import type { ByteRange } from '../storage/blob-storage.service.js';

const readChunkBytes = 256 * 1024;
const tailPollMs = 50;

/** A chunk that arrived from the upstream and is not on disk yet. */
interface PendingChunk {
  start: number;
  bytes: Buffer;
}

/**
 * A blob being copied from an upstream into an upload file, which any number of clients read while it
 * grows. Bytes still on their way to the file come from memory, and written bytes from the reader's
 * own file handle. So a client that keeps up reads no file, and one that falls behind reads the file
 * instead of keeping chunks in memory. The last byte is released only once the whole blob is
 * verified, so a client never receives a complete response for bytes that fail verification: a
 * failed transfer ends every reader with an error instead.
 */
export class BlobTransfer {
  /** Bytes appended to the file so far. */
  written = 0;
  /** Bytes that arrived so far, on disk or in `pending`. */
  private arrived = 0;
  /** Arrived chunks in order, covering the bytes from `written` to `arrived`. */
  private pending: PendingChunk[] = [];
  private state: 'running' | 'verified' | 'failed' = 'running';
  /** Counts changes, so a reader can tell whether one happened while it was reading. */
  private version = 0;
  private failure: Error | undefined;
  private readonly events = new EventEmitter();
  private settle: (verified: boolean) => void = () => undefined;
  /** Resolves with true once the blob is verified, or with false when the transfer fails. */
  readonly outcome = new Promise<boolean>((resolve) => {
    this.settle = resolve;
  });

  constructor(
    /** The upload file the bytes are written to; it stays readable through open handles after the move. */
    readonly path: string,
    /** Final path of the verified blob, read by readers that open after the move. */
    readonly finalPath: string,
    /** The size announced by the upstream, when it sent a Content-Length. */
    readonly size: number | undefined,
  ) {
    this.events.setMaxListeners(0);
  }

  get settled(): boolean {
    return this.state !== 'running';
  }

  /** Takes the next chunk of the blob, counted and hashed but not written yet, for readers to share. */
  chunk(bytes: Buffer): void {
    if (this.state !== 'running' || bytes.length === 0) {
      return;
    }

    this.pending.push({ start: this.arrived, bytes });
    this.arrived += bytes.length;
    this.changed();
  }

  /** Records that the file contains `written` bytes, so that readers read those from it. */
  progress(written: number): void {
    this.written = written;
    this.arrived = Math.max(this.arrived, written);

    while (this.pending.length > 0 && this.pending[0].start + this.pending[0].bytes.length <= written) {
      this.pending.shift();
    }

    this.changed();
  }

  verified(): void {
    this.state = 'verified';
    this.settle(true);
    this.changed();
  }

  /** Ends every reader with `error`, unless the bytes were already verified: those stay readable. */
  failed(error: Error): void {
    if (this.state === 'verified') {
      return;
    }

    this.state = 'failed';
    this.failure = error;
    this.pending = [];
    this.settle(false);
    this.changed();
  }

  private changed(): void {
    this.version++;
    this.events.emit('change');
  }

  /** Opens a stream of the blob's bytes, or of one range, that follows the file as it grows. */
  read(range?: ByteRange): Readable {
    return new TailReader(this, range);
  }

  /** Returns how many bytes readers may take now, and throws the failure of a failed transfer. */
  readableLimit(): number {
    if (this.state === 'failed') {
      throw this.failure ?? new Error('upstream transfer failed');
    }

    // While unverified, one byte is held back so that no reader can finish early.
    return this.state === 'verified' ? this.arrived : Math.max(this.arrived - 1, 0);
  }

  /**
   * Returns up to `length` bytes from `position` when they are still in memory, without copying, or
   * undefined when they are on disk.
   */
  bytesInMemory(position: number, length: number): Buffer | undefined {
    if (position < this.written) {
      return undefined;
    }

    for (const { start, bytes } of this.pending) {
      const offset = position - start;

      if (offset < bytes.length) {
        return bytes.subarray(offset, offset + length);
      }
    }

    return undefined;
  }

  get complete(): boolean {
    return this.state === 'verified';
  }

  get changeCount(): number {
    return this.version;
  }

  /** Resolves on the next change, or after a short poll interval, whichever comes first. */
  waitForChange(): Promise<void> {
    // Every chunk and every write is reported, so the timer is only a safety net for a reader that
    // checked just before a change.
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off('change', done);
        resolve();
      };

      const timer = setTimeout(done, tailPollMs);

      this.events.once('change', done);
    });
  }
}

/**
 * Reads a BlobTransfer from memory or from its own handle on the file, waiting for bytes that have not
 * arrived yet.
 */
class TailReader extends Readable {
  private handle: FileHandle | undefined;
  private position: number;
  private readonly end: number | undefined;

  constructor(
    private readonly transfer: BlobTransfer,
    range: ByteRange | undefined,
  ) {
    super();
    this.position = range?.start ?? 0;
    this.end = range ? range.end + 1 : undefined;
  }

  override _read(): void {
    this.readMore().catch((error: unknown) => this.destroy(error as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;

    this.handle = undefined;

    if (!handle) {
      callback(error);

      return;
    }

    handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  private async openFile(): Promise<FileHandle> {
    if (this.handle) {
      return this.handle;
    }

    const handle = await open(this.transfer.path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && this.transfer.complete) {
        return open(this.transfer.finalPath, 'r');
      }

      throw error;
    });

    // A client that went away while the file was opening destroyed the reader, and _destroy found no
    // handle to close, so the handle is closed here.
    if (this.destroyed) {
      await handle.close().catch(() => undefined);

      throw new Error('the reader was destroyed while its file was opening');
    }

    this.handle = handle;

    return handle;
  }

  private async readMore(): Promise<void> {
    for (;;) {
      const complete = this.transfer.complete;
      const limit = this.transfer.readableLimit();
      const target = this.end ?? (complete ? limit : Number.POSITIVE_INFINITY);

      if (complete && this.position >= Math.min(target, limit)) {
        this.push(null);

        return;
      }

      // Until the blob is verified, the last byte of a range is held back as well.
      const stop = complete ? Math.min(target, limit) : Math.min(target - 1, limit);
      const available = stop - this.position;
      const changesBeforeRead = this.transfer.changeCount;

      const chunk = available > 0 ? await this.nextChunk(available) : undefined;

      if (chunk) {
        this.position += chunk.length;
        this.push(chunk);

        return;
      }

      if (this.transfer.changeCount === changesBeforeRead) {
        await this.transfer.waitForChange();
      }
    }
  }

  /**
   * Returns up to `length` bytes from the reader's position: from memory while they are on their way to
   * the file, otherwise from the file, of which only bytes reported written are read.
   */
  private async nextChunk(length: number): Promise<Buffer | undefined> {
    const inMemory = this.transfer.bytesInMemory(this.position, length);

    if (inMemory) {
      return inMemory;
    }

    const onDisk = this.transfer.written - this.position;

    if (onDisk <= 0) {
      return undefined;
    }

    const handle = await this.openFile();
    const buffer = Buffer.allocUnsafe(Math.min(length, onDisk, readChunkBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.position);

    return bytesRead > 0 ? buffer.subarray(0, bytesRead) : undefined;
  }
}
