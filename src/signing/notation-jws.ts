import { X509Certificate } from 'node:crypto';

import {
  checkStrictly,
  type NotationAlgorithm,
  type NotationCheck,
  notationCriticalHeaders,
  type NotationEnvelope,
  notationPayloadType,
} from './notation-envelope.js';
import { readCertificateChain } from './notation-certificates.js';

export type { NotationCheck } from './notation-envelope.js';

/** The media type of a notation signature in the JWS JSON serialization. */
export const jwsMediaType = 'application/jose+json';

/** JWS algorithms notation signs with. */
const algorithms: Record<string, NotationAlgorithm> = {
  PS256: { name: 'PS256', hash: 'sha256', pss: true },
  PS384: { name: 'PS384', hash: 'sha384', pss: true },
  PS512: { name: 'PS512', hash: 'sha512', pss: true },
  ES256: { name: 'ES256', hash: 'sha256', pss: false, curve: 'prime256v1' },
  ES384: { name: 'ES384', hash: 'sha384', pss: false, curve: 'secp384r1' },
  ES512: { name: 'ES512', hash: 'sha512', pss: false, curve: 'secp521r1' },
};

interface ProtectedHeader {
  alg?: unknown;
  crit?: unknown;
  cty?: unknown;
  'io.cncf.notary.signingScheme'?: unknown;
  'io.cncf.notary.signingTime'?: unknown;
  'io.cncf.notary.expiry'?: unknown;
}

/**
 * Checks a notation signature in the JWS JSON serialization against a trust store of CA
 * certificates: the certificate chain in `x5c` must lead to a trusted certificate and be valid at the
 * signing time and at `now`, the signature must be unexpired and verify over the protected header
 * and payload, and the payload must name `subjectDigest`. Every problem becomes a reason; nothing
 * here throws. Trust policies, with their levels and identities, are applied by `verifyNotationSignature`.
 */
export function verifyNotationJws(
  envelope: Buffer,
  subjectDigest: string,
  trustStore: readonly X509Certificate[],
  now: Date = new Date(),
): NotationCheck {
  return checkStrictly(parseNotationJws(envelope), subjectDigest, trustStore, now);
}

/**
 * Reads a notation JWS envelope (JSON serialization) and its protected header, or returns why it is
 * not one. The algorithm must be one notation signs with, and `crit` may name only headers this
 * reader understands. The signing scheme must be `notary.x509`, and the times must be RFC 3339.
 */
export function parseNotationJws(envelope: Buffer): NotationEnvelope | { problem: string } {
  const parts = envelopeParts(envelope);

  if ('problem' in parts) {
    return parts;
  }

  const header = jsonOf<ProtectedHeader>(decodeBase64Url(parts.protected));

  if (header === undefined) {
    return { problem: 'the protected header is not base64url JSON' };
  }

  const algorithm = typeof header.alg === 'string' ? algorithms[header.alg] : undefined;

  if (algorithm === undefined) {
    return { problem: `the algorithm ${JSON.stringify(header.alg)} is not one notation signs with` };
  }

  const critical: unknown[] = Array.isArray(header.crit) ? (header.crit as unknown[]) : [];
  const unknown = critical.find((name) => typeof name !== 'string' || !notationCriticalHeaders.has(name));

  if (unknown !== undefined) {
    return { problem: `the critical header ${JSON.stringify(unknown)} is not supported` };
  }

  if (header.cty !== notationPayloadType) {
    return { problem: `the content type ${JSON.stringify(header.cty)} is not ${notationPayloadType}` };
  }

  if (header['io.cncf.notary.signingScheme'] !== 'notary.x509') {
    return {
      problem: `the signing scheme ${JSON.stringify(header['io.cncf.notary.signingScheme'])} is not supported; only notary.x509 is`,
    };
  }

  const signingTime = dateOf(header['io.cncf.notary.signingTime']);

  if (signingTime === undefined) {
    return { problem: 'the protected header has no valid io.cncf.notary.signingTime' };
  }

  const written = header['io.cncf.notary.expiry'];
  const expiry = dateOf(written);

  if (written !== undefined && expiry === undefined) {
    return { problem: `the io.cncf.notary.expiry ${JSON.stringify(written)} is not an RFC 3339 time` };
  }

  const signature = decodeBase64Url(parts.signature);
  const payload = decodeBase64Url(parts.payload);

  if (signature === undefined || payload === undefined) {
    return { problem: 'the payload or signature is not base64url' };
  }

  return {
    algorithm,
    signingTime,
    expiry: expiry === undefined ? undefined : { at: expiry, written: JSON.stringify(written) },
    certificates: parts.certificates,
    signedBytes: Buffer.from(`${parts.protected}.${parts.payload}`, 'ascii'),
    signature,
    payload,
    hasTimestamp: parts.hasTimestamp,
  };
}

interface JwsParts {
  protected: string;
  payload: string;
  signature: string;
  certificates: X509Certificate[];
  hasTimestamp: boolean;
}

/** Reads the envelope's parts and certificates, or why it cannot. */
function envelopeParts(envelope: Buffer): JwsParts | { problem: string } {
  const json = jsonOf<{
    protected?: unknown;
    payload?: unknown;
    signature?: unknown;
    header?: { x5c?: unknown; 'io.cncf.notary.timestampSignature'?: unknown };
  }>(envelope);

  if (json === undefined) {
    return { problem: 'the envelope is not JSON' };
  }

  const { protected: protectedHeader, payload, signature } = json;

  if (typeof protectedHeader !== 'string' || typeof payload !== 'string' || typeof signature !== 'string') {
    return { problem: 'the envelope lacks protected, payload or signature' };
  }

  const x5c = json.header?.x5c;

  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((entry) => typeof entry === 'string')) {
    return { problem: 'the envelope has no x5c certificate chain' };
  }

  const certificates = readCertificateChain(
    x5c.map((entry) => Buffer.from(entry, 'base64')),
    'x5c',
  );

  if ('problem' in certificates) {
    return certificates;
  }

  return {
    protected: protectedHeader,
    payload,
    signature,
    certificates,
    hasTimestamp: json.header?.['io.cncf.notary.timestampSignature'] !== undefined,
  };
}

function dateOf(value: unknown): Date | undefined {
  const date = typeof value === 'string' ? new Date(value) : undefined;

  return date !== undefined && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** Decodes strict base64url without padding, or returns undefined. */
function decodeBase64Url(text: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, 'base64url') : undefined;
}

function jsonOf<T>(bytes: Buffer | undefined): T | undefined {
  if (bytes === undefined) {
    return undefined;
  }

  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));

    return typeof parsed === 'object' && parsed !== null ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}
