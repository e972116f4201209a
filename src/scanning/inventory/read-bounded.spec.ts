import assert from 'node:assert/strict';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../../common/package-info.js';
import type { LayerFile } from './inventory.js';
import { readBounded, readChunks, readLayerFile, readLayerText } from './read-bounded.js';

const lockfile = join(findPackage(import.meta.url).root, 'test/fixtures/lockfiles/npm/package-lock-v2.json');

/** Reads what is left of a stream, as a layer walker drains an entry a collector stopped reading. */
async function drain(stream: Readable): Promise<number> {
  let bytes = 0;

  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
  }

  return bytes;
}

function layerFile(path: string, size: number, content: Readable): LayerFile {
  return { path, size, mode: 0o644, content };
}

describe('readBounded', () => {
  it('reads a file under the limit whole', async () => {
    const result = await readBounded(createReadStream(lockfile, { highWaterMark: 100 }), 64 * 1024);

    assert.equal(result.complete, true);
    assert.ok(result.complete);
    assert.deepEqual(result.data, readFileSync(lockfile));
  });

  it('reads a file exactly at the limit whole', async () => {
    const size = statSync(lockfile).size;
    const result = await readBounded(createReadStream(lockfile, { highWaterMark: 100 }), size);

    assert.equal(result.complete, true);
  });

  it('stops over the limit and leaves the rest to drain', async () => {
    const size = statSync(lockfile).size;
    const stream = createReadStream(lockfile, { highWaterMark: 100 });
    const result = await readBounded(stream, 250);

    assert.equal(result.complete, false);
    assert.ok(!result.complete);
    assert.equal(result.bytesRead, 300);
    assert.equal(stream.destroyed, false);
    assert.equal(stream.isPaused(), true);
    assert.equal(await drain(stream), size - 300);
  });

  it('rejects when the stream fails', async () => {
    const stream = new Readable({ read() {} });
    const reading = readBounded(stream, 1000);

    stream.push(Buffer.from('partial'));
    stream.destroy(new Error('gzip data is truncated'));

    await assert.rejects(reading, /gzip data is truncated/);
  });

  it('rejects when the stream closes before its end', async () => {
    const stream = new Readable({ read() {} });
    const reading = readBounded(stream, 1000);

    stream.destroy();

    await assert.rejects(reading, /closed before its end/);
  });
});

describe('readChunks', () => {
  it('reports whether the stream ended', async () => {
    const chunks: number[] = [];
    const ended = await readChunks(Readable.from([Buffer.from('ab'), Buffer.from('cde')]), (chunk) => {
      chunks.push(chunk.length);

      return 'more';
    });

    assert.equal(ended, true);
    assert.deepEqual(chunks, [2, 3]);
  });

  it('stops when the handler asks', async () => {
    const stream = Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]);
    const ended = await readChunks(stream, () => 'stop');

    assert.equal(ended, false);
    assert.equal(await drain(stream), 4);
  });
});

describe('readLayerFile', () => {
  it('reports a declared size over the limit without reading', async () => {
    const stream = createReadStream(lockfile);
    const result = await readLayerFile(layerFile('/app/package-lock.json', 5000, stream), 4096);

    assert.deepEqual(result, {
      warning:
        '/app/package-lock.json: the file has 5000 bytes, more than the limit of 4096 bytes, and was not read',
    });
    assert.equal(stream.readableFlowing, null);
    stream.destroy();
  });

  it('reports a stream longer than its declared size', async () => {
    const data = Buffer.alloc(3000, 0x61);
    const result = await readLayerFile(layerFile('/app/x.json', 10, Readable.from([data])), 2048);

    assert.deepEqual(result, {
      warning: '/app/x.json: the file has 3000 bytes, more than the limit of 2048 bytes, and was not read',
    });
  });

  it('turns a stream failure into a warning', async () => {
    const stream = new Readable({
      read() {
        this.destroy(new Error('unexpected end of tar entry'));
      },
    });
    const result = await readLayerFile(layerFile('/app/x.json', 10, stream), 2048);

    assert.deepEqual(result, {
      warning: '/app/x.json: failed to read the file: unexpected end of tar entry',
    });
  });
});

describe('readLayerText', () => {
  it('reports binary data', async () => {
    const data = Buffer.from([0x7b, 0x00, 0x7d]);
    const result = await readLayerText(layerFile('/a/METADATA', 3, Readable.from([data])), 100);

    assert.deepEqual(result, { warning: '/a/METADATA: the file contains binary data and was not read' });
  });

  it('removes a byte order mark', async () => {
    const data = Buffer.from('\uFEFF{"a":1}', 'utf8');
    const result = await readLayerText(layerFile('/a/b.json', data.length, Readable.from([data])), 100);

    assert.deepEqual(result, { text: '{"a":1}' });
  });
});
