import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** When a cached tag of a pull-through repository was last confirmed with its upstream. */
@Entity('upstream_tag_checks')
export class UpstreamTagCheckEntity {
  @PrimaryColumn({ type: 'integer', name: 'repository_id' })
  repositoryId: number;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  tag: string;

  @Column({ type: 'bigint', name: 'checked_at', transformer: epochMs })
  checkedAt: number;
}
