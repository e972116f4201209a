/**
 * The `wharf` command line, run as a user runs it: `node dist/src/main.js ...` in its own process.
 * Covers help and version, `config check` on good and broken files, the user commands on an
 * htpasswd file, and that a running Wharf signs users in from the file those commands write.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import bcrypt from 'bcryptjs';

import { parseHtpasswd } from '../../src/auth/htpasswd.js';
import { findPackage } from '../../src/common/package-info.js';
import { basicAuthorization } from '../support/htpasswd.js';
import { type CliResult, runWharfCli, wharfMainScript as mainScript } from '../support/wharf-cli.js';
import { startWharf } from '../support/wharf-server.js';

/** Maximum run time of the interactive prompt test; bcrypt at cost 12 takes well under a second. */
const commandTimeoutMs = 30_000;

/** Runs `wharf ARGS` in `cwd` with `input` on standard input. */
function wharf(args: string[], options: { cwd: string; input?: string }): Promise<CliResult> {
  return runWharfCli(args, options);
}

function basic(user: string, password: string): string {
  return basicAuthorization(user, password);
}

describe('wharf command line', () => {
  let directory: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'wharf-cli-'));
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const run = (args: string[], input?: string) => wharf(args, { cwd: directory, input });

  describe('help and version', () => {
    const helps: [command: string[], expected: RegExp[]][] = [
      [[], [/serve/, /config/, /user/, /--version/]],
      [['serve'], [/--config <file>/, /WHARF_STORAGE__ROOT_DIRECTORY/]],
      [['config'], [/check/]],
      [
        ['config', 'check'],
        [/\[file\]/, /--config <file>/],
      ],
      [['user'], [/add/, /delete/, /list/]],
      [
        ['user', 'add'],
        [/<name>/, /--password-stdin/, /--file <path>/, /72 bytes/],
      ],
      [
        ['user', 'delete'],
        [/<name>/, /--file <path>/],
      ],
      [
        ['user', 'list'],
        [/--file <path>/, /never their hashes/],
      ],
    ];

    for (const [command, expected] of helps) {
      it(`${['wharf', ...command].join(' ')} --help`, async () => {
        const result = await run([...command, '--help']);

        assert.equal(result.code, 0, result.stderr);

        for (const pattern of expected) {
          assert.match(result.stdout, pattern);
        }
      });
    }

    it('--version prints package version', async () => {
      const { version } = findPackage(import.meta.url);
      const result = await run(['--version']);

      assert.equal(result.code, 0);
      assert.equal(result.stdout.trim(), version);
    });

    it('no command exits 2', async () => {
      const result = await run([]);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /Usage: wharf/);
    });

    it('unknown command exits 2', async () => {
      const result = await run(['frobnicate']);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /unknown command 'frobnicate'/);
    });

    it('unknown option exits 2', async () => {
      const result = await run(['config', 'check', '--strict']);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /unknown option '--strict'/);
    });
  });

  describe('config check', () => {
    it('valid file prints valid', async () => {
      await writeFile(join(directory, 'good.yaml'), 'http:\n  port: 5000\nstorage:\n  minFreeSpace: 2GiB\n');

      const result = await run(['config', 'check', 'good.yaml']);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'good.yaml: valid\n');
    });

    it('--config names the file too', async () => {
      await writeFile(join(directory, 'good.json'), JSON.stringify({ http: { port: 5000 } }));

      const result = await run(['config', 'check', '--config', 'good.json']);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'good.json: valid\n');
    });

    it('two different files exit 2', async () => {
      const result = await run(['config', 'check', 'good.yaml', '--config', 'good.json']);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /once/);
    });

    it('missing file exits 2', async () => {
      const result = await run(['config', 'check', 'absent.yaml']);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /\(file\) = "absent\.yaml": ENOENT/);
    });

    const broken: [label: string, yaml: string, problem: RegExp][] = [
      ['wrong type', 'http:\n  port: "abc"\n', /^ {2}http\.port = "abc": port must be an integer number$/m],
      ['unknown key', 'http:\n  prot: 5000\n', /^ {2}http\.prot = 5000: unknown key$/m],
      [
        'bad duration',
        'storage:\n  uploads:\n    maxAge: 5 days\n',
        /^ {2}storage\.uploads\.maxAge = "5 days": maxAge must be a duration with a unit/m,
      ],
      [
        'bad size',
        'storage:\n  minFreeSpace: lots\n',
        /^ {2}storage\.minFreeSpace = "lots": minFreeSpace must be a size/m,
      ],
      [
        'bad grace period',
        'http:\n  shutdownGracePeriod: 10\n',
        /^ {2}http\.shutdownGracePeriod = 10: shutdownGracePeriod must be a duration/m,
      ],
      [
        'missing htpasswd file',
        'auth:\n  htpasswd:\n    path: ./no-such-htpasswd\n',
        /^ {2}auth\.htpasswd\.path = ".*\/no-such-htpasswd": file not found; create it with "wharf user add NAME/m,
      ],
      [
        'missing client secret file',
        'http:\n  externalUrl: https://registry.example.com\nauth:\n  oidc:\n    issuer: https://auth.example.com/application/o/wharf/\n    clientId: wharf\n    clientSecretFile: ./no-such-secret\n',
        /^ {2}auth\.oidc\.clientSecretFile = "\.\/no-such-secret": file not found$/m,
      ],
    ];

    for (const [label, yaml, problem] of broken) {
      it(`${label} exits 2 naming it`, async () => {
        const file = `broken-${label.replaceAll(' ', '-')}.yaml`;

        await writeFile(join(directory, file), yaml);

        const result = await run(['config', 'check', file]);

        assert.equal(result.code, 2);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, new RegExp(`^invalid configuration in ${file}:$`, 'm'));
        assert.match(result.stderr, problem);
      });
    }

    it('existing htpasswd file is valid', async () => {
      await writeFile(join(directory, 'present-htpasswd'), '');
      await writeFile(
        join(directory, 'with-htpasswd.yaml'),
        'auth:\n  htpasswd:\n    path: ./present-htpasswd\n',
      );

      const result = await run(['config', 'check', 'with-htpasswd.yaml']);

      assert.equal(result.code, 0, result.stderr);
    });
  });

  describe('serve', () => {
    it('names a port that is taken', async () => {
      const holder = createServer();

      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));

      const port = (holder.address() as AddressInfo).port;
      const configPath = join(directory, 'taken-port.json');

      await writeFile(
        configPath,
        JSON.stringify({
          http: { address: '127.0.0.1', port },
          storage: { rootDirectory: join(directory, 'taken-port-data') },
          metrics: { enabled: false },
          upstreams: [],
        }),
      );

      try {
        const result = await run(['serve', '--config', configPath]);

        // An exit code shows that the process ended by itself, not by the command timeout.
        assert.equal(result.code, 1, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(`failed to start: 127\\.0\\.0\\.1 port ${port} is already in use by another process`),
        );
        assert.match(result.stderr, /http\.port \(WHARF_HTTP__PORT\)/);
        assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
      } finally {
        await new Promise<void>((resolve) => holder.close(() => resolve()));
      }
    });
  });

  describe('user commands', () => {
    const password = 'cli-test-password-1';
    const file = () => join(directory, 'users.htpasswd');

    it('user add creates file 0600', async () => {
      const result = await run(
        ['user', 'add', 'alice', '--file', file(), '--password-stdin'],
        `${password}\n`,
      );

      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /user "alice" added/);
      assert.equal((await stat(file())).mode & 0o777, 0o600);
      assert.match(await readFile(file(), 'utf8'), /^alice:\$2b\$12\$[./A-Za-z0-9]{53}\n$/);
    });

    it('user add second user', async () => {
      const result = await run(
        ['user', 'add', 'bob', '--file', file(), '--password-stdin'],
        'bob-password\n',
      );

      assert.equal(result.code, 0, result.stderr);
    });

    it('user add existing user replaces line', async () => {
      const before = await readFile(file(), 'utf8');
      const result = await run(
        ['user', 'add', 'alice', '--file', file(), '--password-stdin'],
        `${password}\n`,
      );
      const after = await readFile(file(), 'utf8');

      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /password of user "alice" changed/);
      assert.notEqual(after, before);
      assert.equal(after.match(/^alice:/gm)?.length, 1);
    });

    it('user list prints names only', async () => {
      const result = await run(['user', 'list', '--file', file()]);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'alice\nbob\n');
    });

    it('user delete removes the user', async () => {
      const result = await run(['user', 'delete', 'bob', '--file', file()]);
      const list = await run(['user', 'list', '--file', file()]);

      assert.equal(result.code, 0, result.stderr);
      assert.equal(list.stdout, 'alice\n');
    });

    it('user delete unknown user exits 1', async () => {
      const result = await run(['user', 'delete', 'nobody', '--file', file()]);

      assert.equal(result.code, 1);
      assert.match(result.stderr, /user "nobody" not found/);
    });

    it('user list of missing file exits 1', async () => {
      const result = await run(['user', 'list', '--file', join(directory, 'absent')]);

      assert.equal(result.code, 1);
      assert.match(result.stderr, /does not exist/);
    });

    it('file comes from the config', async () => {
      await writeFile(join(directory, 'users-config.yaml'), 'auth:\n  htpasswd:\n    path: ./config-users\n');

      const added = await run(
        ['user', 'add', 'carol', '--config', 'users-config.yaml', '--password-stdin'],
        'carol-password\n',
      );
      const list = await run(['user', 'list', '--config', 'users-config.yaml']);

      assert.equal(added.code, 0, added.stderr);
      assert.equal(list.stdout, 'carol\n');
      assert.ok(existsSync(join(directory, 'config-users')));
    });

    it('config without htpasswd exits 2', async () => {
      const result = await run(['user', 'list', '--config', 'good.yaml']);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /sets no auth\.htpasswd\.path/);
    });

    const rejected: [label: string, args: string[], input: string, message: RegExp][] = [
      ['73-byte password', ['dave'], `${'x'.repeat(73)}\n`, /73 bytes/],
      ['empty password', ['dave'], '\n', /password is empty/],
      ['name with colon', ['da:ve'], 'password\n', /cannot contain ":"/],
    ];

    for (const [label, args, input, message] of rejected) {
      it(`${label} exits 2`, async () => {
        const before = await readFile(file(), 'utf8');
        const result = await run(['user', 'add', ...args, '--file', file(), '--password-stdin'], input);

        assert.equal(result.code, 2);
        assert.match(result.stderr, message);
        assert.equal(await readFile(file(), 'utf8'), before);
      });
    }

    it('no terminal without --password-stdin exits 2', async () => {
      const result = await run(['user', 'add', 'dave', '--file', file()]);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /--password-stdin/);
    });

    it('password never in the output', async () => {
      const secret = 'never-printed-password';
      const results = [
        await run(['user', 'add', 'erin', '--file', file(), '--password-stdin'], `${secret}\n`),
        await run(['user', 'list', '--file', file()]),
        await run(['user', 'delete', 'erin', '--file', file()]),
      ];

      for (const result of results) {
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stdout + result.stderr, new RegExp(secret));
        assert.doesNotMatch(result.stdout + result.stderr, /\$2[aby]\$/);
      }
    });

    it('terminal prompt does not echo', { timeout: commandTimeoutMs }, async () => {
      // script(1) from util-linux runs the command on a pseudo-terminal, as an interactive shell would.
      const secret = 'typed-on-a-terminal';
      const command = `'${process.execPath}' '${mainScript}' user add frank --file '${file()}'`;
      const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
        cwd: directory,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), commandTimeoutMs);
      let output = '';
      let answered = 0;

      // Typing before the prompt would reach the terminal while it still echoes, so each answer waits
      // for its prompt.
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();

        const prompts = (output.match(/password: /gi) ?? []).length;

        if (prompts > answered) {
          answered++;
          child.stdin.write(`${secret}\r`);
        }
      });

      const [code] = (await once(child, 'exit')) as [number | null];

      clearTimeout(timer);
      assert.equal(code, 0, output);
      assert.equal(answered, 2);
      assert.match(output, /user "frank" added/);
      assert.doesNotMatch(output, new RegExp(secret));

      const { hashes } = parseHtpasswd(await readFile(file(), 'utf8'));

      assert.equal(await bcrypt.compare(secret, hashes.get('frank') ?? ''), true);
    });
  });

  describe('running Wharf reads the file', () => {
    const htpasswd = () => join(directory, 'served.htpasswd');
    const add = (user: string, secret: string) =>
      run(['user', 'add', user, '--file', htpasswd(), '--password-stdin'], `${secret}\n`);

    it('token for users added, none after delete', { timeout: 60_000 }, async () => {
      assert.equal((await add('grace', 'grace-password')).code, 0);

      const server = await startWharf({
        config: {
          auth: { htpasswd: { path: htpasswd() }, failedLogins: { limit: 100, window: '1m', delay: '10ms' } },
        },
      });

      const tokenStatus = async (user: string, secret: string) => {
        const response = await fetch(`${server.baseUrl}/auth/token?service=wharf`, {
          headers: { authorization: basic(user, secret) },
          signal: AbortSignal.timeout(10_000),
        });

        await response.arrayBuffer();

        return response.status;
      };

      /** Polls for up to 5 s, because the server checks the file for changes once a second. */
      const eventually = async (user: string, secret: string, status: number) => {
        for (let attempt = 0; attempt < 50 && (await tokenStatus(user, secret)) !== status; attempt++) {
          await sleep(100);
        }

        return tokenStatus(user, secret);
      };

      try {
        const response = await fetch(`${server.baseUrl}/auth/token?service=wharf`, {
          headers: { authorization: basic('grace', 'grace-password') },
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await response.json()) as { token?: string };

        assert.equal(response.status, 200);
        assert.ok(body.token);
        assert.equal(await tokenStatus('grace', 'wrong-password'), 401);

        assert.equal((await add('heidi', 'heidi-password')).code, 0);
        assert.equal(await eventually('heidi', 'heidi-password', 200), 200);

        assert.equal((await run(['user', 'delete', 'grace', '--file', htpasswd()])).code, 0);
        assert.equal(await eventually('grace', 'grace-password', 401), 401);
      } finally {
        await server.dispose();
      }
    });
  });
});
