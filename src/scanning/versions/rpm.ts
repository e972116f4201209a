import { compareDigits, compareText, InvalidVersionError, type VersionScheme } from './version-scheme.js';

/**
 * RPM package versions, `[epoch:]version[-release]`, ordered as `rpmvercmp` orders them. The epoch
 * compares as a number, then version and release. Each of those compares in alternating runs of
 * digits and letters, and other characters are skipped. A run of digits sorts after a run of letters, `~` sorts before
 * everything, even the end, and `^` sorts after the end but before anything else.
 */
export const rpmVersions: VersionScheme = {
  name: 'rpm',
  compare(a: string, b: string): number {
    const left = parse(a);
    const right = parse(b);

    return (
      compareDigits(left.epoch, right.epoch) ||
      compareSegments(left.version, right.version) ||
      // A release given on one side only does not decide, as in rpm's own comparison.
      (left.release === undefined || right.release === undefined
        ? 0
        : compareSegments(left.release, right.release))
    );
  },
};

function parse(text: string): { epoch: string; version: string; release: string | undefined } {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const epoch = colon === -1 ? '0' : trimmed.slice(0, colon);
  const rest = colon === -1 ? trimmed : trimmed.slice(colon + 1);
  const hyphen = rest.lastIndexOf('-');
  const version = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const release = hyphen === -1 ? undefined : rest.slice(hyphen + 1);

  if (!/^\d+$/.test(epoch)) {
    throw new InvalidVersionError('rpm', text, 'the epoch is not a number');
  }

  if (!/[A-Za-z0-9]/.test(version) || release === '') {
    throw new InvalidVersionError('rpm', text, 'the version or release is empty');
  }

  return { epoch, version, release };
}

function compareSegments(a: string, b: string): number {
  if (a === b) {
    return 0;
  }

  let left = a;
  let right = b;

  while (left.length > 0 || right.length > 0) {
    left = left.replace(/^[^A-Za-z0-9~^]+/, '');
    right = right.replace(/^[^A-Za-z0-9~^]+/, '');

    if (left.startsWith('~') || right.startsWith('~')) {
      if (!left.startsWith('~')) {
        return 1;
      }

      if (!right.startsWith('~')) {
        return -1;
      }

      left = left.slice(1);
      right = right.slice(1);
      continue;
    }

    if (left.startsWith('^') || right.startsWith('^')) {
      if (left.length === 0) {
        return -1;
      }

      if (right.length === 0) {
        return 1;
      }

      if (!left.startsWith('^')) {
        return 1;
      }

      if (!right.startsWith('^')) {
        return -1;
      }

      left = left.slice(1);
      right = right.slice(1);
      continue;
    }

    if (left.length === 0 || right.length === 0) {
      break;
    }

    const numeric = /^\d/.test(left);
    const pattern = numeric ? /^\d+/ : /^[A-Za-z]+/;
    const leftRun = pattern.exec(left)?.[0] ?? '';
    const rightRun = pattern.exec(right)?.[0] ?? '';

    // Runs of different kinds: digits win.
    if (rightRun === '') {
      return numeric ? 1 : -1;
    }

    const difference = numeric ? compareDigits(leftRun, rightRun) : compareText(leftRun, rightRun);

    if (difference !== 0) {
      return difference;
    }

    left = left.slice(leftRun.length);
    right = right.slice(rightRun.length);
  }

  if (left.length === 0 && right.length === 0) {
    return 0;
  }

  // Whichever has characters left is newer.
  return left.length > 0 ? 1 : -1;
}
