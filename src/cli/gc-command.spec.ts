import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { gcCommand, progressLine, summaryOf } from './gc-command.js';

const startedAt = '2026-12-05T10:00:00.000Z';

type Report = Parameters<typeof summaryOf>[0];

function report(fields: Partial<Report> = {}): Report {
  return {
    state: 'finished',
    startedAt,
    finishedAt: '2026-12-05T10:00:02.500Z',
    error: null,
    dryRun: false,
    phase: null,
    phaseStartedAt: null,
    phaseDone: 0,
    phaseTotal: 0,
    removed: { tags: 1, manifests: 2, links: 3, blobs: 4, files: 0, bytes: 3 * 1024 * 1024 },
    quotas: [],
    deletions: [],
    unlistedDeletions: 0,
    ...fields,
  };
}

/** Collects what a command writes to a stream. */
function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];

  stream.on('data', (chunk: Buffer) => chunks.push(chunk));

  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('gc progress line', () => {
  it('shows the phase, bar and count', () => {
    const line = progressLine(
      report({ state: 'running', phase: 'retention', phaseDone: 50, phaseTotal: 200 }),
      Date.parse(startedAt) + 10_000,
    );

    assert.equal(
      line,
      'retention  [######..................]  25%  50/200 repositories  5.0 repositories/s  30s left',
    );
  });

  it('shows a bare count when the total is unknown', () => {
    const line = progressLine(
      report({
        state: 'running',
        phase: 'files',
        phaseStartedAt: '2026-12-05T10:00:08.000Z',
        phaseDone: 6922,
        phaseTotal: 0,
      }),
      Date.parse(startedAt) + 10_000,
    );

    assert.equal(line, 'files  6922 files  3461 files/s');
  });
});

describe('gc summary', () => {
  it('lists totals, quotas and deletions', () => {
    const summary = summaryOf(
      report({
        quotas: [{ upstream: 'docker', maxSize: 1024, sizeBefore: 4096, sizeAfter: 512, evictedImages: 2 }],
        deletions: [
          {
            kind: 'tag',
            repository: 'team/app',
            tag: 'old',
            digest: 'sha256:aa',
            size: null,
            reason: 'retention',
          },
          {
            kind: 'blob',
            repository: null,
            tag: null,
            digest: 'sha256:bb',
            size: 2048,
            reason: 'unreferenced',
          },
        ],
        unlistedDeletions: 5,
      }),
    );

    assert.equal(
      summary,
      [
        'garbage collection finished in 2.5s: deleted 1 tags, 2 manifests, 3 blob links, 4 blobs and 0 files, 3.0 MiB',
        'cache docker: 4.0 KiB before, 512 B after, quota 1.0 KiB; 2 images evicted',
        'tag       team/app:old  sha256:aa  retention',
        'blob      sha256:bb  2.0 KiB  unreferenced',
        'and 5 more',
        '',
      ].join('\n'),
    );
  });

  it('words a dry run as what would happen', () => {
    const summary = summaryOf(
      report({
        dryRun: true,
        quotas: [{ upstream: 'docker', maxSize: 1024, sizeBefore: 4096, sizeAfter: 512, evictedImages: 2 }],
      }),
    );

    assert.match(summary, /^garbage collection finished \(dry run\) in 2\.5s: would delete 1 tags/);
    assert.match(summary, /; 2 images would be evicted$/m);
  });
});

describe('gc command meeting a run in progress', () => {
  let server: Server;
  let baseUrl: string;
  /** Starts seen by the server, with their query strings. */
  const starts: string[] = [];
  /** The reports the status route returns, one per GET, the last one repeated. */
  let statuses: { running: Report | null; last: Report | null }[] = [];
  /** When set, status requests get their connection closed, as when Wharf stops. */
  let unreachable = false;

  before(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      response.setHeader('content-type', 'application/json');

      if (request.method === 'POST') {
        starts.push(request.url ?? '');

        // The first start meets a dry run someone else started; later ones start.
        response.statusCode = starts.length === 1 ? 409 : 202;
        response.end(JSON.stringify(starts.length === 1 ? { errors: [{ message: 'running' }] } : report()));

        return;
      }

      if (unreachable) {
        request.socket.destroy();

        return;
      }

      const status = statuses.length > 1 ? statuses.shift() : statuses[0];

      response.end(JSON.stringify(status));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.close();
  });

  it('waits for a dry run to end and then starts the real one', async () => {
    const dryRun = report({ dryRun: true, removed: { ...report().removed, tags: 9 } });
    const real = report({ removed: { ...report().removed, tags: 7 } });
    const stdout = capture();
    const stderr = capture();

    statuses = [
      { running: { ...dryRun, state: 'running' }, last: null },
      { running: null, last: dryRun },
      { running: null, last: real },
    ];

    const code = await gcCommand(
      { url: baseUrl, passwordStdin: false, dryRun: false },
      { stdin: new PassThrough(), stdout: stdout.stream, stderr: stderr.stream },
    );

    assert.equal(code, 0);
    assert.deepEqual(starts, ['/api/v1/gc', '/api/v1/gc']);
    assert.match(stderr.text(), /already running; following it/);
    assert.match(stderr.text(), /the garbage collection that ran was a dry run; starting the one requested/);
    assert.match(stdout.text(), /^garbage collection finished in 2\.5s: deleted 7 tags/);
  });

  it('says where to look when Wharf stops during the run', async () => {
    unreachable = true;

    await assert.rejects(
      gcCommand(
        { url: baseUrl, passwordStdin: false, dryRun: false },
        { stdin: new PassThrough(), stdout: capture().stream, stderr: capture().stream },
      ),
      /^CliError: lost contact with Wharf while the garbage collection ran \(.*\); once Wharf is back, GET \/api\/v1\/gc shows how the run ended$/,
    );
  });
});
