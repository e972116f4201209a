import Database, { type Database as Connection, type Statement } from 'better-sqlite3';
import { DataSource, type EntityManager } from 'typeorm';

import { KeyedMutex } from '../common/keyed-mutex.js';

/** A value SQLite can bind to a statement parameter. */
export type SqlValue = string | number | bigint | null;

/** Maximum weight of the result cache: its rows over all queries, plus one per query. */
const cachedRowLimit = 50_000;

/**
 * The metadata database. Writes and most reads go through TypeORM, one at a time: TypeORM keeps one
 * better-sqlite3 connection, so two interleaved transactions would share it, and serializing keeps each
 * transaction whole. The hot reads of the `/v2` API (tags, manifests, blob links, listings) run as
 * prepared statements on a second, read-only connection instead. With SQLite's write-ahead log that
 * connection reads what every committed transaction wrote and nothing of one in progress, so it needs no
 * queue.
 *
 * Their results are kept until the next transaction ends, because most pulls ask the same questions
 * between two pushes. Wharf expects to be the only process that writes its SQLite file, so every write
 * goes through `transaction` here and emptying the cache there keeps it exact.
 */
export class MetadataDatabase {
  private readonly mutex = new KeyedMutex();
  private readonly statements = new Map<string, Statement<SqlValue[]>>();
  private reader: Connection | undefined;
  /** Query results by SQL and parameters, least recently stored first. */
  private readonly results = new Map<string, { rows: unknown[] }>();
  private readonly queryIds = new Map<string, number>();
  private cachedRows = 0;

  constructor(readonly dataSource: DataSource) {}

  /** Runs `work` inside one transaction; it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.mutex.run('database', async () => {
      try {
        return await this.dataSource.transaction(work);
      } finally {
        this.forgetResults();
      }
    });
  }

  /**
   * Runs read-only `work` outside any transaction, after the transactions queued before it. `work` must
   * not write, because only `transaction` empties the result cache.
   */
  read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.mutex.run('database', () => work(this.dataSource.manager));
  }

  /** Returns every row of a read-only SQL query, as of the last committed transaction. */
  selectAll<Row>(sql: string, ...parameters: SqlValue[]): readonly Row[] {
    const key = `${this.queryId(sql)}\u0000${JSON.stringify(parameters)}`;
    const cached = this.results.get(key);

    if (cached !== undefined) {
      return cached.rows as Row[];
    }

    const rows = this.statement(sql).all(...parameters) as Row[];

    this.remember(key, rows);

    return rows;
  }

  /**
   * Returns every row of a read-only SQL query, as of the last committed transaction, without caching
   * the result. For background work, such as garbage collection, whose reads pulls never repeat.
   */
  scan<Row>(sql: string, ...parameters: SqlValue[]): Row[] {
    return this.statement(sql).all(...parameters) as Row[];
  }

  /** Returns the first row of a read-only SQL query, or undefined when there is none. */
  selectFirst<Row>(sql: string, ...parameters: SqlValue[]): Row | undefined {
    return this.selectAll<Row>(sql, ...parameters)[0];
  }

  /** Closes the read-only connection. TypeORM's connection closes with the DataSource. */
  close(): void {
    this.forgetResults();
    this.statements.clear();
    this.reader?.close();
    this.reader = undefined;
  }

  /** Caches `rows`. Each entry weighs its row count plus one, so that empty results count too. */
  private remember(key: string, rows: unknown[]): void {
    const weight = rows.length + 1;

    if (weight > cachedRowLimit) {
      return;
    }

    for (const [oldest, entry] of this.results) {
      if (this.cachedRows + weight <= cachedRowLimit) {
        break;
      }

      this.results.delete(oldest);
      this.cachedRows -= entry.rows.length + 1;
    }

    this.results.set(key, { rows });
    this.cachedRows += weight;
  }

  private forgetResults(): void {
    this.results.clear();
    this.cachedRows = 0;
  }

  /**
   * Returns a short id for a query, for result cache keys. A key holding the whole SQL text would be
   * hashed in full on every lookup, while the SQL constants themselves keep their hash in V8.
   */
  private queryId(sql: string): number {
    let id = this.queryIds.get(sql);

    if (id === undefined) {
      id = this.queryIds.size;
      this.queryIds.set(sql, id);
    }

    return id;
  }

  private statement(sql: string): Statement<SqlValue[]> {
    const cached = this.statements.get(sql);

    if (cached) {
      return cached;
    }

    const prepared = this.connection().prepare<SqlValue[]>(sql);

    this.statements.set(sql, prepared);

    return prepared;
  }

  private connection(): Connection {
    if (this.reader === undefined) {
      const path = this.dataSource.options.database;

      if (typeof path !== 'string') {
        throw new Error('the metadata database has no file path for its read-only connection');
      }

      this.reader = new Database(path, { readonly: true, fileMustExist: true });
      this.reader.pragma('busy_timeout = 5000');
    }

    return this.reader;
  }
}
