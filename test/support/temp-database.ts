import 'reflect-metadata';

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { DataSource } from 'typeorm';

import { MetadataDatabase } from '../../src/metadata/metadata-database.js';
import { openDataSource } from '../../src/metadata/metadata.module.js';
import { BlobRecordStore } from '../../src/metadata/stores/blob-record.store.js';
import { ManifestStore } from '../../src/metadata/stores/manifest.store.js';
import { RepositoryStore } from '../../src/metadata/stores/repository.store.js';
import { UploadSessionStore } from '../../src/metadata/stores/upload-session.store.js';
import { BlobStorage } from '../../src/storage/blob-storage.service.js';
import { StoragePaths } from '../../src/storage/storage-paths.js';
import { UploadStorage } from '../../src/storage/upload-storage.service.js';

/** Creates an empty directory under the system temporary directory. */
export function createTempDirectory(prefix = 'wharf-int-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A SQLite file in a temporary directory, migrated by `openDataSource`, with the stores built on it. */
export interface TempDatabase {
  readonly directory: string;
  readonly path: string;
  readonly dataSource: DataSource;
  readonly database: MetadataDatabase;
  readonly blobRecords: BlobRecordStore;
  readonly manifests: ManifestStore;
  readonly repositories: RepositoryStore;
  readonly sessions: UploadSessionStore;
  /** Closes the connection and removes the directory. */
  dispose(): Promise<void>;
}

export async function openTempDatabase(directory?: string): Promise<TempDatabase> {
  const root = directory ?? (await createTempDirectory());
  const path = join(root, 'wharf.db');
  const dataSource = await openDataSource({ type: 'sqlite', path });
  const database = new MetadataDatabase(dataSource);

  return {
    directory: root,
    path,
    dataSource,
    database,
    blobRecords: new BlobRecordStore(database),
    manifests: new ManifestStore(database),
    repositories: new RepositoryStore(database),
    sessions: new UploadSessionStore(database),
    dispose: async () => {
      database.close();

      if (dataSource.isInitialized) {
        await dataSource.destroy();
      }

      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Storage paths, blob storage and upload storage on one root directory, wired as StorageModule does. */
export interface TempStorage {
  readonly paths: StoragePaths;
  readonly blobs: BlobStorage;
  readonly uploads: UploadStorage;
}

export function createStorage(rootDirectory: string): TempStorage {
  const paths = new StoragePaths(rootDirectory);
  const blobs = new BlobStorage(paths);

  return { paths, blobs, uploads: new UploadStorage(paths, blobs) };
}

/** The part of a better-sqlite3 connection that the tests use. */
export interface SqliteConnection {
  prepare(source: string): {
    all(...parameters: unknown[]): unknown[];
    get(...parameters: unknown[]): unknown;
  };
  close(): void;
}

type SqliteConstructor = new (
  path: string,
  options: { readonly: boolean; fileMustExist: boolean },
) => SqliteConnection;

// better-sqlite3 ships no type declarations and @types/better-sqlite3 is not installed, so the module is
// loaded through require and typed by the interface above.
const requireModule = createRequire(import.meta.url);

/** Opens a SQLite file read-only, for checks made after the process that wrote it has stopped. */
export function openReadOnly(path: string): SqliteConnection {
  const Sqlite = requireModule('better-sqlite3') as SqliteConstructor;

  return new Sqlite(path, { readonly: true, fileMustExist: true });
}
