/**
 * Scrubbing against a real store: blob files are altered and removed on disk behind Wharf's back, and
 * a scrub started through the admin API finds exactly those, naming the repositories that need them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.js';
import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import { computeDigest, createImage, mediaTypes, OciClient, type Image } from '../support/oci-client.js';
import { runWharfCli } from '../support/wharf-cli.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const passwords = {
  admin: randomBytes(12).toString('base64url'),
  reader: randomBytes(12).toString('base64url'),
};

interface ScrubReport {
  state: string;
  checkedBlobs: number;
  problems: {
    digest: string;
    problem: string;
    recordedSize: number;
    actualSize: number | null;
    actualDigest: string | null;
    holders: { repository: string; kind: string }[];
    quarantined: boolean;
    recoverable: boolean;
  }[];
}

/** A scrub of this small store takes well under a second; this bounds the wait for a slow machine. */
const scrubDeadlineMs = 30_000;

function basic(user: keyof typeof passwords): string {
  return basicAuthorization(user, passwords[user]);
}

describe('scrub', () => {
  let wharf: WharfServer;
  let hub: FakeUpstream;
  let workDirectory: string;
  const local = createImage({ layerCount: 2 });
  const other = createImage({ layerCount: 1 });
  const cached = createImage({ layerCount: 1 });
  const alteredBytes = randomBytes(local.layers[0].size);
  const alteredCachedBytes = randomBytes(cached.layers[0].size);

  function blobFile(digest: string): string {
    const hex = digest.slice('sha256:'.length);

    return join(wharf.rootDirectory, 'blobs', 'sha256', hex.slice(0, 2), hex);
  }

  function scrub(method: 'GET' | 'POST', user?: keyof typeof passwords): Promise<Response> {
    return fetch(`${wharf.baseUrl}/api/v1/scrub`, {
      method,
      headers: user === undefined ? {} : { Authorization: basic(user) },
    });
  }

  /** Starts a scrub and waits for its report. */
  async function runScrub(): Promise<ScrubReport> {
    const started = await scrub('POST', 'admin');

    assert.equal(started.status, 202);
    assert.equal(((await started.json()) as ScrubReport).state, 'running');

    const deadline = Date.now() + scrubDeadlineMs;
    let status = (await (await scrub('GET', 'admin')).json()) as {
      running: unknown;
      last: ScrubReport | null;
    };

    while (status.running !== null && Date.now() < deadline) {
      await sleep(100);
      status = (await (await scrub('GET', 'admin')).json()) as typeof status;
    }

    assert.equal(status.running, null, JSON.stringify(status));
    assert.ok(status.last, JSON.stringify(status));

    return status.last;
  }

  /** Pulls an image through the cache: its manifest, then each blob. */
  async function pullThrough(repository: string, tag: string, image: Image): Promise<void> {
    const headers = { Authorization: basic('reader'), Accept: mediaTypes.imageManifest };
    const manifest = await fetch(`${wharf.baseUrl}/v2/${repository}/manifests/${tag}`, { headers });

    await manifest.arrayBuffer();
    assert.equal(manifest.status, 200);

    for (const blob of [image.config, ...image.layers]) {
      const response = await fetch(`${wharf.baseUrl}/v2/${repository}/blobs/${blob.digest}`, { headers });

      await response.arrayBuffer();
      assert.equal(response.status, 200);
    }
  }

  /**
   * Waits until the cache has counted `count` misses from the upstream: a cold blob is counted once its
   * background copy is committed, which can be a moment after the client read the last byte.
   */
  async function waitForCacheMisses(count: number): Promise<void> {
    const pattern = /^wharf_cache_misses_total\{upstream="hub"\} (\d+)$/m;
    const deadline = Date.now() + scrubDeadlineMs;
    let misses = 0;

    while (Date.now() < deadline) {
      const response = await fetch(`${wharf.baseUrl}/metrics`, {
        headers: { Authorization: basic('admin') },
      });

      misses = Number(pattern.exec(await response.text())?.[1] ?? 0);

      if (misses >= count) {
        return;
      }

      await sleep(50);
    }

    assert.fail(`the cache counted ${misses} misses, not ${count}`);
  }

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-scrub-'));

    const htpasswdPath = join(workDirectory, 'htpasswd');

    await writeHtpasswd(htpasswdPath, passwords);
    hub = await startFakeUpstream();
    hub.addImage('library/cached', '1', cached);
    wharf = await startWharf({
      config: {
        upstreams: [{ prefix: 'hub', url: hub.url, dockerHub: true }],
        auth: { htpasswd: { path: htpasswdPath } },
        access: {
          repositories: { '**': { authenticated: ['read'] } },
          admins: { users: ['admin'] },
        },
      },
    });

    const client = new OciClient(wharf.baseUrl, { Authorization: basic('admin') });

    await client.pushImage('team/app', 'v1', local);
    await client.pushImage('team/other', 'v1', other);
    await pullThrough('hub/cached', '1', cached);
    // The manifest, the config and the layer, each committed to the store.
    await waitForCacheMisses(3);
    // Bytes changed on disk with the size kept, a file removed, and a cached blob changed too.
    await writeFile(blobFile(local.layers[0].digest), alteredBytes);
    await rm(blobFile(other.layers[0].digest));
    await writeFile(blobFile(cached.layers[0].digest), alteredCachedBytes);
  });

  after(async () => {
    await wharf?.dispose();
    await hub?.close();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('is for administrators only', async () => {
    assert.equal((await scrub('POST')).status, 401);
    assert.equal((await scrub('POST', 'reader')).status, 403);
    assert.equal((await scrub('GET', 'reader')).status, 403);
  });

  it('finds altered and missing blobs and who needs them', async () => {
    const report = await runScrub();

    assert.equal(report.state, 'finished');
    // Two local images and a cached one: manifests, configs and layers, the shared config once.
    assert.ok(report.checkedBlobs >= 7, `checked ${report.checkedBlobs} blobs`);
    assert.deepEqual(
      [...report.problems].sort((a, b) => a.digest.localeCompare(b.digest)),
      [
        {
          digest: local.layers[0].digest,
          problem: 'corrupt',
          recordedSize: local.layers[0].size,
          actualSize: alteredBytes.length,
          actualDigest: computeDigest(alteredBytes),
          holders: [{ repository: 'team/app', kind: 'local' }],
          quarantined: true,
          recoverable: false,
        },
        {
          digest: other.layers[0].digest,
          problem: 'missing',
          recordedSize: other.layers[0].size,
          actualSize: null,
          actualDigest: null,
          holders: [{ repository: 'team/other', kind: 'local' }],
          quarantined: false,
          recoverable: false,
        },
        {
          digest: cached.layers[0].digest,
          problem: 'corrupt',
          recordedSize: cached.layers[0].size,
          actualSize: cached.layers[0].size,
          actualDigest: computeDigest(alteredCachedBytes),
          holders: [{ repository: 'hub/library/cached', kind: 'cached' }],
          quarantined: true,
          recoverable: true,
        },
      ].sort((a, b) => a.digest.localeCompare(b.digest)),
    );
  });

  it('keeps quarantined bytes for inspection', async () => {
    const hex = local.layers[0].digest.slice('sha256:'.length);

    assert.deepEqual(await readFile(join(wharf.rootDirectory, 'quarantine', 'sha256', hex)), alteredBytes);
  });

  it('stops serving a lost blob', async () => {
    const response = await fetch(`${wharf.baseUrl}/v2/team/app/blobs/${local.layers[0].digest}`, {
      headers: { Authorization: basic('reader') },
    });
    const body = (await response.json()) as { errors: { code: string }[] };

    assert.equal(response.status, 404);
    assert.equal(body.errors[0].code, 'BLOB_UNKNOWN');
  });

  it('fetches a quarantined cached blob again from the upstream', async () => {
    const layer = cached.layers[0];
    const path = hub.blobPath('library/cached', layer.digest);
    const fetchedBefore = hub.count({ method: 'GET', path });
    const response = await fetch(`${wharf.baseUrl}/v2/hub/cached/blobs/${layer.digest}`, {
      headers: { Authorization: basic('reader') },
    });

    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), Buffer.from(layer.bytes));
    assert.equal(hub.count({ method: 'GET', path }), fetchedBefore + 1);
  });

  it('reports lost blobs again, and a refetched one no more', async () => {
    // The refetched bytes reach the store a moment after the client got them; a scrub before that
    // would find the file still missing.
    await waitForCacheMisses(4);

    const report = await runScrub();

    assert.deepEqual(
      report.problems.map((entry) => [entry.digest, entry.problem]).sort(),
      [
        [local.layers[0].digest, 'missing'],
        [other.layers[0].digest, 'missing'],
      ].sort(),
    );
  });

  it('counts scrubs in the metrics', async () => {
    const response = await fetch(`${wharf.baseUrl}/metrics`, { headers: { Authorization: basic('admin') } });
    const text = await response.text();

    assert.equal(response.status, 200, text.slice(0, 200));
    assert.match(text, /^wharf_scrub_runs_total\{result="finished"\} 2$/m);
    assert.match(text, /^wharf_scrub_problems_total\{problem="corrupt"\} 2$/m);
    assert.match(text, /^wharf_scrub_problems_total\{problem="missing"\} 3$/m);
    assert.match(text, /^wharf_scrub_duration_seconds_count 2$/m);
  });

  it('logs each broken blob', async () => {
    const records = await wharf.waitForLog((record) => record.msg === 'scrub found a broken blob');

    // Three in the first scrub and the two lost ones again in the second.
    assert.equal(records.length, 5);
    assert.equal(records.filter((record) => record.quarantined === true).length, 2);
  });

  it('runs from the command line and exits 3 on broken blobs', async () => {
    const result = await runWharfCli(
      ['scrub', '--url', wharf.baseUrl, '--user', 'admin', '--password-stdin'],
      {
        input: `${passwords.admin}\n`,
      },
    );

    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stdout, /^scrub finished: \d+ blobs, .* checked in .*; 2 broken$/m);
    assert.match(
      result.stdout,
      new RegExp(`^missing  ${local.layers[0].digest}  team/app \\(local\\)  lost$`, 'm'),
    );
    assert.match(
      result.stdout,
      new RegExp(`^missing  ${other.layers[0].digest}  team/other \\(local\\)  lost$`, 'm'),
    );
  });

  it('tells the command line user to sign in', async () => {
    const result = await runWharfCli(['scrub', '--url', wharf.baseUrl]);

    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^wharf: Wharf rejected the scrub request: sign in with --user, and give the password in WHARF_PASSWORD or with --password-stdin$/m,
    );
  });
});

describe('periodic scrub', () => {
  let wharf: WharfServer;

  before(async () => {
    wharf = await startWharf({ env: { WHARF_STORAGE__SCRUB__INTERVAL: '1s' } });
  });

  after(async () => {
    await wharf?.dispose();
  });

  it('runs without being asked', async () => {
    await new OciClient(wharf.baseUrl).pushImage('team/app', 'v1', createImage({ layerCount: 1 }));

    const deadline = Date.now() + scrubDeadlineMs;
    let last: ScrubReport | null = null;

    while (last === null && Date.now() < deadline) {
      await sleep(200);
      last = ((await (await fetch(`${wharf.baseUrl}/api/v1/scrub`)).json()) as { last: ScrubReport | null })
        .last;
    }

    assert.ok(last, 'no scrub ran');
    assert.equal(last.state, 'finished');
    assert.deepEqual(last.problems, []);
  });
});
