import { useState } from 'preact/hooks';

import {
  deleteTag,
  getRepository,
  isArtifactTag,
  listTags,
  type Repository,
  type Tag,
  type TagPage,
} from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { CommandBox } from '../components/CopyButton';
import { Pager, pageFromQuery } from '../components/Pager';
import { RelativeTime } from '../components/RelativeTime';
import { VulnerabilityBadge } from '../components/SeverityBadge';
import { SignatureBadge } from '../components/SignatureBadge';
import { EmptyState, ErrorState, isNotFound, NotFound, Pending } from '../components/states';
import { formatBytes, formatCount, formatPlatform, shortDigest } from '../format';
import { useDocumentTitle, useResource, type Resource } from '../hooks';
import type { Location } from '../router';
import { basePath, imageHref, withQuery } from '../router';
import { registryHost, useAnnounce, useSession } from '../session';
import { KindBadge } from './RepositoriesPage';

const pageSize = 50;

export function RepositoryPage({ repository, location }: { repository: string; location: Location }) {
  const page = pageFromQuery(location);
  const summary = useResource((signal) => getRepository(repository, signal), [repository]);
  const tags = useResource((signal) => listTags(repository, page, pageSize, signal), [repository, page], {
    keepPrevious: true,
  });

  useDocumentTitle(repository);

  if (isNotFound(tags.error)) {
    return (
      <NotFound title="Repository not found">
        <p>
          There is no repository <code>{repository}</code>, or you may not read it.
        </p>
      </NotFound>
    );
  }

  return (
    <>
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <a href={basePath}>Repositories</a>
      </nav>
      <div class="page-header">
        <h1 class="repository-name">{repository}</h1>
        {summary.data && <RepositoryFacts repository={summary.data} />}
      </div>
      <section aria-labelledby="tags-title" aria-busy={tags.loading}>
        <h2 id="tags-title">Tags</h2>
        <TagsSection
          repository={repository}
          tags={tags}
          page={page}
          location={location}
          onChange={summary.reload}
        />
      </section>
    </>
  );
}

function RepositoryFacts({ repository }: { repository: Repository }) {
  return (
    <dl class="facts">
      <div>
        <dt>Kind</dt>
        <dd>
          <KindBadge kind={repository.kind} upstream={repository.upstream} />
        </dd>
      </div>
      <div>
        <dt>Size</dt>
        <dd
          data-value={repository.size}
          title="Layers and configs, each counted once; manifests are not included, so a tag can be larger"
        >
          {formatBytes(repository.size)}
        </dd>
      </div>
      <div>
        <dt>Tags</dt>
        <dd data-value={repository.tagCount}>{formatCount(repository.tagCount)}</dd>
      </div>
      <div>
        <dt>Manifests</dt>
        <dd data-value={repository.manifestCount}>{formatCount(repository.manifestCount)}</dd>
      </div>
      <div>
        <dt>Last push</dt>
        <dd>
          <RelativeTime value={repository.lastPushAt} />
        </dd>
      </div>
      <div>
        <dt>Last pull</dt>
        <dd>
          <RelativeTime value={repository.lastPullAt} missing="never" />
        </dd>
      </div>
      {repository.vulnerabilities && (
        <div>
          <dt>Vulnerabilities</dt>
          <dd>
            <VulnerabilityBadge summary={repository.vulnerabilities} />
          </dd>
        </div>
      )}
    </dl>
  );
}

function TagsSection({
  repository,
  tags,
  page,
  location,
  onChange,
}: {
  repository: string;
  tags: Resource<TagPage>;
  page: number;
  location: Location;
  /** Called after a delete, so that the repository's counts and size follow the list. */
  onChange: () => void;
}) {
  const [deleting, setDeleting] = useState<Tag | undefined>(undefined);
  const announce = useAnnounce();

  if (!tags.data) {
    return <Pending resource={tags} loading="Loading tags…" failed="Could not load the tags" />;
  }

  const { items, total, canDelete } = tags.data;

  if (total === 0) {
    return (
      <EmptyState title="This repository has no tags">
        <p>Its images can still be pulled by digest. Push an image with a tag to list it here.</p>
      </EmptyState>
    );
  }

  if (items.length === 0) {
    return (
      <EmptyState title="This page is past the end of the list">
        <a href={withQuery(location, { page: undefined })}>Go to the first page</a>
      </EmptyState>
    );
  }

  const confirmDelete = async (tag: Tag): Promise<void> => {
    await deleteTag(repository, tag.name);
    announce(`Deleted tag ${tag.name}`);
    tags.reload();
    onChange();
  };

  return (
    <>
      {tags.error && (
        <ErrorState error={tags.error} onRetry={tags.reload} title="Could not refresh the tags" />
      )}
      <PullCommand repository={repository} tags={pullableTags(items)} />
      <TagTable repository={repository} items={items} canDelete={canDelete} onDelete={setDeleting} />
      <Pager location={location} page={page} pageSize={pageSize} total={total} noun={['tag', 'tags']} />
      {deleting && (
        <ConfirmDialog
          title={`Delete tag ${deleting.name}?`}
          confirmLabel="Delete"
          onConfirm={() => confirmDelete(deleting)}
          onClose={() => setDeleting(undefined)}
        >
          <p>
            The tag <code>{`${repository}:${deleting.name}`}</code> will be removed. The image it points to
            stays, and can still be pulled by its digest{' '}
            <code class="digest">{shortDigest(deleting.digest)}</code>.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** Returns the tags people pull: signatures and other artifacts are left out, unless nothing else is tagged. */
function pullableTags(tags: Tag[]): Tag[] {
  const images = tags.filter((tag) => !isArtifactTag(tag));

  return images.length > 0 ? images : tags;
}

/** Shows the pull command for the first tag, or for the tag chosen in its select. */
function PullCommand({ repository, tags }: { repository: string; tags: Tag[] }) {
  const host = registryHost(useSession().session);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const tag = tags.find((item) => item.name === chosen) ?? tags[0];

  return (
    <div class="pull">
      {tags.length > 1 && (
        <label class="field field-inline">
          <span>Tag to pull</span>
          <select value={tag.name} onChange={(event) => setChosen(event.currentTarget.value)}>
            {tags.map((item) => (
              <option key={item.name} value={item.name}>
                {item.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <CommandBox label="Pull command" command={`docker pull ${host}/${repository}:${tag.name}`} />
    </div>
  );
}

function TagTable({
  repository,
  items,
  canDelete,
  onDelete,
}: {
  repository: string;
  items: Tag[];
  canDelete: boolean;
  onDelete: (tag: Tag) => void;
}) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Tag list">
      <table class="table table-stack">
        <thead>
          <tr>
            <th scope="col">Tag</th>
            <th scope="col">Digest</th>
            <th scope="col" class="numeric">
              Size
            </th>
            <th scope="col">Platforms</th>
            <th scope="col">Vulnerabilities</th>
            <th scope="col">Signature</th>
            <th scope="col">Pushed</th>
            <th scope="col">Last pulled</th>
            {canDelete && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((tag) => (
            <tr key={tag.name}>
              <td class="name-cell">
                <a href={imageHref(repository, tag.digest, { tag: tag.name })}>{tag.name}</a>
              </td>
              <td data-label="Digest">
                <code class="digest" title={tag.digest}>
                  {shortDigest(tag.digest)}
                </code>
              </td>
              <td class="numeric" data-label="Size">
                <TagSize tag={tag} />
              </td>
              <td data-label="Platforms" class="wrap">
                {tag.platforms.length > 0 ? (
                  tag.platforms.map(formatPlatform).join(', ')
                ) : (
                  <Artifact tag={tag} />
                )}
              </td>
              <td data-label="Vulnerabilities">
                {tag.vulnerabilities && (
                  <a href={imageHref(repository, tag.digest, { tag: tag.name, tab: 'vulnerabilities' })}>
                    <VulnerabilityBadge summary={tag.vulnerabilities} />
                  </a>
                )}
              </td>
              <td data-label="Signature">
                {!isArtifactTag(tag) && (
                  <a href={imageHref(repository, tag.digest, { tag: tag.name, tab: 'signatures' })}>
                    <SignatureBadge summary={tag.signature} />
                  </a>
                )}
              </td>
              <td data-label="Pushed">
                <RelativeTime value={tag.lastPushAt} />
              </td>
              <td data-label="Last pulled">
                <RelativeTime value={tag.lastPullAt} missing="never" />
              </td>
              {canDelete && (
                <td class="actions">
                  <button
                    type="button"
                    class="button-small button-danger-quiet"
                    aria-label={`Delete tag ${tag.name}`}
                    onClick={() => onDelete(tag)}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Shows the size, marked "at least" when children of an index are not stored here and so not counted. */
function TagSize({ tag }: { tag: Tag }) {
  if (tag.sizeComplete) {
    return <span data-value={tag.size}>{formatBytes(tag.size)}</span>;
  }

  return (
    <span
      data-value={tag.size}
      title="Some platforms of this index are not stored here yet, so their layers are not counted"
    >
      at least {formatBytes(tag.size)}
    </span>
  );
}

function Artifact({ tag }: { tag: Tag }) {
  return <span class="muted">{tag.artifactType ?? '—'}</span>;
}
