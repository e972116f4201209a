import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Media types defined by the OCI image specification. */
export const ociMediaTypes = {
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Annotation that names a tag in an OCI layout's `index.json`, read by skopeo for `oci:DIR:TAG`. */
export const refNameAnnotation = 'org.opencontainers.image.ref.name';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Record<string, string>;
}

/** Regular file to place in a layer tar, with a relative path such as `etc/os-release`. */
export interface TarFile {
  readonly path: string;
  readonly content: Buffer;
  readonly mode?: number;
}

/** Descriptors of one image written to a layout. */
export interface WrittenImage {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** `sha256:` digests of the uncompressed layer tars, in layer order. */
  readonly diffIds: readonly string[];
}

/** Descriptors of an image index and its child images written to a layout. */
export interface WrittenIndex {
  readonly index: Descriptor;
  readonly images: readonly WrittenImage[];
}

const tarBlockSize = 512;
/** Fixed file time (2026-01-01T00:00:00Z) so that equal inputs give equal tar bytes and digests. */
const fixedModificationTime = Date.UTC(2026, 0, 1) / 1000;
const fixedCreated = new Date(fixedModificationTime * 1000).toISOString();

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Serializes files into a POSIX ustar archive, with a directory entry before each file's parent
 * directories that were not yet written. Paths must fit the 100-byte name field.
 */
export function createTar(files: readonly TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  const writtenDirectories = new Set<string>();

  for (const file of files) {
    const parts = file.path.split('/');

    for (let depth = 1; depth < parts.length; depth++) {
      const directory = parts.slice(0, depth).join('/') + '/';

      if (!writtenDirectories.has(directory)) {
        writtenDirectories.add(directory);
        blocks.push(tarHeader(directory, 0, 0o755, '5'));
      }
    }

    blocks.push(tarHeader(file.path, file.content.length, file.mode ?? 0o644, '0'));
    blocks.push(file.content);

    const padding = (tarBlockSize - (file.content.length % tarBlockSize)) % tarBlockSize;

    blocks.push(Buffer.alloc(padding));
  }

  // Two zero blocks mark the end of the archive.
  blocks.push(Buffer.alloc(2 * tarBlockSize));

  return Buffer.concat(blocks);
}

function tarHeader(path: string, size: number, mode: number, typeFlag: '0' | '5'): Buffer {
  const header = Buffer.alloc(tarBlockSize);

  if (Buffer.byteLength(path) > 100) {
    throw new Error(`tar entry path is longer than 100 bytes: ${path}`);
  }

  header.write(path, 0, 100, 'utf8');
  writeOctal(header, mode, 100, 8);
  writeOctal(header, 0, 108, 8);
  writeOctal(header, 0, 116, 8);
  writeOctal(header, size, 124, 12);
  writeOctal(header, fixedModificationTime, 136, 12);
  header.write(typeFlag, 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');

  // The checksum is the byte sum of the header with the checksum field read as eight spaces.
  header.fill(' ', 148, 156);

  let checksum = 0;

  for (const byte of header) {
    checksum += byte;
  }

  header.write(checksum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');

  return header;
}

/** Writes `value` as zero-padded octal digits followed by a NUL, filling `length` bytes. */
function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

/** Creates the `oci-layout` file, an empty `index.json` and `blobs/sha256/` in `directory`. */
export async function initOciLayout(directory: string): Promise<void> {
  await mkdir(join(directory, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(directory, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(directory, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: ociMediaTypes.imageIndex, manifests: [] }),
  );
}

/** Stores `bytes` under `blobs/sha256/` and returns its descriptor. */
export async function writeBlob(directory: string, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const digest = sha256Digest(bytes);

  await writeFile(blobPath(directory, digest), bytes);

  return { mediaType, digest, size: bytes.length };
}

export function blobPath(directory: string, digest: string): string {
  const [algorithm, encoded] = digest.split(':');

  if (algorithm !== 'sha256' || !/^[0-9a-f]{64}$/.test(encoded ?? '')) {
    throw new Error(`invalid sha256 digest: ${digest}`);
  }

  return join(directory, 'blobs', algorithm, encoded);
}

export async function readBlob(directory: string, digest: string): Promise<Buffer> {
  return readFile(blobPath(directory, digest));
}

/** Lists the digests of all blobs under `blobs/sha256/`, sorted. */
export async function listBlobDigests(directory: string): Promise<string[]> {
  const names = await readdir(join(directory, 'blobs', 'sha256'));

  return names.map((name) => `sha256:${name}`).sort();
}

/** Asserts that every blob of `expectedDirectory` is in `actualDirectory` with equal bytes. */
export async function assertLayoutBlobsEqual(
  expectedDirectory: string,
  actualDirectory: string,
): Promise<void> {
  for (const digest of await listBlobDigests(expectedDirectory)) {
    const expected = await readBlob(expectedDirectory, digest);
    const actual = await readBlob(actualDirectory, digest).catch(() => undefined);

    assert.ok(actual, `blob ${digest} is missing from ${actualDirectory}`);
    assert.ok(actual.equals(expected), `blob ${digest} differs from the source bytes`);
  }
}

/**
 * Writes one image: each entry of `layerFiles` becomes a gzip-compressed tar layer, followed by
 * a config whose `rootfs.diff_ids` are the digests of the uncompressed tars, and the manifest.
 * The returned manifest descriptor carries `platform`, ready to list in an image index.
 */
export async function writeImage(
  directory: string,
  platform: Platform,
  layerFiles: readonly (readonly TarFile[])[],
): Promise<WrittenImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];

  for (const files of layerFiles) {
    const tar = createTar(files);

    diffIds.push(sha256Digest(tar));
    layers.push(await writeBlob(directory, ociMediaTypes.layerTarGzip, gzipSync(tar)));
  }

  const imageConfig = {
    created: fixedCreated,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
      Cmd: ['/bin/sh'],
      Labels: { 'org.opencontainers.image.title': 'wharf e2e test image' },
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layerFiles.map((files) => ({
      created: fixedCreated,
      created_by: `COPY ${files.map((file) => file.path).join(' ')} /`,
    })),
  };
  const config = await writeBlob(
    directory,
    ociMediaTypes.imageConfig,
    Buffer.from(JSON.stringify(imageConfig)),
  );
  const manifestJson = {
    schemaVersion: 2,
    mediaType: ociMediaTypes.imageManifest,
    config,
    layers,
  };
  const written = await writeBlob(
    directory,
    ociMediaTypes.imageManifest,
    Buffer.from(JSON.stringify(manifestJson)),
  );

  return { manifest: { ...written, platform }, config, layers, diffIds };
}

/** Writes an image index that lists `manifests` and returns its descriptor. */
export async function writeImageIndex(
  directory: string,
  manifests: readonly Descriptor[],
): Promise<Descriptor> {
  const indexJson = { schemaVersion: 2, mediaType: ociMediaTypes.imageIndex, manifests };

  return writeBlob(directory, ociMediaTypes.imageIndex, Buffer.from(JSON.stringify(indexJson)));
}

/** Adds `descriptor` to the layout's `index.json` under `tag`, replacing an earlier entry of that tag. */
export async function tagInLayout(directory: string, tag: string, descriptor: Descriptor): Promise<void> {
  const index = await readLayoutIndex(directory);
  const others = index.manifests.filter((entry) => entry.annotations?.[refNameAnnotation] !== tag);

  others.push({ ...descriptor, annotations: { ...descriptor.annotations, [refNameAnnotation]: tag } });
  await writeFile(join(directory, 'index.json'), JSON.stringify({ ...index, manifests: others }));
}

/** Returns the descriptor that the layout's `index.json` lists under `tag`. */
export async function resolveTag(directory: string, tag: string): Promise<Descriptor> {
  const index = await readLayoutIndex(directory);
  const entry = index.manifests.find((candidate) => candidate.annotations?.[refNameAnnotation] === tag);

  if (!entry) {
    throw new Error(`tag ${tag} not found in ${join(directory, 'index.json')}`);
  }

  return entry;
}

interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

async function readLayoutIndex(directory: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(directory, 'index.json'), 'utf8')) as LayoutIndex;
}

async function readHostFile(hostPath: string, layerPath: string): Promise<TarFile> {
  return { path: layerPath, content: await readFile(hostPath) };
}

/**
 * Returns the files of a three-layer image for `platform`, copied from Debian's base files
 * (from a few hundred bytes to 35 KiB, so most span several tar blocks). The first two layers are equal for every
 * platform, so that the children of an index share blobs, and the third one names the platform.
 */
export async function sampleLayerFiles(platform: Platform): Promise<TarFile[][]> {
  const platformName = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');

  return [
    [await readHostFile('/etc/os-release', 'etc/os-release')],
    [
      await readHostFile('/usr/share/common-licenses/Apache-2.0', 'usr/share/licenses/Apache-2.0'),
      await readHostFile('/usr/share/common-licenses/BSD', 'usr/share/licenses/BSD'),
    ],
    [
      await readHostFile('/usr/share/common-licenses/GPL-3', 'usr/share/licenses/GPL-3'),
      { path: 'etc/wharf-platform', content: Buffer.from(`${platformName}\n`) },
      { path: 'usr/local/bin/hello', content: Buffer.from('#!/bin/sh\necho hello\n'), mode: 0o755 },
    ],
  ];
}

export const linuxAmd64: Platform = { os: 'linux', architecture: 'amd64' };
export const linuxArm64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** Creates a layout in `directory` with one single-platform image tagged `tag`. */
export async function createSinglePlatformLayout(
  directory: string,
  tag: string,
  platform: Platform = linuxAmd64,
): Promise<WrittenImage> {
  await initOciLayout(directory);

  const image = await writeImage(directory, platform, await sampleLayerFiles(platform));

  await tagInLayout(directory, tag, image.manifest);

  return image;
}

/** Creates a layout in `directory` with an image index for `platforms`, tagged `tag`. */
export async function createMultiPlatformLayout(
  directory: string,
  tag: string,
  platforms: readonly Platform[] = [linuxAmd64, linuxArm64],
): Promise<WrittenIndex> {
  await initOciLayout(directory);

  const images: WrittenImage[] = [];

  for (const platform of platforms) {
    images.push(await writeImage(directory, platform, await sampleLayerFiles(platform)));
  }

  const index = await writeImageIndex(
    directory,
    images.map((image) => image.manifest),
  );

  await tagInLayout(directory, tag, index);

  return { index, images };
}
