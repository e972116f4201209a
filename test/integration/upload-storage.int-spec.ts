/**
 * UploadStorage and BlobStorage on a real temporary directory: chunk appends, failed chunks, commits and
 * the listing of stale uploads.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { Digest } from '../../src/common/digest.js';
import {
  DigestMismatchError,
  SizeMismatchError,
  UploadRangeInvalidError,
} from '../../src/common/domain-errors.js';
import { createStorage, createTempDirectory, type TempStorage } from '../support/temp-database.js';

/** Maximum time for one append, so a stuck append fails the test instead of hanging the run. */
const appendTimeoutMs = 5_000;

/** Awaits `work`, or rejects with a timeout error naming `description` when it takes longer than `ms`. */
async function withTimeout<T>(work: Promise<T>, ms: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${description} timed out after ${ms} ms`)), ms);
  });

  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);

    return true;
  } catch {
    return false;
  }
}

/** Lists every file under `directory`, as paths relative to it. */
async function listFiles(directory: string): Promise<string[]> {
  if (!(await pathExists(directory))) {
    return [];
  }

  const entries = await readdir(directory, { recursive: true, withFileTypes: true });

  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1))
    .sort();
}

/**
 * Creates a stream that sends `bytes` and then fails, as a request body does when the client
 * disconnects. The no-op error listener stops an error that the code under test leaves unhandled from
 * ending the run as an uncaught exception, so the test reports what `append` did.
 */
function failingStream(bytes: Buffer): Readable {
  const stream = new Readable({ read() {} });

  stream.on('error', () => undefined);
  stream.push(bytes);
  setTimeout(() => stream.destroy(new Error('connection reset by client')), 20);

  return stream;
}

describe('upload storage', () => {
  let root: string;
  let storage: TempStorage;

  beforeEach(async () => {
    root = await createTempDirectory();
    storage = createStorage(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function startUpload(): Promise<string> {
    const uploadId = randomUUID();

    await storage.uploads.create(uploadId);

    return uploadId;
  }

  function append(uploadId: string, bytes: Buffer | Readable, expected = {}): Promise<number> {
    const body = Buffer.isBuffer(bytes) ? Readable.from([bytes]) : bytes;

    return withTimeout(storage.uploads.append(uploadId, body, expected), appendTimeoutMs, 'append');
  }

  function uploadDataPath(uploadId: string): string {
    return join(root, 'uploads', uploadId, 'data');
  }

  it('commit places blob and removes upload', async () => {
    const first = randomBytes(1000);
    const second = randomBytes(500);
    const digest = Digest.of(Buffer.concat([first, second]));
    const uploadId = await startUpload();

    assert.equal(await append(uploadId, first), 1000);
    assert.equal(await append(uploadId, second, { offset: 1000, length: 500 }), 1500);

    const size = await storage.uploads.commit(uploadId, digest);
    const blobPath = join(root, 'blobs', 'sha256', digest.hex.slice(0, 2), digest.hex);

    assert.equal(size, 1500);
    assert.deepEqual(await readFile(blobPath), Buffer.concat([first, second]));
    assert.equal(await pathExists(join(root, 'uploads', uploadId)), false);
    assert.equal(await storage.blobs.size(digest), 1500);
    assert.deepEqual(await storage.blobs.readSmall(digest), Buffer.concat([first, second]));
  });

  it('onWritten reports sizes whose bytes are already in the file', async () => {
    const chunks = Array.from({ length: 8 }, () => randomBytes(300 * 1024));
    const uploadId = await startUpload();
    const reports: { reported: number; onDisk: number }[] = [];

    await append(uploadId, randomBytes(100));

    const size = await append(uploadId, Readable.from(chunks), {
      onWritten: (reported: number) => {
        reports.push({ reported, onDisk: statSync(uploadDataPath(uploadId)).size });
      },
    });

    assert.equal(size, 100 + 8 * 300 * 1024);
    assert.ok(reports.length > 0);
    assert.equal(reports.at(-1)?.reported, size);

    for (const [index, report] of reports.entries()) {
      assert.ok(report.reported <= report.onDisk, `report ${index} runs ahead of the file`);
      assert.ok(index === 0 || report.reported > reports[index - 1].reported, `report ${index} did not grow`);
    }
  });

  it('commit calls onVerified once the digest matches, and not when it differs', async () => {
    const bytes = randomBytes(1000);
    const matching = await startUpload();
    const differing = await startUpload();
    const verified: string[] = [];

    await append(matching, bytes);
    await append(differing, bytes);
    await storage.uploads.commit(matching, Digest.of(bytes), 1000, () => verified.push('matching'));
    await assert.rejects(
      storage.uploads.commit(differing, Digest.of(randomBytes(10)), 1000, () => verified.push('differing')),
      DigestMismatchError,
    );

    assert.deepEqual(verified, ['matching']);
  });

  it('commit with wrong digest stores nothing', async () => {
    const bytes = randomBytes(300);
    const wrongDigest = Digest.of(randomBytes(300));
    const uploadId = await startUpload();

    await append(uploadId, bytes);
    await assert.rejects(storage.uploads.commit(uploadId, wrongDigest), DigestMismatchError);

    assert.deepEqual(await listFiles(join(root, 'blobs')), []);
    assert.equal(await pathExists(join(root, 'uploads', uploadId)), false);
    assert.equal(await storage.blobs.size(Digest.of(bytes)), undefined);
  });

  it('chunk at wrong offset is rejected', async () => {
    const bytes = randomBytes(100);
    const uploadId = await startUpload();

    await append(uploadId, bytes);

    for (const offset of [0, 50, 101]) {
      const rejected = await append(uploadId, randomBytes(10), { offset, length: 10 }).then(
        () => undefined,
        (error: unknown) => error,
      );

      assert.ok(rejected instanceof UploadRangeInvalidError, `offset ${offset}: got ${String(rejected)}`);
      assert.equal(rejected.size, 100);
    }

    assert.deepEqual(await readFile(uploadDataPath(uploadId)), bytes);
    assert.equal(await storage.uploads.size(uploadId), 100);
  });

  it('failed chunk stream is truncated away', async () => {
    const head = randomBytes(1000);
    const tail = randomBytes(2000);
    const digest = Digest.of(Buffer.concat([head, tail]));
    const uploadId = await startUpload();

    await append(uploadId, head);
    await assert.rejects(append(uploadId, failingStream(tail.subarray(0, 700))), /connection reset/);

    assert.equal(await storage.uploads.size(uploadId), 1000);
    assert.deepEqual(await readFile(uploadDataPath(uploadId)), head);

    assert.equal(await append(uploadId, tail, { offset: 1000, length: 2000 }), 3000);
    assert.equal(await storage.uploads.commit(uploadId, digest), 3000);
    assert.deepEqual(await storage.blobs.readSmall(digest), Buffer.concat([head, tail]));
  });

  it('chunk shorter than declared length', async () => {
    const head = randomBytes(200);
    const uploadId = await startUpload();

    await append(uploadId, head);
    await assert.rejects(append(uploadId, randomBytes(50), { length: 80 }), SizeMismatchError);

    assert.equal(await storage.uploads.size(uploadId), 200);
    assert.deepEqual(await readFile(uploadDataPath(uploadId)), head);
  });

  it('chunk longer than declared length', async () => {
    const head = randomBytes(200);
    const tail = randomBytes(60);
    const uploadId = await startUpload();

    await append(uploadId, head);
    await assert.rejects(append(uploadId, randomBytes(120), { length: 80 }), SizeMismatchError);

    assert.equal(await storage.uploads.size(uploadId), 200);
    assert.deepEqual(await readFile(uploadDataPath(uploadId)), head);

    assert.equal(await append(uploadId, tail, { offset: 200, length: 60 }), 260);
    assert.equal(await storage.uploads.commit(uploadId, Digest.of(Buffer.concat([head, tail]))), 260);
  });

  it('commit with wrong expected size', async () => {
    const bytes = randomBytes(64);
    const uploadId = await startUpload();

    await append(uploadId, bytes);
    await assert.rejects(storage.uploads.commit(uploadId, Digest.of(bytes), 65), SizeMismatchError);

    assert.deepEqual(await listFiles(join(root, 'blobs')), []);
    assert.equal(await pathExists(join(root, 'uploads', uploadId)), false);
  });

  it('sha512 commit', async () => {
    const bytes = randomBytes(4096);
    const digest = Digest.of(bytes, 'sha512');
    const uploadId = await startUpload();

    await append(uploadId, bytes.subarray(0, 1000));
    await append(uploadId, bytes.subarray(1000), { offset: 1000, length: 3096 });

    assert.equal(await storage.uploads.commit(uploadId, digest), 4096);
    assert.deepEqual(
      await readFile(join(root, 'blobs', 'sha512', digest.hex.slice(0, 2), digest.hex)),
      bytes,
    );
    assert.equal(await pathExists(join(root, 'uploads', uploadId)), false);
  });

  it('same content twice keeps one file', async () => {
    const bytes = randomBytes(512);
    const digest = Digest.of(bytes);
    const firstId = await startUpload();
    const secondId = await startUpload();

    await append(firstId, bytes);
    await append(secondId, bytes);

    assert.equal(await storage.uploads.commit(firstId, digest), 512);
    assert.equal(await storage.uploads.commit(secondId, digest), 512);

    assert.deepEqual(await listFiles(join(root, 'blobs')), [
      join('sha256', digest.hex.slice(0, 2), digest.hex),
    ]);
    assert.deepEqual(await listFiles(join(root, 'uploads')), []);
    assert.deepEqual(await storage.blobs.readSmall(digest), bytes);
  });

  it('listStale returns only old uploads', async () => {
    const now = Date.now();
    const hourAgo = new Date(now - 3_600_000);
    const staleId = await startUpload();
    const freshId = await startUpload();
    const emptyStaleId = randomUUID();

    await append(staleId, randomBytes(10));
    await append(freshId, randomBytes(10));
    await utimes(uploadDataPath(staleId), hourAgo, hourAgo);

    // An upload directory whose data file is missing falls back to the directory's own time.
    await storage.uploads.create(emptyStaleId);
    await rm(uploadDataPath(emptyStaleId));
    await utimes(join(root, 'uploads', emptyStaleId), hourAgo, hourAgo);

    const stale = await storage.uploads.listStale(now - 60_000);

    assert.deepEqual([...stale].sort(), [emptyStaleId, staleId].sort());
    assert.ok(!stale.includes(freshId));
  });

  it('listStale ignores non-upload entries', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    const staleId = await startUpload();

    await utimes(uploadDataPath(staleId), hourAgo, hourAgo);
    await storage.uploads.create(randomUUID());
    await mkdir(join(root, 'uploads', 'not-an-upload'));
    await utimes(join(root, 'uploads', 'not-an-upload'), hourAgo, hourAgo);

    assert.deepEqual(await storage.uploads.listStale(Date.now() - 60_000), [staleId]);
  });

  it('listStale without uploads directory', async () => {
    assert.deepEqual(await storage.uploads.listStale(Date.now()), []);
  });
});
