import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { migrations } from '../../migrations/index.js';
import { entities } from './entities/index.js';
import { MetadataDatabase } from './metadata-database.js';
import { PullTimes } from './pull-times.service.js';
import { bindNumbersAsParameters } from './sqlite-parameters.js';
import { ApiKeyStore } from './stores/api-key.store.js';
import { BlobRecordStore } from './stores/blob-record.store.js';
import { LifecycleStore } from './stores/lifecycle.store.js';
import { ScanResultStore } from './stores/scan-result.store.js';
import { ManifestStore } from './stores/manifest.store.js';
import { RepositoryStore } from './stores/repository.store.js';
import { RepositorySummaryStore } from './stores/repository-summary.store.js';
import { SessionStore } from './stores/session.store.js';
import { SigningStore } from './stores/signing.store.js';
import { StorageStatisticsStore } from './stores/storage-statistics.store.js';
import { UploadSessionStore } from './stores/upload-session.store.js';
import { UpstreamCacheStore } from './stores/upstream-cache.store.js';
import { UpstreamStatisticsStore } from './stores/upstream-statistics.store.js';
import { UserStore } from './stores/user.store.js';
import { VulnerabilityStore } from './stores/vulnerability.store.js';

export interface MetadataOptions {
  type: 'sqlite' | 'postgres';
  /** SQLite database file. */
  path: string;
  /** PostgreSQL connection URL. */
  url?: string;
}

/** Opens the database and runs pending migrations before anything else starts. */
export async function openDataSource(options: MetadataOptions): Promise<DataSource> {
  if (options.type === 'postgres') {
    // The config loader rejects postgres first; this guards other callers.
    throw new Error('database.type "postgres" is not supported yet; use "sqlite"');
  }

  const dataSource = sqliteDataSource(options.path);

  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });

  return dataSource;
}

function sqliteDataSource(path: string): DataSource {
  mkdirSync(dirname(path), { recursive: true });

  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: path,
    entities,
    migrations,
    // WAL keeps readers off the writer's lock; NORMAL sync loses no committed row when the process is
    // killed, only on power loss, which SQLite documents for WAL mode.
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  });

  bindNumbersAsParameters(dataSource);

  return dataSource;
}

const stores = [
  RepositoryStore,
  BlobRecordStore,
  ManifestStore,
  UploadSessionStore,
  UpstreamCacheStore,
  UserStore,
  ApiKeyStore,
  SessionStore,
  StorageStatisticsStore,
  RepositorySummaryStore,
  UpstreamStatisticsStore,
  LifecycleStore,
  ScanResultStore,
  VulnerabilityStore,
  SigningStore,
  PullTimes,
];

/** Registry metadata: TypeORM entities, the stores that read and write them, and the batched pull times. */
@Module({})
export class MetadataModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MetadataDatabase) private readonly database: MetadataDatabase,
  ) {}

  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: MetadataModule,
      global: true,
      providers: [
        { provide: DataSource, useValue: dataSource },
        { provide: MetadataDatabase, useValue: new MetadataDatabase(dataSource) },
        ...stores,
      ],
      exports: [DataSource, MetadataDatabase, ...stores],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.database.close();

    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
  }
}
