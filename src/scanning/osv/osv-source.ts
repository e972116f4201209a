import { createWriteStream } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';

import { Agent, interceptors, request } from 'undici';
import { openPromise as openZip, type Entry, type ZipFile } from 'yauzl';

/**
 * One item read from an OSV source: the JSON text of one record, or why a file or zip entry was
 * skipped. `name` is the file, zip entry or array element it came from, such as `npm/GHSA-p6mc-m468-83gw.json` or `all.json[3]`.
 */
export type OsvSourceItem = { name: string; text: string } | { name: string; warning: string };

/** Largest record read; a bigger one is skipped with a warning. */
export const maxRecordBytes = 8 * 1024 * 1024;

/** Largest file or zip entry read into memory, which may hold a JSON array of records. */
export const maxFileBytes = 64 * 1024 * 1024;

/** The size limits of `readOsvSource`, in bytes. */
export interface OsvSourceLimits {
  maxRecordBytes: number;
  maxFileBytes: number;
}

/**
 * A source that cannot be read at all, or that contains no record. Examples are a missing path, a
 * `.zip` path that is not a zip archive, a zip archive without a readable directory, and an empty folder.
 */
export class OsvSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OsvSourceError';
  }
}

const defaultLimits: OsvSourceLimits = { maxRecordBytes, maxFileBytes };

/** The first bytes of a zip archive: a local file header, or the end record of an empty archive. */
const zipSignatures = [Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.from('PK\u0005\u0006', 'latin1')];

/**
 * Reads OSV records from a folder (every `*.json` below it), a zip archive such as OSV's per-ecosystem
 * `all.zip`, or one JSON file. A file or entry contains one record or a JSON array of records. A zip is
 * read entry by entry from the file, and each entry's CRC-32 is checked, because yauzl 3 does not.
 * Files, entries and records over the limits, and entries that fail to decompress or to match their
 * CRC-32, are yielded as warnings and the rest is read. Throws OsvSourceError when the path is missing
 * or a path ending in `.zip` does not start like a zip archive. It is also thrown when a zip archive
 * cannot be opened, such as one cut short, whose directory is at its end. A source that yielded nothing,
 * neither a record nor a warning, throws it at its end.
 */
export async function* readOsvSource(
  path: string,
  limits: OsvSourceLimits = defaultLimits,
): AsyncGenerator<OsvSourceItem> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new OsvSourceError(
      error.code === 'ENOENT'
        ? `no such file or folder: ${path}`
        : `cannot read ${path}: ${error.code ?? error.message}`,
    );
  });
  let items: AsyncGenerator<OsvSourceItem>;
  let emptyMessage: string;

  if (info.isDirectory()) {
    items = readFolder(path, path, limits);
    emptyMessage = `no OSV records (*.json files) found in ${path}`;
  } else if (await isZip(path)) {
    items = readZip(path, limits);
    emptyMessage = `no OSV records (*.json entries) found in the zip archive ${path}`;
  } else if (path.toLowerCase().endsWith('.zip')) {
    throw new OsvSourceError(
      `${path} is not a zip archive: it does not start with a zip header, so it is another kind of file or its start is missing`,
    );
  } else {
    items = readJsonFile(path, basename(path), info.size, limits);
    emptyMessage = `no OSV records found in ${path}: it contains an empty JSON array`;
  }

  let count = 0;

  for await (const item of items) {
    count++;
    yield item;
  }

  if (count === 0) {
    throw new OsvSourceError(emptyMessage);
  }
}

async function* readFolder(
  root: string,
  folder: string,
  limits: OsvSourceLimits,
): AsyncGenerator<OsvSourceItem> {
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  );

  for (const entry of entries) {
    const path = join(folder, entry.name);

    // Links to folders are not followed, so a link cycle cannot make the walk endless.
    if (entry.isDirectory()) {
      yield* readFolder(root, path, limits);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && entry.name.toLowerCase().endsWith('.json')) {
      const info = await stat(path).catch(() => undefined);

      if (info?.isFile() === true) {
        yield* readJsonFile(path, relative(root, path), info.size, limits);
      }
    }
  }
}

async function* readJsonFile(
  path: string,
  name: string,
  size: number,
  limits: OsvSourceLimits,
): AsyncGenerator<OsvSourceItem> {
  if (size > limits.maxFileBytes) {
    yield {
      name,
      warning: `${name} was skipped: it is ${size} bytes, over the limit of ${limits.maxFileBytes}`,
    };

    return;
  }

  let bytes: Buffer;

  try {
    bytes = await readFile(path);
  } catch (error) {
    yield { name, warning: `${name} was skipped: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };

    return;
  }

  yield* recordsOf(name, bytes, limits);
}

/**
 * Splits a file's bytes into records: a JSON array yields each element, anything else is one record
 * whose JSON the importer checks.
 */
function* recordsOf(name: string, bytes: Buffer, limits: OsvSourceLimits): Generator<OsvSourceItem> {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');

  if (!text.trimStart().startsWith('[')) {
    if (bytes.length > limits.maxRecordBytes) {
      yield { name, warning: tooLarge(name, bytes.length, limits) };
    } else {
      yield { name, text };
    }

    return;
  }

  let elements: unknown;

  try {
    elements = JSON.parse(text);
  } catch (error) {
    yield { name, warning: `${name} was skipped: it is not valid JSON (${(error as Error).message})` };

    return;
  }

  for (const [index, element] of (elements as unknown[]).entries()) {
    const elementName = `${name}[${index}]`;
    const elementText = JSON.stringify(element);
    const elementBytes = Buffer.byteLength(elementText);

    if (elementBytes > limits.maxRecordBytes) {
      yield { name: elementName, warning: tooLarge(elementName, elementBytes, limits) };
    } else {
      yield { name: elementName, text: elementText };
    }
  }
}

function tooLarge(name: string, size: number, limits: OsvSourceLimits): string {
  return `${name} was skipped: the record is ${size} bytes, over the limit of ${limits.maxRecordBytes}`;
}

async function isZip(path: string): Promise<boolean> {
  const file = await open(path, 'r');

  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);

    return bytesRead === 4 && zipSignatures.some((signature) => signature.equals(head));
  } finally {
    await file.close();
  }
}

async function* readZip(path: string, limits: OsvSourceLimits): AsyncGenerator<OsvSourceItem> {
  let zip: ZipFile;

  try {
    zip = await openZip(path, { autoClose: true, validateEntrySizes: true, strictFileNames: false });
  } catch (error) {
    throw new OsvSourceError(`cannot read ${path} as a zip archive: ${(error as Error).message}`);
  }

  const entries = zip.eachEntry();

  try {
    for (;;) {
      let next: IteratorResult<Entry>;

      try {
        next = await entries.next();
      } catch (error) {
        // The directory itself is damaged, so no later entry can be found.
        yield {
          name: basename(path),
          warning: `the rest of ${basename(path)} was skipped: ${(error as Error).message}`,
        };

        return;
      }

      if (next.done === true) {
        return;
      }

      const entry = next.value;

      if (!entry.fileName.endsWith('/') && entry.fileName.toLowerCase().endsWith('.json')) {
        yield* readZipEntry(zip, entry, limits);
      }
    }
  } finally {
    zip.close();
  }
}

async function* readZipEntry(
  zip: ZipFile,
  entry: Entry,
  limits: OsvSourceLimits,
): AsyncGenerator<OsvSourceItem> {
  const name = entry.fileName;

  if (entry.uncompressedSize > limits.maxFileBytes) {
    yield {
      name,
      warning: `${name} was skipped: it is ${entry.uncompressedSize} bytes, over the limit of ${limits.maxFileBytes}`,
    };

    return;
  }

  let bytes: Buffer;

  try {
    bytes = await readEntry(zip, entry);
  } catch (error) {
    yield { name, warning: `${name} was skipped: ${(error as Error).message}` };

    return;
  }

  yield* recordsOf(name, bytes, limits);
}

/** Reads an entry whose size yauzl checks against the directory, and checks its CRC-32. */
async function readEntry(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let checksum = 0;

  for await (const chunk of stream) {
    checksum = crc32(chunk as Buffer, checksum);
    chunks.push(chunk as Buffer);
  }

  if (checksum !== entry.crc32) {
    throw new Error(
      `its CRC-32 is ${hex(checksum)} but the archive records ${hex(entry.crc32)}, so the entry is damaged`,
    );
  }

  return Buffer.concat(chunks);
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** `ETag` and `Last-Modified` of the last mirror download, sent back to ask for changes only. */
export interface MirrorValidators {
  etag?: string;
  lastModified?: string;
}

/** The outcome of a mirror request: nothing new (304), or a file written to the target path. */
export type MirrorDownload =
  { notModified: true } | { notModified: false; bytes: number; validators: MirrorValidators };

/** The time limits and size limit of a mirror download. */
export interface MirrorDownloadOptions {
  /** Maximum wait for the response headers, and for each chunk of the body, in milliseconds. */
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

/** A mirror that could not be downloaded: unreachable, an HTTP error, or a file over the size limit. */
export class MirrorDownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MirrorDownloadError';
  }
}

const maxRedirections = 5;

/**
 * Downloads an OSV mirror file to `target` with a conditional GET: with `validators` from the last
 * download, a mirror that responds with 304 Not Modified writes nothing. Redirects are followed up to 5
 * times. On any failure `target` is removed and MirrorDownloadError is thrown.
 */
export async function downloadOsvMirror(
  url: string,
  target: string,
  validators: MirrorValidators,
  options: MirrorDownloadOptions,
): Promise<MirrorDownload> {
  const headers: Record<string, string> = {};

  if (validators.etag !== undefined) {
    headers['if-none-match'] = validators.etag;
  }

  if (validators.lastModified !== undefined) {
    headers['if-modified-since'] = validators.lastModified;
  }

  const agent = new Agent({ headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });

  try {
    return await download(url, target, headers, agent, options);
  } catch (error) {
    await rm(target, { force: true });

    if (error instanceof MirrorDownloadError) {
      throw error;
    }

    const code = (error as { code?: unknown }).code;

    throw new MirrorDownloadError(
      `failed to download ${url}: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  } finally {
    await agent.close();
  }
}

async function download(
  url: string,
  target: string,
  headers: Record<string, string>,
  agent: Agent,
  options: MirrorDownloadOptions,
): Promise<MirrorDownload> {
  const response = await request(url, {
    method: 'GET',
    headers,
    dispatcher: agent.compose(interceptors.redirect({ maxRedirections })),
    signal: options.signal,
  });

  if (response.statusCode === 304) {
    await response.body.dump();

    return { notModified: true };
  }

  if (response.statusCode !== 200) {
    await response.body.dump();

    throw new MirrorDownloadError(`the mirror ${url} responded with HTTP ${response.statusCode}`);
  }

  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(
        bytes > options.maxBytes
          ? new MirrorDownloadError(
              `the mirror file ${url} is larger than the limit of ${options.maxBytes} bytes`,
            )
          : null,
        chunk,
      );
    },
  });

  await pipeline(response.body, limit, createWriteStream(target));

  return {
    notModified: false,
    bytes,
    validators: {
      etag: headerValue(response.headers['etag']),
      lastModified: headerValue(response.headers['last-modified']),
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
