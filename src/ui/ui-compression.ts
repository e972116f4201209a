import { extname } from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';

/** Text formats that compress well; images and fonts are compressed already. */
const compressible = new Set(['.html', '.js', '.css', '.map', '.json', '.svg', '.txt']);

/** Files below this size are served as they are, because compressing them saves too little. */
const minimumBytes = 1024;

/** Suffix of the file that contains each compressed form, next to the file, as the UI build writes them. */
export const compressedSuffixes = { brotli: '.br', gzip: '.gz' } as const;

/** The compressed forms of a file that is worth compressing, each kept only when it is smaller. */
export interface CompressedForms {
  brotli?: Buffer;
  gzip?: Buffer;
}

/** Returns whether a file at `path` with `size` bytes gets compressed forms. */
export function isCompressible(path: string, size: number): boolean {
  return compressible.has(extname(path)) && size > minimumBytes;
}

/**
 * Compresses a file with brotli at its highest quality and gzip at level 9. That takes most of a second
 * for the whole UI, so the UI build does it once and writes the results next to each file.
 */
export function compressForms(body: Buffer): CompressedForms {
  const brotli = brotliCompressSync(body, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: 11,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
  const gzip = gzipSync(body, { level: 9 });

  return {
    brotli: brotli.length < body.length ? brotli : undefined,
    gzip: gzip.length < body.length ? gzip : undefined,
  };
}
