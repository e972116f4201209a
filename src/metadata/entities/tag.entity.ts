import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

@Entity('tags')
export class TagEntity {
  @PrimaryColumn({ type: 'integer', name: 'repository_id' })
  repositoryId: number;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  name: string;

  @Column({ type: 'varchar', length: 150, name: 'manifest_digest' })
  manifestDigest: string;

  @Column({ type: 'bigint', name: 'updated_at', transformer: epochMs })
  updatedAt: number;
}
