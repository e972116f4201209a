import { createHash } from 'node:crypto';

import { cosignBundleAnnotation, cosignSignatureAnnotation } from './cosign-signature.js';
import {
  compareRekorBody,
  readCosignRekorBundle,
  verifyRekorSignedEntryTimestamp,
} from './sigstore-rekor.js';
import type { SigstoreTrustedRoot } from './sigstore-trusted-root.js';

/** The notes and signing time that the transparency log bundle of a verified cosign layer adds to its result. */
export interface TransparencyLogCheck {
  notes: string[];
  /** The time the log attests it accepted the signature, when its promise verified. */
  signingTime?: string;
}

const notChecked = 'the transparency log (Rekor) bundle was not checked';

/**
 * Checks the Rekor bundle of a cosign signature layer that a key already verified: the log's signed
 * entry timestamp must verify with a log of the trusted root, and the entry must record the same
 * signature and payload digest. The key's verdict is kept either way, because cosign signatures made
 * with a key need no log. The notes describe what the log showed, and a verified promise gives the time.
 * Without a trusted root the layer keeps the note that the bundle was not checked.
 */
export function checkCosignTransparencyLog(
  payload: Buffer,
  annotations: Record<string, string>,
  notes: readonly string[],
  trustedRoot: SigstoreTrustedRoot | undefined,
): TransparencyLogCheck {
  const annotation = annotations[cosignBundleAnnotation];

  if (annotation === undefined || trustedRoot === undefined) {
    return { notes: [...notes] };
  }

  const others = notes.filter((note) => note !== notChecked);
  const entry = readCosignRekorBundle(annotation);

  if ('problem' in entry) {
    return { notes: [...others, `the transparency log bundle cannot be read: ${entry.problem}`] };
  }

  const promise = verifyRekorSignedEntryTimestamp(entry, trustedRoot);

  if (!promise.verified) {
    return {
      notes: [...others, `the transparency log bundle did not verify: ${promise.reason ?? 'unknown reason'}`],
    };
  }

  const mismatch = compareRekorBody(entry.body, {
    signature: Buffer.from(annotations[cosignSignatureAnnotation] ?? '', 'base64'),
    digest: { algorithm: 'sha256', hex: createHash('sha256').update(payload).digest('hex') },
  });

  if (mismatch !== undefined) {
    return { notes: [...others, `the transparency log bundle does not match this signature: ${mismatch}`] };
  }

  return {
    notes: [...others, 'the transparency log inclusion proof was not checked'],
    signingTime: new Date(entry.integratedTime * 1000).toISOString(),
  };
}
