import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseImageReference, progressLine, tableOf } from './scan-command.js';

const digest = `sha256:${'a'.repeat(64)}`;

function result(findings: Parameters<typeof tableOf>[0]['findings']): Parameters<typeof tableOf>[0] {
  return {
    repository: 'team/app',
    digest,
    images: [
      {
        digest,
        status: 'done',
        complete: true,
        platform: { os: 'linux', architecture: 'amd64' },
        os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
        packageCount: 98,
        error: null,
        warnings: [
          'sha256:1: /app/x.jar: the file has 2 bytes, more than the limit of 1 bytes, and was not read',
        ],
        progress: null,
      },
    ],
    summary: { counts: { CRITICAL: 1, HIGH: 0, MEDIUM: 0, LOW: 0, NONE: 0, UNKNOWN: 0 } },
    findings,
  };
}

describe('parseImageReference', () => {
  it('splits names, tags and digests', () => {
    assert.deepEqual(parseImageReference('team/app:v1'), {
      host: undefined,
      repository: 'team/app',
      reference: 'v1',
      defaulted: false,
    });
    assert.deepEqual(parseImageReference(`team/app@${digest}`), {
      host: undefined,
      repository: 'team/app',
      reference: digest,
      defaulted: false,
    });
    assert.deepEqual(parseImageReference('team/app'), {
      host: undefined,
      repository: 'team/app',
      reference: 'latest',
      defaulted: true,
    });
  });

  it('sets a registry host apart', () => {
    assert.deepEqual(parseImageReference('127.0.0.1:5000/team/app:v1'), {
      host: '127.0.0.1:5000',
      repository: 'team/app',
      reference: 'v1',
      defaulted: false,
    });
    assert.equal(parseImageReference('localhost/app').host, 'localhost');
    assert.equal(parseImageReference(`registry.example.com/app@${digest}`).repository, 'app');
    assert.equal(parseImageReference('docker/nginx:1.27').host, undefined);
  });

  it('rejects an empty reference', () => {
    assert.throws(() => parseImageReference(''), /give an image reference/);
  });

  it('rejects a transport prefix', () => {
    assert.throws(
      () => parseImageReference('docker://127.0.0.1:5000/team/app:v1'),
      /has a transport or scheme/,
    );
  });
});

describe('tableOf', () => {
  it('lists findings in columns with a summary line', () => {
    const text = tableOf(
      result([
        {
          id: 'DSA-5532-1',
          aliases: ['CVE-2023-5363', 'CVE-2023-5678', 'CVE-2023-6129'],
          severity: 'CRITICAL',
          score: 9.8,
          package: { name: 'libssl3', type: 'dpkg', location: '/var/lib/dpkg/status', sourceName: 'openssl' },
          installedVersion: '3.0.11-1~deb12u1',
          fixedVersion: '3.0.11-1~deb12u2',
          image: digest,
        },
      ]),
    );

    assert.deepEqual(text.split('\n'), [
      'SEVERITY  ID          ALIASES                      PACKAGE            INSTALLED         FIXED',
      'CRITICAL  DSA-5532-1  CVE-2023-5363 CVE-2023-5678  libssl3 (openssl)  3.0.11-1~deb12u1  3.0.11-1~deb12u2',
      `team/app@${digest}: done, Debian GNU/Linux 12 (bookworm), 98 packages, 1 CRITICAL`,
      '  warning: sha256:1: /app/x.jar: the file has 2 bytes, more than the limit of 1 bytes, and was not read',
      '',
    ]);
  });

  it('says when a layer could not be read', () => {
    const body = result([]);

    body.images[0].complete = false;

    assert.match(tableOf(body), /: done but incomplete, a layer could not be read, Debian GNU\/Linux 12/);
  });

  it('says when there are no findings', () => {
    assert.match(
      tableOf(result([])),
      /^team\/app@sha256:a+: done, Debian GNU\/Linux 12 \(bookworm\), 98 packages, no findings$/m,
    );
  });
});

describe('progressLine', () => {
  it('adds up layers and bytes of running scans', () => {
    const body = result([]);

    body.images[0].status = 'scanning';
    body.images[0].progress = {
      state: 'scanning',
      layers: 4,
      layersRead: 1,
      bytes: 4096,
      bytesRead: 1024,
      startedAt: '2026-12-05T10:00:00.000Z',
      queuedAt: '2026-12-05T10:00:00.000Z',
    };

    assert.equal(
      progressLine(body, Date.parse('2026-12-05T10:00:02.000Z')),
      'reading layers  [######..................]  25%  1/4 layers  1.0 KiB/4.0 KiB  512 B/s  6.0s left',
    );
  });
});
