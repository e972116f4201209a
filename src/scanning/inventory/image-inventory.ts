import { posix } from 'node:path';

import type {
  FileCollector,
  FileFindings,
  FoundPackage,
  ImageInventory,
  ImagePackage,
  InventoryWarning,
  LayerSource,
  OperatingSystem,
  PackageType,
} from './inventory.js';
import { type LayerChanges, walkLayer } from './layer-walker.js';
import { ecosystemOfOs, parseOsRelease } from './os-collectors.js';
import { purlOf } from './package-databases.js';

/** The OSV ecosystem of each language package type. OS packages take theirs from the OS. */
const languageEcosystems: Partial<Record<PackageType, string>> = {
  npm: 'npm',
  pypi: 'PyPI',
  golang: 'Go',
  maven: 'Maven',
  cargo: 'crates.io',
};

function isOsPackageType(type: PackageType): type is 'dpkg' | 'apk' | 'rpm' {
  return type === 'dpkg' || type === 'apk' || type === 'rpm';
}

/** Paths of the os-release file in the order os-release(5) gives: `/etc` first, `/usr/lib` as the fallback. */
const osReleasePaths = ['/etc/os-release', '/usr/lib/os-release'];

/** Most links followed while resolving one path, so that a link loop ends. */
const maxLinkHops = 40;

/**
 * Takes the inventory of an image. Reads its layers in order, first layer at the bottom, each once
 * as a stream, and applies their whiteouts. Then lists what the collectors found in the files of the
 * final file system, with the OS from its os-release. Never throws for bad input: an unreadable or
 * truncated layer, a bad tar entry or a failing collector becomes a warning. A layer that breaks
 * part way keeps what was read from it before the break. Language packages whose metadata file an
 * OS package installed are left out and counted in `osOwnedLanguagePackages`.
 */
export async function takeInventory(
  layers: LayerSource[],
  collectors: FileCollector[],
  options: { maxFileBytes: number },
): Promise<ImageInventory> {
  const fileSystem = new ImageFileSystem();
  const warnings: InventoryWarning[] = [];
  const walkOptions = {
    collectors,
    maxFileBytes: options.maxFileBytes,
    keepText: (path: string) => posix.basename(path) === 'os-release',
  };

  for (const layer of layers) {
    fileSystem.beginLayer(layer.digest);
    await walkLayer(layer, fileSystem, walkOptions, warnings);
    fileSystem.endLayer();
  }

  const os = readOperatingSystem(fileSystem, warnings);
  const { packages, leftOut } = withoutOsOwned(listPackages(fileSystem, os, warnings), fileSystem);

  return { os, packages, warnings, ...(leftOut === 0 ? {} : { osOwnedLanguagePackages: leftOut }) };
}

/** The part of one path that the file system keeps: findings, a link target or a small text, never file bytes. */
type PathRecord =
  | { kind: 'file'; layer: string; findings?: FileFindings; text?: string }
  | { kind: 'link'; layer: string; target: string; hard: boolean };

/**
 * The image's file system as the layers read so far build it, holding only the paths that matter
 * to the inventory. Changes of the layer being read wait in `pending` until it ends, because its
 * whiteouts remove paths of the layers below only.
 */
export class ImageFileSystem implements LayerChanges {
  private readonly records = new Map<string, PathRecord>();
  /** For each directory, how many records lie anywhere under it, so most removals skip the scan. */
  private readonly recordsUnder = new Map<string, number>();
  private pending = new Map<string, PathRecord>();
  private layer = '';

  beginLayer(digest: string): void {
    this.layer = digest;
    this.pending = new Map();
  }

  endLayer(): void {
    for (const [path, record] of this.pending) {
      this.set(path, record);
    }

    this.pending = new Map();
  }

  whiteout(path: string): void {
    this.delete(path);
    this.deleteUnder(path);
  }

  opaque(directory: string): void {
    this.deleteUnder(directory);
  }

  write(path: string, isDirectory: boolean): void {
    this.pending.delete(path);
    this.delete(path);

    if (!isDirectory) {
      this.deleteUnder(path);
    }
  }

  addFile(path: string, content: { collector: string; findings: FileFindings } | { text: string }): void {
    const record: PathRecord =
      'text' in content
        ? { kind: 'file', layer: this.layer, text: content.text }
        : { kind: 'file', layer: this.layer, findings: content.findings };

    this.pending.set(path, record);
  }

  addLink(path: string, target: string, hard: boolean): void {
    this.pending.set(path, { kind: 'link', layer: this.layer, target, hard });
  }

  /** Returns the files of the final file system that collectors read, with what they found. */
  *findings(): Generator<{ path: string; layer: string; findings: FileFindings }> {
    for (const [path, record] of this.records) {
      if (record.kind === 'file' && record.findings !== undefined) {
        yield { path, layer: record.layer, findings: record.findings };
      }
    }
  }

  /**
   * Returns the paths that the file lists of OS packages in the final file system name. A file
   * list that a later layer removed or replaced no longer counts.
   */
  osOwnedPaths(): Set<string> {
    const owned = new Set<string>();

    for (const record of this.records.values()) {
      if (record.kind === 'file' && record.findings?.ownedPaths !== undefined) {
        for (const path of record.findings.ownedPaths) {
          owned.add(path);
        }
      }
    }

    return owned;
  }

  /**
   * Resolves `path` through the links of the final file system, component by component as the
   * kernel does, and returns the record at the end, if any. Returns the problem instead when a link
   * leads above the image root or more than 40 links are followed.
   */
  resolve(path: string): { path: string; record: PathRecord | undefined } | { problem: string } {
    let pending = path.split('/').filter(Boolean);
    const resolved: string[] = [];
    let hops = 0;

    while (pending.length > 0) {
      const [component, ...rest] = pending;

      pending = rest;

      if (component === '..') {
        if (resolved.pop() === undefined) {
          return { problem: `resolving ${path} leads above the image root` };
        }

        continue;
      }

      if (component === '.') {
        continue;
      }

      resolved.push(component);

      const record = this.records.get(`/${resolved.join('/')}`);

      if (record?.kind === 'link') {
        if (++hops > maxLinkHops) {
          return { problem: `resolving ${path} follows more than ${maxLinkHops} links` };
        }

        resolved.pop();

        if (record.target.startsWith('/')) {
          resolved.length = 0;
        }

        pending = [...record.target.split('/').filter(Boolean), ...pending];
      }
    }

    const resolvedPath = `/${resolved.join('/')}`;

    return { path: resolvedPath, record: this.records.get(resolvedPath) };
  }

  private set(path: string, record: PathRecord): void {
    if (!this.records.has(path)) {
      for (const directory of ancestorsOf(path)) {
        this.recordsUnder.set(directory, (this.recordsUnder.get(directory) ?? 0) + 1);
      }
    }

    this.records.set(path, record);
  }

  private delete(path: string): void {
    if (!this.records.delete(path)) {
      return;
    }

    for (const directory of ancestorsOf(path)) {
      const count = (this.recordsUnder.get(directory) ?? 0) - 1;

      if (count > 0) {
        this.recordsUnder.set(directory, count);
      } else {
        this.recordsUnder.delete(directory);
      }
    }
  }

  private deleteUnder(directory: string): void {
    if (!this.recordsUnder.has(directory)) {
      return;
    }

    const prefix = directory === '/' ? '/' : `${directory}/`;

    for (const path of [...this.records.keys()]) {
      if (path.startsWith(prefix)) {
        this.delete(path);
      }
    }
  }
}

/** Returns the directories above a path: `/a/b/c` has `/`, `/a` and `/a/b`. */
function ancestorsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);

  return parts.map((_, index) => `/${parts.slice(0, index).join('/')}`);
}

function readOperatingSystem(
  fileSystem: ImageFileSystem,
  warnings: InventoryWarning[],
): OperatingSystem | null {
  for (const path of osReleasePaths) {
    const resolved = fileSystem.resolve(path);

    if ('problem' in resolved) {
      warnings.push({ path, reason: resolved.problem });
    } else if (resolved.record?.kind === 'file' && resolved.record.text !== undefined) {
      return parseOsRelease(resolved.record.text);
    }
  }

  return null;
}

/** The OS facts an OS package takes: its ecosystem, and its purl's namespace and `distro` qualifier. */
interface OsContext {
  ecosystem: string | null;
  namespace: string | undefined;
  distro: string | undefined;
}

function osContextOf(
  os: OperatingSystem | null,
  warnings: InventoryWarning[],
  hasOsPackages: boolean,
): OsContext {
  if (os === null) {
    // An image without OS packages, such as one built from scratch, needs no os-release.
    if (hasOsPackages) {
      warnings.push({
        reason: `none of ${osReleasePaths.join(' and ')} was found, so OS packages have no ecosystem`,
      });
    }

    return { ecosystem: null, namespace: undefined, distro: undefined };
  }

  const ecosystem = ecosystemOfOs(os);

  if ('problem' in ecosystem) {
    warnings.push({ reason: ecosystem.problem });
  }

  return {
    ecosystem: 'ecosystem' in ecosystem ? ecosystem.ecosystem : null,
    namespace: os.id,
    distro: os.versionId === null ? os.id : `${os.id}-${os.versionId}`,
  };
}

/** Lists the packages of the final file system, sorted and without duplicates, and their files' warnings. */
function listPackages(
  fileSystem: ImageFileSystem,
  os: OperatingSystem | null,
  warnings: InventoryWarning[],
): ImagePackage[] {
  const files = [...fileSystem.findings()];
  const hasOsPackages = files.some(({ findings }) =>
    findings.packages.some((found) => isOsPackageType(found.type)),
  );
  const context = osContextOf(os, warnings, hasOsPackages);
  const packages = new Map<string, ImagePackage>();

  for (const { path, layer, findings } of files) {
    for (const reason of findings.warnings) {
      warnings.push({ layer, path, reason });
    }

    for (const found of findings.packages) {
      const imagePackage = imagePackageOf(found, path, layer, context);
      const key = JSON.stringify([found.type, found.name, found.version, path]);

      if (!packages.has(key)) {
        packages.set(key, imagePackage);
      }
    }
  }

  return [...packages.values()].sort(comparePackages);
}

/**
 * Leaves out the language packages whose metadata file an OS package installed, as its file list
 * shows. Distributions backport fixes to such packages without changing the upstream version in
 * the metadata, so advisories matched on that version would be false. The advisories of the OS
 * package, filed under its source package, apply instead. Both paths are
 * resolved through the image's symbolic links before they are compared, so `/lib/...` in a file
 * list matches `/usr/lib/...` of an image whose `/lib` links to `usr/lib`.
 */
function withoutOsOwned(
  packages: ImagePackage[],
  fileSystem: ImageFileSystem,
): { packages: ImagePackage[]; leftOut: number } {
  const owned = fileSystem.osOwnedPaths();

  if (owned.size === 0) {
    return { packages, leftOut: 0 };
  }

  const locations = new Map<string, string>();

  for (const { type, location } of packages) {
    if (!isOsPackageType(type) && !locations.has(location)) {
      locations.set(location, canonicalPath(fileSystem, location));
    }
  }

  // File lists often name tens of thousands of paths, so only those with the file name of a
  // language package's metadata file are resolved.
  const fileNames = new Set([...locations.values()].map((path) => posix.basename(path)));
  const ownedLocations = new Set<string>();

  for (const path of owned) {
    if (fileNames.has(posix.basename(path))) {
      ownedLocations.add(canonicalPath(fileSystem, path));
    }
  }

  const kept = packages.filter(
    ({ type, location }) => isOsPackageType(type) || !ownedLocations.has(locations.get(location) ?? location),
  );

  return { packages: kept, leftOut: packages.length - kept.length };
}

/** Returns `path` with its symbolic links resolved, or `path` itself when it cannot be resolved. */
function canonicalPath(fileSystem: ImageFileSystem, path: string): string {
  const resolved = fileSystem.resolve(path);

  return 'problem' in resolved ? path : resolved.path;
}

function imagePackageOf(
  found: FoundPackage,
  location: string,
  layer: string,
  context: OsContext,
): ImagePackage {
  const { type } = found;
  const isOsPackage = isOsPackageType(type);
  const purl = isOsPackageType(type)
    ? purlOf(
        {
          type,
          name: found.name,
          version: found.version,
          sourceName: found.sourceName ?? found.name,
          sourceVersion: found.sourceVersion ?? found.version,
          architecture: found.architecture ?? null,
        },
        context.namespace,
        context.distro,
      )
    : (found.purl ?? languagePurlOf(found));

  return {
    type: found.type,
    name: found.name,
    version: found.version,
    ecosystem: isOsPackage ? context.ecosystem : (languageEcosystems[found.type] ?? null),
    ...(found.sourceName === undefined ? {} : { sourceName: found.sourceName }),
    ...(found.sourceVersion === undefined ? {} : { sourceVersion: found.sourceVersion }),
    ...(found.architecture === undefined ? {} : { architecture: found.architecture }),
    purl,
    ...(found.licenses === undefined ? {} : { licenses: found.licenses }),
    location,
    layer,
  };
}

/**
 * Returns a purl for a language package whose collector gave none. The name's `/`-separated parts
 * (`:` for Maven's `group:artifact`) become the purl's namespace and name, each percent-encoded.
 * A PyPI name is normalized to lower case with `-`, as the purl specification requires.
 */
function languagePurlOf(found: FoundPackage): string {
  const name = found.type === 'pypi' ? found.name.toLowerCase().replace(/[-_.]+/g, '-') : found.name;
  const parts = found.type === 'maven' ? name.split(':') : name.split('/');

  return `pkg:${found.type}/${parts.map(encodeURIComponent).join('/')}@${encodeURIComponent(found.version)}`;
}

/** Orders packages by type, name, version and location, comparing UTF-16 code units. */
function comparePackages(left: ImagePackage, right: ImagePackage): number {
  for (const field of ['type', 'name', 'version', 'location'] as const) {
    if (left[field] !== right[field]) {
      return left[field] < right[field] ? -1 : 1;
    }
  }

  return 0;
}
