/**
 * The order in which a push commits: bytes reach blob storage before the metadata rows that point to
 * them, so a crash between the two leaves unreferenced bytes and never a row without bytes. The services
 * are built by hand on a real SQLite file and a real storage directory, and the store method that writes
 * the rows is wrapped to check the disk at the moment it is called.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { Digest } from '../../src/common/digest.js';
import { ManifestService } from '../../src/distribution/services/manifest.service.js';
import { UploadService } from '../../src/distribution/services/upload.service.js';
import type { ManifestWrite } from '../../src/metadata/stores/manifest.store.js';
import {
  createStorage,
  openTempDatabase,
  type TempDatabase,
  type TempStorage,
} from '../support/temp-database.js';

const imageManifestType = 'application/vnd.oci.image.manifest.v1+json';
const imageConfigType = 'application/vnd.oci.image.config.v1+json';
const imageLayerType = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** What a wrapped store method saw on disk when it was called. */
interface Observation {
  digest: string;
  bytesOnDisk: Buffer | undefined;
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(path)).isFile()) {
      return undefined;
    }

    return await readFile(path);
  } catch {
    return undefined;
  }
}

describe('commit order', () => {
  let db: TempDatabase;
  let storage: TempStorage;
  let uploadService: UploadService;
  let manifestService: ManifestService;
  let linkCalls: Observation[];
  let saveCalls: Observation[];

  beforeEach(async () => {
    db = await openTempDatabase();
    storage = createStorage(db.directory);
    linkCalls = [];
    saveCalls = [];

    const link = db.blobRecords.link.bind(db.blobRecords);
    const save = db.manifests.save.bind(db.manifests);

    db.blobRecords.link = async (repository: string, digest: string, size: number) => {
      linkCalls.push({ digest, bytesOnDisk: await readIfPresent(storage.paths.blob(Digest.parse(digest))) });

      return link(repository, digest, size);
    };

    db.manifests.save = async (write: ManifestWrite) => {
      const digest = write.manifest.digest;

      saveCalls.push({ digest, bytesOnDisk: await readIfPresent(storage.paths.blob(Digest.parse(digest))) });

      return save(write);
    };

    uploadService = new UploadService(db.sessions, storage.uploads, db.blobRecords);
    manifestService = new ManifestService(db.manifests, storage.uploads);
  });

  afterEach(async () => {
    await db?.dispose();
  });

  /** Pushes a blob through a session with one PATCH-like append and a completing call. */
  async function pushBlob(repository: string, bytes: Buffer): Promise<Digest> {
    const digest = Digest.of(bytes);
    const uploadId = await uploadService.start(repository);

    await uploadService.append(repository, uploadId, Readable.from([bytes.subarray(0, 10)]), {});
    await uploadService.complete(repository, uploadId, digest, {
      body: Readable.from([bytes.subarray(10)]),
      expected: {},
    });

    return digest;
  }

  it('complete places bytes before link', async () => {
    const repository = 'order/blob';
    const bytes = randomBytes(2048);
    const digest = Digest.of(bytes);
    const uploadId = await uploadService.start(repository);

    await uploadService.append(repository, uploadId, Readable.from([bytes]), { offset: 0, length: 2048 });
    await uploadService.complete(repository, uploadId, digest);

    assert.equal(linkCalls.length, 1);
    assert.equal(linkCalls[0]?.digest, digest.toString());
    assert.deepEqual(linkCalls[0]?.bytesOnDisk, bytes);
    assert.equal(await db.blobRecords.linkedSize(repository, digest.toString()), 2048);
    assert.equal(await db.sessions.find(uploadId), undefined);
    assert.equal(await storage.uploads.size(uploadId), undefined);
  });

  it('complete with last chunk places bytes before link', async () => {
    const bytes = randomBytes(3000);
    const digest = await pushBlob('order/last-chunk', bytes);

    assert.equal(linkCalls.length, 1);
    assert.deepEqual(linkCalls[0]?.bytesOnDisk, bytes);
    assert.equal(await db.blobRecords.linkedSize('order/last-chunk', digest.toString()), 3000);
  });

  it('uploadWhole places bytes before link', async () => {
    const bytes = randomBytes(700);
    const digest = Digest.of(bytes);

    assert.equal(await uploadService.uploadWhole('order/whole', digest, Readable.from([bytes]), 700), 700);

    assert.equal(linkCalls.length, 1);
    assert.deepEqual(linkCalls[0]?.bytesOnDisk, bytes);
  });

  it('complete with wrong digest links nothing', async () => {
    const repository = 'order/mismatch';
    const uploadId = await uploadService.start(repository);
    const wrongDigest = Digest.of(randomBytes(16));

    await uploadService.append(repository, uploadId, Readable.from([randomBytes(100)]), {});
    await assert.rejects(uploadService.complete(repository, uploadId, wrongDigest));

    assert.equal(linkCalls.length, 0);
    assert.equal(await db.sessions.find(uploadId), undefined);
    assert.equal(await storage.uploads.size(uploadId), undefined);
    assert.equal(await storage.blobs.size(wrongDigest), undefined);
  });

  it('push places manifest before save', async () => {
    const repository = 'order/manifest';
    const config = randomBytes(64);
    const layer = randomBytes(256);
    const configDigest = await pushBlob(repository, config);
    const layerDigest = await pushBlob(repository, layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: imageManifestType,
        config: { mediaType: imageConfigType, digest: configDigest.toString(), size: config.length },
        layers: [{ mediaType: imageLayerType, digest: layerDigest.toString(), size: layer.length }],
      }),
    );

    const pushed = await manifestService.push({
      name: repository,
      reference: { tag: 'latest' },
      bytes: manifest,
      contentType: imageManifestType,
      tags: [],
    });

    assert.equal(pushed.digest, Digest.of(manifest).toString());
    assert.equal(saveCalls.length, 1);
    assert.equal(saveCalls[0]?.digest, pushed.digest);
    assert.deepEqual(saveCalls[0]?.bytesOnDisk, manifest);
    assert.equal(await db.manifests.resolveTag(repository, 'latest'), pushed.digest);
  });

  it('push with unknown config writes nothing', async () => {
    const repository = 'order/unknown-layer';
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: imageManifestType,
        config: { mediaType: imageConfigType, digest: Digest.of(randomBytes(8)).toString(), size: 8 },
        layers: [],
      }),
    );
    const digest = Digest.of(manifest);

    await assert.rejects(
      manifestService.push({
        name: repository,
        reference: { tag: 'latest' },
        bytes: manifest,
        contentType: imageManifestType,
        tags: [],
      }),
    );

    assert.equal(saveCalls.length, 0);
    assert.equal(await readIfPresent(storage.paths.blob(digest)), undefined);
    assert.equal(await db.manifests.find(repository, digest.toString()), undefined);
    assert.equal(await db.repositories.exists(repository), false);
  });
});
