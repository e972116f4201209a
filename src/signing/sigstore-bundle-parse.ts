import { X509Certificate } from 'node:crypto';

import type { InclusionProof } from './sigstore-merkle.js';
import { decodeBase64, isObject } from './sigstore-trusted-root.js';

/** The sigstore bundle media types read: versions 0.1 to 0.3, and the v0.3 name cosign uses for OCI referrers. */
export const bundleMediaTypes: readonly string[] = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
];

/** The signer of a bundle: a public key known out of band, or a (Fulcio) certificate. */
export type VerificationMaterial =
  { kind: 'key'; hint?: string } | { kind: 'certificate'; leaf: X509Certificate };

/** The content a bundle signs: a DSSE envelope or the digest of a message. */
export type BundleContent =
  | { kind: 'dsse'; payloadType: string; payload: Buffer; signature: Buffer }
  | { kind: 'message'; algorithm: string; digest: Buffer; signature: Buffer };

/** A transparency log entry of a bundle, with its fields decoded. */
export interface TlogEntry {
  logIndex: number;
  logId: Buffer;
  integratedTime: number;
  /** The canonicalized entry body, base64 as the log signs it. */
  body: string;
  signedEntryTimestamp?: string;
  inclusionProof?: InclusionProof;
}

/** A bundle with every field needed for verification decoded. */
export interface ParsedBundle {
  material: VerificationMaterial;
  content: BundleContent;
  tlogEntries: TlogEntry[];
  /** How many RFC 3161 timestamps the bundle carries; they are not checked. */
  timestampCount: number;
}

/** Bundle digest algorithm names (the protobuf HashAlgorithm enum) and the names Node and Rekor use. */
const hashAlgorithms: Record<string, string> = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

/** Decodes the JSON of a sigstore bundle, or returns the problem as a reason. Never throws. */
export function parseBundle(bytes: Buffer): ParsedBundle | { problem: string } {
  let json: unknown;

  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { problem: 'the bundle is not valid JSON' };
  }

  if (!isObject(json)) {
    return { problem: 'the bundle is not a JSON object' };
  }

  if (typeof json.mediaType !== 'string' || !bundleMediaTypes.includes(json.mediaType)) {
    return { problem: `the bundle media type ${JSON.stringify(json.mediaType)} is not supported` };
  }

  try {
    const material = objectAt(json.verificationMaterial, 'verificationMaterial');
    const timestamps = isObject(material.timestampVerificationData)
      ? material.timestampVerificationData.rfc3161Timestamps
      : undefined;

    return {
      material: readMaterial(material),
      content: readContent(json),
      tlogEntries: listAt(material.tlogEntries, 'verificationMaterial.tlogEntries').map(readTlogEntry),
      timestampCount: Array.isArray(timestamps) ? timestamps.length : 0,
    };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

function readMaterial(material: Record<string, unknown>): VerificationMaterial {
  if (isObject(material.publicKey)) {
    const hint = material.publicKey.hint;

    return { kind: 'key', hint: typeof hint === 'string' ? hint : undefined };
  }

  let raw: unknown;

  if (isObject(material.certificate)) {
    raw = material.certificate.rawBytes;
  } else if (isObject(material.x509CertificateChain)) {
    const [leaf] = listAt(material.x509CertificateChain.certificates, 'x509CertificateChain.certificates');

    raw = isObject(leaf) ? leaf.rawBytes : undefined;
  } else {
    throw new Error('the bundle has no publicKey, certificate or x509CertificateChain');
  }

  try {
    return { kind: 'certificate', leaf: new X509Certificate(bytesAt(raw, 'the signing certificate')) };
  } catch (error) {
    throw new Error(`the signing certificate is not a DER X.509 certificate: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function readContent(json: Record<string, unknown>): BundleContent {
  if (isObject(json.dsseEnvelope)) {
    const envelope = json.dsseEnvelope;
    const signatures = listAt(envelope.signatures, 'dsseEnvelope.signatures');

    if (signatures.length !== 1 || !isObject(signatures[0])) {
      throw new Error(
        `the DSSE envelope has ${signatures.length} signatures; a sigstore bundle has exactly one`,
      );
    }

    if (typeof envelope.payloadType !== 'string') {
      throw new Error('the DSSE envelope has no payloadType');
    }

    return {
      kind: 'dsse',
      payloadType: envelope.payloadType,
      payload: bytesAt(envelope.payload, 'dsseEnvelope.payload'),
      signature: bytesAt(signatures[0].sig, 'dsseEnvelope.signatures[0].sig'),
    };
  }

  if (isObject(json.messageSignature)) {
    const digest = objectAt(json.messageSignature.messageDigest, 'messageSignature.messageDigest');
    const algorithm = hashAlgorithms[String(digest.algorithm)];

    if (algorithm === undefined) {
      throw new Error(`the message digest algorithm ${JSON.stringify(digest.algorithm)} is not supported`);
    }

    return {
      kind: 'message',
      algorithm,
      digest: bytesAt(digest.digest, 'messageSignature.messageDigest.digest'),
      signature: bytesAt(json.messageSignature.signature, 'messageSignature.signature'),
    };
  }

  throw new Error('the bundle has neither dsseEnvelope nor messageSignature');
}

function readTlogEntry(item: unknown, index: number): TlogEntry {
  const where = `verificationMaterial.tlogEntries[${index}]`;
  const entry = objectAt(item, where);
  const promise = isObject(entry.inclusionPromise) ? entry.inclusionPromise.signedEntryTimestamp : undefined;

  if (typeof entry.canonicalizedBody !== 'string' || decodeBase64(entry.canonicalizedBody) === undefined) {
    throw new Error(`${where}.canonicalizedBody is missing or not base64`);
  }

  return {
    logIndex: integerAt(entry.logIndex, `${where}.logIndex`),
    logId: bytesAt(objectAt(entry.logId, `${where}.logId`).keyId, `${where}.logId.keyId`),
    integratedTime: integerAt(entry.integratedTime, `${where}.integratedTime`),
    body: entry.canonicalizedBody,
    signedEntryTimestamp: typeof promise === 'string' ? promise : undefined,
    inclusionProof: isObject(entry.inclusionProof) ? readProof(entry.inclusionProof, where) : undefined,
  };
}

function readProof(proof: Record<string, unknown>, where: string): InclusionProof {
  const checkpoint = isObject(proof.checkpoint) ? proof.checkpoint.envelope : undefined;

  if (typeof checkpoint !== 'string') {
    throw new Error(`${where}.inclusionProof.checkpoint.envelope is missing`);
  }

  return {
    logIndex: BigInt(integerAt(proof.logIndex, `${where}.inclusionProof.logIndex`)),
    treeSize: BigInt(integerAt(proof.treeSize, `${where}.inclusionProof.treeSize`)),
    rootHash: bytesAt(proof.rootHash, `${where}.inclusionProof.rootHash`),
    hashes: listAt(proof.hashes, `${where}.inclusionProof.hashes`).map((item, index) =>
      bytesAt(item, `${where}.inclusionProof.hashes[${index}]`),
    ),
    checkpoint,
  };
}

/** Reads an int64, which the bundle's protobuf JSON writes as a decimal string. */
function integerAt(value: unknown, where: string): number {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw new Error(`${where} is missing or not an integer`);
  }

  return number;
}

function bytesAt(value: unknown, where: string): Buffer {
  const bytes = decodeBase64(value);

  if (bytes === undefined || bytes.length === 0) {
    throw new Error(`${where} is missing or not valid base64`);
  }

  return bytes;
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (!isObject(value)) {
    throw new Error(`${where} is missing or not an object`);
  }

  return value;
}

function listAt(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) {
    return [];
  }

  if (!Array.isArray(value)) {
    throw new Error(`${where} is not an array`);
  }

  return value;
}
