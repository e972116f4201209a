import { constants, KeyObject, verify, X509Certificate } from 'node:crypto';

import { certificateInvalidAt, subjectName, verifyCertificateChain } from './notation-certificates.js';

/** The outcome of checking one notation signature; `notes` name what offline checks left out. */
export type NotationCheck =
  | { verified: true; identity: string; signingTime: string; notes: string[] }
  | { verified: false; reason: string; notes: string[] };

/** The content type of the notation payload, `{"targetArtifact": <OCI descriptor>}`. */
export const notationPayloadType = 'application/vnd.cncf.notary.payload.v1+json';

/** A signature algorithm notation signs with, and how to verify it. */
export interface NotationAlgorithm {
  /** The JWS name, also used in messages for COSE algorithms. */
  name: string;
  hash: 'sha256' | 'sha384' | 'sha512';
  /** RSASSA-PSS with a salt as long as the hash when true; ECDSA with raw r||s otherwise. */
  pss: boolean;
  /** The curve an ECDSA key must use, as Node names it. */
  curve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
}

/** The protected header labels a notation envelope may mark critical, besides the standard ones. */
export const notationCriticalHeaders = new Set(['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']);

/** A notation signature read from its JWS or COSE envelope, before any check. */
export interface NotationEnvelope {
  algorithm: NotationAlgorithm;
  /** The signer's claimed signing time from the protected header. */
  signingTime: Date;
  /** The protected expiry, and how the envelope wrote it, for messages. */
  expiry?: { at: Date; written: string };
  /** The certificate chain from `x5c` or `x5chain`, leaf first. */
  certificates: X509Certificate[];
  /** The bytes the signature covers: the JWS signing input or the COSE Sig_structure. */
  signedBytes: Buffer;
  signature: Buffer;
  /** The payload, a JSON document naming the target artifact. */
  payload: Buffer;
  /** Whether an RFC 3161 timestamp countersignature is attached in the unprotected header. */
  hasTimestamp: boolean;
}

/**
 * The action for a failed time check: `enforce` rejects the signature, `log` accepts it with a
 * note, and `skip` ignores the check.
 */
export type NotationCheckAction = 'enforce' | 'log' | 'skip';

/** The trust anchors and time rules that one verification applies. */
export interface NotationCheckRules {
  subjectDigest: string;
  trustStore: readonly X509Certificate[];
  now: Date;
  /** The action for a signature past its `io.cncf.notary.expiry`. */
  expiry: NotationCheckAction;
  /**
   * The action for a certificate of the chain that is not valid at `now`. The signing time is what
   * the signer claims, so without a verified timestamp the chain must also be valid now.
   */
  authenticTimestamp: NotationCheckAction;
  /** Ends the note about a logged failure of each check, as in "accepted by the permissive trust policy". */
  acceptedBy: Record<'authenticTimestamp' | 'expiry', string>;
}

/** The note every offline result carries. */
export const revocationNote = 'certificate revocation was not checked';
export const timestampNote = 'the RFC 3161 timestamp countersignature was not checked';

/**
 * Checks a notation signature read from either envelope format: the expiry and the certificate
 * chain (per `rules`), the signature over the signed bytes with the leaf's key, and the payload's
 * target digest against `rules.subjectDigest`. Every problem becomes a reason; nothing here throws.
 */
export function checkNotationEnvelope(envelope: NotationEnvelope, rules: NotationCheckRules): NotationCheck {
  const notes = envelope.hasTimestamp ? [revocationNote, timestampNote] : [revocationNote];
  const fail = (reason: string): NotationCheck => ({ verified: false, reason, notes });
  const expired = timeProblems(envelope, rules);

  if ('reason' in expired) {
    return fail(expired.reason);
  }

  const chain = verifyCertificateChain(envelope.certificates, rules.trustStore, envelope.signingTime);

  if ('problem' in chain) {
    return fail(chain.problem);
  }

  const outdated = certificateProblem(envelope, chain.anchor, rules);

  if ('reason' in outdated) {
    return fail(outdated.reason);
  }

  const leaf = envelope.certificates[0];

  if (!signatureVerifies(leaf.publicKey, envelope)) {
    return fail('the signature does not verify with the signing certificate');
  }

  const digest = targetDigest(envelope.payload);

  if (digest === undefined) {
    return fail('the payload names no target artifact digest');
  }

  if (digest !== rules.subjectDigest) {
    return fail(`the payload names the artifact ${digest}, not ${rules.subjectDigest}`);
  }

  return {
    verified: true,
    identity: subjectName(leaf),
    signingTime: envelope.signingTime.toISOString(),
    notes: [...notes, ...expired.notes, ...outdated.notes],
  };
}

/** Applies the expiry rule, before the chain so a reason names the expiry first. */
function timeProblems(
  envelope: NotationEnvelope,
  rules: NotationCheckRules,
): { reason: string } | { notes: string[] } {
  const expiry = envelope.expiry;

  if (expiry === undefined || expiry.at > rules.now) {
    return { notes: [] };
  }

  return applyAction(rules.expiry, `the signature expired at ${expiry.written}`, rules.acceptedBy.expiry);
}

/** Applies the authentic timestamp rule to the chain and its trust anchor at `now`. */
function certificateProblem(
  envelope: NotationEnvelope,
  anchor: X509Certificate,
  rules: NotationCheckRules,
): { reason: string } | { notes: string[] } {
  const invalid = certificateInvalidAt([...envelope.certificates, anchor], rules.now);

  if (invalid === undefined) {
    return { notes: [] };
  }

  const when =
    new Date(invalid.validTo) < rules.now
      ? `expired at ${new Date(invalid.validTo).toISOString()}`
      : 'is not valid yet';

  return applyAction(
    rules.authenticTimestamp,
    `the certificate "${subjectName(invalid)}" ${when}`,
    rules.acceptedBy.authenticTimestamp,
  );
}

function applyAction(
  action: NotationCheckAction,
  problem: string,
  acceptedBy: string,
): { reason: string } | { notes: string[] } {
  switch (action) {
    case 'enforce':
      return { reason: problem };
    case 'log':
      return { notes: [`${problem}, accepted by ${acceptedBy}`] };
    case 'skip':
      return { notes: [] };
  }
}

/** Verifies the signature with the leaf's key, which must be of the kind the algorithm needs. */
function signatureVerifies(key: KeyObject, envelope: NotationEnvelope): boolean {
  const { algorithm, signedBytes, signature } = envelope;

  try {
    if (algorithm.pss) {
      return (
        key.asymmetricKeyType === 'rsa' &&
        verify(
          algorithm.hash,
          signedBytes,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        )
      );
    }

    // JWS and COSE both write ECDSA signatures as the raw r and s values, not as DER.
    return (
      key.asymmetricKeyType === 'ec' &&
      key.asymmetricKeyDetails?.namedCurve === algorithm.curve &&
      verify(algorithm.hash, signedBytes, { key, dsaEncoding: 'ieee-p1363' }, signature)
    );
  } catch {
    return false;
  }
}

function targetDigest(payload: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as { targetArtifact?: { digest?: unknown } } | null;
    const digest = parsed?.targetArtifact?.digest;

    return typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a parsed envelope, or reports why it could not be parsed, against one trust store with every
 * check enforced: the strict form that `verifyNotationJws` and `verifyNotationCose` offer without a
 * trust policy.
 */
export function checkStrictly(
  parsed: NotationEnvelope | { problem: string },
  subjectDigest: string,
  trustStore: readonly X509Certificate[],
  now: Date,
): NotationCheck {
  if ('problem' in parsed) {
    return { verified: false, reason: parsed.problem, notes: [revocationNote] };
  }

  return checkNotationEnvelope(parsed, {
    subjectDigest,
    trustStore,
    now,
    expiry: 'enforce',
    authenticTimestamp: 'enforce',
    // Both checks are enforced, so no note ever uses these.
    acceptedBy: { expiry: '', authenticTimestamp: '' },
  });
}
