// The class-transformer decorators in config.schema.ts read design-type metadata, which needs this
// polyfill. main.ts loads it for the server, so this test loads it itself.
import 'reflect-metadata';

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import {
  applyEnvOverrides,
  ConfigError,
  type ConfigProblem,
  loadConfig,
  validateConfig,
} from './config.loader.js';

/** Runs `action` and returns the ConfigError it throws. */
function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);

    return error;
  }

  assert.fail('expected a ConfigError');
}

function problemsOf(action: () => unknown): ConfigProblem[] {
  return configErrorOf(action).problems;
}

function problemAt(problems: ConfigProblem[], key: string): ConfigProblem {
  const problem = problems.find((candidate) => candidate.key === key);

  assert.ok(problem, `no problem for ${key} in ${JSON.stringify(problems)}`);

  return problem;
}

describe('validateConfig defaults', () => {
  const config = validateConfig({}, 'test');

  it('http address is loopback', () => {
    assert.equal(config.http.address, '127.0.0.1');
  });

  it('http port', () => {
    assert.equal(config.http.port, 5000);
  });

  it('no external URL', () => {
    assert.equal(config.http.externalUrl, undefined);
  });

  it('no trusted proxies', () => {
    assert.deepEqual(config.http.trustedProxies, []);
  });

  it('storage root resolved', () => {
    assert.equal(config.storage.rootDirectory, resolve('./data'));
  });

  it('upload max age', () => {
    assert.equal(config.storage.uploads.maxAge, '24h');
  });

  it('upload purge interval', () => {
    assert.equal(config.storage.uploads.purgeInterval, '1h');
  });

  it('database type', () => {
    assert.equal(config.database.type, 'sqlite');
  });

  it('database path under storage root', () => {
    assert.equal(config.database.path, join(resolve('./data'), 'wharf.db'));
  });

  it('no upstreams', () => {
    assert.deepEqual(config.upstreams, []);
  });

  it('log level', () => {
    assert.equal(config.log.level, 'info');
  });

  it('metrics enabled', () => {
    assert.equal(config.metrics.enabled, true);
  });

  it('metrics port', () => {
    assert.equal(config.metrics.port, 5001);
  });

  it('result is frozen', () => {
    assert.ok(Object.isFrozen(config));
  });

  it('partial section keeps defaults', () => {
    const partial = validateConfig({ http: { port: 6000 } }, 'test');

    assert.equal(partial.http.address, '127.0.0.1');
  });

  it('database path follows storage root', () => {
    const custom = validateConfig({ storage: { rootDirectory: '/srv/wharf' } }, 'test');

    assert.equal(custom.database.path, join('/srv/wharf', 'wharf.db'));
  });

  it('sizes as plain numbers of bytes', () => {
    const custom = validateConfig({ storage: { manifestCacheSize: 0, minFreeSpace: 1048576 } }, 'test');

    assert.equal(custom.storage.manifestCacheSize, '0');
    assert.equal(custom.storage.minFreeSpace, '1048576');
  });

  it('upstream defaults filled', () => {
    const custom = validateConfig({ upstreams: [{ prefix: 'local', url: 'http://127.0.0.1:5002' }] }, 'test');

    assert.equal(custom.upstreams[0].tagTtl, '5m');
  });
});

describe('validateConfig rejections', () => {
  it('port above 65535', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ http: { port: 70000 } }, 'test')),
      'http.port',
    );

    assert.equal(problem.value, 70000);
    assert.match(problem.reason, /65535/);
  });

  it('negative port', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ http: { port: -1 } }, 'test')),
      'http.port',
    );

    assert.equal(problem.value, -1);
  });

  it('port as string', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ http: { port: '5000' } }, 'test')),
      'http.port',
    );

    assert.equal(problem.value, '5000');
  });

  it('message names key, value and source', () => {
    const error = configErrorOf(() => validateConfig({ http: { port: 70000 } }, 'wharf.yaml'));

    assert.match(error.message, /wharf\.yaml/);
    assert.match(error.message, /http\.port = 70000/);
  });

  it('unknown top-level key', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ serverName: 'x' }, 'test')),
      'serverName',
    );

    assert.equal(problem.reason, 'unknown key');
  });

  it('unknown nested key', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ http: { prot: 5000 } }, 'test')),
      'http.prot',
    );

    assert.equal(problem.value, 5000);
    assert.equal(problem.reason, 'unknown key');
  });

  it('duration without unit', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ storage: { uploads: { maxAge: '24' } } }, 'test')),
      'storage.uploads.maxAge',
    );

    assert.equal(problem.value, '24');
    assert.match(problem.reason, /duration/);
  });

  it('negative size', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ storage: { manifestCacheSize: -5 } }, 'test')),
      'storage.manifestCacheSize',
    );

    assert.match(problem.reason, /size in bytes/);
  });

  it('scrub interval defaults and limits', () => {
    assert.equal(validateConfig({}, 'test').storage.scrub.interval, '168h');
    assert.equal(
      validateConfig({ storage: { scrub: { interval: '0s' } } }, 'test').storage.scrub.interval,
      '0s',
    );

    const tooLong = problemAt(
      problemsOf(() => validateConfig({ storage: { scrub: { interval: '30d' } } }, 'test')),
      'storage.scrub.interval',
    );

    assert.match(tooLong.reason, /between 0s and 24d/);
  });

  it('garbage collection defaults and limits', () => {
    const defaults = validateConfig({}, 'test').storage;

    assert.deepEqual({ ...defaults.gc }, { interval: '24h', delay: '1h' });
    assert.deepEqual(defaults.retention, []);

    const tooLong = problemAt(
      problemsOf(() => validateConfig({ storage: { gc: { interval: '25d' } } }, 'test')),
      'storage.gc.interval',
    );

    assert.match(tooLong.reason, /between 0s and 24d/);
  });

  it('retention rules', () => {
    const rule = {
      repositories: 'team/**',
      keepLast: 10,
      keepTags: ['v*'],
      keepWithin: '30d',
      deleteUntaggedAfter: '7d',
    };

    assert.deepEqual(
      { ...validateConfig({ storage: { retention: [rule] } }, 'test').storage.retention[0] },
      rule,
    );

    const problems = problemsOf(() =>
      validateConfig(
        { storage: { retention: [{ keepLast: -1, keepTags: 'v*', deleteUntaggedAfter: 'a week' }] } },
        'test',
      ),
    );

    assert.match(problemAt(problems, 'storage.retention.0.repositories').reason, /string/);
    assert.match(problemAt(problems, 'storage.retention.0.keepLast').reason, /not be less than 0/);
    assert.match(problemAt(problems, 'storage.retention.0.keepTags').reason, /array/);
    assert.match(problemAt(problems, 'storage.retention.0.deleteUntaggedAfter').reason, /duration/);
  });

  it('cache quota sizes', () => {
    const upstream = { prefix: 'hub', url: 'http://127.0.0.1:5000' };

    assert.equal(
      validateConfig({ upstreams: [{ ...upstream, maxSize: '50GiB' }] }, 'test').upstreams[0].maxSize,
      '50GiB',
    );
    assert.equal(validateConfig({ upstreams: [upstream] }, 'test').upstreams[0].maxSize, undefined);
    assert.match(
      problemAt(
        problemsOf(() => validateConfig({ upstreams: [{ ...upstream, maxSize: 'lots' }] }, 'test')),
        'upstreams.0.maxSize',
      ).reason,
      /size in bytes/,
    );
  });

  it('duration with unknown unit', () => {
    const problem = problemAt(
      problemsOf(() =>
        validateConfig({ upstreams: [{ prefix: 'a', url: 'http://127.0.0.1', timeout: '1w' }] }, 'test'),
      ),
      'upstreams.0.timeout',
    );

    assert.equal(problem.value, '1w');
  });

  it('duplicate upstream prefix', () => {
    const upstreams = [
      { prefix: 'mirror', url: 'http://127.0.0.1:5002' },
      { prefix: 'mirror', url: 'http://127.0.0.1:5003' },
    ];
    const problem = problemAt(
      problemsOf(() => validateConfig({ upstreams }, 'test')),
      'upstreams.1.prefix',
    );

    assert.equal(problem.value, 'mirror');
    assert.equal(problem.reason, 'prefix is used twice');
  });

  it('upstream prefix with slash', () => {
    problemAt(
      problemsOf(() => validateConfig({ upstreams: [{ prefix: 'a/b', url: 'http://127.0.0.1' }] }, 'test')),
      'upstreams.0.prefix',
    );
  });

  it('upstream URL without scheme', () => {
    problemAt(
      problemsOf(() => validateConfig({ upstreams: [{ prefix: 'a', url: '127.0.0.1:5002' }] }, 'test')),
      'upstreams.0.url',
    );
  });

  it('unknown log level', () => {
    problemAt(
      problemsOf(() => validateConfig({ log: { level: 'verbose' } }, 'test')),
      'log.level',
    );
  });

  it('postgres without url', () => {
    const problem = problemAt(
      problemsOf(() => validateConfig({ database: { type: 'postgres' } }, 'test')),
      'database.url',
    );

    assert.match(problem.reason, /required when database.type is postgres/);
  });

  it('postgres not supported yet', () => {
    const problem = problemAt(
      problemsOf(() =>
        validateConfig({ database: { type: 'postgres', url: 'postgres://127.0.0.1/wharf' } }, 'test'),
      ),
      'database.type',
    );

    assert.match(problem.reason, /not supported yet/);
  });

  it('quoted port gives one reason', () => {
    const problems = problemsOf(() => validateConfig({ http: { port: '5077' } }, 'test'));
    const portProblems = problems.filter((problem) => problem.key === 'http.port');

    assert.equal(portProblems.length, 1);
    assert.match(portProblems[0].reason, /integer/);
  });

  it('reports every problem', () => {
    const problems = problemsOf(() =>
      validateConfig({ http: { port: 70000 }, metrics: { port: -1 } }, 'test'),
    );

    problemAt(problems, 'http.port');
    problemAt(problems, 'metrics.port');
  });
});

describe('applyEnvOverrides', () => {
  it('port becomes number', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { WHARF_HTTP__PORT: '6000' });

    assert.deepEqual(raw, { http: { port: 6000 } });
  });

  it('snake case becomes camel case', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { WHARF_STORAGE__ROOT_DIRECTORY: '/srv/wharf' });

    assert.deepEqual(raw, { storage: { rootDirectory: '/srv/wharf' } });
  });

  it('three levels deep', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { WHARF_STORAGE__UPLOADS__MAX_AGE: '12h' });

    assert.deepEqual(raw, { storage: { uploads: { maxAge: '12h' } } });
  });

  it('boolean value', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { WHARF_METRICS__ENABLED: 'false' });

    assert.deepEqual(raw, { metrics: { enabled: false } });
  });

  it('JSON array value', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { WHARF_HTTP__TRUSTED_PROXIES: '["127.0.0.1"]' });

    assert.deepEqual(raw, { http: { trustedProxies: ['127.0.0.1'] } });
  });

  it('keeps sibling keys', () => {
    const raw: Record<string, unknown> = { http: { address: '127.0.0.1', port: 5000 } };

    applyEnvOverrides(raw, { WHARF_HTTP__PORT: '6000' });

    assert.deepEqual(raw, { http: { address: '127.0.0.1', port: 6000 } });
  });

  it('ignores other variables', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { HOME: '/home/user', PATH: '/usr/bin', WHARFX: '1' });

    assert.deepEqual(raw, {});
  });

  it('numeric segment creates array', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, {
      WHARF_UPSTREAMS__0__PREFIX: 'mirror',
      WHARF_UPSTREAMS__0__URL: 'http://127.0.0.1:5002',
    });

    assert.ok(Array.isArray(raw.upstreams), `upstreams is ${JSON.stringify(raw.upstreams)}`);
    assert.deepEqual(raw.upstreams, [{ prefix: 'mirror', url: 'http://127.0.0.1:5002' }]);
  });

  it('numeric segment passes validation', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, {
      WHARF_UPSTREAMS__0__PREFIX: 'mirror',
      WHARF_UPSTREAMS__0__URL: 'http://127.0.0.1:5002',
    });

    assert.equal(validateConfig(raw, 'environment').upstreams[0]?.prefix, 'mirror');
  });
});

describe('loadConfig', () => {
  let directory: string;

  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'wharf-config-'));
  });

  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = join(directory, name);

    writeFileSync(file, text);

    return file;
  }

  it('reads YAML', () => {
    const file = write('wharf.yaml', 'http:\n  port: 6001\nlog:\n  level: debug\n');
    const config = loadConfig(file, {});

    assert.equal(config.http.port, 6001);
    assert.equal(config.log.level, 'debug');
  });

  it('names the variable behind a problem', () => {
    const file = write('env.yaml', 'http:\n  port: 6003\n');
    const problems = problemsOf(() => loadConfig(file, { WHARF_HTTP__PORT: 'abc', WHARF_HTTP_PORT: '1' }));

    problemAt(problems, 'http.port (from WHARF_HTTP__PORT)');
    assert.equal(problemAt(problems, 'httpPort (from WHARF_HTTP_PORT)').reason, 'unknown key');
  });

  it('leaves the command line variables alone', () => {
    const file = write('cli.yaml', 'http:\n  port: 6004\n');
    const config = loadConfig(file, { WHARF_PASSWORD: 'pencil', WHARF_URL: 'http://127.0.0.1:5000' });

    assert.equal(config.http.port, 6004);
  });

  it('does not print secret values', () => {
    const file = write('secret.yaml', 'http:\n  port: 6005\n');
    const error = configErrorOf(() =>
      loadConfig(file, { WHARF_API_KEY: 'pencil', WHARF_HTTP__SECRET: 'ink' }),
    );

    assert.equal(problemAt(error.problems, 'apiKey (from WHARF_API_KEY)').reason, 'unknown key');
    assert.doesNotMatch(error.message, /pencil|ink/);
    assert.match(error.message, /http\.secret \(from WHARF_HTTP__SECRET\) = \[redacted\]/);
    assert.match(error.message, /apiKey \(from WHARF_API_KEY\) = \[redacted\]: unknown key/);
  });

  it('does not print secrets inside keys or values', () => {
    const file = write('secret2.yaml', 'http:\n  port: 6006\n');
    const error = configErrorOf(() =>
      loadConfig(file, {
        WHARF_SECRET_KEY: 'pencil',
        WHARF_PRIVATE_KEY: 'pencil',
        WHARF_DB: '{"user":"app","password":"pencil"}',
        WHARF_HTTP__PORT: 'abc',
      }),
    );

    assert.doesNotMatch(error.message, /pencil/);
    assert.match(error.message, /db \(from WHARF_DB\) = \[redacted\]/);
    assert.match(error.message, /http\.port \(from WHARF_HTTP__PORT\) = "abc"/);
  });

  it('prints paths of secret files', () => {
    const file = write('secret3.yaml', 'http:\n  port: 6007\n');
    const error = configErrorOf(() => loadConfig(file, { WHARF_HTTP__SECRET_FILE: '/run/secrets/x' }));

    assert.match(error.message, /http\.secretFile \(from WHARF_HTTP__SECRET_FILE\) = "\/run\/secrets\/x"/);
  });

  it('reads JSON', () => {
    const file = write('wharf.json', JSON.stringify({ http: { port: 6002 }, metrics: { enabled: false } }));
    const config = loadConfig(file, {});

    assert.equal(config.http.port, 6002);
    assert.equal(config.metrics.enabled, false);
  });

  it('YAML storage root resolved', () => {
    const root = join(directory, 'data');
    const file = write('storage.yaml', `storage:\n  rootDirectory: ${JSON.stringify(root)}\n`);

    assert.equal(loadConfig(file, {}).storage.rootDirectory, root);
  });

  it('environment overrides file', () => {
    const file = write('override.yaml', 'http:\n  port: 6001\n');

    assert.equal(loadConfig(file, { WHARF_HTTP__PORT: '6003' }).http.port, 6003);
  });

  it('empty file gives defaults', () => {
    const file = write('empty.yaml', '');

    assert.equal(loadConfig(file, {}).http.port, 5000);
  });

  it('missing file', () => {
    const file = join(directory, 'missing.yaml');
    const problems = problemsOf(() => loadConfig(file, {}));

    assert.equal(problems[0]?.key, '(file)');
    assert.equal(problems[0]?.value, file);
  });

  it('invalid YAML', () => {
    const file = write('broken.yaml', 'http:\n  port: [1\n');
    const problems = problemsOf(() => loadConfig(file, {}));

    assert.equal(problems[0]?.key, '(file)');
  });

  it('invalid JSON', () => {
    const file = write('broken.json', '{"http": ');
    const problems = problemsOf(() => loadConfig(file, {}));

    assert.equal(problems[0]?.key, '(file)');
  });

  it('list at root', () => {
    const file = write('list.yaml', '- a\n- b\n');
    const problems = problemsOf(() => loadConfig(file, {}));

    assert.equal(problems[0]?.key, '(root)');
  });

  it('invalid value names file', () => {
    const file = write('bad-port.yaml', 'http:\n  port: 70000\n');

    assert.equal(configErrorOf(() => loadConfig(file, {})).source, file);
  });
});

describe('validateConfig auth and access', () => {
  it('leaves auth off and gives the default policy when neither section is set', () => {
    const config = validateConfig({}, 'test');

    assert.equal(config.auth, undefined);
    assert.deepEqual(config.access.anonymous.networks, ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(Object.keys(config.access.repositories), ['**']);
  });

  it('fills auth defaults and puts the signing key in the data directory', () => {
    const config = validateConfig(
      { storage: { rootDirectory: '/srv/wharf' }, auth: { htpasswd: { path: '/etc/wharf/htpasswd' } } },
      'test',
    );

    assert.equal(config.auth?.token.signingKeyFile, '/srv/wharf/token-signing.pem');
    assert.equal(config.auth?.token.ttl, '5m');
    assert.equal(config.auth?.forwardAuth.enabled, false);
  });

  it('accepts the policy shape of the design document', () => {
    const config = validateConfig(
      {
        auth: {},
        access: {
          anonymous: { networks: ['127.0.0.0/8', '::1/128'] },
          repositories: {
            '**': { anonymous: ['read'], authenticated: ['read'] },
            'team/**': {
              users: { alice: ['read', 'create', 'update', 'delete'] },
              groups: { developers: ['read'] },
            },
          },
          admins: { users: ['admin'], groups: ['registry-admins'] },
          metrics: { anonymous: true },
        },
      },
      'test',
    );

    assert.deepEqual(config.access.admins.groups, ['registry-admins']);
  });

  const rejected: [string, Record<string, unknown>, string, RegExp][] = [
    [
      'an unknown action',
      { access: { repositories: { '**': { anonymous: ['write'] } } } },
      'access.repositories.**.anonymous',
      /list of actions/,
    ],
    [
      'an unknown rule key',
      { access: { repositories: { '**': { everyone: ['read'] } } } },
      'access.repositories.**.everyone',
      /unknown key/,
    ],
    [
      'users that are not a mapping',
      { access: { repositories: { '**': { users: ['alice'] } } } },
      'access.repositories.**.users',
      /map each name/,
    ],
    [
      'a user with a bad action list',
      { access: { repositories: { a: { users: { alice: 'read' } } } } },
      'access.repositories.a.users.alice',
      /list of actions/,
    ],
    [
      'a glob with upper case',
      { access: { repositories: { 'Team/**': { anonymous: ['read'] } } } },
      'access.repositories.Team/**',
      /glob/,
    ],
    [
      'a rule that is not a mapping',
      { access: { repositories: { a: 'read' } } },
      'access.repositories.a',
      /mapping/,
    ],
    [
      'a bad anonymous network',
      { access: { anonymous: { networks: ['10.0.0.0/40'] } } },
      'access.anonymous.networks.0',
      /CIDR/,
    ],
    [
      'a glob with three stars',
      { auth: {}, access: { repositories: { 'team/***': { anonymous: ['read'] } } } },
      'access.repositories.team/***',
      /glob/,
    ],
    [
      'access rules without an auth section',
      { access: { repositories: { '**': { anonymous: ['read'] } } } },
      'access',
      /only with an auth section/,
    ],
    [
      'a single proxy instead of a list',
      { http: { trustedProxies: '10.0.0.1' } },
      'http.trustedProxies',
      /array/,
    ],
    [
      'a single network instead of a list',
      { auth: {}, access: { anonymous: { networks: '127.0.0.0/8' } } },
      'access.anonymous.networks',
      /array/,
    ],
    ['upstreams that are not a list', { upstreams: 'docker' }, 'upstreams', /array/],
    [
      'rules that are not a mapping',
      { auth: {}, access: { repositories: 'all' } },
      'access.repositories',
      /object/,
    ],
    [
      'the metrics port on the main port',
      { http: { port: 5000 }, metrics: { port: 5000 } },
      'metrics.port',
      /differ/,
    ],
    ['a bad trusted proxy', { http: { trustedProxies: ['proxy.local'] } }, 'http.trustedProxies.0', /CIDR/],
    [
      'OIDC without a redirect base',
      { auth: { oidc: { issuer: 'https://id.example.com/application/o/wharf/', clientId: 'wharf' } } },
      'auth.oidc.redirectBase',
      /redirectBase or http.externalUrl/,
    ],
    ['an unknown auth key', { auth: { ldap: {} } }, 'auth.ldap', /unknown key/],
    ['a token ttl without a unit', { auth: { token: { ttl: '300' } } }, 'auth.token.ttl', /duration/],
  ];

  for (const [title, raw, key, reason] of rejected) {
    it(`rejects ${title}`, () => {
      const problem = problemAt(
        problemsOf(() => validateConfig(raw, 'test')),
        key,
      );

      assert.match(problem.reason, reason);
    });
  }
});

describe('validateConfig statistics', () => {
  it('samples every minute and keeps two weeks by default', () => {
    const config = validateConfig({}, 'test');

    assert.equal(config.statistics.sampleInterval, '1m');
    assert.equal(config.statistics.retention, '14d');
  });

  it('accepts the shortest interval', () => {
    const config = validateConfig({ statistics: { sampleInterval: '1s', retention: '1s' } }, 'test');

    assert.equal(config.statistics.sampleInterval, '1s');
  });

  it('reads the interval from the environment', () => {
    const raw: Record<string, unknown> = {};

    applyEnvOverrides(raw, { WHARF_STATISTICS__SAMPLE_INTERVAL: '30s' });

    assert.equal(validateConfig(raw, 'environment').statistics.sampleInterval, '30s');
  });

  const rejected: [string, Record<string, unknown>, string, RegExp][] = [
    ['an interval below 1s', { sampleInterval: '500ms' }, 'statistics.sampleInterval', /between 1s and 24h/],
    ['an interval above 24h', { sampleInterval: '2d' }, 'statistics.sampleInterval', /between 1s and 24h/],
    ['an interval without a unit', { sampleInterval: '60' }, 'statistics.sampleInterval', /duration/],
    ['an interval as a number', { sampleInterval: 60 }, 'statistics.sampleInterval', /duration/],
    ['a retention without a unit', { retention: '14' }, 'statistics.retention', /duration/],
    [
      'a retention shorter than the interval',
      { sampleInterval: '5m', retention: '1m' },
      'statistics.retention',
      /at least sampleInterval \(5m\)/,
    ],
    ['an unknown statistics key', { interval: '1m' }, 'statistics.interval', /unknown key/],
  ];

  for (const [title, statistics, key, reason] of rejected) {
    it(`rejects ${title}`, () => {
      const problem = problemAt(
        problemsOf(() => validateConfig({ statistics }, 'test')),
        key,
      );

      assert.match(problem.reason, reason);
    });
  }

  it('names only the interval when it is invalid', () => {
    const problems = problemsOf(() =>
      validateConfig({ statistics: { sampleInterval: 'often', retention: '1h' } }, 'test'),
    );

    assert.deepEqual(
      problems.map((problem) => problem.key),
      ['statistics.sampleInterval'],
    );
  });

  it('message names the key and value', () => {
    const error = configErrorOf(() =>
      validateConfig({ statistics: { sampleInterval: '100ms' } }, 'wharf.yaml'),
    );

    assert.match(
      error.message,
      /statistics\.sampleInterval = "100ms": sampleInterval must be between 1s and 24h/,
    );
  });
});

describe('shipped configuration files', () => {
  const repositoryRoot = findPackage(import.meta.url).root;

  for (const file of ['config/wharf.yaml', 'config/wharf.auth.example.yaml']) {
    it(`${file} is valid`, () => {
      assert.doesNotThrow(() => loadConfig(join(repositoryRoot, file)));
    });
  }

  it('the auth example turns on htpasswd, OIDC and tokens', () => {
    const config = loadConfig(join(repositoryRoot, 'config/wharf.auth.example.yaml'));

    assert.equal(config.auth?.oidc?.issuer, 'https://auth.example.com/application/o/wharf/');
    assert.equal(config.auth?.htpasswd?.path, '/run/secrets/wharf-htpasswd');
    assert.deepEqual(config.access.admins.groups, ['registry-admins']);
  });
});
