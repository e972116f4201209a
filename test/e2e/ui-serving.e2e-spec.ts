/**
 * How Wharf serves the built web UI: the page for every path under /home, hashed files cached for a
 * year, compression, revalidation, the Content-Security-Policy, and clear errors for missing files.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync } from 'node:zlib';

import { findPackage } from '../../src/common/package-info.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const uiDirectory = join(findPackage(import.meta.url).root, 'dist', 'ui');

describe('web UI files', () => {
  let wharf: WharfServer;
  let scriptPath: string;

  before(async () => {
    const script = (await readdir(join(uiDirectory, 'assets'))).find((name) => /^index-.+\.js$/.test(name));

    assert.ok(script, `no built script in ${uiDirectory}; npm test builds the UI first`);
    scriptPath = `/home/assets/${script}`;
    wharf = await startWharf();
  });

  after(async () => {
    await wharf?.dispose();
  });

  it('sends a browser that opens the registry address to /home', async () => {
    const response = await fetch(`${wharf.baseUrl}/`, { redirect: 'manual' });

    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/home');
  });

  it('answers every path under /home with the page and a strict policy', async () => {
    for (const path of ['/home', '/home/', '/home/cache', '/home/repositories/team/app@sha256:abc']) {
      const response = await fetch(`${wharf.baseUrl}${path}`);
      const html = await response.text();

      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.match(html, /<div id="app">/, path);
      assert.equal(response.headers.get('cache-control'), 'no-cache', path);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/, path);
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/, path);
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.ok(html.includes(scriptPath), `${path} loads ${scriptPath}`);
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${path} has an inline script`);
    }
  });

  it('caches hashed files for a year and sends them compressed', async () => {
    const plain = await fetch(`${wharf.baseUrl}${scriptPath}`, {
      headers: { 'Accept-Encoding': 'identity' },
    });
    const plainBody = Buffer.from(await plain.arrayBuffer());

    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(plain.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(plain.headers.get('content-encoding'), null);

    // Node's fetch would decompress by itself; a raw request shows what was sent.
    const compressed = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      const outgoing = request(`${wharf.baseUrl}${scriptPath}`, { headers: { 'Accept-Encoding': 'br' } });

      outgoing.on('response', (response) => {
        const chunks: Buffer[] = [];

        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) }),
        );
      });
      outgoing.on('error', reject);
      outgoing.end();
    });

    assert.equal(compressed.encoding, 'br');
    assert.ok(compressed.body.length < plainBody.length);
    assert.deepEqual(brotliDecompressSync(compressed.body), plainBody);
  });

  it('answers a repeated request with 304 when the file is unchanged', async () => {
    const first = await fetch(`${wharf.baseUrl}/home`);
    const etag = first.headers.get('etag');

    await first.arrayBuffer();
    assert.ok(etag);

    const second = await fetch(`${wharf.baseUrl}/home/repositories`, { headers: { 'If-None-Match': etag } });

    assert.equal(second.status, 304);
    assert.equal(await second.text(), '');
  });

  it('reports a missing file as 404 instead of sending the page', async () => {
    for (const path of ['/home/assets/index-missing.js', '/home/assets/']) {
      const response = await fetch(`${wharf.baseUrl}${path}`);
      const body = (await response.json()) as { errors: { code: string; message: string }[] };

      assert.equal(response.status, 404, path);
      assert.equal(body.errors[0].code, 'NOT_FOUND', path);
      assert.match(body.errors[0].message, /no web UI file/, path);
    }
  });
});
