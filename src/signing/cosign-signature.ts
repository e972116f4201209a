import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto';

/** The annotation of a cosign signature layer that carries the base64 signature of the layer's bytes. */
export const cosignSignatureAnnotation = 'dev.cosignproject.cosign/signature';

export { cosignLayerMediaType } from '../common/artifact-manifests.js';

/** The annotation of a cosign signature layer that carries a transparency log (Rekor) bundle. */
export const cosignBundleAnnotation = 'dev.sigstore.cosign/bundle';

/** The payload type cosign writes into simple-signing payloads. */
const simpleSigningType = 'cosign container image signature';

/** A public key that verifies signatures, with the name it is reported under. */
export interface TrustedKey {
  name: string;
  key: KeyObject;
}

/** One cosign signature: the signed payload (the layer's bytes) and the layer's annotations. */
export interface CosignSignature {
  payload: Buffer;
  annotations: Record<string, string>;
}

/**
 * The outcome of checking one signature. `notes` name what offline verification did not check, so a
 * result never claims more than was verified.
 */
export type SignatureCheck =
  { verified: true; key: string; notes: string[] } | { verified: false; reason: string; notes: string[] };

/** The key types cosign signs with: ECDSA (P-256, P-384, P-521), RSA and Ed25519. */
const supportedCurves = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/**
 * Reads a PEM public key for signature checks. Throws an Error that names the key when the PEM
 * cannot be read, contains a private key (Node would accept one and derive its public key, and the
 * secret would then be stored), or contains a key type cosign does not sign with.
 */
export function loadPublicKey(name: string, pem: string): TrustedKey {
  let key: KeyObject;

  if (containsPrivateKey(pem)) {
    throw new Error(
      `public key "${name}" contains a private key; give the public key only (cosign public-key --key cosign.key prints it)`,
    );
  }

  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`public key "${name}" is not a PEM public key: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;

  if (type === 'ec' && curve !== undefined && supportedCurves.has(curve)) {
    return { name, key };
  }

  if (type === 'rsa' || type === 'ed25519') {
    return { name, key };
  }

  throw new Error(
    `public key "${name}" is ${type === 'ec' ? `an EC key on ${curve ?? 'an unknown curve'}` : `a ${type ?? 'unknown'} key`}; cosign signatures use ECDSA P-256, P-384 or P-521, RSA or Ed25519`,
  );
}

/**
 * Checks a cosign signature of the image `subjectDigest`: the payload must be a simple-signing
 * payload naming that digest, and one of `keys` must verify the signature over the payload's exact
 * bytes. Every problem becomes a reason; nothing here throws.
 */
export function verifyCosignSignature(
  signature: CosignSignature,
  subjectDigest: string,
  keys: readonly TrustedKey[],
): SignatureCheck {
  const notes =
    signature.annotations[cosignBundleAnnotation] === undefined
      ? []
      : ['the transparency log (Rekor) bundle was not checked'];
  const encoded = signature.annotations[cosignSignatureAnnotation];

  if (encoded === undefined) {
    return { verified: false, reason: `the layer has no ${cosignSignatureAnnotation} annotation`, notes };
  }

  const bytes = decodeBase64(encoded);

  if (bytes === undefined) {
    return { verified: false, reason: 'the signature annotation is not valid base64', notes };
  }

  const named = signedDigest(signature.payload);

  if ('problem' in named) {
    return { verified: false, reason: named.problem, notes };
  }

  if (named.digest !== subjectDigest) {
    return {
      verified: false,
      reason: `the payload names the image ${named.digest}, not ${subjectDigest}`,
      notes,
    };
  }

  if (keys.length === 0) {
    return { verified: false, reason: 'no public key is configured to check it with', notes };
  }

  const key = keys.find((candidate) => checks(candidate.key, signature.payload, bytes));

  if (key === undefined) {
    return {
      verified: false,
      reason: `no configured key verifies the signature (tried ${keys.map((candidate) => candidate.name).join(', ')})`,
      notes,
    };
  }

  return { verified: true, key: key.name, notes };
}

/** Reads the image digest a simple-signing payload names, or why it names none. */
function signedDigest(payload: Buffer): { digest: string } | { problem: string } {
  let parsed: unknown;

  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return { problem: 'the payload is not JSON' };
  }

  const critical = (
    parsed as { critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } } }
  )?.critical;

  if (critical?.type !== simpleSigningType) {
    return {
      problem: `the payload is not a cosign simple-signing payload (critical.type is not "${simpleSigningType}")`,
    };
  }

  const digest = critical.image?.['docker-manifest-digest'];

  if (typeof digest !== 'string') {
    return { problem: 'the payload names no image digest (critical.image.docker-manifest-digest)' };
  }

  return { digest };
}

/** Verifies with the hash cosign uses: SHA-256 for ECDSA and RSA (PKCS #1 v1.5), none for Ed25519. */
function checks(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') {
      return verify(null, payload, key, signature);
    }

    if (key.asymmetricKeyType === 'rsa') {
      return verify('sha256', payload, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }

    return verify('sha256', payload, key, signature);
  } catch {
    // A signature of the wrong form for this key (such as one made by another key type) verifies nothing.
    return false;
  }
}

/** Decodes strict base64, or returns undefined; Node's decoder would skip invalid characters. */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return undefined;
  }

  return Buffer.from(text, 'base64');
}

/** Tells whether PEM text contains a private key block, in any of the PEM forms OpenSSL writes. */
export function containsPrivateKey(pem: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem);
}
