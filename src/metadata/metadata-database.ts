import { DataSource, type EntityManager } from 'typeorm';

import { KeyedMutex } from '../common/keyed-mutex.js';

/**
 * The TypeORM connection, with every operation run one at a time. TypeORM keeps one better-sqlite3
 * connection, so two interleaved transactions would share it; serializing keeps each transaction whole.
 */
export class MetadataDatabase {
  private readonly mutex = new KeyedMutex();

  constructor(readonly dataSource: DataSource) {}

  /** Runs `work` inside one transaction; it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.mutex.run('database', () => this.dataSource.transaction(work));
  }

  /** Runs read-only `work` outside any transaction, after the transactions queued before it. */
  read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.mutex.run('database', () => work(this.dataSource.manager));
  }
}
