import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readSchema, spdxValidator } from '../../../test/support/sbom-schemas.js';
import type { ImageInventory, ImagePackage } from '../inventory/inventory.js';
import { purlOf } from '../inventory/package-databases.js';
import { languagePurl } from '../inventory/purl.js';
import { type ImageDescription, imagePurl, sha256Digest } from './sbom-artifact.js';
import { knownExceptionIds, knownLicenseIds, spdxDocument, spdxExpression } from './spdx.js';

const layer = sha256Digest(Buffer.from('first layer'));

const image: ImageDescription = {
  repository: 'team/app',
  digest: sha256Digest(Buffer.from('{"schemaVersion":2}')),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  registryHost: '127.0.0.1:5000',
  toolVersion: '0.1.0',
};

/** Returns an npm package found in `location`, with the licenses its package.json declares. */
function npmPackage(
  name: string,
  version: string,
  licenses: string[] | undefined,
  location: string,
): ImagePackage {
  return {
    type: 'npm',
    name,
    version,
    ecosystem: 'npm',
    purl: languagePurl('npm', name, version),
    ...(licenses === undefined ? {} : { licenses }),
    location,
    layer,
  };
}

const libssl: ImagePackage = {
  type: 'dpkg',
  name: 'libssl3',
  version: '3.0.15-1~deb12u1+b1',
  ecosystem: 'Debian:12',
  sourceName: 'openssl',
  sourceVersion: '3.0.15-1~deb12u1',
  architecture: 'arm64',
  purl: purlOf(
    {
      type: 'dpkg',
      name: 'libssl3',
      version: '3.0.15-1~deb12u1+b1',
      sourceName: 'openssl',
      sourceVersion: '3.0.15-1~deb12u1',
      architecture: 'arm64',
    },
    'debian',
    'debian-12',
  ),
  location: '/var/lib/dpkg/status',
  layer,
};

/** A small inventory with the cases that need care: odd names, license forms, a package found twice. */
const inventory: ImageInventory = {
  os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  packages: [
    libssl,
    npmPackage('@babel/core', '7.24.0', ['MIT'], '/app/node_modules/@babel/core/package.json'),
    npmPackage('type-fest', '0.21.3', ['(MIT OR CC0-1.0)'], '/app/node_modules/type-fest/package.json'),
    npmPackage('dual', '1.0.0', ['MIT', 'Apache-2.0'], '/app/node_modules/dual/package.json'),
    npmPackage('private', '1.0.0', ['SEE LICENSE IN LICENSE.md'], '/app/node_modules/private/package.json'),
    npmPackage('lodash', '4.17.21', ['MIT'], '/app/node_modules/lodash/package.json'),
    npmPackage('lodash', '4.17.21', ['MIT'], '/app/node_modules/nested/node_modules/lodash/package.json'),
    {
      type: 'golang',
      name: 'github.com/docker/docker',
      version: 'v24.0.7+incompatible',
      ecosystem: 'Go',
      purl: languagePurl('golang', 'github.com/docker/docker', 'v24.0.7+incompatible'),
      location: '/usr/local/bin/tool',
      layer,
    },
  ],
  warnings: [
    { layer, path: '/usr/lib/python3/dist-packages/broken.dist-info/METADATA', reason: 'not UTF-8' },
  ],
};

const created = new Date('2024-05-06T07:08:09.123Z');

describe(spdxDocument.name, () => {
  it('validates against the SPDX 2.3 schema', () => {
    const validate = spdxValidator();
    const document = spdxDocument(image, inventory, created);

    assert.ok(validate(document), JSON.stringify(validate.errors, null, 2));
  });

  it('describes the image, which contains every package', () => {
    const document = spdxDocument(image, inventory, created);
    const [imagePackage, ...contained] = document.packages;

    assert.equal(document.spdxVersion, 'SPDX-2.3');
    assert.equal(document.dataLicense, 'CC0-1.0');
    assert.equal(imagePackage.name, 'team/app');
    assert.equal(imagePackage.versionInfo, image.digest);
    assert.equal(imagePackage.primaryPackagePurpose, 'CONTAINER');
    assert.deepEqual(imagePackage.checksums, [{ algorithm: 'SHA256', checksumValue: image.digest.slice(7) }]);
    assert.deepEqual(imagePackage.externalRefs?.[0]?.referenceLocator, imagePurl(image));
    assert.equal(imagePackage.comment, 'Platform: linux/arm64/v8');
    assert.equal(contained.length, inventory.packages.length + 1);
    assert.deepEqual(document.relationships, [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: imagePackage.SPDXID,
      },
      ...contained.map((entry) => ({
        spdxElementId: imagePackage.SPDXID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: entry.SPDXID,
      })),
    ]);
  });

  it('gives every element a unique valid id', () => {
    const ids = spdxDocument(image, inventory, created).packages.map((entry) => entry.SPDXID);

    assert.equal(new Set(ids).size, ids.length);

    for (const id of ids) {
      assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
    }

    assert.ok(ids.includes('SPDXRef-Package--babel-core-7.24.0-1'), ids.join(' '));
    assert.ok(ids.includes('SPDXRef-Package-github.com-docker-docker-v24.0.7-incompatible-7'), ids.join(' '));
  });

  it('declares only valid license expressions', () => {
    const licenses = spdxDocument(image, inventory, created).packages.map((entry) => [
      entry.name,
      entry.licenseDeclared,
      entry.licenseComments,
    ]);

    assert.deepEqual(licenses, [
      ['team/app', 'NOASSERTION', undefined],
      ['debian', 'NOASSERTION', undefined],
      ['libssl3', 'NOASSERTION', undefined],
      ['@babel/core', 'MIT', undefined],
      ['type-fest', '(MIT OR CC0-1.0)', undefined],
      ['dual', 'NOASSERTION', 'The package metadata names: MIT; Apache-2.0'],
      ['private', 'NOASSERTION', 'The package metadata names: SEE LICENSE IN LICENSE.md'],
      ['lodash', 'MIT', undefined],
      ['lodash', 'MIT', undefined],
      ['github.com/docker/docker', 'NOASSERTION', undefined],
    ]);
  });

  it('records the purl, the source package and the location', () => {
    const openssl = spdxDocument(image, inventory, created).packages.find(
      (entry) => entry.name === 'libssl3',
    );

    assert.deepEqual(openssl?.externalRefs, [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: 'pkg:deb/debian/libssl3@3.0.15-1~deb12u1%2Bb1?arch=arm64&distro=debian-12',
      },
    ]);
    assert.equal(openssl?.sourceInfo, 'built from the source package openssl 3.0.15-1~deb12u1');
    assert.equal(openssl?.comment, `Found in /var/lib/dpkg/status (layer ${layer})`);
  });

  it('writes the namespace, creator, time and warnings', () => {
    const document = spdxDocument(image, inventory, created);

    assert.equal(document.documentNamespace, `https://127.0.0.1:5000/spdx/team/app/${image.digest}`);
    assert.equal(new URL(document.documentNamespace).hash, '');
    assert.deepEqual(document.creationInfo, {
      created: '2024-05-06T07:08:09Z',
      creators: ['Tool: wharf-0.1.0'],
    });
    assert.equal(
      document.comment,
      'The inventory reported 1 warning(s), so the package list may be incomplete:\n' +
        `${layer} /usr/lib/python3/dist-packages/broken.dist-info/METADATA not UTF-8`,
    );
  });

  it('omits what an image does not have', () => {
    const document = spdxDocument(
      { ...image, platform: undefined },
      { os: null, packages: [], warnings: [] },
      created,
    );

    assert.equal(document.packages.length, 1);
    assert.equal(document.packages[0].comment, undefined);
    assert.equal(document.comment, undefined);
    assert.equal(document.relationships.length, 1);
  });
});

describe(spdxExpression.name, () => {
  it('accepts expressions and canonicalizes their case', () => {
    const table: [string, string][] = [
      ['MIT', 'MIT'],
      ['mit', 'MIT'],
      [' Apache-2.0 ', 'Apache-2.0'],
      ['(MIT OR CC0-1.0)', '(MIT OR CC0-1.0)'],
      ['Apache-2.0 AND (MIT OR GPL-2.0-or-later)', 'Apache-2.0 AND (MIT OR GPL-2.0-or-later)'],
      ['GPL-2.0+', 'GPL-2.0+'],
      ['GPL-2.0-only WITH classpath-exception-2.0', 'GPL-2.0-only WITH Classpath-exception-2.0'],
      ['((MIT))', '((MIT))'],
      ['BSD-3-Clause OR MIT AND ISC', 'BSD-3-Clause OR MIT AND ISC'],
    ];

    for (const [text, expected] of table) {
      assert.equal(spdxExpression(text), expected, text);
    }
  });

  it('rejects text that is not a known SPDX expression', () => {
    const invalid = [
      '',
      'SEE LICENSE IN LICENSE.md',
      'UNLICENSED',
      'BSD',
      'GPLv2+',
      'Apache 2.0',
      'MIT OR',
      '(MIT',
      'MIT)',
      'MIT and Apache-2.0',
      '(mit or cc0-1.0)',
      'MIT WITH',
      'GPL-2.0-only WITH Unknown-exception',
      'LicenseRef-Proprietary',
      'Not-A-License-1.0',
    ];

    for (const text of invalid) {
      assert.equal(spdxExpression(text), undefined, text);
    }
  });

  it('knows only identifiers of the SPDX lists', () => {
    // CycloneDX's copy of the SPDX License List contains license and exception identifiers.
    const listed = new Set(readSchema('spdx.SNAPSHOT.schema.json')['enum'] as string[]);

    for (const id of [...knownLicenseIds, ...knownExceptionIds]) {
      assert.ok(listed.has(id), id);
    }
  });
});
