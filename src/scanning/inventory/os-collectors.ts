import type { FileCollector, FileFindings, FoundPackage, LayerFile, OperatingSystem } from './inventory.js';
import {
  type DatabaseContents,
  type InstalledPackage,
  parseApkInstalled,
  parseDpkgFileList,
  parseDpkgStatus,
} from './package-databases.js';
import { readLayerFile } from './read-bounded.js';
import { readRpmDatabase } from './rpm-database.js';

/** dpkg's file list of one package: `/var/lib/dpkg/info/<package>.list` or `<package>:<arch>.list`. */
const dpkgFileListPattern = /^\/var\/lib\/dpkg\/info\/[^/]+\.list$/;

/**
 * Reads Debian and Ubuntu packages from `/var/lib/dpkg/status`, and from the one-file-per-package
 * `/var/lib/dpkg/status.d/` of distroless images, whose `*.md5sums` files list checksums only. Also
 * reads the file list of each package in `/var/lib/dpkg/info/`, which yields owned paths and no
 * packages.
 */
export const dpkgCollector: FileCollector = {
  name: 'dpkg',

  wants(path) {
    if (path === '/var/lib/dpkg/status' || dpkgFileListPattern.test(path)) {
      return true;
    }

    return /^\/var\/lib\/dpkg\/status\.d\/[^/]+$/.test(path) && !path.endsWith('.md5sums');
  },

  async collect(file, maxBytes) {
    if (dpkgFileListPattern.test(file.path)) {
      return readFileList(file, maxBytes);
    }

    return readTextDatabase(file, maxBytes, parseDpkgStatus);
  },
};

/** Reads Alpine packages, and the paths of their files, from apk's installed database, `/lib/apk/db/installed`. */
export const apkCollector: FileCollector = {
  name: 'apk',

  wants: (path) => path === '/lib/apk/db/installed',

  async collect(file, maxBytes) {
    return readTextDatabase(file, maxBytes, parseApkInstalled);
  },
};

/** Paths of the SQLite rpm database: `/var/lib/rpm`, and `/usr/lib/sysimage/rpm` in newer Fedora releases. */
const rpmSqlitePaths = new Set(['/var/lib/rpm/rpmdb.sqlite', '/usr/lib/sysimage/rpm/rpmdb.sqlite']);

/** rpm databases of older backends: Berkeley DB (RHEL 8 and before) and rpm's own ndb (SUSE). */
const rpmLegacyPaths = new Map([
  ['/var/lib/rpm/Packages', 'Berkeley DB'],
  ['/usr/lib/sysimage/rpm/Packages', 'Berkeley DB'],
  ['/var/lib/rpm/Packages.db', 'ndb'],
  ['/usr/lib/sysimage/rpm/Packages.db', 'ndb'],
]);

/**
 * Reads Red Hat, Rocky Linux, AlmaLinux and openSUSE packages from rpm's SQLite database. The
 * database is read into memory, so it must fit in `maxBytes`. Berkeley DB and ndb databases are
 * reported as unsupported, and so is a non-empty write-ahead log, whose packages would be missed.
 */
export const rpmCollector: FileCollector = {
  name: 'rpm',

  wants(path, size) {
    if (rpmSqlitePaths.has(path) || rpmLegacyPaths.has(path)) {
      return true;
    }

    return size > 0 && path.endsWith('-wal') && rpmSqlitePaths.has(path.slice(0, -'-wal'.length));
  },

  async collect(file, maxBytes) {
    const legacyFormat = rpmLegacyPaths.get(file.path);

    if (legacyFormat !== undefined) {
      return noPackages(
        `${file.path} uses an unsupported rpm database format (${legacyFormat}), so it was not read`,
      );
    }

    if (file.path.endsWith('-wal')) {
      return noPackages(
        `${file.path} holds ${file.size} bytes that rpm has not yet written into the database, ` +
          'so packages installed last may be missing',
      );
    }

    const read = await readLayerFile(file, maxBytes);

    if ('warning' in read) {
      return noPackages(read.warning);
    }

    const { packages, warnings } = readRpmDatabase(read.data, file.path);

    return {
      packages: packages.map((entry) => ({
        ...foundPackageOf(entry),
        ...(entry.license === null ? {} : { licenses: [entry.license] }),
      })),
      warnings,
    };
  },
};

/** Returns the collectors of OS package databases: dpkg, apk and rpm. */
export function osCollectors(): FileCollector[] {
  return [dpkgCollector, apkCollector, rpmCollector];
}

async function readTextDatabase(
  file: LayerFile,
  maxBytes: number,
  parse: (text: string, where: string) => DatabaseContents,
): Promise<FileFindings> {
  const read = await readLayerFile(file, maxBytes);

  if ('warning' in read) {
    return noPackages(read.warning);
  }

  const { packages, warnings, ownedPaths = [] } = parse(read.data.toString('utf8'), file.path);

  return {
    packages: packages.map(foundPackageOf),
    warnings,
    ...(ownedPaths.length === 0 ? {} : { ownedPaths }),
  };
}

async function readFileList(file: LayerFile, maxBytes: number): Promise<FileFindings> {
  const read = await readLayerFile(file, maxBytes);

  if ('warning' in read) {
    return noPackages(read.warning);
  }

  const { paths, warnings } = parseDpkgFileList(read.data.toString('utf8'), file.path);

  return { packages: [], warnings, ...(paths.length === 0 ? {} : { ownedPaths: paths }) };
}

function noPackages(warning: string): FileFindings {
  return { packages: [], warnings: [warning] };
}

function foundPackageOf(entry: InstalledPackage): FoundPackage {
  return {
    type: entry.type,
    name: entry.name,
    version: entry.version,
    sourceName: entry.sourceName,
    sourceVersion: entry.sourceVersion,
    ...(entry.architecture === null ? {} : { architecture: entry.architecture }),
  };
}

/**
 * Parses an os-release file as os-release(5) defines it: `KEY=value` lines, `#` comments, values
 * in double quotes (where a backslash escapes `$`, `"`, `` ` `` and `\`), in single quotes, or bare.
 * `ID` defaults to `linux`, as the format specifies.
 */
export function parseOsRelease(text: string): OperatingSystem {
  const fields = new Map<string, string>();

  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z0-9_]+)=(.*)$/.exec(line);

    if (match !== null) {
      fields.set(match[1], unquote(match[2].trim()));
    }
  }

  const id = fields.get('ID');

  return {
    id: id === undefined || id === '' ? 'linux' : id,
    versionId: fields.get('VERSION_ID') ?? null,
    prettyName: fields.get('PRETTY_NAME') ?? null,
  };
}

function unquote(value: string): string {
  if (value.startsWith("'")) {
    const end = value.indexOf("'", 1);

    return value.slice(1, end === -1 ? undefined : end);
  }

  if (!value.startsWith('"')) {
    return value.replace(/\\(.)/g, '$1');
  }

  let result = '';

  for (let index = 1; index < value.length; index++) {
    const character = value[index];

    if (character === '"') {
      break;
    }

    if (character === '\\' && '$"`\\'.includes(value[index + 1] ?? 'x')) {
      index++;
      result += value[index];
    } else {
      result += character;
    }
  }

  return result;
}

/** The parts of `VERSION_ID`: `3.19.1` has major `3`, minor `19`. */
interface Release {
  version: string;
  major: string;
  minor: string | undefined;
}

/**
 * The OSV ecosystem of each known os-release `ID`, as the OSV schema's ecosystem list
 * (ossf/osv-schema `ecosystems.json`) defines it; undefined when `VERSION_ID` does not fit.
 */
const osEcosystems: Record<string, (release: Release) => string | undefined> = {
  debian: ({ major }) => `Debian:${major}`,
  // NOTE: OSV writes LTS releases as `Ubuntu:22.04:LTS`, so a lookup must try that spelling too.
  ubuntu: ({ version }) => `Ubuntu:${version}`,
  alpine: ({ major, minor }) => (minor === undefined ? undefined : `Alpine:v${major}.${minor}`),
  rocky: ({ major }) => `Rocky Linux:${major}`,
  almalinux: ({ major }) => `AlmaLinux:${major}`,
  // NOTE: OSV scopes Red Hat advisories to a product stream, such as
  // `Red Hat:enterprise_linux:9::baseos` or `...::appstream`. The rpm database does not record
  // which stream a package came from, so this is the prefix that the release's streams share.
  rhel: ({ major }) => `Red Hat:enterprise_linux:${major}`,
  'opensuse-leap': ({ version }) => `openSUSE:Leap ${version}`,
};

/** Returns the OSV ecosystem that advisories for the OS's packages are filed under, or why it is unknown. */
export function ecosystemOfOs(os: OperatingSystem): { ecosystem: string } | { problem: string } {
  if (os.id === 'opensuse-tumbleweed') {
    return { ecosystem: 'openSUSE:Tumbleweed' };
  }

  const ecosystemOf = Object.hasOwn(osEcosystems, os.id) ? osEcosystems[os.id] : undefined;

  if (ecosystemOf === undefined) {
    return { problem: `no OSV ecosystem is known for the OS "${os.id}", so its packages have no ecosystem` };
  }

  const version = os.versionId ?? '';
  const [major, minor] = version.split('.');
  const ecosystem = /^\d+$/.test(major) ? ecosystemOf({ version, major, minor }) : undefined;

  if (ecosystem === undefined) {
    return {
      problem:
        `the os-release of ${os.id} has no usable VERSION_ID (${JSON.stringify(os.versionId)}), ` +
        'so its packages have no ecosystem',
    };
  }

  return { ecosystem };
}
