import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';

import { BlobTransfers } from './blob-transfers.js';

const digest = `sha256:${'a'.repeat(64)}`;

/** Returns a stand-in for a response, which counts as closed once `close` is emitted. */
function fakeResponse(): ServerResponse {
  return new EventEmitter() as unknown as ServerResponse;
}

/** Returns whether `promise` has settled once the callbacks already pending have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;

  void promise.then(() => {
    done = true;
  });
  await setImmediate();

  return done;
}

describe('BlobTransfers', () => {
  it('recognizes blob bodies', () => {
    const cases: [string, string, boolean][] = [
      ['GET', `/v2/team/app/blobs/${digest}`, true],
      ['HEAD', `/v2/team/app/blobs/${digest}`, false],
      ['GET', '/v2/team/app/manifests/latest', false],
      ['GET', '/v2/team/app/blobs/uploads/5f0e', false],
      ['POST', '/v2/team/app/blobs/uploads/', true],
      ['POST', `/v2/team/app/blobs/uploads/?digest=${digest}`, true],
      ['PATCH', '/v2/team/app/blobs/uploads/5f0e', true],
      ['PUT', `/v2/team/app/blobs/uploads/5f0e?digest=${digest}`, true],
      ['DELETE', '/v2/team/app/blobs/uploads/5f0e', false],
      ['GET', '/api/v1/repositories', false],
    ];

    for (const [method, url, expected] of cases) {
      assert.equal(BlobTransfers.isBlobTransfer(method, url), expected, `${method} ${url}`);
    }
  });

  it('is quiet at once without transfers', async () => {
    const transfers = new BlobTransfers();

    assert.equal(await settled(transfers.waitForQuiet(60_000, 60_000)), true);
  });

  it('waits while a transfer runs', async () => {
    const transfers = new BlobTransfers();
    const response = fakeResponse();

    transfers.track(response);

    const quiet = transfers.waitForQuiet(20, 60_000);

    assert.equal(await settled(quiet), false);
    response.emit('close');
    assert.equal(transfers.count, 0);
    await quiet;
  });

  it('waits the quiet period after a transfer', async () => {
    const transfers = new BlobTransfers();
    const response = fakeResponse();

    transfers.track(response);
    response.emit('close');

    assert.equal(await settled(transfers.waitForQuiet(60_000, 60_000, AbortSignal.timeout(50))), false);
  });

  it('is not quiet right after a transfer', () => {
    const transfers = new BlobTransfers();
    const response = fakeResponse();

    assert.equal(transfers.isQuiet(60_000), true);
    transfers.track(response);
    assert.equal(transfers.isQuiet(0), false);
    response.emit('close');
    assert.equal(transfers.isQuiet(60_000), false);
    assert.equal(transfers.isQuiet(0), true);
  });

  it('stops waiting after the longest wait', async () => {
    const transfers = new BlobTransfers();

    transfers.track(fakeResponse());
    await transfers.waitForQuiet(20, 30);

    assert.equal(transfers.count, 1);
  });

  it('stops waiting on abort', async () => {
    const transfers = new BlobTransfers();
    const controller = new AbortController();

    transfers.track(fakeResponse());

    const quiet = transfers.waitForQuiet(60_000, 60_000, controller.signal);

    assert.equal(await settled(quiet), false);
    controller.abort();
    await quiet;
  });

  describe('on a server', () => {
    let server: Server;
    let transfers: BlobTransfers;
    let port: number;
    const pending: (() => void)[] = [];

    before(async () => {
      server = createServer((_incoming, response) => {
        response.writeHead(200);
        response.write('first chunk');
        pending.push(() => response.end('last chunk'));
      });
      transfers = new BlobTransfers();
      transfers.watch(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });

    after(() => {
      server.close();
    });

    /** Sends a request and resolves once its response has begun; `done` resolves when it ends. */
    async function begin(method: string, path: string): Promise<{ done: Promise<unknown> }> {
      const outgoing = request({ host: '127.0.0.1', port, method, path });

      outgoing.end();

      const [response] = (await once(outgoing, 'response')) as [IncomingMessage];

      response.resume();

      return { done: once(response, 'end') };
    }

    it('counts blob GETs until they end', async () => {
      const blob = await begin('GET', `/v2/team/app/blobs/${digest}`);
      const manifest = await begin('GET', '/v2/team/app/manifests/latest');

      assert.equal(transfers.count, 1);

      for (const end of pending.splice(0)) {
        end();
      }

      await Promise.all([blob.done, manifest.done]);
      await transfers.waitForQuiet(0, 60_000);

      assert.equal(transfers.count, 0);
    });
  });
});
