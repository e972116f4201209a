import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

import { compressedSuffixes, type CompressedForms, compressForms, isCompressible } from './ui-compression.js';

/** One file of the built UI, held in memory with its compressed forms. */
export interface UiFile {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Hashed build output under `assets/`, which never changes under the same name. */
  immutable: boolean;
  /** Present when compression makes the file smaller. */
  brotli?: Buffer;
  gzip?: Buffer;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const decompressors = { brotli: brotliDecompressSync, gzip: gunzipSync } as const;

/**
 * The web UI that Vite built into `dist/ui`, read once at start. The whole build is a few hundred
 * kilobytes, so holding it in memory, compressed ahead of time, costs less than reading and
 * compressing files per request. Files are looked up by their path under `/home/`, so no request path
 * ever reaches the file system.
 */
export class UiAssets {
  private readonly files = new Map<string, UiFile>();

  private constructor(readonly directory: string) {}

  /**
   * Reads the build in `directory`; `available` is false when it has not been built. The compressed
   * forms the build wrote next to each file are used when they decompress to the file, and a file
   * without them is compressed here.
   */
  static load(directory: string): UiAssets {
    const assets = new UiAssets(directory);
    const paths = filesUnder(directory, '');
    const present = new Set(paths);
    const compressedPaths = new Set(
      paths.flatMap((path) => Object.values(compressedSuffixes).map((suffix) => path + suffix)),
    );

    for (const path of paths.filter((candidate) => !compressedPaths.has(candidate))) {
      const body = readFileSync(join(directory, path));
      const forms = isCompressible(path, body.length)
        ? (builtForms(directory, path, body, present) ?? compressForms(body))
        : {};

      assets.files.set(path, fileOf(body, path, forms));
    }

    return assets;
  }

  get available(): boolean {
    return this.files.has('index.html');
  }

  /** The page that every UI route returns; the browser app then shows the view for the path. */
  get index(): UiFile | undefined {
    return this.files.get('index.html');
  }

  /** Returns the file at a path relative to `/home/`, such as `assets/index-3f2a.js`. */
  file(path: string): UiFile | undefined {
    return path === 'index.html' ? undefined : this.files.get(path);
  }
}

/** Lists the files under a directory as `/`-separated relative paths; none when it does not exist. */
function filesUnder(directory: string, prefix: string): string[] {
  let entries;

  try {
    entries = readdirSync(join(directory, prefix), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }

    throw error;
  }

  return entries.flatMap((entry) => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;

    if (entry.isDirectory()) {
      return filesUnder(directory, path);
    }

    return entry.isFile() ? [path] : [];
  });
}

/**
 * Reads the compressed forms that the UI build wrote next to a file. Returns undefined when there are
 * none, or when one does not decompress to the file (left from an earlier build), so that the caller
 * compresses the file itself.
 */
function builtForms(
  directory: string,
  path: string,
  body: Buffer,
  present: ReadonlySet<string>,
): CompressedForms | undefined {
  const forms: CompressedForms = {};

  for (const form of ['brotli', 'gzip'] as const) {
    const formPath = path + compressedSuffixes[form];

    if (!present.has(formPath)) {
      continue;
    }

    const bytes = readFileSync(join(directory, formPath));

    if (!decompressesTo(form, bytes, body)) {
      return undefined;
    }

    forms[form] = bytes;
  }

  return forms.brotli || forms.gzip ? forms : undefined;
}

function decompressesTo(form: keyof CompressedForms, bytes: Buffer, body: Buffer): boolean {
  try {
    return decompressors[form](bytes).equals(body);
  } catch {
    return false;
  }
}

function fileOf(body: Buffer, path: string, forms: CompressedForms): UiFile {
  return {
    body,
    contentType: contentTypes[extname(path)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: path.startsWith('assets/'),
    ...forms,
  };
}
