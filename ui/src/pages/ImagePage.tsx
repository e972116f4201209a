import { useRef } from 'preact/hooks';

import { getManifest, isArtifactType, type Descriptor, type ManifestDetails } from '../api';
import { CommandBox } from '../components/CopyButton';
import { ErrorState, isNotFound, Loading, NotFound } from '../components/states';
import { formatBytes, formatPlatform, shortDigest } from '../format';
import { useDocumentTitle, useResource } from '../hooks';
import type { Location } from '../router';
import { basePath, imageHref, navigate, repositoryHref, withQuery } from '../router';
import { registryHost, useSession } from '../session';
import {
  Annotations,
  DescriptorCells,
  HistorySection,
  ImageConfigSection,
  LayersSection,
} from './ImageSections';
import { ReferrersSection } from './Referrers';
import { SignaturesTab } from './SignaturesTab';
import { VulnerabilitiesTab } from './VulnerabilitiesTab';

const indexMediaTypes = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Context carried in the query: the tag that led here, and the index this image is a platform of. */
interface Origin {
  tag: string | null;
  index: string | null;
}

type ImageTab = 'overview' | 'vulnerabilities' | 'signatures';

const imageTabs: { id: ImageTab; label: string }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'vulnerabilities', label: 'Vulnerabilities' },
  { id: 'signatures', label: 'Signatures' },
];

/** Reads the open tab from the `tab` query parameter, so that links and reloads keep it. */
function tabOf(location: Location): ImageTab {
  const tab = imageTabs.find((entry) => entry.id === location.search.get('tab'));

  return tab?.id ?? 'overview';
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
  const selectTab = (tab: ImageTab): void =>
    navigate(withQuery(location, { tab: tab === 'overview' ? undefined : tab }), { replace: true });

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
        <ManifestView details={details.data} origin={origin} tab={tabOf(location)} onSelectTab={selectTab} />
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

function ManifestView({
  details,
  origin,
  tab,
  onSelectTab,
}: {
  details: ManifestDetails;
  origin: Origin;
  tab: ImageTab;
  onSelectTab: (tab: ImageTab) => void;
}) {
  const isIndex = indexMediaTypes.has(details.mediaType) || details.manifests.length > 0;
  const kind = manifestKind(details, isIndex);
  // Artifacts such as SBOMs and signatures are not scanned and get no signature badge, so they have no tabs.
  const scannable = kind !== 'Artifact';
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
      {scannable ? (
        <>
          <TabList selected={tab} onSelect={onSelectTab} />
          <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0}>
            {tab === 'overview' && <Overview details={details} origin={origin} isIndex={isIndex} />}
            {tab === 'vulnerabilities' && (
              <VulnerabilitiesTab repository={details.repository} digest={details.digest} />
            )}
            {tab === 'signatures' && (
              <SignaturesTab repository={details.repository} digest={details.digest} isIndex={isIndex} />
            )}
          </div>
        </>
      ) : (
        <Overview details={details} origin={origin} isIndex={isIndex} />
      )}
    </>
  );
}

/**
 * Renders tabs as the WAI-ARIA Authoring Practices describe them. Tab enters the list at the open tab.
 * The arrow keys, Home and End move between tabs and open the one they reach. Tab again moves into the panel.
 */
function TabList({ selected, onSelect }: { selected: ImageTab; onSelect: (tab: ImageTab) => void }) {
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);

  const onKeyDown = (event: KeyboardEvent): void => {
    const current = imageTabs.findIndex((entry) => entry.id === selected);
    const last = imageTabs.length - 1;
    const targets: Record<string, number> = {
      ArrowRight: current === last ? 0 : current + 1,
      ArrowLeft: current === 0 ? last : current - 1,
      Home: 0,
      End: last,
    };
    const target = targets[event.key];

    if (target === undefined) {
      return;
    }

    event.preventDefault();
    onSelect(imageTabs[target].id);
    buttons.current[target]?.focus();
  };

  return (
    <div class="tabs" role="tablist" aria-label="Image details" onKeyDown={onKeyDown}>
      {imageTabs.map((entry, index) => (
        <button
          type="button"
          role="tab"
          key={entry.id}
          id={`tab-${entry.id}`}
          class="tab"
          aria-selected={entry.id === selected}
          aria-controls={entry.id === selected ? `panel-${entry.id}` : undefined}
          tabIndex={entry.id === selected ? 0 : -1}
          ref={(element) => {
            buttons.current[index] = element;
          }}
          onClick={() => onSelect(entry.id)}
        >
          {entry.label}
        </button>
      ))}
    </div>
  );
}

/** Shows the sections about the manifest itself: platforms, configuration, layers, history, referrers. */
function Overview({
  details,
  origin,
  isIndex,
}: {
  details: ManifestDetails;
  origin: Origin;
  isIndex: boolean;
}) {
  return (
    <>
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

  return details.config?.parsed === false || isArtifactType(details.artifactType) ? 'Artifact' : 'Image';
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
