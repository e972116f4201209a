import type { KeyObject } from 'node:crypto';

import type { TrustedKey } from './cosign-signature.js';
import {
  type BundleContent,
  parseBundle,
  type ParsedBundle,
  type TlogEntry,
} from './sigstore-bundle-parse.js';
import { checkInclusionProof } from './sigstore-merkle.js';
import { compareRekorBody, findLog, sha256Hex, verifyRekorSignedEntryTimestamp } from './sigstore-rekor.js';
import { verifyDigestSignature, verifySignature } from './sigstore-signature.js';
import { decodeBase64, isObject, type SigstoreTrustedRoot } from './sigstore-trusted-root.js';
import { checkCertificateChain, readCertificateIdentity } from './sigstore-x509.js';

export { verifyRekorSignedEntryTimestamp } from './sigstore-rekor.js';

/** The keys, trusted root and identities that sigstore bundles are checked against. */
export interface SigstoreTrust {
  /** Public keys for key-signed bundles; every key is tried, whatever key hint the bundle gives. */
  keys: readonly TrustedKey[];
  /** Fulcio certificate authorities and Rekor keys, needed for keyless bundles and transparency log entries. */
  trustedRoot?: SigstoreTrustedRoot;
  /** Keyless signers trusted, like cosign's --certificate-identity / --certificate-oidc-issuer. */
  identities: readonly { subject: string; issuer: string }[];
}

/**
 * The outcome of checking one bundle. `signer` is the key's name or the certificate's identity,
 * `signingTime` the transparency log's attested integrated time. `notes` name what was not checked.
 */
export type BundleCheck =
  | { verified: true; signer: string; signingTime?: string; notes: string[] }
  | { verified: false; reason: string; notes: string[] };

const inTotoPayloadType = 'application/vnd.in-toto+json';
const statementTypes = ['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1'];

/**
 * Verifies a sigstore bundle (versions 0.1 to 0.3) as a signature of the image `subjectDigest`
 * (`sha256:<hex>` or `sha512:<hex>`), offline: the bundle must name the digest, its signature must
 * verify, and its transparency log entries must verify against the trusted root. A keyless bundle's
 * certificate must chain to the trusted root at the attested signing time and name a trusted identity.
 * Every problem becomes a reason; nothing here throws.
 */
export function verifySigstoreBundle(
  bundle: Buffer,
  subjectDigest: string,
  trust: SigstoreTrust,
  now: Date,
): BundleCheck {
  const notes: string[] = [];
  const parsed = parseBundle(bundle);

  if ('problem' in parsed) {
    return { verified: false, reason: parsed.problem, notes };
  }

  if (parsed.timestampCount > 0) {
    notes.push('the RFC 3161 timestamps of the bundle were not checked');
  }

  const subjectProblem = checkSubject(parsed.content, subjectDigest);

  if (subjectProblem !== undefined) {
    return { verified: false, reason: subjectProblem, notes };
  }

  const signer = checkSignature(parsed, trust.keys);

  if ('problem' in signer) {
    return { verified: false, reason: signer.problem, notes };
  }

  const time = checkTlogEntries(parsed, trust.trustedRoot, now, notes);

  if ('problem' in time) {
    return { verified: false, reason: time.problem, notes };
  }

  const signingTime = time.signingTime?.toISOString();

  if (parsed.material.kind === 'key') {
    return { verified: true, signer: signer.name, signingTime, notes };
  }

  const identity = checkKeyless(parsed, trust, time.signingTime, notes);

  if ('problem' in identity) {
    return { verified: false, reason: identity.problem, notes };
  }

  return { verified: true, signer: identity.signer, signingTime, notes };
}

/** Checks that the bundle signs the image: an in-toto subject or the message digest equals `subjectDigest`. */
function checkSubject(content: BundleContent, subjectDigest: string): string | undefined {
  const match = /^(sha256|sha512):([a-f0-9]+)$/.exec(subjectDigest);

  if (match === null || match[2].length !== (match[1] === 'sha256' ? 64 : 128)) {
    return `the image digest ${JSON.stringify(subjectDigest)} is not a sha256 or sha512 digest`;
  }

  const [, algorithm, hex] = match;

  if (content.kind === 'message') {
    const named = `${content.algorithm}:${content.digest.toString('hex')}`;

    return named === subjectDigest ? undefined : `the bundle signs the digest ${named}, not ${subjectDigest}`;
  }

  if (content.payloadType !== inTotoPayloadType) {
    return `the DSSE payload type is ${JSON.stringify(content.payloadType)}, not ${inTotoPayloadType}`;
  }

  let statement: unknown;

  try {
    statement = JSON.parse(content.payload.toString('utf8'));
  } catch {
    return 'the DSSE payload is not JSON';
  }

  if (!isObject(statement) || !statementTypes.includes(String(statement._type))) {
    return 'the DSSE payload is not an in-toto statement';
  }

  const subjects = (Array.isArray(statement.subject) ? statement.subject : []).filter(isObject);
  const named = subjects.some((subject) => isObject(subject.digest) && subject.digest[algorithm] === hex);

  if (named) {
    return undefined;
  }

  const names = subjects.map((subject) => String(subject.name)).join(', ') || 'nothing';

  return `the in-toto statement has no subject with the digest ${subjectDigest} (its subjects: ${names})`;
}

/** Finds the key that verifies the bundle's signature: a configured key, or the certificate's key. */
function checkSignature(
  parsed: ParsedBundle,
  keys: readonly TrustedKey[],
): { name: string } | { problem: string } {
  if (parsed.material.kind === 'certificate') {
    const leaf = parsed.material.leaf;

    return signs(leaf.publicKey, parsed.content)
      ? { name: leaf.subject }
      : { problem: 'the signature does not verify with the key of the signing certificate' };
  }

  if (keys.length === 0) {
    return { problem: 'the bundle is signed with a public key, and no public key is configured' };
  }

  const key = keys.find((candidate) => signs(candidate.key, parsed.content));

  if (key === undefined) {
    const tried = keys.map((candidate) => candidate.name).join(', ');

    return { problem: `no configured key verifies the signature (tried ${tried})` };
  }

  return { name: key.name };
}

function signs(key: KeyObject, content: BundleContent): boolean {
  if (content.kind === 'message') {
    return verifyDigestSignature(key, content.algorithm, content.digest, content.signature);
  }

  return verifySignature(
    key,
    preAuthenticationEncoding(content.payloadType, content.payload),
    content.signature,
  );
}

/** DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(payload)> <payload>`, lengths in bytes. */
function preAuthenticationEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');

  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/**
 * Verifies each transparency log entry: its SET, the signature and digest its body records, and its
 * inclusion proof when the bundle has one. Returns the integrated time of an entry whose SET verified.
 */
function checkTlogEntries(
  parsed: ParsedBundle,
  trustedRoot: SigstoreTrustedRoot | undefined,
  now: Date,
  notes: string[],
): { signingTime?: Date } | { problem: string } {
  if (parsed.tlogEntries.length === 0) {
    notes.push('no transparency log entry: the signing time is not attested');

    return {};
  }

  if (trustedRoot === undefined) {
    notes.push('the transparency log entry was not checked, because no trusted root is configured');

    return {};
  }

  let signingTime: Date | undefined;

  for (const entry of parsed.tlogEntries) {
    const checked = checkTlogEntry(entry, parsed.content, trustedRoot, now, notes);

    if ('problem' in checked) {
      return checked;
    }

    signingTime ??= checked.time;
  }

  if (signingTime === undefined) {
    notes.push('no transparency log entry has a signed entry timestamp: the signing time is not attested');
  }

  return { signingTime };
}

function checkTlogEntry(
  entry: TlogEntry,
  content: BundleContent,
  trustedRoot: SigstoreTrustedRoot,
  now: Date,
  notes: string[],
): { time?: Date } | { problem: string } {
  const logID = entry.logId.toString('hex');
  const log = findLog(trustedRoot, logID);
  const mismatch = compareRekorBody(entry.body, {
    signature: content.signature,
    digest:
      content.kind === 'message'
        ? { algorithm: content.algorithm, hex: content.digest.toString('hex') }
        : { algorithm: 'sha256', hex: sha256Hex(content.payload) },
  });

  if (log === undefined) {
    return { problem: `no transparency log of the trusted root has the log id ${logID}` };
  }

  if (mismatch !== undefined) {
    return { problem: mismatch };
  }

  if (entry.inclusionProof === undefined) {
    notes.push('the transparency log inclusion proof was not checked');
  } else {
    const problem = checkInclusionProof(
      decodeBase64(entry.body) ?? Buffer.alloc(0),
      entry.inclusionProof,
      log,
    );

    if (problem !== undefined) {
      return { problem };
    }
  }

  if (entry.signedEntryTimestamp === undefined) {
    return {};
  }

  const set = verifyRekorSignedEntryTimestamp(
    { ...entry, logID, signedEntryTimestamp: entry.signedEntryTimestamp },
    trustedRoot,
  );
  const time = new Date(entry.integratedTime * 1000);

  if (!set.verified) {
    return { problem: `the transparency log entry is not valid: ${set.reason ?? 'unknown reason'}` };
  }

  if (time > now) {
    return { problem: `the transparency log entry's integrated time ${time.toISOString()} is in the future` };
  }

  return { time };
}

/** Checks a keyless bundle's certificate at the attested signing time and matches its identity. */
function checkKeyless(
  parsed: ParsedBundle,
  trust: SigstoreTrust,
  signingTime: Date | undefined,
  notes: string[],
): { signer: string } | { problem: string } {
  if (parsed.material.kind !== 'certificate') {
    return { problem: 'the bundle has no signing certificate' };
  }

  if (trust.trustedRoot === undefined) {
    return { problem: 'the bundle is signed keyless, and no trusted root is configured' };
  }

  if (signingTime === undefined) {
    return {
      problem:
        'no verified transparency log entry attests the signing time, so the certificate cannot be checked',
    };
  }

  notes.push('certificate revocation was not checked');

  const chainProblem = checkCertificateChain(parsed.material.leaf, trust.trustedRoot, signingTime);

  if (chainProblem !== undefined) {
    return { problem: chainProblem };
  }

  let identity: ReturnType<typeof readCertificateIdentity>;

  try {
    identity = readCertificateIdentity(parsed.material.leaf);
  } catch (error) {
    return { problem: `the signing certificate cannot be read: ${(error as Error).message}` };
  }

  const trusted = trust.identities.find(
    (candidate) => candidate.issuer === identity.issuer && identity.subjects.includes(candidate.subject),
  );

  if (trusted === undefined) {
    const subjects = identity.subjects.join(', ') || 'no URI or email';

    return {
      problem: `the signer ${subjects} (OIDC issuer ${identity.issuer ?? 'none'}) is not a trusted identity`,
    };
  }

  return { signer: trusted.subject };
}
