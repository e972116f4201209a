/**
 * Prometheus metrics against a running Wharf: both listeners, counters and gauges after a push and a
 * pull, no new series from a flood of junk requests, and the `access.metrics` rule with auth on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { cancelDownload } from '../support/cancelled-download.js';
import { freePort } from '../support/free-port.js';
import { createBlob, createImage, type Image, OciClient } from '../support/oci-client.js';
import { startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** Series of one scrape: `name{labels}` as Wharf writes it, mapped to its value. */
type Scrape = Map<string, number>;

const seriesLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/;

function parseScrape(text: string): Scrape {
  const series: Scrape = new Map();

  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }

    const match = seriesLine.exec(line);

    assert.ok(match, `not a Prometheus sample line: ${line}`);
    series.set(match[1], Number(match[2]));
  }

  return series;
}

/** Writes a series key the way prom-client does: labels in the order they are given. */
function key(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);

  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

/** Returns a series value, 0 when the series does not exist yet. */
function valueOf(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scrape.get(key(name, labels)) ?? 0;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();

  assert.equal(response.status, 200, `GET ${url} returned ${response.status}: ${text}`);

  return parseScrape(text);
}

/** Finds a free loopback port by binding port 0 and closing the listener again. */
/** Starts Wharf with its metrics listener on a free port and returns the listener's /metrics URL. */
async function startWithMetricsPort(
  config: Record<string, unknown> = {},
): Promise<{ server: WharfServer; metricsUrl: string }> {
  const server = await startWharf({
    config: { metrics: { enabled: true, port: await freePort() }, ...config },
  });
  const [record] = await server.waitForLog((entry) => entry.msg === 'metrics listening');

  assert.ok(record, `no "metrics listening" log line:\n${server.output()}`);

  return { server, metricsUrl: String(record.url) };
}

/** Node.js process metrics come and go with the runtime (GC kinds, handle types), not with requests. */
function isProcessSeries(series: string): boolean {
  return series.startsWith('wharf_nodejs_') || series.startsWith('wharf_process_');
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('metrics', () => {
  let server: WharfServer;
  let metricsUrl: string;
  let client: OciClient;

  before(async () => {
    ({ server, metricsUrl } = await startWithMetricsPort());
    client = new OciClient(server.baseUrl);
  });

  after(async () => {
    await server?.dispose();
  });

  it('serves the main port and the metrics port', async () => {
    for (const url of [`${server.baseUrl}/metrics`, metricsUrl]) {
      const response = await fetch(url);
      const text = await response.text();

      assert.equal(response.status, 200, url);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, url);
      assert.match(text, /^# HELP wharf_http_requests_total /m, url);
      assert.match(text, /^wharf_process_cpu_seconds_total /m, url);
    }
  });

  it('reports the version in wharf_info', async () => {
    const series = await scrape(metricsUrl);

    assert.equal(valueOf(series, 'wharf_info', { version: '0.1.0' }), 1);
  });

  it('answers other metrics port paths with 404', async () => {
    const response = await fetch(new URL('/v2/', metricsUrl));
    const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };

    assert.equal(response.status, 404);
    assert.equal(body.errors[0].code, 'NOT_FOUND');
  });

  it('counts a push and a pull', async () => {
    const repository = 'metrics/app';
    const image: Image = createImage({ layerCount: 2 });
    const blobs = [image.config, ...image.layers];
    const blobBytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
    const layerBytes = image.layers.reduce((sum, layer) => sum + layer.size, 0);
    const before = await scrape(metricsUrl);

    await client.pushImage(repository, 'v1', image);

    const manifest = await client.fetch(`/v2/${repository}/manifests/v1`);

    assert.equal(manifest.status, 200);
    await manifest.arrayBuffer();

    for (const layer of image.layers) {
      const response = await client.fetch(`/v2/${repository}/blobs/${layer.digest}`);

      assert.equal(response.status, 200);
      assert.equal(Buffer.from(await response.arrayBuffer()).length, layer.size);
    }

    const after = await scrape(metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    const manifestRoute = '/v2/<name>/manifests/<reference>';
    const blobRoute = '/v2/<name>/blobs/<digest>';
    const sessionRoute = '/v2/<name>/blobs/uploads/<reference>';

    assert.equal(
      delta('wharf_http_requests_total', { method: 'PUT', route: manifestRoute, status: '201' }),
      1,
    );
    assert.equal(
      delta('wharf_http_requests_total', { method: 'GET', route: manifestRoute, status: '200' }),
      1,
    );
    assert.equal(delta('wharf_http_requests_total', { method: 'GET', route: blobRoute, status: '200' }), 2);
    assert.equal(
      delta('wharf_http_requests_total', {
        method: 'POST',
        route: '/v2/<name>/blobs/uploads/',
        status: '202',
      }),
      blobs.length,
    );
    assert.equal(delta('wharf_http_request_duration_seconds_count', { method: 'GET', route: blobRoute }), 2);
    assert.equal(delta('wharf_http_request_bytes_total', { method: 'PUT', route: sessionRoute }), blobBytes);
    assert.equal(
      delta('wharf_http_request_bytes_total', { method: 'PUT', route: manifestRoute }),
      image.manifest.size,
    );
    assert.equal(delta('wharf_http_response_bytes_total', { method: 'GET', route: blobRoute }), layerBytes);
    assert.equal(delta('wharf_upload_size_bytes_count'), blobs.length);
    assert.equal(delta('wharf_upload_size_bytes_sum'), blobBytes);
    assert.equal(delta('wharf_stored_blobs'), blobs.length + 1);
    assert.equal(delta('wharf_stored_bytes'), blobBytes + image.manifest.size);
    assert.equal(delta('wharf_stored_manifests'), 1);
    assert.equal(delta('wharf_tags'), 1);
    assert.equal(delta('wharf_repositories'), 1);
  });

  it('counts a cancelled download as 499', async () => {
    const repository = 'metrics/cancelled';
    // Larger than the socket buffers of a loopback connection, so the response cannot end unread.
    const blob = createBlob(randomBytes(32 * 1024 * 1024));
    const route = { method: 'GET', route: '/v2/<name>/blobs/<digest>' };
    const countOf = (series: Scrape, status: string) =>
      valueOf(series, 'wharf_http_requests_total', { ...route, status });

    await client.pushBlob(repository, blob);

    const before = await scrape(metricsUrl);

    await cancelDownload(`${server.baseUrl}/v2/${repository}/blobs/${blob.digest}`);

    // Wharf records the request when its side of the connection closes, shortly after the client's.
    let after = await scrape(metricsUrl);

    for (let attempt = 0; attempt < 50 && countOf(after, '499') === countOf(before, '499'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await scrape(metricsUrl);
    }

    const sent =
      valueOf(after, 'wharf_http_response_bytes_total', route) -
      valueOf(before, 'wharf_http_response_bytes_total', route);

    assert.equal(countOf(after, '499') - countOf(before, '499'), 1);
    assert.equal(countOf(after, '200') - countOf(before, '200'), 0);
    assert.equal(
      valueOf(after, 'wharf_http_request_duration_seconds_count', route) -
        valueOf(before, 'wharf_http_request_duration_seconds_count', route),
      1,
    );
    assert.ok(sent > 0, `${sent} response bytes counted`);
    assert.ok(sent < blob.size, `${sent} response bytes counted of ${blob.size}`);
  });

  it('counts upload sessions in progress', async () => {
    const before = await scrape(metricsUrl);
    const location = await client.startUpload('metrics/uploads');
    const during = await scrape(metricsUrl);
    const cancel = await client.fetch(location, { method: 'DELETE' });

    assert.equal(cancel.status, 204);

    const after = await scrape(metricsUrl);

    assert.equal(
      valueOf(during, 'wharf_uploads_in_progress'),
      valueOf(before, 'wharf_uploads_in_progress') + 1,
    );
    assert.equal(valueOf(after, 'wharf_uploads_in_progress'), valueOf(before, 'wharf_uploads_in_progress'));
  });

  it('adds no series for junk requests', { timeout: 300_000 }, async () => {
    const randomName = () => `junk${randomBytes(6).toString('hex')}/x${randomBytes(4).toString('hex')}`;
    const randomDigest = () => `sha256:${randomBytes(32).toString('hex')}`;
    const junkRequests: Array<() => [string, string]> = [
      () => ['GET', `/v2/${randomName()}/manifests/t${randomBytes(4).toString('hex')}`],
      () => ['HEAD', `/v2/${randomName()}/manifests/${randomDigest()}`],
      () => ['GET', `/v2/${randomName()}/blobs/${randomDigest()}`],
      () => ['GET', `/v2/${randomName()}/tags/list?n=${randomBytes(2).readUInt16BE()}`],
      () => ['GET', `/v2/${randomName()}/blobs/uploads/${randomUUID()}`],
      () => ['GET', `/v2/${randomName()}/referrers/${randomDigest()}`],
      () => ['GET', `/v2/${randomName().toUpperCase()}/manifests/latest`],
      () => ['GET', `/v2/${randomName()}/${randomBytes(4).toString('hex')}`],
      () => ['GET', `/${randomBytes(8).toString('hex')}/${randomBytes(8).toString('hex')}`],
      () => ['PROPFIND', `/v2/${randomName()}/manifests/latest`],
    ];

    const send = async ([method, path]: [string, string]) => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(30_000),
      });

      await response.arrayBuffer();
      // Every shape gets a 4xx except referrers, which returns an empty list (200). A 5xx means the junk broke something.
      assert.ok(response.status < 500, `${method} ${path} returned ${response.status}`);
    };

    // One request of each shape first, so the series they legitimately add exist before the count.
    for (const junk of junkRequests) {
      await send(junk());
    }

    const before = await scrape(metricsUrl);
    const total = 2000;
    const concurrency = 8;
    let sent = 0;

    const worker = async () => {
      while (sent < total) {
        const junk = junkRequests[sent % junkRequests.length];

        sent++;
        await send(junk());
      }
    };

    await Promise.all(Array.from({ length: concurrency }, worker));

    const afterResponse = await fetch(metricsUrl);
    const afterText = await afterResponse.text();
    const after = parseScrape(afterText);
    const ownSeries = (scraped: Scrape) => [...scraped.keys()].filter((series) => !isProcessSeries(series));
    const added = ownSeries(after).filter((series) => !before.has(series));

    assert.equal(sent, total);
    assert.deepEqual(added, []);
    assert.doesNotMatch(afterText, /junk[0-9a-f]{12}/i, 'a repository name from a request is in a label');
    assert.ok(
      valueOf(after, 'wharf_http_requests_total', {
        method: 'other',
        route: '/v2/<name>/manifests/<reference>',
        status: '405',
      }) > 0,
      'PROPFIND requests were not counted as method "other"',
    );
  });
});

describe('metrics of pull-through caching', () => {
  let upstream: UpstreamRegistry;
  let server: WharfServer;
  let metricsUrl: string;
  let client: OciClient;
  const image: Image = createImage({ layerCount: 2 });
  const contentBytes = [image.manifest, image.config, ...image.layers].reduce(
    (sum, content) => sum + content.size,
    0,
  );

  before(async () => {
    upstream = await startUpstreamRegistry();
    await new OciClient(upstream.url).pushImage('library/app', 'v1', image);
    ({ server, metricsUrl } = await startWithMetricsPort({
      upstreams: [{ prefix: 'cached', url: upstream.url, tagTtl: '1h' }],
    }));
    client = new OciClient(server.baseUrl);
  });

  after(async () => {
    await server?.dispose();
    await upstream?.dispose();
  });

  /** Pulls the manifest by tag, then the config and each layer, reading every body. */
  async function pullImage(): Promise<void> {
    const paths = [
      '/v2/cached/library/app/manifests/v1',
      ...[image.config, ...image.layers].map((blob) => `/v2/cached/library/app/blobs/${blob.digest}`),
    ];

    for (const path of paths) {
      const response = await client.fetch(path);

      await response.arrayBuffer();
      assert.equal(response.status, 200, `GET ${path}`);
    }
  }

  /**
   * Scrapes until `done` holds, at most 50 times 100 ms apart, because a cold blob is counted when its
   * background copy commits, which can be a moment after the client read the last byte.
   */
  async function scrapeUntil(done: (series: Scrape) => boolean): Promise<Scrape> {
    let series = await scrape(metricsUrl);

    for (let attempt = 0; attempt < 50 && !done(series); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      series = await scrape(metricsUrl);
    }

    return series;
  }

  it('starts the cache series at zero', async () => {
    const series = await scrape(metricsUrl);

    assert.equal(series.get(key('wharf_cache_hits_total', { upstream: 'cached' })), 0);
    assert.equal(series.get(key('wharf_cache_misses_total', { upstream: 'cached' })), 0);
  });

  it('counts misses, then hits', async () => {
    const upstreamBytes = { upstream: 'cached', source: 'upstream' };
    const cacheBytes = { upstream: 'cached', source: 'cache' };

    await pullImage();

    const cold = await scrapeUntil(
      (series) => valueOf(series, 'wharf_cache_misses_total', { upstream: 'cached' }) >= 4,
    );

    assert.equal(valueOf(cold, 'wharf_cache_misses_total', { upstream: 'cached' }), 4);
    assert.equal(valueOf(cold, 'wharf_cache_hits_total', { upstream: 'cached' }), 0);
    assert.equal(valueOf(cold, 'wharf_cache_bytes_total', upstreamBytes), contentBytes);
    assert.ok(valueOf(cold, 'wharf_upstream_requests_total', { upstream: 'cached', result: 'success' }) >= 4);

    await pullImage();

    const warm = await scrape(metricsUrl);

    assert.equal(valueOf(warm, 'wharf_cache_hits_total', { upstream: 'cached' }), 4);
    assert.equal(valueOf(warm, 'wharf_cache_misses_total', { upstream: 'cached' }), 4);
    assert.equal(valueOf(warm, 'wharf_cache_bytes_total', cacheBytes), contentBytes);
  });

  it('counts upstream not-found answers', async () => {
    const notFound = { upstream: 'cached', result: 'not-found' };
    const before = await scrape(metricsUrl);
    const response = await client.fetch('/v2/cached/library/missing/manifests/v1');

    await response.arrayBuffer();
    assert.equal(response.status, 404);

    const after = await scrape(metricsUrl);

    assert.equal(
      valueOf(after, 'wharf_upstream_requests_total', notFound) -
        valueOf(before, 'wharf_upstream_requests_total', notFound),
      1,
    );
  });
});

describe('metrics turned off', () => {
  let server: WharfServer;
  let port: number;

  before(async () => {
    port = await freePort();
    server = await startWharf({ config: { metrics: { enabled: false, port } } });
  });

  after(async () => {
    await server?.dispose();
  });

  it('answers /metrics with 404', async () => {
    const response = await fetch(`${server.baseUrl}/metrics`);
    const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };

    assert.equal(response.status, 404);
    assert.equal(body.errors[0].code, 'NOT_FOUND');
  });

  it('opens no metrics listener', async () => {
    // The listener starts before the main port, so its log line would precede "wharf listening".
    const started = server.logRecords().filter((record) => record.msg === 'metrics listening');

    assert.deepEqual(started, []);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), TypeError);
  });
});

describe('metrics with auth', () => {
  let workDirectory: string;
  let server: WharfServer;
  let metricsUrl: string;
  const passwords = { alice: 'alice-metrics-1', bob: 'bob-metrics-2', root: 'root-metrics-3' };

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-metrics-auth-'));

    const htpasswdPath = join(workDirectory, 'htpasswd');
    const lines = Object.entries(passwords).map(([user, password]) =>
      execFileSync('/usr/bin/htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim(),
    );

    await writeFile(htpasswdPath, `${lines.join('\n')}\n`);
    ({ server, metricsUrl } = await startWithMetricsPort({
      auth: { htpasswd: { path: htpasswdPath }, failedLogins: { delay: '10ms' } },
      access: {
        anonymous: { networks: ['127.0.0.0/8', '::1/128'] },
        repositories: { '**': { anonymous: ['read'], authenticated: ['read'] } },
        admins: { users: ['root'] },
        metrics: { anonymous: false, users: ['alice'] },
      },
    }));
  });

  after(async () => {
    await server?.dispose();
    await rm(workDirectory, { recursive: true, force: true });
  });

  async function getMainMetrics(authorization?: string): Promise<Response> {
    return fetch(`${server.baseUrl}/metrics`, {
      headers: authorization === undefined ? {} : { authorization },
      signal: AbortSignal.timeout(30_000),
    });
  }

  it('rejects anonymous clients on the main port', async () => {
    const response = await getMainMetrics();
    const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };

    assert.equal(response.status, 401);
    assert.equal(body.errors[0].code, 'UNAUTHORIZED');
    assert.equal(response.headers.get('www-authenticate'), null);
  });

  it('rejects users not listed', async () => {
    const response = await getMainMetrics(basic('bob', passwords.bob));
    const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };

    assert.equal(response.status, 403);
    assert.equal(body.errors[0].code, 'DENIED');
  });

  it('allows a listed user', async () => {
    const response = await getMainMetrics(basic('alice', passwords.alice));
    const text = await response.text();

    assert.equal(response.status, 200);
    assert.match(text, /^wharf_info\{version="0\.1\.0"\} 1$/m);
  });

  it('allows an admin', async () => {
    const response = await getMainMetrics(basic('root', passwords.root));

    await response.arrayBuffer();
    assert.equal(response.status, 200);
  });

  it('leaves the metrics port open', async () => {
    const series = await scrape(metricsUrl);

    assert.equal(valueOf(series, 'wharf_info', { version: '0.1.0' }), 1);
  });

  it('counts auth attempts', async () => {
    const failure = { method: 'htpasswd', result: 'failure' };
    const success = { method: 'htpasswd', result: 'success' };
    const before = await scrape(metricsUrl);
    const rejected = await getMainMetrics(basic('alice', 'wrong-password'));

    await rejected.arrayBuffer();
    assert.equal(rejected.status, 401);

    const between = await scrape(metricsUrl);
    const accepted = await getMainMetrics(basic('root', passwords.root));

    await accepted.arrayBuffer();
    assert.equal(accepted.status, 200);

    const after = await scrape(metricsUrl);

    assert.equal(
      valueOf(between, 'wharf_auth_attempts_total', failure) -
        valueOf(before, 'wharf_auth_attempts_total', failure),
      1,
    );
    assert.equal(
      valueOf(after, 'wharf_auth_attempts_total', success) -
        valueOf(between, 'wharf_auth_attempts_total', success),
      1,
    );
  });

  it('counts bearer token checks', async () => {
    const tokenResponse = await fetch(`${server.baseUrl}/auth/token?scope=repository:team/app:pull`, {
      headers: { authorization: basic('alice', passwords.alice) },
    });
    const { token } = (await tokenResponse.json()) as { token: string };

    assert.equal(tokenResponse.status, 200);

    const before = await scrape(metricsUrl);
    const good = await fetch(`${server.baseUrl}/v2/`, { headers: { authorization: `Bearer ${token}` } });
    const bad = await fetch(`${server.baseUrl}/v2/`, { headers: { authorization: 'Bearer not-a-token' } });

    await good.arrayBuffer();
    await bad.arrayBuffer();
    assert.equal(good.status, 200);
    assert.equal(bad.status, 401);

    const after = await scrape(metricsUrl);
    const delta = (result: string) =>
      valueOf(after, 'wharf_auth_attempts_total', { method: 'token', result }) -
      valueOf(before, 'wharf_auth_attempts_total', { method: 'token', result });

    assert.equal(delta('success'), 1);
    assert.equal(delta('failure'), 1);
  });
});
