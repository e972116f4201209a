import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { type BodyByteCounts, countBodyBytes } from './body-byte-counter.js';

interface Exchange {
  status: number;
  body: Buffer;
  counts: BodyByteCounts;
}

/** What the server does with each request: the test picks it by path. */
const handlers: Record<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>> = {
  // Reads the whole body by piping it, as upload handlers do, and responds with its length.
  '/echo-length': async (incoming, response) => {
    let length = 0;

    await pipeline(
      incoming,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          length += chunk.length;
          callback();
        },
      }),
    );
    response.end(String(length));
  },
  // Streams a body in several writes, as blob GETs do.
  '/stream': async (_incoming, response) => {
    response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    await pipeline(Readable.from([Buffer.alloc(1000), Buffer.alloc(2000), 'abc']), response);
  },
  '/no-content': (_incoming, response) => {
    response.writeHead(204);
    response.end('ignored by Node');

    return Promise.resolve();
  },
  // Discards the body unread, as handlers do before rejecting a body that is too large.
  '/discard-body': async (incoming, response) => {
    incoming.resume();
    await once(incoming, 'end');
    response.end('ok');
  },
};

describe('countBodyBytes', () => {
  let server: Server;
  let port: number;
  const results = new Map<string, BodyByteCounts>();

  before(async () => {
    server = createServer((incoming, response) => {
      const counts = countBodyBytes(incoming, response);
      const id = String(incoming.headers['x-test-id']);

      response.on('finish', () => results.set(id, counts));
      void handlers[incoming.url ?? ''](incoming, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  let nextId = 0;

  /** Sends one request, waits for the response body, and returns what the server counted. */
  async function exchange(method: string, path: string, body?: Buffer[], chunked = false): Promise<Exchange> {
    const id = String(nextId++);
    const length = body?.reduce((sum, chunk) => sum + chunk.length, 0);
    const headers: Record<string, string> = { 'x-test-id': id, connection: 'close' };

    if (body !== undefined && !chunked) {
      headers['content-length'] = String(length);
    }

    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = request({ host: '127.0.0.1', port, method, path, headers }, resolve);

      outgoing.on('error', reject);

      for (const chunk of body ?? []) {
        outgoing.write(chunk);
      }

      outgoing.end();
    });
    const chunks: Buffer[] = [];

    for await (const chunk of response) {
      chunks.push(chunk as Buffer);
    }

    // 'finish' on the server fires once the response is handed to the socket, which is before the
    // client has read it all, so by now the counts are final.
    const counts = results.get(id);

    assert.ok(counts, `no counts recorded for request ${id}`);

    return { status: response.statusCode ?? 0, body: Buffer.concat(chunks), counts };
  }

  it('counts a body with Content-Length', async () => {
    const result = await exchange('PUT', '/echo-length', [Buffer.alloc(70_000, 1)]);

    assert.equal(result.body.toString(), '70000');
    assert.equal(result.counts.received, 70_000);
    assert.equal(result.counts.sent, 5);
  });

  it('counts a chunked body', async () => {
    const result = await exchange('PATCH', '/echo-length', [Buffer.alloc(10), Buffer.alloc(30_000)], true);

    assert.equal(result.body.toString(), '30010');
    assert.equal(result.counts.received, 30_010);
  });

  it('counts a streamed response', async () => {
    const result = await exchange('GET', '/stream');

    assert.equal(result.body.length, 3003);
    assert.equal(result.counts.sent, 3003);
    assert.equal(result.counts.received, 0);
  });

  it('counts nothing sent for HEAD', async () => {
    const result = await exchange('HEAD', '/stream');

    assert.equal(result.status, 200);
    assert.equal(result.counts.sent, 0);
  });

  it('counts nothing sent for 204', async () => {
    const result = await exchange('GET', '/no-content');

    assert.equal(result.status, 204);
    assert.equal(result.counts.sent, 0);
  });

  it('counts a discarded body', async () => {
    const result = await exchange('POST', '/discard-body', [Buffer.from('twelve bytes')]);

    assert.equal(result.body.toString(), 'ok');
    assert.equal(result.counts.received, 12);
  });
});
