import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ManifestInvalidError } from '../common/domain-errors.js';
import { mediaTypes } from '../common/media-types.js';
import {
  distinctBlobBytes,
  platformOfConfig,
  platformText,
  readImageConfig,
  readManifestDocument,
} from './image-inspector.js';

const digest = (character: string) => `sha256:${character.repeat(64)}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('readManifestDocument', () => {
  it('reads an image manifest', () => {
    const document = readManifestDocument(
      json({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: 'application/spdx+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digest('a'), size: 2 },
        layers: [
          { mediaType: 'application/spdx+json', digest: digest('b'), size: 10, annotations: { k: 'v' } },
        ],
        subject: { mediaType: mediaTypes.ociManifest, digest: digest('c'), size: 500 },
        annotations: { 'org.example': 'x', ignored: 1 },
      }),
      mediaTypes.ociManifest,
    );

    assert.equal(document.kind, 'image');
    assert.equal(document.artifactType, 'application/spdx+json');
    assert.deepEqual(document.annotations, { 'org.example': 'x' });
    assert.equal(document.subject?.digest, digest('c'));
    assert.deepEqual(document.layers, [
      { mediaType: 'application/spdx+json', digest: digest('b'), size: 10, annotations: { k: 'v' } },
    ]);
  });

  it('reads index platforms', () => {
    const document = readManifestDocument(
      json({
        schemaVersion: 2,
        mediaType: mediaTypes.ociIndex,
        manifests: [
          {
            mediaType: mediaTypes.ociManifest,
            digest: digest('d'),
            size: 400,
            platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2340' },
          },
          { mediaType: mediaTypes.ociManifest, digest: digest('e'), size: 300 },
        ],
      }),
      mediaTypes.ociIndex,
    );

    assert.equal(document.kind, 'index');
    assert.deepEqual(
      document.manifests.map((child) => child.platform),
      [{ os: 'windows', architecture: 'amd64', osVersion: '10.0.20348.2340' }, undefined],
    );
  });

  it('rejects bytes that are not a manifest', () => {
    assert.throws(
      () => readManifestDocument(Buffer.from('not json'), mediaTypes.ociManifest),
      ManifestInvalidError,
    );
    assert.throws(
      () => readManifestDocument(json({ layers: [] }), mediaTypes.ociManifest),
      ManifestInvalidError,
    );
    assert.throws(
      () => readManifestDocument(json({ manifests: [1] }), mediaTypes.ociIndex),
      ManifestInvalidError,
    );
  });
});

describe('readImageConfig', () => {
  it('reads platform, runtime settings and history', () => {
    const config = readImageConfig(
      json({
        created: '2026-01-01T00:00:00Z',
        architecture: 'arm',
        variant: 'v7',
        os: 'linux',
        config: {
          Env: ['PATH=/bin'],
          Cmd: ['/bin/sh'],
          Labels: { maintainer: 'ops' },
          ExposedPorts: { '8080/tcp': {} },
          WorkingDir: '/app',
        },
        history: [
          { created: '2026-01-01T00:00:00Z', created_by: 'ADD rootfs.tar /' },
          { created_by: 'ENV PATH=/bin', empty_layer: true },
          'not an entry',
        ],
      }),
    );

    assert.ok(config);
    assert.equal(platformText(platformOfConfig(config) ?? { os: '', architecture: '' }), 'linux/arm/v7');
    assert.deepEqual(config.env, ['PATH=/bin']);
    assert.deepEqual(config.cmd, ['/bin/sh']);
    assert.equal(config.entrypoint, null);
    assert.deepEqual(config.labels, { maintainer: 'ops' });
    assert.deepEqual(config.exposedPorts, ['8080/tcp']);
    assert.equal(config.workingDir, '/app');
    assert.deepEqual(config.history, [
      {
        created: '2026-01-01T00:00:00Z',
        createdBy: 'ADD rootfs.tar /',
        comment: null,
        author: null,
        emptyLayer: false,
      },
      { created: null, createdBy: 'ENV PATH=/bin', comment: null, author: null, emptyLayer: true },
    ]);
  });

  it('returns undefined for bytes that are not JSON', () => {
    assert.equal(readImageConfig(Buffer.from('{')), undefined);
  });

  it('has no platform without os', () => {
    const config = readImageConfig(json({ architecture: 'amd64' }));

    assert.ok(config);
    assert.equal(platformOfConfig(config), undefined);
  });
});

describe('distinctBlobBytes', () => {
  it('counts shared blobs once', () => {
    const shared = { mediaType: 'layer', digest: digest('1'), size: 100 };
    const images = [
      { config: { mediaType: 'config', digest: digest('2'), size: 10 }, layers: [shared] },
      { config: { mediaType: 'config', digest: digest('3'), size: 20 }, layers: [shared] },
    ];

    assert.equal(distinctBlobBytes(images), 130);
  });
});
