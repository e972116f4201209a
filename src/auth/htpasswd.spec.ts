import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

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
  it('verifies known users, refuses wrong passwords and unknown users, and reloads', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wharf-htpasswd-'));
    const path = join(directory, 'htpasswd');

    try {
      await writeFile(path, `alice:${hash('secret')}\n`);

      const file = new HtpasswdFile(path, pino({ level: 'silent' }));

      assert.equal(await file.verify('alice', 'secret'), true);
      assert.equal(await file.verify('alice', 'wrong'), false);
      assert.equal(await file.verify('nobody', 'secret'), false);

      await writeFile(path, `bob:${hash('other')}\n`);
      file.load();

      assert.equal(await file.verify('alice', 'secret'), false);
      assert.equal(await file.verify('bob', 'other'), true);
      file.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('has no users when the file cannot be read', () => {
    const file = new HtpasswdFile('/nonexistent/wharf/htpasswd', pino({ level: 'silent' }));

    assert.equal(file.has('alice'), false);
  });
});
