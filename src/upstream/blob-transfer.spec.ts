import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { BlobTransfer } from './blob-transfer.js';

/** Upper bound for any single wait in these tests. */
const waitLimitMs = 5_000;
/** Wait during which a reader must not release its withheld last byte, several of its 50 ms poll intervals. */
const holdBackWaitMs = 300;

/** Resolves with the promise's value, or fails the test when `ms` passes first. */
async function withTimeout<T>(promise: Promise<T>, label: string, ms = waitLimitMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });

  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `condition` holds, checking every 10 ms, or fails the test after `waitLimitMs`. */
async function waitUntil(condition: () => boolean, label: string): Promise<void> {
  const deadline = Date.now() + waitLimitMs;

  while (!condition()) {
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${waitLimitMs} ms waiting for ${label}`);
    }

    await sleep(10);
  }
}

/** What a reader has delivered so far, and whether it ended or failed. */
class Collected {
  private readonly chunks: Buffer[] = [];
  ended = false;
  error: Error | undefined;
  /** Settles when the stream ends or fails. It never rejects. */
  readonly done: Promise<void>;

  constructor(stream: Readable) {
    stream.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    this.done = new Promise<void>((resolve) => {
      stream.on('end', () => {
        this.ended = true;
        resolve();
      });
      stream.on('error', (error) => {
        this.error = error;
        resolve();
      });
    });
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get length(): number {
    return this.chunks.reduce((total, chunk) => total + chunk.length, 0);
  }
}

describe('BlobTransfer', () => {
  let directory: string;
  let fileCount = 0;

  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'wharf-blob-transfer-'));
  });

  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  /** Creates an empty upload file, as the upload storage does before a transfer starts. */
  function newTransfer(size?: number): BlobTransfer {
    fileCount++;

    const path = join(directory, `upload-${fileCount}`);

    writeFileSync(path, '');

    return new BlobTransfer(path, join(directory, `blob-${fileCount}`), size);
  }

  /** Appends bytes to the upload file and reports the new length, as the copy from the upstream does. */
  function append(transfer: BlobTransfer, bytes: Buffer): void {
    appendFileSync(transfer.path, bytes);
    transfer.progress(transfer.written + bytes.length);
  }

  it('early reader gets all bytes', async () => {
    const content = randomBytes(10_000);
    const transfer = newTransfer(content.length);
    const reader = new Collected(transfer.read());

    append(transfer, content.subarray(0, 4_000));
    append(transfer, content.subarray(4_000));
    transfer.verified();

    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.error, undefined);
    assert.equal(reader.ended, true);
    assert.deepEqual(reader.bytes, content);
  });

  it('holds back last byte', async () => {
    const content = randomBytes(1_000);
    const transfer = newTransfer(content.length);
    const reader = new Collected(transfer.read());

    append(transfer, content);

    await waitUntil(() => reader.length >= content.length - 1, 'all but the last byte');
    await sleep(holdBackWaitMs);

    assert.equal(reader.length, content.length - 1);
    assert.equal(reader.ended, false);
    assert.deepEqual(reader.bytes, content.subarray(0, -1));

    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.ended, true);
    assert.deepEqual(reader.bytes, content);
  });

  it('holds back single-byte blob', async () => {
    const transfer = newTransfer(1);
    const reader = new Collected(transfer.read());

    append(transfer, Buffer.from('x'));
    await sleep(holdBackWaitMs);

    assert.equal(reader.length, 0);
    assert.equal(reader.ended, false);

    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.deepEqual(reader.bytes, Buffer.from('x'));
  });

  it('empty blob ends on verify', async () => {
    const transfer = newTransfer(0);
    const reader = new Collected(transfer.read());

    await sleep(holdBackWaitMs);

    assert.equal(reader.ended, false);

    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.ended, true);
    assert.equal(reader.length, 0);
  });

  it('ranged reader gets exact range', async () => {
    const content = randomBytes(100);
    const transfer = newTransfer(content.length);
    const reader = new Collected(transfer.read({ start: 10, end: 19 }));

    append(transfer, content);

    await waitUntil(() => reader.length >= 9, 'first nine bytes of the range');
    await sleep(holdBackWaitMs);

    assert.equal(reader.length, 9);
    assert.equal(reader.ended, false);
    assert.deepEqual(reader.bytes, content.subarray(10, 19));

    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.ended, true);
    assert.deepEqual(reader.bytes, content.subarray(10, 20));
  });

  it('range at blob end', async () => {
    const content = randomBytes(100);
    const transfer = newTransfer(content.length);
    const reader = new Collected(transfer.read({ start: 90, end: 99 }));

    append(transfer, content);
    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.ended, true);
    assert.deepEqual(reader.bytes, content.subarray(90));
  });

  it('range waits for later bytes', async () => {
    const content = randomBytes(100);
    const transfer = newTransfer(content.length);
    const reader = new Collected(transfer.read({ start: 50, end: 59 }));

    append(transfer, content.subarray(0, 40));
    await sleep(holdBackWaitMs);

    assert.equal(reader.length, 0);

    append(transfer, content.subarray(40));
    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.deepEqual(reader.bytes, content.subarray(50, 60));
  });

  it('failure errors running reader', async () => {
    const content = randomBytes(1_000);
    const transfer = newTransfer(2_000);
    const reader = new Collected(transfer.read());
    const failure = new Error('digest mismatch');

    append(transfer, content);
    await waitUntil(() => reader.length >= content.length - 1, 'the appended bytes');

    transfer.failed(failure);
    await withTimeout(reader.done, 'reader error');

    assert.equal(reader.error, failure);
    assert.equal(reader.ended, false);
  });

  it('failure errors every reader', async () => {
    const transfer = newTransfer(2_000);
    const readers = [new Collected(transfer.read()), new Collected(transfer.read({ start: 0, end: 9 }))];
    const failure = new Error('upstream closed the connection');

    append(transfer, randomBytes(500));
    await sleep(holdBackWaitMs);

    transfer.failed(failure);
    await withTimeout(Promise.all(readers.map((reader) => reader.done)), 'reader errors');

    for (const reader of readers) {
      assert.equal(reader.error, failure);
      assert.equal(reader.ended, false);
    }
  });

  it('reader after failure errors', async () => {
    const transfer = newTransfer(10);
    const failure = new Error('digest mismatch');

    append(transfer, randomBytes(10));
    transfer.failed(failure);

    const reader = new Collected(transfer.read());

    await withTimeout(reader.done, 'reader error');

    assert.equal(reader.error, failure);
    assert.equal(reader.ended, false);
  });

  it('reader after move uses finalPath', async () => {
    const content = randomBytes(5_000);
    const transfer = newTransfer(content.length);

    append(transfer, content);
    renameSync(transfer.path, transfer.finalPath);
    transfer.verified();

    const reader = new Collected(transfer.read());

    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.error, undefined);
    assert.deepEqual(reader.bytes, content);
  });

  it('ranged reader after move', async () => {
    const content = randomBytes(5_000);
    const transfer = newTransfer(content.length);

    append(transfer, content);
    renameSync(transfer.path, transfer.finalPath);
    transfer.verified();

    const reader = new Collected(transfer.read({ start: 100, end: 199 }));

    await withTimeout(reader.done, 'reader end');

    assert.equal(reader.error, undefined);
    assert.deepEqual(reader.bytes, content.subarray(100, 200));
  });

  it('open reader survives move', async () => {
    const content = randomBytes(5_000);
    const transfer = newTransfer(content.length);
    const reader = new Collected(transfer.read());

    append(transfer, content.subarray(0, 2_000));
    await waitUntil(() => reader.length > 0, 'the first bytes');

    appendFileSync(transfer.path, content.subarray(2_000));
    renameSync(transfer.path, transfer.finalPath);
    transfer.progress(content.length);
    transfer.verified();
    await withTimeout(reader.done, 'reader end');

    assert.deepEqual(reader.bytes, content);
  });

  it('twenty readers get identical bytes', async () => {
    // More than the reader's 256 KiB chunk, so each reader reads several times.
    const chunkBytes = 64 * 1024;
    const chunkCount = 10;
    const content = randomBytes(chunkBytes * chunkCount);
    const transfer = newTransfer(content.length);
    const readers: Collected[] = [];

    for (let index = 0; index < 20; index++) {
      readers.push(new Collected(transfer.read()));
    }

    for (let chunk = 0; chunk < chunkCount; chunk++) {
      append(transfer, content.subarray(chunk * chunkBytes, (chunk + 1) * chunkBytes));
      await sleep(5);
    }

    transfer.verified();
    await withTimeout(Promise.all(readers.map((reader) => reader.done)), 'all readers to end');

    for (const [index, reader] of readers.entries()) {
      assert.equal(reader.error, undefined, `reader ${index} failed`);
      assert.ok(reader.bytes.equals(content), `reader ${index} got different bytes`);
    }
  });

  it('settled after verify', () => {
    const transfer = newTransfer();

    assert.equal(transfer.settled, false);

    transfer.verified();

    assert.equal(transfer.settled, true);
    assert.equal(transfer.complete, true);
  });

  it('settled after failure', () => {
    const transfer = newTransfer();

    transfer.failed(new Error('failed'));

    assert.equal(transfer.settled, true);
    assert.equal(transfer.complete, false);
  });

  it('outcome follows verify and failure', async () => {
    const verified = newTransfer();
    const failed = newTransfer();
    const late = newTransfer();

    verified.verified();
    failed.failed(new Error('digest mismatch'));
    late.verified();
    late.failed(new Error('after the fact'));

    assert.equal(await withTimeout(verified.outcome, 'verified outcome'), true);
    assert.equal(await withTimeout(failed.outcome, 'failed outcome'), false);
    // A failure after verification changes nothing: the bytes stay readable.
    assert.equal(await withTimeout(late.outcome, 'late outcome'), true);
  });

  it('destroyed reader leaves no file open', async () => {
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();

    for (let attempt = 0; attempt < 20; attempt++) {
      const transfer = newTransfer(2_000);

      append(transfer, randomBytes(1_000));

      // The bytes are on disk only, so the reader opens the file, and it is destroyed meanwhile.
      const reader = transfer.read();

      reader.on('error', () => undefined);
      reader.resume();
      await new Promise((resolve) => setImmediate(resolve));
      reader.destroy();
      transfer.failed(new Error('stopped'));
    }

    await sleep(200);

    // Handles of earlier tests may close meanwhile, so the count may fall but must not grow.
    assert.ok(openFiles() <= before, `${openFiles() - before} file handles were left open`);
  });

  describe('chunks in memory', () => {
    it('a reader takes chunks before they reach the file', async () => {
      const content = randomBytes(50_000);
      const transfer = newTransfer(content.length);
      const reader = new Collected(transfer.read());

      transfer.chunk(content.subarray(0, 20_000));
      transfer.chunk(content.subarray(20_000));
      await waitUntil(() => reader.length === content.length - 1, 'all but the last byte');

      // Nothing is on disk: every byte so far came from memory.
      assert.equal(transfer.written, 0);
      assert.ok(reader.bytes.equals(content.subarray(0, -1)));

      appendFileSync(transfer.path, content);
      transfer.progress(content.length);
      transfer.verified();
      await withTimeout(reader.done, 'reader end');

      assert.equal(reader.error, undefined);
      assert.ok(reader.bytes.equals(content));
    });

    it('late reader spans file and memory', async () => {
      const content = randomBytes(40_000);
      const transfer = newTransfer(content.length);

      transfer.chunk(content.subarray(0, 10_000));
      transfer.chunk(content.subarray(10_000, 25_000));
      appendFileSync(transfer.path, content.subarray(0, 10_000));
      transfer.progress(10_000);

      // The file gets different bytes beyond what was reported written, so a read of them would show.
      appendFileSync(transfer.path, Buffer.alloc(15_000));

      const reader = new Collected(transfer.read());

      transfer.chunk(content.subarray(25_000));
      await waitUntil(() => reader.length === content.length - 1, 'all but the last byte');

      assert.ok(reader.bytes.equals(content.subarray(0, -1)));

      // The reader ends once the transfer is verified, which also lets the test end.
      transfer.verified();
      await withTimeout(reader.done, 'reader end');

      assert.ok(reader.bytes.equals(content));
    });

    it('a range inside an unwritten chunk comes from memory', async () => {
      const content = randomBytes(30_000);
      const transfer = newTransfer(content.length);
      const reader = new Collected(transfer.read({ start: 12_000, end: 12_999 }));

      transfer.chunk(content);
      await waitUntil(() => reader.length === 999, 'the range but its last byte');
      transfer.verified();
      await withTimeout(reader.done, 'reader end');

      assert.ok(reader.bytes.equals(content.subarray(12_000, 13_000)));
    });

    it('a failure drops the chunks and fails the reader', async () => {
      const transfer = newTransfer(10_000);
      const reader = new Collected(transfer.read());

      transfer.chunk(randomBytes(5_000));
      await waitUntil(() => reader.length === 4_999, 'the chunk but its last byte');
      transfer.failed(new Error('digest mismatch'));
      await withTimeout(reader.done, 'reader error');

      assert.equal(reader.error?.message, 'digest mismatch');
      assert.equal(transfer.bytesInMemory(0, 10), undefined);
    });
  });

  describe('piped into a destination', () => {
    /** Creates a destination that completes each write a millisecond later, as a slow socket does. */
    function slowDestination(received: Buffer[]): Writable {
      return new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          setTimeout(() => {
            received.push(Buffer.from(chunk));
            callback();
          }, 1);
        },
      });
    }

    it('gets every byte as the file grows', async () => {
      const content = randomBytes(3 * 1024 * 1024 + 17);
      const transfer = newTransfer(content.length);
      const received: Buffer[] = [];
      const destination = slowDestination(received);

      transfer.read().pipe(destination);

      for (let offset = 0; offset < content.length; offset += 256 * 1024) {
        append(transfer, content.subarray(offset, offset + 256 * 1024));
        await sleep(2);
      }

      transfer.verified();
      await withTimeout(finished(destination), 'destination finish');

      assert.ok(Buffer.concat(received).equals(content));
    });

    it('holds back the last byte until verified', async () => {
      const content = randomBytes(1_000);
      const transfer = newTransfer(content.length);
      const received: Buffer[] = [];
      const destination = slowDestination(received);

      transfer.read().pipe(destination);
      append(transfer, content);
      await waitUntil(() => Buffer.concat(received).length >= content.length - 1, 'all but the last byte');
      await sleep(holdBackWaitMs);

      assert.equal(Buffer.concat(received).length, content.length - 1);
      assert.equal(destination.writableEnded, false);

      transfer.verified();
      await withTimeout(finished(destination), 'destination finish');

      assert.ok(Buffer.concat(received).equals(content));
    });

    it('gets exactly a range', async () => {
      const content = randomBytes(2 * 1024 * 1024);
      const transfer = newTransfer(content.length);
      const received: Buffer[] = [];
      const destination = slowDestination(received);

      append(transfer, content);
      transfer.verified();
      transfer.read({ start: 1_000, end: 1_500_000 }).pipe(destination);
      await withTimeout(finished(destination), 'destination finish');

      assert.ok(Buffer.concat(received).equals(content.subarray(1_000, 1_500_001)));
    });

    it('a failed transfer fails the reader', async () => {
      const transfer = newTransfer(2_000);
      const reader = transfer.read();
      const destination = slowDestination([]);
      const failure = new Error('digest mismatch');
      const errored = new Promise<Error>((resolve) => reader.once('error', resolve));

      reader.pipe(destination);
      append(transfer, randomBytes(500));
      await sleep(holdBackWaitMs);
      transfer.failed(failure);

      assert.equal(await withTimeout(errored, 'reader error'), failure);
    });
  });
});
