import { Inject, Injectable } from '@nestjs/common';
import { LessThan } from 'typeorm';

import { OidcLoginEntity, SessionEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

export interface SessionRecord {
  idHash: string;
  username: string;
  groups: string[];
  method: string;
  csrfToken: string;
  idToken: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface OidcLoginRecord {
  stateHash: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  createdAt: number;
}

/** Browser sessions and the OIDC sign-ins that lead to them. */
@Injectable()
export class SessionStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  async create(session: SessionRecord): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.insert(SessionEntity, { ...session, groups: JSON.stringify(session.groups) });
    });
  }

  /** Finds a session by the hash of its id; undefined when unknown or expired. */
  async find(idHash: string, now: number): Promise<SessionRecord | undefined> {
    const row = await this.db.read((manager) => manager.findOneBy(SessionEntity, { idHash }));

    return row && row.expiresAt > now ? { ...row, groups: JSON.parse(row.groups) as string[] } : undefined;
  }

  async delete(idHash: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.delete(SessionEntity, { idHash });
    });
  }

  async saveOidcLogin(login: OidcLoginRecord): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.insert(OidcLoginEntity, login);
    });
  }

  /** Removes and returns a pending sign-in, so that a state is accepted once; undefined when unknown. */
  async takeOidcLogin(stateHash: string): Promise<OidcLoginRecord | undefined> {
    return this.db.transaction(async (manager) => {
      const row = await manager.findOneBy(OidcLoginEntity, { stateHash });

      if (row) {
        await manager.delete(OidcLoginEntity, { stateHash });
      }

      return row ?? undefined;
    });
  }

  /** Deletes expired sessions and sign-ins started before `loginsBefore`. */
  async deleteExpired(now: number, loginsBefore: number): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.delete(SessionEntity, { expiresAt: LessThan(now) });
      await manager.delete(OidcLoginEntity, { createdAt: LessThan(loginsBefore) });
    });
  }
}
