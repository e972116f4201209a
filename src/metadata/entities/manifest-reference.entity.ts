import { Column, Entity, PrimaryColumn } from 'typeorm';

export type ManifestReferenceKind = 'config' | 'layer' | 'child';

/** One descriptor a manifest points to: its config, a layer, or a child manifest of an index. */
@Entity('manifest_references')
export class ManifestReferenceEntity {
  @PrimaryColumn({ type: 'integer', name: 'manifest_id' })
  manifestId: number;

  /** The descriptor's position: 0 for the config, then layers or children in manifest order. */
  @PrimaryColumn({ type: 'integer' })
  position: number;

  @Column({ type: 'varchar', length: 16 })
  kind: ManifestReferenceKind;

  @Column({ type: 'varchar', length: 150 })
  digest: string;
}
