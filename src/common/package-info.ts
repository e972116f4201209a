import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Location and version of Wharf's installed package. */
export interface PackageInfo {
  /** The directory that contains Wharf's package.json. */
  root: string;
  version: string;
}

/**
 * Finds Wharf's package.json upwards from a compiled module, the way Node finds the package a module
 * belongs to. The compiled code sits one or more levels below it (`dist/src/main.js`).
 */
export function findPackage(moduleUrl: string): PackageInfo {
  const start = dirname(fileURLToPath(moduleUrl));
  let directory = start;

  for (;;) {
    const manifest = readManifest(join(directory, 'package.json'));

    if (manifest?.name === 'wharf') {
      return { root: directory, version: String(manifest.version) };
    }

    const parent = dirname(directory);

    if (parent === directory) {
      throw new Error(`no package.json of wharf in ${start} or a directory above it`);
    }

    directory = parent;
  }
}

function readManifest(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }

    throw error;
  }
}
