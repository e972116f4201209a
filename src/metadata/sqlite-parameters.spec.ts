import 'reflect-metadata';

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Database } from 'better-sqlite3';
import type { DataSource } from 'typeorm';

import { RepositoryEntity } from './entities/repository.entity.js';
import { openDataSource } from './metadata.module.js';
import { bindNumbersAsParameters } from './sqlite-parameters.js';

const repositoryCount = 20;
/** Far from any id, so that a created-at time found in SQL text cannot be another number. */
const firstCreatedAt = 1_700_000_000_000;

describe(bindNumbersAsParameters.name, () => {
  let directory: string;
  let dataSource: DataSource;
  /** SQL text of every statement TypeORM prepared after the migrations. */
  const prepared: string[] = [];

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-sqlite-parameters-'));
    dataSource = await openDataSource({ type: 'sqlite', path: join(directory, 'wharf.db') });

    const connection = (dataSource.driver as unknown as { databaseConnection: Database }).databaseConnection;
    const prepare = connection.prepare.bind(connection);

    connection.prepare = (sql: string) => {
      prepared.push(sql);

      return prepare(sql);
    };
  });

  after(async () => {
    await dataSource.destroy();
    await rm(directory, { recursive: true, force: true });
  });

  it('prepares one statement per query', async () => {
    for (let index = 0; index < repositoryCount; index++) {
      await dataSource.manager.insert(RepositoryEntity, {
        name: `library/r${index}`,
        createdAt: firstCreatedAt + index,
      });
    }

    for (let id = 1; id <= repositoryCount; id++) {
      const row = await dataSource.manager.findOneBy(RepositoryEntity, { id });

      assert.equal(row?.name, `library/r${id - 1}`);
    }

    assert.deepEqual(
      prepared.filter((sql) => sql.includes(String(firstCreatedAt).slice(0, 6))),
      [],
      'no created-at time in SQL text',
    );
    assert.equal(new Set(prepared).size, prepared.length, 'each statement prepared once');
    assert.ok(prepared.length <= 3, `${prepared.length} statements for 40 queries: ${prepared.join('\n')}`);
  });

  it('stores and finds INTEGER values', async () => {
    const rows = await dataSource.manager
      .createQueryBuilder(RepositoryEntity, 'r')
      .select('typeof(r.created_at)', 'kind')
      .addSelect('r.created_at', 'createdAt')
      .where('r.created_at >= :from AND r.id IN (:...ids)', { from: firstCreatedAt + 5, ids: [6, 7, 40] })
      .orderBy('r.id')
      .getRawMany<{ kind: string; createdAt: number }>();

    assert.deepEqual(rows, [
      { kind: 'integer', createdAt: firstCreatedAt + 5 },
      { kind: 'integer', createdAt: firstCreatedAt + 6 },
    ]);
  });

  it('binds INTEGER and REAL types', async () => {
    const row = await dataSource.manager
      .createQueryBuilder(RepositoryEntity, 'r')
      .select('typeof(:whole)', 'whole')
      .addSelect('typeof(:fraction)', 'fraction')
      .addSelect(':fraction * 2', 'doubled')
      .addSelect('COUNT(*)', 'above')
      .where('r.created_at > :limit', { limit: firstCreatedAt + 18.5 })
      .setParameters({ whole: 7, fraction: 0.25 })
      .getRawOne<{ whole: string; fraction: string; doubled: number; above: number }>();

    assert.deepEqual(row, { whole: 'integer', fraction: 'real', doubled: 0.5, above: 1 });
  });

  it('passes parameterless queries through', () => {
    const escaped = dataSource.driver.escapeQueryWithParameters(
      'SELECT 1',
      undefined as unknown as Record<string, unknown>,
    );

    assert.deepEqual(escaped, ['SELECT 1', []]);
  });
});
