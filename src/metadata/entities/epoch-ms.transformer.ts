import type { ValueTransformer } from 'typeorm';

/** Stores times as epoch milliseconds in a bigint column; PostgreSQL returns bigint as a string. */
export const epochMs: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
