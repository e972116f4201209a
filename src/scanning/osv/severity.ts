import { cvss2BaseScore, cvss2Rating, cvss3BaseScore, cvssRating } from './cvss.js';
import type { OsvRecord } from './osv-record.js';

/** Severity level of an advisory, or UNKNOWN when its record gives no usable rating. */
export type SeverityLevel = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'NONE' | 'UNKNOWN';

/**
 * Origin of a severity: a CVSS v3 or v2 vector of the record, the rating of the database that
 * published it (`database_specific.severity`), an ecosystem's rating of an affected package, or
 * nothing.
 */
export type SeveritySource = 'cvss_v3' | 'cvss_v2' | 'database' | 'ecosystem' | 'none';

/** The severity of an advisory, with the CVSS base score it came from when there is one. */
export interface AdvisorySeverity {
  level: SeverityLevel;
  score: number | null;
  source: SeveritySource;
}

/**
 * Rating words of advisory databases and distributions: GitHub (`LOW`, `MODERATE`, `HIGH`,
 * `CRITICAL`), Debian urgencies (`unimportant`, `low`, `medium`, `high`), Ubuntu priorities
 * (`negligible` to `critical`) and Red Hat's (`Low`, `Moderate`, `Important`, `Critical`).
 * Words such as `not yet assigned` or `untriaged` rate nothing and are left out.
 */
const ratingWords: ReadonlyMap<string, SeverityLevel> = new Map([
  ['critical', 'CRITICAL'],
  ['important', 'HIGH'],
  ['high', 'HIGH'],
  ['moderate', 'MEDIUM'],
  ['medium', 'MEDIUM'],
  ['low', 'LOW'],
  ['negligible', 'LOW'],
  ['unimportant', 'LOW'],
]);

const levelOrder: readonly SeverityLevel[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE'];

/**
 * Rates an OSV record by the first source that gives a rating, in this order:
 * 1. the highest CVSS v3 base score among its `CVSS_V3` vectors;
 * 2. the highest CVSS v2 base score, rated with NVD's v2 ranges;
 * 3. `database_specific.severity`, such as GitHub's `MODERATE`;
 * 4. the highest ecosystem rating: a `Ubuntu` severity entry, or an affected entry's
 *    `ecosystem_specific.severity` or `urgency`.
 *
 * Vectors that do not parse are skipped, and so are CVSS v4.0 vectors, which this module cannot score.
 */
export function severityOf(record: OsvRecord): AdvisorySeverity {
  const v3 = highestScore(record, 'CVSS_V3', cvss3BaseScore);

  if (v3 !== undefined) {
    return { level: cvssRating(v3), score: v3, source: 'cvss_v3' };
  }

  const v2 = highestScore(record, 'CVSS_V2', cvss2BaseScore);

  if (v2 !== undefined) {
    return { level: cvss2Rating(v2), score: v2, source: 'cvss_v2' };
  }

  const database = highestLevel([record.databaseSeverity]);

  if (database !== undefined) {
    return { level: database, score: null, source: 'database' };
  }

  const ecosystem = highestLevel([
    ...record.severity.filter((entry) => entry.type === 'Ubuntu').map((entry) => entry.score),
    ...record.affected.map((entry) => entry.ecosystemSeverity),
  ]);

  if (ecosystem !== undefined) {
    return { level: ecosystem, score: null, source: 'ecosystem' };
  }

  return { level: 'UNKNOWN', score: null, source: 'none' };
}

/** Returns the level a rating word stands for, or undefined for a word that rates nothing. */
export function levelOfRating(word: string): SeverityLevel | undefined {
  return ratingWords.get(word.trim().toLowerCase());
}

function highestScore(
  record: OsvRecord,
  type: string,
  score: (vector: string) => number | undefined,
): number | undefined {
  const scores = record.severity.flatMap((entry) => {
    const value = entry.type === type ? score(entry.score) : undefined;

    return value === undefined ? [] : [value];
  });

  return scores.length === 0 ? undefined : Math.max(...scores);
}

function highestLevel(words: readonly (string | null | undefined)[]): SeverityLevel | undefined {
  const levels = new Set(words.map((word) => (typeof word === 'string' ? levelOfRating(word) : undefined)));

  return levelOrder.find((level) => levels.has(level));
}
