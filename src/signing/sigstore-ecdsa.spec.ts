import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';

import { verifyEcdsaDigest } from './sigstore-ecdsa.js';
import { verifyDigestSignature } from './sigstore-signature.js';

const message = Buffer.from('signed by node:crypto');

describe('verifyEcdsaDigest', () => {
  for (const [curve, hash] of [
    ['prime256v1', 'sha256'],
    ['secp384r1', 'sha384'],
  ]) {
    it(`verifies ${curve} signatures of node`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const digest = createHash(hash).update(message).digest();

      // Several signatures, because each ECDSA signature uses a fresh nonce and its own r and s lengths.
      for (let round = 0; round < 5; round += 1) {
        const signature = sign(hash, message, privateKey);
        const tampered = Buffer.from(signature);

        tampered[tampered.length - 1] ^= 1;

        assert.equal(verifyEcdsaDigest(publicKey, digest, signature), true);
        assert.equal(verifyEcdsaDigest(publicKey, digest, tampered), false);
        assert.equal(
          verifyEcdsaDigest(publicKey, createHash(hash).update('other').digest(), signature),
          false,
        );
      }
    });
  }

  it('rejects other keys and junk', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    const digest = createHash('sha256').update(message).digest();
    const signature = sign('sha256', message, privateKey);

    assert.equal(verifyEcdsaDigest(other, digest, signature), false);
    assert.equal(verifyEcdsaDigest(k1, digest, signature), false);
    assert.equal(verifyEcdsaDigest(other, digest, Buffer.from('junk')), false);
  });
});

describe('verifyDigestSignature', () => {
  it('verifies RSA PKCS #1 v1.5', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const digest = createHash('sha256').update(message).digest();
    const signature = sign('sha256', message, privateKey);

    assert.equal(verifyDigestSignature(publicKey, 'sha256', digest, signature), true);
    assert.equal(
      verifyDigestSignature(publicKey, 'sha256', createHash('sha256').update('x').digest(), signature),
      false,
    );
  });

  it('rejects Ed25519 and mismatched algorithms', () => {
    const ed = generateKeyPairSync('ed25519');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const digest = createHash('sha256').update(message).digest();

    assert.equal(
      verifyDigestSignature(ed.publicKey, 'sha256', digest, sign(null, message, ed.privateKey)),
      false,
    );
    assert.equal(
      verifyDigestSignature(
        p256.publicKey,
        'sha512',
        createHash('sha512').update(message).digest(),
        sign('sha512', message, p256.privateKey),
      ),
      false,
    );
  });
});
