/**
 * Route and name parsing, with cases taken from the grammars of the OCI Distribution Spec:
 *
 * - name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
 * - tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`
 * - digest: `algorithm ":" encoded`, with sha256 (64) and sha512 (128) lower-case hex
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Digest } from '../common/digest.js';
import {
  InvalidDigestError,
  InvalidNameError,
  InvalidReferenceError,
  RouteNotFoundError,
  UploadNotFoundError,
} from '../common/domain-errors.js';
import { type OciRoute, parseName, parseOciPath, parseReference } from './oci-path.js';

const sha256Hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha512Hex =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce' +
  '47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const sha256Digest = `sha256:${sha256Hex}`;
const sha512Digest = `sha512:${sha512Hex}`;
const uploadId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

/** A 255-character name in two components: the longest name the spec allows. */
const longestName = `${'a'.repeat(127)}/${'b'.repeat(127)}`;

type ErrorClass = new (...args: never[]) => Error;

describe('parseName', () => {
  const validNames = [
    'a',
    '0',
    'library/ubuntu',
    'a/b/c/d/e',
    'my.app',
    'my_app',
    'a__b',
    'a-b',
    'a---b',
    'a.b_c__d-e',
    '1.0/x-y',
    'blobs',
    'manifests',
    'uploads',
    'tags',
    'blobs/uploads',
    'a'.repeat(255),
    longestName,
  ];

  for (const name of validNames) {
    it(`accepts ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}… (${name.length})` : name)}`, () => {
      assert.equal(parseName(name), name);
    });
  }

  const invalidNames: [label: string, name: string][] = [
    ['empty name', ''],
    ['upper case', 'Library/ubuntu'],
    ['upper case in later component', 'library/Ubuntu'],
    ['dot-dot component', 'a/../b'],
    ['dot component', 'a/./b'],
    ['only dot-dot', '..'],
    ['empty component', 'a//b'],
    ['leading slash', '/a'],
    ['trailing slash', 'a/'],
    ['256 characters', 'a'.repeat(256)],
    ['256 characters in components', `${longestName}c`],
    ['leading separator', '-a'],
    ['trailing separator', 'a-'],
    ['leading dot', '.a'],
    ['trailing dot', 'a.'],
    ['two dots', 'a..b'],
    ['three underscores', 'a___b'],
    ['mixed separators', 'a.-b'],
    ['colon', 'a:b'],
    ['space', 'a b'],
    ['percent', 'a%2fb'],
    ['non-ASCII letter', 'caf\u00e9'],
  ];

  for (const [label, name] of invalidNames) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseName(name), InvalidNameError);
    });
  }

  it('error names the repository', () => {
    assert.throws(
      () => parseName('a//b'),
      (error: unknown) => error instanceof InvalidNameError && error.detail?.name === 'a//b',
    );
  });
});

describe('parseReference', () => {
  const validTags = [
    'latest',
    'v1.0.0',
    '1.2.3-rc_1',
    '_',
    'A',
    'UPPER_lower.123-x',
    '_leading-underscore',
    'a'.repeat(128),
  ];

  for (const tag of validTags) {
    it(`accepts tag ${JSON.stringify(tag.length > 40 ? `${tag.slice(0, 10)}… (${tag.length})` : tag)}`, () => {
      assert.deepEqual(parseReference(tag), { tag });
    });
  }

  it('accepts sha256 digest', () => {
    assert.deepEqual(parseReference(sha256Digest), { digest: Digest.parse(sha256Digest) });
  });

  it('accepts sha512 digest', () => {
    assert.deepEqual(parseReference(sha512Digest), { digest: Digest.parse(sha512Digest) });
  });

  const invalidReferences: [label: string, reference: string, expected: ErrorClass][] = [
    ['empty tag', '', InvalidReferenceError],
    ['tag of 129 characters', 'a'.repeat(129), InvalidReferenceError],
    ['tag starting with dot', '.hidden', InvalidReferenceError],
    ['tag starting with dash', '-v1', InvalidReferenceError],
    ['tag with slash', 'a/b', InvalidReferenceError],
    ['tag with plus', 'v1+build', InvalidReferenceError],
    ['tag with at sign', 'a@b', InvalidReferenceError],
    ['unknown algorithm', `md5:${'a'.repeat(32)}`, InvalidDigestError],
    ['sha256 with 63 hex characters', `sha256:${sha256Hex.slice(1)}`, InvalidDigestError],
    ['sha256 with 65 hex characters', `sha256:${sha256Hex}0`, InvalidDigestError],
    ['sha512 with sha256 length', `sha512:${sha256Hex}`, InvalidDigestError],
    ['upper-case hex', `sha256:${sha256Hex.toUpperCase()}`, InvalidDigestError],
    ['empty encoded part', 'sha256:', InvalidDigestError],
  ];

  for (const [label, reference, expected] of invalidReferences) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseReference(reference), expected);
    });
  }
});

describe('parseOciPath', () => {
  const digest256 = Digest.parse(sha256Digest);
  const digest512 = Digest.parse(sha512Digest);

  const validRoutes: [path: string, route: OciRoute][] = [
    ['/v2/', { kind: 'base' }],
    ['/v2', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    [
      '/v2/library/ubuntu/manifests/latest',
      { kind: 'manifest', name: 'library/ubuntu', reference: { tag: 'latest' } },
    ],
    [
      `/v2/library/ubuntu/manifests/${sha256Digest}`,
      { kind: 'manifest', name: 'library/ubuntu', reference: { digest: digest256 } },
    ],
    [`/v2/a/manifests/${sha512Digest}`, { kind: 'manifest', name: 'a', reference: { digest: digest512 } }],
    [`/v2/a/b/c/blobs/${sha256Digest}`, { kind: 'blob', name: 'a/b/c', digest: digest256 }],
    ['/v2/a/blobs/uploads/', { kind: 'uploads', name: 'a' }],
    ['/v2/a/blobs/uploads', { kind: 'uploads', name: 'a' }],
    [`/v2/a/blobs/uploads/${uploadId}`, { kind: 'upload', name: 'a', uploadId }],
    ['/v2/a/tags/list', { kind: 'tags', name: 'a' }],
    [`/v2/a/referrers/${sha256Digest}`, { kind: 'referrers', name: 'a', digest: digest256 }],
    ['/v2/a__b/tags/list', { kind: 'tags', name: 'a__b' }],
    ['/v2/a---b/tags/list', { kind: 'tags', name: 'a---b' }],
    [`/v2/${longestName}/tags/list`, { kind: 'tags', name: longestName }],
    [
      `/v2/a/manifests/${'t'.repeat(128)}`,
      { kind: 'manifest', name: 'a', reference: { tag: 't'.repeat(128) } },
    ],

    // Names whose components are endpoint keywords.
    ['/v2/blobs/manifests/latest', { kind: 'manifest', name: 'blobs', reference: { tag: 'latest' } }],
    ['/v2/manifests/manifests/latest', { kind: 'manifest', name: 'manifests', reference: { tag: 'latest' } }],
    [
      '/v2/a/uploads/manifests/uploads',
      { kind: 'manifest', name: 'a/uploads', reference: { tag: 'uploads' } },
    ],
    [`/v2/blobs/blobs/${sha256Digest}`, { kind: 'blob', name: 'blobs', digest: digest256 }],
    [`/v2/a/blobs/blobs/${sha256Digest}`, { kind: 'blob', name: 'a/blobs', digest: digest256 }],
    ['/v2/uploads/blobs/uploads/', { kind: 'uploads', name: 'uploads' }],
    ['/v2/a/blobs/blobs/uploads/', { kind: 'uploads', name: 'a/blobs' }],
    ['/v2/x/blobs/uploads/blobs/uploads', { kind: 'uploads', name: 'x/blobs/uploads' }],
    [`/v2/blobs/uploads/blobs/uploads/${uploadId}`, { kind: 'upload', name: 'blobs/uploads', uploadId }],
    ['/v2/tags/tags/list', { kind: 'tags', name: 'tags' }],
    ['/v2/a/blobs/uploads/tags/list', { kind: 'tags', name: 'a/blobs/uploads' }],
    ['/v2/tags/list/manifests/list', { kind: 'manifest', name: 'tags/list', reference: { tag: 'list' } }],
    [`/v2/referrers/referrers/${sha256Digest}`, { kind: 'referrers', name: 'referrers', digest: digest256 }],
  ];

  for (const [path, route] of validRoutes) {
    const label = path.length > 70 ? `${path.slice(0, 60)}…` : path;

    it(`parses ${label}`, () => {
      assert.deepEqual(parseOciPath(path), route);
    });
  }

  const invalidPaths: [label: string, path: string, expected: ErrorClass][] = [
    ['upper-case name', '/v2/Library/manifests/latest', InvalidNameError],
    ['dot-dot component', '/v2/a/../b/manifests/latest', InvalidNameError],
    ['dot component', '/v2/a/./b/tags/list', InvalidNameError],
    ['dot-dot as whole name', '/v2/../tags/list', InvalidNameError],
    ['empty component', '/v2/a//b/manifests/latest', InvalidNameError],
    ['leading slash in name', '/v2//a/manifests/latest', InvalidNameError],
    ['trailing slash in name', '/v2/a//manifests/latest', InvalidNameError],
    ['name of 256 characters', `/v2/${'a'.repeat(256)}/tags/list`, InvalidNameError],
    ['percent-encoded dot-dot', '/v2/a/%2e%2e/b/manifests/latest', InvalidNameError],
    ['percent-encoded slash', '/v2/a%2Fb/manifests/latest', InvalidNameError],
    ['percent-encoded tag', '/v2/a/manifests/v%31', InvalidNameError],
    ['unknown algorithm', `/v2/a/blobs/md5:${'a'.repeat(32)}`, InvalidDigestError],
    ['wrong hex length', `/v2/a/blobs/sha256:${sha256Hex.slice(2)}`, InvalidDigestError],
    ['upper-case hex', `/v2/a/blobs/sha256:${sha256Hex.toUpperCase()}`, InvalidDigestError],
    ['bad manifest digest', `/v2/a/manifests/sha256:${sha256Hex.slice(1)}`, InvalidDigestError],
    ['bad referrers digest', '/v2/a/referrers/latest', InvalidDigestError],
    ['tag of 129 characters', `/v2/a/manifests/${'t'.repeat(129)}`, InvalidReferenceError],
    ['tag starting with dot', '/v2/a/manifests/.latest', InvalidReferenceError],
    ['tag starting with dash', '/v2/a/manifests/-latest', InvalidReferenceError],
    ['non-UUID upload id', '/v2/a/blobs/uploads/not-a-uuid', UploadNotFoundError],
    ['upload id dot-dot', '/v2/a/blobs/uploads/..', UploadNotFoundError],
    ['upper-case upload id', `/v2/a/blobs/uploads/${uploadId.toUpperCase()}`, UploadNotFoundError],
    ['other API version', '/v1/_catalog', RouteNotFoundError],
    ['no /v2 prefix', '/a/tags/list', RouteNotFoundError],
    ['name only', '/v2/a', RouteNotFoundError],
    ['name with trailing slash', '/v2/a/', RouteNotFoundError],
    ['unknown tail', '/v2/a/foo/bar', RouteNotFoundError],
    ['tags without list', '/v2/a/tags/all', RouteNotFoundError],
    ['manifests without name', '/v2/manifests/latest', RouteNotFoundError],
    ['blob with trailing slash', `/v2/a/blobs/${sha256Digest}/`, RouteNotFoundError],
    ['upload with trailing slash', `/v2/a/blobs/uploads/${uploadId}/`, RouteNotFoundError],
    ['catalog with trailing slash', '/v2/_catalog/', RouteNotFoundError],
  ];

  for (const [label, path, expected] of invalidPaths) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseOciPath(path), expected);
    });
  }
});
