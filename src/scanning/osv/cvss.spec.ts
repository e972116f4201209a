import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../../common/package-info.js';
import {
  cvss2BaseScore,
  cvss2Rating,
  cvss3BaseScore,
  cvssBaseScore,
  cvssRating,
  type CvssRating,
  roundUp,
} from './cvss.js';

/**
 * Vectors and base scores that FIRST publishes with real vulnerabilities in "CVSS v3.1 Examples"
 * (https://www.first.org/cvss/v3.1/examples) and "CVSS v3.0 Examples"
 * (https://www.first.org/cvss/v3.0/examples). They are copied from the list in the test suite of
 * scm-rs/cvss-rs, which links each entry to those pages.
 */
const firstV3Examples: [string, string, number][] = [
  ['CVE-2013-1937 (v3.0)', 'CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVE-2014-9253 (v3.0)', 'CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4],
  ['CVE-2012-0384 (v3.0)', 'CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8],
  ['CVE-2013-0375', 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
  ['CVE-2014-3566', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1],
  ['CVE-2009-0783', 'CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L', 4.2],
  ['CVE-2012-0384', 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2],
  ['CVE-2015-1098', 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8],
  ['CVE-2014-0160', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
  ['CVE-2008-1447', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N', 6.8],
  ['CVE-2014-2005', 'CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 6.8],
  ['CVE-2010-0467', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N', 5.8],
  ['CVE-2012-1342', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N', 5.8],
  ['CVE-2013-6014', 'CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H', 9.3],
  ['CVE-2011-1265', 'CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.8],
  ['CVE-2014-2019', 'CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N', 4.6],
  ['CVE-2015-0970', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
  ['CVE-2014-0224', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N', 7.4],
  ['CVE-2012-5376', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H', 9.6],
  ['CVE-2016-0128', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N', 6.8],
  ['CVE-2016-2118', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.5],
  ['CVE-2019-7551', 'CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:H/I:H/A:H', 9.0],
  ['CVE-2017-5942', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVE-2016-5558', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:L', 8.6],
  ['CVE-2016-5729', 'CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H', 8.2],
  ['CVE-2015-2890', 'CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:H', 6.0],
  ['CVE-2018-3652', 'CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 7.6],
  ['CVE-2019-0884', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N', 4.2],
];

/**
 * CVSS v2 vectors and base scores published by FIRST, copied from the same cvss-rs list. The first
 * three are the examples of "A Complete Guide to the Common Vulnerability Scoring System Version
 * 2.0", section 3.3 (https://www.first.org/cvss/v2/guide), whose temporal and environmental metrics
 * leave the base score as it is. The others are the v2 vectors that "CVSS v3.0 Examples" gives.
 */
const firstV2Examples: [string, string, number][] = [
  ['CVE-2002-0392', 'AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:H', 7.8],
  ['CVE-2003-0818', 'AV:N/AC:L/Au:N/C:C/I:C/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:L', 10.0],
  ['CVE-2003-0062', 'AV:L/AC:H/Au:N/C:C/I:C/A:C/E:POC/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:M', 6.2],
  ['CVE-2013-1937', 'AV:N/AC:L/Au:S/C:P/I:P/A:N', 5.5],
  ['CVE-2014-3566', 'AV:N/AC:M/Au:N/C:P/I:N/A:N', 4.3],
  ['CVE-2012-1516', 'AV:N/AC:L/Au:S/C:C/I:C/A:C', 9.0],
  ['CVE-2009-0783', 'AV:L/AC:L/Au:N/C:P/I:P/A:P', 4.6],
  ['CVE-2012-0384', 'AV:N/AC:M/Au:S/C:C/I:C/A:C', 8.5],
  ['CVE-2015-1098', 'AV:N/AC:M/Au:N/C:P/I:P/A:P', 6.8],
  ['CVE-2014-0160', 'AV:N/AC:L/Au:N/C:P/I:N/A:N', 5.0],
  ['CVE-2014-2005', 'AV:L/AC:M/Au:N/C:C/I:C/A:C', 6.9],
  ['CVE-2013-6014', 'AV:A/AC:L/Au:N/C:N/I:C/A:N', 6.1],
  ['CVE-2009-0658', 'AV:N/AC:M/Au:N/C:C/I:C/A:C', 9.3],
];

/** Ratings GitHub gives in `database_specific.severity`, in the words of the CVSS v3.x scale. */
const githubRatings: Record<string, CvssRating> = {
  LOW: 'LOW',
  MODERATE: 'MEDIUM',
  HIGH: 'HIGH',
  CRITICAL: 'CRITICAL',
};

interface FixtureRecord {
  id: string;
  severity?: { type: string; score: string }[];
  database_specific?: { severity?: string };
}

/** Reads every real OSV record under test/fixtures/osv that carries a CVSS v3 vector. */
function recordsWithCvss3(): { path: string; record: FixtureRecord; vector: string }[] {
  const root = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv');

  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.json'))
    .sort()
    .flatMap((path) => {
      const record = JSON.parse(readFileSync(join(root, path), 'utf8')) as FixtureRecord;
      const vector = record.severity?.find((entry) => entry.type === 'CVSS_V3')?.score;

      return vector === undefined ? [] : [{ path, record, vector }];
    });
}

describe('CVSS v3 base scores', () => {
  it('match the scores FIRST publishes', () => {
    for (const [name, vector, score] of firstV3Examples) {
      assert.equal(cvss3BaseScore(vector), score, `${name} ${vector}`);
    }
  });

  it('match the ratings of the advisories', () => {
    const records = recordsWithCvss3();

    assert.ok(records.length >= 10, `${records.length} fixture records carry a CVSS v3 vector`);

    for (const { path, record, vector } of records) {
      const score = cvss3BaseScore(vector);

      assert.ok(score !== undefined, `${path}: ${vector} did not parse`);

      const githubRating = record.database_specific?.severity;

      // GitHub derives its rating from the same vector, so the two must agree.
      if (githubRating !== undefined) {
        assert.equal(cvssRating(score), githubRatings[githubRating], `${path}: ${vector} scored ${score}`);
      }
    }
  });

  it('scores Log4Shell and a vector without impact', () => {
    // GHSA-jfh8-c2jp-5v3q (CVE-2021-44228): the changed scope takes the sum above 10, which is capped.
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), 10);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N'), 0);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
  });

  it('ignores temporal and environmental metrics', () => {
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C'), 9.8);
    assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/MAV:L/MS:X'), 9.8);
    assert.equal(cvss3BaseScore('CVSS:3.1/E:P/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
  });

  it('rejects invalid vectors', () => {
    const invalid = [
      '',
      'CVSS:3.1/',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L',
      'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Q',
      'CVSS:3.1/av:n/ac:l/pr:n/ui:n/s:u/c:h/i:h/a:h',
      'CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/constructor:X',
    ];

    for (const vector of invalid) {
      assert.equal(cvss3BaseScore(vector), undefined, vector);
    }
  });
});

describe('CVSS v2 base scores', () => {
  it('match the scores FIRST publishes', () => {
    for (const [name, vector, score] of firstV2Examples) {
      assert.equal(cvss2BaseScore(vector), score, `${name} ${vector}`);
    }
  });

  it('rejects invalid vectors', () => {
    const invalid = [
      '',
      'AV:N/AC:L/Au:N/C:P/I:P',
      'AV:N/AC:L/Au:N/C:P/I:P/A:P/A:N',
      'AV:N/AC:L/Au:X/C:P/I:P/A:P',
      'AV:N/AC:L/Au:N/C:P/I:P/A:P/E:X',
      '(AV:N/AC:L/Au:N/C:P/I:P/A:P)',
    ];

    for (const vector of invalid) {
      assert.equal(cvss2BaseScore(vector), undefined, vector);
    }
  });
});

describe(cvssBaseScore.name, () => {
  it('chooses the version from the prefix', () => {
    assert.equal(cvssBaseScore('CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), 8.8);
    assert.equal(cvssBaseScore('AV:N/AC:L/Au:N/C:P/I:P/A:P'), 7.5);
  });

  it('leaves CVSS v4.0 unscored', () => {
    assert.equal(cvssBaseScore('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'), undefined);
  });
});

describe(roundUp.name, () => {
  it('rounds up to one decimal', () => {
    assert.equal(roundUp(4.02), 4.1);
    assert.equal(roundUp(4.0), 4);
    assert.equal(roundUp(0), 0);
    assert.equal(roundUp(9.99), 10);
  });

  it('absorbs floating-point error', () => {
    // 0.1 + 0.2 is 0.30000000000000004 in binary floating point, so a plain ceiling gives 0.4.
    assert.equal(roundUp(0.1 + 0.2), 0.3);
    assert.equal(Math.ceil((0.1 + 0.2) * 10) / 10, 0.4);
  });
});

describe('qualitative ratings', () => {
  it('follow the CVSS v3.x scale', () => {
    const table: [number, CvssRating][] = [
      [0, 'NONE'],
      [0.1, 'LOW'],
      [3.9, 'LOW'],
      [4, 'MEDIUM'],
      [6.9, 'MEDIUM'],
      [7, 'HIGH'],
      [8.9, 'HIGH'],
      [9, 'CRITICAL'],
      [10, 'CRITICAL'],
    ];

    for (const [score, rating] of table) {
      assert.equal(cvssRating(score), rating, String(score));
    }
  });

  it('follow NVD ranges for CVSS v2', () => {
    const table: [number, CvssRating][] = [
      [0, 'NONE'],
      [0.1, 'LOW'],
      [3.9, 'LOW'],
      [4, 'MEDIUM'],
      [6.9, 'MEDIUM'],
      [7, 'HIGH'],
      [10, 'HIGH'],
    ];

    for (const [score, rating] of table) {
      assert.equal(cvss2Rating(score), rating, String(score));
    }
  });
});
