import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../../common/package-info.js';
import { InvalidVersionError } from '../versions/index.js';
import {
  type AffectedPackage,
  fixedVersions,
  isAffected,
  type OsvRecord,
  parseOsvRecord,
} from './osv-record.js';

/** Reads a real OSV record kept under test/fixtures/osv. */
function fixture(path: string): { record: OsvRecord; warnings: string[] } {
  const file = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv', path);
  const { record, warnings } = parseOsvRecord(JSON.parse(readFileSync(file, 'utf8')));

  assert.ok(record, `${path} did not parse: ${warnings.join('; ')}`);

  return { record, warnings };
}

/** Tells whether any affected entry of the record for `name` includes `version`. */
function affects(record: OsvRecord, name: string, version: string): boolean {
  return record.affected.filter((entry) => entry.name === name).some((entry) => isAffected(entry, version));
}

/** Checks a table of versions against the record: each with whether it is affected. */
function assertAffected(record: OsvRecord, name: string, table: [string, boolean][]): void {
  for (const [version, expected] of table) {
    assert.equal(affects(record, name, version), expected, `${record.id} ${name} ${version}`);
  }
}

describe('OSV records', () => {
  it('reads ids, aliases and severities', () => {
    const { record, warnings } = fixture('npm/GHSA-r683-j2x4-v87g.json');

    assert.equal(record.id, 'GHSA-r683-j2x4-v87g');
    assert.deepEqual(record.aliases, ['CVE-2022-0235']);
    assert.deepEqual(record.severity, [
      { type: 'CVSS_V3', score: 'CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H' },
    ]);
    assert.equal(record.databaseSeverity, 'HIGH');
    assert.deepEqual(warnings, []);
  });

  it('matches npm ranges, with two-part versions and overlaps', () => {
    assertAffected(fixture('npm/GHSA-c2qf-rxjj-qqgw.json').record, 'semver', [
      ['5.7.1', true],
      ['5.7.2', false],
      ['6.3.0', true],
      ['6.3.1', false],
      ['7.5.1', true],
      ['7.5.2', false],
    ]);
    assertAffected(fixture('npm/GHSA-r683-j2x4-v87g.json').record, 'node-fetch', [
      ['0.9.0', true],
      ['2.6.6', true],
      ['3.1.0', true],
      ['3.1.1', false],
    ]);
  });

  it('matches last_affected and pre-release ranges', () => {
    assertAffected(fixture('npm/GHSA-p8p7-x288-28g6.json').record, 'request', [
      ['2.88.2', true],
      ['2.88.3', false],
    ]);
    assertAffected(fixture('npm/GHSA-rv95-896h-c2vc.json').record, 'express', [
      ['4.19.1', true],
      ['4.19.2', false],
      ['5.0.0-alpha.8', true],
      ['5.0.0-beta.3', false],
    ]);
  });

  it('matches PyPI and Maven ranges', () => {
    assertAffected(fixture('pypi/GHSA-v845-jxx5-vc9f.json').record, 'urllib3', [
      ['1.26.16', true],
      ['1.26.17', false],
      ['2.0.5', true],
      ['2.0.6', false],
    ]);
    assertAffected(
      fixture('maven/GHSA-57j2-w4cx-62h2.json').record,
      'com.fasterxml.jackson.core:jackson-databind',
      [
        ['2.12.6', true],
        ['2.12.6.1', false],
        ['2.13.2', true],
        ['2.13.2.1', false],
      ],
    );
    assertAffected(fixture('maven/GHSA-jfh8-c2jp-5v3q.json').record, 'org.apache.logging.log4j:log4j-core', [
      ['2.3', true],
      ['2.3.1', false],
      ['2.12.1', true],
      ['2.12.2', false],
      ['2.14.1', true],
      ['2.15.0', false],
    ]);
  });

  it('matches Go ranges with two intervals and pseudo-versions', () => {
    assertAffected(fixture('go/GO-2023-2102.json').record, 'stdlib', [
      ['1.20.9', true],
      ['1.20.10', false],
      ['1.21.2', true],
      ['1.21.3', false],
    ]);
    assertAffected(fixture('go/GHSA-gwc9-m7rh-j2ww.json').record, 'golang.org/x/crypto', [
      ['v0.0.0-20211115234514-b4de73f9ece8', true],
      ['v0.0.0-20211202192323-5770296d904e', false],
      ['v0.1.0', false],
    ]);
  });

  it('matches Debian and Alpine package versions', () => {
    assertAffected(fixture('debian/DSA-3029-1.json').record, 'nginx', [
      ['1.2.1-2.2+wheezy2', true],
      ['1.2.1-2.2+wheezy3', false],
      ['1:1.0', false],
    ]);
    assertAffected(fixture('alpine/CVE-2018-5407.json').record, 'openssl', [
      ['1.0.2p-r0', true],
      ['1.0.2q-r0', false],
    ]);
  });

  it('lists the fixed versions', () => {
    const semver = fixture('npm/GHSA-c2qf-rxjj-qqgw.json').record.affected;

    assert.deepEqual(semver.flatMap(fixedVersions), ['7.5.2', '6.3.1', '5.7.2']);
  });
});

describe('OSV records with bad input', () => {
  it('skips an affected entry without a package and a GIT range', () => {
    const { record, warnings } = fixture('alpine/CVE-2018-5407.json');

    assert.equal(record.affected.length, 6);
    assert.deepEqual(warnings, ['CVE-2018-5407 affected[6] was skipped: it names no package and ecosystem']);
  });

  it('rejects a record without an id', () => {
    assert.deepEqual(parseOsvRecord({ affected: [] }), {
      record: undefined,
      warnings: ['the record has no "id"'],
    });
    assert.deepEqual(parseOsvRecord('CVE-1'), { record: undefined, warnings: ['the record has no "id"'] });
  });

  it('skips malformed ranges and keeps the rest', () => {
    const { record, warnings } = parseOsvRecord({
      id: 'TEST-1',
      affected: [
        {
          package: { ecosystem: 'npm', name: 'left-pad' },
          ranges: [
            { type: 'GIT', events: [{ introduced: 'abc' }] },
            { type: 'SEMVER', events: [{ fixed: '1.0.0' }] },
            { type: 'SEMVER', events: [{ introduced: 0 }] },
            { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] },
          ],
        },
      ],
    });

    assert.ok(record);
    assert.equal(record.affected[0].ranges.length, 1);
    assert.equal(warnings.length, 3);
    assert.equal(isAffected(record.affected[0], '1.2.0'), true);
  });

  it('warns about an unknown ecosystem and a range it cannot read', () => {
    const warnings: string[] = [];
    const unknown: AffectedPackage = {
      ecosystem: 'Hackage',
      name: 'aeson',
      purl: null,
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
      versions: [],
    };
    const unreadable: AffectedPackage = {
      ...unknown,
      ecosystem: 'npm',
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: 'not a version' }] }],
    };

    assert.equal(isAffected(unknown, '1.0', warnings), false);
    assert.equal(isAffected(unreadable, '1.0.0', warnings), false);
    assert.deepEqual(warnings, [
      'unknown ecosystem "Hackage"',
      'a range of aeson was skipped: invalid SemVer version "not a version": it is not MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]',
    ]);
  });

  it('throws for an installed version it cannot read', () => {
    const entry = fixture('npm/GHSA-c2qf-rxjj-qqgw.json').record.affected[0];

    assert.throws(() => isAffected(entry, 'latest'), InvalidVersionError);
  });

  it('counts versions listed one by one', () => {
    const entry: AffectedPackage = {
      ecosystem: 'PyPI',
      name: 'example',
      purl: null,
      ranges: [],
      versions: ['1.0', '1.1'],
    };

    assert.equal(isAffected(entry, '1.1'), true);
    assert.equal(isAffected(entry, '1.2'), false);
  });
});
