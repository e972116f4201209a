import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';

import { WharfConfig } from '../../config/config.schema.js';
import { parseDuration } from '../../config/units.js';
import { UploadService } from './upload.service.js';

/** Deletes stale upload sessions at start-up and then every `storage.uploads.purgeInterval`. */
@Injectable()
export class UploadPurger implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UploadPurger.name);
  private timer: NodeJS.Timeout | undefined;
  private readonly maxAgeMs: number;
  private readonly intervalMs: number;

  constructor(
    @Inject(UploadService) private readonly uploads: UploadService,
    @Inject(WharfConfig) config: WharfConfig,
  ) {
    this.maxAgeMs = parseDuration(config.storage.uploads.maxAge) ?? 0;
    this.intervalMs = parseDuration(config.storage.uploads.purgeInterval) ?? 0;
  }

  onApplicationBootstrap(): void {
    void this.purge();

    if (this.intervalMs > 0) {
      this.timer = setInterval(() => void this.purge(), this.intervalMs);
      this.timer.unref();
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async purge(): Promise<number> {
    try {
      const removed = await this.uploads.purgeStale(Date.now() - this.maxAgeMs);

      if (removed > 0) {
        this.logger.log({ removed, maxAgeMs: this.maxAgeMs }, 'stale uploads purged');
      }

      return removed;
    } catch (error) {
      this.logger.error({ err: error }, 'failed to purge stale uploads');

      return 0;
    }
  }
}
