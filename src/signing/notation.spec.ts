import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import { type NotationCheck, type NotationTrust, verifyNotationSignature } from './notation.js';
import { parseTrustPolicy } from './notation-trust-policy.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'notation');
const read = (name: string): Buffer => readFileSync(join(fixtures, name));
const certificate = (name: string): X509Certificate => new X509Certificate(read(name));

const jose = 'application/jose+json';
const cose = 'application/cose';
const now = new Date('2026-12-05T00:00:00Z');
const alpineDn = 'x509.subject: CN=alpine,O=Notary,L=Seattle,ST=WA,C=US';

/** A real envelope, its media type, the digest it signs and the trust store that anchors it. */
interface Signed {
  file: string;
  mediaType: string;
  subjectDigest: string;
  store: string;
  identity: string;
}

const jwsSignature = read('jws_signature.sig');
const alpine = new X509Certificate(
  Buffer.from(
    (JSON.parse(jwsSignature.toString('utf8')) as { header: { x5c: string[] } }).header.x5c[0],
    'base64',
  ),
);
const targetDigest = `sha256:${createHash('sha256').update(read('target-manifest-19dbd2e4.json')).digest('hex')}`;
const timestampTarget = 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda';
const caTarget = 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e';
const e2eTarget = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';

const signed: Signed[] = [
  {
    file: 'e2e-jws-signature.json',
    mediaType: jose,
    subjectDigest: e2eTarget,
    store: 'ca:e2e',
    identity: 'e2e',
  },
  {
    file: 'jws_signature.sig',
    mediaType: jose,
    subjectDigest: targetDigest,
    store: 'ca:alpine',
    identity: 'alpine',
  },
  {
    file: 'cose_signature.sig',
    mediaType: cose,
    subjectDigest: targetDigest,
    store: 'ca:alpine',
    identity: 'alpine',
  },
  {
    file: 'jwsWithTimestamp.sig',
    mediaType: jose,
    subjectDigest: timestampTarget,
    store: 'ca:timestamp',
    identity: 'alpine',
  },
  {
    file: 'coseWithTimestamp.sig',
    mediaType: cose,
    subjectDigest: timestampTarget,
    store: 'ca:timestamp',
    identity: 'alpine',
  },
  {
    file: 'ca_valid_sig_env.json',
    mediaType: jose,
    subjectDigest: caTarget,
    store: 'ca:notation-root',
    identity: 'Notation Test Root',
  },
];

const stores = new Map<string, X509Certificate[]>([
  ['ca:e2e', [certificate('e2e.crt')]],
  ['ca:alpine', [alpine]],
  ['ca:timestamp', [certificate('TestTimestamp.crt')]],
  ['ca:notation-root', [certificate('NotationTestRoot.pem')]],
]);

/** Trust with one policy for every repository, at `level`, trusting `trustStores`. */
function trustWith(fields: {
  level?: string;
  trustStores: string[];
  trustedIdentities?: string[];
  override?: Record<string, string>;
}): NotationTrust {
  const { level = 'strict', trustStores, trustedIdentities = ['*'], override } = fields;
  const policy = parseTrustPolicy({
    version: '1.0',
    trustPolicies: [
      {
        name: 'all',
        registryScopes: ['*'],
        signatureVerification: override === undefined ? { level } : { level, override },
        trustStores,
        trustedIdentities,
      },
    ],
  });

  return { policy, stores };
}

function verify(entry: Signed, trust: NotationTrust, at = now, envelope = read(entry.file)): NotationCheck {
  return verifyNotationSignature({
    envelopeMediaType: entry.mediaType,
    envelope,
    subjectDigest: entry.subjectDigest,
    repository: 'team/app',
    trust,
    now: at,
  });
}

function reasonOf(result: NotationCheck): string {
  return result.verified ? 'verified' : result.reason;
}

const byFile = (file: string): Signed => signed.find((entry) => entry.file === file) as Signed;

describe('verifyNotationSignature with the real envelopes', () => {
  for (const entry of signed) {
    it(`verifies ${entry.file}`, () => {
      const result = verify(entry, trustWith({ trustStores: [entry.store] }));

      assert.equal(reasonOf(result), 'verified');
      assert.match(
        result.verified ? result.identity : '',
        new RegExp(`^C=US, ST=WA, L=Seattle, O=Notary, CN=${entry.identity}$`),
      );
    });

    it(`rejects ${entry.file} under another store`, () => {
      const other = entry.store === 'ca:e2e' ? 'ca:alpine' : 'ca:e2e';

      assert.match(
        reasonOf(verify(entry, trustWith({ trustStores: [other] }))),
        /leads to no certificate of the trust store/,
      );
    });

    it(`rejects ${entry.file} for another digest`, () => {
      const result = verify(
        { ...entry, subjectDigest: `sha256:${'0'.repeat(64)}` },
        trustWith({ trustStores: [entry.store] }),
      );

      assert.equal(
        reasonOf(result),
        `the payload names the artifact ${entry.subjectDigest}, not sha256:${'0'.repeat(64)}`,
      );
    });
  }

  it('verifies the e2e signature under notation e2e policies', () => {
    const entry = byFile('e2e-jws-signature.json');
    const identity = parseTrustPolicy(
      JSON.parse(read('trustpolicy/valid_trusted_identity_trustpolicy.json').toString('utf8')) as unknown,
    );

    assert.deepEqual(verify(entry, { policy: identity, stores }), {
      verified: true,
      identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=e2e',
      signingTime: '2023-06-27T05:30:33.000Z',
      notes: ['certificate revocation was not checked'],
    });
  });

  it('notes the timestamp countersignature of both formats', () => {
    for (const file of ['jwsWithTimestamp.sig', 'coseWithTimestamp.sig']) {
      const result = verify(byFile(file), trustWith({ trustStores: ['ca:timestamp'] }));

      assert.deepEqual(result.notes, [
        'certificate revocation was not checked',
        'the RFC 3161 timestamp countersignature was not checked',
      ]);
    }
  });
});

describe('verifyNotationSignature with trust policies', () => {
  const e2e = byFile('e2e-jws-signature.json');
  const scoped = parseTrustPolicy(
    JSON.parse(read('trustpolicy/registry_scope_trustpolicy.json').toString('utf8')) as unknown,
  );
  const check = (repository: string): NotationCheck =>
    verifyNotationSignature({
      envelopeMediaType: jose,
      envelope: read(e2e.file),
      subjectDigest: e2e.subjectDigest,
      repository,
      trust: { policy: scoped, stores },
      now,
    });

  it('selects the policy by repository, not host', () => {
    assert.equal(reasonOf(check('test-repo')), 'verified');
  });

  it('rejects a repository no policy covers', () => {
    assert.equal(reasonOf(check('other-repo')), 'no trust policy covers the repository other-repo');
  });

  it('rejects under a skip policy', () => {
    const policy = parseTrustPolicy({
      version: '1.0',
      trustPolicies: [
        {
          name: 'off',
          registryScopes: ['*'],
          signatureVerification: { level: 'skip' },
          trustStores: [],
          trustedIdentities: [],
        },
      ],
    });

    assert.equal(reasonOf(verify(e2e, { policy, stores })), 'the trust policy "off" skips verification');
  });

  it('rejects a wrong identity', () => {
    const trust = trustWith({
      trustStores: ['ca:alpine'],
      trustedIdentities: ['x509.subject: CN=e2e,O=Notary,ST=WA,C=US'],
    });

    for (const file of ['jws_signature.sig', 'cose_signature.sig']) {
      assert.equal(
        reasonOf(verify(byFile(file), trust)),
        'the signing certificate "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine" matches no trusted identity of the trust policy "all"',
      );
    }
  });

  it('accepts the right identity', () => {
    const trust = trustWith({ trustStores: ['ca:alpine'], trustedIdentities: [alpineDn] });

    assert.equal(reasonOf(verify(byFile('cose_signature.sig'), trust)), 'verified');
  });

  it('rejects a trust store that is not configured', () => {
    assert.equal(
      reasonOf(verify(e2e, trustWith({ trustStores: ['ca:missing'] }))),
      'the trust store "ca:missing" of the trust policy "all" is not configured',
    );
  });

  it('rejects a policy without a ca store', () => {
    assert.equal(
      reasonOf(verify(e2e, trustWith({ trustStores: ['tsa:e2e'] }))),
      'the trust policy "all" names no ca trust store',
    );
  });

  it('rejects another media type', () => {
    assert.equal(
      reasonOf(verify({ ...e2e, mediaType: 'application/json' }, trustWith({ trustStores: ['ca:e2e'] }))),
      'the envelope media type "application/json" is not a notation signature format (application/jose+json or application/cose)',
    );
  });

  it('rejects a JWS sent as COSE', () => {
    assert.match(
      reasonOf(verify({ ...e2e, mediaType: cose }, trustWith({ trustStores: ['ca:e2e'] }))),
      /^the envelope is not valid CBOR/,
    );
  });
});

describe('verifyNotationSignature with expired signatures', () => {
  const expiring = byFile('ca_valid_sig_env.json');
  const afterExpiry = new Date('2121-01-01T00:00:00Z');
  const timestamped = byFile('coseWithTimestamp.sig');
  const afterCertificate = new Date('2034-01-01T00:00:00Z');

  it('checks the signature expiry at now', () => {
    assert.equal(reasonOf(verify(expiring, trustWith({ trustStores: ['ca:notation-root'] }))), 'verified');
    assert.equal(
      reasonOf(verify(expiring, trustWith({ trustStores: ['ca:notation-root'] }), afterExpiry)),
      'the signature expired at "2120-11-09T07:00:00Z"',
    );
  });

  for (const level of ['permissive', 'audit']) {
    it(`accepts an expired signature under ${level} with a note`, () => {
      const result = verify(expiring, trustWith({ level, trustStores: ['ca:notation-root'] }), afterExpiry);

      assert.equal(reasonOf(result), 'verified');
      assert.deepEqual(result.notes, [
        'certificate revocation was not checked',
        `the signature expired at "2120-11-09T07:00:00Z", accepted by the ${level} trust policy "all"`,
      ]);
    });
  }

  it('rejects an expired certificate under strict', () => {
    assert.equal(
      reasonOf(verify(timestamped, trustWith({ trustStores: ['ca:timestamp'] }), afterCertificate)),
      'the certificate "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine" expired at 2033-05-10T04:55:12.000Z',
    );
  });

  it('accepts an expired certificate under permissive with a note', () => {
    const result = verify(
      timestamped,
      trustWith({ level: 'permissive', trustStores: ['ca:timestamp'] }),
      afterCertificate,
    );

    assert.equal(reasonOf(result), 'verified');
    assert.equal(
      result.notes.at(-1),
      'the certificate "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine" expired at 2033-05-10T04:55:12.000Z, accepted by the permissive trust policy "all"',
    );
  });

  it('follows an override of the level', () => {
    const logged = trustWith({ trustStores: ['ca:notation-root'], override: { expiry: 'log' } });
    const enforced = trustWith({
      level: 'permissive',
      trustStores: ['ca:timestamp'],
      override: { authenticTimestamp: 'enforce' },
    });
    const skipped = trustWith({ trustStores: ['ca:notation-root'], override: { expiry: 'skip' } });

    assert.equal(
      verify(expiring, logged, afterExpiry).notes.at(-1),
      'the signature expired at "2120-11-09T07:00:00Z", accepted by the trust policy "all", whose override logs expiry',
    );
    assert.match(
      reasonOf(verify(timestamped, enforced, afterCertificate)),
      /expired at 2033-05-10T04:55:12\.000Z$/,
    );
    assert.deepEqual(verify(expiring, skipped, afterExpiry).notes, [
      'certificate revocation was not checked',
    ]);
  });
});

describe('verifyNotationSignature with tampered JWS envelopes', () => {
  const entry = byFile('jws_signature.sig');
  const trust = trustWith({ trustStores: ['ca:alpine'] });

  /** Flips one bit in the decoded bytes of one base64url member. */
  function flipped(member: 'protected' | 'payload' | 'signature', offset: number): Buffer {
    const json = JSON.parse(jwsSignature.toString('utf8')) as Record<string, string>;
    const bytes = Buffer.from(json[member], 'base64url');

    bytes[offset] ^= 1;
    json[member] = bytes.toString('base64url');

    return Buffer.from(JSON.stringify(json));
  }

  const cases: [string, Buffer, string][] = [
    [
      'a flipped payload byte',
      flipped('payload', 40),
      'the signature does not verify with the signing certificate',
    ],
    [
      'a flipped signature byte',
      flipped('signature', 0),
      'the signature does not verify with the signing certificate',
    ],
    // Byte 2 is the "a" of "alg", so the header no longer names an algorithm.
    [
      'a flipped protected header byte',
      flipped('protected', 2),
      'the algorithm undefined is not one notation signs with',
    ],
    ['a truncated envelope', jwsSignature.subarray(0, 500), 'the envelope is not JSON'],
    [
      'a payload that is not base64url',
      Buffer.from(jwsSignature.toString('utf8').replace(/"payload":"/, '"payload":"+')),
      'the payload or signature is not base64url',
    ],
  ];

  for (const [name, envelope, reason] of cases) {
    it(`rejects ${name}`, () => {
      assert.equal(reasonOf(verify(entry, trust, now, envelope)), reason);
    });
  }
});
