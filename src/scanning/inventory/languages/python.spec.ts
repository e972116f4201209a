import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { findPackage } from '../../../common/package-info.js';
import type { FileFindings } from '../inventory.js';
import { pythonCollector } from './python.js';

const fixtures = join(findPackage(import.meta.url).root, 'test/fixtures/lockfiles/python');
const debianPackages = '/usr/lib/python3/dist-packages';

function collect(path: string, data: Buffer, maxBytes = 1024 * 1024): Promise<FileFindings> {
  return pythonCollector().collect(
    { path, size: data.length, mode: 0o644, content: Readable.from([data]) },
    maxBytes,
  );
}

function fixture(name: string): Buffer {
  return readFileSync(join(fixtures, name));
}

/** PEP 503 normalization, used only to compare a folder name with the Name header. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

describe('python collector', () => {
  describe('wants', () => {
    const collector = pythonCollector();
    const cases: [string, boolean][] = [
      ['/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA', true],
      ['/usr/local/lib/python3.11/site-packages/lazr.uri-1.0.6.egg-info/PKG-INFO', true],
      ['/usr/lib/python3/dist-packages/pycairo-1.20.1.egg-info', true],
      ['/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD', false],
      ['/app/METADATA', false],
      ['/app/PKG-INFO', false],
    ];

    for (const [path, wanted] of cases) {
      it(`${wanted ? 'wants' : 'skips'} ${path}`, () => {
        assert.equal(collector.wants(path, 100, 0o644), wanted);
      });
    }
  });

  it('reads a Debian dist-info METADATA', async () => {
    const { packages, warnings } = await collect(
      '/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA',
      fixture('PyYAML-6.0.METADATA'),
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(packages, [
      { type: 'pypi', name: 'PyYAML', version: '6.0', purl: 'pkg:pypi/pyyaml@6.0', licenses: ['MIT'] },
    ]);
  });

  it('reads a plain egg-info file', async () => {
    const { packages } = await collect(
      '/usr/lib/python3/dist-packages/pycairo-1.20.1.egg-info',
      fixture('pycairo-1.20.1.egg-info'),
    );

    assert.deepEqual(packages, [
      {
        type: 'pypi',
        name: 'pycairo',
        version: '1.20.1',
        purl: 'pkg:pypi/pycairo@1.20.1',
        licenses: ['LGPL-2.1-only OR MPL-1.1'],
      },
    ]);
  });

  it('stops at the description of a PKG-INFO', async () => {
    const { packages } = await collect(
      '/usr/lib/python3/dist-packages/lazr.restfulclient-0.14.5.egg-info/PKG-INFO',
      fixture('lazr.restfulclient-0.14.5.PKG-INFO'),
    );

    assert.deepEqual(packages, [
      {
        type: 'pypi',
        name: 'lazr.restfulclient',
        version: '0.14.5',
        purl: 'pkg:pypi/lazr.restfulclient@0.14.5',
        licenses: ['LGPL v3'],
      },
    ]);
  });

  it('leaves out a license given as full text', async () => {
    const { packages } = await collect(
      '/usr/local/lib/python3.11/site-packages/traitlets-5.15.0.dist-info/METADATA',
      fixture('traitlets-5.15.0.METADATA'),
    );

    assert.deepEqual(packages, [
      { type: 'pypi', name: 'traitlets', version: '5.15.0', purl: 'pkg:pypi/traitlets@5.15.0' },
    ]);
  });

  it('prefers License-Expression', async () => {
    const { packages } = await collect(
      '/usr/local/lib/python3.11/site-packages/urllib3-2.7.0.dist-info/METADATA',
      fixture('urllib3-2.7.0.METADATA'),
    );

    assert.deepEqual(packages[0].licenses, ['MIT']);
    assert.equal(packages[0].purl, 'pkg:pypi/urllib3@2.7.0');
  });

  it('reads CRLF line endings', async () => {
    const text = fixture('PyYAML-6.0.METADATA').toString().replaceAll('\n', '\r\n');
    const { packages } = await collect('/x/PyYAML-6.0.dist-info/METADATA', Buffer.from(text));

    assert.deepEqual(
      packages.map((entry) => [entry.name, entry.version, entry.licenses]),
      [['PyYAML', '6.0', ['MIT']]],
    );
  });

  it('agrees with the folder names of this machine', async (context) => {
    if (!existsSync(debianPackages)) {
      context.skip(`${debianPackages} does not exist`);

      return;
    }

    const folders = readdirSync(debianPackages).filter((entry) => entry.endsWith('.dist-info'));

    for (const folder of folders) {
      const path = join(debianPackages, folder, 'METADATA');
      const { packages, warnings } = await collect(path, readFileSync(path));
      const [folderName, folderVersion] = folder.slice(0, -'.dist-info'.length).split('-');

      assert.deepEqual(warnings, [], folder);
      assert.equal(packages.length, 1, folder);
      assert.equal(normalize(packages[0].name), normalize(folderName), folder);
      assert.equal(packages[0].version, folderVersion, folder);
    }
  });

  describe('bad input', () => {
    it('reports a file without Name', async () => {
      const { packages, warnings } = await collect(
        '/x/a.dist-info/METADATA',
        Buffer.from('Version: 1.0\n\nName: late\n'),
      );

      assert.deepEqual(packages, []);
      assert.deepEqual(warnings, ['/x/a.dist-info/METADATA: no Name or no Version header']);
    });

    it('reports binary data', async () => {
      const { warnings } = await collect('/x/a.dist-info/METADATA', Buffer.from('Name: a\u0000\n'));

      assert.deepEqual(warnings, ['/x/a.dist-info/METADATA: the file contains binary data and was not read']);
    });

    it('reports an oversized file', async () => {
      const data = fixture('traitlets-5.15.0.METADATA');
      const { warnings } = await collect('/x/a.dist-info/METADATA', data, 4096);

      assert.deepEqual(warnings, [
        `/x/a.dist-info/METADATA: the file has ${data.length} bytes, more than the limit of 4096 bytes, and was not read`,
      ]);
    });
  });
});
