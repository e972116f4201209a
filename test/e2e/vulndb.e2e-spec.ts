/**
 * The OSV vulnerability database of a real Wharf process. `wharf vulndb import` reads the real records
 * under test/fixtures/osv as a folder and as zip archives made with `zip`. The admin API gets bad
 * input and callers who are not administrators, and Wharf refreshes from a mirror on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { findPackage } from '../../src/common/package-info.js';
import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import { runWharfCli } from '../support/wharf-cli.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv');

/** OSV records under test/fixtures/osv; the Debian tracker excerpt there has no `id`. */
const fixtureRecords = 18;

const passwords = { admin: 'admin-password-1', reader: 'reader-password-2' } as const;

/** Bound of the polls that wait for a mirror refresh, 50 ms apart. */
const refreshPolls = 400;

interface ImportReport {
  origin: string;
  records: number;
  added: number;
  updated: number;
  unchanged: number;
  skipped: number;
  warnings: string[];
  moreWarnings: number;
  generation: number;
  error: string | null;
}

interface RefreshReport {
  state: string;
  startedBy: string;
  error: string | null;
  url: string;
  notModified: boolean;
  bytes: number;
  import: ImportReport | null;
}

interface Status {
  records: number;
  withdrawn: number;
  ecosystems: { ecosystem: string; records: number }[];
  generation: number;
  lastImport: ImportReport | null;
  mirror: { url: string; interval: string; running: RefreshReport | null; last: RefreshReport | null } | null;
}

/** Calls the admin API as `user`, or anonymously. */
function api(
  wharf: WharfServer,
  path: string,
  user?: keyof typeof passwords,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);

  if (user !== undefined) {
    headers.set('Authorization', basicAuthorization(user, passwords[user]));
  }

  return fetch(`${wharf.baseUrl}${path}`, { ...init, headers });
}

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();

  assert.equal(response.status, status, text);

  return JSON.parse(text) as T;
}

async function errorMessage(response: Response, status: number): Promise<string> {
  return (await json<{ errors: { message: string }[] }>(response, status)).errors[0].message;
}

function postNdjson(
  wharf: WharfServer,
  body: string | Buffer,
  user?: keyof typeof passwords,
): Promise<Response> {
  return api(wharf, '/api/v1/vulndb/import', user, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson' },
    body,
  });
}

/** Runs `wharf vulndb ARGS` against `wharf`, signed in as `user` with the password on standard input. */
function vulndbCli(wharf: WharfServer, args: string[], user: keyof typeof passwords = 'admin') {
  return runWharfCli(['vulndb', ...args, '--url', wharf.baseUrl, '--user', user, '--password-stdin'], {
    input: `${passwords[user]}\n`,
  });
}

/** Zips the `*.json` files below `folder` with the `zip` command into `archive`. */
function zipFolder(folder: string, archive: string): void {
  execFileSync('zip', ['-q', '-r', archive, '.', '-i', '*.json'], { cwd: folder });
}

/** Starts Wharf with an administrator and a reader from htpasswd, and `config` merged in. */
async function startVulnDbWharf(work: string, config: Record<string, unknown> = {}): Promise<WharfServer> {
  const htpasswd = join(work, `htpasswd-${Date.now()}`);

  await writeHtpasswd(htpasswd, passwords);

  return startWharf({
    config: {
      auth: { htpasswd: { path: htpasswd } },
      access: { admins: { users: ['admin'] } },
      ...config,
    },
  });
}

describe('vulnerability database', () => {
  let work: string;
  let modifiedZip: string;
  let fixturesZip: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-vulndb-e2e-'));
    fixturesZip = join(work, 'all.zip');
    zipFolder(fixtures, fixturesZip);

    // The same records, one of them with a later `modified` time, as the next day's archive would be.
    const modified = join(work, 'modified');
    const lodash = join(modified, 'npm', 'GHSA-p6mc-m468-83gw.json');

    await cp(fixtures, modified, { recursive: true });

    const record = JSON.parse(await readFile(lodash, 'utf8')) as Record<string, unknown>;

    await writeFile(lodash, JSON.stringify({ ...record, modified: '2026-12-01T00:00:00Z' }, null, 2));
    modifiedZip = join(work, 'modified.zip');
    zipFolder(modified, modifiedZip);
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  describe('wharf vulndb import and the admin API', () => {
    let wharf: WharfServer;

    before(async () => {
      wharf = await startVulnDbWharf(work);
    });

    after(async () => {
      await wharf.dispose();
    });

    it('imports the fixture folder', async () => {
      const result = await vulndbCli(wharf, ['import', fixtures]);

      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(
          `^imported ${fixtureRecords + 1} records from .*osv: ${fixtureRecords} added, 0 updated, 0 unchanged, 1 skipped; database generation 1$`,
          'm',
        ),
      );
      assert.match(
        result.stdout,
        /^warning: debian-tracker\/debian_security_tracker_mock\.json: the record has no "id"$/m,
      );
      assert.equal(result.stderr, `sent ${fixtureRecords + 1} records\n`);
    });

    it('finds nothing new in a second import', async () => {
      const result = await vulndbCli(wharf, ['import', fixtures]);

      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(
          `: 0 added, 0 updated, ${fixtureRecords} unchanged, 1 skipped; database generation 1$`,
          'm',
        ),
      );
    });

    it('counts one updated record from a zip', async () => {
      const result = await vulndbCli(wharf, ['import', modifiedZip]);

      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(
          `: 0 added, 1 updated, ${fixtureRecords - 1} unchanged, 1 skipped; database generation 2$`,
          'm',
        ),
      );

      const stored = await json<{ modified: string }>(
        await api(wharf, '/api/v1/vulnerabilities/GHSA-p6mc-m468-83gw', 'admin'),
      );

      assert.equal(stored.modified, '2026-12-01T00:00:00.000Z');
    });

    it('shows the state', async () => {
      const status = await json<Status>(await api(wharf, '/api/v1/vulndb', 'admin'));

      assert.equal(status.records, fixtureRecords);
      assert.equal(status.withdrawn, 0);
      assert.equal(status.generation, 2);
      assert.equal(status.mirror, null);
      assert.equal(status.lastImport?.origin, 'upload by admin');
      assert.equal(status.lastImport?.updated, 1);
      assert.deepEqual(
        status.ecosystems.filter((entry) => ['PyPI', 'npm', 'Debian:7'].includes(entry.ecosystem)),
        [
          { ecosystem: 'Debian:7', records: 1 },
          { ecosystem: 'PyPI', records: 3 },
          { ecosystem: 'npm', records: 6 },
        ],
      );

      const result = await vulndbCli(wharf, ['status']);

      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^${fixtureRecords} records \\(0 withdrawn\\), generation 2, `));
      assert.match(result.stdout, /^ {2}Debian:7 +1$/m);
      assert.match(result.stdout, /^mirror: none configured$/m);
    });

    it('returns a stored record', async () => {
      const original = JSON.parse(
        await readFile(join(fixtures, 'pypi', 'GHSA-h5c8-rqwp-cp95.json'), 'utf8'),
      ) as unknown;
      const stored = await json<{ id: string; withdrawn: string | null; packages: unknown; record: unknown }>(
        await api(wharf, '/api/v1/vulnerabilities/GHSA-h5c8-rqwp-cp95', 'admin'),
      );

      assert.equal(stored.id, 'GHSA-h5c8-rqwp-cp95');
      assert.equal(stored.withdrawn, null);
      assert.deepEqual(stored.packages, [{ ecosystem: 'PyPI', name: 'jinja2' }]);
      assert.deepEqual(stored.record, original);

      const missing = await api(wharf, '/api/v1/vulnerabilities/GHSA-0000-0000-0000', 'admin');

      assert.match(
        await errorMessage(missing, 404),
        /no vulnerability record has the id "GHSA-0000-0000-0000"/,
      );
    });

    it('reports malformed lines and records without packages', async () => {
      const good = {
        id: 'WHARF-TEST-1',
        modified: '2026-12-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, versions: ['1.0.0'] }],
      };
      const body = [
        JSON.stringify(good),
        '{"id": "WHARF-TEST-2", "affected": [',
        JSON.stringify({ id: 'WHARF-TEST-3', modified: '2026-12-01T00:00:00Z', affected: [] }),
        '',
        JSON.stringify({
          id: 'WHARF-TEST-4',
          modified: '2026-12-01T00:00:00Z',
          withdrawn: '2026-12-02T00:00:00Z',
        }),
      ].join('\n');
      const report = await json<ImportReport>(await postNdjson(wharf, body, 'admin'));

      assert.equal(report.records, 4);
      assert.equal(report.added, 2);
      assert.equal(report.skipped, 2);
      assert.equal(report.warnings.length, 2);
      assert.match(report.warnings[0], /^line 2: not valid JSON \(/);
      assert.equal(report.warnings[1], 'line 3: WHARF-TEST-3 was skipped: it names no affected package');

      const status = await json<Status>(await api(wharf, '/api/v1/vulndb', 'admin'));

      assert.equal(status.records, fixtureRecords + 2);
      assert.equal(status.withdrawn, 1);
    });

    it('rejects a line over 8 MiB with 413', async () => {
      const long = JSON.stringify({ id: 'WHARF-LONG-1', details: 'x'.repeat(8 * 1024 * 1024) });
      const response = await postNdjson(
        wharf,
        `${JSON.stringify({ id: 'WHARF-SHORT-1' })}\n${long}\n`,
        'admin',
      );

      assert.match(
        await errorMessage(response, 413),
        /^line 2 is longer than 8388608 bytes, the limit for one record/,
      );
    });

    it('rejects bodies that are not NDJSON', async () => {
      const response = await api(wharf, '/api/v1/vulndb/import', 'admin', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"id": "WHARF-TEST-5"}',
      });

      assert.match(await errorMessage(response, 415), /send the records as application\/x-ndjson/);

      const elsewhere = await api(wharf, '/api/v1/gc', 'admin', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-ndjson' },
        body: '{}\n',
      });

      assert.match(
        await errorMessage(elsewhere, 415),
        /must be JSON \(application\/json\), or PEM \(application\/x-pem-file\) for signing keys and certificates, not application\/x-ndjson/,
      );
    });

    it('refuses callers who are not administrators', async () => {
      for (const path of ['/api/v1/vulndb', '/api/v1/vulnerabilities/GHSA-h5c8-rqwp-cp95']) {
        assert.equal((await api(wharf, path, 'reader')).status, 403, path);
        assert.equal((await api(wharf, path)).status, 401, path);
      }

      const line = `${JSON.stringify({ id: 'WHARF-TEST-6', affected: [{ package: { ecosystem: 'npm', name: 'x' } }] })}\n`;

      assert.equal((await postNdjson(wharf, line, 'reader')).status, 403);
      assert.equal((await postNdjson(wharf, line)).status, 401);
      assert.equal((await api(wharf, '/api/v1/vulnerabilities/WHARF-TEST-6', 'admin')).status, 404);

      const result = await vulndbCli(wharf, ['import', fixtures], 'reader');

      assert.equal(result.code, 1);
      assert.match(result.stderr, /^wharf: Wharf rejected the import: /m);
    });

    it('has no mirror to refresh', async () => {
      const response = await api(wharf, '/api/v1/vulndb/refresh', 'admin', { method: 'POST' });

      assert.match(
        await errorMessage(response, 404),
        /no vulnerability mirror is configured; set scanning\.mirror\.url/,
      );
    });

    it('documents its routes in OpenAPI', async () => {
      const document = await json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      }>(await api(wharf, '/api/docs-json'));
      const routes: [string, string, string][] = [
        ['/api/v1/vulndb', 'get', '200'],
        ['/api/v1/vulndb/import', 'post', '200'],
        ['/api/v1/vulndb/refresh', 'post', '202'],
        ['/api/v1/vulnerabilities/{id}', 'get', '200'],
      ];

      for (const [path, method, status] of routes) {
        const responses = document.paths[path]?.[method]?.responses ?? {};

        assert.ok(status in responses, `${method} ${path} documents no ${status}`);
        assert.ok('403' in responses, `${method} ${path} documents no 403`);
      }
    });

    it('names a damaged archive', async () => {
      const truncated = join(work, 'truncated.zip');

      await writeFile(truncated, (await readFile(fixturesZip)).subarray(0, 2000));

      const result = await vulndbCli(wharf, ['import', truncated]);

      assert.equal(result.code, 1);
      assert.match(result.stderr, /^wharf: cannot read .*truncated\.zip as a zip archive: /m);
    });

    it('rejects sources without records', async () => {
      const readme = join(work, 'readme.zip');
      const tail = join(work, 'tail.zip');
      const empty = join(work, 'empty');
      const archive = await readFile(fixturesZip);

      await writeFile(readme, await readFile(join(fixtures, 'README.md')));
      await writeFile(tail, archive.subarray(Math.floor(archive.length / 2)));
      await mkdir(empty);

      const before = await json<Status>(await api(wharf, '/api/v1/vulndb', 'admin'));
      const cases: [path: string, message: RegExp][] = [
        [readme, /^wharf: .*readme\.zip is not a zip archive: [^\n]*\n$/],
        [tail, /^wharf: .*tail\.zip is not a zip archive: [^\n]*\n$/],
        [empty, /^wharf: no OSV records \(\*\.json files\) found in .*empty\n$/],
        [join(work, 'nope/'), /^wharf: no such file or folder: .*nope\/\n$/],
      ];

      for (const [path, message] of cases) {
        const result = await vulndbCli(wharf, ['import', path]);

        assert.equal(result.code, 1, path);
        assert.match(result.stderr, message);
        assert.equal(result.stdout, '');
      }

      const after = await json<Status>(await api(wharf, '/api/v1/vulndb', 'admin'));

      assert.deepEqual(after.lastImport, before.lastImport);
    });

    it('counts files skipped locally once', async () => {
      const folder = join(work, 'osvbad');

      await cp(fixtures, folder, { recursive: true });
      await writeFile(join(folder, 'bad1.json'), '{"id": \n');
      await writeFile(join(folder, 'bad2.json'), '{');
      await writeFile(join(folder, 'bad3.json'), '[1,');

      const result = await vulndbCli(wharf, ['import', folder]);
      const match =
        /^imported (\d+) records from .*osvbad: (\d+) added, (\d+) updated, (\d+) unchanged, (\d+) skipped;/m.exec(
          result.stdout,
        );

      assert.equal(result.code, 0, result.stderr);
      assert.ok(match !== null, result.stdout);

      const [records, added, updated, unchanged, skipped] = match.slice(1).map(Number);

      assert.equal(records, fixtureRecords + 4);
      assert.equal(skipped, 4);
      assert.equal(added + updated + unchanged + skipped, records);
      assert.equal(result.stderr, `sent ${fixtureRecords + 1} records, 3 skipped\n`);
    });

    it('rejects an upload without records', async () => {
      const response = await postNdjson(wharf, '\n\n', 'admin');

      assert.match(await errorMessage(response, 400), /^the body contains no OSV records; /);
    });

    it('tells anonymous callers how to sign in', async () => {
      const result = await runWharfCli(['vulndb', 'status', '--url', wharf.baseUrl]);

      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        'wharf: Wharf rejected the status request: sign in with --user, and give the password in WHARF_PASSWORD or with --password-stdin\n',
      );
    });
  });

  describe('mirror refresh', () => {
    let server: Server;
    let mirrorUrl: string;
    let wharf: WharfServer;
    /** What the mirror serves now: an archive with its ETag, an HTTP error, or nothing until released. */
    let serving: { archive: Buffer; etag: string } | { status: number } | { hold: Promise<void> };
    const served: number[] = [];

    before(async () => {
      serving = { archive: await readFile(fixturesZip), etag: '"fixtures-1"' };
      server = createServer((request: IncomingMessage, response: ServerResponse) => {
        void respond(request, response);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      mirrorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/Debian/all.zip`;
      wharf = await startVulnDbWharf(work, { scanning: { mirror: { url: mirrorUrl, interval: '24h' } } });
    });

    after(async () => {
      await wharf.dispose();
      server.closeAllConnections();
      server.close();
    });

    async function respond(request: IncomingMessage, response: ServerResponse): Promise<void> {
      const now = serving;

      if ('hold' in now) {
        await now.hold;
        response.writeHead(503).end();
      } else if ('status' in now) {
        response.writeHead(now.status).end();
      } else if (request.headers['if-none-match'] === now.etag) {
        response.writeHead(304).end();
      } else {
        response.writeHead(200, { ETag: now.etag }).end(now.archive);
      }

      served.push(response.statusCode);
    }

    async function lastRefresh(): Promise<RefreshReport> {
      for (let poll = 0; poll < refreshPolls; poll++) {
        const status = await json<Status>(await api(wharf, '/api/v1/vulndb', 'admin'));

        if (status.mirror?.running === null && status.mirror.last !== null) {
          return status.mirror.last;
        }

        await sleep(50);
      }

      throw new Error('the mirror refresh did not end');
    }

    async function refresh(): Promise<RefreshReport> {
      const started = await json<RefreshReport>(
        await api(wharf, '/api/v1/vulndb/refresh', 'admin', { method: 'POST' }),
        202,
      );

      assert.equal(started.state, 'running');
      assert.equal(started.startedBy, 'admin');

      return lastRefresh();
    }

    it('imports the mirror at start-up', async () => {
      const report = await lastRefresh();

      assert.equal(report.state, 'finished', report.error ?? '');
      assert.equal(report.startedBy, 'schedule');
      assert.equal(report.url, mirrorUrl);
      assert.equal(report.import?.added, fixtureRecords);
      assert.equal(report.import?.skipped, 1);
      assert.deepEqual(served, [200]);
    });

    it('asks for changes only', async () => {
      const report = await refresh();

      assert.equal(report.state, 'finished', report.error ?? '');
      assert.equal(report.notModified, true);
      assert.equal(report.import, null);
      assert.deepEqual(served.slice(-1), [304]);
    });

    it('imports a changed archive', async () => {
      serving = { archive: await readFile(modifiedZip), etag: '"fixtures-2"' };

      const report = await refresh();

      assert.equal(report.import?.updated, 1);
      assert.equal(report.import?.unchanged, fixtureRecords - 1);
      assert.equal(report.import?.generation, 2);
    });

    it('refuses a second refresh while one runs', async () => {
      let release: () => void = () => undefined;

      serving = { hold: new Promise<void>((resolve) => (release = resolve)) };

      const first = await api(wharf, '/api/v1/vulndb/refresh', 'admin', { method: 'POST' });

      assert.equal(first.status, 202);
      await first.arrayBuffer();

      const second = await api(wharf, '/api/v1/vulndb/refresh', 'admin', { method: 'POST' });

      assert.match(await errorMessage(second, 409), /vulnerability mirror refresh is already running/);
      release();
      assert.equal((await lastRefresh()).state, 'failed');
    });

    it('logs a failed refresh and keeps the database', async () => {
      serving = { status: 500 };

      const report = await refresh();

      assert.equal(report.state, 'failed');
      assert.equal(report.error, `the mirror ${mirrorUrl} responded with HTTP 500`);

      const logged = await wharf.waitForLog(
        (record) => record.msg === 'vulnerability mirror refresh failed' && record.reason === report.error,
      );

      assert.equal(logged[0]?.url, mirrorUrl);

      const status = await json<Status>(await api(wharf, '/api/v1/vulndb', 'admin'));

      assert.equal(status.records, fixtureRecords);
      assert.equal(status.generation, 2);
    });
  });
});
