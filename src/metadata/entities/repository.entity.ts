import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** An OCI repository, created by its first push or mount. */
@Entity('repositories')
export class RepositoryEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 255, unique: true })
  name: string;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;
}
