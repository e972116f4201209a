/**
 * Garbage collection against a real store and a real upstream: what retention rules, the grace period
 * and cache quotas keep and delete, a dry run that matches the real run, and collection running while
 * clients push and pull.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import {
  type Content,
  computeDigest,
  createImage,
  createIndex,
  createRandomBlob,
  descriptorOf,
  type Image,
  mediaTypes,
  OciClient,
} from '../support/oci-client.js';
import { countRequests, startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { runWharfCli } from '../support/wharf-cli.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

interface GcReport {
  state: string;
  startedAt: string;
  dryRun: boolean;
  removed: { tags: number; manifests: number; links: number; blobs: number; files: number; bytes: number };
  quotas: {
    upstream: string;
    maxSize: number;
    sizeBefore: number;
    sizeAfter: number;
    evictedImages: number;
  }[];
  deletions: {
    kind: string;
    repository: string | null;
    tag: string | null;
    digest: string;
    size: number | null;
    reason: string;
  }[];
  unlistedDeletions: number;
  error: string | null;
}

/** A collection of these small stores takes well under a second; this bounds the wait on a slow machine. */
const gcDeadlineMs = 30_000;
const acceptAll = [mediaTypes.imageManifest, mediaTypes.imageIndex].join(', ');
const admin = { user: 'admin', password: randomBytes(12).toString('base64url') };
const adminAuthorization = basicAuthorization(admin.user, admin.password);

/**
 * Starts Wharf with an htpasswd administrator and `storage` settings, in a fresh data directory, or
 * again in the one of an earlier start when `reuse` names its work directory.
 */
async function startCollectingWharf(
  storage: Record<string, unknown>,
  config: Record<string, unknown> = {},
  reuse?: string,
): Promise<{ wharf: WharfServer; workDirectory: string }> {
  const workDirectory = reuse ?? (await mkdtemp(join(tmpdir(), 'wharf-gc-')));
  const rootDirectory = join(workDirectory, 'data');
  const htpasswdPath = join(workDirectory, 'htpasswd');

  if (reuse === undefined) {
    await mkdir(rootDirectory);
    await writeHtpasswd(htpasswdPath, { [admin.user]: admin.password });
  }

  const wharf = await startWharf({
    rootDirectory,
    config: {
      storage: { rootDirectory, scrub: { interval: '0s' }, ...storage },
      auth: { htpasswd: { path: htpasswdPath } },
      access: { admins: { users: [admin.user] } },
      ...config,
    },
  });

  return { wharf, workDirectory };
}

/** Starts a collection, waiting for one already running to end first, and returns its report. */
async function collect(wharf: WharfServer, options: { dryRun?: boolean } = {}): Promise<GcReport> {
  const deadline = Date.now() + gcDeadlineMs;
  const url = `${wharf.baseUrl}/api/v1/gc${options.dryRun === true ? '?dryRun=true' : ''}`;
  let started = await fetch(url, { method: 'POST', headers: { Authorization: adminAuthorization } });

  while (started.status === 409 && Date.now() < deadline) {
    await started.arrayBuffer();
    await sleep(20);
    started = await fetch(url, { method: 'POST', headers: { Authorization: adminAuthorization } });
  }

  assert.equal(started.status, 202, await started.text());

  return waitForCollection(wharf, deadline);
}

/** Waits until no collection runs and returns the last report. */
async function waitForCollection(
  wharf: WharfServer,
  deadline = Date.now() + gcDeadlineMs,
): Promise<GcReport> {
  for (;;) {
    const response = await fetch(`${wharf.baseUrl}/api/v1/gc`, {
      headers: { Authorization: adminAuthorization },
    });
    const status = (await response.json()) as { running: GcReport | null; last: GcReport | null };

    if (status.running === null && status.last !== null) {
      assert.equal(status.last.state, 'finished', JSON.stringify(status.last));

      return status.last;
    }

    assert.ok(Date.now() < deadline, `garbage collection still running: ${JSON.stringify(status.running)}`);
    await sleep(20);
  }
}

/** Returns the status of a manifest GET, reading the body. */
async function manifestStatus(client: OciClient, repository: string, reference: string): Promise<number> {
  const response = await client.fetch(`/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: acceptAll },
  });

  await response.arrayBuffer();

  return response.status;
}

/** Reads a blob through a repository and checks its bytes. */
async function assertBlob(client: OciClient, repository: string, blob: Content): Promise<void> {
  const response = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`);

  assert.equal(response.status, 200, `GET ${repository} blob ${blob.digest}`);
  assert.equal(computeDigest(Buffer.from(await response.arrayBuffer())), blob.digest);
}

/** Pulls an image as a client does: its manifest by `reference`, then its config and layers. */
async function pullImage(
  client: OciClient,
  repository: string,
  reference: string,
  image: Image,
): Promise<void> {
  const response = await client.fetch(`/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: acceptAll },
  });

  assert.equal(response.status, 200, `GET ${repository}:${reference}`);
  assert.equal(computeDigest(Buffer.from(await response.arrayBuffer())), image.manifest.digest);

  for (const blob of [image.config, ...image.layers]) {
    await assertBlob(client, repository, blob);
  }
}

function blobFile(wharf: WharfServer, digest: string): string {
  const hex = digest.slice('sha256:'.length);

  return join(wharf.rootDirectory, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

async function scrapeMetrics(wharf: WharfServer): Promise<string> {
  const response = await fetch(`${wharf.baseUrl}/metrics`, {
    headers: { Authorization: adminAuthorization },
  });

  return response.text();
}

/** Lists the fields that identify each deletion, for comparing two reports. */
function deletionKeys(report: GcReport): string[] {
  return report.deletions
    .map((entry) => [entry.kind, entry.repository, entry.tag, entry.digest, entry.reason].join(' '))
    .sort();
}

describe('garbage collection with retention rules', () => {
  let wharf: WharfServer;
  let workDirectory: string;
  let client: OciClient;
  let dryRun: GcReport;
  let real: GcReport;
  const children = [createImage({ layerCount: 1 }), createImage({ layerCount: 1 })];
  const index = createIndex(children.map((child) => child.manifest));
  const stray = createImage({ layerCount: 1 });
  const sharedLayer = createRandomBlob(300);
  const taggedImage = createImage({ layers: [sharedLayer, createRandomBlob(200)] });
  const untaggedImage = createImage({ layers: [sharedLayer, createRandomBlob(200)] });
  const liveSubject = createImage({ layerCount: 1 });
  const deletedSubject = createImage({ layerCount: 1 });
  const referrerOf = (subject: Image): Image =>
    createImage({
      layerCount: 1,
      artifactType: 'application/spdx+json',
      subject: descriptorOf(subject.manifest),
    });
  const liveReferrer = referrerOf(liveSubject);
  const orphanedReferrer = referrerOf(deletedSubject);
  const keptUntagged = createImage({ layerCount: 1 });
  const teamTags = ['release-1', 'a', 'b', 'c', 'd'];
  const teamImages = teamTags.map(() => createImage({ layerCount: 1 }));
  const looseBlob = createRandomBlob(500);
  const orphanBytes = randomBytes(700);
  const orphanDigest = computeDigest(orphanBytes);

  before(async () => {
    ({ wharf, workDirectory } = await startCollectingWharf({
      gc: { interval: '0s', delay: '0s' },
      retention: [
        { repositories: 'keep/**' },
        { repositories: 'team/**', keepLast: 2, keepTags: ['release-*'] },
        { repositories: '**', deleteUntaggedAfter: '0s' },
      ],
    }));
    client = new OciClient(wharf.baseUrl, { Authorization: adminAuthorization });

    for (const child of children) {
      await client.pushImage('multi/app', child.manifest.digest, child);
    }

    await client.pushManifest('multi/app', '1', index);
    await client.pushImage('multi/app', stray.manifest.digest, stray);
    await client.pushImage('shared/tagged', '1', taggedImage);
    await client.pushImage('shared/untagged', untaggedImage.manifest.digest, untaggedImage);
    await client.pushImage('ref/app', '1', liveSubject);
    await client.pushImage('ref/app', liveReferrer.manifest.digest, liveReferrer);
    await client.pushImage('ref/app', '2', deletedSubject);
    await client.pushImage('ref/app', orphanedReferrer.manifest.digest, orphanedReferrer);

    const deleted = await client.fetch(`/v2/ref/app/manifests/${deletedSubject.manifest.digest}`, {
      method: 'DELETE',
    });

    assert.equal(deleted.status, 202);
    await client.pushImage('keep/app', keptUntagged.manifest.digest, keptUntagged);

    // Pushed one after another, so that each tag is newer than the one before.
    for (const [position, tag] of teamTags.entries()) {
      await client.pushImage('team/app', tag, teamImages[position]);
      await sleep(5);
    }

    await client.pushBlob('loose/app', looseBlob);

    // Bytes without a row, as a crash between the move and the row leaves them, from a day ago.
    const orphanPath = blobFile(wharf, orphanDigest);
    const dayAgo = new Date(Date.now() - 86_400_000);

    await mkdir(dirname(orphanPath), { recursive: true });
    await writeFile(orphanPath, orphanBytes);
    await utimes(orphanPath, dayAgo, dayAgo);
  });

  after(async () => {
    await wharf?.dispose();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('is for administrators only', async () => {
    const anonymous = await fetch(`${wharf.baseUrl}/api/v1/gc`, { method: 'POST' });

    assert.equal(anonymous.status, 401);

    const badQuery = await fetch(`${wharf.baseUrl}/api/v1/gc?dryRun=maybe`, {
      method: 'POST',
      headers: { Authorization: adminAuthorization },
    });
    const body = (await badQuery.json()) as { errors: { message: string }[] };

    assert.equal(badQuery.status, 400);
    assert.match(body.errors[0].message, /dryRun must be true or false/);
  });

  it('lists in a dry run what it would delete, and deletes nothing', async () => {
    dryRun = await collect(wharf, { dryRun: true });

    assert.equal(dryRun.dryRun, true);
    assert.deepEqual(
      dryRun.deletions
        .filter((entry) => entry.kind === 'tag')
        .map((entry) => entry.tag)
        .sort(),
      ['a', 'b'],
    );
    assert.deepEqual(
      dryRun.deletions
        .filter((entry) => entry.kind === 'manifest')
        .map((entry) => [entry.repository, entry.digest, entry.reason])
        .sort(),
      [
        ['multi/app', stray.manifest.digest, 'untagged'],
        ['ref/app', orphanedReferrer.manifest.digest, 'orphaned-referrer'],
        ['shared/untagged', untaggedImage.manifest.digest, 'untagged'],
      ].sort(),
    );
    assert.ok(
      deletionKeys(dryRun).includes(`file   ${orphanDigest} orphaned-file`),
      deletionKeys(dryRun).join('\n'),
    );
    assert.equal(await manifestStatus(client, 'team/app', 'a'), 200);
    assert.equal(await manifestStatus(client, 'multi/app', stray.manifest.digest), 200);
    assert.ok(existsSync(blobFile(wharf, orphanDigest)));
    assert.ok(existsSync(blobFile(wharf, looseBlob.digest)));
  });

  it('deletes exactly what the dry run listed', async () => {
    real = await collect(wharf);

    assert.equal(real.dryRun, false);
    assert.deepEqual(deletionKeys(real), deletionKeys(dryRun));
    assert.deepEqual(real.removed, dryRun.removed);
  });

  it('keeps a tagged multi-platform index with its children, configs and layers', async () => {
    assert.equal(await manifestStatus(client, 'multi/app', '1'), 200);

    for (const child of children) {
      await pullImage(client, 'multi/app', child.manifest.digest, child);
    }
  });

  it('deletes untagged manifests under a rule', async () => {
    assert.equal(await manifestStatus(client, 'multi/app', stray.manifest.digest), 404);
    assert.equal(existsSync(blobFile(wharf, stray.layers[0].digest)), false);
    assert.equal(existsSync(blobFile(wharf, stray.manifest.digest)), false);
  });

  it('keeps untagged manifests where no rule says to delete them', async () => {
    await pullImage(client, 'keep/app', keptUntagged.manifest.digest, keptUntagged);
  });

  it('deletes the tags a rule does not keep, and leaves their manifests', async () => {
    const { body } = await client.getJson<{ tags: string[] }>('/v2/team/app/tags/list');

    assert.deepEqual(body.tags.sort(), ['c', 'd', 'release-1']);
    await pullImage(client, 'team/app', teamImages[1].manifest.digest, teamImages[1]);
  });

  it('keeps a blob that a tagged and an untagged repository share', async () => {
    assert.equal(await manifestStatus(client, 'shared/untagged', untaggedImage.manifest.digest), 404);
    assert.equal(existsSync(blobFile(wharf, untaggedImage.layers[1].digest)), false);
    await pullImage(client, 'shared/tagged', '1', taggedImage);
  });

  it('keeps referrers of a live subject and deletes those of a deleted subject', async () => {
    const { body } = await client.getJson<{ manifests: { digest: string }[] }>(
      `/v2/ref/app/referrers/${liveSubject.manifest.digest}`,
    );

    assert.deepEqual(
      body.manifests.map((entry) => entry.digest),
      [liveReferrer.manifest.digest],
    );
    await pullImage(client, 'ref/app', liveReferrer.manifest.digest, liveReferrer);
    assert.equal(await manifestStatus(client, 'ref/app', orphanedReferrer.manifest.digest), 404);
    assert.equal(existsSync(blobFile(wharf, orphanedReferrer.layers[0].digest)), false);
    assert.equal(existsSync(blobFile(wharf, deletedSubject.layers[0].digest)), false);
  });

  it('deletes an unreferenced blob after the grace period', async () => {
    const late = createImage({ layers: [looseBlob] });

    await client.pushBlob('loose/app', late.config);

    const response = await client.putManifest('loose/app', 'late', late.manifest);
    const body = (await response.json()) as { errors: { code: string }[] };

    assert.equal(existsSync(blobFile(wharf, looseBlob.digest)), false);
    assert.equal(response.status, 400);
    assert.equal(body.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('deletes blob files that have no row', () => {
    assert.equal(existsSync(blobFile(wharf, orphanDigest)), false);
  });

  it('counts real runs and what they deleted in the metrics', async () => {
    const text = await scrapeMetrics(wharf);

    assert.match(text, /^wharf_gc_runs_total\{result="finished"\} 1$/m);
    assert.match(text, new RegExp(`^wharf_gc_removed_total\\{kind="tag"\\} ${real.removed.tags}$`, 'm'));
    assert.match(text, new RegExp(`^wharf_gc_removed_total\\{kind="blob"\\} ${real.removed.blobs}$`, 'm'));
    assert.match(text, new RegExp(`^wharf_gc_removed_bytes_total ${real.removed.bytes}$`, 'm'));
  });

  it('writes an audit record for each deletion of the real run', async () => {
    const records = await wharf.waitForLog((record) => record.audit === true && record.event === 'gc-delete');

    assert.equal(records.length, real.deletions.length);
    assert.ok(records.every((record) => record.startedBy === admin.user));
    assert.ok(
      records.some((record) => record.kind === 'tag' && record.tag === 'a' && record.reason === 'retention'),
    );
  });

  it('runs from the command line', async () => {
    const result = await runWharfCli(
      ['gc', '--dry-run', '--url', wharf.baseUrl, '--user', admin.user, '--password-stdin'],
      {
        input: `${admin.password}\n`,
      },
    );

    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^garbage collection finished \(dry run\) in [\d.]+s: would delete 0 tags, 0 manifests, \d+ blob links, \d+ blobs and 0 files, .*$/m,
    );
  });
});

describe('garbage collection while clients push and pull', () => {
  let wharf: WharfServer;
  let workDirectory: string;
  let client: OciClient;
  const loopImages: Image[] = [];
  /** Manifests pushed and deleted, whose blobs the collector deletes once they are older than the grace period. */
  let churned = 0;

  async function churn(count: number): Promise<void> {
    for (let index = 0; index < count; index++) {
      const image = createImage({ layerCount: 1 });

      await client.pushImage('churn/app', image.manifest.digest, image);

      const response = await client.fetch(`/v2/churn/app/manifests/${image.manifest.digest}`, {
        method: 'DELETE',
      });

      assert.equal(response.status, 202);
      churned++;
    }
  }

  /** Keeps a collection running until `done` resolves, for at most two minutes. */
  async function collectUntil(done: Promise<unknown>): Promise<number> {
    let finished = false;
    let runs = 0;
    const deadline = Date.now() + 120_000;

    void done.finally(() => {
      finished = true;
    });

    while (!finished && Date.now() < deadline) {
      const response = await fetch(`${wharf.baseUrl}/api/v1/gc`, {
        method: 'POST',
        headers: { Authorization: adminAuthorization },
      });

      await response.arrayBuffer();
      assert.ok(
        response.status === 202 || response.status === 409,
        `POST /api/v1/gc returned ${response.status}`,
      );
      runs += response.status === 202 ? 1 : 0;
      await sleep(5);
    }

    return runs;
  }

  before(async () => {
    // Five seconds: far longer than a push takes, short enough for churned blobs to age within the test.
    ({ wharf, workDirectory } = await startCollectingWharf({ gc: { interval: '0s', delay: '5s' } }));
    client = new OciClient(wharf.baseUrl, { Authorization: adminAuthorization });
    await churn(20);
    await sleep(5_500);
  });

  after(async () => {
    await wharf?.dispose();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('keeps a blob uploaded and collected before its manifest arrives, 200 times over', async () => {
    const loop = (async () => {
      for (let round = 0; round < 200; round++) {
        const image = createImage({ layerCount: 1 });

        await client.pushBlob('loop/app', image.config);
        await client.pushBlob('loop/app', image.layers[0]);

        // A collection starts, or one is already running, between the blobs and the manifest.
        const started = await fetch(`${wharf.baseUrl}/api/v1/gc`, {
          method: 'POST',
          headers: { Authorization: adminAuthorization },
        });

        await started.arrayBuffer();
        await client.pushManifest('loop/app', `round-${round}`, image.manifest);
        loopImages.push(image);

        if (round % 10 === 0) {
          await churn(1);
        }
      }
    })();
    const runs = await collectUntil(loop);

    await loop;
    assert.ok(runs > 0);

    const last = await collect(wharf);

    assert.equal(last.removed.blobs + last.removed.manifests + last.removed.tags, last.deletions.length);

    for (const [round, image] of loopImages.entries()) {
      await pullImage(client, 'loop/app', `round-${round}`, image);
    }
  });

  it('deleted churned blobs while the loop ran', async () => {
    const text = await scrapeMetrics(wharf);
    const blobs = Number(/^wharf_gc_removed_total\{kind="blob"\} (\d+)$/m.exec(text)?.[1]);

    // The 20 images churned before the loop each left a config, a layer and the manifest's own blob.
    assert.ok(blobs >= 60, `deleted ${blobs} blobs of ${churned} churned images`);
  });

  it('lets none of 50 concurrent pushes and pulls fail while it runs', async () => {
    await churn(10);
    await sleep(5_500);

    const pushed = Array.from({ length: 25 }, () => createImage({ layerCount: 2 }));
    const work = Promise.all([
      ...pushed.map(async (image, position) => {
        await client.pushImage(`busy/push-${position}`, 'latest', image);
        await pullImage(client, `busy/push-${position}`, 'latest', image);
      }),
      ...loopImages
        .slice(0, 25)
        .map((image, round) => pullImage(client, 'loop/app', `round-${round}`, image)),
    ]);
    const runs = await collectUntil(work);

    await work;
    assert.ok(runs > 0);
    await waitForCollection(wharf);
  });
});

describe('garbage collection of a pull-through cache', () => {
  let wharf: WharfServer;
  let workDirectory: string;
  let upstream: UpstreamRegistry;
  let client: OciClient;
  const byDigest = createImage({ layerCount: 1 });
  /** Four images of about 100 KiB each, against a quota of 350 KiB. */
  const cached = Array.from({ length: 4 }, () => createImage({ layers: [createRandomBlob(100 * 1024)] }));
  const local = createImage({ layers: [createRandomBlob(400 * 1024)] });

  /** Reads a tag's last pull time from the admin API. */
  async function lastPullOf(repository: string): Promise<number> {
    const { body } = await client.getJson<{ items: { name: string; lastPullAt: string | null }[] }>(
      `/api/v1/repositories/${encodeURIComponent(repository)}/tags`,
    );

    return Date.parse(body.items[0]?.lastPullAt ?? '') || 0;
  }

  before(async () => {
    upstream = await startUpstreamRegistry();

    const upstreamClient = new OciClient(upstream.url);

    await upstreamClient.pushImage('acme/by-digest', 'x', byDigest);

    for (const [position, image] of cached.entries()) {
      await upstreamClient.pushImage(`acme/image-${position}`, '1', image);
    }

    ({ wharf, workDirectory } = await startCollectingWharf(
      {
        gc: { interval: '0s', delay: '0s' },
        retention: [{ repositories: 'hub/**', deleteUntaggedAfter: '3s' }],
      },
      { upstreams: [{ prefix: 'hub', url: upstream.url, maxSize: '350KiB' }] },
    ));
    client = new OciClient(wharf.baseUrl, { Authorization: adminAuthorization });
  });

  after(async () => {
    await wharf?.dispose();
    await upstream?.dispose();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('keeps an image pulled only by digest while it is within retention', async () => {
    const digest = byDigest.manifest.digest;
    const manifestFetches = async (): Promise<number> =>
      countRequests(await upstream.requests(), {
        method: 'GET',
        kind: 'manifest',
        repository: 'acme/by-digest',
      });

    await pullImage(client, 'hub/acme/by-digest', digest, byDigest);
    assert.equal(await manifestFetches(), 1);

    const firstRun = await collect(wharf);

    assert.deepEqual(firstRun.deletions, []);
    await pullImage(client, 'hub/acme/by-digest', digest, byDigest);
    assert.equal(await manifestFetches(), 1);

    // Three seconds without a pull is past the rule's retention.
    await sleep(3_500);

    const expired = await collect(wharf);

    assert.deepEqual(
      expired.deletions
        .filter((entry) => entry.kind === 'manifest')
        .map((entry) => [entry.repository, entry.reason]),
      [['hub/acme/by-digest', 'untagged']],
    );
    await pullImage(client, 'hub/acme/by-digest', digest, byDigest);
    assert.equal(await manifestFetches(), 2);

    // Gone again, so that it does not count against the quota below.
    await sleep(3_500);
    await collect(wharf);
  });

  it('evicts the least recently pulled image over quota', async () => {
    for (const [position, image] of cached.entries()) {
      await pullImage(client, `hub/acme/image-${position}`, '1', image);
    }

    await client.pushImage('local/big', '1', local);

    // Image 0 is pulled again, so image 1 becomes the least recently pulled. Pull times reach the
    // database in batches a few seconds apart.
    const repulledAt = Date.now();

    await pullImage(client, 'hub/acme/image-0', '1', cached[0]);

    const deadline = Date.now() + gcDeadlineMs;

    while ((await lastPullOf('hub/acme/image-0')) < repulledAt && Date.now() < deadline) {
      await sleep(200);
    }

    const report = await collect(wharf);

    assert.equal(report.quotas.length, 1);
    assert.equal(report.quotas[0].upstream, 'hub');
    assert.equal(report.quotas[0].evictedImages, 1);
    assert.ok(report.quotas[0].sizeBefore > 350 * 1024, JSON.stringify(report.quotas));
    assert.ok(report.quotas[0].sizeAfter <= 350 * 1024, JSON.stringify(report.quotas));
    assert.deepEqual(
      report.deletions
        .filter((entry) => entry.kind === 'manifest')
        .map((entry) => [entry.repository, entry.reason]),
      [['hub/acme/image-1', 'quota']],
    );
    assert.equal(existsSync(blobFile(wharf, cached[1].layers[0].digest)), false);

    await upstream.resetRequests();

    for (const position of [0, 2, 3]) {
      await pullImage(client, `hub/acme/image-${position}`, '1', cached[position]);
    }

    assert.deepEqual(
      (await upstream.requests()).filter((request) => request.kind === 'manifest' || request.kind === 'blob'),
      [],
    );
    await pullImage(client, 'hub/acme/image-1', '1', cached[1]);
    assert.equal(
      countRequests(await upstream.requests(), {
        method: 'GET',
        kind: 'manifest',
        repository: 'acme/image-1',
      }),
      1,
    );
  });

  it('never evicts locally pushed content', async () => {
    await pullImage(client, 'local/big', '1', local);
  });

  it('counts and logs evictions', async () => {
    const text = await scrapeMetrics(wharf);
    const [record] = await wharf.waitForLog((entry) => entry.msg === 'cache image evicted');

    assert.match(text, /^wharf_cache_evictions_total\{upstream="hub"\} 1$/m);
    assert.equal(record.repository, 'hub/acme/image-1');
    assert.equal(record.upstream, 'hub');
  });
});

describe('reports of background jobs', () => {
  let wharf: WharfServer;
  let workDirectory: string;
  const storage = { gc: { interval: '0s' } };

  async function lastReport(route: string): Promise<{ startedAt: string; startedBy: string } | null> {
    const response = await fetch(`${wharf.baseUrl}${route}`, {
      headers: { Authorization: adminAuthorization },
    });

    return ((await response.json()) as { last: { startedAt: string; startedBy: string } | null }).last;
  }

  before(async () => {
    ({ wharf, workDirectory } = await startCollectingWharf(storage));
  });

  after(async () => {
    await wharf?.dispose();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('keeps the last ones across a restart', async () => {
    const realRun = await collect(wharf);
    const collected = await collect(wharf, { dryRun: true });
    const scrubbed = await fetch(`${wharf.baseUrl}/api/v1/scrub`, {
      method: 'POST',
      headers: { Authorization: adminAuthorization },
    });

    assert.equal(scrubbed.status, 202);

    const deadline = Date.now() + gcDeadlineMs;

    while ((await lastReport('/api/v1/scrub')) === null && Date.now() < deadline) {
      await sleep(20);
    }

    const scrub = await lastReport('/api/v1/scrub');

    await wharf.stop();
    ({ wharf } = await startCollectingWharf(storage, {}, workDirectory));

    assert.equal((await lastReport('/api/v1/gc'))?.startedAt, collected.startedAt);
    assert.equal((await lastReport('/api/v1/gc'))?.startedBy, admin.user);

    const status = await fetch(`${wharf.baseUrl}/api/v1/gc`, {
      headers: { Authorization: adminAuthorization },
    });
    const { lastRealRun } = (await status.json()) as { lastRealRun: { startedAt: string; dryRun: boolean } };

    assert.equal(lastRealRun.startedAt, realRun.startedAt);
    assert.equal(lastRealRun.dryRun, false);
    assert.ok(scrub);
    assert.deepEqual(await lastReport('/api/v1/scrub'), scrub);
  });
});
