import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import type { ImageInventory, ImagePackage } from './inventory/inventory.js';
import { atOrAbove, countBySeverity, highestSeverity, matchInventory, type PackageKey } from './matcher.js';
import { type OsvRecord, parseOsvRecord } from './osv/osv-record.js';

/** Reads a real OSV record kept under test/fixtures/osv. */
function fixture(path: string): OsvRecord {
  const file = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv', path);
  const { record } = parseOsvRecord(JSON.parse(readFileSync(file, 'utf8')));

  assert.ok(record, path);

  return record;
}

function written(json: Record<string, unknown>): OsvRecord {
  const { record } = parseOsvRecord({ modified: '2026-12-01T00:00:00Z', ...json });

  assert.ok(record);

  return record;
}

function npmPackage(name: string, version: string): ImagePackage {
  return {
    type: 'npm',
    name,
    version,
    ecosystem: 'npm',
    purl: `pkg:npm/${name}@${version}`,
    location: '/app/package-lock.json',
    layer: 'sha256:1',
  };
}

function inventoryOf(...packages: ImagePackage[]): ImageInventory {
  return { os: null, packages, warnings: [] };
}

/** Builds a lookup over fixed records that records the keys it received. */
function lookupOver(records: OsvRecord[]) {
  const requested: PackageKey[] = [];

  return {
    requested,
    lookup: (keys: PackageKey[]) => {
      requested.push(...keys);

      return Promise.resolve(records);
    },
  };
}

describe('matchInventory', () => {
  it('finds npm advisories with the lowest fix above', async () => {
    const { lookup } = lookupOver([
      fixture('npm/GHSA-c2qf-rxjj-qqgw.json'),
      fixture('npm/GHSA-xvch-5gv4-984h.json'),
    ]);
    const { findings, warnings } = await matchInventory(
      inventoryOf(
        npmPackage('semver', '6.1.0'),
        npmPackage('minimist', '1.2.6'),
        npmPackage('semver', '7.5.4'),
      ),
      lookup,
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(
      findings.map((finding) => [
        finding.id,
        finding.package.name,
        finding.installedVersion,
        finding.fixedVersion,
      ]),
      [['GHSA-c2qf-rxjj-qqgw', 'semver', '6.1.0', '6.3.1']],
    );
    assert.equal(findings[0].severity, 'MEDIUM');
    assert.ok(findings[0].aliases.includes('CVE-2022-25883'));
  });

  it('matches Debian packages by source name and version', async () => {
    const record = written({
      id: 'WHARF-TEST-1',
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: 'openssl' },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }],
        },
      ],
    });
    const libssl: ImagePackage = {
      type: 'dpkg',
      name: 'libssl3',
      version: '3.0.11-1~deb12u1+b1',
      sourceName: 'openssl',
      sourceVersion: '3.0.11-1~deb12u1',
      ecosystem: 'Debian:12',
      purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u1%2Bb1?distro=debian-12',
      location: '/var/lib/dpkg/status',
      layer: 'sha256:1',
    };
    const { requested, lookup } = lookupOver([record]);
    const { findings } = await matchInventory(inventoryOf(libssl), lookup);

    assert.deepEqual(requested, [{ ecosystem: 'Debian:12', name: 'openssl' }]);
    assert.deepEqual(
      findings.map((finding) => [
        finding.package.name,
        finding.package.sourceName,
        finding.installedVersion,
        finding.fixedVersion,
      ]),
      [['libssl3', 'openssl', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2']],
    );
  });

  it('asks for both Ubuntu spellings', async () => {
    const { requested, lookup } = lookupOver([]);
    const zlib: ImagePackage = {
      type: 'dpkg',
      name: 'zlib1g',
      version: '1:1.2.11.dfsg-2ubuntu9',
      ecosystem: 'Ubuntu:22.04',
      purl: 'pkg:deb/ubuntu/zlib1g',
      location: '/var/lib/dpkg/status',
      layer: 'sha256:1',
    };

    await matchInventory(inventoryOf(zlib), lookup);

    assert.deepEqual(requested, [
      { ecosystem: 'Ubuntu:22.04', name: 'zlib1g' },
      { ecosystem: 'Ubuntu:22.04:LTS', name: 'zlib1g' },
    ]);
  });

  it('normalizes PyPI names on both sides', async () => {
    const { lookup } = lookupOver([fixture('pypi/GHSA-h5c8-rqwp-cp95.json')]);
    const jinja: ImagePackage = {
      type: 'pypi',
      name: 'Jinja2',
      version: '3.1.2',
      ecosystem: 'PyPI',
      purl: 'pkg:pypi/jinja2@3.1.2',
      location: '/usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA',
      layer: 'sha256:1',
    };
    const { findings } = await matchInventory(inventoryOf(jinja), lookup);

    assert.deepEqual(
      findings.map((finding) => [finding.id, finding.fixedVersion]),
      [['GHSA-h5c8-rqwp-cp95', '3.1.3']],
    );
  });

  it('reports a version it cannot read and goes on', async () => {
    const { lookup } = lookupOver([fixture('npm/GHSA-xvch-5gv4-984h.json')]);
    const { findings, warnings } = await matchInventory(
      inventoryOf(npmPackage('minimist', 'not a version'), npmPackage('minimist', '1.2.5')),
      lookup,
    );

    assert.equal(findings.length, 1);
    assert.equal(findings[0].installedVersion, '1.2.5');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^minimist not a version was not matched against GHSA-xvch-5gv4-984h: /);
  });

  it('skips packages without an ecosystem', async () => {
    const { requested, lookup } = lookupOver([]);
    const unknownOs: ImagePackage = { ...npmPackage('busybox', '1.36.1'), type: 'apk', ecosystem: null };

    assert.deepEqual(await matchInventory(inventoryOf(unknownOs), lookup), { findings: [], warnings: [] });
    assert.deepEqual(requested, []);
  });
});

describe('severity helpers', () => {
  it('counts and ranks severities', async () => {
    const { lookup } = lookupOver([
      fixture('npm/GHSA-c2qf-rxjj-qqgw.json'),
      fixture('npm/GHSA-xvch-5gv4-984h.json'),
    ]);
    const { findings } = await matchInventory(
      inventoryOf(npmPackage('semver', '6.1.0'), npmPackage('minimist', '1.2.5')),
      lookup,
    );

    assert.deepEqual(countBySeverity(findings), {
      CRITICAL: 1,
      HIGH: 0,
      MEDIUM: 1,
      LOW: 0,
      NONE: 0,
      UNKNOWN: 0,
    });
    assert.equal(highestSeverity(findings), 'CRITICAL');
    assert.equal(highestSeverity([]), null);
  });

  it('compares levels against a threshold', () => {
    assert.equal(atOrAbove('CRITICAL', 'HIGH'), true);
    assert.equal(atOrAbove('HIGH', 'HIGH'), true);
    assert.equal(atOrAbove('MEDIUM', 'HIGH'), false);
    assert.equal(atOrAbove('UNKNOWN', 'LOW'), false);
    assert.equal(atOrAbove('UNKNOWN', 'UNKNOWN'), true);
    assert.equal(atOrAbove('LOW', 'UNKNOWN'), true);
  });
});
