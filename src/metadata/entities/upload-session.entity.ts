import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** An upload in progress; its bytes are in `uploads/<id>/data`. */
@Entity('upload_sessions')
export class UploadSessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 255, name: 'repository_name' })
  repositoryName: string;

  @Column({ type: 'bigint', name: 'started_at', transformer: epochMs })
  startedAt: number;
}
