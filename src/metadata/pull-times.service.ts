import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
} from '@nestjs/common';

import { type PullRecord, RepositoryStore } from './stores/repository.store.js';

const flushIntervalMs = 5_000;

/**
 * Last-pulled times of manifests and of pull-through blobs, for the UI and the admin API. A pull only
 * updates memory. One transaction writes the latest time of each every few seconds and at shutdown,
 * so a busy tag costs one row update per interval, not one per request.
 */
@Injectable()
export class PullTimes implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(PullTimes.name);
  private pending = new Map<string, PullRecord>();
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(RepositoryStore) private readonly repositories: RepositoryStore) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  pulled(repository: string, digest: string, kind: PullRecord['kind']): void {
    this.pending.set(`${kind}|${repository}@${digest}`, { repository, digest, kind, at: Date.now() });
  }

  /** Writes the times noted since the last flush; a failed write loses them and is logged. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) {
      return;
    }

    const pulls = [...this.pending.values()];

    this.pending = new Map();

    try {
      await this.repositories.recordPulls(pulls);
    } catch (error) {
      this.logger.error({ err: error, pulls: pulls.length }, 'failed to write last-pulled times');
    }
  }
}
