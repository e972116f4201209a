import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import {
  importSummary,
  type ImportReportBody,
  statusSummary,
  vulndbImportCommand,
} from './vulndb-command.js';

function report(fields: Partial<ImportReportBody> = {}): ImportReportBody {
  return {
    origin: 'upload by admin',
    startedAt: '2026-12-05T10:00:00.000Z',
    finishedAt: '2026-12-05T10:00:01.000Z',
    records: 3,
    added: 1,
    updated: 1,
    unchanged: 0,
    skipped: 1,
    warnings: ['line 2: the record has no "id"'],
    moreWarnings: 0,
    generation: 4,
    error: null,
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

describe('vulndb import summary', () => {
  it('names files for the lines in warnings', () => {
    const summary = importSummary('records/', report(), {
      names: ['', 'a.json', 'b.json', 'c.json'],
      warnings: ['d.json: not valid JSON (Unexpected end of JSON input)'],
    });

    assert.equal(
      summary,
      [
        'imported 4 records from records/: 1 added, 1 updated, 0 unchanged, 2 skipped; database generation 4',
        'warning: d.json: not valid JSON (Unexpected end of JSON input)',
        'warning: b.json: the record has no "id"',
        '',
      ].join('\n'),
    );
  });

  it('counts add up to the records', () => {
    const summary = importSummary('my/osvbad', report({ records: 20, added: 1, unchanged: 18, updated: 0 }), {
      names: [''],
      warnings: ['bad1.json: not valid JSON (x)', 'bad2.json: not valid JSON (y)', 'bad3.json was skipped'],
    });
    const match =
      /^imported (\d+) records from my\/osvbad: (\d+) added, (\d+) updated, (\d+) unchanged, (\d+) skipped;/.exec(
        summary,
      );

    assert.ok(match !== null, summary);

    const [records, added, updated, unchanged, skipped] = match.slice(1).map(Number);

    assert.equal(records, 23);
    assert.equal(skipped, 4);
    assert.equal(added + updated + unchanged + skipped, records);
  });

  it('uses singular forms for one', () => {
    const summary = importSummary(
      'one.json',
      report({ records: 1, added: 1, updated: 0, skipped: 0, warnings: [], moreWarnings: 1 }),
      { names: ['', 'one.json'], warnings: [] },
    );

    assert.equal(
      summary,
      [
        'imported 1 record from one.json: 1 added, 0 updated, 0 unchanged, 0 skipped; database generation 4',
        'and 1 more warning',
        '',
      ].join('\n'),
    );
  });

  it('keeps each warning on one line', () => {
    const summary = importSummary('my/fake.json', report({ warnings: [] }), {
      names: [''],
      warnings: ['fake.json: not valid JSON (Unexpected token \'#\', "# Wharf\n\nW"... is not valid JSON)'],
    });
    const lines = summary.trimEnd().split('\n');

    assert.equal(lines.length, 2);
    assert.equal(
      lines[1],
      'warning: fake.json: not valid JSON (Unexpected token \'#\', "# Wharf\\n\\nW"... is not valid JSON)',
    );
  });

  it('lists 20 warnings and counts the rest', () => {
    const warnings = Array.from({ length: 30 }, (_, index) => `line ${index + 1}: bad`);
    const summary = importSummary('all.zip', report({ warnings, moreWarnings: 5 }), {
      names: [''],
      warnings: [],
    });
    const lines = summary.trimEnd().split('\n');

    assert.equal(lines.length, 22);
    assert.equal(lines[1], 'warning: line 1: bad');
    assert.equal(lines[21], 'and 15 more warnings');
  });
});

describe('vulndb status summary', () => {
  it('uses singular forms for one', () => {
    const summary = statusSummary({
      records: 1,
      withdrawn: 0,
      ecosystems: [{ ecosystem: 'npm', records: 1 }],
      generation: 1,
      updatedAt: null,
      lastImport: null,
      importing: report({ records: 1 }),
      mirror: null,
    });

    assert.match(summary, /^1 record \(0 withdrawn\), generation 1, last changed never$/m);
    assert.match(summary, /^importing from upload by admin: 1 record read so far$/m);
  });

  it('shows counts, the last import and the mirror', () => {
    const summary = statusSummary({
      records: 2,
      withdrawn: 1,
      ecosystems: [
        { ecosystem: 'Debian:12', records: 1 },
        { ecosystem: 'npm', records: 1 },
      ],
      generation: 3,
      updatedAt: '2026-12-05T10:00:01.000Z',
      lastImport: report(),
      importing: null,
      mirror: {
        url: 'http://127.0.0.1:8080/all.zip',
        interval: '24h',
        running: null,
        last: {
          state: 'failed',
          startedBy: 'schedule',
          startedAt: '2026-12-05T11:00:00.000Z',
          finishedAt: '2026-12-05T11:00:02.000Z',
          error: 'the mirror http://127.0.0.1:8080/all.zip responded with HTTP 503',
          url: 'http://127.0.0.1:8080/all.zip',
          notModified: false,
          bytes: 0,
          import: null,
        },
      },
    });

    assert.equal(
      summary,
      [
        '2 records (1 withdrawn), generation 3, last changed 2026-12-05T10:00:01.000Z',
        '  Debian:12                1',
        '  npm                      1',
        'last import: upload by admin at 2026-12-05T10:00:01.000Z: 1 added, 1 updated, 0 unchanged, 1 skipped',
        'mirror: http://127.0.0.1:8080/all.zip, every 24h',
        '  last refresh: failed at 2026-12-05T11:00:02.000Z: the mirror http://127.0.0.1:8080/all.zip responded with HTTP 503',
        '',
      ].join('\n'),
    );
  });
});

describe('vulndb import command', () => {
  let work: string;
  let server: Server;
  let baseUrl: string;
  const received: {
    method: string;
    url: string;
    authorization?: string;
    contentType?: string;
    body: string;
  }[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-vulndb-cli-'));
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];

      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');

        received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization,
          contentType: request.headers['content-type'],
          body,
        });
        response.setHeader('content-type', 'application/json');

        if (request.headers.authorization === undefined) {
          response.statusCode = 401;
          response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'sign in first' }] }));
        } else if (request.method === 'GET') {
          response.end('{}');
        } else {
          const lines = body.split('\n').filter((line) => line !== '');

          response.end(
            JSON.stringify(report({ records: lines.length, added: lines.length, skipped: 0, warnings: [] })),
          );
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.close();
    await rm(work, { recursive: true, force: true });
  });

  it('streams each record as one NDJSON line', async () => {
    const folder = join(work, 'records');
    const stdout = capture();
    const stderr = capture();

    await mkdir(folder);
    await writeFile(join(folder, 'ignored.txt'), 'not a record');
    await writeFile(join(folder, 'a.json'), JSON.stringify({ id: 'A-1', affected: [] }, null, 2));
    await writeFile(join(folder, 'b.json'), JSON.stringify([{ id: 'B-1' }, { id: 'B-2' }]));
    await writeFile(join(folder, 'c.json'), '{"id": ');
    process.env.WHARF_PASSWORD = 'secret-for-test';

    try {
      const code = await vulndbImportCommand(
        { url: baseUrl, user: 'admin', passwordStdin: false, path: folder },
        { stdin: new PassThrough(), stdout: stdout.stream, stderr: stderr.stream },
      );

      assert.equal(code, 0);
    } finally {
      delete process.env.WHARF_PASSWORD;
    }

    const upload = received.at(-1);

    assert.equal(upload?.method, 'POST');
    assert.equal(upload?.url, '/api/v1/vulndb/import');
    assert.equal(upload?.contentType, 'application/x-ndjson');
    assert.equal(upload?.authorization, `Basic ${Buffer.from('admin:secret-for-test').toString('base64')}`);
    assert.equal(upload?.body, '{"id":"A-1","affected":[]}\n{"id":"B-1"}\n{"id":"B-2"}\n');
    assert.equal(stderr.text(), 'sent 3 records, 1 skipped\n');
    assert.match(
      stdout.text(),
      /^imported 4 records from .*records: 3 added, 1 updated, 0 unchanged, 1 skipped/,
    );
    assert.match(stdout.text(), /^warning: c\.json: not valid JSON/m);
  });

  it('stops before reading records when sign-in is missing', async () => {
    const before = received.length;

    await assert.rejects(
      vulndbImportCommand(
        { url: baseUrl, passwordStdin: false, path: join(work, 'records') },
        { stdin: new PassThrough(), stdout: capture().stream, stderr: capture().stream },
      ),
      /^CliError: Wharf rejected the import: sign in with --user, and give the password in WHARF_PASSWORD or with --password-stdin$/,
    );
    assert.equal(received.length, before + 1);
    assert.equal(received.at(-1)?.method, 'GET');
  });

  /** Runs the import of `path` signed in, expecting a CliError matching `message` and no upload. */
  async function rejectsWithoutUpload(path: string, message: RegExp, stderr = capture()): Promise<void> {
    const before = received.length;

    process.env.WHARF_PASSWORD = 'secret-for-test';

    try {
      await assert.rejects(
        vulndbImportCommand(
          { url: baseUrl, user: 'admin', passwordStdin: false, path },
          { stdin: new PassThrough(), stdout: capture().stream, stderr: stderr.stream },
        ),
        message,
      );
    } finally {
      delete process.env.WHARF_PASSWORD;
    }

    assert.deepEqual(
      received.slice(before).map((request) => request.method),
      ['GET'],
    );
  }

  it('names a missing path', async () => {
    await rejectsWithoutUpload(join(work, 'missing'), /^CliError: no such file or folder: .*missing$/);
  });

  it('rejects a .zip file that is not a zip', async () => {
    const fake = join(work, 'fake.zip');

    await writeFile(fake, '# Wharf\n\nA README, not an archive.\n');
    await rejectsWithoutUpload(fake, /^CliError: .*fake\.zip is not a zip archive: /);
  });

  it('rejects an empty folder', async () => {
    const folder = join(work, 'empty');

    await mkdir(folder);
    await rejectsWithoutUpload(folder, /^CliError: no OSV records \(\*\.json files\) found in .*empty$/);
  });

  it('rejects one record that is not JSON', async () => {
    const file = join(work, 'fake.json');

    await writeFile(file, '# Wharf\n\nA README.\n');
    await rejectsWithoutUpload(
      file,
      /^CliError: no OSV record could be read from .*fake\.json: fake\.json: not valid JSON \([^\n]*\)$/,
    );
  });

  it('rejects a folder of broken records', async () => {
    const folder = join(work, 'broken');
    const stderr = capture();

    await mkdir(folder);
    await writeFile(join(folder, 'a.json'), '{"id": ');
    await writeFile(join(folder, 'b.json'), '[{"id": "B-1"},');
    await rejectsWithoutUpload(
      folder,
      /^CliError: no OSV record could be read from .*broken: all 2 were skipped \(see the warnings above\)$/,
      stderr,
    );

    const lines = stderr.text().trimEnd().split('\n');

    assert.equal(lines.length, 2);
    assert.match(lines[0], /^warning: a\.json: not valid JSON/);
    assert.match(lines[1], /^warning: b\.json was skipped: it is not valid JSON/);
  });
});
