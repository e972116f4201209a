import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** Bytes known to be in blob storage, layers, configs and manifests alike. */
@Entity('blobs')
export class BlobEntity {
  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  @Column({ type: 'bigint', transformer: epochMs })
  size: number;

  @Index('idx_blobs_created_at')
  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;
}
