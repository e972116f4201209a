import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, In } from 'typeorm';

import { ManifestEntity, RepositoryBlobEntity, RepositoryEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import type { Page } from '../records.js';

/** A manifest or blob served from a repository since the last time pulls were written. */
export interface PullRecord {
  repository: string;
  digest: string;
  kind: 'manifest' | 'blob';
  at: number;
}

@Injectable()
export class RepositoryStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  exists(name: string): Promise<boolean> {
    return Promise.resolve(selectRepositoryId(this.db, name) !== undefined);
  }

  /** Lists repository names in byte order, `limit` at most, starting after `last`. */
  list(limit: number, last?: string): Promise<Page> {
    const rows = this.db.selectAll<{ name: string }>(
      'SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?',
      last ?? '',
      limit + 1,
    );

    return Promise.resolve(pageOf(rows, limit));
  }

  /** Writes last-pulled times in one transaction. */
  async recordPulls(pulls: readonly PullRecord[]): Promise<void> {
    await this.db.transaction((manager) => writePullTimes(manager, pulls));
  }
}

/** Sets the last-pulled time of each manifest or blob link; names no longer stored are skipped. */
async function writePullTimes(manager: EntityManager, pulls: readonly PullRecord[]): Promise<void> {
  for (const pull of pulls) {
    const repositoryId = await findRepositoryId(manager, pull.repository);

    if (repositoryId === undefined) {
      continue;
    }

    const entity = pull.kind === 'manifest' ? ManifestEntity : RepositoryBlobEntity;

    await manager.update(entity, { repositoryId, digest: In([pull.digest]) }, { lastPulledAt: pull.at });
  }
}

/** Returns a repository's id from the read-only connection, or undefined when it does not exist. */
export function selectRepositoryId(db: MetadataDatabase, name: string): number | undefined {
  return db.selectFirst<{ id: number }>('SELECT id FROM repositories WHERE name = ?', name)?.id;
}

/** Makes a page of `limit` names from rows fetched with `LIMIT limit + 1`. */
export function pageOf(rows: readonly { name: string }[], limit: number): Page {
  return { items: rows.slice(0, limit).map((row) => row.name), more: rows.length > limit };
}

export async function findRepositoryId(manager: EntityManager, name: string): Promise<number | undefined> {
  const row = await manager.findOne(RepositoryEntity, { select: { id: true }, where: { name } });

  return row?.id;
}

/** Returns the repository's id, creating the repository on first use. */
export async function ensureRepositoryId(manager: EntityManager, name: string): Promise<number> {
  const existing = await findRepositoryId(manager, name);

  if (existing !== undefined) {
    return existing;
  }

  const created = await manager.save(RepositoryEntity, { name, createdAt: Date.now() });

  return created.id;
}
