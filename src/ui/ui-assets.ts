import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';

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

/** Text formats that compress well; images and fonts are compressed already. */
const compressible = new Set(['.html', '.js', '.css', '.map', '.json', '.svg', '.txt']);

/**
 * The web UI that Vite built into `dist/ui`, read once at start. The whole build is a few hundred
 * kilobytes, so holding it in memory, compressed ahead of time, costs less than reading and
 * compressing files per request. Files are looked up by their path under `/home/`, so no request path
 * ever reaches the file system.
 */
export class UiAssets {
  private readonly files = new Map<string, UiFile>();

  private constructor(readonly directory: string) {}

  /** Reads the build in `directory`; `available` is false when it has not been built. */
  static load(directory: string): UiAssets {
    const assets = new UiAssets(directory);

    for (const path of filesUnder(directory, '')) {
      assets.files.set(path, fileOf(readFileSync(join(directory, path)), path));
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

function fileOf(body: Buffer, path: string): UiFile {
  const extension = extname(path);
  const file: UiFile = {
    body,
    contentType: contentTypes[extension] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    immutable: path.startsWith('assets/'),
  };

  if (compressible.has(extension) && body.length > 1024) {
    const brotli = brotliCompressSync(body, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 11,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
    const gzip = gzipSync(body, { level: 9 });

    file.brotli = brotli.length < body.length ? brotli : undefined;
    file.gzip = gzip.length < body.length ? gzip : undefined;
  }

  return file;
}
