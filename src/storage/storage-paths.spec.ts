import assert from 'node:assert/strict';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';

import { Digest } from '../common/digest.js';
import { isUploadId, StoragePaths } from './storage-paths.js';

const root = join(sep, 'srv', 'wharf');
const sha256Hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha512Hex =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce' +
  '47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const uploadId = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

/** True when `path` is `root` itself or below it. */
function isInside(path: string): boolean {
  const rest = relative(root, path);

  return !rest.startsWith('..') && !isAbsolute(rest);
}

describe('StoragePaths', () => {
  const paths = new StoragePaths(root);

  it('blobs directory under root', () => {
    assert.equal(paths.blobsDirectory, join(root, 'blobs'));
  });

  it('uploads directory under root', () => {
    assert.equal(paths.uploadsDirectory, join(root, 'uploads'));
  });

  it('sha256 blob path', () => {
    const digest = Digest.parse(`sha256:${sha256Hex}`);

    assert.equal(paths.blob(digest), join(root, 'blobs', 'sha256', 'e3', sha256Hex));
  });

  it('sha512 blob path', () => {
    const digest = Digest.parse(`sha512:${sha512Hex}`);

    assert.equal(paths.blob(digest), join(root, 'blobs', 'sha512', 'cf', sha512Hex));
  });

  it('upload directory path', () => {
    assert.equal(paths.uploadDirectory(uploadId), join(root, 'uploads', uploadId));
  });

  it('upload data path', () => {
    assert.equal(paths.uploadData(uploadId), join(root, 'uploads', uploadId, 'data'));
  });

  it('readiness probe in uploads', () => {
    assert.equal(paths.readinessProbe, join(root, 'uploads', '.readiness-probe'));
  });

  it('readiness probe is not an upload id', () => {
    assert.equal(isUploadId(basename(paths.readinessProbe)), false);
  });

  it('relative root stays relative', () => {
    const relativePaths = new StoragePaths('data');

    assert.equal(relativePaths.uploadData(uploadId), join('data', 'uploads', uploadId, 'data'));
  });

  it('every path stays inside root', () => {
    const digest = Digest.parse(`sha256:${sha256Hex}`);
    const all = [
      paths.blobsDirectory,
      paths.uploadsDirectory,
      paths.blob(digest),
      paths.uploadDirectory(uploadId),
      paths.uploadData(uploadId),
      paths.readinessProbe,
    ];

    for (const path of all) {
      assert.ok(isInside(path), `${path} is outside ${root}`);
    }
  });

  const badUploadIds: [label: string, uploadId: string][] = [
    ['empty id', ''],
    ['dot-dot', '..'],
    ['parent path', '../blobs'],
    ['nested path', `${uploadId}/../../blobs`],
    ['absolute path', '/etc'],
    ['upper-case UUID', uploadId.toUpperCase()],
    ['UUID without dashes', uploadId.replaceAll('-', '')],
    ['UUID in braces', `{${uploadId}}`],
    ['UUID with suffix', `${uploadId}x`],
    ['plain word', 'upload'],
  ];

  for (const [label, badId] of badUploadIds) {
    it(`upload directory rejects ${label}`, () => {
      assert.throws(() => paths.uploadDirectory(badId), /upload id is not a UUID/);
    });

    it(`upload data rejects ${label}`, () => {
      assert.throws(() => paths.uploadData(badId), /upload id is not a UUID/);
    });
  }
});

describe('isUploadId', () => {
  it('accepts lower-case UUID', () => {
    assert.equal(isUploadId(uploadId), true);
  });

  it('rejects upper-case UUID', () => {
    assert.equal(isUploadId(uploadId.toUpperCase()), false);
  });

  it('rejects path segment', () => {
    assert.equal(isUploadId('..'), false);
  });
});
