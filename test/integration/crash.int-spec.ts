/**
 * A real Wharf process killed with SIGKILL at several points of a push, then restarted on the same data
 * directory. After the restart, every blob file must hold the bytes its name promises, every metadata
 * row must point to bytes on disk, and an interrupted upload session must either report the bytes it
 * received or be unknown. Also covers the purge of stale upload sessions.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { UploadService } from '../../src/distribution/services/upload.service.js';
import { createImage, type Image, mediaTypes, OciClient, withQuery } from '../support/oci-client.js';
import {
  createStorage,
  openReadOnly,
  openTempDatabase,
  type TempDatabase,
} from '../support/temp-database.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** Bytes declared for each interrupted transfer. The test sends only part of them before the kill. */
const transferSize = 16 * 1024 * 1024;
/** Bytes after which the client stops writing and waits for the kill, past several chunks and off a chunk boundary. */
const pauseAt = 6 * 1024 * 1024 + 12_345;
/** The server must have written at least this much to the upload file before the kill. */
const killAfterReceived = 1024 * 1024;
const chunkSize = 256 * 1024;
const pollDeadlineMs = 20_000;

/** Maximum time for a server to exit after SIGTERM. */
const stopDeadlineMs = 15_000;

/**
 * Stops a server with SIGTERM and fails when it has not exited within `stopDeadlineMs`, killing it then
 * so that the run goes on. `WharfServer.stop` itself waits without a limit.
 */
async function stopServer(server: WharfServer): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), stopDeadlineMs);
  });
  const outcome = await Promise.race([server.stop().then(() => 'stopped' as const), timeout]);

  clearTimeout(timer);

  if (outcome === 'timeout') {
    await server.kill();
    assert.fail(`wharf did not exit within ${stopDeadlineMs} ms of SIGTERM`);
  }
}

/** Polls `check` every 50 ms until it returns a value other than undefined, failing after `timeoutMs`. */
async function waitFor<T>(
  description: string,
  check: () => Promise<T | undefined>,
  timeoutMs = pollDeadlineMs,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;

  while (Date.now() < deadline) {
    const value = await check();

    if (value !== undefined) {
      return value;
    }

    await sleep(50);
  }

  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function sha(algorithm: string, bytes: Buffer): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

/** A request whose body the test writes in chunks and can hold back partway. */
interface StreamedRequest {
  /** Bytes handed to the socket so far. */
  sent(): number;
  /** Settles with the response status, or with the error that ended the request. */
  readonly finished: Promise<{ status?: number; error?: Error }>;
}

/**
 * Sends `method url` with a `Content-Length` of `data.length` and writes the body in 256 KiB chunks,
 * waiting for `drain` between them. Writing stops for good after `stopAt` bytes, so the request stays
 * open mid-body until the server goes away.
 */
function streamRequest(
  url: string,
  method: string,
  data: Buffer,
  stopAt: number,
  contentType: string = mediaTypes.octetStream,
): StreamedRequest {
  let sent = 0;
  const request = httpRequest(url, {
    method,
    agent: false,
    headers: { 'content-type': contentType, 'content-length': String(data.length) },
  });
  const finished = new Promise<{ status?: number; error?: Error }>((resolve) => {
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode }));
      response.on('error', (error) => resolve({ status: response.statusCode, error }));
    });
    request.on('error', (error) => resolve({ error }));
    request.on('close', () => resolve({ error: new Error('connection closed before a response') }));
  });

  const write = async (): Promise<void> => {
    const deadline = Date.now() + pollDeadlineMs;

    while (sent < stopAt && !request.destroyed && Date.now() < deadline) {
      const chunk = data.subarray(sent, Math.min(sent + chunkSize, stopAt));

      sent += chunk.length;

      if (!request.write(chunk)) {
        await Promise.race([new Promise((resolve) => request.once('drain', resolve)), finished]);
      }
    }

    if (sent === data.length) {
      request.end();
    }
  };

  void write();

  return { sent: () => sent, finished };
}

/**
 * Returns the path and query of an upload URL. A restarted server listens on a new port, so tests keep
 * the path and resolve it against the current server.
 */
function pathOf(location: string): string {
  const url = new URL(location);

  return url.pathname + url.search;
}

function uploadIdOf(location: string): string {
  const id = location.split('?')[0]?.split('/').at(-1);

  assert.ok(id, `no upload id in ${location}`);

  return id;
}

/** What `checkStorage` found: blob files by digest, with their sizes. */
interface StorageReport {
  blobFiles: Map<string, number>;
}

/**
 * Checks the data directory of a stopped server: each file under `blobs/` is named by the digest of its
 * bytes, and each `blobs`, `repository_blobs` and `manifests` row points to a blob file of its size.
 */
async function checkStorage(rootDirectory: string, databasePath: string): Promise<StorageReport> {
  const blobsDirectory = join(rootDirectory, 'blobs');
  const blobFiles = new Map<string, number>();
  const entries = await readdir(blobsDirectory, { recursive: true, withFileTypes: true }).catch(() => []);

  for (const entry of entries.filter((candidate) => !candidate.isDirectory())) {
    const path = join(entry.parentPath, entry.name);
    const parts = path.slice(blobsDirectory.length + 1).split('/');

    assert.equal(parts.length, 3, `unexpected file ${path} under blobs/`);

    const [algorithm, prefix, hex] = parts as [string, string, string];

    assert.ok(algorithm === 'sha256' || algorithm === 'sha512', `unexpected algorithm directory in ${path}`);
    assert.equal(prefix, hex.slice(0, 2), `blob ${path} is in the wrong prefix directory`);

    const bytes = await readFile(path);

    assert.equal(sha(algorithm, bytes), hex, `blob ${path} holds bytes of another digest`);
    blobFiles.set(`${algorithm}:${hex}`, bytes.length);
  }

  const db = openReadOnly(databasePath);

  try {
    const blobRows = db.prepare('SELECT digest, size FROM blobs').all() as { digest: string; size: number }[];
    const linkRows = db.prepare('SELECT digest FROM repository_blobs').all() as { digest: string }[];
    const manifestRows = db.prepare('SELECT digest, size FROM manifests').all() as {
      digest: string;
      size: number;
    }[];

    for (const row of blobRows) {
      assert.equal(
        blobFiles.get(row.digest),
        Number(row.size),
        `blobs row ${row.digest} has no matching file`,
      );
    }

    for (const row of linkRows) {
      assert.ok(blobFiles.has(row.digest), `repository_blobs row ${row.digest} has no blob file`);
    }

    for (const row of manifestRows) {
      assert.equal(
        blobFiles.get(row.digest),
        Number(row.size),
        `manifests row ${row.digest} has no matching blob file`,
      );
    }
  } finally {
    db.close();
  }

  return { blobFiles };
}

describe('crash recovery', () => {
  const repository = 'crash/app';
  let server: WharfServer | undefined;
  let rootDirectory: string | undefined;

  beforeEach(async () => {
    server = await startWharf();
    rootDirectory = server.rootDirectory;
  });

  afterEach(async () => {
    if (server) {
      await stopServer(server);
    }

    if (rootDirectory !== undefined) {
      await rm(rootDirectory, { recursive: true, force: true });
    }

    server = undefined;
    rootDirectory = undefined;
  });

  function client(): OciClient {
    assert.ok(server, 'no server is running');

    return new OciClient(server.baseUrl);
  }

  async function restart(): Promise<void> {
    assert.ok(server, 'no server to restart');
    assert.ok(rootDirectory !== undefined, 'no data directory to restart on');
    await server.kill();
    server = await startWharf({ rootDirectory });
  }

  /** Stops the restarted server cleanly and checks its data directory. */
  async function stopAndCheck(): Promise<StorageReport> {
    assert.ok(server, 'no server to stop');
    assert.ok(rootDirectory !== undefined, 'no data directory to check');
    await stopServer(server);

    return checkStorage(rootDirectory, server.databasePath);
  }

  async function assertImageReadable(name: string, tag: string, image: Image): Promise<void> {
    const manifest = await client().fetch(`/v2/${name}/manifests/${tag}`, {
      headers: { accept: image.manifest.mediaType },
    });

    assert.equal(manifest.status, 200);
    assert.deepEqual(Buffer.from(await manifest.arrayBuffer()), image.manifest.bytes);

    for (const blob of [image.config, ...image.layers]) {
      const response = await client().fetch(`/v2/${name}/blobs/${blob.digest}`);

      assert.equal(response.status, 200, `blob ${blob.digest} after restart`);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), blob.bytes);
    }
  }

  /**
   * Reads an interrupted session's status after the restart and checks it against the bytes on disk
   * and the bytes sent. Returns the session's size, or undefined when the session is unknown.
   */
  async function interruptedStatus(
    location: string,
    data: Buffer,
    sent: number,
  ): Promise<number | undefined> {
    const response = await client().fetch(location);

    await response.arrayBuffer();
    assert.ok(response.status === 204 || response.status === 404, `status GET returned ${response.status}`);

    if (response.status === 404) {
      return undefined;
    }

    assert.ok(rootDirectory !== undefined);

    const dataPath = join(rootDirectory, 'uploads', uploadIdOf(location), 'data');
    const onDisk = await readFile(dataPath);
    const expectedRange = `0-${Math.max(onDisk.length - 1, 0)}`;

    assert.equal(response.headers.get('range'), expectedRange);
    assert.ok(onDisk.length <= sent, `session has ${onDisk.length} bytes, only ${sent} were sent`);
    assert.ok(onDisk.equals(data.subarray(0, onDisk.length)), 'session bytes differ from the bytes sent');

    return onDisk.length;
  }

  /** Sends the rest of `data` from `offset`, closes the upload and asserts that the blob is stored. */
  async function finishUpload(location: string, data: Buffer, offset: number): Promise<void> {
    const digest = `sha256:${sha('sha256', data)}`;
    let next = location;

    if (offset < data.length) {
      const patch = await client().fetch(location, {
        method: 'PATCH',
        headers: {
          'content-type': mediaTypes.octetStream,
          'content-range': `${offset}-${data.length - 1}`,
        },
        body: data.subarray(offset),
      });

      await patch.arrayBuffer();
      assert.equal(patch.status, 202);
      next = client().locationOf(patch);
    }

    const put = await client().fetch(withQuery(next, [['digest', digest]]), { method: 'PUT' });

    await put.arrayBuffer();
    assert.equal(put.status, 201);

    const blob = await client().fetch(`/v2/${repository}/blobs/${digest}`);

    assert.equal(blob.status, 200);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(data), 'stored blob differs from the upload');
  }

  /** Starts streaming `data` to `url` and waits until the server has written part of it to the upload. */
  async function streamUntilReceived(url: string, method: string, uploadId: string, data: Buffer) {
    assert.ok(rootDirectory !== undefined);

    const transfer = streamRequest(url, method, data, pauseAt);
    const dataPath = join(rootDirectory, 'uploads', uploadId, 'data');

    await waitFor('the server to write the first MiB of the transfer', async () => {
      const size = await fileSize(dataPath);

      return size !== undefined && size >= killAfterReceived ? size : undefined;
    });

    return transfer;
  }

  it('kill before PATCH', async () => {
    const image = createImage();

    await client().pushImage(repository, 'v1', image);

    const location = pathOf(await client().startUpload(repository));
    const data = randomBytes(300_000);

    await restart();

    const size = await interruptedStatus(location, data, 0);

    await assertImageReadable(repository, 'v1', image);

    if (size !== undefined) {
      assert.equal(size, 0);
      await finishUpload(location, data, 0);
    }

    await stopAndCheck();
  });

  it('kill mid-PATCH', async () => {
    const image = createImage();

    await client().pushImage(repository, 'v1', image);

    const location = pathOf(await client().startUpload(repository));
    const data = randomBytes(transferSize);
    const transfer = await streamUntilReceived(client().url(location), 'PATCH', uploadIdOf(location), data);

    await restart();

    const outcome = await transfer.finished;

    assert.equal(outcome.status, undefined, 'the PATCH must not complete');

    const size = await interruptedStatus(location, data, transfer.sent());

    await assertImageReadable(repository, 'v1', image);

    if (size !== undefined) {
      assert.ok(size >= killAfterReceived, `session kept ${size} bytes, the server had written more`);
      await finishUpload(location, data, size);
    }

    const report = await stopAndCheck();

    assert.equal(report.blobFiles.has(`sha256:${sha('sha256', data)}`), size !== undefined);
  });

  it('kill mid-PUT with body', async () => {
    const location = pathOf(await client().startUpload(repository));
    const data = randomBytes(transferSize);
    const digest = `sha256:${sha('sha256', data)}`;
    const transfer = await streamUntilReceived(
      client().url(withQuery(location, [['digest', digest]])),
      'PUT',
      uploadIdOf(location),
      data,
    );

    await restart();

    assert.equal((await transfer.finished).status, undefined, 'the PUT must not complete');

    const head = await client().fetch(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });

    assert.equal(head.status, 404);

    const size = await interruptedStatus(location, data, transfer.sent());

    if (size !== undefined) {
      await finishUpload(location, data, size);
    }

    await stopAndCheck();
  });

  it('kill mid-manifest body', async () => {
    const image = createImage();

    await client().pushBlob(repository, image.config);

    for (const layer of image.layers) {
      await client().pushBlob(repository, layer);
    }

    assert.ok(server);

    const url = `${server.baseUrl}/v2/${repository}/manifests/v1`;
    const manifest = image.manifest.bytes;
    const transfer = streamRequest(
      url,
      'PUT',
      manifest,
      Math.floor(manifest.length / 2),
      image.manifest.mediaType,
    );

    // The server cannot report a half-received manifest, so the kill follows a short, fixed pause.
    await sleep(200);
    await restart();

    assert.equal((await transfer.finished).status, undefined, 'the manifest PUT must not complete');

    const missing = await client().fetch(`/v2/${repository}/manifests/v1`);

    await missing.arrayBuffer();
    assert.equal(missing.status, 404);

    await client().pushManifest(repository, 'v1', image.manifest);
    await assertImageReadable(repository, 'v1', image);

    const report = await stopAndCheck();

    assert.ok(report.blobFiles.has(image.manifest.digest));
  });

  it('kill with manifest pushes in flight', async () => {
    const config = createImage().config;

    await client().pushBlob(repository, config);

    const images = Array.from({ length: 12 }, (_, index) =>
      createImage({ config, layers: [], annotations: { 'test.index': String(index) } }),
    );
    const pushes = images.map((image, index) =>
      client()
        .putManifest(repository, `t${index}`, image.manifest)
        .then(
          async (response) => {
            await response.arrayBuffer();

            return response.status;
          },
          () => undefined,
        ),
    );

    await Promise.race(pushes);
    await restart();

    const statuses = await Promise.all(pushes);

    for (const [index, image] of images.entries()) {
      const byDigest = await client().fetch(`/v2/${repository}/manifests/${image.manifest.digest}`, {
        headers: { accept: mediaTypes.imageManifest },
      });
      const body = Buffer.from(await byDigest.arrayBuffer());
      const byTag = await client().fetch(`/v2/${repository}/manifests/t${index}`, {
        headers: { accept: mediaTypes.imageManifest },
      });

      await byTag.arrayBuffer();
      assert.ok(byDigest.status === 200 || byDigest.status === 404, `manifest ${index}: ${byDigest.status}`);
      assert.ok(byTag.status === 200 || byTag.status === 404, `tag t${index}: ${byTag.status}`);

      if (statuses[index] === 201) {
        assert.equal(byDigest.status, 200, `acknowledged manifest ${index} was lost`);
        assert.equal(byTag.status, 200, `acknowledged tag t${index} was lost`);
      }

      if (byDigest.status === 200) {
        assert.ok(body.equals(image.manifest.bytes), `manifest ${index} bytes differ`);
      }

      if (byTag.status === 200) {
        assert.equal(byTag.headers.get('docker-content-digest'), image.manifest.digest);
      }
    }

    await stopAndCheck();
  });
});

describe('stale upload purge', () => {
  describe('UploadService.purgeStale', () => {
    let db: TempDatabase;

    beforeEach(async () => {
      db = await openTempDatabase();
    });

    afterEach(async () => {
      await db?.dispose();
    });

    it('removes stale uploads and rows', async () => {
      const storage = createStorage(db.directory);
      const service = new UploadService(db.sessions, storage.uploads, db.blobRecords);
      const hourAgo = new Date(Date.now() - 3_600_000);
      const staleId = await service.start('purge/app');
      const freshId = await service.start('purge/app');
      const orphanRowId = randomUUID();
      const freshRowId = randomUUID();

      await service.append('purge/app', staleId, Readable.from([randomBytes(100)]), {});
      await service.append('purge/app', freshId, Readable.from([randomBytes(100)]), {});
      await utimes(storage.paths.uploadData(staleId), hourAgo, hourAgo);

      // Session rows without bytes, as a crash between the row and the data file leaves them.
      await db.sessions.create(orphanRowId, 'purge/app');
      await db.sessions.create(freshRowId, 'purge/app');
      await db.dataSource.query('UPDATE upload_sessions SET started_at = ? WHERE id = ?', [
        hourAgo.getTime(),
        orphanRowId,
      ]);

      const removed = await service.purgeStale(Date.now() - 60_000);

      assert.equal(removed, 1);
      assert.equal(await fileSize(storage.paths.uploadDirectory(staleId)), undefined);
      assert.equal(await db.sessions.find(staleId), undefined);
      assert.equal(await db.sessions.find(orphanRowId), undefined);
      assert.notEqual(await db.sessions.find(freshRowId), undefined);
      assert.notEqual(await db.sessions.find(freshId), undefined);
      assert.equal(await service.status('purge/app', freshId), 100);
      await assert.rejects(service.status('purge/app', staleId));
    });
  });

  describe('server purge', () => {
    let server: WharfServer | undefined;
    let rootDirectory: string | undefined;

    afterEach(async () => {
      if (server) {
        await stopServer(server);
      }

      if (rootDirectory !== undefined) {
        await rm(rootDirectory, { recursive: true, force: true });
      }

      server = undefined;
      rootDirectory = undefined;
    });

    /**
     * Returns the purge settings under test. A 10-minute maximum age keeps the fresh upload, because only the
     * stale upload's file time is set an hour back. The 1 s interval runs the periodic purge well within
     * the polling deadline.
     */
    function purgeConfig(root: string): Record<string, unknown> {
      return { storage: { rootDirectory: root, uploads: { maxAge: '10m', purgeInterval: '1s' } } };
    }

    async function statusOf(location: string): Promise<number> {
      assert.ok(server);

      const response = await new OciClient(server.baseUrl).fetch(location);

      await response.arrayBuffer();

      return response.status;
    }

    async function patch(location: string, bytes: Buffer): Promise<void> {
      assert.ok(server);

      const response = await new OciClient(server.baseUrl).fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream },
        body: bytes,
      });

      await response.arrayBuffer();
      assert.equal(response.status, 202);
    }

    function sessionIds(databasePath: string): string[] {
      const db = openReadOnly(databasePath);

      try {
        return (db.prepare('SELECT id FROM upload_sessions').all() as { id: string }[]).map((row) => row.id);
      } finally {
        db.close();
      }
    }

    it('restart purges stale uploads', async () => {
      server = await startWharf();
      rootDirectory = server.rootDirectory;

      const root = rootDirectory;
      const client = new OciClient(server.baseUrl);
      const staleLocation = pathOf(await client.startUpload('purge/app'));
      const freshLocation = pathOf(await client.startUpload('purge/app'));
      const staleId = uploadIdOf(staleLocation);
      const freshId = uploadIdOf(freshLocation);
      const hourAgo = new Date(Date.now() - 3_600_000);

      await patch(staleLocation, randomBytes(1000));
      await patch(freshLocation, randomBytes(1000));
      await server.kill();
      await utimes(join(root, 'uploads', staleId, 'data'), hourAgo, hourAgo);

      server = await startWharf({ rootDirectory: root, config: purgeConfig(root) });

      await waitFor('the stale upload to be purged', async () =>
        (await statusOf(staleLocation)) === 404 ? true : undefined,
      );

      assert.equal(await statusOf(freshLocation), 204);
      assert.equal(await fileSize(join(root, 'uploads', staleId)), undefined);

      await stopServer(server);

      const ids = sessionIds(server.databasePath);

      assert.ok(!ids.includes(staleId), 'the stale session row is still stored');
      assert.ok(ids.includes(freshId), 'the fresh session row was deleted');
      assert.notEqual(await fileSize(join(root, 'uploads', freshId, 'data')), undefined);
    });

    it('interval purges stale uploads', async () => {
      const first = await startWharf();

      rootDirectory = first.rootDirectory;
      await stopServer(first);

      const root = rootDirectory;

      server = await startWharf({ rootDirectory: root, config: purgeConfig(root) });

      const client = new OciClient(server.baseUrl);
      const staleLocation = pathOf(await client.startUpload('purge/app'));
      const freshLocation = pathOf(await client.startUpload('purge/app'));
      const staleId = uploadIdOf(staleLocation);
      const freshId = uploadIdOf(freshLocation);
      const hourAgo = new Date(Date.now() - 3_600_000);

      await patch(staleLocation, randomBytes(1000));
      await patch(freshLocation, randomBytes(1000));
      await utimes(join(root, 'uploads', staleId, 'data'), hourAgo, hourAgo);

      await waitFor('the periodic purge to remove the stale upload', async () =>
        (await statusOf(staleLocation)) === 404 ? true : undefined,
      );

      assert.equal(await statusOf(freshLocation), 204);

      await stopServer(server);

      const ids = sessionIds(server.databasePath);

      assert.ok(!ids.includes(staleId), 'the stale session row is still stored');
      assert.ok(ids.includes(freshId), 'the fresh session row was deleted');
    });
  });
});
