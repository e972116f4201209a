import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import bcrypt from 'bcryptjs';

import { parseHtpasswd } from '../auth/htpasswd.js';
import {
  bcryptCost,
  hashPassword,
  passwordProblem,
  removeUser,
  replaceFileAtomically,
  setUserHash,
  usernameProblem,
} from './htpasswd-editor.js';

const hashA = `$2b$04$${'a'.repeat(53)}`;
const hashB = `$2b$04$${'b'.repeat(53)}`;

describe('setUserHash', () => {
  it('creates first line in empty file', () => {
    assert.deepEqual(setUserHash('', 'alice', hashA), { text: `alice:${hashA}\n`, replaced: false });
  });

  it('appends a new user after the others', () => {
    const { text, replaced } = setUserHash(`# team\nbob:${hashB}`, 'alice', hashA);

    assert.equal(text, `# team\nbob:${hashB}\nalice:${hashA}\n`);
    assert.equal(replaced, false);
  });

  it('replaces an existing user in place', () => {
    const { text, replaced } = setUserHash(`alice:${hashB}\nbob:${hashB}\n`, 'alice', hashA);

    assert.equal(text, `alice:${hashA}\nbob:${hashB}\n`);
    assert.equal(replaced, true);
  });

  it('drops later duplicate lines', () => {
    const { text } = setUserHash(`alice:${hashB}\nbob:${hashB}\nalice:${hashB}\n`, 'alice', hashA);

    assert.equal(text, `alice:${hashA}\nbob:${hashB}\n`);
  });

  it('keeps comments and foreign formats', () => {
    const original = '# comment\nold:$apr1$salt$hash\n\n';
    const { text } = setUserHash(original, 'alice', hashA);

    assert.equal(text, `# comment\nold:$apr1$salt$hash\n\nalice:${hashA}\n`);
  });

  it('matches whole names only', () => {
    const { text, replaced } = setUserHash(`alice2:${hashB}\n`, 'alice', hashA);

    assert.equal(replaced, false);
    assert.equal(text, `alice2:${hashB}\nalice:${hashA}\n`);
  });

  it('reads CRLF files', () => {
    const { text, replaced } = setUserHash(`alice:${hashB}\r\nbob:${hashB}\r\n`, 'alice', hashA);

    assert.equal(replaced, true);
    assert.equal(text, `alice:${hashA}\nbob:${hashB}\n`);
  });
});

describe('removeUser', () => {
  it('removes every line of the user', () => {
    const { text, removed } = removeUser(`alice:${hashA}\nbob:${hashB}\nalice:${hashB}\n`, 'alice');

    assert.equal(text, `bob:${hashB}\n`);
    assert.equal(removed, 2);
  });

  it('unknown user removes nothing', () => {
    const original = `bob:${hashB}\n`;

    assert.deepEqual(removeUser(original, 'alice'), { text: original, removed: 0 });
  });

  it('last user leaves an empty file', () => {
    assert.deepEqual(removeUser(`alice:${hashA}\n`, 'alice'), { text: '', removed: 1 });
  });

  it('comment naming the user stays', () => {
    const { text } = removeUser(`#alice:old\nalice:${hashA}\n`, 'alice');

    assert.equal(text, '#alice:old\n');
  });
});

describe('usernameProblem', () => {
  for (const name of ['alice', 'ci-bot', 'first.last', 'alice@example.com', 'ünïcode']) {
    it(`accepts ${name}`, () => {
      assert.equal(usernameProblem(name), undefined);
    });
  }

  const invalid: [label: string, name: string][] = [
    ['empty', ''],
    ['colon', 'a:b'],
    ['space', 'a b'],
    ['newline', 'a\nb'],
    ['tab', 'a\tb'],
    ['comment mark', '#alice'],
  ];

  for (const [label, name] of invalid) {
    it(`rejects ${label}`, () => {
      assert.notEqual(usernameProblem(name), undefined);
    });
  }
});

describe('passwordProblem', () => {
  it('accepts 72 bytes', () => {
    assert.equal(passwordProblem('x'.repeat(72)), undefined);
  });

  it('rejects 73 bytes', () => {
    assert.match(passwordProblem('x'.repeat(73)) ?? '', /73 bytes/);
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 37 two-byte characters are 74 bytes.
    assert.match(passwordProblem('é'.repeat(37)) ?? '', /74 bytes/);
  });

  it('rejects empty password', () => {
    assert.match(passwordProblem('') ?? '', /empty/);
  });
});

describe('hashPassword', () => {
  it('bcrypt hash the server accepts', async () => {
    const hash = await hashPassword('correct horse');
    const { hashes } = parseHtpasswd(`alice:${hash}\n`);

    assert.equal(hashes.get('alice'), hash);
    assert.equal(bcrypt.getRounds(hash), bcryptCost);
    assert.equal(await bcrypt.compare('correct horse', hash), true);
  });
});

describe('replaceFileAtomically', () => {
  let directory: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-htpasswd-'));
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('new file gets mode 0600', async () => {
    const path = join(directory, 'new');

    await replaceFileAtomically(path, 'alice:x\n');

    assert.equal(await readFile(path, 'utf8'), 'alice:x\n');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it('existing file keeps its mode', async () => {
    const path = join(directory, 'shared');

    await writeFile(path, 'old\n', { mode: 0o640 });
    await replaceFileAtomically(path, 'new\n');

    assert.equal(await readFile(path, 'utf8'), 'new\n');
    assert.equal((await stat(path)).mode & 0o777, 0o640);
  });

  it('symbolic link keeps pointing at the target', async () => {
    const target = join(directory, 'target');
    const link = join(directory, 'link');

    await writeFile(target, 'old\n');
    await symlink(target, link);
    await replaceFileAtomically(link, 'new\n');

    assert.equal(await readFile(target, 'utf8'), 'new\n');
    assert.equal(await readFile(link, 'utf8'), 'new\n');
  });

  it('leaves no temporary files', async () => {
    const path = join(directory, 'clean');

    await replaceFileAtomically(path, 'a\n');
    await replaceFileAtomically(path, 'b\n');

    const leftovers = (await readdir(directory)).filter((name) => name.endsWith('.tmp'));

    assert.deepEqual(leftovers, []);
  });

  it('missing directory raises ENOENT', async () => {
    await assert.rejects(replaceFileAtomically(join(directory, 'absent', 'file'), 'a\n'), { code: 'ENOENT' });
  });
});
