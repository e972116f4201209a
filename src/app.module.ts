import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

import { AdminModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ManifestHooks } from './common/manifest-hooks.js';
import { RootLogger } from './common/root-logger.js';
import { ShutdownState } from './common/shutdown-state.js';
import { BlobTransfers } from './common/blob-transfers.js';
import { ConfigModule } from './config/config.module.js';
import type { WharfConfig } from './config/config.schema.js';
import { parseSize } from './config/units.js';
import { DistributionModule } from './distribution/distribution.module.js';
import { HealthModule } from './health/health.module.js';
import { MetadataModule } from './metadata/metadata.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { StorageModule } from './storage/storage.module.js';
import { UiModule } from './ui/ui.module.js';

/** Wires the modules together; Storage and Metadata get plain options, never the config module. */
@Module({})
export class AppModule {
  static forRoot(config: WharfConfig, dataSource: DataSource, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      providers: [{ provide: RootLogger, useValue: logger }, ShutdownState, ManifestHooks, BlobTransfers],
      exports: [RootLogger, ShutdownState, ManifestHooks, BlobTransfers],
      imports: [
        ConfigModule.forRoot(config),
        StorageModule.forRoot({
          rootDirectory: config.storage.rootDirectory,
          manifestCacheBytes: parseSize(config.storage.manifestCacheSize) ?? 0,
        }),
        MetadataModule.forRoot(dataSource),
        MetricsModule,
        AuthModule,
        DistributionModule,
        HealthModule,
        AdminModule,
        UiModule,
      ],
    };
  }
}
