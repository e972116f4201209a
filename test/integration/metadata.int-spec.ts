/**
 * The metadata stores on a real SQLite file migrated by `openDataSource`: migrations, blob links,
 * manifest saves in one transaction, tags and referrers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { Digest } from '../../src/common/digest.js';
import {
  ManifestBlobUnknownError,
  ManifestChildUnknownError,
  ManifestInvalidError,
} from '../../src/common/domain-errors.js';
import { migrations } from '../../migrations/index.js';
import { openDataSource } from '../../src/metadata/metadata.module.js';
import type { ManifestRecord, ManifestReference } from '../../src/metadata/records.js';
import { LifecycleStore } from '../../src/metadata/stores/lifecycle.store.js';
import type { ManifestWrite } from '../../src/metadata/stores/manifest.store.js';
import { openTempDatabase, type TempDatabase } from '../support/temp-database.js';

const imageManifestType = 'application/vnd.oci.image.manifest.v1+json';
const imageIndexType = 'application/vnd.oci.image.index.v1+json';
const sbomType = 'application/vnd.example.sbom.v1+json';
const signatureType = 'application/vnd.example.signature.v1+json';

function randomDigest(): string {
  return Digest.of(randomBytes(32)).toString();
}

function manifestWrite(
  repository: string,
  references: ManifestReference[],
  tags: string[] = [],
  extra: Partial<ManifestRecord> = {},
): ManifestWrite {
  return {
    manifest: {
      repository,
      digest: randomDigest(),
      mediaType: imageManifestType,
      size: 512,
      artifactType: null,
      subjectDigest: null,
      annotations: null,
      ...extra,
    },
    references,
    tags,
  };
}

async function countRows(db: TempDatabase, table: string): Promise<number> {
  const rows = await db.dataSource.query<{ count: number }[]>(`SELECT COUNT(*) AS count FROM ${table}`);

  return Number(rows[0]?.count);
}

describe('metadata migrations', () => {
  let db: TempDatabase;

  before(async () => {
    db = await openTempDatabase();
  });

  after(async () => {
    await db?.dispose();
  });

  it('openDataSource creates tables', async () => {
    const rows = await db.dataSource.query<{ name: string }[]>(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    );
    const tables = rows.map((row) => row.name);

    for (const table of [
      'blobs',
      'manifest_references',
      'manifests',
      'repositories',
      'repository_blobs',
      'tags',
      'upload_sessions',
    ]) {
      assert.ok(tables.includes(table), `table ${table} is missing; tables: ${tables.join(', ')}`);
    }
  });

  it('openDataSource records migration', async () => {
    const rows = await db.dataSource.query<{ name: string }[]>('SELECT name FROM migrations');

    assert.deepEqual(
      rows.map((row) => row.name),
      migrations.map((migration) => migration.name),
    );
  });

  it('reopening runs no migration', async () => {
    await db.blobRecords.link('reopen/app', randomDigest(), 10);
    await db.dataSource.destroy();

    const reopened = await openDataSource({ type: 'sqlite', path: db.path });

    try {
      const applied = await reopened.query<{ name: string }[]>('SELECT name FROM migrations');
      const blobs = await reopened.query<{ count: number }[]>('SELECT COUNT(*) AS count FROM blobs');

      assert.equal(applied.length, migrations.length);
      assert.equal(await reopened.showMigrations(), false);
      assert.equal(Number(blobs[0]?.count), 1);
    } finally {
      await reopened.destroy();
    }
  });
});

describe('metadata stores', () => {
  let db: TempDatabase;

  beforeEach(async () => {
    db = await openTempDatabase();
  });

  afterEach(async () => {
    await db?.dispose();
  });

  describe('LifecycleStore reports', () => {
    it('saves and replaces a job report', async () => {
      const store = new LifecycleStore(db.database);

      assert.equal(await store.lastReport('gc'), undefined);
      const first = { finishedAt: 1000, removed: 1 };
      const second = { finishedAt: 2000, removed: 2 };

      await store.saveReport('gc', first);
      await store.saveReport('gc', second);

      assert.deepEqual(await store.lastReport('gc'), { finishedAt: 2000, removed: 2 });
      assert.equal(await countRows(db, 'job_reports'), 1);
    });

    it('treats a damaged report as none', async () => {
      const store = new LifecycleStore(db.database);

      await db.dataSource.query(
        "INSERT INTO job_reports (job, report, finished_at) VALUES ('scrub', '{not json', 1)",
      );

      assert.equal(await store.lastReport('scrub'), undefined);
    });
  });

  describe('BlobRecordStore', () => {
    it('link then linkedSize', async () => {
      const digest = randomDigest();

      await db.blobRecords.link('blobs/app', digest, 1234);

      assert.equal(await db.blobRecords.linkedSize('blobs/app', digest), 1234);
      assert.equal(await db.blobRecords.linkedSize('blobs/other', digest), undefined);
      assert.equal(await db.blobRecords.linkedSize('blobs/app', randomDigest()), undefined);
    });

    it('link twice keeps one row', async () => {
      const digest = randomDigest();

      await db.blobRecords.link('blobs/app', digest, 99);
      await db.blobRecords.link('blobs/app', digest, 99);

      assert.equal(await countRows(db, 'blobs'), 1);
      assert.equal(await countRows(db, 'repository_blobs'), 1);
      assert.equal(await countRows(db, 'repositories'), 1);
    });

    it('mount links into target', async () => {
      const digest = randomDigest();

      await db.blobRecords.link('blobs/source', digest, 77);

      assert.equal(await db.blobRecords.mount('blobs/source', 'blobs/target', digest), true);
      assert.equal(await db.blobRecords.linkedSize('blobs/target', digest), 77);
      assert.equal(await countRows(db, 'blobs'), 1);
    });

    it('mount of unlinked blob', async () => {
      const digest = randomDigest();

      await db.blobRecords.link('blobs/other', digest, 77);

      assert.equal(await db.blobRecords.mount('blobs/source', 'blobs/target', digest), false);
      assert.equal(await db.blobRecords.mount('blobs/other', 'blobs/target', randomDigest()), false);
      assert.equal(await db.blobRecords.linkedSize('blobs/target', digest), undefined);
    });

    it('unlink removes only the link', async () => {
      const digest = randomDigest();

      await db.blobRecords.link('blobs/a', digest, 5);
      await db.blobRecords.link('blobs/b', digest, 5);

      assert.equal(await db.blobRecords.unlink('blobs/a', digest), true);
      assert.equal(await db.blobRecords.linkedSize('blobs/a', digest), undefined);
      assert.equal(await db.blobRecords.linkedSize('blobs/b', digest), 5);
      assert.equal(await countRows(db, 'blobs'), 1);
      assert.equal(await db.blobRecords.unlink('blobs/a', digest), false);
      assert.equal(await db.blobRecords.unlink('blobs/missing', digest), false);
    });
  });

  describe('ManifestStore.save', () => {
    it('unknown layer stores nothing', async () => {
      const write = manifestWrite(
        'save/unknown-layer',
        [
          { kind: 'config', digest: randomDigest(), size: 10 },
          { kind: 'layer', digest: randomDigest(), size: 20 },
        ],
        ['latest'],
      );

      await assert.rejects(db.manifests.save(write), ManifestBlobUnknownError);

      assert.equal(await db.repositories.exists('save/unknown-layer'), false);
      assert.equal(await countRows(db, 'repositories'), 0);
      assert.equal(await countRows(db, 'blobs'), 0);
      assert.equal(await countRows(db, 'manifests'), 0);
      assert.equal(await countRows(db, 'manifest_references'), 0);
      assert.equal(await countRows(db, 'tags'), 0);
    });

    it('one unknown layer of several', async () => {
      const repository = 'save/one-missing';
      const config = randomDigest();
      const knownLayer = randomDigest();
      const missingLayer = randomDigest();

      await db.blobRecords.link(repository, config, 10);
      await db.blobRecords.link(repository, knownLayer, 20);

      const write = manifestWrite(
        repository,
        [
          { kind: 'config', digest: config, size: 10 },
          { kind: 'layer', digest: knownLayer, size: 20 },
          { kind: 'layer', digest: missingLayer, size: 30 },
        ],
        ['v1'],
      );
      const error = await db.manifests.save(write).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );

      assert.ok(error instanceof ManifestBlobUnknownError, `got ${String(error)}`);
      assert.deepEqual(error.detail, { digest: missingLayer });
      assert.equal(await db.manifests.find(repository, write.manifest.digest), undefined);
      assert.equal(await db.manifests.resolveTag(repository, 'v1'), undefined);
      assert.equal(await countRows(db, 'blobs'), 2);
      assert.equal(await countRows(db, 'tags'), 0);
    });

    it('layer of another repository is unknown', async () => {
      const layer = randomDigest();

      await db.blobRecords.link('save/elsewhere', layer, 10);

      await assert.rejects(
        db.manifests.save(manifestWrite('save/here', [{ kind: 'layer', digest: layer, size: 10 }])),
        ManifestBlobUnknownError,
      );
      assert.equal(await db.repositories.exists('save/here'), false);
    });

    it('declared size differing from the blob', async () => {
      const repository = 'save/wrong-size';
      const config = randomDigest();

      await db.blobRecords.link(repository, config, 10);

      const write = manifestWrite(repository, [{ kind: 'config', digest: config, size: 99 }], ['v1']);

      await assert.rejects(db.manifests.save(write), ManifestInvalidError);
      assert.equal(await db.manifests.find(repository, write.manifest.digest), undefined);
      assert.equal(await db.manifests.resolveTag(repository, 'v1'), undefined);
    });

    it('unknown child stores nothing', async () => {
      const write = manifestWrite(
        'save/unknown-child',
        [
          { kind: 'child', digest: randomDigest(), size: 512 },
          { kind: 'child', digest: randomDigest(), size: 512 },
        ],
        ['latest'],
        { mediaType: imageIndexType },
      );

      await assert.rejects(db.manifests.save(write), ManifestChildUnknownError);

      assert.equal(await db.repositories.exists('save/unknown-child'), false);
      assert.equal(await countRows(db, 'repositories'), 0);
      assert.equal(await countRows(db, 'blobs'), 0);
      assert.equal(await countRows(db, 'manifests'), 0);
      assert.equal(await countRows(db, 'tags'), 0);
    });

    it('index with stored children', async () => {
      const repository = 'save/index';
      const child = manifestWrite(repository, []);

      await db.manifests.save(child);

      const index = manifestWrite(
        repository,
        [{ kind: 'child', digest: child.manifest.digest, size: child.manifest.size }],
        ['multi'],
        {
          mediaType: imageIndexType,
        },
      );

      await db.manifests.save(index);

      assert.equal(await db.manifests.resolveTag(repository, 'multi'), index.manifest.digest);
      assert.equal((await db.manifests.find(repository, index.manifest.digest))?.mediaType, imageIndexType);
    });

    it('save with tags then resolveTag', async () => {
      const repository = 'save/tags';
      const config = randomDigest();

      await db.blobRecords.link(repository, config, 10);

      const write = manifestWrite(
        repository,
        [{ kind: 'config', digest: config, size: 10 }],
        ['v1', 'latest'],
        {
          artifactType: 'application/vnd.oci.image.config.v1+json',
          annotations: { 'org.opencontainers.image.title': 'demo' },
        },
      );

      await db.manifests.save(write);

      assert.equal(await db.manifests.resolveTag(repository, 'v1'), write.manifest.digest);
      assert.equal(await db.manifests.resolveTag(repository, 'latest'), write.manifest.digest);
      assert.equal(await db.manifests.resolveTag(repository, 'v2'), undefined);
      assert.deepEqual(await db.manifests.find(repository, write.manifest.digest), write.manifest);
      assert.equal(await db.blobRecords.linkedSize(repository, write.manifest.digest), undefined);
      assert.equal(await countRows(db, 'manifest_references'), 1);
    });

    it('save again moves the tag', async () => {
      const repository = 'save/retag';
      const first = manifestWrite(repository, [], ['latest']);
      const second = manifestWrite(repository, [], ['latest']);

      await db.manifests.save(first);
      await db.manifests.save(second);

      assert.equal(await db.manifests.resolveTag(repository, 'latest'), second.manifest.digest);
      assert.notEqual(await db.manifests.find(repository, first.manifest.digest), undefined);
    });

    it('save same manifest twice', async () => {
      const repository = 'save/twice';
      const write = manifestWrite(repository, [], ['a']);

      await db.manifests.save(write);
      await db.manifests.save({ ...write, tags: ['b'] });

      assert.equal(await countRows(db, 'manifests'), 1);
      assert.equal(await db.manifests.resolveTag(repository, 'a'), write.manifest.digest);
      assert.equal(await db.manifests.resolveTag(repository, 'b'), write.manifest.digest);
    });
  });

  describe('ManifestStore delete', () => {
    it('deleteTag leaves the manifest', async () => {
      const repository = 'delete/tag';
      const write = manifestWrite(repository, [], ['v1', 'latest']);

      await db.manifests.save(write);

      assert.equal(await db.manifests.deleteTag(repository, 'v1'), true);
      assert.equal(await db.manifests.resolveTag(repository, 'v1'), undefined);
      assert.equal(await db.manifests.resolveTag(repository, 'latest'), write.manifest.digest);
      assert.notEqual(await db.manifests.find(repository, write.manifest.digest), undefined);
      assert.equal(await db.manifests.deleteTag(repository, 'v1'), false);
      assert.equal(await db.manifests.deleteTag('delete/missing', 'v1'), false);
    });

    it('delete by digest removes tags', async () => {
      const repository = 'delete/digest';
      const config = randomDigest();

      await db.blobRecords.link(repository, config, 10);

      const write = manifestWrite(
        repository,
        [{ kind: 'config', digest: config, size: 10 }],
        ['v1', 'latest'],
      );
      const other = manifestWrite(repository, [], ['other']);

      await db.manifests.save(write);
      await db.manifests.save(other);

      assert.equal(await db.manifests.delete(repository, write.manifest.digest), true);
      assert.equal(await db.manifests.find(repository, write.manifest.digest), undefined);
      assert.equal(await db.manifests.resolveTag(repository, 'v1'), undefined);
      assert.equal(await db.manifests.resolveTag(repository, 'latest'), undefined);
      assert.equal(await db.manifests.resolveTag(repository, 'other'), other.manifest.digest);
      assert.equal(await countRows(db, 'manifest_references'), 0);
      assert.equal(await db.blobRecords.linkedSize(repository, config), 10);
      assert.equal(await db.manifests.delete(repository, write.manifest.digest), false);
    });
  });

  describe('ManifestStore.listTags', () => {
    const repository = 'tags/order';

    beforeEach(async () => {
      for (const tag of ['b', 'a', 'A', '1', 'a-1', 'B']) {
        await db.manifests.save(manifestWrite(repository, [], [tag]));
      }
    });

    it('lists in byte order', async () => {
      const page = await db.manifests.listTags(repository, 100);

      assert.deepEqual(page, { items: ['1', 'A', 'B', 'a', 'a-1', 'b'], more: false });
    });

    it('paginates with limit and last', async () => {
      const first = await db.manifests.listTags(repository, 2);
      const second = await db.manifests.listTags(repository, 2, 'B');
      const third = await db.manifests.listTags(repository, 2, 'a-1');

      assert.deepEqual(first, { items: ['1', 'A'], more: true });
      assert.deepEqual(second, { items: ['a', 'a-1'], more: true });
      assert.deepEqual(third, { items: ['b'], more: false });
    });

    it('last between stored tags', async () => {
      assert.deepEqual(await db.manifests.listTags(repository, 10, 'A0'), {
        items: ['B', 'a', 'a-1', 'b'],
        more: false,
      });
      assert.deepEqual(await db.manifests.listTags(repository, 10, 'b'), { items: [], more: false });
    });

    it('exact limit reports no more', async () => {
      assert.deepEqual(await db.manifests.listTags(repository, 6), {
        items: ['1', 'A', 'B', 'a', 'a-1', 'b'],
        more: false,
      });
    });

    it('unknown repository', async () => {
      assert.equal(await db.manifests.listTags('tags/missing', 10), undefined);
    });
  });

  describe('ManifestStore.referrers', () => {
    const repository = 'referrers/app';
    let subject: string;
    let sbom: ManifestWrite;
    let signature: ManifestWrite;

    beforeEach(async () => {
      const subjectWrite = manifestWrite(repository, []);

      subject = subjectWrite.manifest.digest;
      sbom = manifestWrite(repository, [], [], { artifactType: sbomType, subjectDigest: subject });
      signature = manifestWrite(repository, [], [], {
        artifactType: signatureType,
        subjectDigest: subject,
        annotations: { 'org.example.signer': 'ci' },
      });

      await db.manifests.save(subjectWrite);
      await db.manifests.save(sbom);
      await db.manifests.save(signature);
      await db.manifests.save(manifestWrite(repository, [], [], { subjectDigest: randomDigest() }));
    });

    it('lists all referrers by digest', async () => {
      const referrers = await db.manifests.referrers(repository, subject);
      const expected = [sbom.manifest, signature.manifest].sort((a, b) => (a.digest < b.digest ? -1 : 1));

      assert.deepEqual(referrers, expected);
    });

    it('filters by artifactType', async () => {
      assert.deepEqual(await db.manifests.referrers(repository, subject, sbomType), [sbom.manifest]);
      assert.deepEqual(await db.manifests.referrers(repository, subject, signatureType), [
        signature.manifest,
      ]);
      assert.deepEqual(await db.manifests.referrers(repository, subject, 'application/other'), []);
    });

    it('subject before it is pushed', async () => {
      const missingSubject = randomDigest();
      const early = manifestWrite(repository, [], [], { subjectDigest: missingSubject });

      await db.manifests.save(early);

      assert.deepEqual(await db.manifests.referrers(repository, missingSubject), [early.manifest]);
    });

    it('unknown repository has none', async () => {
      assert.deepEqual(await db.manifests.referrers('referrers/missing', subject), []);
    });
  });
});

describe('metadata reads on the read-only connection', () => {
  let db: TempDatabase;

  beforeEach(async () => {
    db = await openTempDatabase();
  });

  afterEach(async () => {
    await db?.dispose();
  });

  it('a repeated read sees a moved tag as soon as the move commits', async () => {
    const repository = 'reads/retag';
    const first = manifestWrite(repository, [], ['latest']);
    const second = manifestWrite(repository, [], ['latest']);

    await db.manifests.save(first);

    assert.equal(await db.manifests.resolveTag(repository, 'latest'), first.manifest.digest);
    assert.equal(await db.manifests.resolveTag(repository, 'latest'), first.manifest.digest);

    await db.manifests.save(second);

    assert.equal(await db.manifests.resolveTag(repository, 'latest'), second.manifest.digest);
  });

  it('reads during a transaction see the old state', async () => {
    const repository = 'reads/pending';
    const write = manifestWrite(repository, [], ['v1']);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.database.transaction(async (manager) => {
      await manager.query(`INSERT INTO repositories (name, created_at) VALUES (?, ?)`, [repository, 1]);
      await released;
    });

    await new Promise((resolve) => setImmediate(resolve));

    assert.equal(await db.repositories.exists(repository), false);
    assert.deepEqual(await db.repositories.list(10), { items: [], more: false });

    release();
    await transaction;

    assert.equal(await db.repositories.exists(repository), true);

    await db.manifests.save(write);

    assert.deepEqual(await db.manifests.listTags(repository, 10), { items: ['v1'], more: false });
  });

  it('a rolled-back transaction leaves the reads as they were', async () => {
    const repository = 'reads/rollback';

    await assert.rejects(
      db.database.transaction(async (manager) => {
        await manager.query(`INSERT INTO repositories (name, created_at) VALUES (?, ?)`, [repository, 1]);

        throw new Error('abandoned');
      }),
      /abandoned/,
    );

    assert.equal(await db.repositories.exists(repository), false);
  });

  it('many distinct reads stay correct beyond what the result cache holds', async () => {
    const repository = 'reads/many';
    const write = manifestWrite(repository, [], ['t0']);

    await db.manifests.save(write);

    for (let page = 0; page < 60_000; page += 1) {
      db.database.selectAll('SELECT ? AS page', page);
    }

    assert.equal(await db.manifests.resolveTag(repository, 't0'), write.manifest.digest);
    assert.deepEqual(db.database.selectFirst('SELECT ? AS page', 7), { page: 7 });
  });
});
