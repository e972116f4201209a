/**
 * Pull-through caching against a fake upstream that fails on purpose: shared transfers, broken and
 * interrupted blob bodies, rate limits, 5xx responses, hangs, negative caching, token auth, blob
 * redirects, chunked bodies and pushes into a prefix. Every test uses its own repository, because
 * Wharf and the fake keep their state between tests.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { inspect } from 'node:util';

import { type FakeUpstream, type Fault, startFakeUpstream } from '../support/fake-upstream.js';
import { freePort } from '../support/free-port.js';
import {
  assertClientError,
  assertOciError,
  assertOciErrorBody,
  type Content,
  createBlob,
  createImage,
  createRandomBlob,
  digestMatches,
  mediaTypes,
  OciClient,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const tagTtlMs = 1_000;
/** Maximum wait for any one Wharf response. Wharf's upstream timeout is 2 s. */
const answerBoundMs = 10_000;
const username = 'wharf-user';
const password = 'pull-secret';
const manifestAccept = [
  mediaTypes.imageManifest,
  mediaTypes.imageIndex,
  mediaTypes.dockerManifest,
  mediaTypes.dockerManifestList,
].join(', ');

/** A response whose body was read to the end or until the connection failed. */
interface Outcome {
  readonly response: Response;
  readonly bytes: Buffer;
  readonly error: unknown;
}

describe('pull-through faults', () => {
  let fake: FakeUpstream;
  let server: WharfServer;
  let client: OciClient;
  let secretsDirectory: string;
  let exitReported = false;

  before(async () => {
    fake = await startFakeUpstream();
    secretsDirectory = await mkdtemp(join(tmpdir(), 'wharf-upstream-secret-'));

    const passwordFile = join(secretsDirectory, 'password');

    await writeFile(passwordFile, password, { mode: 0o600 });
    server = await startWharf({
      config: {
        upstreams: [
          { prefix: 'fake', url: fake.url, tagTtl: '1s', timeout: '2s' },
          { prefix: 'auth', url: fake.url, tagTtl: '1s', timeout: '2s', username, passwordFile },
          { prefix: 'hub', url: fake.url, tagTtl: '1s', timeout: '2s', dockerHub: true },
        ],
      },
    });
    client = new OciClient(server.baseUrl);
  });

  afterEach(() => {
    fake.clearFaults();
    fake.setRedirectBlobs(false);
    fake.setUnknownRepositoryAnswer('notFound');

    // Fails only the test during which Wharf stopped, because every later test fails to connect anyway.
    const exited = server.process.exitCode !== null || server.process.signalCode !== null;

    if (exited && !exitReported) {
      exitReported = true;
      assert.fail(`Wharf exited (code ${server.process.exitCode}, signal ${server.process.signalCode})`);
    }
  });

  after(async () => {
    await server?.dispose();
    await fake?.close();

    if (secretsDirectory !== undefined) {
      await rm(secretsDirectory, { recursive: true, force: true });
    }
  });

  /** Sends a request to Wharf and fails with the method and path when no response arrives in time. */
  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(client.url(path), {
        ...init,
        signal: init.signal ?? AbortSignal.timeout(answerBoundMs),
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        const message = `${init.method ?? 'GET'} ${path}: Wharf sent no response within ${answerBoundMs} ms`;

        throw new Error(message, { cause: error });
      }

      throw error;
    }
  }

  /** Sends a GET and reads the body, keeping the error when the body ends early. */
  async function getOutcome(path: string, headers: Record<string, string> = {}): Promise<Outcome> {
    return readOutcome(await send(path, { headers }));
  }

  function getManifest(path: string): Promise<Response> {
    return send(path, { headers: { accept: manifestAccept } });
  }

  function readManifest(path: string): Promise<Outcome> {
    return getOutcome(path, { accept: manifestAccept });
  }

  /**
   * GETs `path` until Wharf returns 200, at most 20 times and for at most 10 s, because a cache fill
   * may still be committing when the upstream transfer ends. Returns the last outcome.
   */
  async function getUntilOk(path: string, headers: Record<string, string> = {}): Promise<Outcome> {
    const deadline = Date.now() + 10_000;
    let outcome = await getOutcome(path, headers);
    let attempts = 1;

    while (outcome.response.status !== 200 && attempts < 20 && Date.now() < deadline) {
      await delay(250);
      outcome = await getOutcome(path, headers);
      attempts += 1;
    }

    return outcome;
  }

  function wharfBlobPath(prefix: string, repository: string, blob: Content): string {
    return `/v2/${prefix}/${repository}/blobs/${blob.digest}`;
  }

  function wharfManifestPath(prefix: string, repository: string, reference: string): string {
    return `/v2/${prefix}/${repository}/manifests/${reference}`;
  }

  /** Counts the upstream GETs of `path` that the fake served without a fault. */
  function cleanGets(path: string): number {
    return fake.requests.filter(
      (request) => request.method === 'GET' && request.path === path && request.fault === undefined,
    ).length;
  }

  function addBlobRepository(repository: string, blob: Content): void {
    fake.addManifest(repository, createImage({ layers: [blob] }).manifest, 'v1');
    fake.addBlob(repository, blob);
  }

  describe('shared transfers', () => {
    it('cold blob: 20 GETs, one upstream GET', async () => {
      const repository = 'shared/blob';
      const blob = createRandomBlob(4 * 1024 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);

      addBlobRepository(repository, blob);
      fake.setFault(upstreamPath, { kind: 'slow', delayMs: 25, chunkSize: 128 * 1024 });

      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => getOutcome(wharfBlobPath('fake', repository, blob))),
      );

      for (const [index, outcome] of outcomes.entries()) {
        assert.equal(outcome.response.status, 200, `client ${index}: ${describeOutcome(outcome)}`);
        assert.equal(
          outcome.error,
          undefined,
          `client ${index} body failed: ${describeError(outcome.error)}`,
        );
        assert.equal(outcome.bytes.length, blob.size, `client ${index} got ${outcome.bytes.length} bytes`);
        assert.ok(digestMatches(blob.digest, outcome.bytes), `client ${index} got bytes with another digest`);
      }

      assert.equal(fake.count({ method: 'GET', path: upstreamPath }), 1);
    });

    it('cold tag: concurrent GETs, one upstream request', async () => {
      const repository = 'shared/tag';
      const image = createImage();

      fake.addImage(repository, 'v1', image);
      fake.setFault(fake.manifestPath(repository, 'v1'), { kind: 'slow', delayMs: 50, chunkSize: 64 });

      const responses = await Promise.all(
        Array.from({ length: 10 }, () => getManifest(wharfManifestPath('fake', repository, 'v1'))),
      );

      for (const [index, response] of responses.entries()) {
        const body = Buffer.from(await response.arrayBuffer());

        assert.equal(
          response.status,
          200,
          `client ${index} got status ${response.status}: ${body.toString()}`,
        );
        assert.deepEqual(body, image.manifest.bytes, `client ${index} got other manifest bytes`);
        assert.equal(response.headers.get('docker-content-digest'), image.manifest.digest);
      }

      assert.equal(fake.count({ pathPrefix: `/v2/${repository}/manifests/` }), 1);
    });
  });

  describe('broken blob transfers', () => {
    it('truncated blob is not served or committed', async () => {
      const repository = 'broken/truncated';
      const blob = createRandomBlob(1024 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);
      const path = wharfBlobPath('fake', repository, blob);

      addBlobRepository(repository, blob);
      fake.setFault(upstreamPath, { kind: 'truncate', bytes: 900 * 1024 });

      const broken = await getOutcome(path);

      assert.equal(servedAsComplete(broken, blob), false, describeOutcome(broken));
      assert.equal(isClientTimeout(broken.error), false, 'Wharf kept the response open');

      await fake.waitUntilIdle(repository);
      fake.clearFault(upstreamPath);

      const repaired = await getOutcome(path);

      assert.equal(repaired.response.status, 200, describeOutcome(repaired));
      assert.equal(repaired.error, undefined, `body failed: ${describeError(repaired.error)}`);
      assert.ok(
        digestMatches(blob.digest, repaired.bytes),
        'the repeat GET returned bytes with another digest',
      );
      assert.ok(
        cleanGets(upstreamPath) >= 1,
        'the repeat GET did not fetch the blob from the upstream again',
      );
    });

    for (const truncatedAt of [1000, 128 * 1024]) {
      it(`truncation at ${truncatedAt} bytes fails cleanly`, async () => {
        const repository = `broken/early-${truncatedAt}`;
        const blob = createRandomBlob(1024 * 1024);
        const upstreamPath = fake.blobPath(repository, blob.digest);
        const path = wharfBlobPath('fake', repository, blob);

        addBlobRepository(repository, blob);
        fake.setFault(upstreamPath, { kind: 'truncate', bytes: truncatedAt });

        const broken = await getOutcome(path);

        assert.equal(servedAsComplete(broken, blob), false, describeOutcome(broken));
        assert.equal(isClientTimeout(broken.error), false, 'Wharf kept the response open');

        if (broken.response.status !== 200) {
          assert.ok(
            [502, 503, 504].includes(broken.response.status),
            `expected 200 and a cut body, or 502, 503 or 504: ${describeOutcome(broken)}`,
          );
          assertOciErrorBody(broken.bytes.toString('utf8'), []);
        }

        await fake.waitUntilIdle(repository);
        fake.clearFault(upstreamPath);

        const repaired = await getOutcome(path);

        assert.equal(repaired.response.status, 200, describeOutcome(repaired));
        assert.ok(
          digestMatches(blob.digest, repaired.bytes),
          'the repeat GET returned bytes with another digest',
        );
      });
    }

    it('corrupt blob is not served or committed', async () => {
      const repository = 'broken/corrupt';
      const blob = createRandomBlob(1024 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);
      const path = wharfBlobPath('fake', repository, blob);

      addBlobRepository(repository, blob);
      fake.setFault(upstreamPath, { kind: 'corrupt' });

      const broken = await getOutcome(path);

      assert.equal(servedAsComplete(broken, blob), false, describeOutcome(broken));
      assert.equal(isClientTimeout(broken.error), false, 'Wharf kept the response open');

      await fake.waitUntilIdle(repository);
      fake.clearFault(upstreamPath);

      const repaired = await getOutcome(path);

      assert.equal(repaired.response.status, 200, describeOutcome(repaired));
      assert.equal(repaired.error, undefined, `body failed: ${describeError(repaired.error)}`);
      assert.ok(
        digestMatches(blob.digest, repaired.bytes),
        'the repeat GET returned bytes with another digest',
      );
      assert.ok(
        cleanGets(upstreamPath) >= 1,
        'the repeat GET did not fetch the blob from the upstream again',
      );
    });

    it('stalled blob body ends the response', async () => {
      const repository = 'broken/stalled';
      const blob = createRandomBlob(512 * 1024);

      addBlobRepository(repository, blob);
      fake.setFault(fake.blobPath(repository, blob.digest), { kind: 'hang', stage: 'body' });

      const outcome = await getOutcome(wharfBlobPath('fake', repository, blob));

      assert.equal(servedAsComplete(outcome, blob), false, describeOutcome(outcome));
      assert.notEqual(outcome.response.status, 404, describeOutcome(outcome));
      assert.equal(isClientTimeout(outcome.error), false, 'Wharf kept the response open');
    });

    it('client disconnect keeps the cache fill', async () => {
      const repository = 'broken/disconnect';
      const blob = createRandomBlob(4 * 1024 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);
      const path = wharfBlobPath('fake', repository, blob);

      addBlobRepository(repository, blob);
      fake.setFault(upstreamPath, { kind: 'slow', delayMs: 25, chunkSize: 128 * 1024 });

      const controller = new AbortController();
      const response = await send(path, { signal: controller.signal });

      assert.equal(response.status, 200, `the first GET returned ${response.status}`);
      assert.ok(response.body !== null, 'the response has no body');

      const reader = response.body.getReader();
      const first = await reader.read();

      assert.equal(first.done, false, 'the body ended before its first chunk');
      controller.abort();
      await reader.cancel().catch(() => undefined);

      await fake.waitUntilIdle(repository);
      assert.equal(
        fake.count({ method: 'GET', path: upstreamPath, completed: true }),
        1,
        'the upstream transfer stopped when the client disconnected',
      );

      fake.setFault(upstreamPath, { kind: 'status', status: 503 });

      const cached = await getUntilOk(path);

      assert.equal(cached.response.status, 200, describeOutcome(cached));
      assert.ok(digestMatches(blob.digest, cached.bytes), 'the cached blob has another digest');
      assert.equal(fake.count({ method: 'GET', path: upstreamPath, status: 200, completed: true }), 1);
    });

    it('ranged first GET leaves no partial blob', async () => {
      const repository = 'broken/ranged';
      const blob = createRandomBlob(256 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);
      const path = wharfBlobPath('fake', repository, blob);

      addBlobRepository(repository, blob);

      const ranged = await getOutcome(path, { range: 'bytes=10-99' });

      assert.equal(ranged.response.status, 206, describeOutcome(ranged));
      assert.equal(ranged.response.headers.get('content-range'), `bytes 10-99/${blob.size}`);
      assert.deepEqual(ranged.bytes, blob.bytes.subarray(10, 100));

      await fake.waitUntilIdle(repository);

      const upstreamGetsBefore = fake.count({ method: 'GET', path: upstreamPath });
      const full = await getOutcome(path);

      assert.equal(full.response.status, 200, describeOutcome(full));
      assert.equal(full.bytes.length, blob.size);
      assert.ok(digestMatches(blob.digest, full.bytes), 'the full GET returned bytes with another digest');
      assert.ok(
        fake.count({ method: 'GET', path: upstreamPath }) - upstreamGetsBefore <= 1,
        'the full GET made more than one upstream GET',
      );
    });

    it('chunked upstream blob is served and cached', async () => {
      const repository = 'broken/chunked';
      const blob = createRandomBlob(512 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);
      const path = wharfBlobPath('fake', repository, blob);

      addBlobRepository(repository, blob);
      fake.setFault(upstreamPath, { kind: 'noContentLength' });

      const first = await getOutcome(path);

      assert.equal(first.response.status, 200, describeOutcome(first));
      assert.equal(first.error, undefined, `body failed: ${describeError(first.error)}`);
      assert.ok(digestMatches(blob.digest, first.bytes), 'the first GET returned bytes with another digest');

      await fake.waitUntilIdle(repository);
      fake.setFault(upstreamPath, { kind: 'status', status: 503 });

      const cached = await getUntilOk(path);

      assert.equal(cached.response.status, 200, describeOutcome(cached));
      assert.ok(digestMatches(blob.digest, cached.bytes), 'the cached blob has another digest');
      assert.equal(fake.count({ method: 'GET', path: upstreamPath, status: 200 }), 1);
    });
  });

  describe('upstream errors', () => {
    it('upstream 429 returns 429 with Retry-After', async () => {
      const repository = 'errors/limited';
      const upstreamPath = fake.manifestPath(repository, 'v1');

      fake.addImage(repository, 'v1', createImage());
      fake.setFault(upstreamPath, { kind: 'status', status: 429, retryAfter: 30 });

      const response = await getManifest(wharfManifestPath('fake', repository, 'v1'));
      const retryAfter = response.headers.get('retry-after');

      await assertOciError(response, 429, 'TOOMANYREQUESTS');
      assert.ok(retryAfter !== null, 'the 429 has no Retry-After header');
      assert.ok(fake.count({ path: upstreamPath }) >= 1, 'the upstream was never asked');
    });

    it('upstream 503 returns a 5xx OCI error', async () => {
      const repository = 'errors/unavailable';
      const upstreamPath = fake.manifestPath(repository, 'v1');

      fake.addImage(repository, 'v1', createImage());
      fake.setFault(upstreamPath, { kind: 'status', status: 503 });

      const response = await getManifest(wharfManifestPath('fake', repository, 'v1'));
      const text = await response.text();

      assert.ok(
        [502, 503, 504].includes(response.status),
        `expected 502, 503 or 504, got ${response.status}: ${text}`,
      );
      assertOciErrorBody(text, []);
      assert.ok(fake.count({ path: upstreamPath }) >= 1, 'the upstream was never asked');
    });

    it('upstream hang returns 504', async () => {
      const repository = 'errors/hung';
      const upstreamPath = fake.manifestPath(repository, 'v1');

      fake.addImage(repository, 'v1', createImage());
      fake.setFault(upstreamPath, { kind: 'hang', stage: 'headers' });

      const response = await getManifest(wharfManifestPath('fake', repository, 'v1'));

      await assertOciError(response, 504, []);
    });

    it('cached content served while upstream fails', async () => {
      const repository = 'errors/cached';
      const image = createImage();
      const layer = image.layers[0];
      const digestPath = fake.manifestPath(repository, image.manifest.digest);

      fake.addImage(repository, 'v1', image);

      const warm = await readManifest(wharfManifestPath('fake', repository, 'v1'));

      assert.equal(warm.response.status, 200, describeOutcome(warm));

      const warmLayer = await getOutcome(wharfBlobPath('fake', repository, layer));

      assert.equal(warmLayer.response.status, 200, describeOutcome(warmLayer));
      await fake.waitUntilIdle(repository);

      for (const path of [
        fake.manifestPath(repository, 'v1'),
        digestPath,
        fake.blobPath(repository, layer.digest),
      ]) {
        fake.setFault(path, { kind: 'status', status: 503 });
      }

      const digestRequestsBefore = fake.count({ path: digestPath });
      const byDigest = await readManifest(wharfManifestPath('fake', repository, image.manifest.digest));

      assert.equal(byDigest.response.status, 200, describeOutcome(byDigest));
      assert.deepEqual(byDigest.bytes, image.manifest.bytes);
      assert.equal(
        fake.count({ path: digestPath }),
        digestRequestsBefore,
        'a cached digest reached the upstream',
      );

      const cachedLayer = await getUntilOk(wharfBlobPath('fake', repository, layer));

      assert.equal(cachedLayer.response.status, 200, describeOutcome(cachedLayer));
      assert.ok(digestMatches(layer.digest, cachedLayer.bytes), 'the cached layer has another digest');

      const byTag = await readManifest(wharfManifestPath('fake', repository, 'v1'));

      assert.equal(byTag.response.status, 200, describeOutcome(byTag));
      assert.equal(byTag.response.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('stale tag gets Warning 299', async () => {
      const repository = 'errors/stale';
      const image = createImage();
      const tagPath = fake.manifestPath(repository, 'v1');

      fake.addImage(repository, 'v1', image);

      const warm = await readManifest(wharfManifestPath('fake', repository, 'v1'));

      assert.equal(warm.response.status, 200, describeOutcome(warm));

      fake.setFault(tagPath, { kind: 'status', status: 503 });
      await delay(tagTtlMs + 500);

      const tagRequestsBefore = fake.count({ path: tagPath });
      const stale = await readManifest(wharfManifestPath('fake', repository, 'v1'));

      assert.equal(stale.response.status, 200, describeOutcome(stale));
      assert.deepEqual(stale.bytes, image.manifest.bytes);
      assert.match(stale.response.headers.get('warning') ?? '', /^299 /);
      assert.ok(
        fake.count({ path: tagPath }) > tagRequestsBefore,
        'the stale tag was not revalidated upstream',
      );
    });

    it('upstream 404 repository returns 404, cached', async () => {
      const upstreamPath = fake.manifestPath('errors/ghost', 'v1');
      const path = wharfManifestPath('fake', 'errors/ghost', 'v1');

      await assertOciError(await getManifest(path), 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);

      const upstreamRequests = fake.count({ path: upstreamPath });

      assert.ok(upstreamRequests >= 1, 'the upstream was never asked');

      await assertOciError(await getManifest(path), 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
      assert.equal(fake.count({ path: upstreamPath }), upstreamRequests, 'the repeat reached the upstream');
    });

    it('upstream 404 tag returns MANIFEST_UNKNOWN, cached', async () => {
      const repository = 'errors/notag';
      const upstreamPath = fake.manifestPath(repository, 'missing');
      const path = wharfManifestPath('fake', repository, 'missing');

      fake.addImage(repository, 'v1', createImage());

      await assertOciError(await getManifest(path), 404, 'MANIFEST_UNKNOWN');

      const upstreamRequests = fake.count({ path: upstreamPath });

      assert.ok(upstreamRequests >= 1, 'the upstream was never asked');

      await assertOciError(await getManifest(path), 404, 'MANIFEST_UNKNOWN');
      assert.equal(fake.count({ path: upstreamPath }), upstreamRequests, 'the repeat reached the upstream');
    });

    it('Docker Hub 401 returns 404, cached', async () => {
      const upstreamPath = fake.manifestPath('errors/hubghost', 'v1');
      const path = wharfManifestPath('hub', 'errors/hubghost', 'v1');

      fake.setUnknownRepositoryAnswer('unauthorized');

      await assertOciError(await getManifest(path), 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);

      const upstreamRequests = fake.count({ path: upstreamPath });

      assert.ok(upstreamRequests >= 1, 'the upstream was never asked');

      await assertOciError(await getManifest(path), 404, ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']);
      assert.equal(fake.count({ path: upstreamPath }), upstreamRequests, 'the repeat reached the upstream');
    });
  });

  describe('upstream auth', () => {
    it('Bearer token fetched once per scope', async () => {
      const repository = 'auth/sealed';
      const image = createImage();
      const scope = `repository:${repository}:pull`;

      fake.addImage(repository, 'v1', image);
      fake.requireBearer(repository);

      const manifest = await readManifest(wharfManifestPath('fake', repository, 'v1'));

      assert.equal(manifest.response.status, 200, describeOutcome(manifest));

      for (const blob of [image.config, ...image.layers]) {
        const outcome = await getOutcome(wharfBlobPath('fake', repository, blob));

        assert.equal(outcome.response.status, 200, `GET blob ${blob.digest}: ${describeOutcome(outcome)}`);
        assert.ok(digestMatches(blob.digest, outcome.bytes), `blob ${blob.digest} has other bytes`);
      }

      const tokenRequests = fake.tokenRequests.filter((request) => request.scopes.includes(scope));

      assert.equal(tokenRequests.length, 1);
      assert.ok(
        fake.requests
          .filter((request) => request.path.startsWith(`/v2/${repository}/blobs/`))
          .every((request) => request.hasAuthorization),
        'a blob request went upstream without the token',
      );
    });

    it('configured credentials go to the token endpoint', async () => {
      const repository = 'auth/private';
      const image = createImage();
      const scope = `repository:${repository}:pull`;

      fake.addImage(repository, 'v1', image);
      fake.requireBearer(repository, { username, password });

      const outcome = await readManifest(wharfManifestPath('auth', repository, 'v1'));

      assert.equal(outcome.response.status, 200, describeOutcome(outcome));
      assert.deepEqual(outcome.bytes, image.manifest.bytes);

      const tokenRequests = fake.tokenRequests.filter((request) => request.scopes.includes(scope));

      assert.ok(tokenRequests.length >= 1, 'no token was requested');
      assert.ok(
        tokenRequests.every((request) => request.basicUsername === username),
        `a token request had no Basic auth for ${username}`,
      );
    });

    it('blob redirect drops Authorization', async () => {
      const repository = 'auth/redirected';
      const image = createImage();
      const layer = image.layers[0];

      fake.addImage(repository, 'v1', image);
      fake.requireBearer(repository);
      fake.setRedirectBlobs(true);

      const outcome = await getOutcome(wharfBlobPath('fake', repository, layer));

      assert.equal(outcome.response.status, 200, describeOutcome(outcome));
      assert.ok(digestMatches(layer.digest, outcome.bytes), 'the redirected blob has other bytes');

      const redirected = fake.redirectRequests.filter((request) => request.path.endsWith(layer.digest));

      assert.ok(redirected.length >= 1, 'the redirect was not followed');
      assert.ok(
        redirected.every((request) => !request.hasAuthorization),
        'Authorization was sent to the redirect target',
      );
      assert.ok(
        fake.requests.some(
          (request) => request.path === fake.blobPath(repository, layer.digest) && request.hasAuthorization,
        ),
        'the blob GET to the registry carried no token',
      );
    });
  });

  describe('pushes into a prefix', () => {
    it('blob upload rejected without upstream traffic', async () => {
      const requestsBefore = fake.requests.length + fake.tokenRequests.length;
      const blob = createBlob('pushed into a prefix');

      const started = await send('/v2/fake/pushed/app/blobs/uploads/', { method: 'POST' });
      const startedErrors = await assertClientError(started);

      assert.ok(
        ['DENIED', 'UNSUPPORTED'].includes(startedErrors[0]?.code ?? ''),
        `POST upload returned ${startedErrors[0]?.code}`,
      );

      const monolithic = await send(`/v2/fake/pushed/app/blobs/uploads/?digest=${blob.digest}`, {
        method: 'POST',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });
      const monolithicErrors = await assertClientError(monolithic);

      assert.ok(
        ['DENIED', 'UNSUPPORTED'].includes(monolithicErrors[0]?.code ?? ''),
        `POST upload with digest returned ${monolithicErrors[0]?.code}`,
      );
      assert.equal(fake.requests.length + fake.tokenRequests.length, requestsBefore);
    });

    it('manifest PUT rejected without upstream traffic', async () => {
      const requestsBefore = fake.requests.length + fake.tokenRequests.length;
      const image = createImage();

      const response = await send(wharfManifestPath('fake', 'pushed/app', 'v1'), {
        method: 'PUT',
        headers: { 'content-type': image.manifest.mediaType },
        body: image.manifest.bytes,
      });
      const errors = await assertClientError(response);

      assert.ok(
        ['DENIED', 'UNSUPPORTED'].includes(errors[0]?.code ?? ''),
        `PUT manifest returned ${errors[0]?.code}`,
      );
      assert.equal(fake.requests.length + fake.tokenRequests.length, requestsBefore);
    });
  });

  describe('shutdown during a cache fill', () => {
    /** Lists the upload directories left in a Wharf data directory. */
    async function leftUploads(rootDirectory: string): Promise<string[]> {
      const entries = await readdir(join(rootDirectory, 'uploads')).catch(() => []);

      return entries.filter((entry) => !entry.startsWith('.'));
    }

    /**
     * Starts a second Wharf in front of the fake and a cold GET of a new 4 MiB blob, which the fake sends
     * with `fault`. Reads the first chunk, disconnects, sends SIGTERM and waits for the exit code.
     */
    async function shutDownDuringFill(
      repository: string,
      fault: Fault,
      shutdownGracePeriod: string,
    ): Promise<{ wharf: WharfServer; exitCode: number | null; blob: Content; upstreamPath: string }> {
      const blob = createRandomBlob(4 * 1024 * 1024);
      const upstreamPath = fake.blobPath(repository, blob.digest);

      addBlobRepository(repository, blob);
      fake.setFault(upstreamPath, fault);

      const wharf = await startWharf({
        config: {
          http: { address: '127.0.0.1', port: 0, shutdownGracePeriod },
          upstreams: [{ prefix: 'fake', url: fake.url, tagTtl: '1s', timeout: '2s' }],
        },
      });
      const controller = new AbortController();
      const response = await fetch(`${wharf.baseUrl}${wharfBlobPath('fake', repository, blob)}`, {
        signal: controller.signal,
      });

      assert.equal(response.status, 200, `the first GET returned ${response.status}`);
      assert.ok(response.body !== null, 'the response has no body');

      const reader = response.body.getReader();

      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => undefined);

      const exited = once(wharf.process, 'exit');

      wharf.process.kill('SIGTERM');

      const [exitCode] = (await exited) as [number | null];

      return { wharf, exitCode, blob, upstreamPath };
    }

    function logCount(wharf: WharfServer, message: string): number {
      return wharf.logRecords().filter((record) => record.msg === message).length;
    }

    it('SIGTERM stores a fill whose client left', { timeout: 60_000 }, async () => {
      const repository = 'shutdown/stored';
      // 32 chunks 25 ms apart: the copy is still running when SIGTERM arrives.
      const { wharf, exitCode, blob, upstreamPath } = await shutDownDuringFill(
        repository,
        { kind: 'slow', delayMs: 25, chunkSize: 128 * 1024 },
        '10s',
      );
      let restarted: WharfServer | undefined;

      try {
        assert.equal(exitCode, 0);
        assert.equal(logCount(wharf, 'waiting for upstream blob transfers to finish'), 1);
        assert.deepEqual(await leftUploads(wharf.rootDirectory), []);
        assert.equal(fake.count({ method: 'GET', path: upstreamPath, completed: true }), 1);

        fake.setFault(upstreamPath, { kind: 'status', status: 503 });
        restarted = await startWharf({
          rootDirectory: wharf.rootDirectory,
          config: { upstreams: [{ prefix: 'fake', url: fake.url, tagTtl: '1s', timeout: '2s' }] },
        });

        const cached = await fetch(`${restarted.baseUrl}${wharfBlobPath('fake', repository, blob)}`, {
          signal: AbortSignal.timeout(answerBoundMs),
        });
        const bytes = Buffer.from(await cached.arrayBuffer());

        assert.equal(cached.status, 200);
        assert.ok(digestMatches(blob.digest, bytes), 'the stored blob has another digest');
        assert.equal(fake.count({ method: 'GET', path: upstreamPath }), 1);
      } finally {
        await (restarted ?? wharf).dispose();
      }
    });

    it('SIGTERM discards a fill after the grace period', { timeout: 60_000 }, async () => {
      // 64 chunks 100 ms apart take more than 6 s, far beyond the grace period of 1 s.
      const { wharf, exitCode } = await shutDownDuringFill(
        'shutdown/discarded',
        { kind: 'slow', delayMs: 100, chunkSize: 64 * 1024 },
        '1s',
      );

      try {
        assert.equal(exitCode, 0);
        assert.equal(
          logCount(wharf, 'grace period over; stopping the upstream blob transfers still running'),
          1,
        );
        assert.deepEqual(await leftUploads(wharf.rootDirectory), []);
        assert.deepEqual(await readdir(join(wharf.rootDirectory, 'blobs')).catch(() => []), []);
      } finally {
        await wharf.dispose();
      }
    });
  });

  describe('counts of failed fills', () => {
    let metricsWharf: WharfServer;
    let metricsUrl: string;

    before(async () => {
      metricsWharf = await startWharf({
        config: {
          metrics: { enabled: true, port: await freePort() },
          upstreams: [{ prefix: 'fake', url: fake.url, tagTtl: '1s', timeout: '1s' }],
        },
      });

      const [record] = await metricsWharf.waitForLog((entry) => entry.msg === 'metrics listening');

      assert.ok(record, `no "metrics listening" log line:\n${metricsWharf.output()}`);
      metricsUrl = String(record.url);
    });

    after(async () => {
      await metricsWharf?.dispose();
    });

    /** Returns the value of one series of the metrics page, 0 when it is absent. */
    async function metricValue(series: string): Promise<number> {
      const page = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(answerBoundMs) })).text();
      const line = page.split('\n').find((candidate) => candidate.startsWith(`${series} `));

      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    }

    /** Starts two GETs of a cold blob through the second Wharf and reads both to their end. */
    async function twoClients(repository: string, blob: Content): Promise<Outcome[]> {
      const url = `${metricsWharf.baseUrl}${wharfBlobPath('fake', repository, blob)}`;

      const read = async (): Promise<Outcome> =>
        readOutcome(await fetch(url, { signal: AbortSignal.timeout(answerBoundMs) }));

      return Promise.all([read(), read()]);
    }

    it('stalled fill: timeout, no hits', async () => {
      const repository = 'counts/stalled';
      const blob = createRandomBlob(512 * 1024);

      addBlobRepository(repository, blob);
      fake.setFault(fake.blobPath(repository, blob.digest), { kind: 'hang', stage: 'body' });

      const hitsBefore = await metricValue('wharf_cache_hits_total{upstream="fake"}');
      const outcomes = await twoClients(repository, blob);

      for (const outcome of outcomes) {
        assert.equal(servedAsComplete(outcome, blob), false, describeOutcome(outcome));
      }

      await metricsWharf.waitForLog((record) => record.msg === 'failed to cache upstream blob');

      assert.equal(await metricValue('wharf_cache_hits_total{upstream="fake"}'), hitsBefore);
      assert.equal(await metricValue('wharf_upstream_errors_total{upstream="fake",kind="timeout"}'), 1);
    });

    it('corrupt fill: invalid response', async () => {
      const repository = 'counts/corrupt';
      const blob = createRandomBlob(512 * 1024);

      addBlobRepository(repository, blob);
      fake.setFault(fake.blobPath(repository, blob.digest), { kind: 'corrupt' });

      const outcomes = await twoClients(repository, blob);

      for (const outcome of outcomes) {
        assert.equal(servedAsComplete(outcome, blob), false, describeOutcome(outcome));
      }

      const series = 'wharf_upstream_errors_total{upstream="fake",kind="invalid-response"}';

      await metricsWharf.waitForLog(
        (record) => record.msg === 'failed to cache upstream blob' && String(record.digest) === blob.digest,
      );

      assert.equal(await metricValue(series), 1);
    });
  });
});

/** Returns whether a client would take the response as the whole blob: 200, every byte, no error. */
function servedAsComplete(outcome: Outcome, blob: Content): boolean {
  return outcome.response.status === 200 && outcome.error === undefined && outcome.bytes.length === blob.size;
}

/** Returns whether the test's own time limit, rather than Wharf, ended the response. */
function isClientTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'TimeoutError';
}

/** Reads a response's body, keeping the error when the body ends early. */
async function readOutcome(response: Response): Promise<Outcome> {
  const chunks: Buffer[] = [];
  let error: unknown;

  try {
    for await (const chunk of response.body ?? []) {
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
  } catch (caught) {
    error = caught;
  }

  return { response, bytes: Buffer.concat(chunks), error };
}

function describeOutcome(outcome: Outcome): string {
  const contentType = outcome.response.headers.get('content-type') ?? '';

  if (contentType.includes('json') && outcome.bytes.length <= 2048) {
    return `status ${outcome.response.status}: ${outcome.bytes.toString('utf8')}`;
  }

  return `status ${outcome.response.status}, ${outcome.bytes.length} bytes, body error: ${describeError(outcome.error)}`;
}

/** Describes a body read error with its cause, which is where undici puts the socket error. */
function describeError(error: unknown): string {
  if (error === undefined) {
    return 'none';
  }

  return error instanceof Error ? `${error.message} (cause: ${inspect(error.cause)})` : inspect(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
