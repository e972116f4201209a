/**
 * The probe endpoints and the shutdown sequence of a real `wharf serve` process: readiness fails and
 * new uploads are rejected at once on SIGTERM, while an upload in flight finishes, then the process
 * exits 0.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, rm, stat } from 'node:fs/promises';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** Maximum wait for any one response, so that a hang fails the test instead of stalling the run. */
const responseTimeoutMs = 10_000;

interface HealthBody {
  status: string;
  info: Record<string, { status: string }>;
  error: Record<string, { status: string; message?: string }>;
}

async function probe(
  wharf: WharfServer,
  path: string,
): Promise<{ status: number; body: HealthBody; response: Response }> {
  const response = await fetch(`${wharf.baseUrl}${path}`, { signal: AbortSignal.timeout(responseTimeoutMs) });

  return { status: response.status, body: (await response.json()) as HealthBody, response };
}

function startUpload(wharf: WharfServer, repository: string): Promise<Response> {
  return fetch(`${wharf.baseUrl}/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    signal: AbortSignal.timeout(responseTimeoutMs),
  });
}

/** A PATCH whose body is written chunk by chunk while the test watches, as a slow client sends it. */
interface TricklingPatch {
  request: ClientRequest;
  response: Promise<IncomingMessage>;
  write(chunk: Buffer): Promise<void>;
}

function startTricklingPatch(url: URL): TricklingPatch {
  const outgoing = request(url, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  const response = once(outgoing, 'response').then(([incoming]) => incoming as IncomingMessage);

  // Without a listener, a socket error after the test is done would crash the runner.
  outgoing.on('error', () => undefined);

  return {
    request: outgoing,
    response,
    write: (chunk) =>
      new Promise((resolve, reject) => outgoing.write(chunk, (error) => (error ? reject(error) : resolve()))),
  };
}

/** Waits until the upload's data file contains `size` bytes, polling for up to 5 s. */
async function waitForUploadSize(wharf: WharfServer, uploadId: string, size: number): Promise<void> {
  const path = join(wharf.rootDirectory, 'uploads', uploadId, 'data');

  for (let attempt = 0; attempt < 50; attempt++) {
    const current = await stat(path).then(
      (stats) => stats.size,
      () => 0,
    );

    if (current >= size) {
      return;
    }

    await sleep(100);
  }

  assert.fail(`upload ${uploadId} did not reach ${size} bytes`);
}

async function readBody(incoming: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];

  for await (const chunk of incoming) {
    chunks.push(chunk as Buffer);
  }

  return Buffer.concat(chunks).toString('utf8');
}

describe('health probes', () => {
  let wharf: WharfServer;

  before(async () => {
    wharf = await startWharf();
  });

  after(async () => {
    await wharf.dispose();
  });

  it('livez is up', async () => {
    const { status, body } = await probe(wharf, '/livez');

    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(body.info.process.status, 'up');
  });

  it('readyz checks database, storage and disk', async () => {
    const { status, body } = await probe(wharf, '/readyz');

    assert.equal(status, 200);
    assert.equal(body.status, 'ok');

    for (const check of ['shutdown', 'database', 'storage', 'disk']) {
      assert.equal(body.info[check]?.status, 'up', `${check} is not up`);
    }
  });

  it('startupz checks migrations and listening', async () => {
    const { status, body } = await probe(wharf, '/startupz');

    assert.equal(status, 200);
    assert.equal(body.info.migrations.status, 'up');
    assert.equal(body.info.listening.status, 'up');
  });

  it('probes are not cached', async () => {
    const { response } = await probe(wharf, '/readyz');

    assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  });

  it('readyz is 503 naming storage while it cannot be written', async () => {
    // Permission bits do not stop root, which CI runs as, so a directory takes the probe file's place
    // and makes every write to it fail, as a read-only or broken volume would.
    const probePath = join(wharf.rootDirectory, 'uploads', '.readiness-probe');

    await mkdir(probePath, { recursive: true });

    const failing = await probe(wharf, '/readyz');

    await rm(probePath, { recursive: true });

    const recovered = await probe(wharf, '/readyz');

    assert.equal(failing.status, 503);
    assert.equal(failing.body.error?.storage?.status, 'down');
    assert.equal(recovered.status, 200);
  });

  it('readiness probe leaves no file', async () => {
    await probe(wharf, '/readyz');

    await assert.rejects(stat(join(wharf.rootDirectory, 'uploads', '.readiness-probe')), { code: 'ENOENT' });
  });
});

describe('health probes with auth', () => {
  let wharf: WharfServer;

  before(async () => {
    wharf = await startWharf({
      config: {
        auth: { htpasswd: { path: '/nonexistent/wharf-health-test/htpasswd' } },
        access: { anonymous: { networks: [] }, repositories: { '**': { authenticated: ['read'] } } },
      },
    });
  });

  after(async () => {
    await wharf.dispose();
  });

  for (const path of ['/livez', '/readyz', '/startupz']) {
    it(`${path} needs no sign-in`, async () => {
      const { status } = await probe(wharf, path);

      assert.equal(status, 200);
    });
  }
});

describe('readiness below minFreeSpace', () => {
  let wharf: WharfServer;

  before(async () => {
    // No test machine has a million TiB free, so the disk check fails.
    wharf = await startWharf({ env: { WHARF_STORAGE__MIN_FREE_SPACE: '1000000TiB' } });
  });

  after(async () => {
    await wharf.dispose();
  });

  it('readyz is 503 naming disk', async () => {
    const { status, body } = await probe(wharf, '/readyz');

    assert.equal(status, 503);
    assert.equal(body.status, 'error');
    assert.equal(body.error.disk?.status, 'down');
    assert.deepEqual(Object.keys(body.error), ['disk']);
  });

  it('livez stays up', async () => {
    const { status } = await probe(wharf, '/livez');

    assert.equal(status, 200);
  });

  it('not ready is logged once', async () => {
    await probe(wharf, '/readyz');
    await probe(wharf, '/readyz');

    // The access lines come after the readiness log lines, so once all are read, none is missing.
    const readinessProbes = (record: Record<string, unknown>) =>
      record.msg === 'request completed' && record.url === '/readyz';

    for (let attempt = 0; attempt < 50 && wharf.logRecords().filter(readinessProbes).length < 3; attempt++) {
      await sleep(100);
    }

    const records = wharf.logRecords().filter((record) => record.msg === 'not ready');

    assert.ok(wharf.logRecords().filter(readinessProbes).length >= 3);
    assert.equal(records.length, 1);
    assert.ok((records[0].failedChecks as Record<string, unknown>).disk);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM lets an upload finish and exits 0', { timeout: 60_000 }, async () => {
    const wharf = await startWharf();
    const exited = once(wharf.process, 'exit');

    try {
      const started = await startUpload(wharf, 'team/slow');

      assert.equal(started.status, 202);

      const location = new URL(started.headers.get('location') ?? '', wharf.baseUrl);
      const uploadId = location.pathname.split('/').pop() ?? '';
      const chunks = [Buffer.alloc(1024, 1), Buffer.alloc(1024, 2), Buffer.alloc(1024, 3)];
      const patch = startTricklingPatch(location);

      await patch.write(chunks[0]);
      await waitForUploadSize(wharf, uploadId, 1024);

      wharf.process.kill('SIGTERM');

      const shuttingDown = await wharf.waitForLog((record) => record.msg === 'shutting down');

      assert.equal(shuttingDown.length, 1);
      assert.equal(shuttingDown[0].requestsInFlight, 1);

      const readiness = await probe(wharf, '/readyz');

      assert.equal(readiness.status, 503);
      assert.equal(readiness.body.error.shutdown?.status, 'down');

      const liveness = await probe(wharf, '/livez');

      assert.equal(liveness.status, 200);

      const rejected = await startUpload(wharf, 'team/late');
      const rejectedBody = (await rejected.json()) as { errors: { code: string }[] };

      assert.equal(rejected.status, 503);
      assert.equal(rejectedBody.errors[0].code, 'UNAVAILABLE');
      assert.ok(Number(rejected.headers.get('retry-after')) > 0);

      await patch.write(chunks[1]);
      await patch.write(chunks[2]);
      patch.request.end();

      const response = await patch.response;

      await readBody(response);
      assert.equal(response.statusCode, 202);
      assert.equal(response.headers.range, '0-3071');

      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];

      assert.equal(signal, null);
      assert.equal(code, 0);
      assert.equal((await wharf.waitForLog((record) => record.msg === 'shut down')).length, 1);
    } finally {
      await wharf.dispose();
    }
  });

  it('grace period cuts a stalled request and exits 0', { timeout: 60_000 }, async () => {
    const wharf = await startWharf({ env: { WHARF_HTTP__SHUTDOWN_GRACE_PERIOD: '1s' } });
    const exited = once(wharf.process, 'exit');

    try {
      const started = await startUpload(wharf, 'team/stalled');
      const location = new URL(started.headers.get('location') ?? '', wharf.baseUrl);
      const uploadId = location.pathname.split('/').pop() ?? '';
      const patch = startTricklingPatch(location);

      await patch.write(Buffer.alloc(1024, 1));
      await waitForUploadSize(wharf, uploadId, 1024);

      // The body never ends, so only the grace period can end this request.
      wharf.process.kill('SIGTERM');

      await assert.rejects(patch.response, { code: 'ECONNRESET' });

      const [code] = (await exited) as [number | null];

      assert.equal(code, 0);
      assert.equal(
        (
          await wharf.waitForLog(
            (record) => record.msg === 'grace period over; closing the connections still open',
          )
        ).length,
        1,
      );
    } finally {
      await wharf.dispose();
    }
  });
});
