import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import type { LayerFile, OperatingSystem } from './inventory.js';
import {
  apkCollector,
  dpkgCollector,
  ecosystemOfOs,
  osCollectors,
  parseOsRelease,
  rpmCollector,
} from './os-collectors.js';

function layerFile(path: string, content: Buffer | string): LayerFile {
  const bytes = Buffer.from(content);

  return { path, size: bytes.length, mode: 0o644, content: Readable.from([bytes]) };
}

function os(id: string, versionId: string | null, prettyName: string | null = null): OperatingSystem {
  return { id, versionId, prettyName };
}

describe('parseOsRelease', () => {
  it('reads the os-release of this machine', () => {
    assert.deepEqual(parseOsRelease(readFileSync('/usr/lib/os-release', 'utf8')), {
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    });
  });

  it('unquotes values as a shell would', () => {
    const text = [
      '# written by hand',
      'NAME="Example \\"Quoted\\" Linux"',
      "ID='example'",
      'VERSION_ID=1.2',
      'PRETTY_NAME="Cost \\$5 \\\\ C:\\path"',
      'VARIANT=edge\\ case',
      '',
    ].join('\n');

    assert.deepEqual(parseOsRelease(text), {
      id: 'example',
      versionId: '1.2',
      prettyName: 'Cost $5 \\ C:\\path',
    });
  });

  it('defaults ID to linux', () => {
    assert.deepEqual(parseOsRelease('NAME=Linux\n'), { id: 'linux', versionId: null, prettyName: null });
  });
});

describe('ecosystemOfOs', () => {
  it('names OSV ecosystems', () => {
    const cases: [OperatingSystem, string][] = [
      [os('debian', '12'), 'Debian:12'],
      [os('debian', '11'), 'Debian:11'],
      [os('ubuntu', '22.04', 'Ubuntu 22.04.4 LTS'), 'Ubuntu:22.04'],
      [os('alpine', '3.19.1'), 'Alpine:v3.19'],
      [os('rocky', '9.3'), 'Rocky Linux:9'],
      [os('almalinux', '8.9'), 'AlmaLinux:8'],
      [os('rhel', '9.4'), 'Red Hat:enterprise_linux:9'],
      [os('opensuse-leap', '15.5'), 'openSUSE:Leap 15.5'],
      [os('opensuse-tumbleweed', '20240101'), 'openSUSE:Tumbleweed'],
    ];

    for (const [system, ecosystem] of cases) {
      assert.deepEqual(ecosystemOfOs(system), { ecosystem }, `${system.id} ${system.versionId}`);
    }
  });

  it('explains an unknown ecosystem', () => {
    assert.deepEqual(ecosystemOfOs(os('arch', null)), {
      problem: 'no OSV ecosystem is known for the OS "arch", so its packages have no ecosystem',
    });
    assert.deepEqual(ecosystemOfOs(os('__proto__', '1')), {
      problem: 'no OSV ecosystem is known for the OS "__proto__", so its packages have no ecosystem',
    });
    assert.deepEqual(ecosystemOfOs(os('debian', null, 'Debian GNU/Linux trixie/sid')), {
      problem: 'the os-release of debian has no usable VERSION_ID (null), so its packages have no ecosystem',
    });
    assert.deepEqual(ecosystemOfOs(os('alpine', '3')), {
      problem: 'the os-release of alpine has no usable VERSION_ID ("3"), so its packages have no ecosystem',
    });
  });
});

describe('OS package collectors', () => {
  it('want the package databases only', () => {
    const cases: [string, number, string[]][] = [
      ['/var/lib/dpkg/status', 100, ['dpkg']],
      ['/var/lib/dpkg/status.d/libc6', 100, ['dpkg']],
      ['/var/lib/dpkg/status.d/libc6.md5sums', 100, []],
      ['/var/lib/dpkg/status.d/nested/libc6', 100, []],
      ['/var/lib/dpkg/status-old', 100, []],
      ['/var/lib/dpkg/info/dpkg.list', 100, ['dpkg']],
      ['/var/lib/dpkg/info/libc6:amd64.list', 100, ['dpkg']],
      ['/var/lib/dpkg/info/libc6:amd64.md5sums', 100, []],
      ['/var/lib/dpkg/info/nested/libc6.list', 100, []],
      ['/lib/apk/db/installed', 100, ['apk']],
      ['/var/lib/rpm/rpmdb.sqlite', 100, ['rpm']],
      ['/usr/lib/sysimage/rpm/rpmdb.sqlite', 100, ['rpm']],
      ['/var/lib/rpm/Packages', 100, ['rpm']],
      ['/usr/lib/sysimage/rpm/Packages.db', 100, ['rpm']],
      ['/var/lib/rpm/rpmdb.sqlite-wal', 100, ['rpm']],
      ['/var/lib/rpm/rpmdb.sqlite-wal', 0, []],
      ['/var/lib/rpm/rpmdb.sqlite-shm', 100, []],
      ['/etc/os-release', 100, []],
    ];

    for (const [path, size, expected] of cases) {
      const wanting = osCollectors().filter((collector) => collector.wants(path, size, 0o644));

      assert.deepEqual(
        wanting.map((collector) => collector.name),
        expected,
        path,
      );
    }
  });

  it('read a distroless status.d file', async () => {
    const findings = await dpkgCollector.collect(
      layerFile(
        '/var/lib/dpkg/status.d/tzdata',
        'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\nSource: tzdata\n',
      ),
      1024,
    );

    assert.deepEqual(findings, {
      packages: [
        {
          type: 'dpkg',
          name: 'tzdata',
          version: '2024a-0+deb12u1',
          sourceName: 'tzdata',
          sourceVersion: '2024a-0+deb12u1',
          architecture: 'all',
        },
      ],
      warnings: [],
    });
  });

  it('read a dpkg file list as owned paths', async () => {
    const path = '/var/lib/dpkg/info/dpkg.list';
    const text = readFileSync(path, 'utf8');
    const findings = await dpkgCollector.collect(layerFile(path, text), 1 << 20);

    assert.deepEqual(findings.packages, []);
    assert.deepEqual(findings.warnings, []);
    assert.ok(findings.ownedPaths?.includes('/usr/bin/dpkg'), 'dpkg owns /usr/bin/dpkg');
    assert.equal(findings.ownedPaths?.includes('/.'), false);
  });

  it('report a file list over the limit', async () => {
    const findings = await dpkgCollector.collect(
      layerFile('/var/lib/dpkg/info/x.list', '/usr\n'.repeat(300)),
      1000,
    );

    assert.deepEqual(findings, {
      packages: [],
      warnings: [
        '/var/lib/dpkg/info/x.list: the file has 1500 bytes, more than the limit of 1000 bytes, and was not read',
      ],
    });
  });

  it('read an apk database', async () => {
    const findings = await apkCollector.collect(
      layerFile(
        '/lib/apk/db/installed',
        'P:busybox\nV:1.36.1-r15\nA:aarch64\no:busybox\nF:bin\nR:busybox\n\n',
      ),
      1024,
    );

    assert.deepEqual(
      findings.packages.map((entry) => [entry.name, entry.version, entry.architecture]),
      [['busybox', '1.36.1-r15', 'aarch64']],
    );
    assert.deepEqual(findings.ownedPaths, ['/bin/busybox']);
  });

  it('report a database over the limit', async () => {
    const findings = await dpkgCollector.collect(layerFile('/var/lib/dpkg/status', 'x'.repeat(2000)), 1000);

    assert.deepEqual(findings, {
      packages: [],
      warnings: [
        '/var/lib/dpkg/status: the file has 2000 bytes, more than the limit of 1000 bytes, and was not read',
      ],
    });
  });

  it('report rpm databases they cannot read', async () => {
    const berkeley = await rpmCollector.collect(
      layerFile('/var/lib/rpm/Packages', Buffer.alloc(4096)),
      1 << 20,
    );
    const ndb = await rpmCollector.collect(layerFile('/usr/lib/sysimage/rpm/Packages.db', 'x'), 1 << 20);
    const wal = await rpmCollector.collect(
      layerFile('/var/lib/rpm/rpmdb.sqlite-wal', Buffer.alloc(32)),
      1 << 20,
    );

    assert.deepEqual(berkeley.warnings, [
      '/var/lib/rpm/Packages uses an unsupported rpm database format (Berkeley DB), so it was not read',
    ]);
    assert.deepEqual(ndb.warnings, [
      '/usr/lib/sysimage/rpm/Packages.db uses an unsupported rpm database format (ndb), so it was not read',
    ]);
    assert.deepEqual(wal.warnings, [
      '/var/lib/rpm/rpmdb.sqlite-wal holds 32 bytes that rpm has not yet written into the database, ' +
        'so packages installed last may be missing',
    ]);
  });
});
