import { getManifest, type Descriptor, type ManifestDetails } from '../api';
import { CommandBox } from '../components/CopyButton';
import { ErrorState, isNotFound, Loading, NotFound } from '../components/states';
import { formatBytes, formatPlatform, shortDigest } from '../format';
import { useDocumentTitle, useResource } from '../hooks';
import type { Location } from '../router';
import { basePath, imageHref, repositoryHref } from '../router';
import { registryHost, useSession } from '../session';
import {
  Annotations,
  DescriptorCells,
  HistorySection,
  ImageConfigSection,
  LayersSection,
} from './ImageSections';
import { ReferrersSection } from './Referrers';

const indexMediaTypes = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Context carried in the query: the tag that led here, and the index this image is a platform of. */
interface Origin {
  tag: string | null;
  index: string | null;
}

export function ImagePage({
  repository,
  digest,
  location,
}: {
  repository: string;
  digest: string;
  location: Location;
}) {
  const origin: Origin = { tag: location.search.get('tag'), index: location.search.get('index') };
  const details = useResource((signal) => getManifest(repository, digest, signal), [repository, digest]);

  useDocumentTitle(`${repository}@${shortDigest(digest)}`);

  if (isNotFound(details.error)) {
    return (
      <NotFound
        title="Image not found"
        back={{ href: repositoryHref(repository), label: `Back to ${repository}` }}
      >
        <p>
          There is no image <code class="digest">{digest}</code> in <code>{repository}</code>, or you may not
          read it. A platform of a cached index is stored only after it has been pulled once.
        </p>
      </NotFound>
    );
  }

  return (
    <>
      <Breadcrumbs repository={repository} origin={origin} />
      {details.error ? (
        <ErrorState error={details.error} onRetry={details.reload} title="Could not load this image" />
      ) : details.data ? (
        <ManifestView details={details.data} origin={origin} />
      ) : (
        <Loading label="Loading image…" />
      )}
    </>
  );
}

function Breadcrumbs({ repository, origin }: { repository: string; origin: Origin }) {
  return (
    <nav class="breadcrumbs" aria-label="Breadcrumbs">
      <a href={basePath}>Repositories</a>
      <a href={repositoryHref(repository)}>{repository}</a>
      {origin.index && (
        <a href={imageHref(repository, origin.index, origin.tag ? { tag: origin.tag } : undefined)}>
          {origin.tag ? `${origin.tag} (index)` : `index ${shortDigest(origin.index)}`}
        </a>
      )}
    </nav>
  );
}

function ManifestView({ details, origin }: { details: ManifestDetails; origin: Origin }) {
  const isIndex = indexMediaTypes.has(details.mediaType) || details.manifests.length > 0;
  const kind = manifestKind(details, isIndex);
  const platform =
    details.config?.os && details.config.architecture
      ? formatPlatform({
          os: details.config.os,
          architecture: details.config.architecture,
          variant: details.config.variant,
        })
      : undefined;
  const host = registryHost(useSession().session);
  const reference = origin.tag && !origin.index ? `${details.repository}:${origin.tag}` : details.repository;

  return (
    <>
      <div class="page-header">
        <h1>
          <span class="eyebrow">{kind}</span> <span class="repository-name">{reference}</span>
          {platform && <span class="platform-name"> {platform}</span>}
        </h1>
        <dl class="facts">
          <div class="fact-wide">
            <dt>Digest</dt>
            <dd>
              <code class="digest">{details.digest}</code>
            </dd>
          </div>
          <div>
            <dt>Media type</dt>
            <dd>
              <code>{details.mediaType}</code>
            </dd>
          </div>
          {details.artifactType && (
            <div>
              <dt>Artifact type</dt>
              <dd>
                <code>{details.artifactType}</code>
              </dd>
            </div>
          )}
          <div>
            <dt>Manifest size</dt>
            <dd data-value={details.size}>{formatBytes(details.size)}</dd>
          </div>
        </dl>
      </div>
      <CommandBox
        label="Pull command"
        command={`docker pull ${host}/${details.repository}@${details.digest}`}
      />
      {details.subject && <SubjectSection details={details} subject={details.subject} />}
      {isIndex && <PlatformsSection details={details} origin={origin} />}
      {details.config && <ImageConfigSection config={details.config} />}
      {!isIndex && <LayersSection layers={details.layers} />}
      {details.config && details.config.history.length > 0 && (
        <HistorySection history={details.config.history} />
      )}
      {details.annotations && Object.keys(details.annotations).length > 0 && (
        <section aria-labelledby="annotations-title">
          <h2 id="annotations-title">Annotations</h2>
          <Annotations values={details.annotations} label="Annotations" />
        </section>
      )}
      <ReferrersSection repository={details.repository} referrers={details.referrers} />
    </>
  );
}

function manifestKind(details: ManifestDetails, isIndex: boolean): string {
  if (isIndex) {
    return 'Index';
  }

  return details.config?.parsed === false ? 'Artifact' : 'Image';
}

function SubjectSection({ details, subject }: { details: ManifestDetails; subject: Descriptor }) {
  return (
    <section aria-labelledby="subject-title">
      <h2 id="subject-title">Refers to</h2>
      <p>
        This {details.artifactType ? 'artifact' : 'manifest'} describes{' '}
        <a href={imageHref(details.repository, subject.digest)}>
          <code class="digest" title={subject.digest}>
            {shortDigest(subject.digest)}
          </code>
        </a>{' '}
        <span class="muted">({subject.mediaType})</span>.
      </p>
    </section>
  );
}

function PlatformsSection({ details, origin }: { details: ManifestDetails; origin: Origin }) {
  const childQuery = (): Record<string, string> =>
    origin.tag ? { index: details.digest, tag: origin.tag } : { index: details.digest };

  return (
    <section aria-labelledby="platforms-title">
      <h2 id="platforms-title">Platforms</h2>
      {details.manifests.length === 0 ? (
        <p class="muted">This index lists no manifests.</p>
      ) : (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Platform list">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Platform</th>
                <th scope="col">Digest</th>
                <th scope="col">Media type</th>
                <th scope="col" class="numeric">
                  Manifest size
                </th>
              </tr>
            </thead>
            <tbody>
              {details.manifests.map((child) => (
                <tr key={child.digest}>
                  <th scope="row">
                    <a href={imageHref(details.repository, child.digest, childQuery())}>
                      {child.platform
                        ? formatPlatform(child.platform)
                        : (child.artifactType ?? 'unknown platform')}
                    </a>
                    {child.platform?.osVersion && <span class="muted"> {child.platform.osVersion}</span>}
                  </th>
                  <DescriptorCells descriptor={child} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
