import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { cycloneDxValidator } from '../../../test/support/sbom-schemas.js';
import type { ImageInventory, ImagePackage } from '../inventory/inventory.js';
import { languagePurl } from '../inventory/purl.js';
import { cycloneDxDocument, licensesOf, uuidV5 } from './cyclonedx.js';
import { type ImageDescription, imagePurl, sha256Digest } from './sbom-artifact.js';

const layer = sha256Digest(Buffer.from('first layer'));

const image: ImageDescription = {
  repository: 'team/app',
  digest: sha256Digest(Buffer.from('{"schemaVersion":2}')),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  platform: { os: 'linux', architecture: 'amd64' },
  registryHost: '127.0.0.1:5000',
  toolVersion: '0.1.0',
};

function pypiPackage(
  name: string,
  version: string,
  licenses: string[] | undefined,
  location: string,
): ImagePackage {
  return {
    type: 'pypi',
    name,
    version,
    ecosystem: 'PyPI',
    purl: languagePurl('pypi', name, version),
    ...(licenses === undefined ? {} : { licenses }),
    location,
    layer,
  };
}

const sitePackages = '/usr/lib/python3/dist-packages';

const inventory: ImageInventory = {
  os: { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19' },
  packages: [
    {
      type: 'apk',
      name: 'libcrypto3',
      version: '3.1.4-r5',
      ecosystem: 'Alpine:v3.19',
      sourceName: 'openssl',
      sourceVersion: '3.1.4-r5',
      architecture: 'x86_64',
      purl: 'pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1',
      licenses: ['Apache-2.0'],
      location: '/lib/apk/db/installed',
      layer,
    },
    pypiPackage('requests', '2.31.0', ['Apache 2.0'], `${sitePackages}/requests-2.31.0.dist-info/METADATA`),
    pypiPackage('urllib3', '2.0.7', ['MIT'], `${sitePackages}/urllib3-2.0.7.dist-info/METADATA`),
    pypiPackage(
      'cryptography',
      '41.0.7',
      ['Apache-2.0 OR BSD-3-Clause'],
      `${sitePackages}/cryptography.dist-info/METADATA`,
    ),
    pypiPackage(
      'urllib3',
      '2.0.7',
      ['MIT'],
      '/opt/venv/lib/python3.11/site-packages/urllib3-2.0.7.dist-info/METADATA',
    ),
    pypiPackage('six', '1.16.0', undefined, `${sitePackages}/six-1.16.0.dist-info/METADATA`),
  ],
  warnings: [],
};

const created = new Date('2024-05-06T07:08:09.123Z');

describe(cycloneDxDocument.name, () => {
  it('validates against the CycloneDX 1.5 schema', () => {
    const validate = cycloneDxValidator();
    const document = cycloneDxDocument(image, inventory, created);

    assert.ok(validate(document), JSON.stringify(validate.errors, null, 2));
  });

  it('describes the image as the container of the BOM', () => {
    const { metadata, serialNumber, specVersion } = cycloneDxDocument(image, inventory, created);

    assert.equal(specVersion, '1.5');
    assert.match(
      serialNumber,
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(metadata.timestamp, '2024-05-06T07:08:09Z');
    assert.deepEqual(metadata.tools, {
      components: [{ type: 'application', name: 'wharf', version: '0.1.0' }],
    });
    assert.deepEqual(metadata.component, {
      type: 'container',
      'bom-ref': imagePurl(image),
      name: 'team/app',
      version: image.digest,
      purl: imagePurl(image),
      hashes: [{ alg: 'SHA-256', content: image.digest.slice(7) }],
      properties: [
        { name: 'wharf:mediaType', value: 'application/vnd.oci.image.manifest.v1+json' },
        { name: 'wharf:platform', value: 'linux/amd64' },
      ],
    });
  });

  it('lists the operating system and every package', () => {
    const { components, dependencies } = cycloneDxDocument(image, inventory, created);
    const refs = components.map((component) => component['bom-ref']);

    assert.deepEqual(components[0], {
      type: 'operating-system',
      'bom-ref': 'os:alpine',
      name: 'alpine',
      version: '3.19.1',
      description: 'Alpine Linux v3.19',
    });
    assert.deepEqual(
      components.slice(1).map((component) => [component.type, component.name, component.purl]),
      inventory.packages.map((entry) => ['library', entry.name, entry.purl]),
    );
    assert.equal(new Set(refs).size, refs.length);
    assert.deepEqual(dependencies, [{ ref: imagePurl(image), dependsOn: refs }]);
  });

  it('gives a package found twice two references', () => {
    const { components } = cycloneDxDocument(image, inventory, created);
    const urllib3 = components.filter((component) => component.name === 'urllib3');

    assert.deepEqual(
      urllib3.map((component) => component['bom-ref']),
      ['pkg:pypi/urllib3@2.0.7', 'pkg:pypi/urllib3@2.0.7|4'],
    );
  });

  it('records type, ecosystem, location, layer and source package', () => {
    const { components } = cycloneDxDocument(image, inventory, created);

    assert.deepEqual(components[1].properties, [
      { name: 'wharf:packageType', value: 'apk' },
      { name: 'wharf:ecosystem', value: 'Alpine:v3.19' },
      { name: 'wharf:location', value: '/lib/apk/db/installed' },
      { name: 'wharf:layer', value: layer },
      { name: 'wharf:sourceName', value: 'openssl' },
      { name: 'wharf:sourceVersion', value: '3.1.4-r5' },
    ]);
  });

  it('derives the serial number from image, tool and time', () => {
    const serial = (description: ImageDescription, at: Date): string =>
      cycloneDxDocument(description, inventory, at).serialNumber;

    assert.equal(serial(image, created), serial(image, new Date(created)));
    assert.notEqual(serial(image, created), serial(image, new Date('2024-05-06T07:08:10Z')));
    assert.notEqual(serial(image, created), serial({ ...image, toolVersion: '0.2.0' }, created));
    assert.notEqual(serial(image, created), serial({ ...image, repository: 'team/other' }, created));
  });

  it('reports inventory warnings as properties', () => {
    const withWarnings = { ...inventory, warnings: [{ path: '/lib/apk/db/installed', reason: 'truncated' }] };
    const document = cycloneDxDocument(image, withWarnings, created);

    assert.deepEqual(document.metadata.properties, [
      { name: 'wharf:inventoryWarning', value: '/lib/apk/db/installed truncated' },
    ]);
    assert.ok(cycloneDxValidator()(document));
  });
});

describe(licensesOf.name, () => {
  it('uses identifiers, names or one expression', () => {
    assert.equal(licensesOf([]), undefined);
    assert.deepEqual(licensesOf(['MIT']), [{ license: { id: 'MIT' } }]);
    assert.deepEqual(licensesOf(['apache-2.0']), [{ license: { id: 'Apache-2.0' } }]);
    assert.deepEqual(licensesOf(['Apache 2.0']), [{ license: { name: 'Apache 2.0' } }]);
    assert.deepEqual(licensesOf(['(MIT OR CC0-1.0)']), [{ expression: '(MIT OR CC0-1.0)' }]);
    assert.deepEqual(licensesOf(['GPL-2.0+']), [{ expression: 'GPL-2.0+' }]);
    assert.deepEqual(licensesOf(['MIT', 'Custom']), [
      { license: { id: 'MIT' } },
      { license: { name: 'Custom' } },
    ]);
    assert.deepEqual(licensesOf(['MIT', 'ISC OR MIT']), [
      { license: { id: 'MIT' } },
      { license: { name: 'ISC OR MIT' } },
    ]);
  });
});

describe(uuidV5.name, () => {
  it('matches Python uuid5', () => {
    // Python 3.11 returns this for uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org').
    assert.equal(
      uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org'),
      '886313e1-3b8a-5372-9b90-0c9aee199e5d',
    );
  });
});
