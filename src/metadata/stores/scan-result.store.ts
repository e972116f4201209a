import { Inject, Injectable } from '@nestjs/common';

import { ImageScanEntity, ScanAdvisoryEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

/** The stored result of one image scan; inventory and findings stay JSON text, which scanning reads. */
export interface ImageScanRecord {
  digest: string;
  status: 'done' | 'failed';
  inventory: string | null;
  findings: string;
  /** Finding counts by severity as JSON. */
  summary: string;
  highest: string | null;
  error: string | null;
  databaseGeneration: number;
  inventoriedAt: number | null;
  scannedAt: number;
  /** Advisory ids and aliases of the findings, for finding images by advisory. */
  advisories: string[];
}

/** The short form of a scan, for lists and badges. */
export interface ScanSummaryRow {
  digest: string;
  status: string;
  summary: string;
  highest: string | null;
  scannedAt: number;
}

/** An image whose findings name an advisory, with the repositories and tags that hold it. */
export interface AffectedImageRow {
  repository: string;
  digest: string;
  tags: string[];
}

const batchSize = 500;

/**
 * Keeps the scans of images some repository still stores. A scan outlives its manifest, so that an
 * image pushed again needs no new scan, but deleted images must not count or be matched again.
 */
const stored = 'EXISTS (SELECT 1 FROM manifests m WHERE m.digest = s.digest)';

type SqlParameter = string | number;

interface ScanRow {
  digest: string;
  status: string;
  summary: string;
  highest: string | null;
  scanned_at: number;
}

function summaryOf(row: ScanRow): ScanSummaryRow {
  return {
    digest: row.digest,
    status: row.status,
    summary: row.summary,
    highest: row.highest,
    scannedAt: Number(row.scanned_at),
  };
}

/** Scan results of image manifests, keyed by digest, so that one scan serves every repository holding the image. */
@Injectable()
export class ScanResultStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /** Saves a scan, replacing the one before, with its advisory index. */
  async save(record: ImageScanRecord): Promise<void> {
    const { advisories, ...row } = record;

    await this.db.transaction(async (manager) => {
      await manager.upsert(ImageScanEntity, row, ['digest']);
      await manager.delete(ScanAdvisoryEntity, { digest: record.digest });

      const unique = [...new Set(advisories)];

      for (let start = 0; start < unique.length; start += batchSize) {
        await manager.insert(
          ScanAdvisoryEntity,
          unique.slice(start, start + batchSize).map((advisory) => ({ digest: record.digest, advisory })),
        );
      }
    });
  }

  /**
   * Returns the findings and summary JSON of an image's last scan, or undefined when it has none. It
   * reads the read-only connection, which takes no place in the write queue, so a check on the pull
   * path skips it.
   */
  findingsOf(digest: string): { findings: string; summary: string } | undefined {
    return this.db.selectFirst<{ findings: string; summary: string }>(
      'SELECT findings, summary FROM image_scans WHERE digest = ?',
      digest,
    );
  }

  get(digest: string): Promise<ImageScanEntity | null> {
    return this.db.read((manager) => manager.findOneBy(ImageScanEntity, { digest }));
  }

  /**
   * Returns the scans under each of `digests` in `repository`: the image's own, or those of an
   * index's children; keyed by the digest asked for.
   */
  scansUnder(repository: string, digests: string[]): Map<string, ScanSummaryRow[]> {
    return this.groupedScans(
      digests,
      (marks) => `SELECT DISTINCT m.digest AS key, s.digest, s.status, s.summary, s.highest, s.scanned_at
           FROM manifests m
           JOIN repositories r ON r.id = m.repository_id
           LEFT JOIN manifest_references c ON c.manifest_id = m.id AND c.kind = 'child'
           JOIN image_scans s ON s.digest = COALESCE(c.digest, m.digest)
          WHERE r.name = ? AND m.digest IN (${marks})`,
      [repository],
    );
  }

  /** Returns the scans of the images the tags of each of `repositories` name, directly or through an index. */
  taggedScans(repositories: string[]): Map<string, ScanSummaryRow[]> {
    return this.groupedScans(
      repositories,
      (marks) => `SELECT DISTINCT r.name AS key, s.digest, s.status, s.summary, s.highest, s.scanned_at
           FROM repositories r
           JOIN tags t ON t.repository_id = r.id
           JOIN manifests m ON m.repository_id = r.id AND m.digest = t.manifest_digest
           LEFT JOIN manifest_references c ON c.manifest_id = m.id AND c.kind = 'child'
           JOIN image_scans s ON s.digest = COALESCE(c.digest, m.digest)
          WHERE r.name IN (${marks})`,
      [],
    );
  }

  /** Lists scanned digests that have an inventory, in digest order after `after`, for matching again. */
  inventoried(after: string, limit: number): string[] {
    return this.db
      .scan<{ digest: string }>(
        `SELECT digest FROM image_scans s
          WHERE inventory IS NOT NULL AND digest > ? AND ${stored}
          ORDER BY digest LIMIT ?`,
        after,
        limit,
      )
      .map((row) => row.digest);
  }

  /**
   * Lists image manifests (those whose config is an image configuration) that have no scan, in row
   * order after the row id `after`, with a repository that contains each.
   */
  unscanned(after: number, limit: number): { id: number; repository: string; digest: string }[] {
    return this.db.scan<{ id: number; repository: string; digest: string }>(
      `SELECT m.id AS id, r.name AS repository, m.digest AS digest
         FROM manifests m JOIN repositories r ON r.id = m.repository_id
        WHERE m.id > ?
          AND m.artifact_type IN ('application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json')
          AND NOT EXISTS (SELECT 1 FROM image_scans s WHERE s.digest = m.digest)
        ORDER BY m.id
        LIMIT ?`,
      after,
      limit,
    );
  }

  /**
   * Lists the images whose findings name `advisory` (an id or an alias such as a CVE), with each
   * repository that contains the image and its tags there.
   */
  affectedImages(advisory: string, limit: number): AffectedImageRow[] {
    const rows = this.db.scan<{ repository: string; digest: string; tags: string | null }>(
      `SELECT r.name AS repository, m.digest AS digest,
              (SELECT group_concat(t.name, char(10)) FROM tags t
                WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest) AS tags
         FROM scan_advisories a
         JOIN manifests m ON m.digest = a.digest
         JOIN repositories r ON r.id = m.repository_id
        WHERE a.advisory = ?
        ORDER BY r.name, m.digest
        LIMIT ?`,
      advisory,
      limit,
    );

    return rows.map((row) => ({
      repository: row.repository,
      digest: row.digest,
      tags: row.tags === null ? [] : row.tags.split('\n').sort(),
    }));
  }

  /** Scanned images, and finding counts by severity summed over them, for the metrics. */
  totals(severities: readonly string[]): { images: number; findings: Record<string, number> } {
    const sums = severities.map((_, index) => `COALESCE(SUM(json_extract(summary, ?)), 0) AS s${index}`);
    const [row] = this.db.scan<Record<string, number>>(
      `SELECT COUNT(*) AS images${sums.map((sum) => `, ${sum}`).join('')}
         FROM image_scans s WHERE status = 'done' AND ${stored}`,
      ...severities.map((severity) => `$.${severity}`),
    );

    return {
      images: Number(row.images),
      findings: Object.fromEntries(severities.map((severity, index) => [severity, Number(row[`s${index}`])])),
    };
  }

  /**
   * Runs a query that returns scan rows with a `key` column, for `keys` in batches of placeholders,
   * and groups the rows by key.
   */
  private groupedScans(
    keys: string[],
    sql: (placeholders: string) => string,
    leading: SqlParameter[],
  ): Map<string, ScanSummaryRow[]> {
    const found = new Map<string, ScanSummaryRow[]>();

    for (let start = 0; start < keys.length; start += batchSize) {
      const slice = keys.slice(start, start + batchSize);
      const rows = this.db.scan<ScanRow & { key: string }>(
        sql(slice.map(() => '?').join(', ')),
        ...leading,
        ...slice,
      );

      for (const row of rows) {
        found.set(row.key, [...(found.get(row.key) ?? []), summaryOf(row)]);
      }
    }

    return found;
  }
}
