/**
 * CVSS base scores computed from vector strings with the base equations of FIRST's specifications:
 * those of CVSS v3.1, with Roundup as its Appendix A defines it, which v3.0 vectors share, and that
 * of the CVSS v2 guide. Temporal and environmental metrics are checked but do not change the base
 * score. CVSS v4.0 scores come from a large lookup table of macro vectors, which this module does
 * not carry, so v4.0 vectors get no score.
 */

/** A qualitative severity rating, as CVSS v3.x and NVD name them. */
export type CvssRating = 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** Allowed values of each metric, and the weight of each value that the base equation uses. */
type MetricWeights = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Allowed values of metrics that do not enter the base score. */
type MetricValues = ReadonlyMap<string, readonly string[]>;

const weightsOf = (entries: Record<string, Record<string, number>>): MetricWeights =>
  new Map(Object.entries(entries).map(([metric, values]) => [metric, new Map(Object.entries(values))]));

const cia3 = { H: 0.56, L: 0.22, N: 0 };

const v3Base = weightsOf({
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  // Privileges Required weighs more when the scope changes, as v3ScopeChangedPrivileges lists.
  PR: { N: 0.85, L: 0.62, H: 0.27 },
  UI: { N: 0.85, R: 0.62 },
  S: { U: 0, C: 0 },
  C: cia3,
  I: cia3,
  A: cia3,
});

/** The weights of Privileges Required that replace those of v3Base when the scope changed (`S:C`). */
const v3ScopeChangedPrivileges: ReadonlyMap<string, number> = new Map([
  ['N', 0.85],
  ['L', 0.68],
  ['H', 0.5],
]);

const v3Other: MetricValues = new Map([
  ['E', ['X', 'U', 'P', 'F', 'H']],
  ['RL', ['X', 'O', 'T', 'W', 'U']],
  ['RC', ['X', 'U', 'R', 'C']],
  ['CR', ['X', 'L', 'M', 'H']],
  ['IR', ['X', 'L', 'M', 'H']],
  ['AR', ['X', 'L', 'M', 'H']],
  ['MAV', ['X', 'N', 'A', 'L', 'P']],
  ['MAC', ['X', 'L', 'H']],
  ['MPR', ['X', 'N', 'L', 'H']],
  ['MUI', ['X', 'N', 'R']],
  ['MS', ['X', 'U', 'C']],
  ['MC', ['X', 'N', 'L', 'H']],
  ['MI', ['X', 'N', 'L', 'H']],
  ['MA', ['X', 'N', 'L', 'H']],
]);

const cia2 = { N: 0, P: 0.275, C: 0.66 };

const v2Base = weightsOf({
  AV: { L: 0.395, A: 0.646, N: 1 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: cia2,
  I: cia2,
  A: cia2,
});

const v2Other: MetricValues = new Map([
  ['E', ['U', 'POC', 'F', 'H', 'ND']],
  ['RL', ['OF', 'TF', 'W', 'U', 'ND']],
  ['RC', ['UC', 'UR', 'C', 'ND']],
  ['CDP', ['N', 'L', 'LM', 'MH', 'H', 'ND']],
  ['TD', ['N', 'L', 'M', 'H', 'ND']],
  ['CR', ['L', 'M', 'H', 'ND']],
  ['IR', ['L', 'M', 'H', 'ND']],
  ['AR', ['L', 'M', 'H', 'ND']],
]);

/**
 * Computes the base score of a CVSS vector of any version this module reads: `CVSS:3.0/…` and
 * `CVSS:3.1/…` as v3, a vector without a `CVSS:` prefix as v2. Returns undefined for an invalid
 * vector and for CVSS v4.0.
 */
export function cvssBaseScore(vector: string): number | undefined {
  if (vector.startsWith('CVSS:3.')) {
    return cvss3BaseScore(vector);
  }

  return vector.startsWith('CVSS:') ? undefined : cvss2BaseScore(vector);
}

/**
 * Computes the base score of a CVSS v3.0 or v3.1 vector, such as
 * `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` (9.8). Returns undefined when the prefix is not
 * `CVSS:3.0/` or `CVSS:3.1/`, a base metric is missing, or a metric is unknown, repeated or has a
 * value its version does not define.
 */
export function cvss3BaseScore(vector: string): number | undefined {
  const prefix = /^CVSS:3\.[01]\//.exec(vector);

  if (prefix === null) {
    return undefined;
  }

  const values = readMetrics(vector.slice(prefix[0].length), v3Base, v3Other);

  if (values === undefined) {
    return undefined;
  }

  const weight = (metric: string): number => v3Base.get(metric)?.get(values.get(metric) ?? '') ?? 0;
  const scopeChanged = values.get('S') === 'C';
  const privileges = scopeChanged
    ? (v3ScopeChangedPrivileges.get(values.get('PR') ?? '') ?? 0)
    : weight('PR');
  const impactSubScore = 1 - (1 - weight('C')) * (1 - weight('I')) * (1 - weight('A'));
  const impact = scopeChanged
    ? 7.52 * (impactSubScore - 0.029) - 3.25 * (impactSubScore - 0.02) ** 15
    : 6.42 * impactSubScore;
  const exploitability = 8.22 * weight('AV') * weight('AC') * privileges * weight('UI');

  if (impact <= 0) {
    return 0;
  }

  const combined = scopeChanged ? 1.08 * (impact + exploitability) : impact + exploitability;

  return roundUp(Math.min(combined, 10));
}

/**
 * Computes the base score of a CVSS v2 vector, such as `AV:N/AC:L/Au:N/C:C/I:C/A:C` (10.0).
 * Returns undefined when a base metric is missing, or a metric is unknown, repeated or has a value
 * CVSS v2 does not define.
 */
export function cvss2BaseScore(vector: string): number | undefined {
  const values = readMetrics(vector, v2Base, v2Other);

  if (values === undefined) {
    return undefined;
  }

  const weight = (metric: string): number => v2Base.get(metric)?.get(values.get(metric) ?? '') ?? 0;
  const impact = 10.41 * (1 - (1 - weight('C')) * (1 - weight('I')) * (1 - weight('A')));
  const exploitability = 20 * weight('AV') * weight('AC') * weight('Au');
  const impactFactor = impact === 0 ? 0 : 1.176;

  return roundToTenth((0.6 * impact + 0.4 * exploitability - 1.5) * impactFactor);
}

/**
 * Rounds up to one decimal the way CVSS v3.1 Appendix A defines Roundup. It works on an integer
 * of the value times 100,000, so that a sum such as 4.000000000000001 from floating-point error
 * rounds to 4.0 and not to 4.1.
 */
export function roundUp(value: number): number {
  const scaled = Math.round(value * 100_000);

  if (scaled % 10_000 === 0) {
    return scaled / 100_000;
  }

  return (Math.floor(scaled / 10_000) + 1) / 10;
}

/**
 * Returns the CVSS v3.x qualitative rating of a score: 0.0 NONE, 0.1–3.9 LOW, 4.0–6.9 MEDIUM,
 * 7.0–8.9 HIGH and 9.0–10.0 CRITICAL.
 */
export function cvssRating(score: number): CvssRating {
  if (score >= 9) {
    return 'CRITICAL';
  }

  if (score >= 7) {
    return 'HIGH';
  }

  if (score >= 4) {
    return 'MEDIUM';
  }

  return score > 0 ? 'LOW' : 'NONE';
}

/**
 * Returns NVD's rating of a CVSS v2 score: 0.1–3.9 LOW, 4.0–6.9 MEDIUM and 7.0–10.0 HIGH. CVSS v2
 * defines no rating of its own and NVD gives v2 scores no CRITICAL. A score of 0.0 is NONE here,
 * where NVD calls it LOW, because a vector without impact has no severity to report.
 */
export function cvss2Rating(score: number): CvssRating {
  if (score >= 7) {
    return 'HIGH';
  }

  if (score >= 4) {
    return 'MEDIUM';
  }

  return score > 0 ? 'LOW' : 'NONE';
}

/**
 * Reads `KEY:VALUE` metrics separated by `/`. Returns each metric's value, or undefined when a base
 * metric is missing or a metric is unknown, repeated or has a value not listed.
 */
function readMetrics(
  text: string,
  base: MetricWeights,
  other: MetricValues,
): ReadonlyMap<string, string> | undefined {
  const values = new Map<string, string>();

  for (const part of text.split('/')) {
    const match = /^([A-Za-z]+):([A-Z]+)$/.exec(part);

    if (match === null || values.has(match[1])) {
      return undefined;
    }

    const [, metric, value] = match;
    const known = base.get(metric)?.has(value) ?? other.get(metric)?.includes(value) ?? false;

    if (!known) {
      return undefined;
    }

    values.set(metric, value);
  }

  return [...base.keys()].every((metric) => values.has(metric)) ? values : undefined;
}

/** Rounds to one decimal, half up, after removing floating-point error below 1e-5 the same way Roundup does. */
function roundToTenth(value: number): number {
  return Math.round(Math.round(value * 100_000) / 10_000) / 10;
}
