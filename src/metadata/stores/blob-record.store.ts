import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { BlobEntity, ManifestEntity, RepositoryBlobEntity, RepositoryEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import { ensureRepositoryId, findRepositoryId } from './repository.store.js';

/** A blob row: its digest and the size recorded when its bytes were verified. */
export interface StoredBlob {
  digest: string;
  size: number;
}

/** Blob rows and the repository links that make a blob readable through a repository. */
@Injectable()
export class BlobRecordStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /**
   * Lists blob rows in digest order, `limit` at most, after `after`. Scrubbing walks the whole table this
   * way without holding it in memory, and rows added meanwhile are picked up when they sort later.
   */
  async list(after: string, limit: number): Promise<StoredBlob[]> {
    const rows = await this.db.read((manager) =>
      manager
        .createQueryBuilder(BlobEntity, 'b')
        .where('b.digest > :after', { after })
        .orderBy('b.digest', 'ASC')
        .limit(limit)
        .getMany(),
    );

    return rows.map((row) => ({ digest: row.digest, size: Number(row.size) }));
  }

  /** Counts the blob rows and sums their sizes. */
  async totals(): Promise<{ blobs: number; bytes: number }> {
    const row = await this.db.read((manager) =>
      manager
        .createQueryBuilder(BlobEntity, 'b')
        .select('COUNT(*)', 'blobs')
        .addSelect('COALESCE(SUM(b.size), 0)', 'bytes')
        .getRawOne<{ blobs: number | string; bytes: number | string }>(),
    );

    return { blobs: Number(row?.blobs ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /** Returns whether a blob row exists. */
  async exists(digest: string): Promise<boolean> {
    return this.db.read((manager) => manager.existsBy(BlobEntity, { digest }));
  }

  /** Names the repositories that need a blob: as a linked layer or config, or as a stored manifest. */
  async holders(digest: string): Promise<string[]> {
    const [linked, manifests] = await this.db.read((manager) =>
      Promise.all([
        manager
          .createQueryBuilder(RepositoryBlobEntity, 'l')
          .innerJoin(RepositoryEntity, 'r', 'r.id = l.repository_id')
          .select('r.name', 'name')
          .where('l.digest = :digest', { digest })
          .getRawMany<{ name: string }>(),
        manager
          .createQueryBuilder(ManifestEntity, 'm')
          .innerJoin(RepositoryEntity, 'r', 'r.id = m.repository_id')
          .select('r.name', 'name')
          .where('m.digest = :digest', { digest })
          .getRawMany<{ name: string }>(),
      ]),
    );

    return [...new Set([...linked, ...manifests].map((row) => row.name))].sort();
  }

  /** Returns the blob's size when `repository` links to it, otherwise undefined. */
  linkedSize(repository: string, digest: string): Promise<number | undefined> {
    const row = this.db.selectFirst<{ size: number }>(
      `SELECT b.size FROM repository_blobs l
       JOIN repositories r ON r.id = l.repository_id
       JOIN blobs b ON b.digest = l.digest
       WHERE r.name = ? AND l.digest = ?`,
      repository,
      digest,
    );

    return Promise.resolve(row === undefined ? undefined : Number(row.size));
  }

  /** Records a blob whose bytes are in storage and links it to the repository, creating either as needed. */
  async link(repository: string, digest: string, size: number): Promise<void> {
    await this.db.transaction(async (manager) => {
      const repositoryId = await ensureRepositoryId(manager, repository);

      await insertBlob(manager, digest, size);
      await insertLink(manager, repositoryId, digest);
    });
  }

  /** Links a blob of `source` into `target`; returns false when `source` does not link to it. */
  async mount(source: string, target: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const sourceId = await findRepositoryId(manager, source);

      if (
        sourceId === undefined ||
        !(await manager.existsBy(RepositoryBlobEntity, { repositoryId: sourceId, digest }))
      ) {
        return false;
      }

      await insertLink(manager, await ensureRepositoryId(manager, target), digest);

      return true;
    });
  }

  /** Removes the repository's link; the bytes stay until garbage collection. Returns false if unlinked. */
  async unlink(repository: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      if (repositoryId === undefined) {
        return false;
      }

      const result = await manager.delete(RepositoryBlobEntity, { repositoryId, digest });

      return (result.affected ?? 0) > 0;
    });
  }
}

export async function insertBlob(manager: EntityManager, digest: string, size: number): Promise<void> {
  await manager
    .createQueryBuilder()
    .insert()
    .into(BlobEntity)
    .values({ digest, size, createdAt: Date.now() })
    .orIgnore()
    .execute();
}

export async function insertLink(
  manager: EntityManager,
  repositoryId: number,
  digest: string,
): Promise<void> {
  await manager
    .createQueryBuilder()
    .insert()
    .into(RepositoryBlobEntity)
    .values({ repositoryId, digest, createdAt: Date.now() })
    .orIgnore()
    .execute();
}
