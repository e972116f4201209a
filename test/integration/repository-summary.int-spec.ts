/**
 * RepositorySummaryStore on a real SQLite file: filters, sort orders with missing times, totals per
 * repository, tag pages, and a listing over twenty thousand repositories.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { Digest } from '../../src/common/digest.js';
import type { ManifestReference } from '../../src/metadata/records.js';
import {
  type RepositorySort,
  RepositorySummaryStore,
} from '../../src/metadata/stores/repository-summary.store.js';
import { openTempDatabase, type TempDatabase } from '../support/temp-database.js';

const imageManifestType = 'application/vnd.oci.image.manifest.v1+json';
const byName: RepositorySort = { key: 'name', direction: 'asc' };

function randomDigest(): string {
  return Digest.of(randomBytes(32)).toString();
}

describe('RepositorySummaryStore', () => {
  let db: TempDatabase;
  let store: RepositorySummaryStore;
  const layer = randomDigest();
  const config = randomDigest();
  const alphaManifest = randomDigest();

  /** Pushes one image manifest with the given blobs (digest and size) and tags into `repository`. */
  async function push(
    repository: string,
    blobs: [string, number][],
    tags: string[],
    digest = randomDigest(),
  ) {
    for (const [blob, size] of blobs) {
      await db.blobRecords.link(repository, blob, size);
    }

    const references: ManifestReference[] = blobs.map(([blob, size], index) => ({
      kind: index === 0 ? 'config' : 'layer',
      digest: blob,
      size,
    }));

    await db.manifests.save({
      manifest: {
        repository,
        digest,
        mediaType: imageManifestType,
        size: 400,
        artifactType: null,
        subjectDigest: null,
        annotations: null,
      },
      references,
      tags,
    });

    return digest;
  }

  /** Sets the write and pull times of a repository's rows, which the stores take from the clock. */
  async function setTimes(repository: string, times: { pushed: number; pulled?: number }) {
    const id = `(SELECT id FROM repositories WHERE name = ?)`;

    await db.dataSource.query(`UPDATE manifests SET created_at = ? WHERE repository_id = ${id}`, [
      times.pushed,
      repository,
    ]);
    await db.dataSource.query(`UPDATE tags SET updated_at = ? WHERE repository_id = ${id}`, [
      times.pushed,
      repository,
    ]);

    if (times.pulled !== undefined) {
      await db.dataSource.query(
        `UPDATE repository_blobs SET last_pulled_at = ? WHERE repository_id = ${id}`,
        [times.pulled, repository],
      );
    }
  }

  async function names(filter: Parameters<RepositorySummaryStore['names']>[0], sort = byName) {
    return store.names(filter, sort);
  }

  before(async () => {
    db = await openTempDatabase();
    store = new RepositorySummaryStore(db.database);

    await push(
      'alpha/app',
      [
        [config, 50],
        [layer, 100],
      ],
      ['v1', 'v2'],
      alphaManifest,
    );
    await push(
      'alpha/app',
      [
        [config, 50],
        [layer, 100],
      ],
      ['v3'],
    );
    await push('beta/app', [[randomDigest(), 30]], ['latest']);
    await push('docker/library/nginx', [[randomDigest(), 200]], ['1.27']);
    await push('a_b/x', [[randomDigest(), 1]], ['v1']);
    await push('axb/x', [[randomDigest(), 1]], ['v1']);

    // A repository with a blob and no manifest has no push time.
    await db.blobRecords.link('empty/repo', randomDigest(), 7);

    await setTimes('alpha/app', { pushed: 1_000 });
    await setTimes('beta/app', { pushed: 3_000 });
    await setTimes('docker/library/nginx', { pushed: 2_000, pulled: 5_000 });
    await setTimes('a_b/x', { pushed: 500 });
    await setTimes('axb/x', { pushed: 500 });
  });

  after(async () => {
    await db?.dispose();
  });

  it('pages with a total', async () => {
    const page = await store.page({}, byName, 1, 2);

    assert.equal(page.total, 6);
    assert.deepEqual(
      page.items.map((item) => item.name),
      ['alpha/app', 'axb/x'],
    );
  });

  it('sums distinct linked blobs', async () => {
    const [alpha] = await store.summaries(['alpha/app']);

    assert.equal(alpha.size, 150);
    assert.equal(alpha.tagCount, 3);
    assert.equal(alpha.manifestCount, 2);
    assert.equal(alpha.lastPushAt, 1_000);
    assert.equal(alpha.lastPullAt, null);
  });

  it('reports no push for a blob-only repository', async () => {
    const [empty] = await store.summaries(['empty/repo']);

    assert.equal(empty.size, 7);
    assert.equal(empty.lastPushAt, null);
    assert.equal(empty.manifestCount, 0);
  });

  it('matches LIKE wildcards literally', async () => {
    assert.deepEqual(await names({ contains: '_' }), ['a_b/x']);
    assert.deepEqual(await names({ contains: '%' }), []);
    assert.deepEqual(await names({ contains: 'app' }), ['alpha/app', 'beta/app']);
  });

  it('filters by namespace', async () => {
    assert.deepEqual(await names({ namespaces: ['docker'] }), ['docker/library/nginx']);
    assert.deepEqual(await names({ namespaces: [] }), []);
    assert.deepEqual(await names({ namespaces: ['doc'] }), []);
    assert.deepEqual(await names({ excludedNamespaces: ['docker', 'empty'] }), [
      'a_b/x',
      'alpha/app',
      'axb/x',
      'beta/app',
    ]);
  });

  it('sorts missing times last', async () => {
    const newest = await names({}, { key: 'lastPush', direction: 'desc' });
    const oldest = await names({}, { key: 'lastPush', direction: 'asc' });

    assert.deepEqual(newest, [
      'beta/app',
      'docker/library/nginx',
      'alpha/app',
      'a_b/x',
      'axb/x',
      'empty/repo',
    ]);
    assert.deepEqual(oldest, [
      'a_b/x',
      'axb/x',
      'alpha/app',
      'docker/library/nginx',
      'beta/app',
      'empty/repo',
    ]);
  });

  it('sorts by last pull', async () => {
    const page = await store.page({}, { key: 'lastPull', direction: 'desc' }, 0, 3);

    assert.deepEqual(
      page.items.map((item) => [item.name, item.lastPullAt]),
      [
        ['docker/library/nginx', 5_000],
        ['a_b/x', null],
        ['alpha/app', null],
      ],
    );
  });

  it('keeps the order of summaries', async () => {
    const summaries = await store.summaries(['beta/app', 'missing/repo', 'alpha/app']);

    assert.deepEqual(
      summaries.map((summary) => summary.name),
      ['beta/app', 'alpha/app'],
    );
  });

  it('pages tags by name', async () => {
    const page = await store.tags('alpha/app', 1, 1);

    assert.equal(page?.total, 3);
    assert.deepEqual(
      page?.items.map((tag) => [tag.name, tag.digest, tag.manifestSize, tag.updatedAt]),
      [['v2', alphaManifest, 400, 1_000]],
    );
    assert.equal(await store.tags('missing/repo', 0, 10), undefined);
  });

  it('counts a namespace', async () => {
    assert.equal(await store.countInNamespace('docker'), 1);
    assert.equal(await store.countInNamespace('alpha'), 1);
  });

  describe('twenty thousand repositories', () => {
    const count = 20_000;

    before(async () => {
      // One INSERT with a recursive counter keeps the setup to a single statement.
      await db.dataSource.query(
        `WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < ?)
         INSERT INTO repositories (name, created_at) SELECT 'bulk/repo-' || printf('%05d', n), n FROM counter`,
        [count],
      );
    });

    it('counts and pages them', async () => {
      const page = await store.page({ namespaces: ['bulk'] }, byName, 19_990, 100);

      assert.equal(page.total, count);
      assert.equal(page.items.length, 10);
      assert.equal(page.items[9].name, 'bulk/repo-20000');
    });

    it('sorts them by push time', async () => {
      const page = await store.page({}, { key: 'lastPush', direction: 'desc' }, 0, 3);

      assert.equal(page.total, count + 6);
      assert.deepEqual(
        page.items.map((item) => item.name),
        ['beta/app', 'docker/library/nginx', 'alpha/app'],
      );
    });

    it('lists every name for filtering', async () => {
      const expected = Array.from(
        { length: count },
        (_, index) => `bulk/repo-${String(index + 1).padStart(5, '0')}`,
      );

      assert.deepEqual(await names({ namespaces: ['bulk'] }), expected);
      assert.deepEqual(
        await names({ contains: '1999' }),
        expected.filter((name) => name.includes('1999')),
      );
    });
  });
});
