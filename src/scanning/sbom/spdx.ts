import type { ImageInventory, ImagePackage, OperatingSystem } from '../inventory/inventory.js';
import { type ImageDescription, imagePurl, platformName, timestampOf } from './sbom-artifact.js';

/** An SPDX 2.3 package as Wharf writes one. */
export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: 'NOASSERTION';
  /** Always false: Wharf lists packages, not the files inside them. */
  filesAnalyzed: false;
  primaryPackagePurpose?: 'CONTAINER' | 'OPERATING_SYSTEM' | 'LIBRARY';
  licenseConcluded: 'NOASSERTION';
  /** An SPDX license expression, or NOASSERTION when the package declares none that is valid. */
  licenseDeclared: string;
  /** License names from the package's metadata that are not a valid SPDX expression. */
  licenseComments?: string;
  copyrightText: 'NOASSERTION';
  checksums?: { algorithm: 'SHA256'; checksumValue: string }[];
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  /** The source package a distribution package was built from. */
  sourceInfo?: string;
  description?: string;
  /** Location of the package in the image: the file that lists it and that file's layer. */
  comment?: string;
}

/** A relationship between two elements of an SPDX document. */
export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS';
  relatedSpdxElement: string;
}

/** An SPDX 2.3 JSON document as Wharf writes one. */
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  /** The warnings of the inventory, when it has any: they mean the package list may be incomplete. */
  comment?: string;
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

/**
 * Identifiers from the SPDX License List (and its deprecated identifiers) that package metadata
 * commonly declares.
 *
 * NOTE: this is a subset of the list. A valid identifier outside it goes into `licenseComments`
 * and a CycloneDX license `name` instead of being declared, so Wharf never writes an identifier
 * that SPDX validators reject. The `spdx-license-ids` and `spdx-exceptions` npm packages hold the
 * whole lists.
 */
export const knownLicenseIds: readonly string[] = `
  0BSD AFL-2.1 AFL-3.0 AGPL-3.0 AGPL-3.0-only AGPL-3.0-or-later Apache-1.1 Apache-2.0 Artistic-1.0
  Artistic-1.0-Perl Artistic-2.0 Beerware BlueOak-1.0.0 BSD-1-Clause BSD-2-Clause BSD-3-Clause
  BSD-3-Clause-Clear BSD-4-Clause BSL-1.0 bzip2-1.0.6 CC-BY-3.0 CC-BY-4.0 CC-BY-SA-3.0
  CC-BY-SA-4.0 CC0-1.0 CDDL-1.0 CDDL-1.1 CPL-1.0 curl ECL-2.0 EPL-1.0 EPL-2.0 EUPL-1.1 EUPL-1.2
  FTL GFDL-1.3-only GFDL-1.3-or-later GPL-1.0-or-later GPL-2.0 GPL-2.0-only GPL-2.0-or-later
  GPL-3.0 GPL-3.0-only GPL-3.0-or-later HPND ICU IJG ISC JSON LGPL-2.0 LGPL-2.0-only
  LGPL-2.0-or-later LGPL-2.1 LGPL-2.1-only LGPL-2.1-or-later LGPL-3.0 LGPL-3.0-only
  LGPL-3.0-or-later Libpng libpng-2.0 LPPL-1.3c MirOS MIT MIT-0 MPL-1.1 MPL-2.0
  MPL-2.0-no-copyleft-exception MS-PL NCSA OFL-1.1 OLDAP-2.8 OpenSSL PHP-3.01 PostgreSQL PSF-2.0
  Python-2.0 Ruby Sleepycat Spencer-94 TCL Unicode-3.0 Unicode-DFS-2016 Unicode-TOU Unlicense
  UPL-1.0 Vim W3C WTFPL X11 Zlib ZPL-2.1
`
  .trim()
  .split(/\s+/);

/** Identifiers from the SPDX License Exceptions list, for the right side of `WITH`. */
export const knownExceptionIds: readonly string[] = `
  Autoconf-exception-2.0 Autoconf-exception-3.0 Bison-exception-2.2 Classpath-exception-2.0
  Font-exception-2.0 GCC-exception-2.0 GCC-exception-3.1 Linux-syscall-note LLVM-exception
`
  .trim()
  .split(/\s+/);

const licenseIdsByLowerCase = new Map(knownLicenseIds.map((id) => [id.toLowerCase(), id]));
const exceptionIdsByLowerCase = new Map(knownExceptionIds.map((id) => [id.toLowerCase(), id]));

/**
 * Writes an SPDX 2.3 document of an image: one CONTAINER package for the image, which the document
 * DESCRIBES, and one package for the operating system and each inventory package, which the image
 * CONTAINS. The namespace is a URI under the registry's host, unique per repository and digest, and
 * `created` is written in the `YYYY-MM-DDThh:mm:ssZ` form SPDX requires.
 */
export function spdxDocument(
  image: ImageDescription,
  inventory: ImageInventory,
  created: Date,
): SpdxDocument {
  const imageId = 'SPDXRef-Image';
  const contained = [
    ...(inventory.os === null ? [] : [operatingSystemPackage(inventory.os)]),
    ...inventory.packages.map((entry, index) => inventoryPackage(entry, index)),
  ];

  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${image.repository}@${image.digest}`,
    documentNamespace: `https://${image.registryHost}/spdx/${image.repository}/${image.digest}`,
    creationInfo: { created: timestampOf(created), creators: [`Tool: wharf-${image.toolVersion}`] },
    ...(inventory.warnings.length === 0 ? {} : { comment: warningsComment(inventory) }),
    packages: [imagePackage(image, imageId), ...contained],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...contained.map((entry): SpdxRelationship => ({
        spdxElementId: imageId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: entry.SPDXID,
      })),
    ],
  };
}

/**
 * Returns an SPDX license expression (SPDX 2.3 Annex D) with its identifiers in their canonical
 * case, such as `(MIT OR Apache-2.0)` for `(mit OR apache-2.0)`. Returns undefined for text that is
 * not an expression, or that names a license or exception outside the known identifiers, a
 * `LicenseRef-` included, since such a reference needs a definition in the same document.
 */
export function spdxExpression(text: string): string | undefined {
  const tokens = text.split(/\s+|(?=[()])|(?<=[()])/).filter((token) => token !== '');

  return new ExpressionReader(tokens).read();
}

/** Returns a license identifier in its canonical case, or undefined when it is not a known SPDX identifier. */
export function spdxLicenseId(text: string): string | undefined {
  return licenseIdsByLowerCase.get(text.trim().toLowerCase());
}

/**
 * Reads the tokens of an SPDX license expression by recursive descent, rewriting identifiers to
 * their canonical case. OR joins AND-expressions, which join terms, so AND binds tighter, as SPDX
 * 2.3 Annex D defines. A term is a parenthesized expression, or a license with an optional `+`
 * and an optional `WITH` exception.
 */
class ExpressionReader {
  private position = 0;

  constructor(private readonly tokens: readonly string[]) {}

  /** Returns the expression, or undefined when a part is invalid or tokens are left over. */
  read(): string | undefined {
    const expression = this.compound('OR');

    return this.position === this.tokens.length ? expression : undefined;
  }

  private compound(operator: 'AND' | 'OR'): string | undefined {
    const operand = (): string | undefined => (operator === 'OR' ? this.compound('AND') : this.term());
    const parts = [operand()];

    while (this.tokens[this.position] === operator) {
      this.position += 1;
      parts.push(operand());
    }

    return parts.every((part) => part !== undefined) ? parts.join(` ${operator} `) : undefined;
  }

  private term(): string | undefined {
    const token = this.tokens[this.position++] ?? '';

    if (token === '(') {
      const inner = this.compound('OR');

      return this.tokens[this.position++] === ')' && inner !== undefined ? `(${inner})` : undefined;
    }

    const license = spdxLicenseId(token.replace(/\+$/, ''));

    if (license === undefined) {
      return undefined;
    }

    const simple = token.endsWith('+') ? `${license}+` : license;

    if (this.tokens[this.position] !== 'WITH') {
      return simple;
    }

    const exception = exceptionIdsByLowerCase.get(this.tokens[this.position + 1]?.toLowerCase() ?? '');

    this.position += 2;

    return exception === undefined ? undefined : `${simple} WITH ${exception}`;
  }
}

function imagePackage(image: ImageDescription, id: string): SpdxPackage {
  const [algorithm, hex] = image.digest.split(':');

  return {
    SPDXID: id,
    name: image.repository,
    versionInfo: image.digest,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'CONTAINER',
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    ...(algorithm === 'sha256' && hex !== undefined
      ? { checksums: [{ algorithm: 'SHA256', checksumValue: hex }] }
      : {}),
    externalRefs: [purlReference(imagePurl(image))],
    ...(image.platform === undefined ? {} : { comment: `Platform: ${platformName(image.platform)}` }),
  };
}

function operatingSystemPackage(os: OperatingSystem): SpdxPackage {
  return {
    SPDXID: `SPDXRef-OperatingSystem-${spdxIdPart(os.id)}`,
    name: os.id,
    ...(os.versionId === null ? {} : { versionInfo: os.versionId }),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: 'OPERATING_SYSTEM',
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    ...(os.prettyName === null ? {} : { description: os.prettyName }),
  };
}

/**
 * Writes one inventory package. Its SPDX id joins name, version and position, so that the same
 * package found in two files still gets two ids. Distribution packages get no purpose, since a
 * dpkg, apk or rpm package may be a library or an application.
 */
function inventoryPackage(entry: ImagePackage, index: number): SpdxPackage {
  const isLanguagePackage = !['dpkg', 'apk', 'rpm'].includes(entry.type);

  return {
    SPDXID: `SPDXRef-Package-${spdxIdPart(entry.name)}-${spdxIdPart(entry.version)}-${index}`,
    name: entry.name,
    versionInfo: entry.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    ...(isLanguagePackage ? { primaryPackagePurpose: 'LIBRARY' as const } : {}),
    licenseConcluded: 'NOASSERTION',
    ...declaredLicense(entry.licenses ?? []),
    copyrightText: 'NOASSERTION',
    externalRefs: [purlReference(entry.purl)],
    ...(entry.sourceName === undefined
      ? {}
      : {
          sourceInfo: `built from the source package ${entry.sourceName} ${entry.sourceVersion ?? entry.version}`,
        }),
    comment: `Found in ${entry.location} (layer ${entry.layer})`,
  };
}

/**
 * Declares the package's license when its metadata names exactly one, as a valid expression. Several
 * names do not say whether all apply or any one of them does, so they are kept as a comment, like
 * names that are not SPDX expressions.
 */
function declaredLicense(
  licenses: readonly string[],
): Pick<SpdxPackage, 'licenseDeclared' | 'licenseComments'> {
  const expression = licenses.length === 1 ? spdxExpression(licenses[0]) : undefined;

  if (expression !== undefined) {
    return { licenseDeclared: expression };
  }

  if (licenses.length === 0) {
    return { licenseDeclared: 'NOASSERTION' };
  }

  return {
    licenseDeclared: 'NOASSERTION',
    licenseComments: `The package metadata names: ${licenses.join('; ')}`,
  };
}

function purlReference(purl: string): NonNullable<SpdxPackage['externalRefs']>[number] {
  return { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl };
}

function warningsComment(inventory: ImageInventory): string {
  const lines = inventory.warnings.map((warning) =>
    [warning.layer, warning.path, warning.reason].filter((part) => part !== undefined).join(' '),
  );

  return [
    `The inventory reported ${lines.length} warning(s), so the package list may be incomplete:`,
    ...lines,
  ].join('\n');
}

/** Replaces what an SPDX id may not contain (anything but letters, digits, `.` and `-`) with `-`. */
function spdxIdPart(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, '-');
}
