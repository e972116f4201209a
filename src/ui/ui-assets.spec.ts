import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';

import { UiAssets } from './ui-assets.js';

describe('UiAssets', () => {
  let directory: string;
  const script = 'console.log("wharf");\n'.repeat(200);

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-ui-assets-'));
    await mkdir(join(directory, 'build', 'assets'), { recursive: true });
    await writeFile(join(directory, 'build', 'index.html'), '<!doctype html><div id="app"></div>');
    await writeFile(join(directory, 'build', 'assets', 'index-abc123.js'), script);
    await writeFile(join(directory, 'build', 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is unavailable when the UI was never built', () => {
    const assets = UiAssets.load(join(directory, 'missing'));

    assert.equal(assets.available, false);
    assert.equal(assets.index, undefined);
    assert.equal(assets.file('assets/index-abc123.js'), undefined);
  });

  it('finds files by their path under /home and marks only hashed ones immutable', () => {
    const assets = UiAssets.load(join(directory, 'build'));
    const javascript = assets.file('assets/index-abc123.js');
    const icon = assets.file('favicon.svg');

    assert.equal(assets.available, true);
    assert.ok(javascript);
    assert.ok(icon);
    assert.equal(javascript.contentType, 'text/javascript; charset=utf-8');
    assert.equal(javascript.immutable, true);
    assert.equal(icon.contentType, 'image/svg+xml');
    assert.equal(icon.immutable, false);
    assert.equal(assets.index?.contentType, 'text/html; charset=utf-8');
  });

  it('never returns the page or a path outside the build as a file', () => {
    const assets = UiAssets.load(join(directory, 'build'));

    for (const path of ['index.html', '../build/index.html', 'assets/../index.html', 'assets', '']) {
      assert.equal(assets.file(path), undefined, path);
    }
  });

  it('keeps compressed forms that decompress to the file, only where they are smaller', () => {
    const assets = UiAssets.load(join(directory, 'build'));
    const javascript = assets.file('assets/index-abc123.js');

    assert.ok(javascript?.brotli);
    assert.ok(javascript.gzip);
    assert.equal(brotliDecompressSync(javascript.brotli).toString(), script);
    assert.equal(gunzipSync(javascript.gzip).toString(), script);
    assert.ok(javascript.brotli.length < javascript.body.length);
    // The icon is too small to be worth compressing.
    assert.equal(assets.file('favicon.svg')?.brotli, undefined);
  });

  it('uses the compressed forms the build wrote', async () => {
    const built = join(directory, 'precompressed');
    const brotli = brotliCompressSync(script);
    const gzip = gzipSync(script, { level: 1 });

    await mkdir(join(built, 'assets'), { recursive: true });
    await writeFile(join(built, 'assets', 'app.js'), script);
    await writeFile(join(built, 'assets', 'app.js.br'), brotli);
    await writeFile(join(built, 'assets', 'app.js.gz'), gzip);

    const assets = UiAssets.load(built);

    assert.deepEqual(assets.file('assets/app.js')?.brotli, brotli);
    assert.deepEqual(assets.file('assets/app.js')?.gzip, gzip);
    assert.equal(assets.file('assets/app.js.br'), undefined);
    assert.equal(assets.file('assets/app.js.gz'), undefined);
  });

  it('compresses again when a built form is stale', async () => {
    const built = join(directory, 'stale');

    await mkdir(built, { recursive: true });
    await writeFile(join(built, 'app.js'), script);
    await writeFile(join(built, 'app.js.gz'), gzipSync('console.log("an earlier build");\n'.repeat(100)));
    await writeFile(join(built, 'app.js.br'), 'not brotli');

    const file = UiAssets.load(built).file('app.js');

    assert.ok(file?.gzip);
    assert.ok(file.brotli);
    assert.equal(gunzipSync(file.gzip).toString(), script);
    assert.equal(brotliDecompressSync(file.brotli).toString(), script);
  });

  it('gives files with different bytes different entity tags', () => {
    const assets = UiAssets.load(join(directory, 'build'));

    assert.notEqual(assets.file('favicon.svg')?.etag, assets.file('assets/index-abc123.js')?.etag);
    assert.match(assets.index?.etag ?? '', /^"[A-Za-z0-9_-]+"$/);
  });
});
