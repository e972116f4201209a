import { Inject, Injectable } from '@nestjs/common';

import { UploadSessionEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import type { UploadSessionRecord } from '../records.js';

@Injectable()
export class UploadSessionStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  async create(id: string, repository: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.insert(UploadSessionEntity, { id, repositoryName: repository, startedAt: Date.now() });
    });
  }

  async find(id: string): Promise<UploadSessionRecord | undefined> {
    const row = await this.db.read((manager) => manager.findOneBy(UploadSessionEntity, { id }));

    return row ? { id: row.id, repository: row.repositoryName, startedAt: row.startedAt } : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.delete(UploadSessionEntity, { id });
    });
  }

  async listIds(): Promise<string[]> {
    const rows = await this.db.read((manager) => manager.find(UploadSessionEntity, { select: { id: true } }));

    return rows.map((row) => row.id);
  }
}
