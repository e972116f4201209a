import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** A user's API key; only the SHA-256 of its secret is stored. */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id: string;

  @Index('idx_api_keys_username')
  @Column({ type: 'varchar', length: 255 })
  username: string;

  @Column({ type: 'varchar', length: 100 })
  label: string;

  @Column({ type: 'varchar', length: 64, name: 'secret_hash' })
  secretHash: string;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;

  @Column({ type: 'bigint', name: 'expires_at', nullable: true, transformer: epochMs })
  expiresAt: number | null;

  @Column({ type: 'bigint', name: 'revoked_at', nullable: true, transformer: epochMs })
  revokedAt: number | null;

  @Column({ type: 'bigint', name: 'last_used_at', nullable: true, transformer: epochMs })
  lastUsedAt: number | null;
}
