/**
 * The health checks on a real migrated SQLite file, a real storage directory and a real HTTP server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { HttpAdapterHost } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';

import { ShutdownState } from '../../src/common/shutdown-state.js';
import { validateConfig } from '../../src/config/config.loader.js';
import { HealthChecks } from '../../src/health/health-checks.js';
import { StoragePaths } from '../../src/storage/storage-paths.js';
import { openTempDatabase, type TempDatabase } from '../support/temp-database.js';

describe('HealthChecks', () => {
  let database: TempDatabase;
  let paths: StoragePaths;
  let shutdown: ShutdownState;
  let server: Server;

  /** Builds the checks as the health module does, with `minFreeSpace` as configured. */
  function checksWith(minFreeSpace = '0'): HealthChecks {
    const config = validateConfig(
      { storage: { rootDirectory: database.directory, minFreeSpace } },
      'health-checks.int-spec',
    );
    const adapterHost = { httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost;

    return new HealthChecks(
      new HealthIndicatorService(),
      database.dataSource,
      paths,
      shutdown,
      adapterHost,
      config,
    );
  }

  beforeEach(async () => {
    database = await openTempDatabase();
    paths = new StoragePaths(database.directory);
    shutdown = new ShutdownState();
    server = createServer();
  });

  afterEach(async () => {
    if (server.listening) {
      server.close();
      await once(server, 'close');
    }

    await database.dispose();
  });

  it('database up when open', async () => {
    const result = await checksWith().database();

    assert.equal(result.database.status, 'up');
  });

  it('database down when closed', async () => {
    await database.dataSource.destroy();

    const result = await checksWith().database();

    assert.equal(result.database.status, 'down');
    assert.match(String(result.database.message), /closed/);
  });

  it('storage up and probe file removed', async () => {
    const result = await checksWith().storage();

    assert.equal(result.storage.status, 'up');
    assert.deepEqual(await readdir(paths.uploadsDirectory), []);
  });

  it('storage down when probe cannot be written', async () => {
    // A directory where the probe file goes makes opening it fail, even for root.
    await mkdir(paths.readinessProbe, { recursive: true });

    const result = await checksWith().storage();

    assert.equal(result.storage.status, 'down');
    assert.match(String(result.storage.message), /EISDIR/);
    assert.doesNotMatch(String(result.storage.message), new RegExp(database.directory));
  });

  it('concurrent storage probes all succeed', async () => {
    const checks = checksWith();
    const results = await Promise.all([checks.storage(), checks.storage(), checks.storage()]);

    assert.deepEqual(
      results.map((result) => result.storage.status),
      ['up', 'up', 'up'],
    );
  });

  it('storage down when root is gone', async () => {
    await rm(database.directory, { recursive: true, force: true });
    // The root's parent remains, so mkdir could recreate the root; a file in its place prevents that.
    await writeFile(database.directory, 'not a directory');

    const result = await checksWith().storage();

    assert.equal(result.storage.status, 'down');
    assert.match(String(result.storage.message), /ENOTDIR|EEXIST/);
  });

  it('disk up above minimum', async () => {
    const result = await checksWith('1MiB').disk();

    assert.equal(result.disk.status, 'up');
    assert.equal(result.disk.minFreeBytes, 1024 * 1024);
    assert.ok(Number(result.disk.freeBytes) >= 1024 * 1024);
  });

  it('disk down below minimum', async () => {
    // No test machine has a million TiB free.
    const result = await checksWith('1000000TiB').disk();

    assert.equal(result.disk.status, 'down');
    assert.match(String(result.disk.message), /storage\.minFreeSpace/);
  });

  it('shutdown up until shutdown begins', () => {
    const checks = checksWith();

    assert.equal(checks.shutdownState().shutdown.status, 'up');
    shutdown.begin();
    assert.equal(checks.shutdownState().shutdown.status, 'down');
  });

  it('listening down before listen', () => {
    assert.equal(checksWith().listening().listening.status, 'down');
  });

  it('listening up after listen', async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');

    assert.equal(checksWith().listening().listening.status, 'up');
  });
});
