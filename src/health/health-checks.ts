import { mkdir, open, statfs, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';

import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';

import { ShutdownState } from '../common/shutdown-state.js';
import { SingleFlight } from '../common/single-flight.js';
import { WharfConfig } from '../config/config.schema.js';
import { parseSize } from '../config/units.js';
import { StoragePaths } from '../storage/storage-paths.js';

/**
 * How long the database query or the storage write may take before its check fails. NOTE: an estimate
 * of a slow but working disk; probes with a shorter timeout give up first.
 */
const checkTimeoutMs = 2000;

const probeContent = Buffer.from('wharf readiness probe\n');

/**
 * The checks behind the health endpoints. Each returns one terminus result named after what it checks.
 * Failure messages name the error code but no path, because anyone may call the endpoints without
 * signing in.
 */
@Injectable()
export class HealthChecks {
  private readonly minFreeBytes: number;
  private readonly storageProbes = new SingleFlight<void>();

  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(StoragePaths) private readonly paths: StoragePaths,
    @Inject(ShutdownState) private readonly shutdown: ShutdownState,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(WharfConfig) config: WharfConfig,
  ) {
    // The config schema accepts only sizes that parseSize reads.
    this.minFreeBytes = parseSize(config.storage.minFreeSpace) ?? 0;
  }

  /** Always up: that the process runs this check is all that liveness needs. */
  process(): HealthIndicatorResult<'process'> {
    return this.indicators.check('process').up();
  }

  /** Down from the moment shutdown begins, so that load balancers send new requests elsewhere. */
  shutdownState(): HealthIndicatorResult<'shutdown'> {
    const indicator = this.indicators.check('shutdown');

    return this.shutdown.inProgress ? indicator.down('the registry is shutting down') : indicator.up();
  }

  /** Runs one trivial query, which needs an open connection and touches no table. */
  async database(): Promise<HealthIndicatorResult<'database'>> {
    return this.indicators
      .check('database')
      .attempt(async () => {
        if (!this.dataSource.isInitialized) {
          throw new Error('the database connection is closed');
        }

        try {
          await this.dataSource.query('SELECT 1');
        } catch (error) {
          throw new Error(`the database query failed: ${errorCode(error)}`, { cause: error });
        }
      })
      .withTimeout(checkTimeoutMs);
  }

  /**
   * Creates, writes, flushes and deletes a small file where uploads are written. Concurrent probes
   * share one attempt, because they would all use the same file.
   */
  async storage(): Promise<HealthIndicatorResult<'storage'>> {
    return this.indicators
      .check('storage')
      .attempt(() => this.storageProbes.run('probe', () => this.writeProbeFile()))
      .withTimeout(checkTimeoutMs);
  }

  /** Compares the free space of the storage file system with `storage.minFreeSpace`. */
  async disk(): Promise<HealthIndicatorResult<'disk'>> {
    const indicator = this.indicators.check('disk');
    let freeBytes: number;

    try {
      const stats = await statfs(this.paths.root);

      // bavail counts the blocks an unprivileged process may use, unlike bfree.
      freeBytes = stats.bavail * stats.bsize;
    } catch (error) {
      return indicator.down(`cannot read the free space of the storage directory: ${errorCode(error)}`);
    }

    const data = { freeBytes, minFreeBytes: this.minFreeBytes };

    return freeBytes >= this.minFreeBytes
      ? indicator.up(data)
      : indicator.down({ ...data, message: 'free disk space is below storage.minFreeSpace' });
  }

  /** Migrations run before the application is created, so they are done whenever this runs. */
  migrations(): HealthIndicatorResult<'migrations'> {
    return this.indicators.check('migrations').up();
  }

  /** Up once the HTTP server accepts connections, which `wharf serve` starts after the application. */
  listening(): HealthIndicatorResult<'listening'> {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const indicator = this.indicators.check('listening');

    return server.listening ? indicator.up() : indicator.down('the HTTP server is not listening yet');
  }

  private async writeProbeFile(): Promise<void> {
    const path = this.paths.readinessProbe;

    try {
      await mkdir(this.paths.uploadsDirectory, { recursive: true });

      const file = await open(path, 'w', 0o600);

      try {
        await file.write(probeContent);
        await file.sync();
      } finally {
        await file.close();
      }

      await unlink(path);
    } catch (error) {
      throw new Error(`cannot write a file in the storage directory: ${errorCode(error)}`, { cause: error });
    }
  }
}

/** Returns the error's code (such as EACCES or SQLITE_CORRUPT), which names the cause but no path. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;

  return typeof code === 'string' ? code : 'unknown error';
}
