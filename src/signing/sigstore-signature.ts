import { constants, type KeyObject, publicDecrypt, verify } from 'node:crypto';

import { verifyEcdsaDigest } from './sigstore-ecdsa.js';

/** Picks the hash sigstore pairs with each key: SHA-256 for P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521. */
function hashFor(key: KeyObject): 'sha256' | 'sha384' | 'sha512' | null {
  const curve = key.asymmetricKeyDetails?.namedCurve;

  if (curve === 'secp384r1') {
    return 'sha384';
  }

  if (curve === 'secp521r1') {
    return 'sha512';
  }

  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

/**
 * Verifies a signature over `data` with the hash sigstore uses for the key type (ECDSA with DER
 * signatures, RSA PKCS #1 v1.5, Ed25519). A malformed signature verifies nothing, so this never throws.
 */
export function verifySignature(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === 'rsa') {
      return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }

    return verify(hashFor(key), data, key, signature);
  } catch {
    return false;
  }
}

/** The algorithms of a message digest that `verifyDigestSignature` accepts, by their byte length. */
const digestLengths: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** DER DigestInfo prefixes that RSA PKCS #1 v1.5 signatures put before the digest (RFC 8017, section 9.2). */
const digestInfoPrefixes: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/**
 * Verifies a signature when only the digest of the signed data is known, as in a bundle's
 * messageSignature. Node's verify() always hashes its input, so ECDSA is checked with the curve
 * arithmetic in sigstore-ecdsa.ts and RSA by recovering the DigestInfo. Ed25519 signs the message
 * itself, not a digest, so it cannot be checked from a digest and returns false.
 */
export function verifyDigestSignature(
  key: KeyObject,
  algorithm: string,
  digest: Buffer,
  signature: Buffer,
): boolean {
  if (digestLengths[algorithm] !== digest.length || (hashFor(key) ?? 'none') !== algorithm) {
    return false;
  }

  if (key.asymmetricKeyType === 'ec') {
    return verifyEcdsaDigest(key, digest, signature);
  }

  if (key.asymmetricKeyType !== 'rsa') {
    return false;
  }

  try {
    const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);

    return recovered.equals(Buffer.concat([Buffer.from(digestInfoPrefixes[algorithm], 'hex'), digest]));
  } catch {
    return false;
  }
}
