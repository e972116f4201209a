import { X509Certificate } from 'node:crypto';

import { type CborMap, type CborValue, CborTag, decodeCbor, encodeCbor } from './cbor.js';
import { readCertificateChain } from './notation-certificates.js';
import {
  checkStrictly,
  type NotationAlgorithm,
  type NotationCheck,
  notationCriticalHeaders,
  type NotationEnvelope,
  notationPayloadType,
} from './notation-envelope.js';

/** The media type of a notation signature in a COSE_Sign1 envelope. */
export const coseMediaType = 'application/cose';

/** The CBOR tag of a COSE_Sign1 message. */
const coseSign1Tag = 18;

/** The CBOR tag of an epoch-based date/time, which notation uses for its time headers. */
const epochTimeTag = 1;

/** COSE header labels (RFC 9052 and, for x5chain, RFC 9360). */
const labels = { alg: 1, crit: 2, contentType: 3, x5chain: 33 } as const;

/** COSE algorithm identifiers notation signs with. */
const algorithms = new Map<number, NotationAlgorithm>([
  [-37, { name: 'PS256', hash: 'sha256', pss: true }],
  [-38, { name: 'PS384', hash: 'sha384', pss: true }],
  [-39, { name: 'PS512', hash: 'sha512', pss: true }],
  [-7, { name: 'ES256', hash: 'sha256', pss: false, curve: 'prime256v1' }],
  [-35, { name: 'ES384', hash: 'sha384', pss: false, curve: 'secp384r1' }],
  [-36, { name: 'ES512', hash: 'sha512', pss: false, curve: 'secp521r1' }],
]);

type Parsed<T> = T | { problem: string };

/**
 * Checks a notation signature in a COSE_Sign1 envelope against a trust store of CA certificates,
 * with the same checks and results as `verifyNotationJws`. The `x5chain` must lead to a trusted
 * certificate and be valid at the signing time and at `now`. The signature must be unexpired and
 * verify over the Sig_structure, and the payload must name `subjectDigest`. Nothing here throws.
 */
export function verifyNotationCose(
  envelope: Buffer,
  subjectDigest: string,
  trustStore: readonly X509Certificate[],
  now: Date = new Date(),
): NotationCheck {
  return checkStrictly(parseNotationCose(envelope), subjectDigest, trustStore, now);
}

/**
 * Reads a notation COSE_Sign1 envelope (CBOR tag 18) and its protected header, or returns why it is
 * not one. The signed bytes are the Sig_structure `["Signature1", protected, h'', payload]`, built
 * from the protected header bytes exactly as the envelope carries them.
 */
export function parseNotationCose(envelope: Buffer): Parsed<NotationEnvelope> {
  const message = coseSign1Of(envelope);

  if ('problem' in message) {
    return message;
  }

  const header = protectedHeaderOf(message.protectedBytes);

  if ('problem' in header) {
    return header;
  }

  const certificates = x5chainOf(message.unprotected);

  if ('problem' in certificates) {
    return certificates;
  }

  return {
    ...header,
    certificates,
    signedBytes: encodeCbor(['Signature1', message.protectedBytes, Buffer.alloc(0), message.payload]),
    signature: message.signature,
    payload: message.payload,
    hasTimestamp: message.unprotected.has('io.cncf.notary.timestampSignature'),
  };
}

interface CoseSign1 {
  protectedBytes: Buffer;
  unprotected: CborMap;
  payload: Buffer;
  signature: Buffer;
}

function coseSign1Of(envelope: Buffer): Parsed<CoseSign1> {
  let decoded: CborValue;

  try {
    decoded = decodeCbor(envelope);
  } catch (error) {
    return { problem: `the envelope is not valid CBOR: ${(error as Error).message}` };
  }

  if (!(decoded instanceof CborTag) || decoded.tag !== coseSign1Tag) {
    return { problem: 'the envelope is not a COSE_Sign1 message (CBOR tag 18)' };
  }

  const parts = decoded.value;

  if (!Array.isArray(parts) || parts.length !== 4) {
    return { problem: 'the COSE_Sign1 message is not an array of four items' };
  }

  const [protectedBytes, unprotected, payload, signature] = parts;

  if (!Buffer.isBuffer(protectedBytes) || !(unprotected instanceof Map) || !Buffer.isBuffer(signature)) {
    return { problem: 'the COSE_Sign1 message lacks the protected header, unprotected header or signature' };
  }

  if (!Buffer.isBuffer(payload)) {
    return { problem: 'the COSE_Sign1 message has no embedded payload' };
  }

  return { protectedBytes, unprotected, payload, signature };
}

type ProtectedFields = Pick<NotationEnvelope, 'algorithm' | 'signingTime' | 'expiry'>;

/** Reads and checks the protected header: algorithm, critical labels, content type, scheme and times. */
function protectedHeaderOf(bytes: Buffer): Parsed<ProtectedFields> {
  let header: CborValue;

  try {
    header = bytes.length === 0 ? new Map() : decodeCbor(bytes);
  } catch (error) {
    return { problem: `the protected header is not valid CBOR: ${(error as Error).message}` };
  }

  if (!(header instanceof Map)) {
    return { problem: 'the protected header is not a CBOR map' };
  }

  const alg = header.get(labels.alg);
  const algorithm = typeof alg === 'number' ? algorithms.get(alg) : undefined;

  if (algorithm === undefined) {
    return { problem: `the algorithm ${describe(alg)} is not one notation signs with` };
  }

  const critical = criticalProblem(header);

  if (critical !== undefined) {
    return { problem: critical };
  }

  const contentType = header.get(labels.contentType);

  if (contentType !== notationPayloadType) {
    return { problem: `the content type ${describe(contentType)} is not ${notationPayloadType}` };
  }

  const scheme = header.get('io.cncf.notary.signingScheme');

  if (scheme !== 'notary.x509') {
    return { problem: `the signing scheme ${describe(scheme)} is not supported; only notary.x509 is` };
  }

  const signingTime = epochTimeOf(header.get('io.cncf.notary.signingTime'));

  if (signingTime === undefined) {
    return { problem: 'the protected header has no valid io.cncf.notary.signingTime' };
  }

  const expiryValue = header.get('io.cncf.notary.expiry');
  const expiry = epochTimeOf(expiryValue);

  if (expiryValue !== undefined && expiry === undefined) {
    return { problem: 'the io.cncf.notary.expiry is not an epoch date/time (CBOR tag 1)' };
  }

  return {
    algorithm,
    signingTime,
    expiry: expiry === undefined ? undefined : { at: expiry, written: expiry.toISOString() },
  };
}

/** Checks that `crit`, when present, is a non-empty list of understood labels the header carries. */
function criticalProblem(header: CborMap): string | undefined {
  const critical = header.get(labels.crit);

  if (critical === undefined) {
    return undefined;
  }

  if (!Array.isArray(critical) || critical.length === 0) {
    return 'the crit header is not a non-empty array';
  }

  const unknown = critical.find((label) => typeof label !== 'string' || !notationCriticalHeaders.has(label));

  if (unknown !== undefined) {
    return `the critical header ${describe(unknown)} is not supported`;
  }

  const missing = critical.find((label) => !header.has(label as string));

  return missing === undefined
    ? undefined
    : `the critical header ${describe(missing)} is not in the protected header`;
}

/** Reads the x5chain of the unprotected header: one certificate as a byte string, or an array of them. */
function x5chainOf(unprotected: CborMap): Parsed<X509Certificate[]> {
  const value = unprotected.get(labels.x5chain);
  const ders = Buffer.isBuffer(value) ? [value] : value;

  if (!Array.isArray(ders) || ders.length === 0 || !ders.every((der) => Buffer.isBuffer(der))) {
    return { problem: 'the envelope has no x5chain certificate chain' };
  }

  return readCertificateChain(ders, 'x5chain');
}

/** Reads a CBOR tag 1 date/time, whose value is seconds since the epoch, integer or float. */
function epochTimeOf(value: CborValue): Date | undefined {
  if (!(value instanceof CborTag) || value.tag !== epochTimeTag || typeof value.value !== 'number') {
    return undefined;
  }

  const date = new Date(value.value * 1000);

  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Renders a header value for a message without dumping byte strings or maps. */
function describe(value: CborValue): string {
  if (typeof value === 'number' || typeof value === 'string') {
    return JSON.stringify(value);
  }

  if (typeof value === 'bigint') {
    return value.toString();
  }

  return value === undefined ? 'missing' : `of CBOR type ${value === null ? 'null' : value.constructor.name}`;
}
