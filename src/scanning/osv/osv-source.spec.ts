import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { findPackage } from '../../common/package-info.js';
import {
  downloadOsvMirror,
  maxRecordBytes,
  MirrorDownloadError,
  type OsvSourceItem,
  OsvSourceError,
  readOsvSource,
} from './osv-source.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv');

/** Reads a whole source into a list. */
async function collect(source: AsyncIterable<OsvSourceItem>): Promise<OsvSourceItem[]> {
  const items: OsvSourceItem[] = [];

  for await (const item of source) {
    items.push(item);
  }

  return items;
}

function texts(items: OsvSourceItem[]): Map<string, string> {
  return new Map(items.flatMap((item) => ('text' in item ? [[item.name, item.text] as const] : [])));
}

function warnings(items: OsvSourceItem[]): string[] {
  return items.flatMap((item) => ('warning' in item ? [item.warning] : []));
}

/** Zips the fixture folder with the `zip` command, as OSV's archives are made, into `path`. */
function zipFixtures(path: string, options: string[] = []): void {
  execFileSync('zip', ['-q', '-r', ...options, path, '.', '-i', '*.json'], { cwd: fixtures });
}

describe('readOsvSource', () => {
  let work: string;
  let fixtureFiles: Map<string, string>;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-osv-source-'));
    fixtureFiles = new Map();

    const listing = execFileSync('find', ['.', '-name', '*.json', '-type', 'f'], {
      cwd: fixtures,
      encoding: 'utf8',
    });

    for (const line of listing.trim().split('\n')) {
      const name = line.replace(/^\.\//, '');

      fixtureFiles.set(name, await readFile(join(fixtures, name), 'utf8'));
    }
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('reads every JSON file of a folder tree', async () => {
    const items = await collect(readOsvSource(fixtures));

    assert.deepEqual(warnings(items), []);
    assert.equal(items.length, fixtureFiles.size);
    assert.deepEqual(texts(items), fixtureFiles);
    assert.ok(fixtureFiles.has('npm/GHSA-p6mc-m468-83gw.json'));
  });

  it('reads a zip made by zip with the same records', async () => {
    const archive = join(work, 'all.zip');

    zipFixtures(archive);

    const items = await collect(readOsvSource(archive));

    assert.deepEqual(warnings(items), []);
    assert.deepEqual(texts(items), fixtureFiles);
  });

  it('reads a zip without a .zip name', async () => {
    const archive = join(work, 'download-data');

    zipFixtures(`${archive}.zip`);
    await writeFile(archive, await readFile(`${archive}.zip`));

    assert.equal(texts(await collect(readOsvSource(archive))).size, fixtureFiles.size);
  });

  it('rejects a truncated zip as unreadable', async () => {
    const archive = join(work, 'truncated.zip');

    zipFixtures(archive);
    await truncate(archive, Math.floor((await readFile(archive)).length / 2));

    await assert.rejects(collect(readOsvSource(archive)), (error: unknown) => {
      assert.ok(error instanceof OsvSourceError);
      assert.match(error.message, /truncated\.zip as a zip archive/);

      return true;
    });
  });

  it('skips a damaged zip entry and reads the rest', async () => {
    const archive = join(work, 'damaged.zip');

    // Stored without compression, so the record's text can be found and changed in the archive.
    zipFixtures(archive, ['-0']);

    const bytes = await readFile(archive);
    const at = bytes.indexOf('"id": "GHSA-h5c8-rqwp-cp95"');

    assert.ok(at > 0);
    bytes.write('X', at + 8, 'latin1');
    await writeFile(archive, bytes);

    const items = await collect(readOsvSource(archive));

    assert.equal(warnings(items).length, 1);
    assert.match(
      warnings(items)[0],
      /pypi\/GHSA-h5c8-rqwp-cp95\.json was skipped: its CRC-32 is \w+ but the archive records \w+/,
    );
    assert.equal(texts(items).size, fixtureFiles.size - 1);
    assert.equal(
      texts(items).get('npm/GHSA-p6mc-m468-83gw.json'),
      fixtureFiles.get('npm/GHSA-p6mc-m468-83gw.json'),
    );
  });

  it('skips a zip entry over the file limit', async () => {
    const archive = join(work, 'limits.zip');

    zipFixtures(archive);

    const items = await collect(readOsvSource(archive, { maxRecordBytes, maxFileBytes: 10_000 }));

    // log4j-core's record, 12122 bytes, is the only fixture over 10,000 bytes.
    assert.deepEqual(warnings(items), [
      'maven/GHSA-jfh8-c2jp-5v3q.json was skipped: it is 12122 bytes, over the limit of 10000',
    ]);
    assert.equal(texts(items).size, fixtureFiles.size - 1);
  });

  it('yields each element of a JSON array file', async () => {
    const file = join(work, 'records.json');
    const records = [
      { id: 'A-1', affected: [] },
      { id: 'A-2', affected: [] },
    ];

    await writeFile(file, JSON.stringify(records));

    const items = await collect(readOsvSource(file));

    assert.deepEqual(items, [
      { name: 'records.json[0]', text: JSON.stringify(records[0]) },
      { name: 'records.json[1]', text: JSON.stringify(records[1]) },
    ]);
  });

  it('passes a malformed record on for the importer', async () => {
    const folder = join(work, 'malformed');

    await mkdir(folder);
    await writeFile(join(folder, 'broken.json'), '{"id": "BROKEN-1", ');
    await writeFile(join(folder, 'broken-array.json'), '[{"id": "BROKEN-2"},');

    const items = await collect(readOsvSource(folder));

    assert.deepEqual(texts(items), new Map([['broken.json', '{"id": "BROKEN-1", ']]));
    assert.equal(warnings(items).length, 1);
    assert.match(warnings(items)[0], /^broken-array\.json was skipped: it is not valid JSON/);
  });

  it('skips a record over 8 MiB', async () => {
    const folder = join(work, 'oversized');
    const big = { id: 'BIG-1', details: 'x'.repeat(maxRecordBytes), affected: [] };
    const small = { id: 'SMALL-1', affected: [] };

    await mkdir(folder);
    await writeFile(join(folder, 'big.json'), JSON.stringify(big));
    await writeFile(join(folder, 'small.json'), JSON.stringify(small));
    await writeFile(join(folder, 'mixed.json'), JSON.stringify([small, big]));

    const items = await collect(readOsvSource(folder));
    const size = Buffer.byteLength(JSON.stringify(big));

    assert.deepEqual(warnings(items), [
      `big.json was skipped: the record is ${size} bytes, over the limit of ${maxRecordBytes}`,
      `mixed.json[1] was skipped: the record is ${size} bytes, over the limit of ${maxRecordBytes}`,
    ]);
    assert.deepEqual([...texts(items).keys()], ['mixed.json[0]', 'small.json']);
  });

  it('rejects a path that does not exist', async () => {
    await assert.rejects(collect(readOsvSource(join(work, 'missing'))), (error: unknown) => {
      assert.ok(error instanceof OsvSourceError);
      assert.equal(error.message, `no such file or folder: ${join(work, 'missing')}`);

      return true;
    });
  });

  it('rejects a .zip file that is not a zip', async () => {
    const text = join(work, 'text.zip');
    const tail = join(work, 'tail.zip');
    const whole = join(work, 'whole.zip');

    await writeFile(text, '# Wharf\n\nNot an archive.\n');
    zipFixtures(whole);

    const bytes = await readFile(whole);

    // The second half of an archive, as a download that lost its start would leave it.
    await writeFile(tail, bytes.subarray(Math.floor(bytes.length / 2)));

    for (const path of [text, tail]) {
      await assert.rejects(collect(readOsvSource(path)), (error: unknown) => {
        assert.ok(error instanceof OsvSourceError);
        assert.equal(error.message.startsWith(`${path} is not a zip archive: `), true, error.message);

        return true;
      });
    }
  });

  it('rejects a folder without JSON files', async () => {
    const empty = join(work, 'empty');
    const other = join(work, 'no-json');

    await mkdir(empty);
    await mkdir(join(other, 'nested'), { recursive: true });
    await writeFile(join(other, 'nested', 'notes.txt'), 'not a record');

    for (const path of [empty, other]) {
      await assert.rejects(collect(readOsvSource(path)), (error: unknown) => {
        assert.ok(error instanceof OsvSourceError);
        assert.equal(error.message, `no OSV records (*.json files) found in ${path}`);

        return true;
      });
    }
  });

  it('rejects a zip without JSON entries', async () => {
    const archive = join(work, 'no-json.zip');

    execFileSync('zip', ['-q', archive, 'README.md'], { cwd: fixtures });

    await assert.rejects(collect(readOsvSource(archive)), (error: unknown) => {
      assert.ok(error instanceof OsvSourceError);
      assert.equal(error.message, `no OSV records (*.json entries) found in the zip archive ${archive}`);

      return true;
    });
  });

  it('rejects an empty JSON array', async () => {
    const file = join(work, 'empty.json');

    await writeFile(file, '[]');

    await assert.rejects(
      collect(readOsvSource(file)),
      /^OsvSourceError: no OSV records found in .*empty\.json: /,
    );
  });

  it('yields warnings from a source without records', async () => {
    const folder = join(work, 'only-broken');

    await mkdir(folder);
    await writeFile(join(folder, 'broken-array.json'), '[{"id": "BROKEN-3"},');

    const items = await collect(readOsvSource(folder));

    assert.equal(items.length, 1);
    assert.match(warnings(items)[0], /^broken-array\.json was skipped: /);
  });
});

describe('downloadOsvMirror', () => {
  let work: string;
  let server: Server;
  let baseUrl: string;
  const body = Buffer.from('PK\u0005\u0006'.padEnd(22, '\u0000'), 'latin1');
  const requests: IncomingMessage[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-osv-mirror-'));
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      requests.push(request);

      if (request.url === '/moved') {
        response.writeHead(302, { Location: '/all.zip' }).end();
      } else if (request.url === '/broken') {
        response.writeHead(500).end('down for maintenance');
      } else if (request.headers['if-none-match'] === '"v1"') {
        response.writeHead(304).end();
      } else {
        response.writeHead(200, { ETag: '"v1"', 'Last-Modified': 'Tue, 01 Dec 2026 10:00:00 GMT' }).end(body);
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.close();
    await rm(work, { recursive: true, force: true });
  });

  const options = { timeoutMs: 5_000, maxBytes: 1024 };

  it('writes the file and returns its validators', async () => {
    const target = join(work, 'first');
    const download = await downloadOsvMirror(`${baseUrl}/all.zip`, target, {}, options);

    assert.deepEqual(download, {
      notModified: false,
      bytes: body.length,
      validators: { etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' },
    });
    assert.deepEqual(await readFile(target), body);
  });

  it('sends the validators and writes nothing on 304', async () => {
    const target = join(work, 'second');
    const validators = { etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' };
    const download = await downloadOsvMirror(`${baseUrl}/all.zip`, target, validators, options);

    assert.deepEqual(download, { notModified: true });
    assert.equal(requests.at(-1)?.headers['if-modified-since'], validators.lastModified);
    assert.equal(existsSync(target), false);
  });

  it('follows a redirect', async () => {
    const download = await downloadOsvMirror(`${baseUrl}/moved`, join(work, 'third'), {}, options);

    assert.equal(download.notModified, false);
  });

  it('fails on an HTTP error', async () => {
    await assert.rejects(
      downloadOsvMirror(`${baseUrl}/broken`, join(work, 'fourth'), {}, options),
      (error: unknown) => {
        assert.ok(error instanceof MirrorDownloadError);
        assert.equal(error.message, `the mirror ${baseUrl}/broken responded with HTTP 500`);

        return true;
      },
    );
  });

  it('fails on a file over the size limit and removes it', async () => {
    const target = join(work, 'fifth');

    await assert.rejects(
      downloadOsvMirror(`${baseUrl}/all.zip`, target, {}, { timeoutMs: 5_000, maxBytes: 10 }),
      /larger than the limit of 10 bytes/,
    );
    assert.equal(existsSync(target), false);
  });

  it('fails when nothing listens', async () => {
    const closed = createServer();

    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');

    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/all.zip`;

    closed.close();
    await once(closed, 'close');
    await assert.rejects(downloadOsvMirror(url, join(work, 'sixth'), {}, options), (error: unknown) => {
      assert.ok(error instanceof MirrorDownloadError);
      assert.match(error.message, /^failed to download http:\/\/127\.0\.0\.1:\d+\/all\.zip: .*ECONNREFUSED/);

      return true;
    });
  });
});
