import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';

import { RootLogger } from '../common/root-logger.js';
import {
  type StorageStatistics,
  StorageStatisticsStore,
} from '../metadata/stores/storage-statistics.store.js';

export type { StorageStatistics };

/**
 * Reads storage totals for a scrape. prom-client collects all gauges of one scrape at once, so every
 * gauge that requests totals while a read is running shares that read instead of starting its own.
 */
@Injectable()
export class StorageStatisticsSnapshot {
  private pending: Promise<StorageStatistics | undefined> | undefined;

  constructor(
    @Inject(StorageStatisticsStore) private readonly store: StorageStatisticsStore,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {}

  /** Returns the current totals, or undefined when the database could not be read (logged). */
  current(): Promise<StorageStatistics | undefined> {
    this.pending ??= this.store
      .read()
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'failed to read storage statistics for metrics');

        return undefined;
      })
      .finally(() => {
        this.pending = undefined;
      });

    return this.pending;
  }
}
