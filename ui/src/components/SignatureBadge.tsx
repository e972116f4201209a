import type { SignatureState, SignatureSummary } from '../api';

/**
 * Signature badges. Each one names the verdict in words and the unsigned one has a dashed border, so
 * the colour only repeats the text. The colours of both themes are set in styles.css under "Signatures".
 */

/** The words of each verdict on a badge. */
export const signatureLabels: Record<SignatureState, string> = {
  verified: 'verified',
  unverified: 'not verified',
  unsigned: 'unsigned',
};

/** Returns the sentence that states a verdict, such as "Verified by release.pub". */
export function verdictText(state: SignatureState, signer: string | undefined): string {
  if (state === 'verified') {
    return signer === undefined ? 'Verified' : `Verified by ${signer}`;
  }

  return state === 'unverified' ? 'Signed, but no signature verified' : 'Unsigned';
}

/**
 * Shows a verdict as a badge: "verified", "not verified" or "unsigned". The tooltip states the whole
 * verdict, and screen readers also hear the signer of a verified image.
 */
export function SignatureBadge({ summary }: { summary: SignatureSummary }) {
  const { state, signer } = summary;

  return (
    <span class={`badge signature signature-${state}`} data-state={state} title={verdictText(state, signer)}>
      {signatureLabels[state]}
      {state === 'verified' && signer !== undefined && <span class="visually-hidden"> by {signer}</span>}
    </span>
  );
}
