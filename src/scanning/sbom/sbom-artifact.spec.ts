import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { cycloneDxValidator, spdxValidator } from '../../../test/support/sbom-schemas.js';
import { parseManifest } from '../../common/manifest-parser.js';
import { mediaTypes } from '../../common/media-types.js';
import { findPackage } from '../../common/package-info.js';
import type { ImageInventory, ImagePackage } from '../inventory/inventory.js';
import { parseOsRelease } from '../inventory/os-collectors.js';
import { parseDpkgStatus, purlOf } from '../inventory/package-databases.js';
import { languagePurl } from '../inventory/purl.js';
import { cycloneDxDocument } from './cyclonedx.js';
import {
  type ContentDescriptor,
  emptyConfigMediaType,
  type ImageDescription,
  sbomArtifact,
  sbomArtifactTypes,
  sha256Digest,
} from './sbom-artifact.js';
import { spdxDocument, spdxExpression } from './spdx.js';

const root = findPackage(import.meta.url).root;

/** Reads the licenses a package.json declares: `license` as a string or `{ type }`, or `licenses: [{ type }]`. */
function manifestLicenses(manifest: Record<string, unknown>): string[] | undefined {
  const { license, licenses } = manifest as { license?: unknown; licenses?: unknown };

  if (typeof license === 'string') {
    return [license];
  }

  if (
    typeof license === 'object' &&
    license !== null &&
    'type' in license &&
    typeof license.type === 'string'
  ) {
    return [license.type];
  }

  if (Array.isArray(licenses)) {
    return licenses.flatMap((entry: { type?: unknown }) =>
      typeof entry.type === 'string' ? [entry.type] : [],
    );
  }

  return undefined;
}

/** Lists the packages installed in a node_modules folder, scoped ones included, as an image holding it would. */
function npmPackages(directory: string, layer: string): ImagePackage[] {
  const names = readdirSync(directory)
    .filter((entry) => !entry.startsWith('.'))
    .flatMap((entry) =>
      entry.startsWith('@') ? readdirSync(join(directory, entry)).map((name) => `${entry}/${name}`) : [entry],
    )
    .sort();

  return names.flatMap((name): ImagePackage[] => {
    const path = join(directory, name, 'package.json');

    if (!existsSync(path)) {
      return [];
    }

    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const version = typeof manifest['version'] === 'string' ? manifest['version'] : '0.0.0';
    const licenses = manifestLicenses(manifest);

    return [
      {
        type: 'npm',
        name,
        version,
        ecosystem: 'npm',
        purl: languagePurl('npm', name, version),
        ...(licenses === undefined ? {} : { licenses }),
        location: `/app/node_modules/${name}/package.json`,
        layer,
      },
    ];
  });
}

/**
 * Takes the inventory of an image made of two layers: this machine's Debian system (its os-release
 * and dpkg status) and an application layer with Wharf's own node_modules.
 */
function realisticInventory(layers: [string, string]): ImageInventory {
  const os = parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
  const { packages: installed, warnings } = parseDpkgStatus(
    readFileSync('/var/lib/dpkg/status', 'utf8'),
    'status',
  );
  const distro = os.versionId === null ? os.id : `${os.id}-${os.versionId}`;
  const dpkg = installed.map((entry): ImagePackage => ({
    type: 'dpkg',
    name: entry.name,
    version: entry.version,
    ecosystem: os.versionId === null ? null : `Debian:${os.versionId}`,
    sourceName: entry.sourceName,
    sourceVersion: entry.sourceVersion,
    ...(entry.architecture === null ? {} : { architecture: entry.architecture }),
    purl: purlOf(entry, os.id, distro),
    location: '/var/lib/dpkg/status',
    layer: layers[0],
  }));

  return {
    os,
    packages: [...dpkg, ...npmPackages(join(root, 'node_modules'), layers[1])],
    warnings: warnings.map((reason) => ({ layer: layers[0], path: '/var/lib/dpkg/status', reason })),
  };
}

/** Builds the image manifest the inventory belongs to, so the subject's digest and size are those of real bytes. */
function imageManifest(layers: [string, string]): ContentDescriptor {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }),
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: layers.map((digest) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest,
        size: 1024,
      })),
    }),
  );

  return { mediaType: mediaTypes.ociManifest, digest: sha256Digest(bytes), size: bytes.length };
}

const layers: [string, string] = [
  sha256Digest(Buffer.from('debian layer')),
  sha256Digest(Buffer.from('app layer')),
];
const subject = imageManifest(layers);
const inventory = realisticInventory(layers);
const image: ImageDescription = {
  repository: 'library/wharf-test',
  digest: subject.digest,
  mediaType: subject.mediaType,
  platform: { os: 'linux', architecture: 'amd64' },
  registryHost: '127.0.0.1:5000',
  toolVersion: findPackage(import.meta.url).version,
};
const created = new Date('2024-05-06T07:08:09Z');

describe('SBOMs of a realistic image', () => {
  it('take the packages of this machine and node_modules', () => {
    const types = inventory.packages.map((entry) => entry.type);

    assert.ok(types.filter((type) => type === 'dpkg').length > 50, 'dpkg packages');
    assert.ok(types.filter((type) => type === 'npm').length > 100, 'npm packages');
    assert.equal(inventory.os?.id, 'debian');
  });

  it('validate as SPDX 2.3', () => {
    const validate = spdxValidator();
    const document = spdxDocument(image, inventory, created);

    assert.ok(validate(document), JSON.stringify(validate.errors?.slice(0, 10), null, 2));
    assert.equal(document.packages.length, inventory.packages.length + 2);
  });

  it('hold consistent SPDX ids and valid licenses', () => {
    const document = spdxDocument(image, inventory, created);
    const ids = new Set(document.packages.map((entry) => entry.SPDXID));
    const declared = document.packages.flatMap((entry) =>
      entry.licenseDeclared === 'NOASSERTION' ? [] : [entry.licenseDeclared],
    );

    assert.equal(ids.size, document.packages.length);

    for (const relationship of document.relationships) {
      assert.ok(ids.has(relationship.relatedSpdxElement), relationship.relatedSpdxElement);
      assert.ok(relationship.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(relationship.spdxElementId));
    }

    // Most npm packages declare a license by SPDX identifier, so most of them must come through.
    assert.ok(declared.length > 100, `${declared.length} packages declare a license`);

    for (const expression of declared) {
      assert.equal(spdxExpression(expression), expression);
    }
  });

  it('validate as CycloneDX 1.5', () => {
    const validate = cycloneDxValidator();
    const document = cycloneDxDocument(image, inventory, created);
    const refs = document.components.map((component) => component['bom-ref']);

    assert.ok(validate(document), JSON.stringify(validate.errors?.slice(0, 10), null, 2));
    assert.equal(document.components.length, inventory.packages.length + 1);
    assert.equal(new Set(refs).size, refs.length);
  });
});

describe(sbomArtifact.name, () => {
  const documents = {
    spdx: spdxDocument(image, inventory, created),
    cyclonedx: cycloneDxDocument(image, inventory, created),
  };

  for (const format of ['spdx', 'cyclonedx'] as const) {
    it(`packs ${format} as a referrer of the image`, () => {
      const { manifest, blobs } = sbomArtifact(format, documents[format], subject);
      const parsed = parseManifest(manifest, mediaTypes.ociManifest);
      const body = JSON.parse(manifest.toString('utf8')) as Record<string, unknown>;

      assert.equal(parsed.artifactType, sbomArtifactTypes[format]);
      assert.deepEqual(
        { mediaType: parsed.subject?.mediaType, digest: parsed.subject?.digest, size: parsed.subject?.size },
        subject,
      );
      assert.deepEqual(parsed.annotations, { 'org.opencontainers.image.created': '2024-05-06T07:08:09Z' });
      assert.equal(body['mediaType'], mediaTypes.ociManifest);
      assert.deepEqual(body['config'], {
        mediaType: emptyConfigMediaType,
        // The digest of `{}` that the image specification gives for the empty descriptor.
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
        data: 'e30=',
      });
      assert.deepEqual(
        parsed.references.map((reference) => reference.digest).sort(),
        blobs.map((blob) => blob.digest).sort(),
      );
    });

    it(`stores the ${format} document as its one layer`, () => {
      const { manifest, blobs } = sbomArtifact(format, documents[format], subject);
      const body = JSON.parse(manifest.toString('utf8')) as {
        layers: { mediaType: string; digest: string; size: number }[];
      };
      const layer = blobs.find((blob) => blob.digest === body.layers[0].digest);

      assert.equal(body.layers.length, 1);
      assert.equal(body.layers[0].mediaType, sbomArtifactTypes[format]);
      assert.ok(layer, 'the layer is among the blobs');
      assert.equal(layer.mediaType, sbomArtifactTypes[format]);
      assert.equal(body.layers[0].size, layer.bytes.length);
      assert.deepEqual(JSON.parse(layer.bytes.toString('utf8')), documents[format]);

      for (const blob of blobs) {
        assert.equal(blob.digest, sha256Digest(blob.bytes), blob.mediaType);
      }
    });
  }

  it('rejects a subject that is not a digest', () => {
    assert.throws(
      () => sbomArtifact('spdx', documents.spdx, { ...subject, digest: 'latest' }),
      /the subject digest "latest" is not a valid digest/,
    );
  });
});
