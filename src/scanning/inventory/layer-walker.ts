import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import tarStream from 'tar-stream';

import type { FileCollector, FileFindings, InventoryWarning, LayerSource } from './inventory.js';
import { readLayerFile } from './read-bounded.js';

/** One entry of a tar archive, as tar-stream's extract stream yields it. */
type Entry = ReturnType<typeof tarStream.extract> extends AsyncIterable<infer T> ? T : never;

/** Compression of a layer's bytes. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/**
 * Layer media types of the OCI image specification and of Docker's image manifest version 2,
 * schema 2. Non-distributable (OCI) and foreign (Docker) layers hold the same tar streams.
 */
const layerMediaTypes = new Map<string, LayerCompression>([
  ['application/vnd.oci.image.layer.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
  ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar', 'none'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
]);

/** Bytes needed to recognize a layer: a tar header's `ustar` magic ends at offset 262. */
const headBytes = 262;

/** Largest file whose text the walker keeps for `keepText`, far above the size of an os-release file. */
export const maxKeptTextBytes = 64 * 1024;

/** Returns the compression a layer media type declares, or undefined for any other media type. */
export function compressionOfMediaType(mediaType: string): LayerCompression | undefined {
  return layerMediaTypes.get(mediaType.split(';')[0].trim().toLowerCase());
}

/** Returns what the first bytes of a blob show it to be: gzip, zstd, a POSIX or GNU tar, or unknown. */
export function sniffLayerFormat(head: Buffer): 'gzip' | 'zstd' | 'tar' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) {
    return 'gzip';
  }

  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    return 'zstd';
  }

  return head.toString('latin1', 257, 262) === 'ustar' ? 'tar' : undefined;
}

/**
 * Normalizes the name of a tar entry to an absolute path inside the image, such as `./usr/bin/` to
 * `/usr/bin`. Returns the problem instead for a name with a NUL byte, an absolute name, and a name
 * whose `..` components climb above the image root.
 */
export function normalizeEntryPath(name: string): { path: string } | { problem: string } {
  if (name.includes('\u0000')) {
    return { problem: 'contains a NUL byte' };
  }

  if (name.startsWith('/')) {
    return { problem: 'is an absolute path' };
  }

  const parts = resolveComponents([], name);

  return parts === undefined ? { problem: 'climbs above the image root' } : { path: `/${parts.join('/')}` };
}

/**
 * Returns the path a symbolic link at `path` points to, resolved by its text alone, or undefined
 * when the target climbs above the image root. An absolute target counts from the image root.
 */
export function linkTargetPath(path: string, target: string): string | undefined {
  const base = target.startsWith('/') ? [] : posix.dirname(path).split('/').filter(Boolean);
  const parts = resolveComponents(base, target);

  return parts === undefined ? undefined : `/${parts.join('/')}`;
}

/** Applies the components of `relative` to `base`, or returns undefined when `..` leaves the root. */
function resolveComponents(base: string[], relative: string): string[] | undefined {
  const parts = [...base];

  for (const component of relative.split('/')) {
    if (component === '..') {
      if (parts.length === 0) {
        return undefined;
      }

      parts.pop();
    } else if (component !== '' && component !== '.') {
      parts.push(component);
    }
  }

  return parts;
}

/**
 * Receives what one layer changes in the image's file system. Whiteouts and replaced paths act on
 * the layers below only, never on what the same layer adds.
 */
export interface LayerChanges {
  /** A `.wh.<name>` whiteout: `path` and everything under it are gone from the layers below. */
  whiteout(path: string): void;

  /** A `.wh..wh..opq` opaque whiteout: everything under `directory` is gone from the layers below. */
  opaque(directory: string): void;

  /**
   * An entry of any type at `path`: it replaces the path in the layers below, and everything under
   * it unless it is a directory, and any earlier entry of this layer at the same path.
   */
  write(path: string, isDirectory: boolean): void;

  /** A regular file that a collector read, or whose text `keepText` asked for. */
  addFile(path: string, content: { collector: string; findings: FileFindings } | { text: string }): void;

  /** A link. A hard link's target is an absolute path, and a symbolic link's target is kept as written. */
  addLink(path: string, target: string, hard: boolean): void;
}

/** Options of `walkLayer`: the collectors, the memory limit per file, and the files to keep as text. */
export interface WalkOptions {
  collectors: readonly FileCollector[];
  /** Passed to `collect`: the most bytes of one file a collector may hold in memory. */
  maxFileBytes: number;
  /** Files whose text is kept for the end of the scan, such as os-release files. */
  keepText(path: string): boolean;
}

/**
 * Reads one layer as a stream, once, and reports its entries to `changes`. Only files a collector
 * wants are read, by that collector; every other byte is read and dropped. Problems become
 * warnings on the layer and never throw: a zstd or unrecognized layer is skipped, and a layer that
 * fails part way keeps what was reported before the failure.
 */
export async function walkLayer(
  layer: LayerSource,
  changes: LayerChanges,
  options: WalkOptions,
  warnings: InventoryWarning[],
): Promise<void> {
  const warn = (reason: string, path?: string): void => {
    warnings.push({ layer: layer.digest, ...(path === undefined ? {} : { path }), reason });
  };

  let entryCount = 0;

  try {
    const declared = compressionOfMediaType(layer.mediaType);

    if (declared === 'zstd') {
      warn('zstd layers are not supported, so this layer was not read');

      return;
    }

    const { head, rest } = await peek(await layer.open(), headBytes);
    const format = formatOf(head, declared);

    if (format === 'zstd' || format === undefined) {
      rest.destroy();
      warn(
        format === 'zstd'
          ? 'zstd layers are not supported, so this layer was not read'
          : `the layer is neither gzip nor tar (media type ${layer.mediaType}), so it was not read`,
      );

      return;
    }

    for await (const entry of extractEntries(rest, format === 'gzip')) {
      const ended = endOf(entry);
      let complete = false;

      try {
        await readEntry(entry, changes, options, warn);
      } finally {
        entry.resume();
        complete = await ended;
      }

      if (complete) {
        entryCount++;
      }
    }
  } catch (error) {
    warn(
      `reading the layer failed after ${entryCount} of its entries (${(error as Error).message}), ` +
        'and what those entries held was kept',
    );
  }
}

/**
 * Returns how to read a layer: its first bytes decide when they are recognizable, else its media
 * type does, and undefined means neither is known.
 */
function formatOf(head: Buffer, declared: LayerCompression | undefined): 'gzip' | 'zstd' | 'tar' | undefined {
  const sniffed = sniffLayerFormat(head);

  if (sniffed !== undefined || declared === undefined) {
    return sniffed;
  }

  return declared === 'none' ? 'tar' : declared;
}

/** Returns the tar entries of `input`, gunzipped first when `gzip`. An error of any stage ends the iteration. */
function extractEntries(input: Readable, gzip: boolean): AsyncIterable<Entry> {
  const extract = tarStream.extract();
  const gunzip = gzip ? createGunzip() : undefined;

  const stop = (error: Error): void => {
    extract.destroy(error);
  };

  input.on('error', stop);
  gunzip?.on('error', stop);
  extract.on('close', () => {
    input.destroy();
    gunzip?.destroy();
  });
  (gunzip === undefined ? input : input.pipe(gunzip)).pipe(extract);

  return extract;
}

/** Reports one entry to `changes`, handing a wanted regular file to its collector. */
async function readEntry(
  entry: Entry,
  changes: LayerChanges,
  options: WalkOptions,
  warn: (reason: string, path?: string) => void,
): Promise<void> {
  const { header } = entry;
  const normalized = normalizeEntryPath(header.name);

  if ('problem' in normalized) {
    warn(`tar entry ${JSON.stringify(header.name)} ${normalized.problem}, so it was skipped`);

    return;
  }

  const { path } = normalized;
  const name = posix.basename(path);

  if (path === '/') {
    return;
  }

  if (name.startsWith('.wh.')) {
    applyWhiteout(path, changes);

    return;
  }

  changes.write(path, header.type === 'directory');

  switch (header.type) {
    case 'symlink':
      addSymbolicLink(path, header.linkname ?? '', changes, warn);
      break;
    case 'link':
      addHardLink(path, header.linkname ?? '', changes, warn);
      break;
    case 'file':
    case 'contiguous-file':
      await readRegularFile(entry, path, changes, options, warn);
      break;
    case 'directory':
    case 'character-device':
    case 'block-device':
    case 'fifo':
      // These only replace what the layers below had at their path.
      break;
  }
}

/** Applies a whiteout entry, such as `/etc/.wh.hosts` or `/var/cache/.wh..wh..opq`. */
function applyWhiteout(path: string, changes: LayerChanges): void {
  const directory = posix.dirname(path);
  const name = posix.basename(path);

  if (name === '.wh..wh..opq') {
    changes.opaque(directory);
  } else if (!name.startsWith('.wh..wh.')) {
    // Other `.wh..wh.` names are reserved by the OCI image specification and remove nothing.
    changes.whiteout(posix.join(directory, name.slice('.wh.'.length)));
  }
}

function addSymbolicLink(
  path: string,
  target: string,
  changes: LayerChanges,
  warn: (reason: string, path?: string) => void,
): void {
  if (target === '' || target.includes('\u0000') || linkTargetPath(path, target) === undefined) {
    warn(
      `symbolic link ${path} -> ${JSON.stringify(target)} points outside the image root, so it was skipped`,
      path,
    );

    return;
  }

  changes.addLink(path, target, false);
}

function addHardLink(
  path: string,
  target: string,
  changes: LayerChanges,
  warn: (reason: string, path?: string) => void,
): void {
  const normalized = normalizeEntryPath(target);

  if ('problem' in normalized) {
    warn(
      `hard link ${path} -> ${JSON.stringify(target)}: the target ${normalized.problem}, so it was skipped`,
      path,
    );

    return;
  }

  changes.addLink(path, normalized.path, true);
}

async function readRegularFile(
  entry: Entry,
  path: string,
  changes: LayerChanges,
  options: WalkOptions,
  warn: (reason: string, path?: string) => void,
): Promise<void> {
  const size = entry.header.size ?? 0;
  const mode = entry.header.mode ?? 0;

  if (options.keepText(path)) {
    const { content, wasCut } = contentOf(entry);

    try {
      const read = await readLayerFile({ path, size, mode, content }, maxKeptTextBytes);

      if ('data' in read) {
        changes.addFile(path, { text: read.data.toString() });
      } else if (!wasCut()) {
        warn(read.warning, path);
      }
    } finally {
      content.destroy();
    }

    return;
  }

  const collector = collectorFor(path, size, mode, options.collectors, warn);

  if (collector === undefined) {
    return;
  }

  const { content, wasCut } = contentOf(entry);

  try {
    const findings = await collector.collect({ path, size, mode, content }, options.maxFileBytes);

    // A file the layer ended inside is incomplete, so what it seemed to list is dropped.
    if (!wasCut()) {
      changes.addFile(path, { collector: collector.name, findings });
    }
  } catch (error) {
    // A layer that ends inside the file gets its own warning once the walk stops.
    if (!wasCut()) {
      warn(`the ${collector.name} collector failed on ${path}: ${(error as Error).message}`, path);
    }
  } finally {
    content.destroy();
  }
}

/**
 * Returns the first collector that wants the file. NOTE: the walker reads a file once, so when two
 * collectors want the same path, only the first in the list reads it.
 */
function collectorFor(
  path: string,
  size: number,
  mode: number,
  collectors: readonly FileCollector[],
  warn: (reason: string, path?: string) => void,
): FileCollector | undefined {
  return collectors.find((collector) => {
    try {
      return collector.wants(path, size, mode);
    } catch (error) {
      warn(`the ${collector.name} collector failed on ${path}: ${(error as Error).message}`, path);

      return false;
    }
  });
}

/**
 * Returns a Node.js stream of an entry's bytes for a collector, and whether the layer ended before
 * the entry did. tar-stream's entries are streamx streams, and destroying one destroys the whole
 * archive. So the collector gets this separate stream, which may be destroyed safely. Once it is
 * destroyed, it stops passing on the entry's bytes.
 */
function contentOf(entry: Entry): { content: Readable; wasCut: () => boolean } {
  let ended = false;
  let cut = false;
  const content = new Readable({
    read: () => {
      entry.resume();
    },
  });

  entry.on('data', (chunk) => {
    if (!content.destroyed && !content.push(chunk)) {
      entry.pause();
    }
  });
  entry.once('end', () => {
    ended = true;
    content.push(null);
  });
  entry.once('close', () => {
    if (!ended) {
      cut = true;
      content.destroy(new Error('the layer ended inside this file'));
    }
  });

  return { content, wasCut: () => cut };
}

/** Resolves to true when an entry has ended, or to false when it was destroyed with its archive first. */
function endOf(entry: Entry): Promise<boolean> {
  return new Promise((resolve) => {
    entry.once('end', () => resolve(true));
    entry.once('close', () => resolve(false));
  });
}

/**
 * Reads the first `size` bytes of a stream, or all of a shorter one, and returns them with a
 * stream that yields the whole content again, those bytes included.
 */
async function peek(stream: Readable, size: number): Promise<{ head: Buffer; rest: Readable }> {
  const iterator: AsyncIterator<Buffer> = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;

  while (length < size) {
    const next = await iterator.next();

    if (next.done === true) {
      done = true;
      break;
    }

    chunks.push(next.value);
    length += next.value.length;
  }

  const head = Buffer.concat(chunks, length);

  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield head;

      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  return { head, rest: Readable.from(done ? [head] : all(), { objectMode: false }) };
}
