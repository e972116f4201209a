import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { UpstreamRateLimitedError } from '../common/domain-errors.js';
import { UpstreamClient } from './upstream-client.js';
import type { Upstream } from './upstream-routes.js';
import { parseQuotaHeader, UpstreamStatus } from './upstream-status.service.js';

describe('parseQuotaHeader', () => {
  const cases: [string | undefined, ReturnType<typeof parseQuotaHeader>][] = [
    ['100;w=21600', { count: 100, windowSeconds: 21600 }],
    ['76', { count: 76 }],
    [' 0 ; w = 60', { count: 0, windowSeconds: 60 }],
    ['', undefined],
    ['many', undefined],
    [undefined, undefined],
  ];

  for (const [header, expected] of cases) {
    it(`parses ${JSON.stringify(header)}`, () => {
      assert.deepEqual(parseQuotaHeader(header), expected);
    });
  }
});

describe('UpstreamStatus', () => {
  it('starts unknown', () => {
    assert.deepEqual(new UpstreamStatus().snapshot('hub'), {
      lastResult: null,
      lastRequestAt: null,
      lastResponseAt: null,
      lastError: null,
      rateLimit: null,
    });
  });

  it('keeps the last error after a success', () => {
    const status = new UpstreamStatus();

    status.recordResult('hub', 'timeout');
    status.recordResult('hub', 'not-found');

    const snapshot = status.snapshot('hub');

    assert.equal(snapshot.lastResult, 'not-found');
    assert.equal(snapshot.lastError?.kind, 'timeout');
    assert.notEqual(snapshot.lastResponseAt, null);
  });

  it('keeps upstreams apart', () => {
    const status = new UpstreamStatus();

    status.recordResult('hub', 'network');

    assert.equal(status.snapshot('ghcr').lastResult, null);
  });

  it('ignores responses without quota headers', () => {
    const status = new UpstreamStatus();

    status.recordHeaders('hub', { 'ratelimit-remaining': '5;w=60' });
    status.recordHeaders('hub', { 'content-type': 'application/json' });

    assert.equal(status.snapshot('hub').rateLimit?.remaining, 5);
  });
});

describe('UpstreamClient reports to UpstreamStatus', () => {
  let server: Server;
  let client: UpstreamClient;
  let status: UpstreamStatus;
  let respond: (request: IncomingMessage, response: ServerResponse) => void;

  before(async () => {
    server = createServer((request, response) => respond(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

    const upstream: Upstream = {
      prefix: 'hub',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      dockerHub: true,
      tagTtlMs: 0,
      timeoutMs: 5_000,
      notFoundTtlMs: 0,
      tlsVerify: true,
    };

    status = new UpstreamStatus();
    client = new UpstreamClient(
      upstream,
      (result) => status.recordResult('hub', result),
      (headers) => status.recordHeaders('hub', headers),
    );
  });

  after(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('records Docker Hub quota headers', async () => {
    respond = (_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        'ratelimit-limit': '100;w=21600',
        'ratelimit-remaining': '76;w=21600',
      });
      response.end('{}');
    };

    const response = await client.manifest('GET', 'library/app', '1.0');

    response.body.resume();

    const snapshot = status.snapshot('hub');

    assert.equal(snapshot.lastResult, 'success');
    assert.equal(snapshot.rateLimit?.limit, 100);
    assert.equal(snapshot.rateLimit?.remaining, 76);
    assert.equal(snapshot.rateLimit?.windowSeconds, 21600);
  });

  it('records the quota of a 429', async () => {
    respond = (_request, response) => {
      response.writeHead(429, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' });
      response.end();
    };

    await assert.rejects(client.manifest('GET', 'library/app', '1.0'), UpstreamRateLimitedError);

    const snapshot = status.snapshot('hub');

    assert.equal(snapshot.lastResult, 'rate-limited');
    assert.equal(snapshot.lastError?.kind, 'rate-limited');
    assert.equal(snapshot.rateLimit?.remaining, 0);
  });
});
