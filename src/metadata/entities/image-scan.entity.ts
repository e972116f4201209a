import { Column, Entity, PrimaryColumn } from 'typeorm';

import { epochMs } from './epoch-ms.transformer.js';

/** The last scan of one image manifest: its inventory and its findings against the vulnerability database. */
@Entity('image_scans')
export class ImageScanEntity {
  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  /** `done`, or `failed` when the image could not be read at all. */
  @Column({ type: 'varchar', length: 16 })
  status: string;

  /** The inventory (SBOM) as JSON; kept so that a database change needs no second read of the layers. */
  @Column({ type: 'text', nullable: true })
  inventory: string | null;

  /** The findings as a JSON array. */
  @Column({ type: 'text' })
  findings: string;

  /** Finding counts by severity as a JSON object. */
  @Column({ type: 'text' })
  summary: string;

  /** The highest severity among the findings, or null without findings. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  highest: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** The vulnerability database generation the findings were matched against. */
  @Column({ type: 'integer', name: 'database_generation' })
  databaseGeneration: number;

  @Column({ type: 'bigint', name: 'inventoried_at', nullable: true, transformer: epochMs })
  inventoriedAt: number | null;

  @Column({ type: 'bigint', name: 'scanned_at', transformer: epochMs })
  scannedAt: number;
}

/** One advisory id or alias of one finding of a scanned image, so that an advisory finds its images. */
@Entity('scan_advisories')
export class ScanAdvisoryEntity {
  @PrimaryColumn({ type: 'varchar', length: 150 })
  digest: string;

  @PrimaryColumn({ type: 'varchar', length: 200 })
  advisory: string;
}
