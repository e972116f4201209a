import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, MoreThan } from 'typeorm';

import { RepositoryEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import type { Page } from '../records.js';

@Injectable()
export class RepositoryStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  async exists(name: string): Promise<boolean> {
    return this.db.read(async (manager) => (await findRepositoryId(manager, name)) !== undefined);
  }

  /** Lists repository names in byte order, `limit` at most, starting after `last`. */
  async list(limit: number, last?: string): Promise<Page> {
    return this.db.read(async (manager) => {
      const rows = await manager.find(RepositoryEntity, {
        select: { name: true },
        where: last === undefined ? {} : { name: MoreThan(last) },
        order: { name: 'ASC' },
        take: limit + 1,
      });

      return { items: rows.slice(0, limit).map((row) => row.name), more: rows.length > limit };
    });
  }
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
