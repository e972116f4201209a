import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** A browser session; the cookie contains the secret and the table stores its SHA-256. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64, name: 'id_hash' })
  idHash: string;

  @Column({ type: 'varchar', length: 255 })
  username: string;

  /** JSON array of group names at sign-in. */
  @Column({ type: 'text' })
  groups: string;

  /** `htpasswd` or `oidc`. */
  @Column({ type: 'varchar', length: 16 })
  method: string;

  /** Sent back in `X-CSRF-Token` by state-changing requests that carry the cookie. */
  @Column({ type: 'varchar', length: 64, name: 'csrf_token' })
  csrfToken: string;

  /** The provider's ID token, kept as the hint for its end-session endpoint. */
  @Column({ type: 'text', name: 'id_token', nullable: true })
  idToken: string | null;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;

  @Column({ type: 'bigint', name: 'expires_at', transformer: epochMs })
  expiresAt: number;
}
