import type { ImageInventory, ImagePackage } from './inventory/inventory.js';
import { normalizePackageName } from './osv/package-names.js';
import { fixedVersions, isAffected, type AffectedPackage, type OsvRecord } from './osv/osv-record.js';
import { severityOf, type SeverityLevel } from './osv/severity.js';
import { InvalidVersionError, versionSchemeFor } from './versions/index.js';

/** A package and ecosystem to look advisories up for. */
export interface PackageKey {
  ecosystem: string;
  name: string;
}

/** Returns the records that name any of `keys`; withdrawn records are left out. */
export type RecordLookup = (keys: PackageKey[]) => Promise<OsvRecord[]>;

/** One advisory that affects one package of an image. */
export interface Finding {
  id: string;
  aliases: string[];
  summary: string;
  severity: SeverityLevel;
  /** The CVSS base score behind `severity`, when a CVSS vector gave it. */
  score: number | null;
  package: {
    type: ImagePackage['type'];
    name: string;
    ecosystem: string;
    purl: string;
    location: string;
    layer: string;
    /** The name the advisory names, when it differs from `name`: a Debian source package. */
    sourceName?: string;
  };
  installedVersion: string;
  /** The lowest version above the installed one that fixes it; null when no fix is known. */
  fixedVersion: string | null;
}

/** The findings of one image, and what could not be judged and why. */
export interface MatchResult {
  findings: Finding[];
  warnings: string[];
}

/** Severities from the highest down, as stored summaries and policies name them. */
export const severityLevels = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'] as const;

/**
 * Matches every package of an inventory that has an ecosystem against the vulnerability database.
 * Debian and Ubuntu packages are matched by source package and source version, because their
 * advisories name source packages. A version that cannot be read in its ecosystem is reported, and
 * the other packages are still matched.
 */
export async function matchInventory(inventory: ImageInventory, lookup: RecordLookup): Promise<MatchResult> {
  const packages = inventory.packages.filter(
    (entry): entry is ImagePackage & { ecosystem: string } => entry.ecosystem !== null,
  );
  const keys = uniqueKeys(packages.flatMap((entry) => lookupKeys(entry)));
  const records = keys.length === 0 ? [] : await lookup(keys);
  const byKey = indexRecords(records);
  const findings = new Map<string, Finding>();
  const warnings = new Set<string>();

  for (const entry of packages) {
    const { name, version } = matchedIdentity(entry);

    for (const key of lookupKeys(entry)) {
      for (const record of byKey.get(keyText(key)) ?? []) {
        for (const affected of record.affected) {
          if (
            affected.ecosystem !== key.ecosystem ||
            normalizePackageName(key.ecosystem, affected.name) !== key.name
          ) {
            continue;
          }

          const identity = `${record.id}\u0000${entry.type}\u0000${entry.name}\u0000${entry.version}\u0000${entry.location}`;

          if (findings.has(identity) || !affects(affected, version, record.id, warnings)) {
            continue;
          }

          const severity = severityOf(record);

          findings.set(identity, {
            id: record.id,
            aliases: record.aliases,
            summary: record.summary,
            severity: severity.level,
            score: severity.score,
            package: {
              type: entry.type,
              name: entry.name,
              ecosystem: entry.ecosystem,
              purl: entry.purl,
              location: entry.location,
              layer: entry.layer,
              ...(name === entry.name ? {} : { sourceName: name }),
            },
            installedVersion: version,
            fixedVersion: lowestFixAbove(affected, version),
          });
        }
      }
    }
  }

  return { findings: [...findings.values()].sort(compareFindings), warnings: [...warnings] };
}

/** Counts findings by severity, with every level present. */
export function countBySeverity(findings: readonly Finding[]): Record<SeverityLevel, number> {
  const counts = Object.fromEntries(severityLevels.map((level) => [level, 0])) as Record<
    SeverityLevel,
    number
  >;

  for (const finding of findings) {
    counts[finding.severity] += 1;
  }

  return counts;
}

/** Returns the highest severity among findings, or null without findings. */
export function highestSeverity(findings: readonly Finding[]): SeverityLevel | null {
  return severityLevels.find((level) => findings.some((finding) => finding.severity === level)) ?? null;
}

/**
 * Tells whether `level` is at or above `threshold`. UNKNOWN ranks below LOW, so only the threshold
 * UNKNOWN, which stands for any finding, counts it.
 */
export function atOrAbove(level: SeverityLevel, threshold: SeverityLevel): boolean {
  if (threshold === 'UNKNOWN') {
    return true;
  }

  if (level === 'UNKNOWN') {
    return false;
  }

  return severityLevels.indexOf(level) <= severityLevels.indexOf(threshold);
}

/** The name and version advisories use for a package: the source package for dpkg. */
function matchedIdentity(entry: ImagePackage): { name: string; version: string } {
  if (entry.type === 'dpkg') {
    return { name: entry.sourceName ?? entry.name, version: entry.sourceVersion ?? entry.version };
  }

  return { name: entry.name, version: entry.version };
}

/**
 * Lists the ecosystem spellings a package's advisories may be filed under. Ubuntu's records name the
 * release with its support line (`Ubuntu:22.04:LTS`), which os-release does not contain.
 */
function lookupKeys(entry: ImagePackage & { ecosystem: string }): PackageKey[] {
  const name = normalizePackageName(entry.ecosystem, matchedIdentity(entry).name);
  const ecosystems = entry.ecosystem.startsWith('Ubuntu:')
    ? [entry.ecosystem, `${entry.ecosystem}:LTS`]
    : [entry.ecosystem];

  return ecosystems.map((ecosystem) => ({ ecosystem, name }));
}

function affects(affected: AffectedPackage, version: string, id: string, warnings: Set<string>): boolean {
  const notes: string[] = [];

  try {
    const result = isAffected(affected, version, notes);

    for (const note of notes) {
      warnings.add(`${id}: ${note}`);
    }

    return result;
  } catch (error) {
    if (error instanceof InvalidVersionError) {
      warnings.add(`${affected.name} ${version} was not matched against ${id}: ${error.message}`);

      return false;
    }

    throw error;
  }
}

/** The lowest fixed version above `installed`, or the first listed one when none compares. */
function lowestFixAbove(affected: AffectedPackage, installed: string): string | null {
  const fixes = fixedVersions(affected);
  const scheme = versionSchemeFor(affected.ecosystem);

  if (fixes.length === 0) {
    return null;
  }

  if (scheme === undefined) {
    return fixes[0];
  }

  try {
    const above = fixes.filter((fix) => scheme.compare(fix, installed) > 0);

    return above.sort((a, b) => scheme.compare(a, b))[0] ?? fixes[0];
  } catch {
    return fixes[0];
  }
}

function indexRecords(records: OsvRecord[]): Map<string, OsvRecord[]> {
  const byKey = new Map<string, OsvRecord[]>();

  for (const record of records) {
    const keys = new Set(
      record.affected.map((affected) =>
        keyText({
          ecosystem: affected.ecosystem,
          name: normalizePackageName(affected.ecosystem, affected.name),
        }),
      ),
    );

    for (const key of keys) {
      byKey.set(key, [...(byKey.get(key) ?? []), record]);
    }
  }

  return byKey;
}

function uniqueKeys(keys: PackageKey[]): PackageKey[] {
  return [...new Map(keys.map((key) => [keyText(key), key])).values()];
}

function keyText(key: PackageKey): string {
  return `${key.ecosystem}\u0000${key.name}`;
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    severityLevels.indexOf(a.severity) - severityLevels.indexOf(b.severity) ||
    a.package.name.localeCompare(b.package.name) ||
    a.id.localeCompare(b.id) ||
    a.package.location.localeCompare(b.package.location)
  );
}
