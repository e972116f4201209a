import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';

import { ActivityObserver } from '../common/activity-observer.js';
import { UpstreamClient, type UpstreamRequestResult } from './upstream-client.js';
import { type Upstream, UpstreamRoutes } from './upstream-routes.js';
import { UpstreamStatus } from './upstream-status.service.js';

/** How long cached tags are served without revalidation after their upstream failed. */
const failureBackoffMs = 10_000;

/** Maximum number of remembered "not found" responses, so a scan of random names cannot grow memory. */
const maxRememberedNotFound = 10_000;

/** One pooled HTTP client per upstream, and the short memory of what each upstream did not have. */
@Injectable()
export class UpstreamClients implements OnApplicationShutdown {
  private readonly clients = new Map<string, UpstreamClient>();
  private readonly notFoundUntil = new Map<string, number>();
  private readonly failedUntil = new Map<string, number>();

  constructor(
    @Inject(UpstreamRoutes) routes: UpstreamRoutes,
    @Inject(ActivityObserver) activity: ActivityObserver,
    @Inject(UpstreamStatus) status: UpstreamStatus,
  ) {
    for (const upstream of routes.all) {
      const observe = (result: UpstreamRequestResult) => {
        activity.recordUpstreamRequest(upstream.prefix, result);
        status.recordResult(upstream.prefix, result);
      };

      const observeHeaders = status.recordHeaders.bind(status, upstream.prefix);

      this.clients.set(upstream.prefix, new UpstreamClient(upstream, observe, observeHeaders));
    }
  }

  for(upstream: Upstream): UpstreamClient {
    const client = this.clients.get(upstream.prefix);

    if (!client) {
      throw new Error(`no client for upstream "${upstream.prefix}"`);
    }

    return client;
  }

  /** Remembers that the upstream returned 404 for `key`, for the upstream's `notFoundTtl`. */
  rememberNotFound(upstream: Upstream, key: string): void {
    if (upstream.notFoundTtlMs <= 0) {
      return;
    }

    if (this.notFoundUntil.size >= maxRememberedNotFound) {
      this.notFoundUntil.clear();
    }

    this.notFoundUntil.set(`${upstream.prefix}|${key}`, Date.now() + upstream.notFoundTtlMs);
  }

  isKnownNotFound(upstream: Upstream, key: string): boolean {
    const until = this.notFoundUntil.get(`${upstream.prefix}|${key}`);

    return until !== undefined && until > Date.now();
  }

  forget(upstream: Upstream, key: string): void {
    this.notFoundUntil.delete(`${upstream.prefix}|${key}`);
  }

  /** Records that an upstream just failed, so revalidations skip it for a short while. */
  markFailed(upstream: Upstream): void {
    this.failedUntil.set(upstream.prefix, Date.now() + failureBackoffMs);
  }

  recentlyFailed(upstream: Upstream): boolean {
    return (this.failedUntil.get(upstream.prefix) ?? 0) > Date.now();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
  }
}
