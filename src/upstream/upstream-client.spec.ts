import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { UpstreamRateLimitedError, UpstreamUnavailableError } from '../common/domain-errors.js';
import { readSmallBody, UpstreamClient } from './upstream-client.js';
import type { Upstream } from './upstream-routes.js';

const execFileAsync = promisify(execFile);

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A request as a test server received it. */
interface ReceivedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

/** A node:http server on 127.0.0.1 that records every request and passes it to the test's handler. */
class LoopbackServer {
  readonly requests: ReceivedRequest[] = [];
  private readonly server: Server;
  handler: Handler = (_request, response) => {
    response.statusCode = 404;
    response.end();
  };

  constructor() {
    this.server = createServer((request, response) => {
      this.requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
      });
      this.handler(request, response);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  requestsTo(path: string): ReceivedRequest[] {
    return this.requests.filter((request) => request.url.split('?')[0] === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Returns the port of a listener that was bound on 127.0.0.1 and closed again, so connections are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

  const port = (server.address() as AddressInfo).port;

  await new Promise<void>((resolve) => server.close(() => resolve()));

  return port;
}

function upstreamAt(url: string, overrides: Partial<Upstream> = {}): Upstream {
  return {
    prefix: 'test',
    url,
    dockerHub: false,
    tagTtlMs: 0,
    timeoutMs: 5_000,
    notFoundTtlMs: 0,
    tlsVerify: true,
    ...overrides,
  };
}

/** Awaits `pending` and returns its rejection reason. Fails the test when it resolves. */
async function rejectionOf(pending: Promise<unknown>): Promise<unknown> {
  try {
    await pending;
  } catch (error) {
    return error;
  }

  assert.fail('expected the request to fail');
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

const manifestPath = '/v2/org/app/manifests/latest';
const manifestBody = '{"schemaVersion":2}';

describe('UpstreamClient', () => {
  const servers: LoopbackServer[] = [];
  const clients: UpstreamClient[] = [];

  async function startServer(handler: Handler): Promise<LoopbackServer> {
    const server = new LoopbackServer();

    server.handler = handler;
    servers.push(server);
    await server.start();

    return server;
  }

  function clientFor(upstream: Upstream): UpstreamClient {
    const client = new UpstreamClient(upstream);

    clients.push(client);

    return client;
  }

  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.stop()));
  });

  describe('Bearer token', () => {
    let server: LoopbackServer;
    const tokenQueries: URLSearchParams[] = [];
    const responses: { status: number; body: string }[] = [];

    before(async () => {
      server = await startServer((request, response) => {
        const url = new URL(request.url ?? '/', server.url);

        if (url.pathname === '/token') {
          tokenQueries.push(url.searchParams);
          sendJson(response, 200, { token: 'token-1', expires_in: 300 });

          return;
        }

        if (request.headers.authorization !== 'Bearer token-1') {
          response.statusCode = 401;
          response.setHeader(
            'www-authenticate',
            `Bearer realm="${server.url}/token",service="loopback-registry",scope="repository:org/app:pull"`,
          );
          response.end();

          return;
        }

        response.statusCode = 200;
        response.end(manifestBody);
      });

      const client = clientFor(upstreamAt(server.url));

      for (let index = 0; index < 2; index++) {
        const response = await client.manifest('GET', 'org/app', 'latest');

        responses.push({
          status: response.status,
          body: (await readSmallBody(response.body, 1024)).toString(),
        });
      }
    });

    it('both requests succeed', () => {
      assert.deepEqual(
        responses.map((response) => response.status),
        [200, 200],
      );
    });

    it('returns manifest body', () => {
      assert.equal(responses[1].body, manifestBody);
    });

    it('fetches token once', () => {
      assert.equal(server.requestsTo('/token').length, 1);
    });

    it('sends service to realm', () => {
      assert.equal(tokenQueries[0].get('service'), 'loopback-registry');
    });

    it('sends scope to realm', () => {
      assert.equal(tokenQueries[0].get('scope'), 'repository:org/app:pull');
    });

    it('anonymous token request', () => {
      assert.equal(server.requestsTo('/token')[0].authorization, undefined);
    });

    it('reuses cached token', () => {
      assert.deepEqual(
        server.requestsTo(manifestPath).map((request) => request.authorization),
        [undefined, 'Bearer token-1', 'Bearer token-1'],
      );
    });
  });

  describe('configured credentials', () => {
    let server: LoopbackServer;
    let status: number;

    before(async () => {
      server = await startServer((request, response) => {
        if (request.url?.startsWith('/token')) {
          sendJson(response, 200, { access_token: 'token-2' });

          return;
        }

        if (request.headers.authorization !== 'Bearer token-2') {
          response.statusCode = 401;
          response.setHeader('www-authenticate', `Bearer realm="${server.url}/token",service="loopback"`);
          response.end();

          return;
        }

        response.end(manifestBody);
      });

      const client = clientFor(
        upstreamAt(server.url, { credentials: { username: 'reader', password: 'pass:word' } }),
      );
      const response = await client.manifest('GET', 'org/app', 'latest');

      response.body.resume();
      status = response.status;
    });

    it('request succeeds', () => {
      assert.equal(status, 200);
    });

    it('sends Basic to token endpoint', () => {
      const expected = `Basic ${Buffer.from('reader:pass:word').toString('base64')}`;

      assert.equal(server.requestsTo('/token')[0]?.authorization, expected);
    });

    it('accepts access_token field', () => {
      assert.equal(server.requestsTo(manifestPath).at(-1)?.authorization, 'Bearer token-2');
    });
  });

  describe('Basic challenge', () => {
    it('sends configured credentials', async () => {
      const server = await startServer((request, response) => {
        if (request.headers.authorization === undefined) {
          response.statusCode = 401;
          response.setHeader('www-authenticate', 'Basic realm="loopback"');
          response.end();

          return;
        }

        response.end(manifestBody);
      });
      const client = clientFor(
        upstreamAt(server.url, { credentials: { username: 'reader', password: 'secret' } }),
      );
      const response = await client.manifest('GET', 'org/app', 'latest');

      response.body.resume();

      assert.equal(response.status, 200);
      assert.equal(
        server.requestsTo(manifestPath).at(-1)?.authorization,
        `Basic ${Buffer.from('reader:secret').toString('base64')}`,
      );
    });

    it('returns 401 without credentials', async () => {
      const server = await startServer((_request, response) => {
        response.statusCode = 401;
        response.setHeader('www-authenticate', 'Basic realm="loopback"');
        response.end();
      });
      const client = clientFor(upstreamAt(server.url));
      const response = await client.manifest('GET', 'org/app', 'latest');

      response.body.resume();

      assert.equal(response.status, 401);
      assert.equal(server.requests.length, 1);
    });
  });

  describe('cross-origin redirect', () => {
    let registry: LoopbackServer;
    let storage: LoopbackServer;
    let status: number;
    let body: string;
    const blobPath = `/v2/org/app/blobs/sha256:${'a'.repeat(64)}`;

    before(async () => {
      storage = await startServer((_request, response) => {
        response.end('blob bytes');
      });
      registry = await startServer((request, response) => {
        if (request.url?.startsWith('/token')) {
          sendJson(response, 200, { token: 'token-3' });

          return;
        }

        if (request.headers.authorization !== 'Bearer token-3') {
          response.statusCode = 401;
          response.setHeader('www-authenticate', `Bearer realm="${registry.url}/token"`);
          response.end();

          return;
        }

        response.statusCode = 307;
        response.setHeader('location', `${storage.url}/storage/blob?signature=abc`);
        response.end();
      });

      const client = clientFor(upstreamAt(registry.url));
      const response = await client.blob('GET', 'org/app', `sha256:${'a'.repeat(64)}`);

      status = response.status;
      body = (await readSmallBody(response.body, 1024)).toString();
    });

    it('returns redirected body', () => {
      assert.equal(body, 'blob bytes');
    });

    it('returns redirected status', () => {
      assert.equal(status, 200);
    });

    it('keeps query of Location', () => {
      assert.equal(storage.requests[0]?.url, '/storage/blob?signature=abc');
    });

    it('authorizes registry request', () => {
      assert.equal(registry.requestsTo(blobPath).at(-1)?.authorization, 'Bearer token-3');
    });

    it('drops Authorization on redirect', () => {
      assert.equal(storage.requests[0]?.authorization, undefined);
    });
  });

  describe('failures', () => {
    it('retries 503 then succeeds', async () => {
      let count = 0;
      const server = await startServer((_request, response) => {
        count++;
        response.statusCode = count === 1 ? 503 : 200;
        response.end(count === 1 ? 'busy' : manifestBody);
      });
      const client = clientFor(upstreamAt(server.url));
      const response = await client.manifest('GET', 'org/app', 'latest');

      response.body.resume();

      assert.equal(response.status, 200);
      assert.equal(server.requests.length, 2);
    });

    it('persistent 503 is server-error', async () => {
      const server = await startServer((_request, response) => {
        response.statusCode = 503;
        response.end();
      });
      const client = clientFor(upstreamAt(server.url));
      const error = await rejectionOf(client.manifest('GET', 'org/app', 'latest'));

      assert.ok(
        error instanceof UpstreamUnavailableError,
        `expected UpstreamUnavailableError, got ${String(error)}`,
      );
      assert.equal(error.failure, 'server-error');
      assert.equal(error.upstreamStatus, 503);
      assert.equal(server.requests.length, 3);
    });

    it('429 is rate limited', async () => {
      const server = await startServer((_request, response) => {
        response.statusCode = 429;
        response.setHeader('retry-after', '17');
        response.end();
      });
      const client = clientFor(upstreamAt(server.url));
      const error = await rejectionOf(client.manifest('GET', 'org/app', 'latest'));

      assert.ok(
        error instanceof UpstreamRateLimitedError,
        `expected UpstreamRateLimitedError, got ${String(error)}`,
      );
      assert.equal(error.retryAfter, '17');
      assert.equal(error.upstream, 'test');
    });

    it('404 is returned', async () => {
      const server = await startServer((_request, response) => {
        response.statusCode = 404;
        response.end();
      });
      const client = clientFor(upstreamAt(server.url));
      const response = await client.manifest('GET', 'org/app', 'missing');

      response.body.resume();

      assert.equal(response.status, 404);
    });

    it('silent server times out', async () => {
      // The handler never sends a response, and stop() closes the open connection.
      const server = await startServer(() => undefined);
      const client = clientFor(upstreamAt(server.url, { timeoutMs: 500 }));
      const started = Date.now();
      const error = await rejectionOf(client.manifest('GET', 'org/app', 'latest'));

      assert.ok(
        error instanceof UpstreamUnavailableError,
        `expected UpstreamUnavailableError, got ${String(error)}`,
      );
      assert.equal(error.failure, 'timeout');
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    });

    it('refused connection is network failure', async () => {
      const port = await closedPort();
      const client = clientFor(upstreamAt(`http://127.0.0.1:${port}`, { timeoutMs: 2_000 }));
      const error = await rejectionOf(client.manifest('GET', 'org/app', 'latest'));

      assert.ok(
        error instanceof UpstreamUnavailableError,
        `expected UpstreamUnavailableError, got ${String(error)}`,
      );
      assert.equal(error.failure, 'network');
    });
  });
});

describe('UpstreamClient over TLS', () => {
  let directory: string;
  let certificate: string;
  let server: HttpsServer;
  let url: string;
  const clients: UpstreamClient[] = [];

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-tls-'));

    // A self-signed certificate for 127.0.0.1, made for this test only.
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(directory, 'key.pem'),
      '-out',
      join(directory, 'cert.pem'),
    ]);
    certificate = await readFile(join(directory, 'cert.pem'), 'utf8');
    server = createHttpsServer(
      { key: await readFile(join(directory, 'key.pem')), cert: certificate },
      (_request, response) => {
        response.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
        response.end(manifestBody);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(directory, { recursive: true, force: true });
  });

  function clientFor(upstream: Upstream): UpstreamClient {
    const client = new UpstreamClient(upstream);

    clients.push(client);

    return client;
  }

  it('trusts a configured CA', async () => {
    const response = await clientFor(upstreamAt(url, { ca: certificate })).manifest(
      'GET',
      'org/app',
      'latest',
    );

    assert.equal(response.status, 200);
    assert.equal((await readSmallBody(response.body, 1024)).toString(), manifestBody);
  });

  it('rejects an unknown certificate', async () => {
    const error = await rejectionOf(clientFor(upstreamAt(url)).manifest('GET', 'org/app', 'latest'));

    assert.ok(error instanceof UpstreamUnavailableError, String(error));
    assert.equal(error.failure, 'network');
  });

  it('skips verification when disabled', async () => {
    const response = await clientFor(upstreamAt(url, { tlsVerify: false })).manifest(
      'GET',
      'org/app',
      'latest',
    );

    assert.equal(response.status, 200);
    response.body.resume();
  });
});
