import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** How often requests to one upstream for one repository failed, by kind of failure. */
@Entity('upstream_errors')
export class UpstreamErrorEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  upstream: string;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  repository: string;

  /** `timeout`, `network`, `rate-limited`, `server-error` or `invalid-response`. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  kind: string;

  @Column({ type: 'bigint', transformer: epochMs })
  count: number;
}
