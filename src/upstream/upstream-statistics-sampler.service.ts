import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';

import { WharfConfig } from '../config/config.schema.js';
import { durationMs } from '../config/units.js';
import {
  type UpstreamSample,
  UpstreamStatisticsStore,
} from '../metadata/stores/upstream-statistics.store.js';
import { UpstreamRoutes } from './upstream-routes.js';
import { UpstreamStatistics } from './upstream-statistics.service.js';

/** The methods of UpstreamStatisticsStore that the sampler uses. */
export type SampleStore = Pick<UpstreamStatisticsStore, 'totals' | 'storageBytes' | 'recordSamples'>;

/** Returns the start of the sample interval that contains `now`; both are epoch milliseconds. */
export function sampleTime(now: number, intervalMs: number): number {
  return now - (now % intervalMs);
}

/**
 * Saves each configured upstream's cumulative cache counters and cached storage as one sample every
 * `statistics.sampleInterval`, for the cache dashboard's charts, and deletes samples older than
 * `statistics.retention`. A sample's time is rounded down to the interval, so replicas that share a
 * database write the same key and the first write wins. The first sample is taken as soon as the
 * application has started; later ones at the start of each interval. A run starts only after the
 * previous one ended, and a failed run is logged and the next one is tried as usual.
 */
@Injectable()
export class UpstreamStatisticsSampler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UpstreamStatisticsSampler.name);
  /** The sample interval in whole milliseconds. */
  readonly intervalMs: number;
  private readonly retentionMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Failed runs in a row, for rate-limiting the error log. */
  private failures = 0;

  constructor(
    @Inject(UpstreamRoutes) private readonly routes: Pick<UpstreamRoutes, 'all'>,
    @Inject(UpstreamStatistics) private readonly counters: Pick<UpstreamStatistics, 'flush'>,
    @Inject(UpstreamStatisticsStore) private readonly store: SampleStore,
    @Inject(WharfConfig) config: Pick<WharfConfig, 'statistics'>,
  ) {
    this.intervalMs = Math.round(durationMs(config.statistics.sampleInterval));
    this.retentionMs = durationMs(config.statistics.retention);
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  /** Stops the timer and waits for a run in progress, so that it ends before the database closes. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Takes one sample now, or joins the run in progress. Never rejects: a failure is logged. */
  sample(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });

    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) {
      return;
    }

    this.timer = setTimeout(() => {
      void this.sample().then(() => this.schedule(this.intervalMs - (Date.now() % this.intervalMs)));
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const now = Date.now();
    const sampledAt = sampleTime(now, this.intervalMs);

    try {
      // Counters wait in memory for a few seconds; writing them first makes the sample current.
      await this.counters.flush();

      const samples = await this.currentSamples(sampledAt);
      const deleted = await this.store.recordSamples(samples, now - this.retentionMs);

      this.logger.debug({ upstreams: samples.length, sampledAt, deleted }, 'upstream statistics sampled');

      if (this.failures > 0) {
        this.logger.log({ failures: this.failures }, 'upstream statistics sampling recovered');
        this.failures = 0;
      }
    } catch (error) {
      this.failures++;

      // The first failure and then the 2nd, 4th, 8th... in a row, so a broken database does not flood the log.
      if ((this.failures & (this.failures - 1)) === 0) {
        this.logger.error(
          { err: error, sampledAt, failures: this.failures },
          'failed to sample upstream statistics',
        );
      }
    }
  }

  private async currentSamples(sampledAt: number): Promise<UpstreamSample[]> {
    const prefixes = this.routes.all.map((upstream) => upstream.prefix);
    const totals = await this.store.totals();
    const storage = await this.store.storageBytes(prefixes);

    return prefixes.map((upstream) => {
      const counters = totals.get(upstream);

      return {
        upstream,
        sampledAt,
        hits: counters?.hits ?? 0,
        misses: counters?.misses ?? 0,
        bytesFetched: counters?.bytesFetched ?? 0,
        bytesServed: counters?.bytesServed ?? 0,
        notFound: counters?.notFound ?? 0,
        errors: counters?.errors ?? 0,
        storageBytes: storage.get(upstream) ?? 0,
      };
    });
  }
}
