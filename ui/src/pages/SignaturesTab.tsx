import { getSignatures, type Signature, type SignatureKind, type SignatureVerdict } from '../api';
import { CommandBox } from '../components/CopyButton';
import { RelativeTime } from '../components/RelativeTime';
import { SignatureBadge, verdictText } from '../components/SignatureBadge';
import { EmptyState, messageOf, Pending } from '../components/states';
import { shortDigest } from '../format';
import { useInterval, useResource } from '../hooks';
import { imageHref } from '../router';
import { registryHost, useSession } from '../session';

/** How often the tab reads the verdict again while the signatures wait to be checked again, in milliseconds. */
const pollPeriod = 1500;

const kindLabels: Record<SignatureKind, string> = {
  cosign: 'cosign',
  'sigstore-bundle': 'sigstore bundle',
  notation: 'Notation',
};

/**
 * Renders the Signatures tab of the image page: the verdict in words, whether pulls need a verified
 * signature, and each stored signature with its outcome, reason and the checks that were not made.
 * While the signatures wait to be checked again after a change of trust, the tab reads the verdict
 * again every {@link pollPeriod} ms.
 */
export function SignaturesTab({
  repository,
  digest,
  isIndex,
}: {
  repository: string;
  digest: string;
  isIndex: boolean;
}) {
  const verdict = useResource((signal) => getSignatures(repository, digest, signal), [repository, digest]);
  const waiting = verdict.data?.current === false;

  useInterval(() => {
    if (waiting && !verdict.loading) {
      verdict.reload();
    }
  }, pollPeriod);

  if (!verdict.data) {
    return (
      <Pending resource={verdict} loading="Loading signatures…" failed="Could not load the signatures" />
    );
  }

  return (
    <>
      {verdict.error && (
        <p class="form-error" role="alert">
          Could not refresh: {messageOf(verdict.error)}
        </p>
      )}
      {verdict.data.artifact && verdict.data.signatures.length === 0 ? (
        <p class="notice">
          This manifest is a signature or another artifact about an image, not an image to run. Pulls of it
          are never refused, so that clients can check the images it describes, and it needs no signature of
          its own.
        </p>
      ) : (
        <>
          <VerdictSection verdict={verdict.data} isIndex={isIndex} />
          {verdict.data.signatures.length === 0 ? (
            <HowToSign repository={repository} digest={digest} />
          ) : (
            <SignaturesSection verdict={verdict.data} />
          )}
        </>
      )}
    </>
  );
}

function VerdictSection({ verdict, isIndex }: { verdict: SignatureVerdict; isIndex: boolean }) {
  const signer = verdict.signatures.find((signature) => signature.verified)?.signer;

  return (
    <section aria-labelledby="verdict-title">
      <h2 id="verdict-title">Verdict</h2>
      <p class="signature-verdict">
        <SignatureBadge summary={{ state: verdict.state, signer }} />{' '}
        <strong class="signature-verdict-text">{verdictText(verdict.state, signer)}</strong>
      </p>
      {!verdict.current && (
        <p class="notice signature-pending" role="status">
          The trust changed after these signatures were last checked
          {verdict.evaluatedAt && (
            <>
              {' '}
              (<RelativeTime value={verdict.evaluatedAt} />)
            </>
          )}
          . They are being checked again, and this page updates when that is done.
        </p>
      )}
      <p class="signature-policy">
        <PullPolicy verdict={verdict} isIndex={isIndex} />
      </p>
    </section>
  );
}

/**
 * States what the pull policy means for this manifest, only from what the API returned: an image passes
 * when its own verdict is verified and current, or when a verified index lists it.
 */
function PullPolicy({ verdict, isIndex }: { verdict: SignatureVerdict; isIndex: boolean }) {
  if (!verdict.required) {
    return <>Pulls of this repository do not require a verified signature.</>;
  }

  const rule = 'Pulls of this repository require a verified signature.';

  if (verdict.verifiedThroughIndex) {
    return (
      <>
        {rule} An index in this repository that lists this image has a verified signature, so pulls of this
        image pass.
      </>
    );
  }

  if (isIndex) {
    return <>{rule} Each image this index lists passes while the index has a current verified signature.</>;
  }

  if (verdict.state === 'verified' && verdict.current) {
    return <>{rule} This image has one, so pulls of it pass.</>;
  }

  if (verdict.state === 'verified') {
    return <>{rule} Pulls of this image are refused until its signatures have been checked again.</>;
  }

  return <>{rule} This image has none, so Wharf refuses to serve it.</>;
}

function SignaturesSection({ verdict }: { verdict: SignatureVerdict }) {
  const count = verdict.signatures.length;

  return (
    <section aria-labelledby="signatures-title">
      <h2 id="signatures-title">
        Signatures <span class="count">{count}</span>
      </h2>
      <div class="table-scroll" tabIndex={0} role="region" aria-label="Signature list">
        <table class="table table-stack">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Signer</th>
              <th scope="col">Signed</th>
              <th scope="col">Result</th>
              <th scope="col">Notes</th>
            </tr>
          </thead>
          <tbody>
            {verdict.signatures.map((signature) => (
              <SignatureRow
                key={signatureKey(signature)}
                repository={verdict.repository}
                signature={signature}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Returns a key for a row: a cosign manifest can hold several signatures, one per layer. */
function signatureKey(signature: Signature): string {
  return `${signature.manifest} ${signature.layer ?? ''}`;
}

function SignatureRow({ repository, signature }: { repository: string; signature: Signature }) {
  return (
    <tr data-manifest={signature.manifest}>
      <td class="name-cell">
        <span class="signature-kind">{kindLabels[signature.kind]}</span>{' '}
        <a href={imageHref(repository, signature.manifest)} class="muted">
          <code class="digest" title={signature.tag ?? signature.manifest}>
            {shortDigest(signature.manifest)}
          </code>
        </a>
      </td>
      <td data-label="Signer" class="wrap signature-signer">
        {signature.signer ?? <span class="muted">—</span>}
      </td>
      <td data-label="Signed">
        <RelativeTime value={signature.signingTime ?? null} missing="not stated" />
      </td>
      <td data-label="Result" class="wrap">
        <SignatureBadge summary={{ state: signature.verified ? 'verified' : 'unverified' }} />
        {signature.reason && <p class="signature-reason">{signature.reason}</p>}
      </td>
      <td data-label="Notes" class="wrap">
        {signature.notes.length > 0 && (
          <ul class="plain-list signature-notes">
            {signature.notes.map((note) => (
              <li key={note}>{note}</li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

/** Shows the empty state of an image without signatures: how to sign it, and where the trust is set. */
function HowToSign({ repository, digest }: { repository: string; digest: string }) {
  const reference = `${registryHost(useSession().session)}/${repository}@${digest}`;

  return (
    <EmptyState title="No signatures">
      <p>
        Wharf stores no cosign signature tag and no signature referrer for this manifest. Sign it with cosign
        or Notation, and Wharf checks the signature when it is pushed:
      </p>
      <CommandBox label="cosign command" command={`cosign sign --key cosign.key ${reference}`} />
      <CommandBox label="Notation command" command={`notation sign ${reference}`} />
      <p>
        A signature verifies only against keys and certificates that an administrator trusts: in the{' '}
        <code>signing</code> section of the config file, or through the admin API, such as{' '}
        <code>PUT /api/v1/signing/cosign/keys/{'{name}'}</code> for a cosign public key.
      </p>
    </EmptyState>
  );
}
