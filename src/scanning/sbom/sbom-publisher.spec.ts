import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import type { Digest } from '../../common/digest.js';
import { WharfConfig } from '../../config/config.schema.js';
import type { ContentReader } from '../../distribution/services/content-reader.js';
import type { ManifestPush, ManifestService } from '../../distribution/services/manifest.service.js';
import type { UploadService } from '../../distribution/services/upload.service.js';
import type { ManifestRecord } from '../../metadata/records.js';
import type { UpstreamRoutes } from '../../upstream/upstream-routes.js';
import type { StoredInventory } from '../image-scanner.service.js';
import { sha256Digest } from './sbom-artifact.js';
import { SbomPublisher } from './sbom-publisher.js';

const emptyConfigDigest = sha256Digest(Buffer.from('{}'));
const inventory: StoredInventory = { os: null, packages: [], warnings: [], platform: null };

/** Returns a subject descriptor for the image manifest `bytes`. */
function subjectOf(bytes: string): { digest: string; mediaType: string; size: number } {
  return {
    digest: sha256Digest(Buffer.from(bytes)),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: bytes.length,
  };
}

/**
 * Builds a publisher over one local repository whose blobs and manifests live in memory. Returns it
 * with the digest of every upload and every manifest push, in order.
 */
function publisherOverMemory(): { publisher: SbomPublisher; uploads: string[]; manifests: ManifestPush[] } {
  const storedBlobs = new Set<string>();
  const uploads: string[] = [];
  const manifests: ManifestPush[] = [];
  const reader = {
    referrers: (): Promise<ManifestRecord[]> => Promise.resolve([]),
    hasStoredBlob: (_name: string, digest: Digest): Promise<boolean> =>
      Promise.resolve(storedBlobs.has(digest.toString())),
  };
  const uploadService = {
    uploadWhole: async (_name: string, digest: Digest, body: Readable): Promise<number> => {
      let size = 0;

      for await (const chunk of body) {
        size += (chunk as Buffer).length;
      }

      uploads.push(digest.toString());
      storedBlobs.add(digest.toString());

      return size;
    },
  };
  const manifestService = {
    push: (push: ManifestPush) => {
      manifests.push(push);

      return Promise.resolve({});
    },
  };
  const routes = { match: () => undefined };
  const publisher = new SbomPublisher(
    new WharfConfig(),
    routes as unknown as UpstreamRoutes,
    reader as unknown as ContentReader,
    uploadService as unknown as UploadService,
    manifestService as unknown as ManifestService,
  );

  return { publisher, uploads, manifests };
}

describe('SbomPublisher', () => {
  it('uploads the shared empty config once', async () => {
    const { publisher, uploads, manifests } = publisherOverMemory();

    await publisher.publish('team/app', subjectOf('{"first":true}'), inventory);

    assert.equal(manifests.length, 2);
    assert.equal(uploads.length, 3);
    assert.equal(uploads.filter((digest) => digest === emptyConfigDigest).length, 1);
  });

  it('uploads only documents for a later image', async () => {
    const { publisher, uploads, manifests } = publisherOverMemory();

    await publisher.publish('team/app', subjectOf('{"first":true}'), inventory);
    uploads.length = 0;
    await publisher.publish('team/app', subjectOf('{"second":true}'), inventory);

    assert.equal(manifests.length, 4);
    assert.equal(uploads.length, 2);
    assert.ok(!uploads.includes(emptyConfigDigest));
  });
});
