import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** A manifest stored in a repository; its bytes live in blob storage under `digest`. */
@Entity('manifests')
export class ManifestEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'integer', name: 'repository_id' })
  repositoryId: number;

  @Index('idx_manifests_digest')
  @Column({ type: 'varchar', length: 150 })
  digest: string;

  @Column({ type: 'varchar', length: 255, name: 'media_type' })
  mediaType: string;

  @Column({ type: 'bigint', transformer: epochMs })
  size: number;

  /** `artifactType`, or for an image manifest without one the config's media type. */
  @Column({ type: 'varchar', length: 255, name: 'artifact_type', nullable: true })
  artifactType: string | null;

  @Column({ type: 'varchar', length: 150, name: 'subject_digest', nullable: true })
  subjectDigest: string | null;

  /** The manifest's `annotations` as JSON, copied into referrers responses. */
  @Column({ type: 'text', nullable: true })
  annotations: string | null;

  @Column({ type: 'bigint', name: 'created_at', transformer: epochMs })
  createdAt: number;

  /** Last time a client pulled it through `/v2`; retention rules and eviction use it. */
  @Column({ type: 'bigint', name: 'last_pulled_at', nullable: true, transformer: epochMs })
  lastPulledAt: number | null;
}
