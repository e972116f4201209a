import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

import { TagEntity, UpstreamTagCheckEntity } from '../entities/index.js';
import { UpstreamErrorEntity } from '../entities/upstream-error.entity.js';
import { UpstreamStatisticEntity } from '../entities/upstream-statistic.entity.js';
import { MetadataDatabase } from '../metadata-database.js';
import { insertBlob, insertLink } from './blob-record.store.js';
import { type ManifestWrite, saveManifest } from './manifest.store.js';
import { ensureRepositoryId, findRepositoryId } from './repository.store.js';

/** Counters to add to one repository's row of `upstream_statistics`. */
export interface StatisticsDelta {
  upstream: string;
  repository: string;
  hits: number;
  misses: number;
  bytesFetched: number;
  bytesServed: number;
  notFound: number;
  /** Upstream failures by kind, such as `timeout` or `rate-limited`. */
  errors: Record<string, number>;
  lastErrorKind: string | null;
}

/** State of the pull-through cache: fetched manifests and blobs, tag revalidation, statistics. */
@Injectable()
export class UpstreamCacheStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  /** Returns when a cached tag was last confirmed with the upstream, or undefined if never. */
  tagCheckedAt(repository: string, tag: string): Promise<number | undefined> {
    const row = this.db.selectFirst<{ checkedAt: number }>(
      `SELECT c.checked_at AS checkedAt
       FROM upstream_tag_checks c JOIN repositories r ON r.id = c.repository_id
       WHERE r.name = ? AND c.tag = ?`,
      repository,
      tag,
    );

    return Promise.resolve(row === undefined ? undefined : Number(row.checkedAt));
  }

  /** Stores a manifest fetched from an upstream, with its tags marked as confirmed now. */
  async saveFetchedManifest(write: ManifestWrite): Promise<void> {
    await this.db.transaction(async (manager) => {
      const repositoryId = await ensureRepositoryId(manager, write.manifest.repository);

      await saveManifest(manager, repositoryId, write);

      for (const tag of write.tags) {
        await upsertTagCheck(manager, repositoryId, tag, Date.now());
      }
    });
  }

  /** Records that the upstream still has the cached digest for this tag. */
  async markTagChecked(repository: string, tag: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      if (repositoryId !== undefined) {
        await upsertTagCheck(manager, repositoryId, tag, Date.now());
      }
    });
  }

  /** Forgets a cached tag the upstream no longer has; the manifest stays for pulls by digest. */
  async dropTag(repository: string, tag: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      if (repositoryId !== undefined) {
        await manager.delete(TagEntity, { repositoryId, name: tag });
        await manager.delete(UpstreamTagCheckEntity, { repositoryId, tag });
      }
    });
  }

  /** Records a blob whose verified bytes are in storage as cached in the repository. */
  async linkFetchedBlob(repository: string, digest: string, size: number): Promise<void> {
    await this.db.transaction(async (manager) => {
      const repositoryId = await ensureRepositoryId(manager, repository);

      await insertBlob(manager, digest, size);
      await insertLink(manager, repositoryId, digest);
    });
  }

  /** Adds counters to the statistics in one transaction. */
  async addStatistics(deltas: StatisticsDelta[]): Promise<void> {
    await this.db.transaction(async (manager) => {
      for (const delta of deltas) {
        await addStatistics(manager, delta);
      }
    });
  }
}

async function upsertTagCheck(
  manager: EntityManager,
  repositoryId: number,
  tag: string,
  checkedAt: number,
): Promise<void> {
  await manager
    .createQueryBuilder()
    .insert()
    .into(UpstreamTagCheckEntity)
    .values({ repositoryId, tag, checkedAt })
    .orUpdate(['checked_at'], ['repository_id', 'tag'])
    .execute();
}

async function addStatistics(manager: EntityManager, delta: StatisticsDelta): Promise<void> {
  const key = { upstream: delta.upstream, repository: delta.repository };
  const row = await manager.findOneBy(UpstreamStatisticEntity, key);
  const errorCount = Object.values(delta.errors).reduce((sum, count) => sum + count, 0);

  await manager.save(UpstreamStatisticEntity, {
    ...key,
    hits: (row?.hits ?? 0) + delta.hits,
    misses: (row?.misses ?? 0) + delta.misses,
    bytesFetched: (row?.bytesFetched ?? 0) + delta.bytesFetched,
    bytesServed: (row?.bytesServed ?? 0) + delta.bytesServed,
    notFound: (row?.notFound ?? 0) + delta.notFound,
    errors: (row?.errors ?? 0) + errorCount,
    lastErrorKind: delta.lastErrorKind ?? row?.lastErrorKind ?? null,
    updatedAt: Date.now(),
  });

  for (const [kind, count] of Object.entries(delta.errors)) {
    const errorKey = { ...key, kind };
    const existing = await manager.findOneBy(UpstreamErrorEntity, errorKey);

    await manager.save(UpstreamErrorEntity, { ...errorKey, count: (existing?.count ?? 0) + count });
  }
}
