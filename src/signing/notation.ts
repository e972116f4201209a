import type { X509Certificate } from 'node:crypto';

import { coseMediaType, parseNotationCose } from './notation-cose.js';
import {
  checkNotationEnvelope,
  type NotationCheck,
  type NotationEnvelope,
  revocationNote,
} from './notation-envelope.js';
import { jwsMediaType, parseNotationJws } from './notation-jws.js';
import {
  identityTrusted,
  policyAction,
  policyFor,
  type NotationTrustPolicy,
  type NotationTrustPolicyDocument,
} from './notation-trust-policy.js';

export type { NotationCheck } from './notation-envelope.js';

/** The trust a registry checks notation signatures against. */
export interface NotationTrust {
  policy: NotationTrustPolicyDocument;
  /** Trust stores by "type:name", e.g. "ca:e2e". */
  stores: ReadonlyMap<string, readonly X509Certificate[]>;
}

/** One notation signature to check, as the registry finds it in a signature manifest. */
export interface NotationSignatureInput {
  /** The signature layer's media type: `application/jose+json` or `application/cose`. */
  envelopeMediaType: string;
  envelope: Buffer;
  /** The digest of the manifest the signature manifest's `subject` names. */
  subjectDigest: string;
  /** The Wharf repository name, which selects the trust policy. */
  repository: string;
  trust: NotationTrust;
  now: Date;
}

/**
 * Verifies a notation signature offline under the trust policy that covers the repository. Integrity,
 * a certificate chain to one of the policy's `ca` trust stores and a trusted identity are always
 * required for `verified: true`. Under strict, an expired signature or a certificate not valid at
 * `now` is a failure. Under permissive and audit, or an override that logs, it becomes a note.
 * Every problem becomes a reason; nothing here throws.
 */
export function verifyNotationSignature(input: NotationSignatureInput): NotationCheck {
  const fail = (reason: string): NotationCheck => ({ verified: false, reason, notes: [revocationNote] });
  const policy = policyFor(input.trust.policy, input.repository);

  if (policy === undefined) {
    return fail(`no trust policy covers the repository ${input.repository}`);
  }

  if (policy.signatureVerification.level === 'skip') {
    return fail(`the trust policy "${policy.name}" skips verification`);
  }

  const envelope = parseEnvelope(input.envelopeMediaType, input.envelope);

  if ('problem' in envelope) {
    return fail(envelope.problem);
  }

  const trustStore = caCertificates(policy, input.trust.stores);

  if ('problem' in trustStore) {
    return fail(trustStore.problem);
  }

  const check = checkNotationEnvelope(envelope, {
    subjectDigest: input.subjectDigest,
    trustStore: trustStore.certificates,
    now: input.now,
    expiry: policyAction(policy, 'expiry').action,
    authenticTimestamp: policyAction(policy, 'authenticTimestamp').action,
    acceptedBy: {
      expiry: acceptedBy(policy, 'expiry'),
      authenticTimestamp: acceptedBy(policy, 'authenticTimestamp'),
    },
  });

  if (check.verified && !identityTrusted(policy, envelope.certificates[0])) {
    return {
      verified: false,
      reason: `the signing certificate "${check.identity}" matches no trusted identity of the trust policy "${policy.name}"`,
      notes: check.notes,
    };
  }

  return check;
}

function parseEnvelope(mediaType: string, envelope: Buffer): NotationEnvelope | { problem: string } {
  switch (mediaType) {
    case jwsMediaType:
      return parseNotationJws(envelope);
    case coseMediaType:
      return parseNotationCose(envelope);
    default:
      return {
        problem: `the envelope media type "${mediaType}" is not a notation signature format (${jwsMediaType} or ${coseMediaType})`,
      };
  }
}

/**
 * Collects the certificates of the policy's `ca` trust stores, which anchor `notary.x509`
 * signatures; `signingAuthority` and `tsa` stores do not.
 */
function caCertificates(
  policy: NotationTrustPolicy,
  stores: ReadonlyMap<string, readonly X509Certificate[]>,
): { certificates: X509Certificate[] } | { problem: string } {
  const names = policy.trustStores.filter((name) => name.startsWith('ca:'));
  const missing = names.find((name) => !stores.has(name));

  if (names.length === 0) {
    return { problem: `the trust policy "${policy.name}" names no ca trust store` };
  }

  if (missing !== undefined) {
    return { problem: `the trust store "${missing}" of the trust policy "${policy.name}" is not configured` };
  }

  return { certificates: names.flatMap((name) => stores.get(name) ?? []) };
}

/** Names who accepted a failed time check that the policy only logs, for the note. */
function acceptedBy(policy: NotationTrustPolicy, validation: 'authenticTimestamp' | 'expiry'): string {
  return policyAction(policy, validation).overridden
    ? `the trust policy "${policy.name}", whose override logs ${validation}`
    : `the ${policy.signatureVerification.level} trust policy "${policy.name}"`;
}
