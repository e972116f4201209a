/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access --
   These tests edit parsed JSON by path to tamper with one field at a time, so the JSON is untyped. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import { isWithin, parseTrustedRoot, transparencyLogFromKey } from './sigstore-trusted-root.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'cosign');
const text = readFileSync(join(fixtures, 'sigstore-bundle', 'trusted-root-public-good.json'), 'utf8');

type Json = Record<string, any>;

describe('parseTrustedRoot', () => {
  it('reads the public-good trusted root', () => {
    const root = parseTrustedRoot(text);

    assert.equal(root.tlogs.length, 1);
    assert.equal(root.certificateAuthorities.length, 2);
    assert.equal(root.ctlogs.length, 2);
    assert.equal(root.timestampAuthorities.length, 1);
    assert.equal(root.tlogs[0].baseUrl, 'https://rekor.sigstore.dev');
    assert.equal(root.tlogs[0].validFor.start?.toISOString(), '2021-01-12T11:53:27.000Z');
    assert.equal(root.certificateAuthorities[0].validFor.end?.toISOString(), '2022-12-31T23:59:59.999Z');
    assert.equal(root.certificateAuthorities[1].certificates.length, 2);
    assert.match(root.certificateAuthorities[1].certificates[0].subject, /CN=sigstore-intermediate/);
  });

  it('gives Rekor log ids of the key', () => {
    const root = parseTrustedRoot(JSON.parse(text));
    const der = root.tlogs[0].key.export({ type: 'spki', format: 'der' });

    assert.deepEqual(root.tlogs[0].logId, createHash('sha256').update(der).digest());
  });

  it('matches rekor.pub as a log', () => {
    const log = transparencyLogFromKey(readFileSync(join(fixtures, 'rekor.pub'), 'utf8'));

    assert.deepEqual(log.logId, parseTrustedRoot(text).tlogs[0].logId);
    assert.equal(isWithin(log.validFor, new Date(0)), true);
  });

  const edits: [string, (root: Json) => void, RegExp][] = [
    [
      'a wrong media type',
      (root) => (root.mediaType = 'application/json'),
      /mediaType "application\/json" is not supported/,
    ],
    ['tlogs not an array', (root) => (root.tlogs = {}), /^Error: trusted root tlogs is not an array$/],
    [
      'a key that is not base64',
      (root) => (root.tlogs[0].publicKey.rawBytes = 'no!'),
      /^Error: trusted root tlogs\[0\]\.publicKey\.rawBytes is missing or not base64$/,
    ],
    [
      'a key that is not DER',
      (root) => (root.tlogs[0].publicKey.rawBytes = 'AAAA'),
      /^Error: trusted root tlogs\[0\]\.publicKey\.rawBytes is not a DER public key$/,
    ],
    [
      'no log id',
      (root) => delete root.tlogs[0].logId,
      /^Error: trusted root tlogs\[0\]\.logId is missing or not an object$/,
    ],
    [
      'an invalid start time',
      (root) => (root.certificateAuthorities[1].validFor.start = 'April'),
      /^Error: trusted root certificateAuthorities\[1\]\.validFor\.start is not an RFC 3339 time: "April"$/,
    ],
    [
      'an empty chain',
      (root) => (root.certificateAuthorities[0].certChain.certificates = []),
      /^Error: trusted root certificateAuthorities\[0\]\.certChain\.certificates is not a non-empty array$/,
    ],
    [
      'a certificate that is not DER',
      (root) => (root.timestampAuthorities[0].certChain.certificates[1].rawBytes = 'AAAA'),
      /^Error: trusted root timestampAuthorities\[0\]\.certChain\.certificates\[1\]\.rawBytes is not a DER X\.509 certificate$/,
    ],
  ];

  for (const [name, edit, message] of edits) {
    it(`rejects ${name}`, () => {
      const root = JSON.parse(text) as Json;

      edit(root);

      assert.throws(() => parseTrustedRoot(root), message);
    });
  }

  it('rejects text that is not JSON', () => {
    assert.throws(() => parseTrustedRoot(text.slice(0, 100)), /^Error: trusted root is not valid JSON/);
    assert.throws(() => parseTrustedRoot(null), /^Error: trusted root is not a JSON object$/);
  });
});
