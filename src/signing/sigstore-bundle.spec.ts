/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   These tests edit parsed JSON by path to tamper with one field at a time, so the JSON is untyped. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import { loadPublicKey } from './cosign-signature.js';
import { type BundleCheck, type SigstoreTrust, verifySigstoreBundle } from './sigstore-bundle.js';
import {
  createTestRoot,
  issueCertificate,
  merklePath,
  merkleRoot,
  signCheckpoint,
  type TestIssuer,
} from './sigstore-test-pki.js';
import { parseTrustedRoot, type SigstoreTrustedRoot } from './sigstore-trusted-root.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'cosign', 'sigstore-bundle');
const publicGood = parseTrustedRoot(readFileSync(join(fixtures, 'trusted-root-public-good.json')));
const publishKey = loadPublicKey('publish_key.pub', readFileSync(join(fixtures, 'publish_key.pub'), 'utf8'));
const now = new Date('2024-06-01T00:00:00Z');

/** The sha512 digest both fixture bundles name as the subject pkg:npm/sigstore@1.3.0. */
const npmDigest =
  'sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751';
const releaseWorkflow = {
  subject: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
};

type Json = Record<string, any>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as Json;
}

function check(bundle: Json | string, digest: string, trust: Partial<SigstoreTrust>): BundleCheck {
  const bytes = Buffer.from(typeof bundle === 'string' ? bundle : JSON.stringify(bundle));

  return verifySigstoreBundle(bytes, digest, { keys: [], identities: [], ...trust }, now);
}

function reasonOf(result: BundleCheck): string {
  assert.equal(result.verified, false);

  return result.verified ? '' : result.reason;
}

function flipLastByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');

  bytes[bytes.length - 1] ^= 1;

  return bytes.toString('base64');
}

describe('verifySigstoreBundle with real bundles', () => {
  it('verifies the key-signed npm bundle', () => {
    const result = check(fixture('bundle-publish.json'), npmDigest, {
      keys: [publishKey],
      trustedRoot: publicGood,
    });

    assert.deepEqual(result, {
      verified: true,
      signer: 'publish_key.pub',
      signingTime: new Date(1681839916 * 1000).toISOString(),
      notes: ['the transparency log inclusion proof was not checked'],
    });
  });

  it('verifies the keyless npm bundle', () => {
    const result = check(fixture('bundle-provenance.json'), npmDigest, {
      trustedRoot: publicGood,
      identities: [releaseWorkflow],
    });

    assert.deepEqual(result, {
      verified: true,
      signer: releaseWorkflow.subject,
      signingTime: new Date(1681839912 * 1000).toISOString(),
      notes: [
        'the transparency log inclusion proof was not checked',
        'certificate revocation was not checked',
      ],
    });
  });

  it('names an untrusted keyless signer', () => {
    const result = check(fixture('bundle-provenance.json'), npmDigest, {
      trustedRoot: publicGood,
      identities: [{ subject: releaseWorkflow.subject, issuer: 'https://accounts.google.com' }],
    });

    assert.equal(
      reasonOf(result),
      `the signer ${releaseWorkflow.subject} (OIDC issuer ${releaseWorkflow.issuer}) is not a trusted identity`,
    );
  });

  it('notes an unchecked log without a trusted root', () => {
    const result = check(fixture('bundle-publish.json'), npmDigest, { keys: [publishKey] });

    assert.deepEqual(result, {
      verified: true,
      signer: 'publish_key.pub',
      signingTime: undefined,
      notes: ['the transparency log entry was not checked, because no trusted root is configured'],
    });
  });

  it('rejects keyless without a trusted root', () => {
    const result = check(fixture('bundle-provenance.json'), npmDigest, { identities: [releaseWorkflow] });

    assert.equal(reasonOf(result), 'the bundle is signed keyless, and no trusted root is configured');
  });

  it('rejects another key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const result = check(fixture('bundle-publish.json'), npmDigest, {
      keys: [{ name: 'other.pub', key: other }],
      trustedRoot: publicGood,
    });

    assert.equal(reasonOf(result), 'no configured key verifies the signature (tried other.pub)');
  });

  it('rejects another subject digest', () => {
    const image = `sha256:${'a'.repeat(64)}`;
    const result = check(fixture('bundle-publish.json'), image, {
      keys: [publishKey],
      trustedRoot: publicGood,
    });

    assert.equal(
      reasonOf(result),
      `the in-toto statement has no subject with the digest ${image} (its subjects: pkg:npm/sigstore@1.3.0)`,
    );
  });

  for (const name of ['bundle-publish.json', 'bundle-provenance.json']) {
    const trust = { keys: [publishKey], trustedRoot: publicGood, identities: [releaseWorkflow] };

    it(`rejects ${name} with a tampered payload`, () => {
      const bundle = fixture(name);
      const statement = Buffer.from(bundle.dsseEnvelope.payload as string, 'base64').toString('utf8');

      bundle.dsseEnvelope.payload = Buffer.from(
        statement.replace('sigstore@1.3.0', 'sigstore@1.3.1'),
      ).toString('base64');

      assert.notEqual(bundle.dsseEnvelope.payload, fixture(name).dsseEnvelope.payload);
      assert.match(reasonOf(check(bundle, npmDigest, trust)), /verif/);
    });

    it(`rejects ${name} with a tampered signature`, () => {
      const bundle = fixture(name);

      bundle.dsseEnvelope.signatures[0].sig = flipLastByte(bundle.dsseEnvelope.signatures[0].sig as string);

      assert.match(reasonOf(check(bundle, npmDigest, trust)), /does not verify|no configured key verifies/);
    });

    it(`rejects ${name} with a tampered SET`, () => {
      const bundle = fixture(name);
      const entry = bundle.verificationMaterial.tlogEntries[0];

      entry.inclusionPromise.signedEntryTimestamp = flipLastByte(
        entry.inclusionPromise.signedEntryTimestamp as string,
      );

      assert.equal(
        reasonOf(check(bundle, npmDigest, trust)),
        'the transparency log entry is not valid: the signed entry timestamp does not verify with the transparency log key',
      );
    });

    it(`rejects ${name} with a moved integrated time`, () => {
      const bundle = fixture(name);
      const entry = bundle.verificationMaterial.tlogEntries[0];

      entry.integratedTime = String(Number(entry.integratedTime) + 60);

      assert.match(reasonOf(check(bundle, npmDigest, trust)), /signed entry timestamp does not verify/);
    });
  }

  it('rejects an entry integrated after now', () => {
    const result = verifySigstoreBundle(
      Buffer.from(JSON.stringify(fixture('bundle-publish.json'))),
      npmDigest,
      { keys: [publishKey], trustedRoot: publicGood, identities: [] },
      new Date('2023-01-01T00:00:00Z'),
    );

    assert.match(reasonOf(result), /integrated time 2023-04-18T17:45:16\.000Z is in the future/);
  });
});

/** A test Rekor log, a test Fulcio root and a trusted root JSON naming both, as a trusted root file would. */
interface TestSigstore {
  rekorKey: KeyObject;
  logId: Buffer;
  fulcio: TestIssuer;
  trustedRoot: SigstoreTrustedRoot;
}

function createTestSigstore(): TestSigstore {
  const rekor = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rekorDer = rekor.publicKey.export({ type: 'spki', format: 'der' });
  const logId = createHash('sha256').update(rekorDer).digest();
  const fulcio = createTestRoot(
    'test-fulcio',
    new Date('2020-01-01T00:00:00Z'),
    new Date('2040-01-01T00:00:00Z'),
  );
  const trustedRoot = parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'http://127.0.0.1:3000',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: rekorDer.toString('base64'), validFor: { start: '2020-01-01T00:00:00Z' } },
        logId: { keyId: logId.toString('base64') },
      },
    ],
    certificateAuthorities: [
      {
        uri: 'http://127.0.0.1:3001',
        certChain: { certificates: [{ rawBytes: fulcio.certificate.raw.toString('base64') }] },
        validFor: { start: '2020-01-01T00:00:00Z' },
      },
    ],
  });

  return { rekorKey: rekor.privateKey, logId, fulcio, trustedRoot };
}

const sigstore = createTestSigstore();
const imageDigest = `sha256:${createHash('sha256').update('test image manifest').digest('hex')}`;
const integratedTime = Math.floor(new Date('2024-05-01T12:00:00Z').getTime() / 1000);
const workflow = {
  subject: 'https://github.com/acme/app/.github/workflows/sign.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
};

/** Creates a leaf key and a Fulcio-style certificate valid for 10 minutes around the integrated time. */
function createSigner(
  issuer: TestIssuer,
  options: { email?: string; legacyIssuer?: boolean; start?: number } = {},
) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const start = options.start ?? integratedTime - 60;
  const certificate = issueCertificate({
    publicKey,
    issuer,
    notBefore: new Date(start * 1000),
    notAfter: new Date((start + 600) * 1000),
    uri: options.email === undefined ? workflow.subject : undefined,
    email: options.email,
    oidcIssuer: workflow.issuer,
    legacyIssuer: options.legacyIssuer,
  });

  return { privateKey, publicKey, certificate };
}

function statementFor(digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: '127.0.0.1:5000/acme/app', digest: { sha256: digest.slice('sha256:'.length) } }],
      predicateType: 'https://cosign.sigstore.dev/attestation/v1',
      predicate: {},
    }),
  );
}

function pae(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${payload.length} `), payload]);
}

/** Builds a Rekor tlog entry for a body: SET over the canonical JSON and an inclusion proof at index 2 of 5. */
function tlogEntry(body: Buffer, options: { proof?: boolean } = {}): Json {
  const canonicalizedBody = body.toString('base64');
  const logIndex = 2;
  const logID = sigstore.logId.toString('hex');
  const canonical = JSON.stringify({ body: canonicalizedBody, integratedTime, logID, logIndex });
  const entries = [Buffer.from('a'), Buffer.from('b'), body, Buffer.from('d'), Buffer.from('e')];
  const root = merkleRoot(entries);

  return {
    logIndex: String(logIndex),
    logId: { keyId: sigstore.logId.toString('base64') },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(integratedTime),
    inclusionPromise: {
      signedEntryTimestamp: sign('sha256', Buffer.from(canonical), sigstore.rekorKey).toString('base64'),
    },
    inclusionProof:
      options.proof === false
        ? undefined
        : {
            logIndex: String(logIndex),
            rootHash: root.toString('base64'),
            treeSize: String(entries.length),
            hashes: merklePath(logIndex, entries).map((hash) => hash.toString('base64')),
            checkpoint: { envelope: signCheckpoint(entries.length, root, sigstore.rekorKey, sigstore.logId) },
          },
    canonicalizedBody,
  };
}

/** Builds a v0.3 DSSE bundle signed by `privateKey`, with a certificate or a key hint, and a dsse 0.0.1 tlog entry. */
function dsseBundle(
  privateKey: KeyObject,
  material: Json,
  options: { digest?: string; proof?: boolean; tlog?: boolean } = {},
): Json {
  const payloadType = 'application/vnd.in-toto+json';
  const payload = statementFor(options.digest ?? imageDigest);
  const signature = sign('sha256', pae(payloadType, payload), privateKey);
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        signatures: [{ signature: signature.toString('base64'), verifier: '' }],
        payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      },
    }),
  );

  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      ...material,
      tlogEntries: options.tlog === false ? [] : [tlogEntry(body, options)],
    },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  };
}

function certificateMaterial(signer: ReturnType<typeof createSigner>): Json {
  return { certificate: { rawBytes: signer.certificate.raw.toString('base64') } };
}

describe('verifySigstoreBundle with bundles made in the test', () => {
  const trust = { trustedRoot: sigstore.trustedRoot, identities: [workflow] };

  it('verifies a keyless bundle with an inclusion proof', () => {
    const signer = createSigner(sigstore.fulcio);
    const result = check(dsseBundle(signer.privateKey, certificateMaterial(signer)), imageDigest, trust);

    assert.deepEqual(result, {
      verified: true,
      signer: workflow.subject,
      signingTime: new Date(integratedTime * 1000).toISOString(),
      notes: ['certificate revocation was not checked'],
    });
  });

  it('reads the email SAN and legacy issuer', () => {
    const signer = createSigner(sigstore.fulcio, { email: 'dev@example.com', legacyIssuer: true });
    const result = check(dsseBundle(signer.privateKey, certificateMaterial(signer)), imageDigest, {
      ...trust,
      identities: [{ subject: 'dev@example.com', issuer: workflow.issuer }],
    });

    assert.equal(result.verified, true);
    assert.equal(result.verified && result.signer, 'dev@example.com');
  });

  it('verifies a key-signed bundle without tlog', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const bundle = dsseBundle(privateKey, { publicKey: { hint: 'test' } }, { tlog: false });
    const result = check(bundle, imageDigest, { keys: [{ name: 'team.pub', key: publicKey }] });

    assert.deepEqual(result, {
      verified: true,
      signer: 'team.pub',
      signingTime: undefined,
      notes: ['no transparency log entry: the signing time is not attested'],
    });
  });

  it('verifies a messageSignature bundle', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const manifest = Buffer.from('test image manifest');
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2',
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
      messageSignature: {
        messageDigest: {
          algorithm: 'SHA2_256',
          digest: createHash('sha256').update(manifest).digest('base64'),
        },
        signature: sign('sha256', manifest, privateKey).toString('base64'),
      },
    };
    const keys = [{ name: 'team.pub', key: publicKey }];

    assert.equal(check(bundle, imageDigest, { keys }).verified, true);
    assert.equal(
      reasonOf(check(bundle, `sha256:${'e'.repeat(64)}`, { keys })),
      `the bundle signs the digest ${imageDigest}, not sha256:${'e'.repeat(64)}`,
    );

    bundle.messageSignature.signature = flipLastByte(bundle.messageSignature.signature);

    assert.equal(
      reasonOf(check(bundle, imageDigest, { keys })),
      'no configured key verifies the signature (tried team.pub)',
    );
  });

  it('rejects a bundle of another image', () => {
    const signer = createSigner(sigstore.fulcio);
    const other = `sha256:${'c'.repeat(64)}`;
    const result = check(
      dsseBundle(signer.privateKey, certificateMaterial(signer), { digest: other }),
      imageDigest,
      trust,
    );

    assert.match(reasonOf(result), /^the in-toto statement has no subject with the digest sha256:/);
  });

  it('names the signer of an untrusted identity', () => {
    const signer = createSigner(sigstore.fulcio);
    const result = check(dsseBundle(signer.privateKey, certificateMaterial(signer)), imageDigest, {
      ...trust,
      identities: [
        {
          subject: 'https://github.com/acme/other/.github/workflows/sign.yml@refs/heads/main',
          issuer: workflow.issuer,
        },
      ],
    });

    assert.equal(
      reasonOf(result),
      `the signer ${workflow.subject} (OIDC issuer ${workflow.issuer}) is not a trusted identity`,
    );
  });

  it('rejects a certificate of an untrusted CA', () => {
    const stranger = createTestRoot(
      'stranger',
      new Date('2020-01-01T00:00:00Z'),
      new Date('2040-01-01T00:00:00Z'),
    );
    const signer = createSigner(stranger);
    const result = check(dsseBundle(signer.privateKey, certificateMaterial(signer)), imageDigest, trust);

    assert.match(
      reasonOf(result),
      /^the signing certificate \(issuer CN=stranger\) does not chain to a certificate authority/,
    );
  });

  it('rejects a certificate expired at integration', () => {
    const signer = createSigner(sigstore.fulcio, { start: integratedTime - 3600 });
    const result = check(dsseBundle(signer.privateKey, certificateMaterial(signer)), imageDigest, trust);

    assert.match(
      reasonOf(result),
      /^the signing certificate was not valid at the signing time 2024-05-01T12:00:00\.000Z/,
    );
  });

  it('rejects keyless without a SET', () => {
    const signer = createSigner(sigstore.fulcio);
    const bundle = dsseBundle(signer.privateKey, certificateMaterial(signer));

    delete bundle.verificationMaterial.tlogEntries[0].inclusionPromise;

    assert.match(
      reasonOf(check(bundle, imageDigest, trust)),
      /no verified transparency log entry attests the signing time/,
    );
  });

  it('rejects a tampered inclusion proof', () => {
    const signer = createSigner(sigstore.fulcio);
    const bundle = dsseBundle(signer.privateKey, certificateMaterial(signer));
    const proof = bundle.verificationMaterial.tlogEntries[0].inclusionProof;

    proof.hashes[0] = flipLastByte(proof.hashes[0] as string);

    assert.equal(
      reasonOf(check(bundle, imageDigest, trust)),
      'the inclusion proof does not lead to its root hash',
    );
  });

  it('rejects a tlog body of another signature', () => {
    const signer = createSigner(sigstore.fulcio);
    const bundle = dsseBundle(signer.privateKey, certificateMaterial(signer));
    const other = dsseBundle(signer.privateKey, certificateMaterial(signer), {
      digest: `sha256:${'d'.repeat(64)}`,
    });

    bundle.verificationMaterial.tlogEntries = other.verificationMaterial.tlogEntries;

    assert.equal(
      reasonOf(check(bundle, imageDigest, trust)),
      'the transparency log entry records a different signature',
    );
  });

  it('rejects a tampered payload', () => {
    const signer = createSigner(sigstore.fulcio);
    const bundle = dsseBundle(signer.privateKey, certificateMaterial(signer));
    const statement = JSON.parse(
      Buffer.from(bundle.dsseEnvelope.payload as string, 'base64').toString('utf8'),
    ) as Json;

    statement.predicate = { extra: true };
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');

    assert.equal(
      reasonOf(check(bundle, imageDigest, trust)),
      'the signature does not verify with the key of the signing certificate',
    );
  });
});

describe('verifySigstoreBundle with malformed bundles', () => {
  const signer = createSigner(sigstore.fulcio);
  const valid = dsseBundle(signer.privateKey, certificateMaterial(signer));
  const trust = { trustedRoot: sigstore.trustedRoot, identities: [workflow] };

  const edit = (change: (bundle: Json) => void): Json => {
    const bundle = structuredClone(valid);

    change(bundle);

    return bundle;
  };

  const cases: [string, Json | string, RegExp][] = [
    ['truncated JSON', JSON.stringify(valid).slice(0, 200), /^the bundle is not valid JSON$/],
    ['a JSON array', '[]', /^the bundle is not a JSON object$/],
    [
      'an unknown media type',
      edit((bundle) => (bundle.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=9')),
      /^the bundle media type "application\/vnd\.dev\.sigstore\.bundle\+json;version=9" is not supported$/,
    ],
    [
      'bad base64 in the signature',
      edit((bundle) => (bundle.dsseEnvelope.signatures[0].sig = 'not*base64!')),
      /^dsseEnvelope\.signatures\[0\]\.sig is missing or not valid base64$/,
    ],
    [
      'bad base64 in the certificate',
      edit((bundle) => (bundle.verificationMaterial.certificate.rawBytes = '@@@@')),
      /^the signing certificate is not a DER X\.509 certificate/,
    ],
    [
      'no verification material',
      edit((bundle) => delete bundle.verificationMaterial.certificate),
      /^the bundle has no publicKey, certificate or x509CertificateChain$/,
    ],
    [
      'no content',
      edit((bundle) => delete bundle.dsseEnvelope),
      /^the bundle has neither dsseEnvelope nor messageSignature$/,
    ],
    [
      'two DSSE signatures',
      edit((bundle) => bundle.dsseEnvelope.signatures.push(bundle.dsseEnvelope.signatures[0])),
      /has 2 signatures; a sigstore bundle has exactly one$/,
    ],
    [
      'a non-integer integrated time',
      edit((bundle) => (bundle.verificationMaterial.tlogEntries[0].integratedTime = 'soon')),
      /integratedTime is missing or not an integer$/,
    ],
    [
      'another payload type',
      edit((bundle) => (bundle.dsseEnvelope.payloadType = 'text/plain')),
      /^the DSSE payload type is "text\/plain", not application\/vnd\.in-toto\+json$/,
    ],
  ];

  for (const [name, bundle, reason] of cases) {
    it(`reports ${name}`, () => {
      assert.match(reasonOf(check(bundle, imageDigest, trust)), reason);
    });
  }

  it('reports an invalid image digest', () => {
    assert.match(reasonOf(check(valid, 'sha256:abc', trust)), /is not a sha256 or sha512 digest$/);
  });
});
