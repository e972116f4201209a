import type { FileCollector, FileFindings, FoundPackage, LayerFile } from '../inventory.js';
import { languagePurl } from '../purl.js';
import { errorMessage, readLayerText } from '../read-bounded.js';

/** Lockfile names npm writes. `npm-shrinkwrap.json` has the same format as `package-lock.json`. */
const lockfileNames = new Set(['package-lock.json', 'npm-shrinkwrap.json']);

/** The manifest of an installed package: `node_modules/<name>/package.json` or `node_modules/@scope/<name>/package.json`. */
const installedManifestPattern = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/.@][^/]*\/package\.json$/;

const nodeModulesMarker = 'node_modules/';

type JsonObject = Record<string, unknown>;

/**
 * Collects npm packages from lockfiles and from the manifests of installed packages.
 *
 * - `package-lock.json` and `npm-shrinkwrap.json` outside `node_modules`: lockfileVersion 2 and 3
 *   list packages in `packages`, keyed by their `node_modules/...` install path. The root entry
 *   (`""`), workspace folders (keys without `node_modules/`) and `link: true` entries are skipped,
 *   because they are the application's own code. Version 1 lists a nested `dependencies` tree.
 *   A lockfile lists the optional packages of every platform, so some may be missing from the image.
 * - `package.json` directly under `node_modules/<name>/` or `node_modules/@scope/<name>/`, at any
 *   depth: one installed package with its license.
 *
 * The application's own `package.json` (not under `node_modules`) is skipped. It names the program
 * under inspection, not a dependency fetched from the registry, and its name may be taken by an
 * unrelated registry package, which would match that package's advisories.
 */
export function npmCollector(): FileCollector {
  return {
    name: 'npm',
    wants: (path) => isLockfile(path) || installedManifestPattern.test(path),
    collect: (file, maxBytes) => collectNpm(file, maxBytes),
  };
}

function isLockfile(path: string): boolean {
  const slash = path.lastIndexOf('/');

  return lockfileNames.has(path.slice(slash + 1)) && !path.includes(`/${nodeModulesMarker}`);
}

async function collectNpm(file: LayerFile, maxBytes: number): Promise<FileFindings> {
  const read = await readLayerText(file, maxBytes);

  if ('warning' in read) {
    return { packages: [], warnings: [read.warning] };
  }

  let document: unknown;

  // NOTE: the parsed tree takes a few times the size of the text, so `maxBytes` bounds the text only.
  try {
    document = JSON.parse(read.text);
  } catch (error) {
    return { packages: [], warnings: [`${file.path}: invalid JSON: ${errorMessage(error)}`] };
  }

  if (!isObject(document)) {
    return { packages: [], warnings: [`${file.path}: expected a JSON object`] };
  }

  if (isLockfile(file.path)) {
    return readLockfile(document, file.path);
  }

  return readInstalledManifest(document, file.path);
}

/** Reads a lockfile of any version, preferring the `packages` map that versions 2 and 3 carry. */
export function readLockfile(document: JsonObject, path: string): FileFindings {
  if (isObject(document.packages)) {
    return { packages: fromPackagesMap(document.packages), warnings: [] };
  }

  if (isObject(document.dependencies)) {
    return { packages: fromDependencyTree(document.dependencies), warnings: [] };
  }

  const version = typeof document.lockfileVersion === 'number' ? document.lockfileVersion : 'none';

  return {
    packages: [],
    warnings: [`${path}: lockfileVersion ${version} with neither a packages nor a dependencies object`],
  };
}

/** Reads the `packages` map of lockfileVersion 2 and 3. */
function fromPackagesMap(entries: JsonObject): FoundPackage[] {
  const found = new PackageList();

  for (const [key, entry] of Object.entries(entries)) {
    const marker = key.lastIndexOf(nodeModulesMarker);

    if (marker < 0 || !isObject(entry) || entry.link === true) {
      continue;
    }

    // An aliased install (`"legacy-ms": "npm:ms@1.0.0"`) sits under the alias and names the real package.
    const name = typeof entry.name === 'string' ? entry.name : key.slice(marker + nodeModulesMarker.length);
    const license = typeof entry.license === 'string' ? [entry.license] : undefined;

    if (typeof entry.version === 'string') {
      found.add(name, entry.version, license);
    }
  }

  return found.packages;
}

/** Reads the nested `dependencies` tree of lockfileVersion 1, with a stack instead of recursion. */
function fromDependencyTree(root: JsonObject): FoundPackage[] {
  const found = new PackageList();
  const pending: JsonObject[] = [root];

  for (let level = pending.pop(); level !== undefined; level = pending.pop()) {
    for (const [key, entry] of Object.entries(level)) {
      if (!isObject(entry)) {
        continue;
      }

      const resolved = resolveVersion(key, entry.version);

      if (resolved !== undefined) {
        found.add(resolved.name, resolved.version, undefined);
      }

      if (isObject(entry.dependencies)) {
        pending.push(entry.dependencies);
      }
    }
  }

  return found.packages;
}

/**
 * Returns the registry package a version 1 entry stands for. An alias records `npm:<name>@<version>`.
 * Git, tarball and `file:` sources record a URL or path instead of a version and are skipped, because
 * no registry advisory can name them.
 */
function resolveVersion(key: string, version: unknown): { name: string; version: string } | undefined {
  if (typeof version !== 'string') {
    return undefined;
  }

  if (version.startsWith('npm:')) {
    const spec = version.slice('npm:'.length);
    const at = spec.lastIndexOf('@');

    return at > 0 ? { name: spec.slice(0, at), version: spec.slice(at + 1) } : undefined;
  }

  if (version.includes(':') || version.includes('/')) {
    return undefined;
  }

  return { name: key, version };
}

/** Reads `node_modules/<name>/package.json`: the installed package's name, version and license. */
export function readInstalledManifest(manifest: JsonObject, path: string): FileFindings {
  const { name, version } = manifest;

  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '') {
    return { packages: [], warnings: [`${path}: package.json has no name or no version`] };
  }

  const found = new PackageList();

  found.add(name, version, manifestLicenses(manifest));

  return { packages: found.packages, warnings: [] };
}

/** Reads `license` as a string or `{ type }`, or the older `licenses: [{ type }]` array. */
function manifestLicenses(manifest: JsonObject): string[] | undefined {
  const { license, licenses } = manifest;

  if (typeof license === 'string') {
    return [license];
  }

  if (isObject(license) && typeof license.type === 'string') {
    return [license.type];
  }

  if (Array.isArray(licenses)) {
    const types = licenses.flatMap((entry) =>
      isObject(entry) && typeof entry.type === 'string' ? [entry.type] : [],
    );

    return types.length > 0 ? types : undefined;
  }

  return undefined;
}

/** The packages of one file, each name and version once: a lockfile repeats a package at several install paths. */
class PackageList {
  readonly packages: FoundPackage[] = [];
  private readonly seen = new Set<string>();

  add(name: string, version: string, licenses: string[] | undefined): void {
    const key = `${name}@${version}`;

    if (this.seen.has(key)) {
      return;
    }

    this.seen.add(key);
    this.packages.push({
      type: 'npm',
      name,
      version,
      purl: languagePurl('npm', name, version),
      ...(licenses === undefined ? {} : { licenses }),
    });
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
