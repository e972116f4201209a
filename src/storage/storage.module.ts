import { type DynamicModule, Module } from '@nestjs/common';

import { BlobStorage } from './blob-storage.service.js';
import { StoragePaths } from './storage-paths.js';
import { UploadStorage } from './upload-storage.service.js';

export interface StorageOptions {
  rootDirectory: string;
  /** Bytes of memory for recently read manifests. */
  manifestCacheBytes: number;
}

/** Blob bytes and upload sessions on the local file system. */
@Module({})
export class StorageModule {
  static forRoot(options: StorageOptions): DynamicModule {
    return {
      module: StorageModule,
      global: true,
      providers: [
        { provide: StoragePaths, useValue: new StoragePaths(options.rootDirectory) },
        {
          provide: BlobStorage,
          useFactory: (paths: StoragePaths) => new BlobStorage(paths, options.manifestCacheBytes),
          inject: [StoragePaths],
        },
        {
          provide: UploadStorage,
          useFactory: (paths: StoragePaths, blobs: BlobStorage) => new UploadStorage(paths, blobs),
          inject: [StoragePaths, BlobStorage],
        },
      ],
      exports: [StoragePaths, BlobStorage, UploadStorage],
    };
  }
}
