import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { findPackage } from '../../../common/package-info.js';
import type { FileFindings, FoundPackage } from '../inventory.js';
import { npmCollector } from './npm.js';

const root = findPackage(import.meta.url).root;
const fixtures = join(root, 'test/fixtures/lockfiles/npm');
const megabyte = 1024 * 1024;

/** Runs the collector on bytes as a layer walker hands them over, in chunks of `chunkSize`. */
function collect(
  path: string,
  data: Buffer,
  maxBytes = 16 * megabyte,
  chunkSize = 4096,
): Promise<FileFindings> {
  const chunks: Buffer[] = [];

  for (let offset = 0; offset < data.length; offset += chunkSize) {
    chunks.push(data.subarray(offset, offset + chunkSize));
  }

  return npmCollector().collect(
    { path, size: data.length, mode: 0o644, content: Readable.from(chunks) },
    maxBytes,
  );
}

function nameVersions(packages: FoundPackage[]): string[] {
  return packages.map((entry) => `${entry.name}@${entry.version}`).sort();
}

/** Lists `node_modules/<name>` and `node_modules/@scope/<name>` folders of an installed tree. */
function installedFolders(nodeModules: string): string[] {
  return readdirSync(nodeModules).flatMap((entry) => {
    if (entry.startsWith('.')) {
      return [];
    }

    if (entry.startsWith('@')) {
      return readdirSync(join(nodeModules, entry)).map((name) => `${entry}/${name}`);
    }

    return [entry];
  });
}

describe('npm collector', () => {
  describe('wants', () => {
    const collector = npmCollector();
    const cases: [string, boolean][] = [
      ['/app/package-lock.json', true],
      ['/app/npm-shrinkwrap.json', true],
      ['/app/node_modules/express/package.json', true],
      ['/app/node_modules/@nestjs/core/package.json', true],
      ['/usr/lib/node_modules/npm/node_modules/semver/package.json', true],
      ['/app/package.json', false],
      ['/app/node_modules/express/lib/package.json', false],
      ['/app/node_modules/@nestjs/package.json', false],
      ['/app/node_modules/.package-lock.json', false],
      ['/app/node_modules/some-lib/package-lock.json', false],
      ['/app/node_modules/.bin/package.json', false],
    ];

    for (const [path, wanted] of cases) {
      it(`${wanted ? 'wants' : 'skips'} ${path}`, () => {
        assert.equal(collector.wants(path, 100, 0o644), wanted);
      });
    }
  });

  it('reads this project lockfile (version 3)', async () => {
    const data = readFileSync(join(root, 'package-lock.json'));
    const lockfile = JSON.parse(data.toString()) as { lockfileVersion: number };
    const { packages, warnings } = await collect('/app/package-lock.json', data);
    const yauzl = packages.find((entry) => entry.name === 'yauzl');
    const scoped = packages.find((entry) => entry.name === '@types/yauzl');

    assert.equal(lockfile.lockfileVersion, 3);
    assert.deepEqual(warnings, []);
    assert.ok(packages.length > 100, `${packages.length} packages`);
    assert.ok(!packages.some((entry) => entry.name === 'wharf'), 'the root entry is skipped');
    assert.ok(yauzl);
    assert.equal(yauzl.purl, `pkg:npm/yauzl@${yauzl.version}`);
    assert.deepEqual(yauzl.licenses, ['MIT']);
    assert.ok(scoped);
    assert.equal(scoped.purl, `pkg:npm/%40types/yauzl@${scoped.version}`);
  });

  it('agrees with the installed package.json files', async () => {
    const nodeModules = join(root, 'node_modules');
    const locked = await collect('/app/package-lock.json', readFileSync(join(root, 'package-lock.json')));
    const lockedKeys = new Set(nameVersions(locked.packages));
    const folders = installedFolders(nodeModules);
    const missing: string[] = [];

    for (const folder of folders) {
      const path = join(nodeModules, folder, 'package.json');

      if (!existsSync(path)) {
        continue;
      }

      const { packages, warnings } = await collect(
        `/app/node_modules/${folder}/package.json`,
        readFileSync(path),
      );

      assert.deepEqual(warnings, [], folder);
      assert.equal(packages.length, 1, folder);
      missing.push(...nameVersions(packages).filter((key) => !lockedKeys.has(key)));
    }

    assert.ok(folders.length > 100, `${folders.length} installed folders`);
    assert.deepEqual(missing, []);
  });

  it('reads an installed package.json with its license', async () => {
    const path = join(root, 'node_modules/@types/yauzl/package.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { version: string; license: string };
    const { packages, warnings } = await collect(
      '/app/node_modules/@types/yauzl/package.json',
      readFileSync(path),
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(packages, [
      {
        type: 'npm',
        name: '@types/yauzl',
        version: manifest.version,
        purl: `pkg:npm/%40types/yauzl@${manifest.version}`,
        licenses: [manifest.license],
      },
    ]);
  });

  it('reads a version 1 lockfile tree', async () => {
    const { packages, warnings } = await collect(
      '/srv/package-lock.json',
      readFileSync(join(fixtures, 'package-lock-v1.json')),
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(nameVersions(packages), [
      '@types/node@26.6.11',
      '@types/yauzl@2.10.3',
      'debug@2.6.9',
      'ms@1.0.0',
      'ms@2.0.0',
      'ms@2.1.3',
      'undici-types@8.9.0',
    ]);
    assert.ok(packages.every((entry) => entry.licenses === undefined));
  });

  it('reads a version 2 lockfile without its workspace', async () => {
    const { packages, warnings } = await collect(
      '/srv/package-lock.json',
      readFileSync(join(fixtures, 'package-lock-v2.json')),
    );
    const alias = packages.find((entry) => entry.version === '1.0.0');

    assert.deepEqual(warnings, []);
    assert.deepEqual(nameVersions(packages), [
      '@types/node@26.6.11',
      '@types/yauzl@2.10.3',
      'debug@2.6.9',
      'ms@1.0.0',
      'ms@2.0.0',
      'ms@2.1.3',
      'undici-types@8.9.0',
    ]);
    assert.deepEqual(alias, {
      type: 'npm',
      name: 'ms',
      version: '1.0.0',
      purl: 'pkg:npm/ms@1.0.0',
      licenses: ['MIT'],
    });
  });

  it('skips link entries and workspace folders', async () => {
    const lockfile = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'packages/tool': { name: 'tool', version: '0.3.0' },
        'node_modules/tool': { resolved: 'packages/tool', link: true, version: '0.3.0' },
        'node_modules/tool/node_modules/kept': { version: '2.0.0' },
      },
    };
    const { packages } = await collect('/srv/package-lock.json', Buffer.from(JSON.stringify(lockfile)));

    assert.deepEqual(nameVersions(packages), ['kept@2.0.0']);
  });

  it('skips git and file sources of a version 1 lockfile', async () => {
    const lockfile = {
      lockfileVersion: 1,
      dependencies: {
        local: { version: 'file:../local' },
        forked: { version: 'github:someone/forked#5e1f0c1' },
        kept: { version: '1.2.3' },
      },
    };
    const { packages } = await collect('/srv/package-lock.json', Buffer.from(JSON.stringify(lockfile)));

    assert.deepEqual(nameVersions(packages), ['kept@1.2.3']);
  });

  describe('bad input', () => {
    it('reports a truncated lockfile', async () => {
      const data = readFileSync(join(root, 'package-lock.json'));
      const { packages, warnings } = await collect(
        '/app/package-lock.json',
        data.subarray(0, data.length / 2),
      );

      assert.deepEqual(packages, []);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^\/app\/package-lock\.json: invalid JSON: /);
    });

    it('reports binary data', async () => {
      const { warnings } = await collect('/app/package-lock.json', Buffer.from([0x7b, 0x00, 0xff, 0x7d]));

      assert.deepEqual(warnings, ['/app/package-lock.json: the file contains binary data and was not read']);
    });

    it('reports an oversized lockfile', async () => {
      const data = readFileSync(join(fixtures, 'package-lock-v2.json'));
      const { packages, warnings } = await collect('/app/package-lock.json', data, 1024);

      assert.deepEqual(packages, []);
      assert.deepEqual(warnings, [
        `/app/package-lock.json: the file has ${data.length} bytes, more than the limit of 1024 bytes, and was not read`,
      ]);
    });

    it('reports JSON that is not an object', async () => {
      const { warnings } = await collect('/app/package-lock.json', Buffer.from('[1, 2]'));

      assert.deepEqual(warnings, ['/app/package-lock.json: expected a JSON object']);
    });

    it('reports a lockfile with no packages', async () => {
      const { warnings } = await collect('/app/package-lock.json', Buffer.from('{"lockfileVersion": 3}'));

      assert.deepEqual(warnings, [
        '/app/package-lock.json: lockfileVersion 3 with neither a packages nor a dependencies object',
      ]);
    });

    it('reports an installed package.json without a version', async () => {
      const { packages, warnings } = await collect(
        '/app/node_modules/odd/package.json',
        Buffer.from('{"name": "odd"}'),
      );

      assert.deepEqual(packages, []);
      assert.deepEqual(warnings, [
        '/app/node_modules/odd/package.json: package.json has no name or no version',
      ]);
    });
  });
});
