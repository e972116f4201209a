import { compareDigits, compareText, InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** Pre-release kinds in order, with the spellings PEP 440 normalizes to each. */
const preReleaseKinds: Record<string, number> = {
  a: 0,
  alpha: 0,
  b: 1,
  beta: 1,
  rc: 2,
  c: 2,
  pre: 2,
  preview: 2,
};

/** A parsed Python version; `undefined` marks a missing segment. */
interface PythonVersion {
  epoch: string;
  release: string[];
  pre: [number, string] | undefined;
  post: string | undefined;
  dev: string | undefined;
  local: string[];
}

/**
 * Python package versions as PEP 440 orders them: epoch, release numbers (1.0 equals 1.0.0), then
 * a development release of the final version, alpha, beta and release candidates, the final release
 * and post-releases. A `.devN` sorts before the version it is attached to, and a local version
 * (`+ubuntu1`) after the same public version. Accepted spellings are normalized as PEP 440
 * describes: any case, `alpha`/`beta`/`c`/`pre`/`preview`, `-`, `_` or `.` separators or none,
 * implicit numbers, `-N` and `rev` or `r` for post-releases, and a leading `v`.
 */
export const pep440Versions: VersionScheme = {
  name: 'PEP 440',
  compare(a: string, b: string): number {
    const left = parse(a);
    const right = parse(b);

    return (
      compareDigits(left.epoch, right.epoch) ||
      compareRelease(left.release, right.release) ||
      comparePhase(left, right) ||
      compareOptional(left.post, right.post, -1) ||
      compareOptional(left.dev, right.dev, 1) ||
      compareLocal(left.local, right.local)
    );
  },
};

const pattern =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/;

function parse(text: string): PythonVersion {
  const match = pattern.exec(text.trim().toLowerCase());

  if (match === null) {
    throw new InvalidVersionError('PEP 440', text, 'it does not follow the PEP 440 version scheme');
  }

  const [, epoch, release, preKind, preNumber, implicitPost, postKeyword, post, devKeyword, dev, local] =
    match;
  let postNumber: string | undefined;

  // `1.0-1` is a post-release written without the keyword; a keyword without a number means 0.
  if (implicitPost !== undefined) {
    postNumber = implicitPost;
  } else if (postKeyword !== undefined) {
    postNumber = post || '0';
  }

  return {
    epoch: epoch ?? '0',
    release: release.split('.'),
    pre: preKind === undefined ? undefined : [preReleaseKinds[preKind], preNumber || '0'],
    post: postNumber,
    dev: devKeyword === undefined ? undefined : dev || '0',
    local: local === undefined ? [] : local.split(/[-_.]/),
  };
}

/** Compares release numbers with trailing zeros ignored, so 1.0 equals 1. */
function compareRelease(a: string[], b: string[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = compareDigits(a[index] ?? '0', b[index] ?? '0');

    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}

/**
 * Orders the phase of a version: a development release of the final version (`1.0.dev1`, no pre
 * or post segment) first, then pre-releases by kind and number, then everything else.
 */
function comparePhase(a: PythonVersion, b: PythonVersion): number {
  const rank = (version: PythonVersion): [number, number, string] => {
    if (version.pre !== undefined) {
      return [1, version.pre[0], version.pre[1]];
    }

    return version.post === undefined && version.dev !== undefined ? [0, 0, '0'] : [2, 0, '0'];
  };

  const left = rank(a);
  const right = rank(b);

  return left[0] - right[0] || left[1] - right[1] || compareDigits(left[2], right[2]);
}

/** Compares optional numbers; `missing` is where a version without the segment sorts (-1 first, 1 last). */
function compareOptional(a: string | undefined, b: string | undefined, missing: -1 | 1): number {
  if (a === undefined && b === undefined) {
    return 0;
  }

  if (a === undefined) {
    return missing;
  }

  if (b === undefined) {
    return -missing;
  }

  return compareDigits(a, b);
}

/** Compares local version labels: numeric segments after alphanumeric ones, a longer label last. */
function compareLocal(a: string[], b: string[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index];
    const right = b[index];

    if (left === undefined || right === undefined) {
      return left === undefined ? -1 : 1;
    }

    const leftNumeric = /^\d+$/.test(left);
    const rightNumeric = /^\d+$/.test(right);
    let difference: number;

    if (leftNumeric && rightNumeric) {
      difference = compareDigits(left, right);
    } else if (leftNumeric !== rightNumeric) {
      difference = leftNumeric ? 1 : -1;
    } else {
      difference = compareText(left, right);
    }

    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}
