import { Inject, Injectable } from '@nestjs/common';

import { UserEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

export interface UserRecord {
  username: string;
  source: string;
  groups: string[];
  lastLoginAt: number;
}

/** Users as last seen at sign-in. */
@Injectable()
export class UserStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  async recordLogin(username: string, source: string, groups: readonly string[]): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.upsert(
        UserEntity,
        { username, source, groups: JSON.stringify(groups), lastLoginAt: Date.now() },
        ['username'],
      );
    });
  }

  async find(username: string): Promise<UserRecord | undefined> {
    const row = await this.db.read((manager) => manager.findOneBy(UserEntity, { username }));

    return row ? { ...row, groups: JSON.parse(row.groups) as string[] } : undefined;
  }
}
