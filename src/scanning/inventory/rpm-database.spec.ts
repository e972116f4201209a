import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { rpmDatabaseOf, rpmMissing, run } from '../../../test/support/layers.js';
import { parseRpmHeader, readRpmDatabase, RpmHeaderError } from './rpm-database.js';

/** One index entry for `headerOf`: a string (type 6) or a 32-bit integer (type 4). */
interface TestEntry {
  tag: number;
  type: 4 | 6;
  value: string | number;
}

/** Encodes an rpm header as the database stores it, for entries rpm itself would never write. */
function headerOf(entries: TestEntry[]): Buffer {
  const index = Buffer.alloc(entries.length * 16);
  const data: Buffer[] = [];
  let offset = 0;

  entries.forEach((entry, position) => {
    let bytes = Buffer.from(`${entry.value}\u0000`);

    if (entry.type === 4) {
      const padding = (4 - (offset % 4)) % 4;

      data.push(Buffer.alloc(padding));
      offset += padding;
      bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(Number(entry.value));
    }

    index.writeUInt32BE(entry.tag, position * 16);
    index.writeUInt32BE(entry.type, position * 16 + 4);
    index.writeUInt32BE(offset, position * 16 + 8);
    index.writeUInt32BE(1, position * 16 + 12);
    data.push(bytes);
    offset += bytes.length;
  });

  const preamble = Buffer.alloc(8);

  preamble.writeUInt32BE(entries.length, 0);
  preamble.writeUInt32BE(offset, 4);

  return Buffer.concat([preamble, index, ...data]);
}

const signingKey = headerOf([
  { tag: 1000, type: 6, value: 'gpg-pubkey' },
  { tag: 1001, type: 6, value: '8483c65d' },
  { tag: 1002, type: 6, value: '5ccc5b19' },
]);

/** Returns a copy of an rpm database with extra rows in its Packages table. */
function withRows(database: Buffer, blobs: Buffer[]): Buffer {
  const bytes = Buffer.from(database);

  // rpm leaves the file in WAL mode, which an in-memory SQLite database cannot open.
  bytes[18] = 1;
  bytes[19] = 1;

  const copy = new Database(bytes);

  try {
    const insert = copy.prepare('INSERT INTO Packages (blob) VALUES (?)');

    for (const blob of blobs) {
      insert.run(blob);
    }

    return copy.serialize();
  } finally {
    copy.close();
  }
}

describe('rpm databases', { skip: rpmMissing }, () => {
  let directory: string;
  let database: Buffer;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-rpmdb-'));
    database = await rpmDatabaseOf(directory, [
      {
        name: 'wharf-tiny',
        version: '1.2.3',
        release: '4.el9',
        epoch: 2,
        license: 'MIT and BSD',
        architecture: 'noarch',
      },
      { name: 'wharf-other', version: '0.9', release: '1', license: 'Apache-2.0' },
    ]);
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('lists what rpm lists', async () => {
    const { packages, warnings } = readRpmDatabase(Buffer.from(database), 'rpmdb.sqlite');
    const query = '%{NAME}\\t%{EPOCH}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\n';
    const listed = (await run('rpm', ['-qa', '--dbpath', join(directory, 'rpmdb'), '--qf', query]))
      .toString()
      .trim()
      .split('\n')
      .map((line) => line.replace('\t(none):', '\t'))
      .sort();
    const read = packages
      .map((entry) => {
        const source = `${entry.sourceName}-${entry.sourceVersion.replace(/^\d+:/, '')}.src.rpm`;

        return [entry.name, entry.version, entry.architecture, source, entry.license].join('\t');
      })
      .sort();

    assert.deepEqual(warnings, []);
    assert.equal(read.length, 2);
    assert.deepEqual(read, listed);
  });

  it('writes the epoch into versions', () => {
    const { packages } = readRpmDatabase(Buffer.from(database), 'rpmdb.sqlite');
    const tiny = packages.find((entry) => entry.name === 'wharf-tiny');
    const other = packages.find((entry) => entry.name === 'wharf-other');

    assert.deepEqual(tiny, {
      type: 'rpm',
      name: 'wharf-tiny',
      version: '2:1.2.3-4.el9',
      sourceName: 'wharf-tiny',
      sourceVersion: '2:1.2.3-4.el9',
      architecture: 'noarch',
      license: 'MIT and BSD',
    });
    assert.equal(other?.version, '0.9-1');
  });

  it('skips signing keys and malformed headers', () => {
    const realBlob = headerBlobs(database)[0];
    const bytes = withRows(database, [
      signingKey,
      Buffer.from([0, 0, 0]),
      realBlob.subarray(0, realBlob.length / 2),
      headerOf([{ tag: 1001, type: 6, value: '1.0' }]),
    ]);
    const { packages, warnings } = readRpmDatabase(bytes, 'rpmdb.sqlite');

    assert.deepEqual(packages.map((entry) => entry.name).sort(), ['wharf-other', 'wharf-tiny']);
    assert.equal(warnings.length, 3);
    assert.equal(
      warnings[0],
      'rpmdb.sqlite: package header 4 is malformed (3 bytes is shorter than the 8-byte preamble) and was skipped',
    );
    assert.match(
      warnings[1],
      /^rpmdb\.sqlite: package header 5 is malformed \(\d+ index entries and \d+ data bytes do not fit/,
    );
    assert.equal(warnings[2], 'rpmdb.sqlite: package header 6 is malformed (it has no NAME) and was skipped');
  });

  it('parses a real header blob', () => {
    const headers = headerBlobs(database).map(parseRpmHeader);

    assert.deepEqual(headers.map((header) => [header.name, header.epoch, header.sourceRpm]).sort(), [
      ['wharf-other', null, 'wharf-other-0.9-1.src.rpm'],
      ['wharf-tiny', 2, 'wharf-tiny-1.2.3-4.el9.src.rpm'],
    ]);
  });
});

/** Returns the header blobs of an rpm database, read with better-sqlite3 directly. */
function headerBlobs(database: Buffer): Buffer[] {
  const bytes = Buffer.from(database);

  bytes[18] = 1;
  bytes[19] = 1;

  const reader = new Database(bytes, { readonly: true });

  try {
    return reader
      .prepare('SELECT blob FROM Packages ORDER BY hnum')
      .all()
      .map((row) => (row as { blob: Buffer }).blob);
  } finally {
    reader.close();
  }
}

describe('parseRpmHeader', () => {
  it('reads strings and the epoch', () => {
    const header = parseRpmHeader(
      headerOf([
        { tag: 1000, type: 6, value: 'openssl-libs' },
        { tag: 1001, type: 6, value: '3.0.7' },
        { tag: 1002, type: 6, value: '27.el9' },
        { tag: 1003, type: 4, value: 1 },
        { tag: 1014, type: 6, value: 'Apache-2.0' },
        { tag: 1022, type: 6, value: 'x86_64' },
        { tag: 1044, type: 6, value: 'openssl-3.0.7-27.el9.src.rpm' },
      ]),
    );

    assert.deepEqual(header, {
      name: 'openssl-libs',
      version: '3.0.7',
      release: '27.el9',
      epoch: 1,
      architecture: 'x86_64',
      sourceRpm: 'openssl-3.0.7-27.el9.src.rpm',
      license: 'Apache-2.0',
    });
  });

  it('rejects entries outside the data', () => {
    const blob = headerOf([
      { tag: 1000, type: 6, value: 'a' },
      { tag: 1001, type: 6, value: '1' },
      { tag: 1002, type: 6, value: '1' },
    ]);

    blob.writeUInt32BE(1000, 8 + 16 + 8);
    assert.throws(() => parseRpmHeader(blob), {
      name: 'RpmHeaderError',
      message: 'the string of tag 1001 at offset 1000 has no end in the data',
    });
  });

  it('rejects a wrong type', () => {
    const blob = headerOf([
      { tag: 1000, type: 4, value: 7 },
      { tag: 1001, type: 6, value: '1' },
      { tag: 1002, type: 6, value: '1' },
    ]);

    assert.throws(() => parseRpmHeader(blob), RpmHeaderError);
  });
});

describe('readRpmDatabase with other files', () => {
  it('reports bytes that are not SQLite', () => {
    assert.deepEqual(readRpmDatabase(Buffer.from('Packages\n'.repeat(20)), 'rpmdb.sqlite'), {
      packages: [],
      warnings: ['rpmdb.sqlite is not an SQLite database and was not read'],
    });
  });

  it('reports SQLite without a Packages table', () => {
    const other = new Database(':memory:');

    other.exec('CREATE TABLE Names (key TEXT)');

    const bytes = other.serialize();

    other.close();
    assert.deepEqual(readRpmDatabase(bytes, 'rpmdb.sqlite').warnings, [
      'rpmdb.sqlite could not be read as an rpm database: no such table: Packages',
    ]);
  });

  it('reports a damaged SQLite file', () => {
    const damaged = Buffer.alloc(8192, 0xee);

    Buffer.from('SQLite format 3\u0000', 'latin1').copy(damaged);

    const { packages, warnings } = readRpmDatabase(damaged, 'rpmdb.sqlite');

    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^rpmdb\.sqlite could not be read as an rpm database: /);
  });
});
