import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { validateConfig } from '../config/config.loader.js';
import { UpstreamRoutes } from './upstream-routes.js';

// No request is sent in these tests, but the URLs still point at loopback ports.
const dockerUrl = 'http://127.0.0.1:5901';
const ghcrUrl = 'http://127.0.0.1:5902';

function routesFor(upstreams: Record<string, unknown>[]): UpstreamRoutes {
  return new UpstreamRoutes(validateConfig({ upstreams }, 'upstream-routes test'));
}

describe('UpstreamRoutes.match', () => {
  const routes = routesFor([
    { prefix: 'docker', url: dockerUrl, dockerHub: true },
    { prefix: 'ghcr', url: `${ghcrUrl}/` },
  ]);

  const cases: [name: string, prefix: string, remoteName: string, localName: string][] = [
    ['docker/nginx', 'docker', 'library/nginx', 'docker/library/nginx'],
    ['docker/library/nginx', 'docker', 'library/nginx', 'docker/library/nginx'],
    ['docker/org/app', 'docker', 'org/app', 'docker/org/app'],
    ['docker/org/team/app', 'docker', 'org/team/app', 'docker/org/team/app'],
    ['ghcr/org/app', 'ghcr', 'org/app', 'ghcr/org/app'],
    ['ghcr/app', 'ghcr', 'app', 'ghcr/app'],
  ];

  for (const [name, prefix, remoteName, localName] of cases) {
    it(`${name} upstream prefix`, () => {
      assert.equal(routes.match(name)?.upstream.prefix, prefix);
    });

    it(`${name} remote name`, () => {
      assert.equal(routes.match(name)?.remoteName, remoteName);
    });

    it(`${name} local name`, () => {
      assert.equal(routes.match(name)?.localName, localName);
    });
  }

  const unmatched: [label: string, name: string][] = [
    ['unknown prefix', 'quay/org/app'],
    ['one-segment name', 'nginx'],
    ['bare upstream prefix', 'docker'],
    ['prefix as later segment', 'org/docker/nginx'],
  ];

  for (const [label, name] of unmatched) {
    it(`${label} is local`, () => {
      assert.equal(routes.match(name), undefined);
    });
  }
});

describe('UpstreamRoutes configuration', () => {
  let directory: string;

  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'wharf-upstream-routes-'));
  });

  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('removes trailing URL slash', () => {
    const routes = routesFor([{ prefix: 'ghcr', url: `${ghcrUrl}/` }]);

    assert.equal(routes.all[0].url, ghcrUrl);
  });

  it('lists every upstream', () => {
    const routes = routesFor([
      { prefix: 'docker', url: dockerUrl, dockerHub: true },
      { prefix: 'ghcr', url: ghcrUrl },
    ]);

    assert.deepEqual(
      routes.all.map((upstream) => upstream.prefix),
      ['docker', 'ghcr'],
    );
  });

  it('reads and trims password file', () => {
    const passwordFile = join(directory, 'password');

    writeFileSync(passwordFile, '  s3cret-value \n');

    const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl, username: 'reader', passwordFile }]);

    assert.deepEqual(routes.all[0].credentials, { username: 'reader', password: 's3cret-value' });
  });

  it('password without username ignored', () => {
    const passwordFile = join(directory, 'password-only');

    writeFileSync(passwordFile, 's3cret-value\n');

    const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl, passwordFile }]);

    assert.equal(routes.all[0].credentials, undefined);
  });

  it('no credentials by default', () => {
    const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl }]);

    assert.equal(routes.all[0].credentials, undefined);
  });

  it('reads CA file', () => {
    const caFile = join(directory, 'ca.pem');

    writeFileSync(caFile, 'PEM TEXT\n');

    const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl, caFile }]);

    assert.equal(routes.all[0].ca, 'PEM TEXT\n');
  });

  const durations: [
    label: string,
    settings: Record<string, string>,
    field: 'tagTtlMs' | 'timeoutMs' | 'notFoundTtlMs',
    expected: number,
  ][] = [
    ['default tagTtl', {}, 'tagTtlMs', 300_000],
    ['default timeout', {}, 'timeoutMs', 30_000],
    ['default notFoundTtl', {}, 'notFoundTtlMs', 30_000],
    ['tagTtl in hours', { tagTtl: '2h' }, 'tagTtlMs', 7_200_000],
    ['tagTtl of zero', { tagTtl: '0s' }, 'tagTtlMs', 0],
    ['timeout in milliseconds', { timeout: '500ms' }, 'timeoutMs', 500],
    ['fractional timeout', { timeout: '1.5s' }, 'timeoutMs', 1_500],
    ['notFoundTtl in minutes', { notFoundTtl: '10m' }, 'notFoundTtlMs', 600_000],
    ['notFoundTtl in days', { notFoundTtl: '1d' }, 'notFoundTtlMs', 86_400_000],
  ];

  for (const [label, settings, field, expected] of durations) {
    it(`parses ${label}`, () => {
      const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl, ...settings }]);

      assert.equal(routes.all[0][field], expected);
    });
  }

  it('tlsVerify defaults on', () => {
    const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl }]);

    assert.equal(routes.all[0].tlsVerify, true);
  });

  it('dockerHub defaults off', () => {
    const routes = routesFor([{ prefix: 'ghcr', url: ghcrUrl }]);

    assert.equal(routes.all[0].dockerHub, false);
  });
});
