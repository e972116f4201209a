import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { apkVersions } from './apk.js';
import { dpkgVersions } from './dpkg.js';
import { versionSchemeFor } from './index.js';
import { mavenVersions } from './maven.js';
import { pep440Versions } from './pep440.js';
import { rpmVersions } from './rpm.js';
import { semverVersions } from './semver.js';
import { InvalidVersionError, type VersionScheme } from './version-scheme.js';

/** Checks that `ordered` is in ascending order, pair by pair and both ways round. */
function assertAscending(scheme: VersionScheme, ordered: string[]): void {
  for (let index = 1; index < ordered.length; index++) {
    const lower = ordered[index - 1];
    const higher = ordered[index];

    assert.ok(scheme.compare(lower, higher) < 0, `${scheme.name}: ${lower} < ${higher}`);
    assert.ok(scheme.compare(higher, lower) > 0, `${scheme.name}: ${higher} > ${lower}`);
  }
}

function assertEqual(scheme: VersionScheme, pairs: [string, string][]): void {
  for (const [a, b] of pairs) {
    assert.equal(scheme.compare(a, b), 0, `${scheme.name}: ${a} = ${b}`);
  }
}

function assertInvalid(scheme: VersionScheme, versions: string[]): void {
  for (const version of versions) {
    assert.throws(() => scheme.compare(version, '1'), InvalidVersionError, `${scheme.name}: ${version}`);
  }
}

describe('dpkg versions', () => {
  // Debian Policy 5.6.12: ~ before the end, the end before letters, letters before other characters.
  it('orders tildes, letters and other characters', () => {
    assertAscending(dpkgVersions, ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0+', '1.0.1']);
  });

  it('compares digit runs as numbers', () => {
    assertAscending(dpkgVersions, ['1.2', '1.9', '1.10', '1.100', '2']);
  });

  it('orders by epoch first', () => {
    assertAscending(dpkgVersions, ['9.9-9', '1:0.1', '1:1.0', '2:0.0.1']);
  });

  it('orders revisions, with backports and security updates', () => {
    assertAscending(dpkgVersions, [
      '2.36-9',
      '2.36-9+deb12u1~bpo11+1',
      '2.36-9+deb12u1',
      '2.36-9+deb12u4',
      '2.36-10',
    ]);
  });

  it('treats a missing epoch as 0 and leading zeros as nothing', () => {
    assertEqual(dpkgVersions, [
      ['0:1.2-3', '1.2-3'],
      ['1.02', '1.2'],
      ['1.0', '1.0-0'],
    ]);
  });

  it('rejects what is not a Debian version', () => {
    assertInvalid(dpkgVersions, ['', 'a:1.0', 'beta', '1.0 2', '1.0-a_b']);
  });
});

describe('rpm versions', () => {
  // rpmvercmp: digits after letters, ~ before everything, ^ after the end.
  it('orders tildes and carets', () => {
    assertAscending(rpmVersions, ['1.0~rc1', '1.0', '1.0^git1', '1.0.1']);
  });

  it('sorts digit runs after letter runs', () => {
    assertAscending(rpmVersions, ['1.0a', '1.0.1', '1.01.1', '1.10']);
    assertAscending(rpmVersions, ['2.0alpha', '2.0beta', '2.0.0']);
  });

  it('orders by epoch, then version, then release', () => {
    assertAscending(rpmVersions, ['1.0-1.el9', '1.0-2.el9', '1.1-1.el9', '1:0.9-1.el9']);
  });

  it('skips separators and ignores a release given on one side only', () => {
    assertEqual(rpmVersions, [
      ['1.0_1', '1.0.1'],
      ['1.0-1', '1.0'],
      ['0:3.2-1', '3.2-1'],
      ['1.001', '1.1'],
    ]);
  });

  it('rejects what is not an RPM version', () => {
    assertInvalid(rpmVersions, ['', 'x:1', '1.0-', '...']);
  });
});

describe('apk versions', () => {
  it('orders numbers, letters and revisions', () => {
    assertAscending(apkVersions, ['1.2', '1.2-r1', '1.2a', '1.2b-r0', '1.2.1', '1.10']);
  });

  it('orders pre-release suffixes before and patch suffixes after the release', () => {
    assertAscending(apkVersions, [
      '3.0_alpha1',
      '3.0_beta',
      '3.0_pre2',
      '3.0_rc1',
      '3.0_rc2',
      '3.0',
      '3.0_cvs',
      '3.0_svn',
      '3.0_git20240101',
      '3.0_hg',
      '3.0_p1',
      '3.0_p2',
      '3.0.1',
    ]);
  });

  it('reads a leading zero as a decimal fraction', () => {
    assertAscending(apkVersions, ['1.001', '1.01', '1.02', '1.1']);
  });

  it('treats a missing revision as -r0', () => {
    assertEqual(apkVersions, [['3.3.1', '3.3.1-r0']]);
  });

  it('rejects what is not an Alpine version', () => {
    assertInvalid(apkVersions, ['', 'v1.0', '1.0_foo', '1.0-1', '1..0']);
  });
});

describe('SemVer versions', () => {
  // The precedence example of SemVer 2.0.0, item 11.
  it('orders the specification example', () => {
    assertAscending(semverVersions, [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ]);
  });

  it('compares numbers, not text', () => {
    assertAscending(semverVersions, ['1.9.0', '1.10.0', '1.10.1', '2.0.0', '10.0.0']);
  });

  it('reads Go versions and ignores build metadata', () => {
    assertAscending(semverVersions, ['v0.0.0-20191109021931-daa7c04131f5', 'v0.1.0', 'v1.2.3']);
    assertEqual(semverVersions, [
      ['v2.0.0+incompatible', '2.0.0'],
      ['1.0.0+build.1', '1.0.0+build.2'],
    ]);
  });

  it('rejects what is not SemVer', () => {
    assertInvalid(semverVersions, ['', '1.2.3.4', '01.2.3', '1.2.3-01', 'latest', '1..2']);
  });

  it('reads a missing minor or patch number as 0', () => {
    assertEqual(semverVersions, [
      ['1.0', '1.0.0'],
      ['2', '2.0.0'],
    ]);
  });
});

describe('PEP 440 versions', () => {
  // The summary ordering of PEP 440, "Summary of permitted suffixes and relative ordering".
  it('orders the specification example', () => {
    assertAscending(pep440Versions, [
      '1.dev0',
      '1.0.dev456',
      '1.0a1',
      '1.0a2.dev456',
      '1.0a12.dev456',
      '1.0a12',
      '1.0b1.dev456',
      '1.0b2',
      '1.0b2.post345.dev456',
      '1.0b2.post345',
      '1.0rc1.dev456',
      '1.0rc1',
      '1.0',
      '1.0+abc.5',
      '1.0+abc.7',
      '1.0+5',
      '1.0.post456.dev34',
      '1.0.post456',
      '1.0.15',
      '1.1.dev1',
    ]);
  });

  it('orders epochs before everything', () => {
    assertAscending(pep440Versions, ['2024.1', '1!0.1', '1!1.0']);
  });

  it('normalizes spellings', () => {
    assertEqual(pep440Versions, [
      ['1.0', '1.0.0'],
      ['v1.0', '1.0'],
      ['1.0ALPHA1', '1.0a1'],
      ['1.0-beta.2', '1.0b2'],
      ['1.0c1', '1.0rc1'],
      ['1.0-preview1', '1.0rc1'],
      ['1.0a', '1.0a0'],
      ['1.0-1', '1.0.post1'],
      ['1.0rev2', '1.0.post2'],
      ['1.0.post', '1.0.post0'],
      ['1.0-dev', '1.0.dev0'],
      ['1.0+ubuntu_1', '1.0+ubuntu.1'],
    ]);
  });

  it('rejects what is not a PEP 440 version', () => {
    assertInvalid(pep440Versions, ['', 'latest', '1.0.x', '1.0+', 'French toast', '1.0-beta-beta']);
  });
});

describe('Maven versions', () => {
  // Maven's version order specification, and its examples.
  it('orders qualifiers', () => {
    assertAscending(mavenVersions, [
      '1-alpha',
      '1-beta',
      '1-milestone',
      '1-rc',
      '1-snapshot',
      '1',
      '1-sp',
      '1-abc',
      '1-xyz',
      '1-1',
      '1.1',
    ]);
  });

  it('compares numbers, not text', () => {
    assertAscending(mavenVersions, ['1', '1.1', '1.2', '1.10', '2.0.0', '10']);
    assertAscending(mavenVersions, ['1-foo2', '1-foo10']);
  });

  it('places separators as Maven does', () => {
    assertAscending(mavenVersions, ['1.foo', '1-1', '1.1']);
    assertAscending(mavenVersions, ['1-sp-1', '1-ga-1']);
    assertAscending(mavenVersions, ['1-ga.1', '1-sp.1']);
    assertAscending(mavenVersions, ['2.17.0-rc1', '2.17.0', '2.17.1', '2.17.1-sp1']);
  });

  it('drops trailing null items and reads aliases', () => {
    assertEqual(mavenVersions, [
      ['1', '1.0'],
      ['1', '1.0.0'],
      ['1.ga', '1'],
      ['1-ga', '1-0'],
      ['1-final', '1'],
      ['1.RELEASE', '1'],
      ['1-cr1', '1-rc1'],
      ['1-a1', '1-alpha-1'],
      ['1.0.0.Final', '1.0.0'],
    ]);
  });

  it('rejects an empty version', () => {
    assertInvalid(mavenVersions, ['', ' ', '1 0']);
  });
});

describe('versionSchemeFor', () => {
  it('finds the scheme of an OSV ecosystem', () => {
    assert.equal(versionSchemeFor('Debian:12'), dpkgVersions);
    assert.equal(versionSchemeFor('Alpine:v3.19'), apkVersions);
    assert.equal(versionSchemeFor('Rocky Linux:9'), rpmVersions);
    assert.equal(versionSchemeFor('Go'), semverVersions);
    assert.equal(versionSchemeFor('PyPI'), pep440Versions);
    assert.equal(versionSchemeFor('Maven'), mavenVersions);
  });

  it('knows no scheme for an unknown ecosystem', () => {
    assert.equal(versionSchemeFor('Hackage'), undefined);
  });
});
