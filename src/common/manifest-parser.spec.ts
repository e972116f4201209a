import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Digest } from './digest.js';
import { ManifestInvalidError } from './domain-errors.js';
import { parseManifest } from './manifest-parser.js';
import { mediaTypes } from './media-types.js';

const ociConfigType = 'application/vnd.oci.image.config.v1+json';
const ociLayerType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const dockerConfigType = 'application/vnd.docker.container.image.v1+json';
const dockerLayerType = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const foreignLayerType = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const emptyType = 'application/vnd.oci.empty.v1+json';
const sbomType = 'application/spdx+json';

function digestOf(text: string): string {
  return Digest.of(Buffer.from(text)).toString();
}

const configDigest = digestOf('config');
const layerDigest = digestOf('layer');
const secondLayerDigest = digestOf('layer 2');
const childDigest = digestOf('child');
const subjectDigest = digestOf('subject');
const emptyDigest = digestOf('{}');

function descriptor(mediaType: string, digest: string, size = 10): Record<string, unknown> {
  return { mediaType, digest, size };
}

function ociManifest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: descriptor(ociConfigType, configDigest),
    layers: [descriptor(ociLayerType, layerDigest), descriptor(ociLayerType, secondLayerDigest)],
    ...extra,
  };
}

function ociIndex(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: [descriptor(mediaTypes.ociManifest, childDigest)],
    ...extra,
  };
}

function bytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

describe('parseManifest OCI manifest', () => {
  const parsed = parseManifest(bytes(ociManifest()), mediaTypes.ociManifest);

  it('media type', () => {
    assert.equal(parsed.mediaType, mediaTypes.ociManifest);
  });

  it('references config then layers', () => {
    assert.deepEqual(parsed.references, [
      { kind: 'config', digest: configDigest, size: 10 },
      { kind: 'layer', digest: layerDigest, size: 10 },
      { kind: 'layer', digest: secondLayerDigest, size: 10 },
    ]);
  });

  it('artifactType falls back to config mediaType', () => {
    assert.equal(parsed.artifactType, ociConfigType);
  });

  it('no subject', () => {
    assert.equal(parsed.subject, null);
  });

  it('no annotations', () => {
    assert.equal(parsed.annotations, null);
  });

  it('media type from body alone', () => {
    assert.equal(parseManifest(bytes(ociManifest()), undefined).mediaType, mediaTypes.ociManifest);
  });

  it('media type from header alone', () => {
    const body = ociManifest();

    delete body.mediaType;

    assert.equal(parseManifest(bytes(body), mediaTypes.ociManifest).mediaType, mediaTypes.ociManifest);
  });

  it('Content-Type parameters ignored', () => {
    const contentType = `${mediaTypes.ociManifest}; charset=utf-8`;

    assert.equal(parseManifest(bytes(ociManifest()), contentType).mediaType, mediaTypes.ociManifest);
  });

  it('Content-Type case ignored', () => {
    const contentType = mediaTypes.ociManifest.toUpperCase();

    assert.equal(parseManifest(bytes(ociManifest()), contentType).mediaType, mediaTypes.ociManifest);
  });

  it('empty Content-Type uses body', () => {
    assert.equal(parseManifest(bytes(ociManifest()), '').mediaType, mediaTypes.ociManifest);
  });

  it('no layers', () => {
    const parsed = parseManifest(bytes(ociManifest({ layers: [] })), mediaTypes.ociManifest);

    assert.deepEqual(parsed.references, [{ kind: 'config', digest: configDigest, size: 10 }]);
  });

  it('sha512 descriptor digest', () => {
    const sha512 = Digest.of(Buffer.from('layer'), 'sha512').toString();
    const body = ociManifest({ layers: [descriptor(ociLayerType, sha512)] });

    assert.deepEqual(parseManifest(bytes(body), undefined).references[1], {
      kind: 'layer',
      digest: sha512,
      size: 10,
    });
  });

  it('manifest annotations returned', () => {
    const annotations = { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' };
    const parsed = parseManifest(bytes(ociManifest({ annotations })), undefined);

    assert.deepEqual(parsed.annotations, annotations);
  });

  it('descriptor annotations accepted', () => {
    const layer = { ...descriptor(ociLayerType, layerDigest), annotations: { title: 'a.tar' } };
    const parsed = parseManifest(bytes(ociManifest({ layers: [layer] })), undefined);

    assert.equal(parsed.references.length, 2);
  });
});

describe('parseManifest OCI index', () => {
  const parsed = parseManifest(bytes(ociIndex()), mediaTypes.ociIndex);

  it('media type', () => {
    assert.equal(parsed.mediaType, mediaTypes.ociIndex);
  });

  it('references children', () => {
    assert.deepEqual(parsed.references, [{ kind: 'child', digest: childDigest, size: 10 }]);
  });

  it('no artifactType', () => {
    assert.equal(parsed.artifactType, null);
  });

  it('artifactType returned', () => {
    const parsed = parseManifest(bytes(ociIndex({ artifactType: sbomType })), undefined);

    assert.equal(parsed.artifactType, sbomType);
  });

  it('empty manifests list', () => {
    assert.deepEqual(parseManifest(bytes(ociIndex({ manifests: [] })), undefined).references, []);
  });

  it('media type from header alone', () => {
    const body = ociIndex();

    delete body.mediaType;

    assert.equal(parseManifest(bytes(body), mediaTypes.ociIndex).mediaType, mediaTypes.ociIndex);
  });
});

describe('parseManifest Docker', () => {
  const dockerManifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.dockerManifest,
    config: descriptor(dockerConfigType, configDigest),
    layers: [descriptor(dockerLayerType, layerDigest)],
  };
  const dockerList = {
    schemaVersion: 2,
    mediaType: mediaTypes.dockerManifestList,
    manifests: [descriptor(mediaTypes.dockerManifest, childDigest)],
  };

  it('v2 manifest media type', () => {
    assert.equal(
      parseManifest(bytes(dockerManifest), mediaTypes.dockerManifest).mediaType,
      mediaTypes.dockerManifest,
    );
  });

  it('v2 manifest references', () => {
    assert.deepEqual(parseManifest(bytes(dockerManifest), mediaTypes.dockerManifest).references, [
      { kind: 'config', digest: configDigest, size: 10 },
      { kind: 'layer', digest: layerDigest, size: 10 },
    ]);
  });

  it('v2 manifest artifactType is config type', () => {
    assert.equal(parseManifest(bytes(dockerManifest), undefined).artifactType, dockerConfigType);
  });

  it('manifest list media type', () => {
    assert.equal(parseManifest(bytes(dockerList), undefined).mediaType, mediaTypes.dockerManifestList);
  });

  it('manifest list references', () => {
    assert.deepEqual(parseManifest(bytes(dockerList), mediaTypes.dockerManifestList).references, [
      { kind: 'child', digest: childDigest, size: 10 },
    ]);
  });

  it('v2 manifest without mediaType rejected', () => {
    const body = { ...dockerManifest, mediaType: undefined };

    assert.throws(() => parseManifest(bytes(body), mediaTypes.dockerManifest), ManifestInvalidError);
  });

  it('manifest list without mediaType rejected', () => {
    const body = { ...dockerList, mediaType: undefined };

    assert.throws(() => parseManifest(bytes(body), mediaTypes.dockerManifestList), ManifestInvalidError);
  });

  it('layers with urls not referenced', () => {
    const foreign = {
      ...descriptor(foreignLayerType, secondLayerDigest),
      urls: ['https://example.com/layer'],
    };
    const body = { ...dockerManifest, layers: [foreign, descriptor(dockerLayerType, layerDigest)] };

    assert.deepEqual(parseManifest(bytes(body), undefined).references, [
      { kind: 'config', digest: configDigest, size: 10 },
      { kind: 'layer', digest: layerDigest, size: 10 },
    ]);
  });

  it('layers with empty urls referenced', () => {
    const layer = { ...descriptor(dockerLayerType, layerDigest), urls: [] };
    const body = { ...dockerManifest, layers: [layer] };

    assert.deepEqual(parseManifest(bytes(body), undefined).references, [
      { kind: 'config', digest: configDigest, size: 10 },
      { kind: 'layer', digest: layerDigest, size: 10 },
    ]);
  });
});

describe('parseManifest artifacts', () => {
  it('artifactType returned', () => {
    const body = ociManifest({
      artifactType: sbomType,
      config: descriptor(emptyType, emptyDigest, 2),
      layers: [descriptor(sbomType, layerDigest)],
    });

    assert.equal(parseManifest(bytes(body), undefined).artifactType, sbomType);
  });

  it('artifactType wins over config', () => {
    const body = ociManifest({ artifactType: sbomType });

    assert.equal(parseManifest(bytes(body), undefined).artifactType, sbomType);
  });

  it('config mediaType fallback', () => {
    const body = ociManifest({ config: descriptor('application/vnd.example.config+json', configDigest) });

    assert.equal(parseManifest(bytes(body), undefined).artifactType, 'application/vnd.example.config+json');
  });

  it('subject returned', () => {
    const subject = descriptor(mediaTypes.ociManifest, subjectDigest, 500);
    const parsed = parseManifest(bytes(ociManifest({ subject })), undefined);

    assert.deepEqual(parsed.subject, { ...subject, urls: undefined });
  });

  it('subject on index returned', () => {
    const subject = descriptor(mediaTypes.ociManifest, subjectDigest, 500);
    const parsed = parseManifest(bytes(ociIndex({ subject })), undefined);

    assert.equal(parsed.subject?.digest, subjectDigest);
  });

  it('subject not a reference', () => {
    const subject = descriptor(mediaTypes.ociManifest, subjectDigest, 500);
    const parsed = parseManifest(bytes(ociManifest({ subject })), undefined);

    assert.ok(!parsed.references.some((reference) => reference.digest === subjectDigest));
  });
});

describe('parseManifest errors', () => {
  const rejected: [label: string, body: Buffer, contentType: string | undefined][] = [
    ['not JSON', Buffer.from('{"schemaVersion": 2,'), mediaTypes.ociManifest],
    ['empty body', Buffer.alloc(0), mediaTypes.ociManifest],
    ['JSON array', bytes([ociManifest()]), mediaTypes.ociManifest],
    ['JSON string', bytes('manifest'), mediaTypes.ociManifest],
    ['JSON null', bytes(null), mediaTypes.ociManifest],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), mediaTypes.ociManifest],
    ['schemaVersion 1', bytes(ociManifest({ schemaVersion: 1 })), mediaTypes.ociManifest],
    ['schemaVersion as string', bytes(ociManifest({ schemaVersion: '2' })), mediaTypes.ociManifest],
    ['missing schemaVersion', bytes(ociManifest({ schemaVersion: undefined })), mediaTypes.ociManifest],
    ['unknown Content-Type', bytes(ociManifest()), 'application/json'],
    [
      'Docker schema 1 Content-Type',
      bytes(ociManifest({ mediaType: undefined })),
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    ],
    ['unknown body mediaType', bytes(ociManifest({ mediaType: 'application/json' })), undefined],
    ['no media type anywhere', bytes(ociManifest({ mediaType: undefined })), undefined],
    ['mediaType not a string', bytes(ociManifest({ mediaType: 7 })), undefined],
    ['mismatched mediaType', bytes(ociManifest()), mediaTypes.ociIndex],
    ['manifest sent as Docker', bytes(ociManifest()), mediaTypes.dockerManifest],
    ['missing config', bytes(ociManifest({ config: undefined })), undefined],
    ['config not an object', bytes(ociManifest({ config: 'config' })), undefined],
    ['config as array', bytes(ociManifest({ config: [descriptor(ociConfigType, configDigest)] })), undefined],
    ['missing layers', bytes(ociManifest({ layers: undefined })), undefined],
    ['layers not an array', bytes(ociManifest({ layers: descriptor(ociLayerType, layerDigest) })), undefined],
    ['layer not an object', bytes(ociManifest({ layers: [layerDigest] })), undefined],
    ['missing manifests', bytes(ociIndex({ manifests: undefined })), undefined],
    ['manifests not an array', bytes(ociIndex({ manifests: {} })), undefined],
    ['artifactType not a string', bytes(ociManifest({ artifactType: 1 })), undefined],
  ];

  for (const [label, body, contentType] of rejected) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parseManifest(body, contentType), ManifestInvalidError);
    });
  }

  const badDescriptors: [label: string, value: Record<string, unknown>][] = [
    ['missing mediaType', { digest: layerDigest, size: 1 }],
    ['empty mediaType', { mediaType: '', digest: layerDigest, size: 1 }],
    ['missing digest', { mediaType: ociLayerType, size: 1 }],
    ['short digest', { mediaType: ociLayerType, digest: 'sha256:abc', size: 1 }],
    ['upper-case digest', { mediaType: ociLayerType, digest: layerDigest.toUpperCase(), size: 1 }],
    ['unknown digest algorithm', { mediaType: ociLayerType, digest: `md5:${'0'.repeat(32)}`, size: 1 }],
    ['digest not a string', { mediaType: ociLayerType, digest: 1, size: 1 }],
    ['missing size', { mediaType: ociLayerType, digest: layerDigest }],
    ['negative size', { mediaType: ociLayerType, digest: layerDigest, size: -1 }],
    ['fractional size', { mediaType: ociLayerType, digest: layerDigest, size: 1.5 }],
    ['size as string', { mediaType: ociLayerType, digest: layerDigest, size: '1' }],
    ['unsafe integer size', { mediaType: ociLayerType, digest: layerDigest, size: 2 ** 53 }],
    [
      'urls not an array',
      { mediaType: ociLayerType, digest: layerDigest, size: 1, urls: 'https://example.com' },
    ],
    ['urls with a number', { mediaType: ociLayerType, digest: layerDigest, size: 1, urls: [1] }],
    ['annotations not a map', { mediaType: ociLayerType, digest: layerDigest, size: 1, annotations: ['a'] }],
    [
      'annotation value number',
      { mediaType: ociLayerType, digest: layerDigest, size: 1, annotations: { a: 1 } },
    ],
  ];

  for (const [label, value] of badDescriptors) {
    it(`layer ${label} rejected`, () => {
      assert.throws(
        () => parseManifest(bytes(ociManifest({ layers: [value] })), undefined),
        ManifestInvalidError,
      );
    });

    it(`config ${label} rejected`, () => {
      assert.throws(
        () => parseManifest(bytes(ociManifest({ config: value })), undefined),
        ManifestInvalidError,
      );
    });

    it(`index child ${label} rejected`, () => {
      assert.throws(
        () => parseManifest(bytes(ociIndex({ manifests: [value] })), undefined),
        ManifestInvalidError,
      );
    });

    it(`subject ${label} rejected`, () => {
      assert.throws(
        () => parseManifest(bytes(ociManifest({ subject: value })), undefined),
        ManifestInvalidError,
      );
    });
  }

  const badAnnotations: [label: string, annotations: unknown][] = [
    ['array', ['a', 'b']],
    ['string', 'a=b'],
    ['null', null],
    ['number value', { a: 1 }],
    ['boolean value', { a: true }],
    ['nested object value', { a: { b: 'c' } }],
    ['null value', { a: null }],
  ];

  for (const [label, annotations] of badAnnotations) {
    it(`manifest annotations ${label} rejected`, () => {
      assert.throws(
        () => parseManifest(bytes(ociManifest({ annotations })), undefined),
        ManifestInvalidError,
      );
    });

    it(`index annotations ${label} rejected`, () => {
      assert.throws(() => parseManifest(bytes(ociIndex({ annotations })), undefined), ManifestInvalidError);
    });
  }

  it('error names the field', () => {
    const body = ociManifest({
      layers: [descriptor(ociLayerType, layerDigest), { mediaType: ociLayerType, size: 1 }],
    });

    assert.throws(() => parseManifest(bytes(body), undefined), /layers\[1\]\.digest/);
  });
});
