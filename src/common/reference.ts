import type { Digest } from './digest.js';

/** A manifest reference: a tag or a digest. */
export type Reference = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

export function referenceText(reference: Reference): string {
  return reference.tag ?? reference.digest.toString();
}
