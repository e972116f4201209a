import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  gzipOf,
  layerMediaTypes,
  layerSource,
  packOf,
  rpmDatabaseOf,
  rpmMissing,
  tarOf,
  type TestLayer,
  type Tree,
  writeTree,
} from '../../../test/support/layers.js';
import { ImageFileSystem, takeInventory } from './image-inventory.js';
import type { FileCollector, FoundPackage, ImageInventory, ImagePackage } from './inventory.js';
import { languageCollectors } from './language-collectors.js';
import { readLayerFile } from './read-bounded.js';
import { osCollectors } from './os-collectors.js';
import { parseDpkgStatus } from './package-databases.js';

const debianStatus = readFileSync('/var/lib/dpkg/status', 'utf8');
const debianOsRelease = readFileSync('/usr/lib/os-release', 'utf8');
const maxFileBytes = 64 * 1024 * 1024;

/** Reads `/app/*.json` files that list packages as JSON, standing in for a language collector. */
const packageListCollector: FileCollector = {
  name: 'package-list',
  wants: (path) => /^\/app\/[^/]+\.json$/.test(path),
  async collect(file, maxBytes) {
    const read = await readLayerFile(file, maxBytes);
    const text = 'data' in read ? read.data.toString() : read.warning;

    if (text.startsWith('fail')) {
      throw new Error('the list is not JSON');
    }

    return { packages: JSON.parse(text) as FoundPackage[], warnings: [] };
  },
};

function statusOf(...packages: [name: string, version: string][]): string {
  return packages
    .map(
      ([name, version]) =>
        `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n`,
    )
    .join('\n');
}

/** A dpkg package of this machine that installed Python core metadata, with its file list. */
interface PythonDebianPackage {
  /** The file list's name in `/var/lib/dpkg/info`, such as `python3-yaml.list`. */
  listName: string;
  listText: string;
  /** Path of the metadata file, such as `/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA`. */
  metadataPath: string;
  metadataText: string;
}

/**
 * Finds a python3 package of this machine whose file list names a `*.dist-info/METADATA` or
 * `*.egg-info/PKG-INFO` file that exists, such as python3-yaml's. Returns undefined when none is
 * installed.
 */
function findPythonDebianPackage(): PythonDebianPackage | undefined {
  const infoDirectory = '/var/lib/dpkg/info';
  const metadataPattern =
    /^\/usr\/lib\/python3\/dist-packages\/[^/]+\.(?:dist-info\/METADATA|egg-info\/PKG-INFO)$/;
  const listNames = readdirSync(infoDirectory)
    .filter((name) => name.startsWith('python3-') && name.endsWith('.list'))
    .sort();

  for (const listName of listNames) {
    const listText = readFileSync(join(infoDirectory, listName), 'utf8');
    const metadataPath = listText.split('\n').find((line) => metadataPattern.test(line) && existsSync(line));

    if (metadataPath !== undefined) {
      return { listName, listText, metadataPath, metadataText: readFileSync(metadataPath, 'utf8') };
    }
  }

  return undefined;
}

function names(inventory: ImageInventory): string[] {
  return inventory.packages.map((entry) => entry.name);
}

describe('takeInventory', () => {
  let root: string;
  let layerCount = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'wharf-inventory-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Builds a layer with GNU tar from a directory holding `tree`, gzipped unless the media type is plain tar. */
  async function layerOf(tree: Tree, mediaType: string = layerMediaTypes.tarGzip): Promise<TestLayer> {
    const directory = join(root, `layer-${++layerCount}`);

    await writeTree(directory, tree);

    const tar = await tarOf(directory);

    return layerSource(mediaType === layerMediaTypes.tar ? tar : await gzipOf(tar), mediaType);
  }

  function inventoryOf(layers: TestLayer[], collectors = osCollectors()): Promise<ImageInventory> {
    return takeInventory(layers, collectors, { maxFileBytes });
  }

  const debianTree: Tree = {
    'var/lib/dpkg/status': debianStatus,
    'usr/lib/os-release': debianOsRelease,
    'etc/os-release': { symlink: '../usr/lib/os-release' },
  };

  describe('a Debian 12 layer', () => {
    it('lists the dpkg packages of this machine', async () => {
      const layer = await layerOf(debianTree);
      const inventory = await inventoryOf([layer]);
      const expected = parseDpkgStatus(debianStatus, 'status').packages;
      const dpkg = expected.find((entry) => entry.name === 'dpkg');

      assert.ok(dpkg?.architecture, 'dpkg is installed, with an architecture');
      assert.deepEqual(inventory.warnings, []);
      assert.deepEqual(inventory.os, {
        id: 'debian',
        versionId: '12',
        prettyName: 'Debian GNU/Linux 12 (bookworm)',
      });
      assert.equal(inventory.packages.length, expected.length);
      assert.deepEqual(
        inventory.packages.find((entry) => entry.name === 'dpkg'),
        {
          type: 'dpkg',
          name: 'dpkg',
          version: dpkg.version,
          ecosystem: 'Debian:12',
          sourceName: dpkg.sourceName,
          sourceVersion: dpkg.sourceVersion,
          architecture: dpkg.architecture,
          purl: `pkg:deb/debian/dpkg@${encodeURIComponent(dpkg.version)}?arch=${dpkg.architecture}&distro=debian-12`,
          location: '/var/lib/dpkg/status',
          layer: layer.digest,
        } satisfies ImagePackage,
      );
      assert.deepEqual(names(inventory), names(inventory).toSorted());
      assert.equal(layer.openCount, 1);
    });

    it('reads each layer media type', async () => {
      const expected = parseDpkgStatus(debianStatus, 'status').packages.length;

      for (const mediaType of [
        layerMediaTypes.tar,
        layerMediaTypes.dockerTarGzip,
        layerMediaTypes.nondistributableTarGzip,
      ]) {
        const inventory = await inventoryOf([await layerOf(debianTree, mediaType)]);

        assert.deepEqual(inventory.warnings, [], mediaType);
        assert.equal(inventory.packages.length, expected, mediaType);
      }
    });

    it('recognizes tar and gzip by their bytes', async () => {
      const directory = join(root, 'sniffed');

      await writeTree(directory, debianTree);

      const tar = await tarOf(directory);
      const inventories = await Promise.all([
        inventoryOf([layerSource(tar, 'application/octet-stream')]),
        inventoryOf([layerSource(await gzipOf(tar), layerMediaTypes.tar)]),
      ]);

      for (const inventory of inventories) {
        assert.deepEqual(inventory.warnings, []);
        assert.equal(inventory.os?.id, 'debian');
      }
    });
  });

  describe('whiteouts', () => {
    it('remove a file and let a later layer add it again', async () => {
      const first = await layerOf({
        'var/lib/dpkg/status': statusOf(['first', '1.0']),
        'var/lib/dpkg/status.d/tzdata': statusOf(['tzdata', '2024a']),
        'etc/os-release': debianOsRelease,
      });
      const second = await layerOf({ 'var/lib/dpkg/.wh.status': '' });
      const third = await layerOf({ 'var/lib/dpkg/status': statusOf(['third', '3.0']) });

      const twoLayers = await inventoryOf([first, second]);
      const threeLayers = await inventoryOf([first, second, third]);

      assert.deepEqual(names(twoLayers), ['tzdata']);
      assert.deepEqual(names(threeLayers), ['third', 'tzdata']);
      assert.equal(threeLayers.packages[0].layer, third.digest);
      assert.equal(threeLayers.packages[1].layer, first.digest);
    });

    it('empty an opaque directory below the layer only', async () => {
      const first = await layerOf({
        'var/lib/dpkg/status.d/alpha': statusOf(['alpha', '1']),
        'var/lib/dpkg/status.d/beta': statusOf(['beta', '1']),
        'var/lib/dpkg/status': statusOf(['outside', '1']),
      });
      const second = await layerOf({
        'var/lib/dpkg/status.d/.wh..wh..opq': '',
        'var/lib/dpkg/status.d/gamma': statusOf(['gamma', '1']),
      });
      const inventory = await inventoryOf([first, second]);

      assert.deepEqual(names(inventory), ['gamma', 'outside']);
    });

    it('remove a whole directory', async () => {
      const first = await layerOf({
        'var/lib/dpkg/status': statusOf(['alpha', '1']),
        'var/lib/dpkg/status.d/beta': statusOf(['beta', '1']),
      });
      const second = await layerOf({ 'var/lib/.wh.dpkg': '' });

      assert.deepEqual(names(await inventoryOf([first, second])), []);
    });

    it('ignore files the same layer adds', async () => {
      const layer = layerSource(
        await packOf([
          { name: 'var/lib/dpkg/status', content: statusOf(['kept', '1']) },
          { name: 'var/lib/dpkg/.wh.status' },
          { name: 'var/lib/dpkg/.wh..wh..opq' },
        ]),
        layerMediaTypes.tar,
      );

      assert.deepEqual(names(await inventoryOf([layer])), ['kept']);
    });
  });

  it('replaces findings when a later layer writes the path', async () => {
    const first = await layerOf({ 'var/lib/dpkg/status': statusOf(['old', '1']) });
    const second = await layerOf({ 'var/lib/dpkg/status': statusOf(['new', '2']) });
    const third = layerSource(
      await packOf([{ name: 'var/lib', content: 'a file now' }]),
      layerMediaTypes.tar,
    );

    assert.deepEqual(names(await inventoryOf([first, second])), ['new']);
    assert.deepEqual(names(await inventoryOf([first, second, third])), []);
  });

  describe('the operating system', () => {
    it('falls back to /usr/lib/os-release', async () => {
      const first = await layerOf({
        'usr/lib/os-release': 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n',
        'etc/os-release': 'ID=debian\nVERSION_ID=12\n',
        'lib/apk/db/installed': 'P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\n\n',
      });
      const second = await layerOf({ 'etc/.wh.os-release': '' });
      const inventory = await inventoryOf([first, second]);

      assert.deepEqual(inventory.os, { id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19' });
      assert.deepEqual(inventory.warnings, []);
      assert.deepEqual(
        inventory.packages.map((entry) => [entry.ecosystem, entry.purl]),
        [['Alpine:v3.19', 'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1']],
      );
    });

    it('follows an absolute link', async () => {
      const layer = await layerOf({
        'usr/lib/os-release': debianOsRelease,
        'etc/os-release': { symlink: '/usr/lib/os-release' },
      });

      assert.equal((await inventoryOf([layer])).os?.versionId, '12');
    });

    it('leaves the ecosystem null without os-release', async () => {
      const layer = await layerOf({ 'var/lib/dpkg/status': statusOf(['bare', '1.0-1']) });
      const inventory = await inventoryOf([layer]);

      assert.equal(inventory.os, null);
      assert.deepEqual(
        inventory.packages.map((entry) => [entry.ecosystem, entry.purl]),
        [[null, 'pkg:deb/bare@1.0-1?arch=amd64']],
      );
      assert.deepEqual(inventory.warnings, [
        {
          reason:
            'none of /etc/os-release and /usr/lib/os-release was found, so OS packages have no ecosystem',
        },
      ]);
    });

    it('leaves the ecosystem null for an unknown OS', async () => {
      const layer = await layerOf({
        'etc/os-release': 'ID=arch\nPRETTY_NAME="Arch Linux"\n',
        'var/lib/dpkg/status': statusOf(['odd', '1']),
      });
      const inventory = await inventoryOf([layer]);

      assert.deepEqual(
        inventory.packages.map((entry) => [entry.ecosystem, entry.purl]),
        [[null, 'pkg:deb/arch/odd@1?arch=amd64&distro=arch']],
      );
      assert.deepEqual(
        inventory.warnings.map((warning) => warning.reason),
        ['no OSV ecosystem is known for the OS "arch", so its packages have no ecosystem'],
      );
    });
  });

  describe('language packages', () => {
    const lists = {
      'app/a.json': JSON.stringify([
        { type: 'npm', name: '@scope/left-pad', version: '1.3.0' },
        { type: 'pypi', name: 'Typing_Extensions', version: '4.9.0' },
        { type: 'golang', name: 'golang.org/x/net', version: 'v0.19.0' },
        { type: 'maven', name: 'org.slf4j:slf4j-api', version: '2.0.9' },
        { type: 'cargo', name: 'serde', version: '1.0.193', purl: 'pkg:cargo/serde@1.0.193' },
        { type: 'cargo', name: 'serde', version: '1.0.193' },
      ]),
      'app/b.json': JSON.stringify([{ type: 'cargo', name: 'serde', version: '1.0.193' }]),
    };

    it('map to OSV ecosystems and purls', async () => {
      const inventory = await inventoryOf([await layerOf(lists)], [packageListCollector]);

      assert.deepEqual(
        inventory.packages.map((entry) => [entry.type, entry.ecosystem, entry.purl, entry.location]),
        [
          ['cargo', 'crates.io', 'pkg:cargo/serde@1.0.193', '/app/a.json'],
          ['cargo', 'crates.io', 'pkg:cargo/serde@1.0.193', '/app/b.json'],
          ['golang', 'Go', 'pkg:golang/golang.org/x/net@v0.19.0', '/app/a.json'],
          ['maven', 'Maven', 'pkg:maven/org.slf4j/slf4j-api@2.0.9', '/app/a.json'],
          ['npm', 'npm', 'pkg:npm/%40scope/left-pad@1.3.0', '/app/a.json'],
          ['pypi', 'PyPI', 'pkg:pypi/typing-extensions@4.9.0', '/app/a.json'],
        ],
      );
    });

    it('report a failing collector and go on', async () => {
      const layer = await layerOf({ ...lists, 'app/broken.json': 'fail' });
      const inventory = await inventoryOf([layer], [packageListCollector]);

      assert.equal(inventory.packages.length, 6);
      assert.deepEqual(inventory.warnings.slice(0, 1), [
        {
          layer: layer.digest,
          path: '/app/broken.json',
          reason: 'the package-list collector failed on /app/broken.json: the list is not JSON',
        },
      ]);
    });
  });

  describe('language packages that an OS package installed', () => {
    const pythonPackage = findPythonDebianPackage();
    const collectors = [...osCollectors(), ...languageCollectors()];
    const pipMetadata = 'Metadata-Version: 2.1\nName: wharf-probe\nVersion: 1.0.0\n';

    function pypiNames(inventory: ImageInventory): string[] {
      return inventory.packages.filter((entry) => entry.type === 'pypi').map((entry) => entry.name);
    }

    function pypiNameOf(metadataText: string): string {
      return /^Name: *(.+)$/m.exec(metadataText)?.[1].trim() ?? '';
    }

    /** Returns the files of a Debian layer with the python3 package's file list and metadata, and a pip-installed dist-info. */
    function debianPythonTree(found: PythonDebianPackage): Tree {
      return {
        ...debianTree,
        [`var/lib/dpkg/info/${found.listName}`]: found.listText,
        [found.metadataPath.slice(1)]: found.metadataText,
        'usr/local/lib/python3.11/dist-packages/wharf_probe-1.0.0.dist-info/METADATA': pipMetadata,
      };
    }

    it('finds a python3 package on this machine', () => {
      assert.ok(
        pythonPackage,
        'no python3-* package with a dist-info or egg-info is installed; install python3-yaml',
      );
    });

    it('leaves out metadata that dpkg installed', { skip: pythonPackage === undefined }, async () => {
      const found = pythonPackage as PythonDebianPackage;
      const debianName = found.listName.replace(/(?::[^:]+)?\.list$/, '');
      const inventory = await inventoryOf([await layerOf(debianPythonTree(found))], collectors);

      assert.deepEqual(inventory.warnings, []);
      assert.deepEqual(pypiNames(inventory), ['wharf-probe']);
      assert.equal(inventory.osOwnedLanguagePackages, 1);
      assert.ok(
        inventory.packages.some((entry) => entry.type === 'dpkg' && entry.name === debianName),
        `${debianName} is listed as a dpkg package`,
      );
    });

    it('keeps that metadata without the file list', { skip: pythonPackage === undefined }, async () => {
      const found = pythonPackage as PythonDebianPackage;
      const tree = debianPythonTree(found);

      delete tree[`var/lib/dpkg/info/${found.listName}`];

      const inventory = await inventoryOf([await layerOf(tree)], collectors);

      assert.deepEqual(pypiNames(inventory), [pypiNameOf(found.metadataText), 'wharf-probe'].sort());
      assert.equal(inventory.osOwnedLanguagePackages, undefined);
    });

    it('ignores a file list removed by a whiteout', { skip: pythonPackage === undefined }, async () => {
      const found = pythonPackage as PythonDebianPackage;
      const first = await layerOf(debianPythonTree(found));
      const second = await layerOf({ [`var/lib/dpkg/info/.wh.${found.listName}`]: '' });
      const inventory = await inventoryOf([first, second], collectors);
      const location = inventory.packages.find((entry) => entry.name === pypiNameOf(found.metadataText));

      assert.deepEqual(pypiNames(inventory), [pypiNameOf(found.metadataText), 'wharf-probe'].sort());
      assert.equal(location?.location, found.metadataPath);
      assert.equal(inventory.osOwnedLanguagePackages, undefined);
    });

    it('matches owned paths through a link', async () => {
      const metadataDirectory = 'usr/lib/python3/dist-packages/example-1.0.dist-info';
      const layer = await layerOf({
        ...debianTree,
        lib: { symlink: 'usr/lib' },
        'var/lib/dpkg/info/python3-example.list':
          '/.\n/lib/python3/dist-packages/example-1.0.dist-info\n' +
          '/lib/python3/dist-packages/example-1.0.dist-info/METADATA\n',
        [`${metadataDirectory}/METADATA`]: 'Metadata-Version: 2.1\nName: example\nVersion: 1.0\n',
        'usr/lib/python3/dist-packages/other-2.0.dist-info/METADATA':
          'Metadata-Version: 2.1\nName: other\nVersion: 2.0\n',
      });
      const inventory = await inventoryOf([layer], collectors);

      assert.deepEqual(pypiNames(inventory), ['other']);
      assert.equal(inventory.osOwnedLanguagePackages, 1);
    });

    it('leaves out metadata that apk installed', async () => {
      const sitePackages = 'usr/lib/python3.11/site-packages';
      const installed = [
        'C:Q1wN0bRZVh8Kps2XPHy4X9CKPCYPk=',
        'P:py3-jinja2',
        'V:3.1.4-r0',
        'A:x86_64',
        'o:py3-jinja2',
        `F:${sitePackages}/Jinja2-3.1.4.dist-info`,
        'R:METADATA',
        'Z:Q1Mh7TxCdpDbxAzIVVn4jhrMb5Ejs=',
        'R:RECORD',
        `F:${sitePackages}/jinja2`,
        'R:__init__.py',
        '',
      ].join('\n');
      const layer = await layerOf({
        'etc/os-release': 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n',
        'lib/apk/db/installed': installed,
        [`${sitePackages}/Jinja2-3.1.4.dist-info/METADATA`]:
          'Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.4\n',
        [`${sitePackages}/requests-2.32.3.dist-info/METADATA`]:
          'Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\n',
      });
      const inventory = await inventoryOf([layer], collectors);

      assert.deepEqual(inventory.warnings, []);
      assert.deepEqual(names(inventory), ['py3-jinja2', 'requests']);
      assert.equal(inventory.packages[0].ecosystem, 'Alpine:v3.20');
      assert.equal(inventory.osOwnedLanguagePackages, 1);
    });
  });

  describe('an rpm image', { skip: rpmMissing }, () => {
    it('lists rpm packages under the Rocky Linux ecosystem', async () => {
      const database = await rpmDatabaseOf(join(root, 'rpm'), [
        {
          name: 'wharf-tiny',
          version: '1.2.3',
          release: '4.el9',
          epoch: 2,
          license: 'MIT',
          architecture: 'noarch',
        },
      ]);
      const layer = await layerOf({
        'etc/os-release': 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n',
        'var/lib/rpm/rpmdb.sqlite': database,
        'var/lib/rpm/Packages': Buffer.alloc(8192),
      });
      const inventory = await inventoryOf([layer]);

      assert.deepEqual(inventory.packages, [
        {
          type: 'rpm',
          name: 'wharf-tiny',
          version: '2:1.2.3-4.el9',
          ecosystem: 'Rocky Linux:9',
          sourceName: 'wharf-tiny',
          sourceVersion: '2:1.2.3-4.el9',
          architecture: 'noarch',
          purl: 'pkg:rpm/rocky/wharf-tiny@1.2.3-4.el9?arch=noarch&distro=rocky-9.3&epoch=2',
          licenses: ['MIT'],
          location: '/var/lib/rpm/rpmdb.sqlite',
          layer: layer.digest,
        },
      ]);
      assert.deepEqual(inventory.warnings, [
        {
          layer: layer.digest,
          path: '/var/lib/rpm/Packages',
          reason:
            '/var/lib/rpm/Packages uses an unsupported rpm database format (Berkeley DB), so it was not read',
        },
      ]);
    });
  });
});

describe(ImageFileSystem.name, () => {
  it('rejects links leading above the root', () => {
    const fileSystem = new ImageFileSystem();

    fileSystem.beginLayer('sha256:1');
    fileSystem.addLink('/etc', '/deep/er', false);
    fileSystem.addLink('/deep/er', '../../..', false);
    fileSystem.endLayer();

    assert.deepEqual(fileSystem.resolve('/etc/os-release'), {
      problem: 'resolving /etc/os-release leads above the image root',
    });
  });

  it('resolves a hard link to its target', () => {
    const fileSystem = new ImageFileSystem();

    fileSystem.beginLayer('sha256:1');
    fileSystem.addFile('/usr/lib/os-release', { text: 'ID=debian\n' });
    fileSystem.addLink('/etc/os-release', '/usr/lib/os-release', true);
    fileSystem.endLayer();

    assert.deepEqual(fileSystem.resolve('/etc/os-release'), {
      path: '/usr/lib/os-release',
      record: { kind: 'file', layer: 'sha256:1', text: 'ID=debian\n' },
    });
  });
});
