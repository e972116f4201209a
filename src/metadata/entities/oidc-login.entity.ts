import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** An OIDC sign-in between the redirect to the provider and the callback; used once. */
@Entity('oidc_logins')
export class OidcLoginEntity {
  /** SHA-256 of the `state` parameter. */
  @PrimaryColumn({ type: 'varchar', length: 64, name: 'state_hash' })
  stateHash: string;

  @Column({ type: 'varchar', length: 128 })
  nonce: string;

  @Column({ type: 'varchar', length: 128, name: 'code_verifier' })
  codeVerifier: string;

  @Column({ type: 'text', name: 'return_to' })
  returnTo: string;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;
}
