import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import { cosignBundleAnnotation } from './cosign-signature.js';
import {
  compareRekorBody,
  readCosignRekorBundle,
  type RekorEntry,
  sha256Hex,
  verifyRekorSignedEntryTimestamp,
} from './sigstore-rekor.js';
import { parseTrustedRoot, transparencyLogFromKey } from './sigstore-trusted-root.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'cosign');
const publicGood = parseTrustedRoot(
  readFileSync(join(fixtures, 'sigstore-bundle', 'trusted-root-public-good.json')),
);
const rekorOnly = {
  tlogs: [transparencyLogFromKey(readFileSync(join(fixtures, 'rekor.pub'), 'utf8'))],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/** Reads the classic cosign signature layer that carries a Rekor bundle annotation. */
function cosignLayer(): { payload: Buffer; signature: Buffer; annotation: string } {
  const file = readFileSync(join(fixtures, 'dir-img-cosign-key-rekor-valid', 'signature-1'));
  const body = JSON.parse(file.subarray('\u0000sigstore-json\n'.length).toString('utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };

  return {
    payload: Buffer.from(body.payload, 'base64'),
    signature: Buffer.from(body.annotations['dev.cosignproject.cosign/signature'], 'base64'),
    annotation: body.annotations[cosignBundleAnnotation],
  };
}

function entry(): RekorEntry {
  const read = readCosignRekorBundle(cosignLayer().annotation);

  assert.ok(!('problem' in read), 'the annotation is a Rekor bundle');

  return read;
}

describe('verifyRekorSignedEntryTimestamp', () => {
  it('verifies the cosign layer SET', () => {
    const rekor = entry();

    assert.equal(rekor.integratedTime, 1674251859);
    assert.equal(rekor.logIndex, 11608800);
    assert.deepEqual(verifyRekorSignedEntryTimestamp(rekor, publicGood), { verified: true });
  });

  it('verifies with rekor.pub alone', () => {
    assert.deepEqual(verifyRekorSignedEntryTimestamp(entry(), rekorOnly), { verified: true });
  });

  const tampered: [string, (rekor: RekorEntry) => RekorEntry][] = [
    ['integrated time', (rekor) => ({ ...rekor, integratedTime: rekor.integratedTime + 1 })],
    ['log index', (rekor) => ({ ...rekor, logIndex: rekor.logIndex + 1 })],
    ['body', (rekor) => ({ ...rekor, body: `${rekor.body.slice(0, -4)}AAAA` })],
    [
      'signature',
      (rekor) => {
        const bytes = Buffer.from(rekor.signedEntryTimestamp, 'base64');

        bytes[bytes.length - 1] ^= 1;

        return { ...rekor, signedEntryTimestamp: bytes.toString('base64') };
      },
    ],
  ];

  for (const [name, change] of tampered) {
    it(`rejects a tampered ${name}`, () => {
      assert.deepEqual(verifyRekorSignedEntryTimestamp(change(entry()), publicGood), {
        verified: false,
        reason: 'the signed entry timestamp does not verify with the transparency log key',
      });
    });
  }

  it('rejects an unknown log id', () => {
    const result = verifyRekorSignedEntryTimestamp({ ...entry(), logID: 'ab'.repeat(32) }, publicGood);

    assert.deepEqual(result, {
      verified: false,
      reason: `no transparency log of the trusted root has the log id ${'ab'.repeat(32)}`,
    });
  });

  it('rejects a time before the key', () => {
    const result = verifyRekorSignedEntryTimestamp({ ...entry(), integratedTime: 1500000000 }, publicGood);

    assert.deepEqual(result, {
      verified: false,
      reason: 'the transparency log key was not valid at the integrated time 1500000000',
    });
  });

  it('rejects bad base64', () => {
    const result = verifyRekorSignedEntryTimestamp({ ...entry(), signedEntryTimestamp: 'no!' }, publicGood);

    assert.deepEqual(result, { verified: false, reason: 'the signed entry timestamp is not valid base64' });
  });
});

describe('readCosignRekorBundle', () => {
  it('reports annotations it cannot read', () => {
    assert.deepEqual(readCosignRekorBundle('{'), { problem: 'the Rekor bundle annotation is not JSON' });
    assert.deepEqual(readCosignRekorBundle('{"SignedEntryTimestamp":"x"}'), {
      problem: 'the Rekor bundle annotation has no Payload object',
    });
    assert.match(
      (readCosignRekorBundle('{"SignedEntryTimestamp":"x","Payload":{"body":"e30="}}') as { problem: string })
        .problem,
      /lacks SignedEntryTimestamp or Payload\.body/,
    );
  });
});

describe('compareRekorBody', () => {
  it('matches the hashedrekord of the cosign layer', () => {
    const { payload, signature } = cosignLayer();
    const digest = { algorithm: 'sha256', hex: sha256Hex(payload) };

    assert.equal(digest.hex.slice(0, 8), '5f410774');
    assert.equal(compareRekorBody(entry().body, { signature, digest }), undefined);
  });

  it('reports another signature or digest', () => {
    const { payload, signature } = cosignLayer();
    const other = Buffer.from(signature);

    other[other.length - 1] ^= 1;

    assert.equal(
      compareRekorBody(entry().body, {
        signature: other,
        digest: { algorithm: 'sha256', hex: sha256Hex(payload) },
      }),
      'the transparency log entry records a different signature',
    );
    assert.match(
      compareRekorBody(entry().body, { signature, digest: { algorithm: 'sha256', hex: 'ab' } }) ?? '',
      /^the transparency log entry records the digest sha256:5f410774/,
    );
  });

  it('reports unsupported kinds', () => {
    const body = Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'rekord', spec: {} })).toString(
      'base64',
    );

    assert.equal(
      compareRekorBody(body, { signature: Buffer.from('x'), digest: { algorithm: 'sha256', hex: '' } }),
      'the transparency log entry is of kind rekord 0.0.1, which is not supported',
    );
    assert.equal(
      compareRekorBody('!!!!', { signature: Buffer.from('x'), digest: { algorithm: 'sha256', hex: '' } }),
      'the transparency log entry body is not base64 JSON',
    );
  });
});
