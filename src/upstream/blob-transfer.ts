import { EventEmitter } from 'node:events';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';

import type { ByteRange } from '../storage/blob-storage.service.js';

const readChunkBytes = 256 * 1024;
const tailPollMs = 50;

/**
 * A blob being copied from an upstream into an upload file. Any number of clients read it while it
 * grows, each from its own file handle. The last byte is released only once the whole blob is
 * verified, so a client never receives a complete response for bytes that fail verification: a
 * failed transfer ends every reader with an error instead.
 */
export class BlobTransfer {
  /** Bytes appended to the file so far. */
  written = 0;
  private state: 'running' | 'verified' | 'failed' = 'running';
  /** Counts changes, so a reader can tell whether one happened while it was reading. */
  private version = 0;
  private failure: Error | undefined;
  private readonly events = new EventEmitter();

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

  progress(written: number): void {
    this.written = written;
    this.changed();
  }

  verified(): void {
    this.state = 'verified';
    this.changed();
  }

  /** Ends every reader with `error`, unless the bytes were already verified: those stay readable. */
  failed(error: Error): void {
    if (this.state === 'verified') {
      return;
    }

    this.state = 'failed';
    this.failure = error;
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

  /** Returns how many bytes readers may take now, or undefined while nothing more can be known. */
  readableLimit(): number {
    if (this.state === 'failed') {
      throw this.failure ?? new Error('upstream transfer failed');
    }

    // While unverified, one byte is held back so that no reader can finish early.
    return this.state === 'verified' ? this.written : Math.max(this.written - 1, 0);
  }

  get complete(): boolean {
    return this.state === 'verified';
  }

  get changeCount(): number {
    return this.version;
  }

  /** Resolves on the next change, or after a short poll interval, whichever comes first. */
  waitForChange(): Promise<void> {
    // Progress is reported once bytes reach the file, so the timer is only a safety net for a reader
    // that checked just before a change.
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

/** Reads a BlobTransfer's file from its own handle, waiting for bytes the writer has not appended yet. */
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

  private async readMore(): Promise<void> {
    this.handle ??= await open(this.transfer.path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && this.transfer.complete) {
        return open(this.transfer.finalPath, 'r');
      }

      throw error;
    });

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

      if (available > 0) {
        const buffer = Buffer.allocUnsafe(Math.min(available, readChunkBytes));
        const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position);

        if (bytesRead > 0) {
          this.position += bytesRead;
          this.push(buffer.subarray(0, bytesRead));

          return;
        }
      }

      if (this.transfer.changeCount === changesBeforeRead) {
        await this.transfer.waitForChange();
      }
    }
  }
}
