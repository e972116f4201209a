import type { Referrer } from '../api';
import { RelativeTime } from '../components/RelativeTime';
import { formatBytes, shortDigest } from '../format';
import { imageHref } from '../router';

/** Names people know for common artifact types; other types are shown as they are. */
const friendlyNames: [test: (type: string) => boolean, name: string][] = [
  [(type) => type.startsWith('application/vnd.dev.cosign.') && type.includes('sig'), 'Cosign signature'],
  [(type) => type === 'application/vnd.cncf.notary.signature', 'Notation signature'],
  [(type) => type === 'application/spdx+json' || type === 'text/spdx', 'SPDX SBOM'],
  [(type) => type.startsWith('application/vnd.cyclonedx'), 'CycloneDX SBOM'],
  [
    (type) => type.startsWith('application/vnd.in-toto') || type.startsWith('application/vnd.dsse'),
    'In-toto attestation',
  ],
];

export function referrerTypeName(referrer: Referrer): string {
  const type = referrer.artifactType ?? referrer.mediaType;

  return friendlyNames.find(([test]) => test(type))?.[1] ?? type;
}

/** Tells raw media types, listed last, from the friendly names above. */
function isMediaType(name: string): boolean {
  return name.includes('/');
}

function groupByType(referrers: Referrer[]): Map<string, Referrer[]> {
  const groups = new Map<string, Referrer[]>();

  for (const referrer of referrers) {
    const name = referrerTypeName(referrer);

    groups.set(name, [...(groups.get(name) ?? []), referrer]);
  }

  return groups;
}

/** Signatures, SBOMs and attestations that name this manifest as their subject. */
export function ReferrersSection({ repository, referrers }: { repository: string; referrers: Referrer[] }) {
  const groups = [...groupByType(referrers)].sort(
    ([a], [b]) => Number(isMediaType(a)) - Number(isMediaType(b)) || a.localeCompare(b),
  );

  return (
    <section aria-labelledby="referrers-title">
      <h2 id="referrers-title">Referrers</h2>
      {groups.length === 0 ? (
        <p class="muted">No signatures, SBOMs or attestations refer to this manifest.</p>
      ) : (
        groups.map(([name, members]) => (
          <div class="referrer-group" key={name}>
            <h3>
              {name} <span class="count">{members.length}</span>
            </h3>
            <ul class="plain-list referrer-list">
              {members.map((referrer) => (
                <li key={referrer.digest}>
                  <a href={imageHref(repository, referrer.digest)}>
                    <code class="digest" title={referrer.digest}>
                      {shortDigest(referrer.digest)}
                    </code>
                  </a>
                  <span class="muted"> {formatBytes(referrer.size)}</span>
                  {referrer.annotations?.['org.opencontainers.image.created'] && (
                    <span class="muted">
                      {' · created '}
                      <RelativeTime value={referrer.annotations['org.opencontainers.image.created']} />
                    </span>
                  )}
                </li>
              ))}
            </ul>
          </div>
        ))
      )}
    </section>
  );
}
