import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** A repository's link to a blob: the blob is readable through that repository only while it exists. */
@Entity('repository_blobs')
export class RepositoryBlobEntity {
  @PrimaryColumn({ type: 'integer', name: 'repository_id' })
  repositoryId: number;

  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;

  /** Last time a client pulled it through a pull-through prefix; eviction uses it. */
  @Column({ type: 'bigint', name: 'last_pulled_at', nullable: true, transformer: epochMs })
  lastPulledAt: number | null;
}
