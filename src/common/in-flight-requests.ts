import type { Server } from 'node:http';

/**
 * Counts the requests a Node HTTP server is handling, so that shutdown can wait for them. A request
 * counts from its headers until its response ends or its connection closes, whichever comes first.
 */
export class InFlightRequests {
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(server: Server) {
    server.on('request', (_request, response) => {
      this.active++;
      response.once('close', () => this.finish());
    });
  }

  get count(): number {
    return this.active;
  }

  /** Resolves true once no request is in flight, or false when `timeoutMs` passes first. */
  waitUntilIdle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) {
      return Promise.resolve(true);
    }

    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };

      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((other) => other !== waiter);
        resolve(false);
      }, timeoutMs);

      this.idleWaiters.push(waiter);
    });
  }

  private finish(): void {
    this.active--;

    if (this.active === 0) {
      const waiters = this.idleWaiters;

      this.idleWaiters = [];
      waiters.forEach((waiter) => waiter());
    }
  }
}
