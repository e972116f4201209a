import type { ValueTransformer } from 'typeorm';

/**
 * Reads bigint columns (epoch milliseconds, sizes, counters) as numbers; PostgreSQL returns bigint as a
 * string. Values stay exact up to 2^53.
 */
export const epochMs: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
