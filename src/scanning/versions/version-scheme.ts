/** A version string that its ecosystem's rules cannot read, with the reason. */
export class InvalidVersionError extends Error {
  constructor(
    readonly scheme: string,
    readonly version: string,
    reason: string,
  ) {
    super(`invalid ${scheme} version "${version}": ${reason}`);
    this.name = 'InvalidVersionError';
  }
}

/** The version order of one ecosystem. */
export interface VersionScheme {
  /** The scheme's name in messages, such as `dpkg`. */
  readonly name: string;
  /** Returns a negative number, zero or a positive number as `a` sorts before, with or after `b`. */
  compare(a: string, b: string): number;
}

/** Compares two strings by their UTF-16 code units, as ASCII order does for version text. */
export function compareText(a: string, b: string): number {
  if (a === b) {
    return 0;
  }

  return a < b ? -1 : 1;
}

/** Compares two numbers written as digit strings of any length, without converting them to numbers. */
export function compareDigits(a: string, b: string): number {
  const left = a.replace(/^0+/, '');
  const right = b.replace(/^0+/, '');

  if (left.length !== right.length) {
    return left.length - right.length;
  }

  return compareText(left, right);
}
