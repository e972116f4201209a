import { compareDigits, InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** The parts of a Debian version: `[epoch:]upstream_version[-debian_revision]`. */
interface DpkgVersion {
  epoch: string;
  upstream: string;
  revision: string;
}

/**
 * Debian package versions, ordered as `dpkg --compare-versions` orders them (Debian Policy 5.6.12):
 * the epoch as a number, then the upstream version and the revision, each compared in runs of
 * non-digits and digits. In the non-digit runs, `~` sorts before everything, even the end of the
 * string, and letters sort before all other characters.
 */
export const dpkgVersions: VersionScheme = {
  name: 'dpkg',
  compare(a: string, b: string): number {
    const left = parse(a);
    const right = parse(b);

    return (
      compareDigits(left.epoch, right.epoch) ||
      compareParts(left.upstream, right.upstream) ||
      compareParts(left.revision, right.revision)
    );
  },
};

function parse(text: string): DpkgVersion {
  const version = text.trim();
  const colon = version.indexOf(':');
  const epoch = colon === -1 ? '0' : version.slice(0, colon);
  const rest = colon === -1 ? version : version.slice(colon + 1);
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  const revision = hyphen === -1 ? '' : rest.slice(hyphen + 1);

  if (!/^\d+$/.test(epoch)) {
    throw new InvalidVersionError('dpkg', text, 'the epoch is not a number');
  }

  if (!/^\d/.test(upstream)) {
    throw new InvalidVersionError('dpkg', text, 'the upstream version does not start with a digit');
  }

  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream) || (hyphen !== -1 && !/^[A-Za-z0-9.+~]+$/.test(revision))) {
    throw new InvalidVersionError('dpkg', text, 'it contains a character Debian versions do not allow');
  }

  return { epoch, upstream, revision };
}

/** Orders one character of a non-digit run; 0 stands for the end of the run. */
function characterOrder(character: string | undefined): number {
  if (character === undefined) {
    return 0;
  }

  if (character === '~') {
    return -1;
  }

  const code = character.charCodeAt(0);

  return /[A-Za-z]/.test(character) ? code : code + 256;
}

function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;

  while (i < a.length || j < b.length) {
    // A run of non-digits, compared character by character.
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const left = i < a.length && !isDigit(a[i]) ? a[i] : undefined;
      const right = j < b.length && !isDigit(b[j]) ? b[j] : undefined;
      const difference = characterOrder(left) - characterOrder(right);

      if (difference !== 0) {
        return difference;
      }

      i += left === undefined ? 0 : 1;
      j += right === undefined ? 0 : 1;
    }

    // A run of digits, compared as a number; an empty run counts as 0.
    const leftDigits = /^\d*/.exec(a.slice(i))?.[0] ?? '';
    const rightDigits = /^\d*/.exec(b.slice(j))?.[0] ?? '';
    const difference = compareDigits(leftDigits || '0', rightDigits || '0');

    if (difference !== 0) {
      return difference;
    }

    i += leftDigits.length;
    j += rightDigits.length;
  }

  return 0;
}

function isDigit(character: string): boolean {
  return character >= '0' && character <= '9';
}
