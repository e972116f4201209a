/**
 * The scan queue's limit: images pushed while the queue is full wait in the database, and a backfill
 * pass queues them once it drains, so every image is scanned without holding a long queue in memory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import Database from 'better-sqlite3';

import { createImage, createRandomBlob, type Image, OciClient } from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const imageCount = 8;
const scanDeadlineMs = 60_000;

describe('scan queue limit', () => {
  let wharf: WharfServer;

  before(async () => {
    wharf = await startWharf({
      config: { scanning: { enabled: true, concurrency: 1, queueLimit: 1, attachSbom: false } },
    });
  });

  after(async () => {
    await wharf?.dispose();
  });

  /** Returns how many of `digests` have a stored scan, read from the metadata database. */
  function scannedCount(digests: string[]): number {
    const database = new Database(wharf.databasePath, { readonly: true, fileMustExist: true });

    try {
      const placeholders = digests.map(() => '?').join(', ');
      const row = database
        .prepare<string[], { count: number }>(
          `SELECT COUNT(DISTINCT digest) AS count FROM image_scans WHERE digest IN (${placeholders})`,
        )
        .get(...digests);

      return row?.count ?? 0;
    } finally {
      database.close();
    }
  }

  it('scans every image of a burst beyond the limit', { timeout: scanDeadlineMs + 10_000 }, async () => {
    const client = new OciClient(wharf.baseUrl);
    const images: Image[] = Array.from({ length: imageCount }, () =>
      createImage({ layers: [createRandomBlob(1024)] }),
    );

    await Promise.all(images.map((image, index) => client.pushImage(`burst/image-${index}`, 'v1', image)));

    const digests = images.map((image) => image.manifest.digest);
    const deadline = Date.now() + scanDeadlineMs;

    while (scannedCount(digests) < imageCount && Date.now() < deadline) {
      await sleep(200);
    }

    assert.equal(scannedCount(digests), imageCount);

    // With room for one waiting scan, most of the burst went through the database.
    const backfills = wharf.logRecords().filter((record) => record.msg === 'queued unscanned images');

    assert.ok(backfills.length > 0, 'no backfill pass queued the images left unqueued');
  });
});
