import { compareDigits, compareText, InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** Suffixes in release order; those before `''` mark pre-releases, those after it later builds. */
const suffixOrder = ['alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];

/** The parts of an Alpine version: `1.2.3b_rc4_p1-r5`. */
interface ApkVersion {
  numbers: string[];
  letter: string;
  suffixes: { rank: number; number: string }[];
  revision: string;
}

/**
 * Alpine package versions, ordered as `apk version -t` orders them: the dot-separated numbers, then
 * an optional letter, then suffixes (`_alpha`, `_beta`, `_pre` and `_rc` before the plain release;
 * `_cvs`, `_svn`, `_git`, `_hg` and `_p` after it), then the `-r` revision. After the first number,
 * a number with a leading zero compares as a decimal fraction, so 1.02 sorts before 1.1.
 */
export const apkVersions: VersionScheme = {
  name: 'apk',
  compare(a: string, b: string): number {
    const left = parse(a);
    const right = parse(b);

    return (
      compareNumbers(left.numbers, right.numbers) ||
      compareText(left.letter, right.letter) ||
      compareSuffixes(left.suffixes, right.suffixes) ||
      compareDigits(left.revision, right.revision)
    );
  },
};

function parse(text: string): ApkVersion {
  const match = /^(\d+(?:\.\d+)*)([a-z]?)((?:_[a-z]+\d*)*)(?:-r(\d+))?$/.exec(text.trim());

  if (match === null) {
    throw new InvalidVersionError('apk', text, 'it is not numbers[letter][_suffix...][-rN]');
  }

  const suffixes = [...match[3].matchAll(/_([a-z]+)(\d*)/g)].map((suffix) => {
    const rank = suffixOrder.indexOf(suffix[1]);

    if (rank === -1) {
      throw new InvalidVersionError('apk', text, `"_${suffix[1]}" is not a known suffix`);
    }

    return { rank, number: suffix[2] || '0' };
  });

  return { numbers: match[1].split('.'), letter: match[2], suffixes, revision: match[4] ?? '0' };
}

function compareNumbers(a: string[], b: string[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index];
    const right = b[index];

    // The version with more numbers is newer: 1.2.1 after 1.2.
    if (left === undefined || right === undefined) {
      return left === undefined ? -1 : 1;
    }

    const fraction = index > 0 && (left.startsWith('0') || right.startsWith('0'));
    const difference = fraction ? compareText(left, right) : compareDigits(left, right);

    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}

function compareSuffixes(a: ApkVersion['suffixes'], b: ApkVersion['suffixes']): number {
  const plain = suffixOrder.indexOf('');

  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index] ?? { rank: plain, number: '0' };
    const right = b[index] ?? { rank: plain, number: '0' };
    const difference = left.rank - right.rank || compareDigits(left.number, right.number);

    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}
