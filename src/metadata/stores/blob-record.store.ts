import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { BlobEntity, RepositoryBlobEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import { ensureRepositoryId, findRepositoryId } from './repository.store.js';

/** Blob rows and the repository links that make a blob readable through a repository. */
@Injectable()
export class BlobRecordStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

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
