import yauzl from 'yauzl';

import type { FileCollector, FileFindings, FoundPackage, LayerFile } from '../inventory.js';
import { languagePurl } from '../purl.js';
import { errorMessage, overLimitWarning, readBounded, readLayerFile } from '../read-bounded.js';

/** Java archives: libraries (`.jar`), web applications (`.war`) and enterprise applications (`.ear`). */
const archivePattern = /\.(?:jar|war|ear)$/i;

/** Written by Maven into each artifact it builds: `META-INF/maven/<groupId>/<artifactId>/pom.properties`. */
const pomPropertiesPattern = /^META-INF\/maven\/([^/]+)\/([^/]+)\/pom\.properties$/;

/** Largest pom.properties read; Maven writes about 100 bytes. */
const maxPomPropertiesBytes = 64 * 1024;

/**
 * Collects Maven artifacts from the `pom.properties` files inside Java archives, and inside every
 * `.jar`, `.war` or `.ear` entry of those archives, one level deep: Spring Boot's `BOOT-INF/lib/*.jar`,
 * a web application's `WEB-INF/lib/*.jar`, the modules of an `.ear`. Each package is named
 * `groupId:artifactId`, the key Maven advisories use. A shaded archive lists several artifacts, and
 * each one counts.
 *
 * The archive is read into memory (at most `maxBytes`) and opened with yauzl, because a zip is only
 * reliable when read from its central directory at the end. Local headers may defer their sizes to
 * a data descriptor, and an archive may contain local entries that its central directory no longer
 * lists. A nested archive is read into memory as well, from what is left of `maxBytes` once the
 * outer archive is counted.
 *
 * An archive without pom.properties yields no package and no warning. `MANIFEST.MF` names no
 * Maven group, and a guessed `groupId:artifactId` would match other artifacts' advisories.
 */
export function javaCollector(): FileCollector {
  return {
    name: 'java',
    wants: (path) => archivePattern.test(path),
    collect: (file, maxBytes) => collectJava(file, maxBytes),
  };
}

async function collectJava(file: LayerFile, maxBytes: number): Promise<FileFindings> {
  const read = await readLayerFile(file, maxBytes);

  if ('warning' in read) {
    return { packages: [], warnings: [read.warning] };
  }

  const findings = new ArchiveFindings();

  await readArchive(read.data, file.path, maxBytes - read.data.length, findings);

  return { packages: findings.packages, warnings: findings.warnings };
}

/**
 * Reads the pom.properties of one archive held in `data`, and of the archives inside it when
 * `nestedBudget` is not null. `where` names the archive in warnings, a nested one as `outer.jar!/inner.jar`.
 */
async function readArchive(
  data: Buffer,
  where: string,
  nestedBudget: number | null,
  findings: ArchiveFindings,
): Promise<void> {
  try {
    const zip = await yauzl.fromBufferPromise(data, {
      lazyEntries: true,
      // Names are decoded here instead, because yauzl rejects the whole archive for one entry
      // named with `..` or an absolute path, and nothing is extracted to disk here.
      decodeStrings: false,
      validateEntrySizes: true,
    });

    for await (const entry of zip.eachEntry()) {
      await readEntry(zip, entry, where, nestedBudget, findings);
    }
  } catch (error) {
    findings.warnings.push(`${where}: failed to read the archive: ${errorMessage(error)}`);
  }
}

/** Reads one entry that is a pom.properties or a nested archive; a failure is reported for that entry alone. */
async function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  where: string,
  nestedBudget: number | null,
  findings: ArchiveFindings,
): Promise<void> {
  const name = entry.fileNameRaw.toString('utf8');
  const location = `${where}!/${name}`;
  const pom = pomPropertiesPattern.exec(name);

  try {
    if (pom !== null) {
      await readPomProperties(zip, entry, location, [pom[1], pom[2]], findings);
    } else if (nestedBudget !== null && archivePattern.test(name)) {
      await readNestedArchive(zip, entry, location, nestedBudget, findings);
    }
  } catch (error) {
    findings.warnings.push(`${location}: failed to read the entry: ${errorMessage(error)}`);
  }
}

async function readNestedArchive(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  where: string,
  budget: number,
  findings: ArchiveFindings,
): Promise<void> {
  if (entry.uncompressedSize > budget) {
    findings.warnings.push(overLimitWarning(where, entry.uncompressedSize, budget));

    return;
  }

  const stream = await zip.openReadStreamPromise(entry);
  const read = await readBounded(stream, budget);

  if (!read.complete) {
    stream.destroy();
    findings.warnings.push(overLimitWarning(where, read.bytesRead, budget));

    return;
  }

  await readArchive(read.data, where, null, findings);
}

async function readPomProperties(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  where: string,
  [groupFromPath, artifactFromPath]: [string, string],
  findings: ArchiveFindings,
): Promise<void> {
  const stream = await zip.openReadStreamPromise(entry);
  const read = await readBounded(stream, maxPomPropertiesBytes);

  if (!read.complete) {
    stream.destroy();
    findings.warnings.push(overLimitWarning(where, read.bytesRead, maxPomPropertiesBytes));

    return;
  }

  const properties = parseProperties(read.data.toString('utf8'));
  const groupId = properties.get('groupId') ?? groupFromPath;
  const artifactId = properties.get('artifactId') ?? artifactFromPath;
  const version = properties.get('version');

  if (version === undefined || version === '' || version.includes('${')) {
    findings.warnings.push(`${where}: no resolved version`);

    return;
  }

  findings.add(`${groupId}:${artifactId}`, version);
}

/**
 * Parses the subset of the Java properties format that Maven writes: `key=value` or `key: value`
 * lines and `#` or `!` comments. Escapes and continuation lines are not interpreted.
 */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();

  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();

    if (line === '' || line.startsWith('#') || line.startsWith('!')) {
      continue;
    }

    const separator = line.search(/[=:]/);

    if (separator > 0) {
      properties.set(line.slice(0, separator).trim(), line.slice(separator + 1).trim());
    }
  }

  return properties;
}

/** Packages and warnings of one archive and the archives inside it; each artifact and version once. */
class ArchiveFindings {
  readonly packages: FoundPackage[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();

  add(name: string, version: string): void {
    const key = `${name}@${version}`;

    if (this.seen.has(key)) {
      return;
    }

    this.seen.add(key);
    this.packages.push({ type: 'maven', name, version, purl: languagePurl('maven', name, version) });
  }
}
