import type { DataSource } from 'typeorm';

type EscapeQuery = (sql: string, parameters: Record<string, unknown> | undefined) => [string, unknown[]];

/**
 * Makes TypeORM bind numbers as statement parameters on SQLite instead of writing them into the SQL.
 *
 * TypeORM's SQLite drivers put every number parameter into the query text as a literal: a repository
 * id in a `WHERE`, a timestamp in an `INSERT`. TypeORM keeps its prepared statements by query text,
 * so nearly every write and many reads prepared a new statement, and the evicted ones held their
 * SQLite memory until V8 collected their wrappers. Seeding 200 repositories prepared 8,957 different
 * statements.
 *
 * The numbers reach TypeORM's own escaping boxed, which it binds like any other object, and are
 * unboxed after it. Safe integers are bound as BigInt, so SQLite stores and compares an INTEGER as it
 * did for the literal. A plain JavaScript number would bind as REAL, which a TEXT column stores as
 * "6.0". Other numbers are bound as REAL, as SQLite read their literals.
 */
export function bindNumbersAsParameters(dataSource: DataSource): void {
  const driver = dataSource.driver as unknown as { escapeQueryWithParameters: EscapeQuery };
  const escape = driver.escapeQueryWithParameters.bind(driver);

  driver.escapeQueryWithParameters = (sql, parameters) => {
    // TypeORM's escaping accepts missing parameters, so they pass through as they are.
    if (typeof parameters !== 'object' || parameters === null) {
      return escape(sql, parameters);
    }

    const boxed: Record<string, unknown> = {};

    for (const [name, value] of Object.entries(parameters)) {
      boxed[name] = typeof value === 'number' ? new BoxedNumber(value) : value;
    }

    const [query, values] = escape(sql, boxed);

    return [query, values.map((value) => (value instanceof BoxedNumber ? value.bound() : value))];
  };
}

/** A number parameter on its way through TypeORM's escaping, which leaves objects as they are. */
class BoxedNumber {
  constructor(private readonly value: number) {}

  bound(): number | bigint {
    return Number.isSafeInteger(this.value) ? BigInt(this.value) : this.value;
  }
}
