import { createHash } from 'node:crypto';

import type { ImageInventory, ImagePackage, OperatingSystem } from '../inventory/inventory.js';
import { type ImageDescription, imagePurl, platformName, timestampOf } from './sbom-artifact.js';
import { spdxExpression, spdxLicenseId } from './spdx.js';

/** A name-value pair. The names Wharf defines start with `wharf:`. */
export interface CycloneDxProperty {
  name: string;
  value: string;
}

/**
 * Licenses of a component, in one of the two forms CycloneDX 1.5 allows: a list of SPDX identifiers
 * and license names, or exactly one SPDX expression.
 */
export type CycloneDxLicenses =
  ({ license: { id: string } } | { license: { name: string } })[] | [{ expression: string }];

/** A CycloneDX 1.5 component as Wharf writes one. */
export interface CycloneDxComponent {
  type: 'application' | 'container' | 'library' | 'operating-system';
  'bom-ref'?: string;
  name: string;
  version?: string;
  description?: string;
  purl?: string;
  hashes?: { alg: 'SHA-256'; content: string }[];
  licenses?: CycloneDxLicenses;
  properties?: CycloneDxProperty[];
}

/** A CycloneDX 1.5 JSON BOM as Wharf writes one. */
export interface CycloneDxDocument {
  $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json';
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: CycloneDxComponent[] };
    component: CycloneDxComponent;
    /** One `wharf:inventoryWarning` per warning of the inventory: the component list may be incomplete. */
    properties?: CycloneDxProperty[];
  };
  components: CycloneDxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

/** The RFC 4122 namespace for names that are URLs. */
const urlNamespace = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/**
 * Writes a CycloneDX 1.5 BOM of an image: the image as the `container` component of the metadata,
 * the operating system as an `operating-system` component, each inventory package as a `library`,
 * and a dependency of the image on all of them.
 *
 * The serial number is a name-based UUID (version 5) of the image, the tool version and `created`
 * to the second. The same inputs give the same BOM, and a BOM written at another second gets
 * another serial number, as CycloneDX asks of every new BOM.
 */
export function cycloneDxDocument(
  image: ImageDescription,
  inventory: ImageInventory,
  created: Date,
): CycloneDxDocument {
  const timestamp = timestampOf(created);
  const imageComponent = containerComponent(image);
  const components = [
    ...(inventory.os === null ? [] : [operatingSystemComponent(inventory.os)]),
    ...packageComponents(inventory.packages),
  ];
  const warnings = inventory.warnings.map((warning) => ({
    name: 'wharf:inventoryWarning',
    value: [warning.layer, warning.path, warning.reason].filter((part) => part !== undefined).join(' '),
  }));
  const serialName = `https://${image.registryHost}/cyclonedx/${image.repository}/${image.digest}?tool=${image.toolVersion}&created=${timestamp}`;

  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuidV5(urlNamespace, serialName)}`,
    version: 1,
    metadata: {
      timestamp,
      tools: { components: [{ type: 'application', name: 'wharf', version: image.toolVersion }] },
      component: imageComponent,
      ...(warnings.length === 0 ? {} : { properties: warnings }),
    },
    components,
    dependencies: [
      {
        ref: imageComponent['bom-ref'] ?? imagePurl(image),
        dependsOn: components.flatMap((component) => component['bom-ref'] ?? []),
      },
    ],
  };
}

/**
 * Returns a name-based UUID, version 5 (SHA-1), of `name` in `namespace` as RFC 4122 section 4.3
 * defines it: the first 16 bytes of SHA-1(namespace bytes + name), with the version and variant bits set.
 */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);

  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;

  const hex = hash.toString('hex');

  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
}

/**
 * Returns the licenses of a package: one SPDX expression when its metadata names exactly one
 * compound expression, else each name as an SPDX identifier where it is a known one and as a
 * license name otherwise.
 */
export function licensesOf(licenses: readonly string[]): CycloneDxLicenses | undefined {
  if (licenses.length === 0) {
    return undefined;
  }

  const expression = licenses.length === 1 ? spdxExpression(licenses[0]) : undefined;

  if (expression !== undefined && spdxLicenseId(expression) === undefined) {
    return [{ expression }];
  }

  return licenses.map((text) => {
    const id = spdxLicenseId(text);

    return id === undefined ? { license: { name: text } } : { license: { id } };
  });
}

function containerComponent(image: ImageDescription): CycloneDxComponent {
  const purl = imagePurl(image);
  const [algorithm, hex] = image.digest.split(':');
  const properties = [
    { name: 'wharf:mediaType', value: image.mediaType },
    ...(image.platform === undefined
      ? []
      : [{ name: 'wharf:platform', value: platformName(image.platform) }]),
  ];

  return {
    type: 'container',
    'bom-ref': purl,
    name: image.repository,
    version: image.digest,
    purl,
    ...(algorithm === 'sha256' && hex !== undefined
      ? { hashes: [{ alg: 'SHA-256' as const, content: hex }] }
      : {}),
    properties,
  };
}

function operatingSystemComponent(os: OperatingSystem): CycloneDxComponent {
  return {
    type: 'operating-system',
    'bom-ref': `os:${os.id}`,
    name: os.id,
    ...(os.versionId === null ? {} : { version: os.versionId }),
    ...(os.prettyName === null ? {} : { description: os.prettyName }),
  };
}

/**
 * Writes one `library` per package, with the package's purl as its `bom-ref`. When two entries share
 * a purl, as the same package found in two files does, the later ones get `|<index>` appended. That
 * cannot collide with another purl, because purls percent-encode `|`.
 */
function packageComponents(packages: readonly ImagePackage[]): CycloneDxComponent[] {
  const refs = new Set<string>();

  return packages.map((entry, index) => {
    const ref = refs.has(entry.purl) ? `${entry.purl}|${index}` : entry.purl;
    const licenses = licensesOf(entry.licenses ?? []);

    refs.add(ref);

    return {
      type: 'library',
      'bom-ref': ref,
      name: entry.name,
      version: entry.version,
      purl: entry.purl,
      ...(licenses === undefined ? {} : { licenses }),
      properties: packageProperties(entry),
    };
  });
}

function packageProperties(entry: ImagePackage): CycloneDxProperty[] {
  const values: [string, string | null | undefined][] = [
    ['wharf:packageType', entry.type],
    ['wharf:ecosystem', entry.ecosystem],
    ['wharf:location', entry.location],
    ['wharf:layer', entry.layer],
    ['wharf:sourceName', entry.sourceName],
    ['wharf:sourceVersion', entry.sourceVersion],
  ];

  return values.flatMap(([name, value]) => (typeof value === 'string' ? [{ name, value }] : []));
}
