import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';

import bcrypt from 'bcryptjs';
import { pino } from 'pino';

import { HtpasswdFile, parseHtpasswd } from './htpasswd.js';

const hash = (password: string, prefix = '$2b$') => prefix + bcrypt.hashSync(password, 4).slice(4);

describe('parseHtpasswd', () => {
  it('keeps bcrypt entries of each prefix and skips comments and blank lines', () => {
    const text = [
      '# users',
      '',
      `a:${hash('x', '$2a$')}`,
      `b:${hash('x', '$2b$')}`,
      `c:${hash('x', '$2y$')}`,
    ].join('\n');
    const { hashes, rejected } = parseHtpasswd(text);

    assert.deepEqual([...hashes.keys()], ['a', 'b', 'c']);
    assert.deepEqual(rejected, []);
  });

  it('refuses other formats by line number, naming the format and never the hash', () => {
    const text = [
      `ok:${hash('x')}`,
      'md5:$apr1$salt1234$abcdefghijklmnopqrstuv',
      'sha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=',
      'crypt:abJnggxhB/yWI',
      'broken:$2b$10$short',
      'no-separator-line',
      `ok:${hash('y')}`,
    ].join('\r\n');
    const { hashes, rejected } = parseHtpasswd(text);

    assert.deepEqual([...hashes.keys()], ['ok']);
    assert.deepEqual(
      rejected.map((entry) => entry.line),
      [2, 3, 4, 5, 6, 7],
    );
    assert.match(rejected[0].reason, /APR1-MD5/);
    assert.match(rejected[1].reason, /SHA-1/);
    assert.match(rejected[5].reason, /listed twice/);

    for (const { reason } of rejected) {
      assert.doesNotMatch(reason, /\$apr1\$salt|qUqP5|abJngg|\$2b\$10/);
    }
  });
});

describe('HtpasswdFile', () => {
  let directory: string;
  let path: string;
  let file: HtpasswdFile;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-htpasswd-'));
    path = join(directory, 'htpasswd');
    await writeFile(path, `alice:${hash('secret')}\n`);
    file = new HtpasswdFile(path, pino({ level: 'silent' }));
  });

  afterEach(async () => {
    file.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('verifies known users, refuses wrong passwords and unknown users, and reloads', async () => {
    assert.equal(await file.verify('alice', 'secret'), true);
    assert.equal(await file.verify('alice', 'wrong'), false);
    assert.equal(await file.verify('nobody', 'secret'), false);

    await writeFile(path, `bob:${hash('other')}\n`);
    file.load();

    assert.equal(await file.verify('alice', 'secret'), false);
    assert.equal(await file.verify('bob', 'other'), true);
  });

  it('spends the same bcrypt work on unknown users as on known ones', async () => {
    const compare = mock.method(bcrypt, 'compare');

    await file.verify('alice', 'wrong');
    await file.verify('nobody', 'wrong');

    const [known, unknown] = compare.mock.calls.map((call) => call.arguments[1]);

    compare.mock.restore();
    assert.equal(compare.mock.callCount(), 2);
    assert.equal(bcrypt.getRounds(unknown), bcrypt.getRounds(known));
  });

  it('has no users when the file cannot be read', () => {
    const missing = new HtpasswdFile(join(directory, 'missing'), pino({ level: 'silent' }));

    assert.equal(missing.has('alice'), false);
  });
});
