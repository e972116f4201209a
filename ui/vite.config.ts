import { defineConfig } from 'vite';

/** The Wharf that `npm run dev:ui` sends API requests to. */
const wharfUrl = process.env.WHARF_URL ?? 'http://127.0.0.1:5000';

/**
 * Builds the web UI into dist/ui, which Wharf serves under /home. Run from the repository root as
 * `vite build ui`, so this directory is Vite's root. File names carry a content hash, which lets the
 * server cache them for a year.
 */
export default defineConfig({
  base: '/home/',
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
