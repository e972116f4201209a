import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';

import tarStream from 'tar-stream';

import type { LayerSource } from '../../src/scanning/inventory/inventory.js';

/** Layer media types of the OCI image specification and of Docker's image manifest schema 2. */
export const layerMediaTypes = {
  tar: 'application/vnd.oci.image.layer.v1.tar',
  tarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  tarZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  nondistributableTarGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerTarGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Runs a program with `input` on its standard input and returns its standard output. */
export async function run(program: string, args: string[], input?: Buffer): Promise<Buffer> {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const output: Buffer[] = [];
  const errors: Buffer[] = [];

  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
  child.stdin.end(input);

  const [code] = (await once(child, 'close')) as [number | null];

  if (code !== 0) {
    throw new Error(`${program} ${args.join(' ')} exited with ${code}: ${Buffer.concat(errors).toString()}`);
  }

  return Buffer.concat(output);
}

/** Returns a tar of a directory's contents as GNU tar writes it, with entry names such as `./etc/hosts`. */
export function tarOf(directory: string): Promise<Buffer> {
  return run('tar', ['-C', directory, '-cf', '-', '.']);
}

/** Compresses bytes with the gzip program. */
export function gzipOf(bytes: Buffer): Promise<Buffer> {
  return run('gzip', ['-c', '-n'], bytes);
}

/** Compresses bytes with the zstd program. */
export function zstdOf(bytes: Buffer): Promise<Buffer> {
  return run('zstd', ['-c', '-q'], bytes);
}

/** One entry for `packOf`, for archives that GNU tar would not write, such as `../../etc/passwd`. */
export interface PackEntry {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
  content?: string | Buffer;
}

/** Returns a tar archive of the entries, written by tar-stream, which writes any name it is given. */
export async function packOf(entries: PackEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const output = collect(pack);

  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ type: 'file', ...header }, content ?? '', (error) => (error ? reject(error) : resolve()));
    });
  }

  pack.finalize();

  return output;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];

  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }

  return Buffer.concat(chunks);
}

/** Files to create under a directory: text or bytes, or `{ symlink: target }`. */
export type Tree = Record<string, string | Buffer | { symlink: string }>;

/** Creates the files and symbolic links of `tree` under `root`, with their parent directories. */
export async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    const target = join(root, path);

    await mkdir(dirname(target), { recursive: true });

    if (typeof content === 'object' && !Buffer.isBuffer(content)) {
      await symlink(content.symlink, target);
    } else {
      await writeFile(target, content);
    }
  }
}

/** A layer served from memory, which counts how often it was opened. */
export interface TestLayer extends LayerSource {
  readonly openCount: number;
}

/**
 * Returns a layer whose bytes come in chunks of `chunkSize`, as a blob store streams them. The
 * digest is the real sha256 of the bytes.
 */
export function layerSource(bytes: Buffer, mediaType: string, chunkSize = 64 * 1024): TestLayer {
  let openCount = 0;

  return {
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    mediaType,
    size: bytes.length,
    get openCount() {
      return openCount;
    },
    open: () => {
      openCount++;

      const chunks: Buffer[] = [];

      for (let offset = 0; offset < bytes.length; offset += chunkSize) {
        chunks.push(bytes.subarray(offset, offset + chunkSize));
      }

      return Promise.resolve(Readable.from(chunks, { objectMode: false }));
    },
  };
}

/** Returns a layer whose stream fails with `message` after yielding `bytes`, as a broken disk would. */
export function failingLayerSource(bytes: Buffer, mediaType: string, message: string): LayerSource {
  return {
    digest: `sha256:${createHash('sha256').update(bytes).update(message).digest('hex')}`,
    mediaType,
    size: bytes.length,
    open: () => {
      let sent = false;

      return Promise.resolve(
        new Readable({
          read() {
            if (sent) {
              this.destroy(new Error(message));
            } else {
              sent = true;
              this.push(bytes);
            }
          },
        }),
      );
    },
  };
}

/**
 * Returns a gzip layer, generated while it is read and never held in memory, that contains
 * `smallFiles` followed by one file `bigPath` of `bigSize` random bytes.
 */
export function generatedLayerSource(smallFiles: PackEntry[], bigPath: string, bigSize: number): LayerSource {
  return {
    digest: `sha256:${'0'.repeat(63)}1`,
    mediaType: layerMediaTypes.tarGzip,
    size: bigSize,
    open: () => {
      const pack = tarStream.pack();
      const gzip = createGzip({ level: 1 });

      pack.pipe(gzip);
      fillPack(pack, smallFiles, bigPath, bigSize).catch((error: unknown) => gzip.destroy(error as Error));

      return Promise.resolve(gzip);
    },
  };
}

async function fillPack(
  pack: ReturnType<typeof tarStream.pack>,
  smallFiles: PackEntry[],
  bigPath: string,
  bigSize: number,
): Promise<void> {
  for (const { content, ...header } of smallFiles) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ type: 'file', ...header }, content ?? '', (error) => (error ? reject(error) : resolve()));
    });
  }

  let entryDone: (error?: Error | null) => void = () => undefined;
  const entryWritten = new Promise<void>((resolve, reject) => {
    entryDone = (error) => (error ? reject(error) : resolve());
  });
  const sink = pack.entry({ name: bigPath, size: bigSize, type: 'file' }, entryDone);
  const chunkSize = 1024 * 1024;

  // Bounded by the file size: one chunk of fresh random bytes per MiB.
  for (let written = 0; written < bigSize; written += chunkSize) {
    if (!sink.write(randomBytes(Math.min(chunkSize, bigSize - written)))) {
      await once(sink, 'drain');
    }
  }

  sink.end(Buffer.alloc(0));
  await entryWritten;
  pack.finalize();
}

/** Why rpm tests cannot run here, or undefined when `rpm` and `rpmbuild` are installed. */
export const rpmMissing: string | undefined =
  spawnSync('rpmbuild', ['--version']).status === 0 && spawnSync('rpm', ['--version']).status === 0
    ? undefined
    : 'rpm and rpmbuild are not installed (Debian package: rpm)';

/** A package for `rpmDatabaseOf` to build and install; without `architecture` it is built for this machine. */
export interface RpmSpec {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  license: string;
  architecture?: 'noarch';
}

/**
 * Builds each package with rpmbuild from a spec file with no files, installs them all into a new
 * SQLite rpm database under `directory` with `rpm --justdb`, and returns the database's bytes.
 */
export async function rpmDatabaseOf(directory: string, packages: RpmSpec[]): Promise<Buffer> {
  const topDirectory = join(directory, 'rpmbuild');
  const databaseDirectory = join(directory, 'rpmdb');
  const built: string[] = [];

  await mkdir(directory, { recursive: true });

  const machineArchitecture = (await run('rpm', ['--eval', '%{_arch}'])).toString().trim();

  for (const spec of packages) {
    const specPath = join(directory, `${spec.name}.spec`);
    const architecture = spec.architecture ?? machineArchitecture;

    await writeFile(specPath, specFileOf(spec));
    await run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${topDirectory}`, specPath]);
    built.push(
      join(
        topDirectory,
        'RPMS',
        architecture,
        `${spec.name}-${spec.version}-${spec.release}.${architecture}.rpm`,
      ),
    );
  }

  const database = ['--dbpath', databaseDirectory, '--define', '_db_backend sqlite'];

  await run('rpm', [...database, '--initdb']);
  await run('rpm', ['-i', '--justdb', '--nodeps', '--noscripts', ...database, ...built]);

  return readFile(join(databaseDirectory, 'rpmdb.sqlite'));
}

function specFileOf(spec: RpmSpec): string {
  return [
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    `Release: ${spec.release}`,
    ...(spec.epoch === undefined ? [] : [`Epoch: ${spec.epoch}`]),
    `License: ${spec.license}`,
    'Summary: package built by a Wharf test',
    ...(spec.architecture === undefined ? [] : [`BuildArch: ${spec.architecture}`]),
    '',
    '%description',
    'A package with no files, built to fill a test rpm database.',
    '',
    '%files',
    '',
  ].join('\n');
}
