import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, KeyObject, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import { type CborMap, type CborValue, CborTag, decodeCbor, encodeCbor } from './cbor.js';
import type { NotationCheck } from './notation-envelope.js';
import { subjectName } from './notation-certificates.js';
import { verifyNotationCose } from './notation-cose.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'notation');
const cose = readFileSync(join(fixtures, 'cose_signature.sig'));
const coseWithTimestamp = readFileSync(join(fixtures, 'coseWithTimestamp.sig'));
const timestampSigner = new X509Certificate(readFileSync(join(fixtures, 'TestTimestamp.crt')));
const otherRoot = new X509Certificate(readFileSync(join(fixtures, 'NotationTestRoot.pem')));
const targetDigest = `sha256:${createHash('sha256')
  .update(readFileSync(join(fixtures, 'target-manifest-19dbd2e4.json')))
  .digest('hex')}`;
const timestampTarget = 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda';
const now = new Date('2026-12-05T00:00:00Z');
const payloadType = 'application/vnd.cncf.notary.payload.v1+json';

/** The CN=alpine signing certificate, from the JWS envelope that notation-go signed with the same key. */
const alpine = (() => {
  const jws = JSON.parse(readFileSync(join(fixtures, 'jws_signature.sig'), 'utf8')) as {
    header: { x5c: string[] };
  };

  return new X509Certificate(Buffer.from(jws.header.x5c[0], 'base64'));
})();

function reasonOf(result: NotationCheck): string {
  return result.verified ? 'verified' : result.reason;
}

/** Returns a copy of `bytes` with the byte at `offset` changed. */
function flipped(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);

  copy[offset] ^= 1;

  return copy;
}

/** Decodes the fixture, lets `change` edit its four parts, and encodes it again. */
function editedCose(change: (parts: CborValue[]) => void): Buffer {
  const message = decodeCbor(cose) as CborTag;
  const parts = [...(message.value as CborValue[])];

  change(parts);

  return encodeCbor(new CborTag(18, parts));
}

describe('verifyNotationCose with the real notation-go envelopes', () => {
  it('verifies cose_signature.sig against its signer', () => {
    assert.deepEqual(verifyNotationCose(cose, targetDigest, [alpine], now), {
      verified: true,
      identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=alpine',
      signingTime: '2023-03-14T04:45:22.000Z',
      notes: ['certificate revocation was not checked'],
    });
  });

  it('verifies coseWithTimestamp.sig and notes the timestamp', () => {
    assert.deepEqual(verifyNotationCose(coseWithTimestamp, timestampTarget, [timestampSigner], now), {
      verified: true,
      identity: 'C=US, ST=WA, L=Seattle, O=Notary, CN=alpine',
      signingTime: '2024-06-18T06:27:11.000Z',
      notes: [
        'certificate revocation was not checked',
        'the RFC 3161 timestamp countersignature was not checked',
      ],
    });
  });

  it('rejects coseWithTimestamp.sig once its certificate expired', () => {
    assert.equal(
      reasonOf(
        verifyNotationCose(coseWithTimestamp, timestampTarget, [timestampSigner], new Date('2034-01-01Z')),
      ),
      'the certificate "C=US, ST=WA, L=Seattle, O=Notary, CN=alpine" expired at 2033-05-10T04:55:12.000Z',
    );
  });

  it('rejects an untrusted root', () => {
    assert.match(
      reasonOf(verifyNotationCose(cose, targetDigest, [otherRoot], now)),
      /leads to no certificate/,
    );
    assert.match(
      reasonOf(verifyNotationCose(cose, targetDigest, [timestampSigner], now)),
      /leads to no certificate/,
    );
  });

  it('rejects another subject digest', () => {
    const other = `sha256:${'c'.repeat(64)}`;

    assert.equal(
      reasonOf(verifyNotationCose(cose, other, [alpine], now)),
      `the payload names the artifact ${targetDigest}, not ${other}`,
    );
  });
});

describe('verifyNotationCose with tampered envelopes', () => {
  const signatureFailure = 'the signature does not verify with the signing certificate';

  it('rejects a flipped payload byte', () => {
    const offset = cose.indexOf('"digest"') + 20;

    assert.equal(
      reasonOf(verifyNotationCose(flipped(cose, offset), targetDigest, [alpine], now)),
      signatureFailure,
    );
  });

  it('rejects a flipped signature byte', () => {
    assert.equal(
      reasonOf(verifyNotationCose(flipped(cose, cose.length - 1), targetDigest, [alpine], now)),
      signatureFailure,
    );
  });

  it('rejects a flipped signing time in the protected header', () => {
    // The signing time is tag 1 (0xc1) with a four-byte integer (0x1a); its last byte changes.
    const offset = cose.indexOf(Buffer.from('c11a', 'hex')) + 5;

    assert.equal(
      reasonOf(verifyNotationCose(flipped(cose, offset), targetDigest, [alpine], now)),
      signatureFailure,
    );
  });

  it('rejects a truncated envelope', () => {
    assert.match(
      reasonOf(verifyNotationCose(cose.subarray(0, cose.length - 10), targetDigest, [alpine], now)),
      /^the envelope is not valid CBOR: length 256 at byte \d+ exceeds the \d+ bytes left$/,
    );
  });

  it('rejects input that is not CBOR', () => {
    assert.match(
      reasonOf(verifyNotationCose(Buffer.from('{"protected":"e30"}'), targetDigest, [alpine], now)),
      /^the envelope is not valid CBOR: /,
    );
  });

  it('rejects an untagged message', () => {
    const untagged = encodeCbor((decodeCbor(cose) as CborTag).value);

    assert.equal(
      reasonOf(verifyNotationCose(untagged, targetDigest, [alpine], now)),
      'the envelope is not a COSE_Sign1 message (CBOR tag 18)',
    );
  });

  it('rejects a detached payload', () => {
    const detached = editedCose((parts) => {
      parts[2] = null;
    });

    assert.equal(
      reasonOf(verifyNotationCose(detached, targetDigest, [alpine], now)),
      'the COSE_Sign1 message has no embedded payload',
    );
  });

  it('rejects a missing x5chain', () => {
    const bare = editedCose((parts) => {
      parts[1] = new Map();
    });

    assert.equal(
      reasonOf(verifyNotationCose(bare, targetDigest, [alpine], now)),
      'the envelope has no x5chain certificate chain',
    );
  });

  it('accepts a single x5chain certificate as a byte string', () => {
    const single = editedCose((parts) => {
      parts[1] = new Map<number | string, CborValue>([[33, alpine.raw]]);
    });

    assert.equal(reasonOf(verifyNotationCose(single, targetDigest, [alpine], now)), 'verified');
  });

  it('rejects a protected header that is not CBOR', () => {
    const broken = editedCose((parts) => {
      parts[0] = Buffer.from('a1', 'hex');
    });

    assert.match(
      reasonOf(verifyNotationCose(broken, targetDigest, [alpine], now)),
      /^the protected header is not valid CBOR/,
    );
  });
});

/** A test CA made with openssl: an ECDSA P-256 root and leaf, and an RSA leaf of the same root. */
interface TestCa {
  root: X509Certificate;
  leaf: X509Certificate;
  leafKey: KeyObject;
  p384Leaf: X509Certificate;
  p384Key: KeyObject;
  /** A second root with the same distinguished name as `root` but another key. */
  impostor: X509Certificate;
}

function makeTestCa(directory: string): TestCa {
  // Each command is split at spaces, so no argument may contain one.
  const openssl = (command: string): void => {
    execFileSync('openssl', command.split(' '), { cwd: directory, stdio: 'pipe' });
  };

  const ecKey = (curve: string, name: string): string =>
    `-newkey ec -pkeyopt ec_paramgen_curve:${curve} -nodes -keyout ${name}.key`;

  writeFileSync(
    join(directory, 'leaf.ext'),
    // Without an authority key identifier, only the signature distinguishes roots of the same name.
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nauthorityKeyIdentifier=none\n',
  );
  openssl(
    `req -x509 ${ecKey('P-256', 'root')} -out root.pem -days 30 -subj /C=US/ST=WA/O=Wharf/CN=WharfTestRoot ` +
      '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign',
  );

  openssl(
    `req -x509 ${ecKey('P-256', 'impostor')} -out impostor.pem -days 30 -subj /C=US/ST=WA/O=Wharf/CN=WharfTestRoot ` +
      '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign',
  );

  for (const [name, curve] of [
    ['leaf', 'P-256'],
    ['p384', 'P-384'],
  ]) {
    openssl(`req ${ecKey(curve, name)} -out ${name}.csr -subj /C=US/ST=WA/O=Wharf/CN=${name}-signer`);
    openssl(
      `x509 -req -in ${name}.csr -CA root.pem -CAkey root.key -set_serial 2 -days 1 -extfile leaf.ext -out ${name}.pem`,
    );
  }

  const read = (file: string): Buffer => readFileSync(join(directory, file));

  return {
    root: new X509Certificate(read('root.pem')),
    leaf: new X509Certificate(read('leaf.pem')),
    leafKey: createPrivateKey(read('leaf.key')),
    p384Leaf: new X509Certificate(read('p384.pem')),
    p384Key: createPrivateKey(read('p384.key')),
    impostor: new X509Certificate(read('impostor.pem')),
  };
}

interface EnvelopeOptions {
  key: KeyObject;
  chain: X509Certificate[];
  signingTime: Date;
  /** The COSE algorithm; -7 (ES256) unless set. */
  alg?: number;
  /** The hash to sign with; sha256 unless set. */
  hash?: string;
  subject?: string;
  /** Edits the protected header before it is encoded. */
  change?: (header: CborMap) => void;
}

/** Builds and signs a notation COSE_Sign1 envelope the way notation does. */
function buildEnvelope(options: EnvelopeOptions): Buffer {
  const header: CborMap = new Map<number | string, CborValue>([
    [1, options.alg ?? -7],
    [2, ['io.cncf.notary.signingScheme']],
    [3, payloadType],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ['io.cncf.notary.signingTime', new CborTag(1, Math.floor(options.signingTime.getTime() / 1000))],
  ]);

  options.change?.(header);

  const protectedBytes = encodeCbor(header);
  const payload = Buffer.from(
    JSON.stringify({
      targetArtifact: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: options.subject ?? targetDigest,
        size: 481,
      },
    }),
  );
  const toSign = encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const signature = sign(options.hash ?? 'sha256', toSign, { key: options.key, dsaEncoding: 'ieee-p1363' });
  const unprotected: CborMap = new Map<number | string, CborValue>([
    [33, options.chain.map((certificate) => certificate.raw)],
  ]);

  return encodeCbor(new CborTag(18, [protectedBytes, unprotected, payload, signature]));
}

describe('verifyNotationCose with envelopes signed by a test CA', () => {
  let directory: string;
  let ca: TestCa;
  let signingTime: Date;
  let checkTime: Date;

  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'wharf-notation-'));
    ca = makeTestCa(directory);
    signingTime = new Date(new Date(ca.leaf.validFrom).getTime() + 60_000);
    checkTime = new Date(signingTime.getTime() + 60_000);
  });

  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  const check = (envelope: Buffer, trustStore = [ca.root], at = checkTime): NotationCheck =>
    verifyNotationCose(envelope, targetDigest, trustStore, at);

  it('verifies ES256 through the root', () => {
    const envelope = buildEnvelope({ key: ca.leafKey, chain: [ca.leaf], signingTime });

    assert.equal(reasonOf(check(envelope)), 'verified');
    assert.equal(
      reasonOf(check(buildEnvelope({ key: ca.leafKey, chain: [ca.leaf, ca.root], signingTime }))),
      'verified',
    );
  });

  it('verifies ES384 with a P-384 key', () => {
    const envelope = buildEnvelope({
      key: ca.p384Key,
      chain: [ca.p384Leaf],
      signingTime,
      alg: -35,
      hash: 'sha384',
    });

    assert.equal(reasonOf(check(envelope)), 'verified');
  });

  it('rejects ES256 with a P-384 key', () => {
    const envelope = buildEnvelope({ key: ca.p384Key, chain: [ca.p384Leaf], signingTime });

    assert.equal(reasonOf(check(envelope)), 'the signature does not verify with the signing certificate');
  });

  it('rejects a chain in the wrong order', () => {
    const envelope = buildEnvelope({ key: ca.leafKey, chain: [ca.root, ca.leaf], signingTime });

    assert.match(
      reasonOf(check(envelope)),
      /^the certificate ".*CN=WharfTestRoot" is not issued by the next one/s,
    );
  });

  it('rejects a leaf as its own trust anchor issuer', () => {
    const envelope = buildEnvelope({
      key: ca.p384Key,
      chain: [ca.p384Leaf],
      signingTime,
      alg: -35,
      hash: 'sha384',
    });

    assert.match(reasonOf(check(envelope, [ca.leaf])), /leads to no certificate of the trust store/);
  });

  it('rejects a root with the same name but another key', () => {
    const envelope = buildEnvelope({ key: ca.leafKey, chain: [ca.leaf], signingTime });

    assert.equal(ca.impostor.subject, ca.root.subject);
    assert.match(reasonOf(check(envelope, [ca.impostor])), /leads to no certificate of the trust store/);
    assert.match(
      reasonOf(check(buildEnvelope({ key: ca.leafKey, chain: [ca.leaf, ca.impostor], signingTime }))),
      /is not issued by the next one/,
    );
  });

  it('rejects a signing time outside the certificate', () => {
    const early = new Date(new Date(ca.leaf.validFrom).getTime() - 3_600_000);
    const envelope = buildEnvelope({ key: ca.leafKey, chain: [ca.leaf], signingTime: early });

    assert.match(reasonOf(check(envelope)), /was not valid at the signing time/);
  });

  it('rejects a certificate that expired before now', () => {
    const envelope = buildEnvelope({ key: ca.leafKey, chain: [ca.leaf], signingTime });
    const later = new Date(new Date(ca.leaf.validTo).getTime() + 86_400_000);

    assert.equal(
      reasonOf(check(envelope, [ca.root], later)),
      `the certificate "${subjectName(ca.leaf)}" expired at ${new Date(ca.leaf.validTo).toISOString()}`,
    );
  });

  it('rejects an expired signature', () => {
    const expiry = new Date(checkTime.getTime() - 1000);
    const envelope = buildEnvelope({
      key: ca.leafKey,
      chain: [ca.leaf],
      signingTime,
      change: (header) => {
        header.set(2, ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']);
        header.set('io.cncf.notary.expiry', new CborTag(1, Math.floor(expiry.getTime() / 1000)));
      },
    });

    assert.equal(
      reasonOf(check(envelope)),
      `the signature expired at ${new Date(Math.floor(expiry.getTime() / 1000) * 1000).toISOString()}`,
    );
    assert.equal(reasonOf(check(envelope, [ca.root], signingTime)), 'verified');
  });

  const headerCases: [string, (header: CborMap) => void, string][] = [
    [
      'an unknown algorithm',
      (header) => header.set(1, -8),
      'the algorithm -8 is not one notation signs with',
    ],
    [
      'a missing algorithm',
      (header) => header.delete(1),
      'the algorithm missing is not one notation signs with',
    ],
    [
      'an unknown critical header',
      (header) => header.set(2, ['io.cncf.notary.signingScheme', 'x-unknown']),
      'the critical header "x-unknown" is not supported',
    ],
    ['a critical integer label', (header) => header.set(2, [1]), 'the critical header 1 is not supported'],
    [
      'a critical header that is absent',
      (header) => header.set(2, ['io.cncf.notary.expiry']),
      'the critical header "io.cncf.notary.expiry" is not in the protected header',
    ],
    ['an empty crit', (header) => header.set(2, []), 'the crit header is not a non-empty array'],
    [
      'another content type',
      (header) => header.set(3, 'application/json'),
      `the content type "application/json" is not ${payloadType}`,
    ],
    [
      'the signing authority scheme',
      (header) => header.set('io.cncf.notary.signingScheme', 'notary.x509.signingAuthority'),
      'the signing scheme "notary.x509.signingAuthority" is not supported; only notary.x509 is',
    ],
    [
      'a signing time without tag 1',
      (header) => header.set('io.cncf.notary.signingTime', 1700000000),
      'the protected header has no valid io.cncf.notary.signingTime',
    ],
    [
      'an expiry that is text',
      (header) => header.set('io.cncf.notary.expiry', '2030-01-01T00:00:00Z'),
      'the io.cncf.notary.expiry is not an epoch date/time (CBOR tag 1)',
    ],
  ];

  for (const [name, change, reason] of headerCases) {
    it(`rejects ${name}`, () => {
      const envelope = buildEnvelope({ key: ca.leafKey, chain: [ca.leaf], signingTime, change });

      assert.equal(reasonOf(check(envelope)), reason);
    });
  }
});
