import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** Pull-through counters of one repository of one upstream, added to as requests are served. */
@Entity('upstream_statistics')
export class UpstreamStatisticEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  upstream: string;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  repository: string;

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

  @Column({ type: 'varchar', length: 32, name: 'last_error_kind', nullable: true })
  lastErrorKind: string | null;

  @Column({ type: 'bigint', name: 'updated_at', transformer: epochMs })
  updatedAt: number;
}
