import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { BlobFileStream } from './blob-file-stream.js';

/** Collects a stream's bytes, copying each chunk as it arrives, as a slow consumer would not. */
async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];

  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }

  return Buffer.concat(chunks);
}

describe('BlobFileStream', () => {
  let directory: string;
  let path: string;
  // Five chunks of 1 MiB and a part, more than the three buffers a piped stream reuses.
  const bytes = randomBytes(5 * 1024 * 1024 + 12_345);

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-blob-stream-'));
    path = join(directory, 'blob');
    await writeFile(path, bytes);
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function streamOf(start = 0, end = bytes.length): Promise<BlobFileStream> {
    return new BlobFileStream(await open(path, 'r'), start, end);
  }

  it('reads every byte as an ordinary stream', async () => {
    assert.ok((await collect(await streamOf())).equals(bytes));
  });

  it('reads one range', async () => {
    assert.ok((await collect(await streamOf(1000, 3_000_000))).equals(bytes.subarray(1000, 3_000_000)));
  });

  it('keeps bytes intact through a pass-through that holds chunks', async () => {
    const through = new PassThrough({ highWaterMark: 64 * 1024 * 1024 });
    const source = await streamOf();

    source.pipe(through);
    // Let the whole file queue up in the pass-through before anything reads it, so that reused
    // buffers would have overwritten the chunks it holds.
    await new Promise((resolve) => source.once('end', resolve));

    assert.ok((await collect(through)).equals(bytes));
  });

  it('keeps bytes intact through a transform', async () => {
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        callback(null, chunk);
      },
    });

    (await streamOf()).pipe(counter);

    assert.ok((await collect(counter)).equals(bytes));
    assert.equal(seen, bytes.length);
  });

  it('sends every byte into an HTTP response', async () => {
    const server = createServer((_request, response) => {
      void streamOf().then((stream) => stream.pipe(response));
    });

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<Buffer>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/' }, (response) => {
          collect(response).then(resolve, reject);
        })
          .on('error', reject)
          .end();
      });

      assert.ok(body.equals(bytes));
    } finally {
      server.close();
    }
  });
});
