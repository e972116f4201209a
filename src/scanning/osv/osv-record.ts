import { InvalidVersionError, versionSchemeFor, type VersionScheme } from '../versions/index.js';

/** One event of an OSV range: where affected versions start or end. */
export type RangeEvent =
  { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

/** A range of affected versions, as OSV writes it. */
export interface AffectedRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  events: RangeEvent[];
}

/** One affected package of an OSV record. */
export interface AffectedPackage {
  /** The ecosystem as OSV writes it, such as `Debian:12` or `npm`. */
  ecosystem: string;
  name: string;
  purl: string | null;
  ranges: AffectedRange[];
  /** Versions listed one by one, which are affected whatever the ranges contain. */
  versions: string[];
  /**
   * The ecosystem's own rating of the entry, such as `medium` or `unimportant`, from
   * `ecosystem_specific.severity` or, as Debian writes it, `ecosystem_specific.urgency`.
   */
  ecosystemSeverity?: string;
}

/** A severity of an OSV record: a CVSS vector, or a rating the ecosystem's database gave. */
export interface Severity {
  type: string;
  score: string;
}

/** The parts of an OSV record that scanning uses. */
export interface OsvRecord {
  id: string;
  aliases: string[];
  summary: string;
  modified: string;
  severity: Severity[];
  /** A rating such as `HIGH` from `database_specific.severity`, when the record has one. */
  databaseSeverity: string | null;
  affected: AffectedPackage[];
}

/** A record read from JSON, and what in it was skipped and why. */
export interface ParsedRecord {
  record: OsvRecord | undefined;
  warnings: string[];
}

/**
 * Reads an OSV record (OSV schema 1.x) from parsed JSON. A record without an `id` is rejected with a
 * warning. An affected entry without a package, a `GIT` range or a range without events is skipped
 * with a warning, and the rest of the record is kept.
 */
export function parseOsvRecord(json: unknown): ParsedRecord {
  const warnings: string[] = [];

  if (!isObject(json) || typeof json['id'] !== 'string' || json['id'] === '') {
    return { record: undefined, warnings: ['the record has no "id"'] };
  }

  const id = json['id'];
  const affected = arrayOf(json['affected']).flatMap((entry, index) => {
    const parsed = parseAffected(entry, `${id} affected[${index}]`, warnings);

    return parsed === undefined ? [] : [parsed];
  });
  const databaseSpecific = isObject(json['database_specific']) ? json['database_specific'] : {};

  return {
    record: {
      id,
      aliases: arrayOf(json['aliases']).filter((alias): alias is string => typeof alias === 'string'),
      summary: typeof json['summary'] === 'string' ? json['summary'] : '',
      modified: typeof json['modified'] === 'string' ? json['modified'] : '',
      severity: arrayOf(json['severity']).flatMap((entry) =>
        isObject(entry) && typeof entry['type'] === 'string' && typeof entry['score'] === 'string'
          ? [{ type: entry['type'], score: entry['score'] }]
          : [],
      ),
      databaseSeverity:
        typeof databaseSpecific['severity'] === 'string' ? databaseSpecific['severity'] : null,
      affected,
    },
    warnings,
  };
}

/**
 * Tells whether `version` of an affected package is vulnerable: when the record lists it, or when a
 * range contains it. Throws InvalidVersionError when the version cannot be read in the package's
 * ecosystem, and skips, with a warning, a range whose own versions cannot be read.
 */
export function isAffected(entry: AffectedPackage, version: string, warnings: string[] = []): boolean {
  if (entry.versions.includes(version)) {
    return true;
  }

  const scheme = versionSchemeFor(entry.ecosystem);

  if (scheme === undefined) {
    warnings.push(`unknown ecosystem "${entry.ecosystem}"`);

    return false;
  }

  // Reading the installed version first reports it, not a range, as what cannot be compared.
  scheme.compare(version, version);

  return entry.ranges.some((range) => {
    try {
      return rangeContains(range, version, scheme);
    } catch (error) {
      if (error instanceof InvalidVersionError) {
        warnings.push(`a range of ${entry.name} was skipped: ${error.message}`);

        return false;
      }

      throw error;
    }
  });
}

/** Returns the versions that fix an affected package, in the order the record lists them. */
export function fixedVersions(entry: AffectedPackage): string[] {
  return entry.ranges.flatMap((range) =>
    range.events.flatMap((event) => ('fixed' in event ? [event.fixed] : [])),
  );
}

/**
 * Evaluates a range as the OSV schema defines, with the events sorted by version and `introduced: 0`
 * first. A version is affected from an `introduced` at or below it, until a `fixed` at or below it
 * or a `last_affected` below it.
 */
function rangeContains(range: AffectedRange, version: string, scheme: VersionScheme): boolean {
  const eventVersion = (event: RangeEvent): string => Object.values(event)[0];

  // `introduced: 0` stands for the first version there is, below any version string.
  const compare = (a: string, b: string): number => {
    if (a === '0' && b === '0') {
      return 0;
    }

    if (a === '0' || b === '0') {
      return a === '0' ? -1 : 1;
    }

    return scheme.compare(a, b);
  };

  const events = [...range.events].sort((a, b) => compare(eventVersion(a), eventVersion(b)));
  let affected = false;

  for (const event of events) {
    if ('introduced' in event && compare(version, event.introduced) >= 0) {
      affected = true;
    } else if ('fixed' in event && compare(version, event.fixed) >= 0) {
      affected = false;
    } else if ('last_affected' in event && compare(version, event.last_affected) > 0) {
      affected = false;
    } else if ('limit' in event && compare(version, event.limit) >= 0) {
      affected = false;
    }
  }

  return affected;
}

function parseAffected(entry: unknown, where: string, warnings: string[]): AffectedPackage | undefined {
  const affectedPackage = isObject(entry) && isObject(entry['package']) ? entry['package'] : undefined;

  if (
    !isObject(entry) ||
    affectedPackage === undefined ||
    typeof affectedPackage['ecosystem'] !== 'string' ||
    typeof affectedPackage['name'] !== 'string'
  ) {
    warnings.push(`${where} was skipped: it names no package and ecosystem`);

    return undefined;
  }

  const ranges = arrayOf(entry['ranges']).flatMap((range, index) => {
    const parsed = parseRange(range);

    if (typeof parsed === 'string') {
      warnings.push(`${where} range[${index}] was skipped: ${parsed}`);

      return [];
    }

    return [parsed];
  });

  return {
    ecosystem: affectedPackage['ecosystem'],
    name: affectedPackage['name'],
    purl: typeof affectedPackage['purl'] === 'string' ? affectedPackage['purl'] : null,
    ranges,
    versions: arrayOf(entry['versions']).filter((version): version is string => typeof version === 'string'),
    ...ecosystemSeverityOf(entry),
  };
}

/** Reads the rating in an affected entry's `ecosystem_specific`, when it has one. */
function ecosystemSeverityOf(entry: Record<string, unknown>): { ecosystemSeverity?: string } {
  const specific = isObject(entry['ecosystem_specific']) ? entry['ecosystem_specific'] : {};
  const rating = [specific['severity'], specific['urgency']].find((value) => typeof value === 'string');

  return typeof rating === 'string' ? { ecosystemSeverity: rating } : {};
}

/** Reads a range, or returns why it cannot be used. */
function parseRange(range: unknown): AffectedRange | string {
  if (!isObject(range) || (range['type'] !== 'ECOSYSTEM' && range['type'] !== 'SEMVER')) {
    const type = isObject(range) ? String(range['type']) : 'none';

    return `a ${type} range compares commits, not versions`;
  }

  const events: RangeEvent[] = [];

  for (const event of arrayOf(range['events'])) {
    const [key, value] = isObject(event) ? (Object.entries(event)[0] ?? []) : [];

    if (!['introduced', 'fixed', 'last_affected', 'limit'].includes(key ?? '') || typeof value !== 'string') {
      return `the event ${JSON.stringify(event)} is not introduced, fixed, last_affected or limit`;
    }

    events.push({ [key as string]: value } as RangeEvent);
  }

  if (!events.some((event) => 'introduced' in event)) {
    return 'it has no "introduced" event';
  }

  return { type: range['type'], events };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
