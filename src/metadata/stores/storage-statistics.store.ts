import { Inject, Injectable } from '@nestjs/common';

import {
  BlobEntity,
  ManifestEntity,
  RepositoryEntity,
  TagEntity,
  UploadSessionEntity,
} from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

/** Totals of what the registry stores, for metrics and reports. */
export interface StorageStatistics {
  /** Blob rows: layers, configs and manifest bytes, each digest once. */
  blobs: number;
  /** Sum of the sizes of those blobs. */
  blobBytes: number;
  /** Manifest rows, one per repository that contains the manifest. */
  manifests: number;
  repositories: number;
  tags: number;
  /** Upload sessions started and not yet completed, cancelled or purged. */
  uploadSessions: number;
}

/** COUNT and SUM queries over the whole metadata database. */
@Injectable()
export class StorageStatisticsStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /**
   * Counts everything in one read. Each count scans its table (SQLite keeps no row counts), so the cost
   * grows with the number of rows.
   */
  async read(): Promise<StorageStatistics> {
    return this.db.read(async (manager) => {
      const blobTotals = await manager
        .createQueryBuilder(BlobEntity, 'blob')
        .select('COUNT(*)', 'count')
        .addSelect('COALESCE(SUM(blob.size), 0)', 'bytes')
        .getRawOne<{ count: number | string; bytes: number | string }>();

      return {
        blobs: Number(blobTotals?.count ?? 0),
        blobBytes: Number(blobTotals?.bytes ?? 0),
        manifests: await manager.count(ManifestEntity),
        repositories: await manager.count(RepositoryEntity),
        tags: await manager.count(TagEntity),
        uploadSessions: await manager.count(UploadSessionEntity),
      };
    });
  }
}
