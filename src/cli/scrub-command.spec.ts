import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { progressLine, summaryOf } from './scrub-command.js';

const mebibyte = 1024 * 1024;
const startedAt = '2026-12-05T10:00:00.000Z';

function report(
  fields: Partial<Parameters<typeof progressLine>[0]> = {},
): Parameters<typeof progressLine>[0] {
  return {
    state: 'running',
    startedAt,
    finishedAt: null,
    totalBlobs: 200,
    totalBytes: 400 * mebibyte,
    checkedBlobs: 50,
    checkedBytes: 100 * mebibyte,
    problems: [],
    error: null,
    ...fields,
  };
}

describe('scrub progress line', () => {
  it('shows the bar, blobs, bytes, rate and time left', () => {
    const line = progressLine(report(), Date.parse(startedAt) + 10_000);

    assert.equal(
      line,
      '[######..................]  25%  50/200 blobs  100.0 MiB/400.0 MiB  10.0 MiB/s  30s left',
    );
  });

  it('does not guess the time left before any byte is read', () => {
    const line = progressLine(report({ checkedBlobs: 0, checkedBytes: 0 }), Date.parse(startedAt) + 1000);

    assert.match(
      line,
      /^\[\.{24}\] {2}0% {2}0\/200 blobs {2}0 B\/400\.0 MiB {2}0 B\/s {2}time left unknown$/,
    );
  });

  it('shows no bar while the blobs are still being counted', () => {
    const line = progressLine(
      report({ totalBlobs: 0, totalBytes: 0, checkedBlobs: 0, checkedBytes: 0 }),
      Date.parse(startedAt) + 1000,
    );

    assert.equal(line, '0 blobs  0.0 blobs/s');
  });
});

describe('scrub summary', () => {
  it('lists each broken blob with who needs it and what happened', () => {
    const summary = summaryOf(
      report({
        state: 'finished',
        finishedAt: '2026-12-05T10:02:05.000Z',
        checkedBlobs: 200,
        checkedBytes: 400 * mebibyte,
        problems: [
          {
            digest: 'sha256:aa',
            problem: 'corrupt',
            quarantined: true,
            recoverable: true,
            holders: [{ repository: 'docker/library/nginx', kind: 'cached' }],
          },
          { digest: 'sha256:bb', problem: 'missing', quarantined: false, recoverable: false, holders: [] },
        ],
      }),
    );

    assert.equal(
      summary,
      [
        'scrub finished: 200 blobs, 400.0 MiB checked in 2m5s; 2 broken',
        'corrupt  sha256:aa  docker/library/nginx (cached)  quarantined, fetched again on the next pull',
        'missing  sha256:bb  no repository  lost',
        '',
      ].join('\n'),
    );
  });
});
