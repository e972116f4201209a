import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

import {
  type Descriptor,
  initOciLayout,
  ociMediaTypes,
  type Platform,
  sha256Digest,
  tagInLayout,
  writeBlob,
} from './oci-layout.js';

const run = promisify(execFile);
const commandOptions = { maxBuffer: 512 * 1024 * 1024, timeout: 180_000, encoding: 'buffer' as const };

/**
 * Downloads Debian packages of this machine's release with `apt-get download` into `directory` and
 * returns the paths of the `.deb` files. The packages come from the configured Debian mirror, so the
 * test reads the same bytes a Debian 12 image holds.
 */
export async function downloadDebs(directory: string, packages: readonly string[]): Promise<string[]> {
  await mkdir(directory, { recursive: true });

  try {
    await run('apt-get', ['download', ...packages], { ...commandOptions, cwd: directory });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';

    throw new Error(
      `apt-get download ${packages.join(' ')} failed (run apt-get update first; the test needs Debian's mirror): ${stderr}`,
      { cause: error },
    );
  }

  return (await readdir(directory))
    .filter((name) => name.endsWith('.deb'))
    .map((name) => join(directory, name));
}

/**
 * Unpacks `.deb` files into `root` with `dpkg-deb -x` and writes the dpkg status file that installing
 * them would leave: each package's control fields with `Status: install ok installed`.
 */
export async function installDebs(root: string, debs: readonly string[]): Promise<void> {
  const stanzas: string[] = [];

  for (const deb of debs) {
    await run('dpkg-deb', ['-x', deb, root], commandOptions);

    const control = (await run('dpkg-deb', ['-f', deb], commandOptions)).stdout.toString().trimEnd();

    stanzas.push(control.replace(/^(Package: .*)$/m, '$1\nStatus: install ok installed'));
  }

  await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
  await writeFile(join(root, 'var/lib/dpkg/status'), `${stanzas.join('\n\n')}\n`);
}

/**
 * Writes a real npm lockfile for `specs` (such as `minimist@1.2.5`) with `npm install
 * --package-lock-only`, which resolves them against the npm registry without installing anything.
 */
export async function npmLockfile(directory: string, specs: readonly string[]): Promise<Buffer> {
  await mkdir(directory, { recursive: true });
  await writeFile(
    join(directory, 'package.json'),
    JSON.stringify({ name: 'scan-test-app', version: '1.0.0' }),
  );
  await run(
    'npm',
    ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', ...specs],
    { ...commandOptions, cwd: directory },
  );

  return readFile(join(directory, 'package-lock.json'));
}

/** Archives a directory with GNU tar, as image builders do, owned by root and with paths under `./`. */
export async function tarDirectory(directory: string): Promise<Buffer> {
  const { stdout } = await run(
    'tar',
    ['-C', directory, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-cf', '-', '.'],
    commandOptions,
  );

  return stdout;
}

/** A layer to write: a tar archive, gzip-compressed unless `raw` bytes with their own media type are given. */
export type TestLayer = { tar: Buffer } | { raw: Buffer; mediaType: string };

/**
 * Writes an image of `layers` into an OCI layout under `tag` and returns its manifest descriptor. Raw
 * layers are stored as given, so tests can give the scanner bytes that do not match their media type.
 */
export async function writeLayeredImage(
  layout: string,
  tag: string,
  platform: Platform,
  layers: readonly TestLayer[],
): Promise<Descriptor> {
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await readFile(join(layout, 'oci-layout')).catch(() => initOciLayout(layout));

  const descriptors: Descriptor[] = [];
  const diffIds: string[] = [];

  for (const layer of layers) {
    if ('tar' in layer) {
      diffIds.push(sha256Digest(layer.tar));
      descriptors.push(await writeBlob(layout, ociMediaTypes.layerTarGzip, gzipSync(layer.tar)));
    } else {
      diffIds.push(sha256Digest(layer.raw));
      descriptors.push(await writeBlob(layout, layer.mediaType, layer.raw));
    }
  }

  const config = await writeBlob(
    layout,
    ociMediaTypes.imageConfig,
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        rootfs: { type: 'layers', diff_ids: diffIds },
        config: { Cmd: ['/bin/sh'] },
      }),
    ),
  );
  const manifest = await writeBlob(
    layout,
    ociMediaTypes.imageManifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: ociMediaTypes.imageManifest,
        config,
        layers: descriptors,
      }),
    ),
  );

  await tagInLayout(layout, tag, manifest);

  return manifest;
}
