import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findPackage } from '../common/package-info.js';
import {
  cosignBundleAnnotation,
  type CosignSignature,
  cosignSignatureAnnotation,
  loadPublicKey,
  type TrustedKey,
  verifyCosignSignature,
} from './cosign-signature.js';

const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'cosign');

function key(name: string): TrustedKey {
  return loadPublicKey(name, readFileSync(join(fixtures, name), 'utf8'));
}

/**
 * Reads a signature in containers/image's on-disk form: the byte 0x00, `sigstore-json` and a newline,
 * then JSON with the base64 payload and the layer's annotations.
 */
function signatureOf(directory: string): { signature: CosignSignature; digest: string } {
  const file = readFileSync(join(fixtures, directory, 'signature-1'));
  const prefix = Buffer.from('\u0000sigstore-json\n');

  assert.ok(file.subarray(0, prefix.length).equals(prefix), 'the fixture is in the sigstore-json form');

  const body = JSON.parse(file.subarray(prefix.length).toString('utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };
  const manifest = readFileSync(join(fixtures, directory, 'manifest.json'));

  return {
    signature: { payload: Buffer.from(body.payload, 'base64'), annotations: body.annotations },
    digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
  };
}

/** Builds a simple-signing payload as cosign writes it, for signatures made in the test. */
function payloadFor(digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': '127.0.0.1:5000/team/app' },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

const digest = `sha256:${'b'.repeat(64)}`;

describe('verifyCosignSignature with real cosign signatures', () => {
  it('verifies a signature with its key', () => {
    const { signature, digest: subject } = signatureOf('dir-img-cosign-valid');

    assert.deepEqual(verifyCosignSignature(signature, subject, [key('cosign.pub')]), {
      verified: true,
      key: 'cosign.pub',
      notes: [],
    });
  });

  it('says the Rekor bundle was not checked', () => {
    const { signature, digest: subject } = signatureOf('dir-img-cosign-key-rekor-valid');

    assert.ok(signature.annotations[cosignBundleAnnotation]);
    assert.deepEqual(verifyCosignSignature(signature, subject, [key('cosign.pub'), key('cosign2.pub')]), {
      verified: true,
      key: 'cosign2.pub',
      notes: ['the transparency log (Rekor) bundle was not checked'],
    });
  });

  it('refuses the other key', () => {
    const { signature, digest: subject } = signatureOf('dir-img-cosign-valid');
    const result = verifyCosignSignature(signature, subject, [key('cosign2.pub')]);

    assert.deepEqual(result, {
      verified: false,
      reason: 'no configured key verifies the signature (tried cosign2.pub)',
      notes: [],
    });
  });

  it('refuses a tampered payload', () => {
    const { signature, digest: subject } = signatureOf('dir-img-cosign-valid');
    const tampered = Buffer.from(
      signature.payload.toString('utf8').replace('cosign-signed-single-sample', 'cosign-signed-other-sample'),
    );

    assert.notDeepEqual(tampered, signature.payload);
    assert.equal(
      verifyCosignSignature({ ...signature, payload: tampered }, subject, [key('cosign.pub')]).verified,
      false,
    );
  });

  it('refuses a tampered signature', () => {
    const { signature, digest: subject } = signatureOf('dir-img-cosign-valid');
    const bytes = Buffer.from(signature.annotations[cosignSignatureAnnotation], 'base64');

    bytes[bytes.length - 1] ^= 1;

    const result = verifyCosignSignature(
      { ...signature, annotations: { [cosignSignatureAnnotation]: bytes.toString('base64') } },
      subject,
      [key('cosign.pub')],
    );

    assert.equal(result.verified, false);
  });

  it('refuses a signature of another image', () => {
    const { signature, digest: subject } = signatureOf('dir-img-cosign-valid');

    assert.deepEqual(verifyCosignSignature(signature, digest, [key('cosign.pub')]), {
      verified: false,
      reason: `the payload names the image ${subject}, not ${digest}`,
      notes: [],
    });
  });
});

describe('verifyCosignSignature with bad input', () => {
  const { signature, digest: subject } = signatureOf('dir-img-cosign-valid');

  const cases: [string, CosignSignature, RegExp][] = [
    [
      'bad base64',
      { ...signature, annotations: { [cosignSignatureAnnotation]: 'not*base64!' } },
      /^the signature annotation is not valid base64$/,
    ],
    [
      'no signature annotation',
      { ...signature, annotations: {} },
      /has no dev\.cosignproject\.cosign\/signature/,
    ],
    [
      'a payload that is not JSON',
      { ...signature, payload: Buffer.from('{"critical":') },
      /^the payload is not JSON$/,
    ],
    [
      'another payload type',
      { ...signature, payload: Buffer.from('{"critical":{"type":"something else"}}') },
      /not a cosign simple-signing payload/,
    ],
    [
      'a payload without a digest',
      { ...signature, payload: Buffer.from('{"critical":{"type":"cosign container image signature"}}') },
      /names no image digest/,
    ],
  ];

  for (const [name, input, reason] of cases) {
    it(`reports ${name}`, () => {
      const result = verifyCosignSignature(input, subject, [key('cosign.pub')]);

      assert.equal(result.verified, false);
      assert.match(result.verified ? '' : result.reason, reason);
    });
  }

  it('reports that no key is configured', () => {
    assert.deepEqual(verifyCosignSignature(signature, subject, []), {
      verified: false,
      reason: 'no public key is configured to check it with',
      notes: [],
    });
  });
});

describe('key types', () => {
  const payload = payloadFor(digest);

  it('verifies RSA and Ed25519 signatures made in the test', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed25519 = generateKeyPairSync('ed25519');
    const rsaKey = loadPublicKey('rsa.pub', rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const edKey = loadPublicKey(
      'ed.pub',
      ed25519.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    const signed = (signatureBytes: Buffer): CosignSignature => ({
      payload,
      annotations: { [cosignSignatureAnnotation]: signatureBytes.toString('base64') },
    });

    assert.deepEqual(
      verifyCosignSignature(signed(sign('sha256', payload, rsa.privateKey)), digest, [edKey, rsaKey]),
      {
        verified: true,
        key: 'rsa.pub',
        notes: [],
      },
    );
    assert.deepEqual(
      verifyCosignSignature(signed(sign(null, payload, ed25519.privateKey)), digest, [rsaKey, edKey]),
      {
        verified: true,
        key: 'ed.pub',
        notes: [],
      },
    );
  });

  it('rejects keys cosign does not sign with', () => {
    const dsa = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 224 });
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });

    assert.throws(
      () => loadPublicKey('dsa.pub', dsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      /public key "dsa\.pub" is a dsa key; cosign signatures use/,
    );
    assert.throws(
      () => loadPublicKey('k1.pub', secp256k1.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      /public key "k1\.pub" is an EC key on secp256k1/,
    );
    assert.throws(
      () => loadPublicKey('junk.pub', 'not a key'),
      /public key "junk\.pub" is not a PEM public key/,
    );
  });

  it('rejects private keys in every PEM form', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forms = [
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
      privateKey
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'test' })
        .toString(),
    ];

    for (const pem of forms) {
      assert.throws(
        () => loadPublicKey('leaked.key', pem),
        /public key "leaked\.key" contains a private key/,
      );
    }
  });
});
