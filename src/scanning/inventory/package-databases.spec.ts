import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import {
  maxDatabaseBytes,
  parseApkInstalled,
  parseDpkgFileList,
  parseDpkgStatus,
  purlOf,
} from './package-databases.js';

const dpkgStatus = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.15-1~deb12u1)
Version: 3.0.15-1~deb12u1+b1

Package: removed-tool
Status: deinstall ok config-files
Architecture: all
Version: 1.0-1

Package: broken
Status: install ok installed
`;

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407574
o:musl
F:lib
R:ld-musl-x86_64.so.1
R:libc.musl-x86_64.so.1

C:Q1def=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl

P:no-version
`;

describe('dpkg status files', () => {
  it('lists installed packages with their source package', () => {
    const { packages, warnings } = parseDpkgStatus(dpkgStatus, 'var/lib/dpkg/status');

    assert.deepEqual(packages, [
      {
        type: 'dpkg',
        name: 'libc6',
        version: '2.36-9+deb12u7',
        sourceName: 'glibc',
        sourceVersion: '2.36-9+deb12u7',
        architecture: 'amd64',
      },
      {
        type: 'dpkg',
        name: 'libssl3',
        version: '3.0.15-1~deb12u1+b1',
        sourceName: 'openssl',
        sourceVersion: '3.0.15-1~deb12u1',
        architecture: 'amd64',
      },
    ]);
    assert.deepEqual(warnings, ['var/lib/dpkg/status: stanza 4 has no Package or Version and was skipped']);
  });

  it('counts a status.d file without Status as installed', () => {
    const { packages } = parseDpkgStatus(
      'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n',
      'status.d/tzdata',
    );

    assert.deepEqual(
      packages.map((entry) => [entry.name, entry.version, entry.sourceName]),
      [['tzdata', '2024a-0+deb12u1', 'tzdata']],
    );
  });

  it('reads the status file of this Debian machine', () => {
    const { packages, warnings } = parseDpkgStatus(readFileSync('/var/lib/dpkg/status', 'utf8'), 'status');
    const dpkg = packages.find((entry) => entry.name === 'dpkg');

    assert.deepEqual(warnings, []);
    assert.ok(packages.length > 50, `${packages.length} packages`);
    assert.ok(dpkg, 'dpkg itself is installed');
    assert.match(dpkg.version, /^\d/);
  });

  it('reports binary and oversized files instead of reading them', () => {
    assert.deepEqual(parseDpkgStatus('Package: a\u0000\n', 'status'), {
      packages: [],
      warnings: ['status contains binary data and was not read'],
    });
    assert.deepEqual(parseDpkgStatus('x'.repeat(maxDatabaseBytes + 1), 'status').warnings, [
      'status is larger than 64 MiB and was not read',
    ]);
  });
});

describe('apk installed databases', () => {
  it('lists packages with their origin', () => {
    const { packages, warnings } = parseApkInstalled(apkInstalled, 'lib/apk/db/installed');

    assert.deepEqual(
      packages.map((entry) => [entry.name, entry.version, entry.sourceName, entry.architecture]),
      [
        ['musl', '1.2.4_git20230717-r4', 'musl', 'x86_64'],
        ['libcrypto3', '3.1.4-r5', 'openssl', 'x86_64'],
      ],
    );
    assert.deepEqual(warnings, ['lib/apk/db/installed: entry 3 has no P: or V: line and was skipped']);
  });

  it('lists the paths of installed files', () => {
    const { ownedPaths } = parseApkInstalled(apkInstalled, 'installed');

    assert.deepEqual(ownedPaths, ['/lib/ld-musl-x86_64.so.1', '/lib/libc.musl-x86_64.so.1']);
  });

  it('pairs each file with the directory before it', () => {
    const text = [
      'P:py3-six',
      'V:1.16.0-r9',
      'R:orphan.py',
      'F:usr/lib/python3.12/site-packages',
      'R:six.py',
      'Z:Q1abc=',
      'F:usr/lib/python3.12/site-packages/six-1.16.0.dist-info',
      'M:0:0:755',
      'R:METADATA',
      'a:0:0:644',
      'R:RECORD',
    ].join('\n');
    const { packages, warnings, ownedPaths } = parseApkInstalled(text, 'installed');

    assert.deepEqual(
      packages.map((entry) => entry.name),
      ['py3-six'],
    );
    assert.deepEqual(ownedPaths, [
      '/usr/lib/python3.12/site-packages/six.py',
      '/usr/lib/python3.12/site-packages/six-1.16.0.dist-info/METADATA',
      '/usr/lib/python3.12/site-packages/six-1.16.0.dist-info/RECORD',
    ]);
    assert.deepEqual(warnings, [
      'installed: entry 1 has 1 R: line(s) before any F: line, which were skipped',
    ]);
  });

  it('reports a binary file instead of reading it', () => {
    assert.deepEqual(parseApkInstalled('P:a\u0000', 'installed').warnings, [
      'installed contains binary data and was not read',
    ]);
  });
});

describe('dpkg file lists', () => {
  it('reads the file list of dpkg on this machine', () => {
    const { paths, warnings } = parseDpkgFileList(
      readFileSync('/var/lib/dpkg/info/dpkg.list', 'utf8'),
      '/var/lib/dpkg/info/dpkg.list',
    );
    const listed = execFileSync('dpkg-query', ['--listfiles', 'dpkg'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line !== '' && line !== '/.');

    assert.deepEqual(warnings, []);
    assert.ok(paths.includes('/usr/bin/dpkg'), 'dpkg installed /usr/bin/dpkg');
    assert.deepEqual([...paths].sort(), [...listed].sort());
  });

  it('skips the root and relative lines', () => {
    const { paths, warnings } = parseDpkgFileList('/.\n/usr\n\nusr/bin/x\n/usr/bin/a b\n', 'x.list');

    assert.deepEqual(paths, ['/usr', '/usr/bin/a b']);
    assert.deepEqual(warnings, ['x.list: 1 line(s) are not absolute paths and were skipped']);
  });

  it('reports a binary file instead of reading it', () => {
    assert.deepEqual(parseDpkgFileList('/usr\u0000', 'x.list'), {
      paths: [],
      warnings: ['x.list contains binary data and was not read'],
    });
  });
});

describe('package URLs', () => {
  it('encodes versions and qualifiers', () => {
    const [libc, libssl] = parseDpkgStatus(dpkgStatus, 'status').packages;
    const [musl] = parseApkInstalled(apkInstalled, 'installed').packages;

    assert.equal(
      purlOf(libc, 'debian', 'debian-12'),
      'pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12',
    );
    assert.equal(purlOf(libssl, 'debian'), 'pkg:deb/debian/libssl3@3.0.15-1~deb12u1%2Bb1?arch=amd64');
    assert.equal(
      purlOf(musl, 'alpine', 'alpine-3.19'),
      'pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19',
    );
    assert.equal(
      purlOf({ ...libc, version: '1:2.0-1', architecture: null }, 'debian'),
      'pkg:deb/debian/libc6@1%3A2.0-1',
    );
  });

  it('moves an rpm epoch into a qualifier', () => {
    const openssl = {
      type: 'rpm' as const,
      name: 'openssl-libs',
      version: '1:3.0.7-27.el9',
      sourceName: 'openssl',
      sourceVersion: '1:3.0.7-27.el9',
      architecture: 'x86_64',
    };

    assert.equal(
      purlOf(openssl, 'rocky', 'rocky-9.3'),
      'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.3&epoch=1',
    );
    assert.equal(
      purlOf({ ...openssl, version: '3.0.7-27.el9', architecture: null }, undefined),
      'pkg:rpm/openssl-libs@3.0.7-27.el9',
    );
  });
});
