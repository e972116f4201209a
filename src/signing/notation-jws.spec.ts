import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';

import { findPackage } from '../common/package-info.js';
import { verifyNotationJws } from './notation-jws.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'notation');
const envelope = readFileSync(join(fixtures, 'e2e-jws-signature.json'));
const e2e = new X509Certificate(readFileSync(join(fixtures, 'e2e.crt')));
const otherRoot = new X509Certificate(readFileSync(join(fixtures, 'NotationTestRoot.pem')));
const subject = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';

/** Returns the envelope with one member replaced. */
function edited(change: (json: Record<string, unknown>) => void): Buffer {
  const json = JSON.parse(envelope.toString('utf8')) as Record<string, unknown>;

  change(json);

  return Buffer.from(JSON.stringify(json));
}

/** Returns the envelope with its protected header replaced by `header`, signature unchanged. */
function withHeader(header: Record<string, unknown>): Buffer {
  return edited((json) => {
    json.protected = Buffer.from(JSON.stringify(header)).toString('base64url');
  });
}

function reasonOf(result: ReturnType<typeof verifyNotationJws>): string {
  return result.verified ? 'verified' : result.reason;
}

describe('verifyNotationJws with the real notation signature', () => {
  it('verifies it against the e2e certificate', () => {
    assert.deepEqual(verifyNotationJws(envelope, subject, [e2e]), {
      verified: true,
      identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=e2e',
      signingTime: '2023-06-27T05:30:33.000Z',
      notes: ['certificate revocation was not checked'],
    });
  });

  it('refuses it without a trusted root', () => {
    assert.match(
      reasonOf(verifyNotationJws(envelope, subject, [otherRoot])),
      /leads to no certificate of the trust store/,
    );
    assert.match(
      reasonOf(verifyNotationJws(envelope, subject, [])),
      /leads to no certificate of the trust store/,
    );
  });

  it('refuses another subject', () => {
    const other = `sha256:${'c'.repeat(64)}`;

    assert.equal(
      reasonOf(verifyNotationJws(envelope, other, [e2e])),
      `the payload names the artifact ${subject}, not ${other}`,
    );
  });

  it('refuses a tampered payload', () => {
    const tampered = edited((json) => {
      const payload = JSON.parse(Buffer.from(json.payload as string, 'base64url').toString('utf8')) as {
        targetArtifact: { size: number };
      };

      payload.targetArtifact.size += 1;
      json.payload = Buffer.from(JSON.stringify(payload)).toString('base64url');
    });

    assert.equal(
      reasonOf(verifyNotationJws(tampered, subject, [e2e])),
      'the signature does not verify with the signing certificate',
    );
  });

  it('refuses a tampered signature', () => {
    const tampered = edited((json) => {
      const bytes = Buffer.from(json.signature as string, 'base64url');

      bytes[0] ^= 1;
      json.signature = bytes.toString('base64url');
    });

    assert.equal(
      reasonOf(verifyNotationJws(tampered, subject, [e2e])),
      'the signature does not verify with the signing certificate',
    );
  });
});

describe('verifyNotationJws with bad input', () => {
  const { protected: encoded } = JSON.parse(envelope.toString('utf8')) as { protected: string };
  const header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Record<string, unknown>;

  const cases: [string, Buffer, RegExp][] = [
    ['an envelope that is not JSON', Buffer.from('{"protected":'), /^the envelope is not JSON$/],
    ['a missing signature', edited((json) => delete json.signature), /lacks protected, payload or signature/],
    ['no certificate chain', edited((json) => (json.header = {})), /has no x5c certificate chain/],
    [
      'a certificate that is not DER',
      edited((json) => (json.header = { x5c: [Buffer.from('not a certificate').toString('base64')] })),
      /a certificate of the x5c chain cannot be read/,
    ],
    [
      'a protected header that is not base64url',
      edited((json) => (json.protected = 'not base64url!')),
      /not base64url JSON/,
    ],
    [
      'an unknown algorithm',
      withHeader({ ...header, alg: 'HS256' }),
      /the algorithm "HS256" is not one notation signs with/,
    ],
    [
      'an unknown critical header',
      withHeader({ ...header, crit: ['io.cncf.notary.signingScheme', 'x-unknown'] }),
      /the critical header "x-unknown" is not supported/,
    ],
    [
      'the signing authority scheme',
      withHeader({ ...header, 'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority' }),
      /only notary\.x509 is/,
    ],
    [
      'an expired signature',
      withHeader({ ...header, 'io.cncf.notary.expiry': '2024-01-01T00:00:00Z' }),
      /^the signature expired at "2024-01-01T00:00:00Z"$/,
    ],
    [
      'a signing time outside the certificate',
      withHeader({ ...header, 'io.cncf.notary.signingTime': '2021-01-01T00:00:00Z' }),
      /was not valid at the signing time 2021-01-01T00:00:00\.000Z/,
    ],
    [
      'a changed header that is otherwise valid',
      withHeader({ ...header, 'io.cncf.notary.signingTime': '2024-01-01T00:00:00Z' }),
      /^the signature does not verify with the signing certificate$/,
    ],
  ];

  for (const [name, input, reason] of cases) {
    it(`reports ${name}`, () => {
      assert.match(reasonOf(verifyNotationJws(input, subject, [e2e])), reason);
    });
  }
});
