import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { InFlightRequests } from './in-flight-requests.js';

/** Sends a POST whose body stays open until `end` is called; `status` resolves with the response status. */
function openRequest(port: number) {
  const outgoing = request({ host: '127.0.0.1', port, method: 'POST', path: '/' });
  const status = once(outgoing, 'response').then(([response]) => {
    (response as NodeJS.ReadableStream).resume();

    return (response as { statusCode: number }).statusCode;
  });

  outgoing.write('first chunk');

  return { status, end: () => outgoing.end('last chunk'), abort: () => outgoing.destroy() };
}

describe('InFlightRequests', () => {
  let server: Server;
  let requests: InFlightRequests;
  let port: number;
  const received: (() => void)[] = [];

  before(async () => {
    server = createServer((incoming, response) => {
      incoming.resume();
      incoming.on('end', () => response.end('done'));
    });
    // Registered after the handler, as `wharf serve` does with Fastify's.
    requests = new InFlightRequests(server);
    server.on('request', () => received.shift()?.());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const nextRequest = () => new Promise<void>((resolve) => received.push(resolve));

  it('idle server resolves at once', async () => {
    assert.equal(requests.count, 0);
    assert.equal(await requests.waitUntilIdle(60_000), true);
  });

  it('counts a request until answered', async () => {
    const arrived = nextRequest();
    const open = openRequest(port);

    await arrived;
    assert.equal(requests.count, 1);

    const idle = requests.waitUntilIdle(60_000);

    open.end();
    assert.equal(await open.status, 200);
    assert.equal(await idle, true);
    assert.equal(requests.count, 0);
  });

  it('timeout resolves false while busy', async () => {
    const arrived = nextRequest();
    const open = openRequest(port);

    await arrived;
    assert.equal(await requests.waitUntilIdle(10), false);
    assert.equal(requests.count, 1);

    open.end();
    await open.status;
  });

  it('aborted request stops counting', async () => {
    const arrived = nextRequest();
    const open = openRequest(port);

    await arrived;

    const idle = requests.waitUntilIdle(60_000);

    open.abort();
    await open.status.catch(() => undefined);
    assert.equal(await idle, true);
    assert.equal(requests.count, 0);
  });
});
