/**
 * UpstreamStatisticsStore on a real SQLite file: storage per upstream prefix, writing samples with
 * aligned keys, retention, and reading a time range with and without thinning.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { Digest } from '../../src/common/digest.js';
import {
  type UpstreamSample,
  UpstreamStatisticsStore,
} from '../../src/metadata/stores/upstream-statistics.store.js';
import { openTempDatabase, type TempDatabase } from '../support/temp-database.js';

const imageManifestType = 'application/vnd.oci.image.manifest.v1+json';
const minute = 60_000;

function randomDigest(): string {
  return Digest.of(randomBytes(32)).toString();
}

function sample(upstream: string, sampledAt: number, hits = 0): UpstreamSample {
  return {
    upstream,
    sampledAt,
    hits,
    misses: 2,
    bytesFetched: 300,
    bytesServed: 400,
    notFound: 5,
    errors: 6,
    storageBytes: 700,
  };
}

async function countSamples(db: TempDatabase): Promise<number> {
  const rows = await db.dataSource.query<{ count: number }[]>(
    'SELECT COUNT(*) AS count FROM upstream_statistic_samples',
  );

  return Number(rows[0]?.count);
}

describe('UpstreamStatisticsStore storageBytes', () => {
  let db: TempDatabase;
  let store: UpstreamStatisticsStore;
  const shared = randomDigest();
  const config = randomDigest();

  /** Links the blobs (digest and size) into `repository` and stores a manifest of `manifestSize` bytes. */
  async function cache(repository: string, blobs: [string, number][], manifestSize: number) {
    for (const [digest, size] of blobs) {
      await db.blobRecords.link(repository, digest, size);
    }

    await db.manifests.save({
      manifest: {
        repository,
        digest: randomDigest(),
        mediaType: imageManifestType,
        size: manifestSize,
        artifactType: null,
        subjectDigest: null,
        annotations: null,
      },
      references: blobs.map(([digest, size], index) => ({
        kind: index === 0 ? 'config' : 'layer',
        digest,
        size,
      })),
      tags: ['latest'],
    });
  }

  before(async () => {
    db = await openTempDatabase();
    store = new UpstreamStatisticsStore(db.database);

    // docker/library/a and docker/library/b share the 1000-byte layer.
    await cache(
      'docker/library/a',
      [
        [config, 10],
        [shared, 1000],
      ],
      100,
    );
    await cache(
      'docker/library/b',
      [
        [randomDigest(), 20],
        [shared, 1000],
      ],
      200,
    );
    // `_` in a prefix must not match any character: my_hub owns nothing of myxhub.
    await cache('my_hub/tool', [[randomDigest(), 30]], 300);
    await cache('myxhub/tool', [[randomDigest(), 5000]], 400);
    await cache('local/app', [[randomDigest(), 9000]], 500);
    // A blob linked without a manifest still takes storage.
    await db.blobRecords.link('docker/library/c', randomDigest(), 40);
  });

  after(async () => {
    await db?.dispose();
  });

  it('counts a shared blob once', async () => {
    const bytes = await store.storageBytes(['docker']);

    assert.equal(bytes.get('docker'), 10 + 1000 + 100 + 20 + 200 + 40);
  });

  it('keeps prefixes apart', async () => {
    const bytes = await store.storageBytes(['docker', 'my_hub', 'quay']);

    assert.deepEqual(
      [...bytes.entries()],
      [
        ['docker', 1370],
        ['my_hub', 330],
        ['quay', 0],
      ],
    );
  });

  it('returns an empty map for no prefixes', async () => {
    assert.equal((await store.storageBytes([])).size, 0);
  });

  it('counts a digest stored twice under a prefix once', async () => {
    await db.blobRecords.link('docker/library/c', config, 10);

    try {
      assert.equal((await store.storageBytes(['docker'])).get('docker'), 1370);
    } finally {
      await db.blobRecords.unlink('docker/library/c', config);
    }
  });
});

describe('UpstreamStatisticsStore samples', () => {
  let db: TempDatabase;
  let store: UpstreamStatisticsStore;

  beforeEach(async () => {
    db = await openTempDatabase();
    store = new UpstreamStatisticsStore(db.database);
  });

  afterEach(async () => {
    await db?.dispose();
  });

  it('writes one row per sample', async () => {
    await store.recordSamples([sample('docker', 10 * minute, 1), sample('quay', 10 * minute, 2)], 0);

    const history = await store.samples({
      upstreams: ['docker', 'quay'],
      from: 0,
      to: 20 * minute,
      intervalMs: minute,
      maxSamples: 300,
    });

    assert.deepEqual(history.samples.get('docker'), [sample('docker', 10 * minute, 1)]);
    assert.deepEqual(history.samples.get('quay'), [sample('quay', 10 * minute, 2)]);
    assert.equal(history.stepMs, minute);
  });

  it('ignores a second sample with the same key', async () => {
    await store.recordSamples([sample('docker', 10 * minute, 1)], 0);
    await store.recordSamples([sample('docker', 10 * minute, 99), sample('docker', 11 * minute, 3)], 0);

    const history = await store.samples({
      upstreams: ['docker'],
      from: 0,
      to: 20 * minute,
      intervalMs: minute,
      maxSamples: 300,
    });

    assert.deepEqual(
      history.samples.get('docker')?.map((row) => [row.sampledAt, row.hits]),
      [
        [10 * minute, 1],
        [11 * minute, 3],
      ],
    );
  });

  it('deletes samples before the retention cutoff', async () => {
    await store.recordSamples(
      [1, 2, 3, 4].map((index) => sample('docker', index * minute)),
      0,
    );

    const deleted = await store.recordSamples([sample('docker', 5 * minute)], 3 * minute);

    assert.equal(deleted, 2);
    assert.equal(await countSamples(db), 3);

    const history = await store.samples({
      upstreams: ['docker'],
      from: 0,
      to: 10 * minute,
      intervalMs: minute,
      maxSamples: 300,
    });

    assert.deepEqual(
      history.samples.get('docker')?.map((row) => row.sampledAt),
      [3 * minute, 4 * minute, 5 * minute],
    );
  });

  it('deletes old samples of upstreams no longer configured', async () => {
    await store.recordSamples([sample('removed', minute)], 0);
    await store.recordSamples([], 2 * minute);

    assert.equal(await countSamples(db), 0);
  });

  it('reads the range in time order', async () => {
    await store.recordSamples(
      [3, 1, 2, 5].map((index) => sample('docker', index * minute)),
      0,
    );

    const history = await store.samples({
      upstreams: ['docker', 'quay'],
      from: 2 * minute,
      to: 4 * minute,
      intervalMs: minute,
      maxSamples: 300,
    });

    assert.deepEqual(
      history.samples.get('docker')?.map((row) => row.sampledAt),
      [2 * minute, 3 * minute],
    );
    assert.deepEqual(history.samples.get('quay'), []);
  });

  it('thins to evenly spaced samples', async () => {
    const second = 1000;
    // 3600 samples, one per second, from 10:00:00 to 10:59:59 of the first day of the epoch.
    const start = 10 * 3600 * second;
    const times = Array.from({ length: 3600 }, (_, index) => start + index * second);

    for (let offset = 0; offset < times.length; offset += 500) {
      await store.recordSamples(
        times.slice(offset, offset + 500).flatMap((at) => [sample('docker', at), sample('quay', at)]),
        0,
      );
    }

    // The quay samples end five seconds earlier.
    await db.dataSource.query(
      'DELETE FROM upstream_statistic_samples WHERE upstream = ? AND sampled_at > ?',
      ['quay', start + 3594 * second],
    );

    const latest = times[times.length - 1];
    const history = await store.samples({
      upstreams: ['docker', 'quay'],
      from: latest - 3600 * second,
      to: latest,
      intervalMs: second,
      maxSamples: 300,
    });
    const docker = history.samples.get('docker')?.map((row) => row.sampledAt) ?? [];
    const quay = history.samples.get('quay')?.map((row) => row.sampledAt) ?? [];

    // An hour at 300 samples needs 13 s or more; 15 s is the next round step.
    assert.equal(history.stepMs, 15 * second);
    assert.equal(docker.length, 240);
    assert.equal(docker.at(-1), latest);
    assert.equal(quay.at(-1), start + 3594 * second);
    assert.ok(quay.length <= 300, `quay has ${quay.length} samples`);

    for (let index = 1; index < docker.length; index++) {
      assert.equal(docker[index] - docker[index - 1], 15 * second, `gap before sample ${index}`);
    }
  });

  it('keeps every sample up to the maximum', async () => {
    await store.recordSamples(
      Array.from({ length: 300 }, (_, index) => sample('docker', index * minute)),
      0,
    );

    const history = await store.samples({
      upstreams: ['docker'],
      from: 0,
      to: 300 * minute,
      intervalMs: minute,
      maxSamples: 300,
    });

    assert.equal(history.samples.get('docker')?.length, 300);
    assert.equal(history.stepMs, minute);
  });
});
