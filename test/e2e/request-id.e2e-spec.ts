/**
 * Request ids and access lines. A client's `X-Request-Id` is kept only when the client is a trusted
 * proxy, and the access line of the request carries the id that the response sends back. A download
 * or upload that its client cancels gets an access line too, and no error line.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { cancelDownload } from '../support/cancelled-download.js';
import { createBlob, OciClient } from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Sends GET /v2/ with an X-Request-Id and returns the id the response carries. */
async function echoedRequestId(wharf: WharfServer, requestId: string): Promise<string> {
  const response = await fetch(`${wharf.baseUrl}/v2/`, {
    headers: { 'X-Request-Id': requestId },
    signal: AbortSignal.timeout(10_000),
  });

  await response.arrayBuffer();
  assert.equal(response.status, 200);

  return response.headers.get('x-request-id') ?? '';
}

async function accessLineOf(wharf: WharfServer, requestId: string): Promise<Record<string, unknown>> {
  const lines = await wharf.waitForLog(
    (record) => record.msg === 'request completed' && record.reqId === requestId,
  );

  assert.equal(lines.length, 1, `one access line with reqId ${requestId}`);

  return lines[0];
}

describe('request id from an untrusted client', () => {
  let wharf: WharfServer;

  before(async () => {
    wharf = await startWharf();
  });

  after(async () => {
    await wharf.dispose();
  });

  it('client id is replaced', async () => {
    const echoed = await echoedRequestId(wharf, 'abc-123');

    assert.notEqual(echoed, 'abc-123');
    assert.match(echoed, uuidPattern);
  });

  it('cancelled download gets an aborted line', async () => {
    const client = new OciClient(wharf.baseUrl);
    // Larger than the socket buffers of a loopback connection, so the response cannot end unread.
    const blob = createBlob(Buffer.alloc(64 * 1024 * 1024, 7));

    await client.pushBlob('logs/cancelled', blob);

    const response = await cancelDownload(`${wharf.baseUrl}/v2/logs/cancelled/blobs/${blob.digest}`);
    const requestId = response.headers.get('x-request-id');

    const aborted = await wharf.waitForLog(
      (record) => record.msg === 'request aborted' && record.reqId === requestId,
    );

    assert.equal(aborted.length, 1);
    assert.equal(aborted[0].url, `/v2/logs/cancelled/blobs/${blob.digest}`);
    assert.equal(aborted[0].statusCode, 499);
    assert.equal(aborted[0].remoteAddress, '127.0.0.1');
    assert.equal(
      wharf.logRecords().some((record) => record.msg === 'request completed' && record.reqId === requestId),
      false,
    );
    assert.equal(
      wharf.logRecords().some((record) => record.msg === 'malformed request rejected'),
      false,
    );
  });

  it('cancelled upload logs no error', async () => {
    const path = `/v2/logs/cut/blobs/uploads/?digest=sha256:${'0'.repeat(64)}`;
    const { hostname, port } = new URL(wharf.baseUrl);
    const socket = connect({ host: hostname, port: Number(port) });

    await once(socket, 'connect');
    // The header promises 64 MiB; 1 MiB is sent, then the connection closes in the middle of the body.
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
        'Content-Type: application/octet-stream\r\nContent-Length: 67108864\r\n\r\n',
    );
    socket.write(Buffer.alloc(1024 * 1024, 3));
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();

    const aborted = await wharf.waitForLog(
      (record) => record.msg === 'request aborted' && record.url === path,
    );

    assert.equal(aborted.length, 1);
    assert.equal(aborted[0].statusCode, 499);
    assert.equal(aborted[0].remoteAddress, '127.0.0.1');

    // Give a late error line the time to appear before checking that none did.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const reqId = aborted[0].reqId;

    assert.deepEqual(
      wharf.logRecords().filter((record) => record.reqId === reqId && Number(record.level) >= 40),
      [],
    );
    assert.equal(
      wharf.logRecords().some((record) => record.msg === 'malformed request rejected'),
      false,
    );
  });

  it('access line has the echoed id', async () => {
    const echoed = await echoedRequestId(wharf, 'abc-456');
    const line = await accessLineOf(wharf, echoed);

    assert.equal(line.url, '/v2/');
    assert.equal(
      wharf.logRecords().some((record) => record.reqId === 'abc-456'),
      false,
    );
  });
});

describe('request id from a trusted proxy', () => {
  let wharf: WharfServer;

  before(async () => {
    wharf = await startWharf({
      config: { http: { address: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] } },
    });
  });

  after(async () => {
    await wharf.dispose();
  });

  it('proxy id is echoed', async () => {
    assert.equal(await echoedRequestId(wharf, 'abc-123'), 'abc-123');
  });

  it('access line has the proxy id', async () => {
    await echoedRequestId(wharf, 'abc-789');

    const line = await accessLineOf(wharf, 'abc-789');

    assert.equal(line.url, '/v2/');
    assert.equal(line.statusCode, 200);
  });

  it('malformed proxy id is replaced', async () => {
    const echoed = await echoedRequestId(wharf, 'not/valid');

    assert.match(echoed, uuidPattern);
  });
});
