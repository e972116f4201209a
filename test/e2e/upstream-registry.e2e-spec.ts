import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  assertLayoutBlobsEqual,
  createSinglePlatformLayout,
  resolveTag,
  type WrittenImage,
} from '../support/oci-layout.js';
import { Skopeo } from '../support/skopeo.js';
import {
  countRequests,
  formatRequests,
  parseAccessLogLine,
  startUpstreamRegistry,
  type UpstreamRegistry,
} from '../support/upstream-registry.js';

// These tests check the harness that the pull-through tests rely on: a request count that is wrong or
// always zero would let those tests pass without checking anything.

describe('access log line parser', () => {
  it('parses manifest request', () => {
    const request = parseAccessLogLine(
      '127.0.0.1 - - [04/Dec/2026:22:18:46 +0000] "HEAD /v2/library/app/manifests/1.0 HTTP/1.1" 404 93 "" "curl/7.88.1"',
    );

    assert.ok(request);
    assert.equal(request.method, 'HEAD');
    assert.equal(request.kind, 'manifest');
    assert.equal(request.repository, 'library/app');
    assert.equal(request.reference, '1.0');
    assert.equal(request.status, 404);
  });

  it('parses blob request', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const request = parseAccessLogLine(
      `127.0.0.1 - - [04/Dec/2026:22:18:46 +0000] "GET /v2/team/tool/blobs/${digest} HTTP/1.1" 200 512 "" "Go-http-client/1.1"`,
    );

    assert.ok(request);
    assert.equal(request.kind, 'blob');
    assert.equal(request.repository, 'team/tool');
    assert.equal(request.reference, digest);
  });

  it('separates query string', () => {
    const request = parseAccessLogLine(
      '127.0.0.1 - - [04/Dec/2026:22:18:46 +0000] "GET /v2/library/app/tags/list?n=1 HTTP/1.1" 200 40 "" "node"',
    );

    assert.ok(request);
    assert.equal(request.kind, 'tags');
    assert.equal(request.path, '/v2/library/app/tags/list');
    assert.equal(request.query, 'n=1');
  });

  it('classifies upload request', () => {
    const request = parseAccessLogLine(
      '127.0.0.1 - - [04/Dec/2026:22:18:46 +0000] "POST /v2/library/app/blobs/uploads/ HTTP/1.1" 202 0 "" "node"',
    );

    assert.ok(request);
    assert.equal(request.kind, 'upload');
    assert.equal(request.repository, 'library/app');
  });

  it('ignores application log line', () => {
    assert.equal(parseAccessLogLine('{"level":"info","msg":"listening on 127.0.0.1:5000"}'), undefined);
  });
});

describe('upstream registry harness', () => {
  let upstream: UpstreamRegistry;
  let workDirectory: string;
  let skopeo: Skopeo;
  let layout: string;
  let image: WrittenImage;

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-upstream-harness-'));
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));
    layout = join(workDirectory, 'app');
    image = await createSinglePlatformLayout(layout, '1.0');
    upstream = await startUpstreamRegistry();
  });

  after(async () => {
    await upstream?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  it('listens on loopback', () => {
    assert.match(upstream.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('starts with no requests', async () => {
    assert.deepEqual(await upstream.requests(), []);
  });

  it('logs seeding pushes', async () => {
    await skopeo.push(`oci:${layout}:1.0`, upstream.dockerReference('library/app:1.0'));

    const requests = await upstream.requests();

    assert.equal(
      countRequests(requests, {
        method: 'PUT',
        kind: 'manifest',
        repository: 'library/app',
        reference: '1.0',
      }),
      1,
      formatRequests(requests),
    );
  });

  it('reset forgets requests', async () => {
    await upstream.resetRequests();

    assert.deepEqual(await upstream.requests(), []);
  });

  it('counts direct pull requests', async () => {
    const pulledLayout = join(workDirectory, 'pulled');

    await upstream.resetRequests();
    await skopeo.pull(upstream.dockerReference('library/app:1.0'), `oci:${pulledLayout}:1.0`);

    const requests = await upstream.requests();
    const blobCount = image.layers.length + 1;

    assert.equal((await resolveTag(pulledLayout, '1.0')).digest, image.manifest.digest);
    await assertLayoutBlobsEqual(layout, pulledLayout);
    assert.equal(
      countRequests(requests, { method: 'GET', kind: 'manifest', repository: 'library/app' }),
      1,
      formatRequests(requests),
    );
    assert.equal(
      countRequests(requests, { method: 'GET', kind: 'blob', repository: 'library/app' }),
      blobCount,
      formatRequests(requests),
    );
    assert.equal(countRequests(requests, { method: 'PUT' }), 0, formatRequests(requests));
  });

  it('logs head as head', async () => {
    await upstream.resetRequests();

    const response = await fetch(`${upstream.url}/v2/library/app/manifests/1.0`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });

    assert.equal(response.status, 200);

    const requests = await upstream.requests();

    assert.equal(countRequests(requests, { method: 'HEAD', kind: 'manifest' }), 1, formatRequests(requests));
    assert.equal(countRequests(requests, { method: 'GET', kind: 'manifest' }), 0, formatRequests(requests));
  });

  it('stop closes port', async () => {
    await upstream.stop();

    await assert.rejects(fetch(`${upstream.url}/v2/`, { signal: AbortSignal.timeout(5_000) }));
  });
});
