import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { defineConfig, type Plugin } from 'vite';

import { compressedSuffixes, compressForms, isCompressible } from '../src/ui/ui-compression.js';

/** The Wharf that `npm run dev:ui` sends API requests to. */
const wharfUrl = process.env.WHARF_URL ?? 'http://127.0.0.1:5000';

/**
 * Writes the brotli and gzip forms of each built file next to it, so that Wharf reads them at start
 * rather than spending most of a second compressing the UI every time it starts.
 */
function precompress(): Plugin {
  let outDir = '';

  return {
    name: 'wharf-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const entries = await readdir(outDir, { recursive: true, withFileTypes: true });

      for (const entry of entries.filter((candidate) => candidate.isFile())) {
        const path = join(entry.parentPath, entry.name);
        const body = await readFile(path);

        if (!isCompressible(path, body.length)) {
          continue;
        }

        const forms = compressForms(body);

        for (const form of ['brotli', 'gzip'] as const) {
          const bytes = forms[form];

          if (bytes) {
            await writeFile(path + compressedSuffixes[form], bytes);
          }
        }
      }
    },
  };
}

/**
 * Builds the web UI into dist/ui, which Wharf serves under /home. Run from the repository root as
 * `vite build ui`, so this directory is Vite's root. File names carry a content hash, which lets the
 * server cache them for a year.
 */
export default defineConfig({
  base: '/home/',
  plugins: [precompress()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    // The output directory is outside Vite's root, so Vite empties it only with this option set.
    emptyOutDir: true,
    assetsDir: 'assets',
    // Assets become files, never data: URLs inlined into the script, so the Content-Security-Policy
    // needs no exception for them.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: true,
  },
  // `npm run dev:ui` serves the UI with live reload and passes API and sign-in requests to a running
  // Wharf, so the session cookie stays on one origin.
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(['/api', '/auth', '/v2'].map((path) => [path, wharfUrl])),
  },
});
