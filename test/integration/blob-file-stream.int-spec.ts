/**
 * BlobStorage.open and the BlobFileStream it returns, on a real file. Whole blobs and ranges are read as
 * streams and piped into slow destinations, which must never see a buffer reused before its write
 * finished. Files shorter than expected and destinations that close early are covered too.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { Digest } from '../../src/common/digest.js';
import type { BlobStorage } from '../../src/storage/blob-storage.service.js';
import { createStorage, createTempDirectory } from '../support/temp-database.js';

const mebibyte = 1024 * 1024;

/**
 * A destination that copies each chunk only when it completes the write, some milliseconds later, as a
 * slow socket does. A buffer reused before its callback would show up as wrong bytes in `received`.
 */
class SlowDestination extends Writable {
  readonly received: Buffer[] = [];

  constructor(private readonly delayMs: number) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setTimeout(() => {
      this.received.push(Buffer.from(chunk));
      callback();
    }, this.delayMs);
  }
}

describe('BlobFileStream', () => {
  let directory: string;
  let blobs: BlobStorage;
  let bytes: Buffer;
  let digest: Digest;

  beforeEach(async () => {
    directory = await createTempDirectory();

    const storage = createStorage(directory);

    blobs = storage.blobs;
    bytes = randomBytes(5 * mebibyte + 123);
    digest = Digest.parse(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);

    const path = storage.paths.blob(digest);

    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('piped into a slow destination, delivers every byte in order', async () => {
    const destination = new SlowDestination(2);

    (await blobs.open(digest)).pipe(destination);
    await finished(destination);

    assert.ok(Buffer.concat(destination.received).equals(bytes));
  });

  it('piped, delivers exactly the requested range', async () => {
    const destination = new SlowDestination(1);
    const range = { start: mebibyte - 7, end: 3 * mebibyte + 11 };

    (await blobs.open(digest, range)).pipe(destination);
    await finished(destination);

    assert.ok(Buffer.concat(destination.received).equals(bytes.subarray(range.start, range.end + 1)));
  });

  it('read as an ordinary stream, delivers every byte and a range', async () => {
    const whole: Buffer[] = [];
    const part: Buffer[] = [];

    for await (const chunk of await blobs.open(digest)) {
      whole.push(chunk as Buffer);
    }

    for await (const chunk of await blobs.open(digest, { start: 10, end: 20 })) {
      part.push(chunk as Buffer);
    }

    assert.ok(Buffer.concat(whole).equals(bytes));
    assert.ok(Buffer.concat(part).equals(bytes.subarray(10, 21)));
  });

  it('a stream read once before piping still delivers every byte', async () => {
    const stream = await blobs.open(digest);
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    const rest = new PassThrough();
    const received: Buffer[] = [first];

    stream.pause();
    rest.on('data', (chunk: Buffer) => received.push(chunk));
    stream.pipe(rest);
    await finished(rest);

    assert.ok(Buffer.concat(received).equals(bytes));
  });

  it('the stream ends, and closes, once a piped transfer is complete', async () => {
    const stream = await blobs.open(digest);
    const destination = new SlowDestination(0);

    stream.pipe(destination);
    await finished(stream);
    await finished(destination);

    assert.equal(stream.destroyed, true);
    assert.ok(Buffer.concat(destination.received).equals(bytes));
  });

  it('a file shorter than the requested range fails the stream', async () => {
    const stream = await blobs.open(digest, { start: 0, end: bytes.length + mebibyte });
    const destination = new SlowDestination(0);

    const failed = assert.rejects(finished(stream), /blob file ended at byte/);

    stream.pipe(destination);
    await failed;
  });

  it('a file cut short while it is piped fails the stream', async () => {
    const stream = await blobs.open(digest);
    const destination = new SlowDestination(20);

    // Listening before the cut: the stream may fail while the truncation is still being awaited.
    const failed = assert.rejects(finished(stream), /blob file ended at byte/);

    stream.pipe(destination);
    await truncate(createStorage(directory).paths.blob(digest), mebibyte);
    await failed;
  });

  it('a destination destroyed midway stops the transfer without an error', async () => {
    const stream = await blobs.open(digest);
    const destination = new SlowDestination(5);

    stream.pipe(destination);
    await sleep(15);
    destination.destroy();
    // The transfer stops, and the source's owner (Fastify, for a response) then destroys it.
    await sleep(30);
    stream.destroy();
    await finished(stream).catch(() => undefined);

    assert.ok(Buffer.concat(destination.received).length < bytes.length);
    assert.equal(stream.destroyed, true);
  });

  it('opening a blob whose file is missing rejects before any stream exists', async () => {
    const missing = Digest.parse(`sha256:${'0'.repeat(64)}`);

    await assert.rejects(blobs.open(missing), { code: 'ENOENT' });
  });
});
