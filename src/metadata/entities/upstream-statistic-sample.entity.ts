import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/**
 * The cumulative cache counters and the storage of one upstream at one time, for history charts.
 * `sampledAt` is rounded down to the sample interval, so replicas that share the database write the
 * same key and only the first write is kept.
 */
@Entity('upstream_statistic_samples')
export class UpstreamStatisticSampleEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  upstream: string;

  /** Epoch milliseconds. */
  @Index('idx_upstream_statistic_samples_sampled_at')
  @PrimaryColumn({ type: 'bigint', name: 'sampled_at', transformer: epochMs })
  sampledAt: number;

  @Column({ type: 'bigint', transformer: epochMs })
  hits: number;

  @Column({ type: 'bigint', transformer: epochMs })
  misses: number;

  @Column({ type: 'bigint', name: 'bytes_fetched', transformer: epochMs })
  bytesFetched: number;

  @Column({ type: 'bigint', name: 'bytes_served', transformer: epochMs })
  bytesServed: number;

  @Column({ type: 'bigint', name: 'not_found', transformer: epochMs })
  notFound: number;

  @Column({ type: 'bigint', transformer: epochMs })
  errors: number;

  /** Sizes of the distinct blobs and manifests cached under the prefix. */
  @Column({ type: 'bigint', name: 'storage_bytes', transformer: epochMs })
  storageBytes: number;
}
