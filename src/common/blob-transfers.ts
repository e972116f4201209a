import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { Injectable } from '@nestjs/common';

/** Path of an upload session, which PATCH and PUT send blob bytes to. */
const uploadSessionPath = /^\/v2\/.+\/blobs\/uploads\/[^/?]+(?:\?|$)/;

/** Paths by method of the OCI API requests whose bodies are blob bytes: blob GETs and uploads. */
const blobBodyPaths: Record<string, RegExp> = {
  GET: /^\/v2\/.+\/blobs\/[^/?]+(?:\?|$)/,
  PATCH: uploadSessionPath,
  PUT: uploadSessionPath,
  POST: /^\/v2\/.+\/blobs\/uploads\/(?:\?|$)/,
};

/**
 * Counts the blob bytes that clients are downloading or uploading, so that background work such as
 * image scans can wait for a quiet moment instead of taking CPU from them. A transfer counts from its
 * request's headers until its response closes.
 */
@Injectable()
export class BlobTransfers {
  private active = 0;
  private lastEndedAt = 0;
  private waiters: (() => void)[] = [];

  get count(): number {
    return this.active;
  }

  /** Returns whether a request sends or receives blob bytes: a blob GET, or a POST, PATCH or PUT of an upload. */
  static isBlobTransfer(method: string | undefined, url: string | undefined): boolean {
    const pattern = method === undefined ? undefined : blobBodyPaths[method];

    return pattern !== undefined && url !== undefined && pattern.test(url);
  }

  /** Counts the blob transfers among the requests of `server`. */
  watch(server: Server): void {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (BlobTransfers.isBlobTransfer(request.method, request.url)) {
        this.track(response);
      }
    });
  }

  /** Counts one transfer until `response` closes. */
  track(response: ServerResponse): void {
    this.active++;
    response.once('close', () => {
      this.active--;
      this.lastEndedAt = Date.now();
      this.wake();
    });
  }

  /** Returns whether no transfer is running and none has ended in the last `quietMs`. */
  isQuiet(quietMs: number): boolean {
    return this.active === 0 && Date.now() - this.lastEndedAt >= quietMs;
  }

  /**
   * Resolves once no transfer has run for `quietMs`, when `maxWaitMs` have passed, or when `signal`
   * aborts, whichever comes first.
   */
  async waitForQuiet(quietMs: number, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + maxWaitMs;

    while (signal?.aborted !== true) {
      const now = Date.now();
      const quietAt = this.active > 0 ? deadline : Math.min(this.lastEndedAt + quietMs, deadline);

      if (now >= quietAt) {
        return;
      }

      await this.sleepUntil(quietAt, signal);
    }
  }

  /** Waits until `time`, a transfer ends or `signal` aborts. */
  private sleepUntil(time: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((waiter) => waiter !== done);
        resolve();
      };

      const timer = setTimeout(done, time - Date.now());

      signal?.addEventListener('abort', done, { once: true });
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;

    this.waiters = [];
    waiters.forEach((waiter) => waiter());
  }
}
