import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../../common/package-info.js';
import { type OsvRecord, parseOsvRecord } from './osv-record.js';
import { type AdvisorySeverity, levelOfRating, severityOf } from './severity.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv');

/** Parses an OSV record from JSON, failing the test when it does not parse. */
function parsed(json: unknown): OsvRecord {
  const { record, warnings } = parseOsvRecord(json);

  assert.ok(record, `the record did not parse: ${warnings.join('; ')}`);

  return record;
}

/** Reads a real OSV record kept under test/fixtures/osv. */
function fixture(path: string): OsvRecord {
  return parsed(JSON.parse(readFileSync(join(fixtures, path), 'utf8')));
}

/** Writes a record for the test with the given severities and affected-entry extras. */
function written(id: string, fields: Record<string, unknown>, ecosystemSpecific: unknown[] = []): OsvRecord {
  return parsed({
    id,
    ...fields,
    affected: ecosystemSpecific.map((specific) => ({
      package: { ecosystem: 'Debian:12', name: 'apparmor' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
      ecosystem_specific: specific,
    })),
  });
}

const v3High = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H';
const v3Low = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N';
const v2Partial = 'AV:N/AC:L/Au:N/C:P/I:P/A:P';
const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';

describe(severityOf.name, () => {
  it('rates GitHub advisories by their CVSS v3 vector', () => {
    const table: [string, AdvisorySeverity][] = [
      ['maven/GHSA-jfh8-c2jp-5v3q.json', { level: 'CRITICAL', score: 10, source: 'cvss_v3' }],
      ['npm/GHSA-xvch-5gv4-984h.json', { level: 'CRITICAL', score: 9.8, source: 'cvss_v3' }],
      ['npm/GHSA-r683-j2x4-v87g.json', { level: 'HIGH', score: 8.8, source: 'cvss_v3' }],
      ['npm/GHSA-p6mc-m468-83gw.json', { level: 'HIGH', score: 7.4, source: 'cvss_v3' }],
      ['go/GHSA-69ch-w2m2-3vjp.json', { level: 'HIGH', score: 7.5, source: 'cvss_v3' }],
      ['pypi/GHSA-v845-jxx5-vc9f.json', { level: 'MEDIUM', score: 5.9, source: 'cvss_v3' }],
      ['npm/GHSA-c2qf-rxjj-qqgw.json', { level: 'MEDIUM', score: 5.3, source: 'cvss_v3' }],
      ['alpine/CVE-2018-5407.json', { level: 'MEDIUM', score: 4.7, source: 'cvss_v3' }],
    ];

    for (const [path, expected] of table) {
      assert.deepEqual(severityOf(fixture(path)), expected, path);
    }
  });

  it('rates records without any rating as UNKNOWN', () => {
    for (const path of ['debian/DSA-3029-1.json', 'go/GO-2022-1059.json', 'alpine/CVE-2022-27449.json']) {
      assert.deepEqual(severityOf(fixture(path)), { level: 'UNKNOWN', score: null, source: 'none' }, path);
    }
  });

  it('takes the highest CVSS v3 score before CVSS v2', () => {
    const record = written('TEST-1', {
      severity: [
        { type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' },
        { type: 'CVSS_V3', score: v3Low },
        { type: 'CVSS_V3', score: v3High },
      ],
    });

    assert.deepEqual(severityOf(record), { level: 'HIGH', score: 7.4, source: 'cvss_v3' });
  });

  it('falls back to CVSS v2 with NVD ranges', () => {
    const record = written('TEST-2', {
      severity: [
        { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N' },
        { type: 'CVSS_V2', score: v2Partial },
        { type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' },
      ],
    });

    assert.deepEqual(severityOf(record), { level: 'HIGH', score: 10, source: 'cvss_v2' });
  });

  it('falls back to the database rating', () => {
    const record = written('TEST-3', {
      severity: [{ type: 'CVSS_V4', score: v4 }],
      database_specific: { severity: 'MODERATE' },
    });

    assert.deepEqual(severityOf(record), { level: 'MEDIUM', score: null, source: 'database' });
  });

  it('falls back to the highest ecosystem rating', () => {
    const redHat = written('TEST-4', {}, [{ severity: 'Low' }, { severity: 'Important' }]);
    const ubuntu = written('TEST-5', { severity: [{ type: 'Ubuntu', score: 'medium' }] }, [
      { urgency: 'low' },
    ]);

    assert.deepEqual(severityOf(redHat), { level: 'HIGH', score: null, source: 'ecosystem' });
    assert.deepEqual(severityOf(ubuntu), { level: 'MEDIUM', score: null, source: 'ecosystem' });
  });

  it('reads Debian urgencies of the security tracker', () => {
    // The tracker's own JSON for apparmor, turned into the OSV shape Debian's records take.
    const tracker = JSON.parse(
      readFileSync(join(fixtures, 'debian-tracker', 'debian_security_tracker_mock.json'), 'utf8'),
    ) as Record<string, Record<string, { releases: Record<string, { urgency: string }> }>>;
    const levels = Object.entries(tracker['apparmor']).map(([cve, entry]) => {
      const record = written(cve, {}, [{ urgency: entry.releases['bookworm'].urgency }]);

      return [cve, severityOf(record).level];
    });

    assert.deepEqual(levels, [
      ['CVE-2014-1424', 'LOW'],
      ['CVE-2016-1585', 'LOW'],
      ['CVE-2017-6507', 'UNKNOWN'],
    ]);
  });

  it('ignores words that rate nothing', () => {
    const record = written('TEST-6', { database_specific: { severity: 'UNKNOWN' } }, [
      { urgency: 'not yet assigned' },
      { severity: 'untriaged' },
    ]);

    assert.deepEqual(severityOf(record), { level: 'UNKNOWN', score: null, source: 'none' });
  });
});

describe(levelOfRating.name, () => {
  it('maps the words of each database', () => {
    const table: [string, string | undefined][] = [
      ['CRITICAL', 'CRITICAL'],
      ['HIGH', 'HIGH'],
      ['MODERATE', 'MEDIUM'],
      ['LOW', 'LOW'],
      ['Important', 'HIGH'],
      ['medium', 'MEDIUM'],
      ['negligible', 'LOW'],
      ['unimportant', 'LOW'],
      [' High ', 'HIGH'],
      ['not yet assigned', undefined],
      ['', undefined],
    ];

    for (const [word, level] of table) {
      assert.equal(levelOfRating(word), level, JSON.stringify(word));
    }
  });
});

describe('ecosystem ratings of affected entries', () => {
  it('are kept from severity or urgency', () => {
    const record = written('TEST-7', {}, [
      { severity: 'HIGH' },
      { urgency: 'medium' },
      { imports: [] },
      'low',
    ]);

    assert.deepEqual(
      record.affected.map((entry) => entry.ecosystemSeverity),
      ['HIGH', 'medium', undefined, undefined],
    );
  });
});
