import { Inject, Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';

import { ApiKeyEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

export interface ApiKeyRecord {
  id: string;
  username: string;
  label: string;
  secretHash: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

@Injectable()
export class ApiKeyStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  async create(key: Omit<ApiKeyRecord, 'revokedAt' | 'lastUsedAt'>): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.insert(ApiKeyEntity, { ...key, revokedAt: null, lastUsedAt: null });
    });
  }

  async find(id: string): Promise<ApiKeyRecord | undefined> {
    return (await this.db.read((manager) => manager.findOneBy(ApiKeyEntity, { id }))) ?? undefined;
  }

  /** Lists the user's keys, newest first, revoked ones included. */
  async listFor(username: string): Promise<ApiKeyRecord[]> {
    return this.db.read((manager) =>
      manager.find(ApiKeyEntity, { where: { username }, order: { createdAt: 'DESC', id: 'ASC' } }),
    );
  }

  /** Revokes one of the user's keys; false when the user has no such key or it is already revoked. */
  async revoke(username: string, id: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const result = await manager.update(
        ApiKeyEntity,
        { id, username, revokedAt: IsNull() },
        { revokedAt: Date.now() },
      );

      return (result.affected ?? 0) > 0;
    });
  }

  async recordUse(id: string, at: number): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.update(ApiKeyEntity, { id }, { lastUsedAt: at });
    });
  }
}
