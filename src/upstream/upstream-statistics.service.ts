import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';

import { UpstreamRateLimitedError, UpstreamUnavailableError } from '../common/domain-errors.js';
import { PullTimes } from '../metadata/pull-times.service.js';
import type { PullRecord } from '../metadata/stores/repository.store.js';
import { type StatisticsDelta, UpstreamCacheStore } from '../metadata/stores/upstream-cache.store.js';
import { ActivityObserver } from '../common/activity-observer.js';

const flushIntervalMs = 5_000;

/**
 * Counts hits, misses, bytes and upstream errors per upstream and repository in memory. One
 * transaction adds them to SQLite every few seconds and at shutdown, so a request only updates memory
 * (it may still queue behind that transaction for its own queries). The same counts go to Prometheus
 * per upstream, without the repository. Last-pulled times go to PullTimes, which batches them alike.
 */
@Injectable()
export class UpstreamStatistics implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(UpstreamStatistics.name);
  private deltas = new Map<string, StatisticsDelta>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(UpstreamCacheStore) private readonly store: UpstreamCacheStore,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
    @Inject(PullTimes) private readonly pullTimes: PullTimes,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Content served from the cache without asking the upstream. */
  hit(upstream: string, repository: string, bytes: number): void {
    const delta = this.delta(upstream, repository);

    delta.hits++;
    delta.bytesServed += bytes;
    this.activity.recordCacheHit(upstream, bytes);
  }

  /** Content fetched from the upstream; `bytes` is what the upstream sent. */
  miss(upstream: string, repository: string, bytes: number): void {
    const delta = this.delta(upstream, repository);

    delta.misses++;
    delta.bytesFetched += bytes;
    delta.bytesServed += bytes;
    this.activity.recordCacheMiss(upstream, bytes);
  }

  notFound(upstream: string, repository: string): void {
    this.delta(upstream, repository).notFound++;
  }

  error(upstream: string, repository: string, kind: string): void {
    const delta = this.delta(upstream, repository);

    delta.errors[kind] = (delta.errors[kind] ?? 0) + 1;
    delta.lastErrorKind = kind;
    this.activity.recordUpstreamError(upstream, kind);
  }

  /** Counts an upstream failure by kind; errors that are not the upstream's are ignored. */
  failure(upstream: string, repository: string, error: unknown): void {
    if (error instanceof UpstreamUnavailableError) {
      this.error(upstream, repository, error.failure);
    } else if (error instanceof UpstreamRateLimitedError) {
      this.error(upstream, repository, 'rate-limited');
    }
  }

  pulled(repository: string, digest: string, kind: PullRecord['kind']): void {
    this.pullTimes.pulled(repository, digest, kind);
  }

  /** Writes what has been counted since the last flush; a failed write keeps nothing back but logs. */
  async flush(): Promise<void> {
    if (this.deltas.size === 0) {
      return;
    }

    const deltas = [...this.deltas.values()];

    this.deltas = new Map();

    try {
      await this.store.addStatistics(deltas);
    } catch (error) {
      this.logger.error({ err: error, repositories: deltas.length }, 'failed to write upstream statistics');
    }
  }

  private delta(upstream: string, repository: string): StatisticsDelta {
    const key = `${upstream}|${repository}`;
    let delta = this.deltas.get(key);

    if (!delta) {
      delta = {
        upstream,
        repository,
        hits: 0,
        misses: 0,
        bytesFetched: 0,
        bytesServed: 0,
        notFound: 0,
        errors: {},
        lastErrorKind: null,
      };
      this.deltas.set(key, delta);
    }

    return delta;
  }
}
