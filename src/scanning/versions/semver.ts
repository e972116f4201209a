import { compareDigits, compareText, InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** The parts of a SemVer 2.0.0 version that decide its precedence; build metadata does not. */
interface SemanticVersion {
  core: [string, string, string];
  prerelease: string[];
}

/**
 * Semantic Versioning 2.0.0 precedence, as npm, Go modules and Cargo use it: major, minor and patch
 * as numbers, then a version with pre-release identifiers before the same version without. Numeric
 * identifiers compare as numbers and sort before alphanumeric ones, which compare in ASCII order,
 * and a longer list of identifiers wins when all before are equal. A leading `v`, as Go writes
 * versions, is accepted, and build metadata after `+` (such as Go's `+incompatible`) is ignored.
 * A missing minor or patch number counts as 0, because advisories write npm versions such as `1.0`.
 */
export const semverVersions: VersionScheme = {
  name: 'SemVer',
  compare(a: string, b: string): number {
    const left = parse(a);
    const right = parse(b);

    for (let index = 0; index < 3; index++) {
      const difference = compareDigits(left.core[index], right.core[index]);

      if (difference !== 0) {
        return difference;
      }
    }

    return comparePrerelease(left.prerelease, right.prerelease);
  },
};

function parse(text: string): SemanticVersion {
  const match =
    /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/.exec(
      text.trim(),
    );

  if (match === null) {
    throw new InvalidVersionError('SemVer', text, 'it is not MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]');
  }

  const prerelease = match[4] === undefined ? [] : match[4].split('.');

  if (prerelease.some((identifier) => /^0\d+$/.test(identifier))) {
    throw new InvalidVersionError('SemVer', text, 'a numeric pre-release identifier has a leading zero');
  }

  return { core: [match[1], match[2] ?? '0', match[3] ?? '0'], prerelease };
}

function comparePrerelease(a: string[], b: string[]): number {
  // A release sorts after all of its pre-releases.
  if (a.length === 0 || b.length === 0) {
    return b.length - a.length;
  }

  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index];
    const right = b[index];

    if (left === undefined || right === undefined) {
      return left === undefined ? -1 : 1;
    }

    const difference = compareIdentifier(left, right);

    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}

function compareIdentifier(a: string, b: string): number {
  const leftNumeric = /^\d+$/.test(a);
  const rightNumeric = /^\d+$/.test(b);

  if (leftNumeric && rightNumeric) {
    return compareDigits(a, b);
  }

  if (leftNumeric !== rightNumeric) {
    return leftNumeric ? -1 : 1;
  }

  return compareText(a, b);
}
