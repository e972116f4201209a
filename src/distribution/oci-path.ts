import { Digest } from '../common/digest.js';
import {
  InvalidNameError,
  InvalidReferenceError,
  RouteNotFoundError,
  UploadNotFoundError,
} from '../common/domain-errors.js';
import { isUploadId } from '../storage/storage-paths.js';

import type { Reference } from '../common/reference.js';

export { type Reference, referenceText } from '../common/reference.js';

/** A parsed `/v2/...` path: which endpoint it names, with validated parts. */
export type OciRoute =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'manifest'; name: string; reference: Reference }
  | { kind: 'blob'; name: string; digest: Digest }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uploadId: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: Digest };

export const maxNameLength = 255;

/** One path component of a repository name, from the distribution spec's name grammar. */
const nameComponent = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/**
 * Parses the path of a `/v2/` request (without the query string). Repository names contain `/`, so the
 * endpoint is recognised from the last segments and everything before them is the name.
 */
export function parseOciPath(path: string): OciRoute {
  if (path === '/v2' || path === '/v2/') {
    return { kind: 'base' };
  }

  if (!path.startsWith('/v2/')) {
    throw new RouteNotFoundError(path);
  }

  if (path.includes('%')) {
    // No valid name, tag, digest or upload id contains '%', so percent-encoding can only hide a '/' or
    // a '..' from this parser; rejecting it closes that door.
    throw new InvalidNameError(path, 'percent-encoded characters are not allowed');
  }

  const rest = path.slice('/v2/'.length);

  if (rest === '_catalog') {
    return { kind: 'catalog' };
  }

  const segments = rest.split('/');
  const route = matchEndpoint(segments);

  if (!route) {
    throw new RouteNotFoundError(path);
  }

  return route;
}

function matchEndpoint(segments: string[]): OciRoute | undefined {
  const count = segments.length;
  const last = segments[count - 1];
  const secondLast = segments[count - 2];
  const nameOf = (tailLength: number): string => parseName(segments.slice(0, count - tailLength).join('/'));

  if (count >= 3 && secondLast === 'blobs' && last === 'uploads') {
    return { kind: 'uploads', name: nameOf(2) };
  }

  if (count >= 4 && segments[count - 3] === 'blobs' && secondLast === 'uploads') {
    if (last === '') {
      return { kind: 'uploads', name: nameOf(3) };
    }

    const name = nameOf(3);

    if (!isUploadId(last)) {
      throw new UploadNotFoundError(last);
    }

    return { kind: 'upload', name, uploadId: last };
  }

  if (count < 3) {
    return undefined;
  }

  switch (secondLast) {
    case 'manifests':
      return { kind: 'manifest', name: nameOf(2), reference: parseReference(last) };
    case 'blobs':
      return { kind: 'blob', name: nameOf(2), digest: Digest.parse(last) };
    case 'referrers':
      return { kind: 'referrers', name: nameOf(2), digest: Digest.parse(last) };
    case 'tags':
      return last === 'list' ? { kind: 'tags', name: nameOf(2) } : undefined;
    default:
      return undefined;
  }
}

/** Validates a repository name against the spec's grammar, naming the first rule it breaks. */
export function parseName(name: string): string {
  if (name.length === 0) {
    throw new InvalidNameError(name, 'the name is empty');
  }

  if (name.length > maxNameLength) {
    throw new InvalidNameError(name, `the name is longer than ${maxNameLength} characters`);
  }

  for (const component of name.split('/')) {
    if (component.length === 0) {
      throw new InvalidNameError(name, 'the name has an empty path component');
    }

    if (component === '.' || component === '..') {
      throw new InvalidNameError(name, `"${component}" is not a valid path component`);
    }

    if (/[A-Z]/.test(component)) {
      throw new InvalidNameError(name, 'the name must be lower case');
    }

    if (!nameComponent.test(component)) {
      throw new InvalidNameError(
        name,
        `"${component}" must be lower-case letters and digits, separated by ".", "_", "__" or dashes`,
      );
    }
  }

  return name;
}

/** Parses a manifest reference: a digest when it contains ':', otherwise a tag. */
export function parseReference(text: string): Reference {
  if (text.includes(':')) {
    return { digest: Digest.parse(text) };
  }

  if (!tagPattern.test(text)) {
    throw new InvalidReferenceError(text);
  }

  return { tag: text };
}

export function isValidTag(text: string): boolean {
  return tagPattern.test(text);
}
