import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** A person who has signed in; OIDC groups are kept from the last sign-in for API-key requests. */
@Entity('users')
export class UserEntity {
  @PrimaryColumn({ type: 'varchar', length: 255 })
  username: string;

  /** Method of the user's last sign-in: `htpasswd`, `oidc` or `forward-auth`. */
  @Column({ type: 'varchar', length: 16 })
  source: string;

  /** JSON array of group names. */
  @Column({ type: 'text' })
  groups: string;

  @Column({ type: 'bigint', name: 'last_login_at', transformer: epochMs })
  lastLoginAt: number;
}
