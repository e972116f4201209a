import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { JobReportEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

/** A tag, as garbage collection reads it. Times are epoch milliseconds. */
export interface LifecycleTag {
  name: string;
  digest: string;
  updatedAt: number;
}

/** A manifest row, as garbage collection reads it. */
export interface LifecycleManifest {
  id: number;
  digest: string;
  size: number;
  subjectDigest: string | null;
  createdAt: number;
  lastPulledAt: number | null;
}

/** One descriptor a manifest points to: a config, a layer or a child manifest. */
export interface LifecycleReference {
  manifestId: number;
  kind: string;
  digest: string;
}

/** A blob linked to a repository, with the blob's size. */
export interface LifecycleLink {
  digest: string;
  size: number;
  createdAt: number;
  lastPulledAt: number | null;
}

/** Everything one repository holds, read at one moment. */
export interface RepositoryContents {
  id: number;
  name: string;
  tags: LifecycleTag[];
  manifests: LifecycleManifest[];
  references: LifecycleReference[];
  links: LifecycleLink[];
}

/** References to a blob: the repositories that link it, and the manifests that are it or point to it. */
export interface BlobHolders {
  size: number;
  createdAt: number;
  linkedBy: { repositoryId: number }[];
  manifests: { manifestId: number }[];
  referencedBy: { manifestId: number }[];
}

/**
 * The condition a manifest deletion checks again. `unreferenced`: only when no tag, index or live subject needs it,
 * and it was neither pushed nor pulled at or after `before`. `evict`: whatever tags it has go with it,
 * but an index that still lists it keeps it.
 */
export type ManifestGuard = { kind: 'unreferenced'; before: number } | { kind: 'evict' };

/**
 * The reads and guarded deletions of garbage collection. Reads run on the read-only connection, so a
 * long scan never queues a push. Each deletion is a small transaction that checks its condition again
 * against the rows as they are then, because pushes and pulls go on while the collector plans.
 */
@Injectable()
export class LifecycleStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /** Stores the report of a background job's last run, replacing the one before. */
  async saveReport(job: string, report: { finishedAt: number | null }): Promise<void> {
    await this.db.transaction((manager) =>
      manager.upsert(
        JobReportEntity,
        { job, report: JSON.stringify(report), finishedAt: report.finishedAt ?? Date.now() },
        ['job'],
      ),
    );
  }

  /**
   * Returns the report of a background job's last run as it was saved, or undefined when none was or
   * it is not JSON, so that a damaged row costs the old report and not the start of Wharf.
   */
  async lastReport(job: string): Promise<unknown> {
    const row = await this.db.read((manager) => manager.findOneBy(JobReportEntity, { job }));

    try {
      return row === null ? undefined : (JSON.parse(row.report) as unknown);
    } catch {
      return undefined;
    }
  }

  /** Lists repositories in name order, `limit` at most, after the name `after`. */
  repositories(after: string, limit: number): { id: number; name: string }[] {
    return this.db.scan<{ id: number; name: string }>(
      'SELECT id, name FROM repositories WHERE name > ? ORDER BY name LIMIT ?',
      after,
      limit,
    );
  }

  /** Counts repositories and blob rows, for progress. */
  totals(): { repositories: number; blobs: number } {
    const [row] = this.db.scan<{ repositories: number; blobs: number }>(
      `SELECT (SELECT COUNT(*) FROM repositories) AS repositories, (SELECT COUNT(*) FROM blobs) AS blobs`,
    );

    return { repositories: Number(row.repositories), blobs: Number(row.blobs) };
  }

  /** Reads a repository's tags, manifests with their references, and blob links. */
  contents(repository: { id: number; name: string }): RepositoryContents {
    const tags = this.db.scan<LifecycleTag>(
      'SELECT name, manifest_digest AS digest, updated_at AS updatedAt FROM tags WHERE repository_id = ?',
      repository.id,
    );
    const manifests = this.db.scan<LifecycleManifest>(
      `SELECT id, digest, size, subject_digest AS subjectDigest, created_at AS createdAt,
         last_pulled_at AS lastPulledAt
       FROM manifests WHERE repository_id = ? ORDER BY id`,
      repository.id,
    );
    const references = this.db.scan<LifecycleReference>(
      `SELECT r.manifest_id AS manifestId, r.kind, r.digest
       FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
       WHERE m.repository_id = ? ORDER BY r.manifest_id, r.position`,
      repository.id,
    );
    const links = this.db.scan<LifecycleLink>(
      `SELECT l.digest, b.size, l.created_at AS createdAt, l.last_pulled_at AS lastPulledAt
       FROM repository_blobs l JOIN blobs b ON b.digest = l.digest
       WHERE l.repository_id = ? ORDER BY l.digest`,
      repository.id,
    );

    return {
      ...repository,
      tags: tags.map((tag) => ({ ...tag, updatedAt: Number(tag.updatedAt) })),
      manifests: manifests.map((manifest) => ({
        ...manifest,
        size: Number(manifest.size),
        createdAt: Number(manifest.createdAt),
        lastPulledAt: manifest.lastPulledAt === null ? null : Number(manifest.lastPulledAt),
      })),
      references,
      links: links.map((link) => ({
        ...link,
        size: Number(link.size),
        createdAt: Number(link.createdAt),
        lastPulledAt: link.lastPulledAt === null ? null : Number(link.lastPulledAt),
      })),
    };
  }

  /**
   * Lists blobs, in digest order after `after`, that no repository links, no manifest is and no
   * manifest points to, stored before `before`.
   */
  unheldBlobs(after: string, limit: number, before: number): { digest: string; size: number }[] {
    return this.db
      .scan<{ digest: string; size: number }>(
        `SELECT b.digest, b.size FROM blobs b
         WHERE b.digest > ? AND b.created_at < ? AND ${unheld('b.digest')}
         ORDER BY b.digest LIMIT ?`,
        after,
        before,
        limit,
      )
      .map((row) => ({ digest: row.digest, size: Number(row.size) }));
  }

  /** Returns whether a blob row exists, as of the last committed transaction. */
  hasBlob(digest: string): boolean {
    return this.db.scan('SELECT 1 FROM blobs WHERE digest = ?', digest).length > 0;
  }

  /** Returns what references a blob, or undefined when it has no row. */
  holders(digest: string): BlobHolders | undefined {
    const [blob] = this.db.scan<{ size: number; createdAt: number }>(
      'SELECT size, created_at AS createdAt FROM blobs WHERE digest = ?',
      digest,
    );

    if (blob === undefined) {
      return undefined;
    }

    return {
      size: Number(blob.size),
      createdAt: Number(blob.createdAt),
      linkedBy: this.db.scan(
        'SELECT repository_id AS repositoryId FROM repository_blobs WHERE digest = ?',
        digest,
      ),
      manifests: this.db.scan('SELECT id AS manifestId FROM manifests WHERE digest = ?', digest),
      referencedBy: this.db.scan(
        'SELECT DISTINCT manifest_id AS manifestId FROM manifest_references WHERE digest = ?',
        digest,
      ),
    };
  }

  /** Deletes a tag if it still points where it did when read; returns whether it did. */
  deleteTag(repositoryId: number, tag: LifecycleTag): Promise<boolean> {
    return this.db.transaction(async (manager) =>
      deleted(
        manager,
        `DELETE FROM tags WHERE repository_id = ? AND name = ? AND manifest_digest = ? AND updated_at = ?`,
        [repositoryId, tag.name, tag.digest, tag.updatedAt],
      ),
    );
  }

  /**
   * Deletes a manifest and its references if `guard` still allows it. Returns whether it was deleted
   * and the tags that went with it.
   */
  deleteManifest(
    repositoryId: number,
    manifest: LifecycleManifest,
    guard: ManifestGuard,
  ): Promise<{ deleted: boolean; tags: string[] }> {
    return this.db.transaction(async (manager) => {
      const listedByIndex = `EXISTS (SELECT 1 FROM manifest_references r JOIN manifests p ON p.id = r.manifest_id
        WHERE p.repository_id = ? AND r.kind = 'child' AND r.digest = ?)`;
      let tags: string[] = [];

      if (guard.kind === 'evict') {
        if (await exists(manager, listedByIndex, [repositoryId, manifest.digest])) {
          return { deleted: false, tags };
        }

        const rows = await manager.query<{ name: string }[]>(
          'SELECT name FROM tags WHERE repository_id = ? AND manifest_digest = ?',
          [repositoryId, manifest.digest],
        );

        tags = rows.map((row) => row.name);
        await manager.query('DELETE FROM tags WHERE repository_id = ? AND manifest_digest = ?', [
          repositoryId,
          manifest.digest,
        ]);
      } else {
        const stillUnreferenced = !(await exists(
          manager,
          `EXISTS (SELECT 1 FROM tags WHERE repository_id = ? AND manifest_digest = ?)
           OR ${listedByIndex}
           OR EXISTS (SELECT 1 FROM manifests m JOIN manifests s ON s.repository_id = m.repository_id
             AND s.digest = m.subject_digest WHERE m.id = ?)
           OR EXISTS (SELECT 1 FROM manifests WHERE id = ? AND (created_at >= ? OR COALESCE(last_pulled_at, 0) >= ?))`,
          [
            repositoryId,
            manifest.digest,
            repositoryId,
            manifest.digest,
            manifest.id,
            manifest.id,
            guard.before,
            guard.before,
          ],
        ));

        if (!stillUnreferenced) {
          return { deleted: false, tags };
        }
      }

      await manager.query('DELETE FROM manifest_references WHERE manifest_id = ?', [manifest.id]);

      return {
        deleted: await deleted(manager, 'DELETE FROM manifests WHERE id = ? AND repository_id = ?', [
          manifest.id,
          repositoryId,
        ]),
        tags,
      };
    });
  }

  /**
   * Deletes a repository's link to a blob if no manifest of the repository is the blob or points to it,
   * the link was made no later than `createdAtMost` and the blob was not pulled through it at or after
   * `pulledBefore`.
   */
  deleteLink(
    repositoryId: number,
    digest: string,
    bounds: { createdAtMost: number; pulledBefore: number },
  ): Promise<boolean> {
    return this.db.transaction(async (manager) =>
      deleted(
        manager,
        `DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?
           AND created_at <= ? AND COALESCE(last_pulled_at, 0) < ?
           AND NOT EXISTS (SELECT 1 FROM manifests WHERE repository_id = ? AND digest = ?)
           AND NOT EXISTS (SELECT 1 FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
             WHERE m.repository_id = ? AND r.digest = ?)`,
        [
          repositoryId,
          digest,
          bounds.createdAtMost,
          bounds.pulledBefore,
          repositoryId,
          digest,
          repositoryId,
          digest,
        ],
      ),
    );
  }

  /** Deletes a blob row that nothing references and that was stored before `before`; returns whether it did. */
  deleteBlob(digest: string, before: number): Promise<boolean> {
    return this.db.transaction(async (manager) =>
      deleted(manager, `DELETE FROM blobs WHERE digest = ? AND created_at < ? AND ${unheld('?')}`, [
        digest,
        before,
        digest,
        digest,
        digest,
      ]),
    );
  }
}

/** Builds the SQL condition that nothing references the blob `digest`, an SQL expression or a `?` used three times. */
function unheld(digest: string): string {
  return `NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = ${digest})
    AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = ${digest})
    AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.digest = ${digest})`;
}

async function exists(manager: EntityManager, condition: string, parameters: unknown[]): Promise<boolean> {
  const [row] = await manager.query<{ found: number }[]>(
    `SELECT CASE WHEN ${condition} THEN 1 ELSE 0 END AS found`,
    parameters,
  );

  return Number(row.found) === 1;
}

/** Runs a DELETE and returns whether it removed a row. */
async function deleted(manager: EntityManager, sql: string, parameters: unknown[]): Promise<boolean> {
  await manager.query(sql, parameters);

  const [row] = await manager.query<{ changes: number }[]>('SELECT changes() AS changes');

  return Number(row.changes) > 0;
}
