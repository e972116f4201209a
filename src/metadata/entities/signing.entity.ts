import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** A public key, certificate or trust policy an admin uploaded through the admin API. */
@Entity('signing_trust')
export class SigningTrustEntity {
  /** `cosign-key`, `notation-certificate` or `notation-policy`. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  kind: string;

  /** The key's name, `<store>/<name>` for a certificate, or `policy`. */
  @PrimaryColumn({ type: 'varchar', length: 200 })
  name: string;

  /** PEM text, or the trust policy's JSON. */
  @Column({ type: 'text' })
  content: string;

  @Column({ type: 'varchar', length: 200, name: 'created_by', nullable: true })
  createdBy: string | null;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;
}

/** The outcome of checking the signatures of one image in one repository. */
@Entity('signature_verdicts')
export class SignatureVerdictEntity {
  @PrimaryColumn({ type: 'varchar', length: 255 })
  repository: string;

  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  /** `verified`, `unverified` (signed, but no signature verified) or `unsigned`. */
  @Column({ type: 'varchar', length: 16 })
  state: string;

  /** Each signature with its outcome, as a JSON array. */
  @Column({ type: 'text' })
  signatures: string;

  /** A hash of the trust the signatures were checked against, so that a change of trust is noticed. */
  @Column({ type: 'varchar', length: 64, name: 'trust_generation' })
  trustGeneration: string;

  @Column({ type: 'bigint', name: 'evaluated_at', transformer: epochMs })
  evaluatedAt: number;
}
