import Database from 'better-sqlite3';

import type { InstalledPackage } from './package-databases.js';

/** An installed rpm package, with the license expression its header names. */
export interface RpmPackage extends InstalledPackage {
  type: 'rpm';
  license: string | null;
}

/** Packages read from one rpm database, and what was skipped and why. */
export interface RpmDatabaseContents {
  packages: RpmPackage[];
  warnings: string[];
}

/** The fields of an rpm header that an inventory needs. */
export interface RpmHeaderFields {
  name: string;
  version: string;
  release: string;
  /** Null when the header has no EPOCH tag, which rpm compares as epoch 0. */
  epoch: number | null;
  architecture: string | null;
  /** File name of the source package, such as `openssl-3.0.7-27.el9.src.rpm`. */
  sourceRpm: string | null;
  license: string | null;
}

/** Header tag numbers that rpm assigns. */
const tags = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  license: 1014,
  architecture: 1022,
  sourceRpm: 1044,
} as const;

/** Header data types that rpm assigns: INT32, STRING, STRING_ARRAY and I18NSTRING. */
const dataTypes = { int32: 4, string: 6, stringArray: 8, i18nString: 9 } as const;

/** Bytes of the two counts that start a header: index entries, then data length. */
const preambleBytes = 8;
/** Bytes of one index entry: tag, type, offset and count, each a big-endian 32-bit integer. */
const indexEntryBytes = 16;

const sqliteMagic = Buffer.from('SQLite format 3\u0000', 'latin1');

/** Error for a header blob that does not have the structure rpm writes. */
export class RpmHeaderError extends Error {
  override name = 'RpmHeaderError';
}

/**
 * Reads an rpm SQLite database (`rpmdb.sqlite`, the default backend since rpm 4.16) held in memory:
 * each row of its `Packages` table is one package header. `gpg-pubkey` entries are imported signing
 * keys, not packages, and are left out. A database that cannot be opened and a malformed header
 * become warnings. rpm keeps the database in WAL mode, and an in-memory SQLite database cannot be
 * opened in that mode. So this function switches `bytes` to rollback-journal mode in place (header
 * bytes 18 and 19). Rows still waiting in a separate `-wal` file are not read.
 */
export function readRpmDatabase(bytes: Buffer, where: string): RpmDatabaseContents {
  if (bytes.length < 100 || !bytes.subarray(0, sqliteMagic.length).equals(sqliteMagic)) {
    return { packages: [], warnings: [`${where} is not an SQLite database and was not read`] };
  }

  if (bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }

  const packages: RpmPackage[] = [];
  const warnings: string[] = [];
  let database: Database.Database | undefined;

  try {
    database = new Database(bytes, { readonly: true });

    for (const row of database.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').iterate()) {
      const entry = packageOfRow(row, where);

      if (typeof entry === 'string') {
        warnings.push(entry);
      } else if (entry !== undefined) {
        packages.push(entry);
      }
    }
  } catch (error) {
    warnings.push(`${where} could not be read as an rpm database: ${(error as Error).message}`);
  } finally {
    database?.close();
  }

  return { packages, warnings };
}

/** Returns the package of one `Packages` row, undefined for a signing key, or a warning. */
function packageOfRow(row: unknown, where: string): RpmPackage | string | undefined {
  const { hnum, blob } = row as { hnum: unknown; blob: unknown };

  if (!(blob instanceof Uint8Array)) {
    return `${where}: package ${String(hnum)} has no header blob and was skipped`;
  }

  let header: RpmHeaderFields;

  try {
    header = parseRpmHeader(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
  } catch (error) {
    if (!(error instanceof RpmHeaderError)) {
      throw error;
    }

    return `${where}: package header ${String(hnum)} is malformed (${error.message}) and was skipped`;
  }

  if (header.name === 'gpg-pubkey') {
    return undefined;
  }

  const epoch = header.epoch === null || header.epoch === 0 ? '' : `${header.epoch}:`;
  const source = sourceOf(header.sourceRpm);

  return {
    type: 'rpm',
    name: header.name,
    version: `${epoch}${header.version}-${header.release}`,
    // A source rpm's file name carries no epoch. The epoch is set once in the spec file for the
    // source package and all its binary packages, so the binary package's epoch is the source's.
    sourceName: source?.name ?? header.name,
    sourceVersion:
      source === undefined ? `${epoch}${header.version}-${header.release}` : `${epoch}${source.version}`,
    architecture: header.architecture,
    license: header.license,
  };
}

/** Splits `name-version-release.src.rpm` into the source package name and `version-release`. */
function sourceOf(sourceRpm: string | null): { name: string; version: string } | undefined {
  const match = /^(.+)-([^-]+-[^-]+)\.(?:no)?src\.rpm$/.exec(sourceRpm ?? '');

  return match === null ? undefined : { name: match[1], version: match[2] };
}

/**
 * Parses an rpm header as the database stores it, with no lead and no header magic. It starts with
 * the index entry count and the data length (big-endian 32-bit), then the index entries of 16 bytes
 * each (tag, type, offset into the data, count), then the data. Throws RpmHeaderError when the
 * counts do not fit the blob, a needed entry points outside the data, or NAME, VERSION or RELEASE
 * is missing.
 */
export function parseRpmHeader(blob: Buffer): RpmHeaderFields {
  if (blob.length < preambleBytes) {
    throw new RpmHeaderError(`${blob.length} bytes is shorter than the 8-byte preamble`);
  }

  const indexCount = blob.readUInt32BE(0);
  const dataLength = blob.readUInt32BE(4);
  const dataStart = preambleBytes + indexCount * indexEntryBytes;

  if (indexCount === 0 || dataStart + dataLength > blob.length) {
    throw new RpmHeaderError(
      `${indexCount} index entries and ${dataLength} data bytes do not fit in ${blob.length} bytes`,
    );
  }

  const data = blob.subarray(dataStart, dataStart + dataLength);
  const entries = new Map<number, IndexEntry>();

  for (let index = 0; index < indexCount; index++) {
    const at = preambleBytes + index * indexEntryBytes;

    entries.set(blob.readUInt32BE(at), {
      type: blob.readUInt32BE(at + 4),
      offset: blob.readUInt32BE(at + 8),
      count: blob.readUInt32BE(at + 12),
    });
  }

  const read = (tag: number): string | null => readString(data, entries.get(tag), tag);

  return {
    name: required(read(tags.name), 'NAME'),
    version: required(read(tags.version), 'VERSION'),
    release: required(read(tags.release), 'RELEASE'),
    epoch: readInt32(data, entries.get(tags.epoch), tags.epoch),
    architecture: read(tags.architecture),
    sourceRpm: read(tags.sourceRpm),
    license: read(tags.license),
  };
}

interface IndexEntry {
  type: number;
  offset: number;
  count: number;
}

function required(value: string | null, tagName: string): string {
  if (value === null || value === '') {
    throw new RpmHeaderError(`it has no ${tagName}`);
  }

  return value;
}

/** Reads a string entry. Of a string array or a translated string, the first string counts. */
function readString(data: Buffer, entry: IndexEntry | undefined, tag: number): string | null {
  if (entry === undefined) {
    return null;
  }

  const isString = [dataTypes.string, dataTypes.stringArray, dataTypes.i18nString].some(
    (type) => type === entry.type,
  );

  if (!isString || entry.count === 0) {
    throw new RpmHeaderError(`tag ${tag} has type ${entry.type} and count ${entry.count}, not a string`);
  }

  const end = entry.offset < data.length ? data.indexOf(0, entry.offset) : -1;

  if (end === -1) {
    throw new RpmHeaderError(`the string of tag ${tag} at offset ${entry.offset} has no end in the data`);
  }

  return data.toString('utf8', entry.offset, end);
}

function readInt32(data: Buffer, entry: IndexEntry | undefined, tag: number): number | null {
  if (entry === undefined) {
    return null;
  }

  if (entry.type !== dataTypes.int32 || entry.count === 0 || entry.offset + 4 > data.length) {
    throw new RpmHeaderError(`tag ${tag} is not a 32-bit integer inside the data`);
  }

  return data.readUInt32BE(entry.offset);
}
