/**
 * `GET /api/v1/upstreams/history` and the `storageBytes` of `GET /api/v1/upstreams`, against a real
 * Wharf process that samples every second in front of a real CNCF Distribution registry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { createImage, type Image, mediaTypes, OciClient } from '../support/oci-client.js';
import { startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const password = 'reader-password-5';
/** Bound of the waits for the statistics flush (every 5 s) and the next sample (every 1 s). */
const waitDeadlineMs = 30_000;
const pollIntervalMs = 200;
const hourMs = 3_600_000;

interface Counters {
  hits: number;
  misses: number;
  bytesFetched: number;
  bytesServed: number;
  notFound: number;
  errors: number;
}

interface UpstreamItem {
  prefix: string;
  storageBytes: number;
  statistics: Counters;
}

interface Sample extends Counters {
  at: string;
  storageBytes: number;
}

interface History {
  from: string;
  to: string;
  intervalSeconds: number;
  upstreams: { prefix: string; samples: Sample[] }[];
}

interface ApiResponse<T> {
  status: number;
  body: T;
  text: string;
}

function imageBytes(image: Image): number {
  return image.manifest.size + image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
}

function counters(value: Counters): Counters {
  return {
    hits: value.hits,
    misses: value.misses,
    bytesFetched: value.bytesFetched,
    bytesServed: value.bytesServed,
    notFound: value.notFound,
    errors: value.errors,
  };
}

describe('upstream history', () => {
  let workDirectory: string;
  let upstream: UpstreamRegistry;
  let wharf: WharfServer;
  const image = createImage({ layerCount: 2 });
  const authorization = `Basic ${Buffer.from(`reader:${password}`).toString('base64')}`;

  async function api<T>(path: string, signedIn = true): Promise<ApiResponse<T>> {
    const response = await fetch(`${wharf.baseUrl}${path}`, {
      headers: signedIn ? { authorization } : {},
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();

    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T, text };
  }

  async function ok<T>(path: string): Promise<T> {
    const response = await api<T>(path);

    assert.equal(response.status, 200, `GET ${path} returned ${response.status}: ${response.text}`);

    return response.body;
  }

  /** Polls until `read` returns a value that `done` accepts; fails with the last value after the deadline. */
  async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    const deadline = Date.now() + waitDeadlineMs;
    let value = await read();

    while (!done(value) && Date.now() < deadline) {
      await sleep(pollIntervalMs);
      value = await read();
    }

    assert.ok(done(value), `${what}; last value: ${JSON.stringify(value)}`);

    return value;
  }

  /** Pulls the image through the `hub` prefix: its manifest by tag, then each blob. */
  async function pullThrough(client: OciClient): Promise<void> {
    const manifest = await client.fetch('/v2/hub/app/manifests/1.0', {
      headers: { accept: mediaTypes.imageManifest },
    });

    assert.equal(manifest.status, 200, await manifest.clone().text());
    await manifest.arrayBuffer();

    for (const blob of [image.config, ...image.layers]) {
      const response = await client.fetch(`/v2/hub/app/blobs/${blob.digest}`);

      assert.equal(response.status, 200, `GET blob ${blob.digest} returned ${response.status}`);
      await response.arrayBuffer();
    }
  }

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-history-'));

    const htpasswdPath = join(workDirectory, 'htpasswd');
    const line = execFileSync('/usr/bin/htpasswd', ['-Bbn', 'reader', password], { encoding: 'utf8' });

    await writeFile(htpasswdPath, line);

    upstream = await startUpstreamRegistry();
    await new OciClient(upstream.url).pushImage('app', '1.0', image);

    wharf = await startWharf({
      config: {
        auth: { htpasswd: { path: htpasswdPath } },
        access: { repositories: { '**': { authenticated: ['read'] } } },
        statistics: { sampleInterval: '1s', retention: '1h' },
        upstreams: [
          { prefix: 'hub', url: upstream.url },
          // Configured and never requested: it must still get samples, all zero.
          { prefix: 'idle', url: upstream.url },
        ],
      },
    });

    const client = new OciClient(wharf.baseUrl, { authorization });

    // The first pull misses and fills the cache; the second is served from it.
    await pullThrough(client);
    await pullThrough(client);
  });

  after(async () => {
    await wharf?.dispose();
    await upstream?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  it('reports the storage of each upstream', async () => {
    const body = await waitFor(
      () => ok<{ upstreams: UpstreamItem[] }>('/api/v1/upstreams'),
      (value) => value.upstreams.some((item) => item.prefix === 'hub' && item.storageBytes > 0),
      'the hub cache should have stored the image',
    );
    const storage = Object.fromEntries(body.upstreams.map((item) => [item.prefix, item.storageBytes]));

    assert.deepEqual(storage, { hub: imageBytes(image), idle: 0 });
  });

  it('samples what the upstreams endpoint reports', async () => {
    const current = await waitFor(
      () => ok<{ upstreams: UpstreamItem[] }>('/api/v1/upstreams'),
      (value) => {
        const hub = value.upstreams.find((item) => item.prefix === 'hub');

        return hub !== undefined && hub.statistics.hits >= 3 && hub.statistics.misses >= 3;
      },
      'the pulls should be counted',
    );
    const hub = current.upstreams.find((item) => item.prefix === 'hub');

    assert.ok(hub, 'hub is missing');

    const history = await waitFor(
      () => ok<History>('/api/v1/upstreams/history?range=1h'),
      (value) => {
        const latest = value.upstreams.find((item) => item.prefix === 'hub')?.samples.at(-1);

        return (
          latest !== undefined &&
          JSON.stringify(counters(latest)) === JSON.stringify(counters(hub.statistics)) &&
          latest.storageBytes === hub.storageBytes
        );
      },
      `a sample should show ${JSON.stringify(hub)}`,
    );
    const samples = history.upstreams.find((item) => item.prefix === 'hub')?.samples ?? [];
    const latest = samples[samples.length - 1];

    assert.deepEqual(counters(latest), counters(hub.statistics));
    assert.ok(latest.bytesFetched > 0, JSON.stringify(latest));
    assert.equal(latest.storageBytes, imageBytes(image));
    assert.equal(history.intervalSeconds, 1);
    assert.equal(Date.parse(history.to) - Date.parse(history.from), hourMs);

    const times = samples.map((sample) => Date.parse(sample.at));

    for (const [index, time] of times.entries()) {
      assert.equal(time % 1000, 0, `sample ${index} at ${samples[index].at} is not on a second`);
      assert.ok(index === 0 || time > times[index - 1], `sample ${index} is not after the one before`);
    }
  });

  it('lists every configured upstream', async () => {
    const history = await waitFor(
      () => ok<History>('/api/v1/upstreams/history?range=7d'),
      (value) => (value.upstreams.find((item) => item.prefix === 'idle')?.samples.length ?? 0) > 0,
      'the idle upstream should be sampled',
    );
    const idle = history.upstreams.find((item) => item.prefix === 'idle')?.samples.at(-1);

    assert.deepEqual(
      history.upstreams.map((item) => item.prefix),
      ['hub', 'idle'],
    );
    assert.deepEqual(idle && { ...counters(idle), storageBytes: idle.storageBytes }, {
      hits: 0,
      misses: 0,
      bytesFetched: 0,
      bytesServed: 0,
      notFound: 0,
      errors: 0,
      storageBytes: 0,
    });
  });

  it('covers 24 hours by default', async () => {
    const history = await ok<History>('/api/v1/upstreams/history');

    assert.equal(Date.parse(history.to) - Date.parse(history.from), 24 * hourMs);
  });

  it('rejects an unknown range', async () => {
    const response = await api<{ errors: { code: string; message: string }[] }>(
      '/api/v1/upstreams/history?range=2h',
    );

    assert.equal(response.status, 400, response.text);
    assert.equal(response.body.errors[0]?.code, 'BAD_REQUEST');
    assert.match(response.body.errors[0]?.message ?? '', /^range must be one of 1h, 24h, 7d$/);
  });

  it('rejects anonymous callers', async () => {
    for (const path of ['/api/v1/upstreams/history', '/api/v1/upstreams']) {
      const response = await api(path, false);

      assert.equal(response.status, 401, `${path}: ${response.text}`);
    }
  });

  it('documents the route and its ranges', async () => {
    const document = await ok<{
      paths: Record<string, { get?: { parameters?: { name: string; schema?: { enum?: string[] } }[] } }>;
    }>('/api/docs-json');
    const range = document.paths['/api/v1/upstreams/history']?.get?.parameters?.find(
      (parameter) => parameter.name === 'range',
    );

    assert.deepEqual(range?.schema?.enum, ['1h', '24h', '7d']);
  });

  it('stops sampling cleanly on shutdown', async () => {
    await wharf.stop();

    const failures = wharf
      .logRecords()
      .filter((record) => record.msg === 'failed to sample upstream statistics');

    assert.equal(wharf.process.exitCode, 0);
    assert.deepEqual(failures, []);
  });
});
