import { createHash, type Hash } from 'node:crypto';

import { InvalidDigestError } from './domain-errors.js';

/** Digest algorithms Wharf verifies, with the length of their lower-case hex encoding. */
export const digestAlgorithms = { sha256: 64, sha512: 128 } as const;

export type DigestAlgorithm = keyof typeof digestAlgorithms;

/** The OCI digest grammar: `algorithm ":" encoded`, before algorithm-specific checks. */
const digestGrammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The encoded part each algorithm takes: lower-case hex of its length. */
const encodedPatterns: Record<DigestAlgorithm, RegExp> = {
  sha256: new RegExp(`^[a-f0-9]{${digestAlgorithms.sha256}}$`),
  sha512: new RegExp(`^[a-f0-9]{${digestAlgorithms.sha512}}$`),
};

/** A validated content digest such as `sha256:<64 hex>`. */
export class Digest {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    readonly hex: string,
  ) {}

  /** Parses and validates a digest string; throws InvalidDigestError naming what is wrong. */
  static parse(text: string): Digest {
    if (!digestGrammar.test(text)) {
      throw new InvalidDigestError(text, 'not of the form algorithm:encoded');
    }

    const [algorithm, hex] = text.split(':', 2);

    if (!isDigestAlgorithm(algorithm)) {
      throw new InvalidDigestError(text, `unsupported algorithm "${algorithm}"; use sha256 or sha512`);
    }

    const length = digestAlgorithms[algorithm];

    if (!encodedPatterns[algorithm].test(hex)) {
      throw new InvalidDigestError(text, `${algorithm} needs ${length} lower-case hex characters`);
    }

    return new Digest(algorithm, hex);
  }

  static isValid(text: string): boolean {
    try {
      Digest.parse(text);

      return true;
    } catch {
      return false;
    }
  }

  /** Computes the digest of a buffer held in memory (manifests only; blobs are hashed as streams). */
  static of(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
    return new Digest(algorithm, createHash(algorithm).update(bytes).digest('hex'));
  }

  /** Wraps a finished hash of the given algorithm. */
  static fromHash(algorithm: DigestAlgorithm, hash: Hash): Digest {
    return new Digest(algorithm, hash.digest('hex'));
  }

  toString(): string {
    return `${this.algorithm}:${this.hex}`;
  }

  equals(other: Digest): boolean {
    return this.algorithm === other.algorithm && this.hex === other.hex;
  }
}

function isDigestAlgorithm(name: string): name is DigestAlgorithm {
  return Object.hasOwn(digestAlgorithms, name);
}
