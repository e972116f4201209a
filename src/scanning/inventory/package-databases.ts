/** A package an OS package database lists as installed. */
export interface InstalledPackage {
  /** The package manager's database: `dpkg`, `apk` or `rpm`. */
  type: 'dpkg' | 'apk' | 'rpm';
  name: string;
  version: string;
  /** The source package it was built from, which Debian advisories name; the package itself when unnamed. */
  sourceName: string;
  sourceVersion: string;
  architecture: string | null;
}

/** Largest package database read; a bigger one is reported instead of read into memory. */
export const maxDatabaseBytes = 64 * 1024 * 1024;

/** Packages read from one database file, and what was skipped and why. */
export interface DatabaseContents {
  packages: InstalledPackage[];
  warnings: string[];
  /** Absolute paths of the files the packages installed, from databases that list them (apk). */
  ownedPaths?: string[];
}

/** Paths read from one file list of an OS package, and what was skipped and why. */
export interface FileListContents {
  paths: string[];
  warnings: string[];
}

/**
 * Reads a dpkg status file (`/var/lib/dpkg/status`, or one file of `status.d/` in distroless
 * images): stanzas of `Field: value` lines separated by blank lines, with continuation lines that
 * start with white space. Only packages whose `Status` ends in `installed` count; a `status.d/`
 * file has no `Status` and counts as installed. `Source` may carry its own version, as in
 * `Source: glibc (2.36-9)`.
 */
export function parseDpkgStatus(text: string, where: string): DatabaseContents {
  const warnings: string[] = [];
  const problem = checkText(text, where);

  if (problem !== undefined) {
    return { packages: [], warnings: [problem] };
  }

  const packages = stanzas(text).flatMap((fields, index) => {
    const name = fields.get('package');
    const version = fields.get('version');
    const status = fields.get('status');

    if (status !== undefined && !/\binstalled$/.test(status)) {
      return [];
    }

    if (name === undefined || version === undefined) {
      warnings.push(`${where}: stanza ${index + 1} has no Package or Version and was skipped`);

      return [];
    }

    const source = /^(\S+)(?:\s+\((\S+)\))?$/.exec(fields.get('source') ?? '');

    return [
      {
        type: 'dpkg' as const,
        name,
        version,
        sourceName: source?.[1] ?? name,
        sourceVersion: source?.[2] ?? version,
        architecture: fields.get('architecture') ?? null,
      },
    ];
  });

  return { packages, warnings };
}

/**
 * Reads Alpine's installed database (`/lib/apk/db/installed`): stanzas of one-letter `K:value` lines
 * separated by blank lines, where `P` is the package, `V` its version, `A` its architecture and `o`
 * the origin (source) package that Alpine advisories name. The file list of each package is a run of
 * `F:` lines, each naming a directory relative to the root, followed by `R:` lines naming the files
 * of that directory. apk-tools rejects an `R:` line with no `F:` line before it in its stanza, and so
 * does this function, with a warning.
 */
export function parseApkInstalled(text: string, where: string): DatabaseContents {
  const warnings: string[] = [];
  const problem = checkText(text, where);

  if (problem !== undefined) {
    return { packages: [], warnings: [problem] };
  }

  const ownedPaths: string[] = [];
  const packages = text
    .split(/\n\s*\n/)
    .filter((block) => block.trim() !== '')
    .flatMap((block, index) => {
      const { fields, paths, filesWithoutDirectory } = readApkStanza(block);

      // A loop, because spreading a package's whole file list into push() can exceed the call stack.
      for (const path of paths) {
        ownedPaths.push(path);
      }

      if (filesWithoutDirectory > 0) {
        warnings.push(
          `${where}: entry ${index + 1} has ${filesWithoutDirectory} R: line(s) before any F: line, ` +
            'which were skipped',
        );
      }

      const name = fields.get('P');
      const version = fields.get('V');

      if (name === undefined || version === undefined) {
        warnings.push(`${where}: entry ${index + 1} has no P: or V: line and was skipped`);

        return [];
      }

      return [
        {
          type: 'apk' as const,
          name,
          version,
          sourceName: fields.get('o') ?? name,
          sourceVersion: version,
          architecture: fields.get('A') ?? null,
        },
      ];
    });

  return { packages, warnings, ownedPaths };
}

/** Reads one stanza of apk's installed database: its fields, and the absolute paths of its files. */
function readApkStanza(block: string): {
  fields: Map<string, string>;
  paths: string[];
  filesWithoutDirectory: number;
} {
  const fields = new Map<string, string>();
  const paths: string[] = [];
  let directory: string | undefined;
  let filesWithoutDirectory = 0;

  for (const line of block.split('\n')) {
    const match = /^([A-Za-z]):(.*)$/.exec(line);

    if (match === null) {
      continue;
    }

    const [, key, value] = match;

    // File names may contain spaces at either end, so F: and R: values are kept as written.
    if (key === 'F') {
      directory = value.replace(/^\/+|\/+$/g, '');
    } else if (key === 'R' && directory === undefined) {
      filesWithoutDirectory++;
    } else if (key === 'R' && directory !== undefined) {
      paths.push(directory === '' ? `/${value}` : `/${directory}/${value}`);
    }

    // Several letters repeat per file of the package (R, Z, a, M); the first value of each counts.
    if (!fields.has(key)) {
      fields.set(key, value.trim());
    }
  }

  return { fields, paths, filesWithoutDirectory };
}

/**
 * Reads a dpkg file list, `/var/lib/dpkg/info/<package>.list` (or `<package>:<arch>.list` for a
 * package marked `Multi-Arch: same`, such as `libc6:amd64.list`): the absolute path of each file and
 * directory that the package installed, one a line. The `/.` line that dpkg writes for the root
 * directory is left out, and so are lines that are not absolute paths, with one warning.
 */
export function parseDpkgFileList(text: string, where: string): FileListContents {
  const problem = checkText(text, where);

  if (problem !== undefined) {
    return { paths: [], warnings: [problem] };
  }

  const paths: string[] = [];
  let relative = 0;

  for (const line of text.split('\n')) {
    if (line === '' || line === '/.') {
      continue;
    }

    if (line.startsWith('/')) {
      paths.push(line);
    } else {
      relative++;
    }
  }

  const warnings =
    relative === 0 ? [] : [`${where}: ${relative} line(s) are not absolute paths and were skipped`];

  return { paths, warnings };
}

/** Returns why a database file cannot be read as text, or undefined when it can. */
function checkText(text: string, where: string): string | undefined {
  if (Buffer.byteLength(text) > maxDatabaseBytes) {
    return `${where} is larger than ${maxDatabaseBytes / 1024 / 1024} MiB and was not read`;
  }

  if (text.includes('\u0000')) {
    return `${where} contains binary data and was not read`;
  }

  return undefined;
}

/** Splits a deb822 text into stanzas of lower-cased field names and values. */
function stanzas(text: string): Map<string, string>[] {
  const result: Map<string, string>[] = [];
  let fields = new Map<string, string>();
  let last: string | undefined;

  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size > 0) {
        result.push(fields);
        fields = new Map();
      }

      last = undefined;
      continue;
    }

    // A continuation line belongs to the field before it, such as a Description's long text.
    if (/^\s/.test(line)) {
      if (last !== undefined) {
        fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
      }

      continue;
    }

    const colon = line.indexOf(':');

    if (colon > 0) {
      last = line.slice(0, colon).trim().toLowerCase();
      fields.set(last, line.slice(colon + 1).trim());
    }
  }

  if (fields.size > 0) {
    result.push(fields);
  }

  return result;
}

/** The purl type of each OS package database, from the purl specification's list of types. */
const purlTypes = { dpkg: 'deb', apk: 'apk', rpm: 'rpm' } as const;

/**
 * Returns the package URL of an installed package, such as
 * `pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12`. `namespace` is the OS
 * vendor (`ID` of os-release) and is left out when unknown; `distro` is the OS release, such as
 * `debian-12`, when known. Version and qualifiers are percent-encoded as the purl specification
 * requires, so `+` and an epoch's `:` survive. An rpm epoch goes into the `epoch` qualifier instead
 * of the version, as the purl specification's rpm type defines, and qualifiers stay sorted by key.
 */
export function purlOf(entry: InstalledPackage, namespace: string | undefined, distro?: string): string {
  const rpmEpoch = entry.type === 'rpm' ? /^(\d+):(.*)$/.exec(entry.version) : null;
  const version = rpmEpoch === null ? entry.version : rpmEpoch[2];
  const qualifiers = [
    ...(entry.architecture === null ? [] : [`arch=${encodeURIComponent(entry.architecture)}`]),
    ...(distro === undefined ? [] : [`distro=${encodeURIComponent(distro)}`]),
    ...(rpmEpoch === null ? [] : [`epoch=${rpmEpoch[1]}`]),
  ];
  const query = qualifiers.length === 0 ? '' : `?${qualifiers.join('&')}`;
  const prefix = namespace === undefined ? '' : `${encodeURIComponent(namespace)}/`;

  return `pkg:${purlTypes[entry.type]}/${prefix}${encodeURIComponent(entry.name)}@${encodeURIComponent(version)}${query}`;
}
