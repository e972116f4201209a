import { useEffect, useRef, useState } from 'preact/hooks';

import {
  listRepositories,
  listUpstreams,
  type Page,
  type Repository,
  type RepositoryKind,
  type RepositoryQuery,
  type RepositorySort,
  type SortOrder,
  type Upstream,
} from '../api';
import { CommandBox } from '../components/CopyButton';
import { Pager, pageFromQuery } from '../components/Pager';
import { RelativeTime } from '../components/RelativeTime';
import { VulnerabilityBadge } from '../components/SeverityBadge';
import { EmptyState, ErrorState, Loading } from '../components/states';
import { formatBytes, formatCount } from '../format';
import { useDebounced, useDocumentTitle, useResource, type Resource } from '../hooks';
import type { Location } from '../router';
import { currentLocation, navigate, repositoryHref, withQuery } from '../router';
import { registryHost, useSession } from '../session';

const pageSize = 50;
const searchDelay = 250;

const sortLabels: Record<RepositorySort, string> = {
  name: 'Name',
  lastPush: 'Last push',
  lastPull: 'Last pull',
};

/** Reads the list filters from the URL query, where back, forward and shared links keep them. */
function queryOf(location: Location): RepositoryQuery & { page: number } {
  const kind = location.search.get('kind');
  const sort = location.search.get('sort');
  const order = location.search.get('order');

  return {
    q: location.search.get('q') ?? undefined,
    kind: kind === 'local' || kind === 'cached' ? kind : undefined,
    upstream: location.search.get('upstream') ?? undefined,
    sort: sort === 'lastPush' || sort === 'lastPull' ? sort : 'name',
    order: order === 'asc' || order === 'desc' ? order : undefined,
    page: pageFromQuery(location),
  };
}

/** Returns the sort direction in effect; the server sorts names A to Z and times newest first by default. */
function effectiveOrder(query: RepositoryQuery): SortOrder {
  return query.order ?? (query.sort === 'name' || query.sort === undefined ? 'asc' : 'desc');
}

function hasFilters(query: RepositoryQuery): boolean {
  return Boolean(query.q || query.kind || query.upstream);
}

export function RepositoriesPage({ location }: { location: Location }) {
  const query = queryOf(location);
  const upstreams = useResource((signal) => listUpstreams(signal), []);
  const list = useResource((signal) => listRepositories({ ...query, pageSize }, signal), [query], {
    keepPrevious: true,
  });

  useDocumentTitle('Repositories');

  return (
    <>
      <div class="page-header">
        <h1>Repositories</h1>
      </div>
      <Filters location={location} query={query} upstreams={upstreams.data ?? []} />
      <section class="results" aria-busy={list.loading} aria-label="Repositories">
        <Results list={list} query={query} location={location} upstreams={upstreams.data ?? []} />
      </section>
    </>
  );
}

function Filters({
  location,
  query,
  upstreams,
}: {
  location: Location;
  query: RepositoryQuery;
  upstreams: Upstream[];
}) {
  const change = (changes: Record<string, string | undefined>): void =>
    navigate(withQuery(location, { ...changes, page: undefined }));
  const prefixes = upstreams.map((upstream) => upstream.prefix);

  if (query.upstream && !prefixes.includes(query.upstream)) {
    prefixes.push(query.upstream);
  }

  return (
    <form class="filters" role="search" onSubmit={(event) => event.preventDefault()}>
      <SearchBox value={query.q ?? ''} />
      <label class="field">
        <span>Kind</span>
        <select
          value={query.kind ?? ''}
          onChange={(event) => {
            const kind = event.currentTarget.value;

            change({ kind, upstream: kind === 'local' ? undefined : query.upstream });
          }}
        >
          <option value="">All</option>
          <option value="local">Local</option>
          <option value="cached">Cached</option>
        </select>
      </label>
      <label class="field">
        <span>Upstream</span>
        <select
          value={query.upstream ?? ''}
          onChange={(event) => {
            const upstream = event.currentTarget.value;

            change({ upstream, kind: upstream !== '' && query.kind === 'local' ? 'cached' : query.kind });
          }}
        >
          <option value="">All upstreams</option>
          {prefixes.map((prefix) => (
            <option key={prefix} value={prefix}>
              {prefix}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>Sort by</span>
        <select
          value={query.sort}
          onChange={(event) => change({ sort: event.currentTarget.value, order: undefined })}
        >
          {Object.entries(sortLabels).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>Order</span>
        <select
          value={effectiveOrder(query)}
          onChange={(event) => change({ order: event.currentTarget.value })}
        >
          <option value="asc">{query.sort === 'name' ? 'A to Z' : 'Oldest first'}</option>
          <option value="desc">{query.sort === 'name' ? 'Z to A' : 'Newest first'}</option>
        </select>
      </label>
    </form>
  );
}

/**
 * Filters the list as the reader types. The URL follows with replaceState once typing pauses, so the
 * history does not fill with one entry per letter. Back and forward still update the box.
 */
function SearchBox({ value }: { value: string }) {
  const [text, setText] = useState(value);
  const committed = useRef(value);
  const settled = useDebounced(text, searchDelay);

  useEffect(() => {
    if (value !== committed.current) {
      committed.current = value;
      setText(value);
    }
  }, [value]);

  useEffect(() => {
    if (settled !== committed.current) {
      committed.current = settled;
      navigate(withQuery(currentLocation(), { q: settled, page: undefined }), { replace: true });
    }
  }, [settled]);

  return (
    <label class="field field-grow">
      <span>Search repositories</span>
      <input
        type="search"
        value={text}
        placeholder="Name contains…"
        autoComplete="off"
        spellcheck={false}
        onInput={(event) => setText(event.currentTarget.value)}
      />
    </label>
  );
}

function Results({
  list,
  query,
  location,
  upstreams,
}: {
  list: Resource<Page<Repository>>;
  query: RepositoryQuery & { page: number };
  location: Location;
  upstreams: Upstream[];
}) {
  if (list.error) {
    return <ErrorState error={list.error} onRetry={list.reload} title="Could not load the repositories" />;
  }

  if (!list.data) {
    return <Loading label="Loading repositories…" />;
  }

  const { total, items } = list.data;

  if (total === 0) {
    return hasFilters(query) ? <NoMatch location={location} /> : <EmptyRegistry upstreams={upstreams} />;
  }

  if (items.length === 0) {
    return (
      <EmptyState title="This page is past the end of the list">
        <a href={withQuery(location, { page: undefined })}>Go to the first page</a>
      </EmptyState>
    );
  }

  return (
    <>
      <RepositoryTable items={items} />
      <Pager
        location={location}
        page={query.page}
        pageSize={pageSize}
        total={total}
        noun={['repository', 'repositories']}
      />
    </>
  );
}

function RepositoryTable({ items }: { items: Repository[] }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Repository list">
      <table class="table table-stack">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Vulnerabilities</th>
            <th scope="col" class="numeric">
              Tags
            </th>
            <th scope="col" class="numeric">
              Size
            </th>
            <th scope="col">Last push</th>
            <th scope="col">Last pull</th>
          </tr>
        </thead>
        <tbody>
          {items.map((repository) => (
            <tr key={repository.name}>
              <td class="name-cell">
                <a href={repositoryHref(repository.name)}>{repository.name}</a>
              </td>
              <td data-label="Kind">
                <KindBadge kind={repository.kind} upstream={repository.upstream} />
              </td>
              <td data-label="Vulnerabilities">
                <VulnerabilityBadge summary={repository.vulnerabilities} />
              </td>
              <td class="numeric" data-label="Tags">
                {formatCount(repository.tagCount)}
              </td>
              <td class="numeric" data-label="Size">
                {formatBytes(repository.size)}
              </td>
              <td data-label="Last push">
                <RelativeTime value={repository.lastPushAt} />
              </td>
              <td data-label="Last pull">
                <RelativeTime value={repository.lastPullAt} missing="never" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function KindBadge({ kind, upstream }: { kind: RepositoryKind; upstream: string | null }) {
  return kind === 'cached' ? (
    <span
      class="badge badge-cached"
      title={upstream ? `Pull-through cache of upstream ${upstream}` : undefined}
    >
      cached{upstream ? ` · ${upstream}` : ''}
    </span>
  ) : (
    <span class="badge badge-local">local</span>
  );
}

function NoMatch({ location }: { location: Location }) {
  return (
    <EmptyState title="No repositories match these filters">
      <p>Change the search text or the filters, or show every repository.</p>
      <button
        type="button"
        onClick={() =>
          navigate(
            withQuery(location, { q: undefined, kind: undefined, upstream: undefined, page: undefined }),
          )
        }
      >
        Clear filters
      </button>
    </EmptyState>
  );
}

/** Explains how to push the first image, and how to pull one through the cache. */
function EmptyRegistry({ upstreams }: { upstreams: Upstream[] }) {
  const host = registryHost(useSession().session);

  return (
    <EmptyState title="No repositories yet">
      <p>Push an image to create the first repository, for example with skopeo:</p>
      <CommandBox
        label="Push command"
        command={`skopeo copy docker://alpine:3.20 docker://${host}/demo/alpine:3.20 --dest-tls-verify=false`}
      />
      <PullThroughHint host={host} upstreams={upstreams} />
      <p class="muted">
        Wharf speaks plain HTTP; Docker needs <code>{host}</code> in its <code>insecure-registries</code>{' '}
        list, unless a TLS proxy is in front.
      </p>
    </EmptyState>
  );
}

/** Shows how to pull through the cache, with the Docker Hub upstream when there is one. */
function PullThroughHint({ host, upstreams }: { host: string; upstreams: Upstream[] }) {
  const upstream = upstreams.find((entry) => entry.dockerHub) ?? upstreams[0];

  if (upstream === undefined) {
    return (
      <>
        <p>
          Pull-through caching is off, because no upstream is configured. Once Docker Hub is configured under
          the prefix <code>docker</code> (the <a href="/home/cache">Cache</a> page shows how), pull through
          the cache with:
        </p>
        <CommandBox label="Pull-through command" command={`docker pull ${host}/docker/library/alpine:3.20`} />
      </>
    );
  }

  const example = upstream.dockerHub ? 'library/alpine:3.20' : '<name>:<tag>';

  return (
    <>
      <p>
        Or pull an image through the cache of upstream <code>{upstream.prefix}</code> ({upstream.url}); the
        repository appears here after the first pull:
      </p>
      <CommandBox
        label="Pull-through command"
        command={`docker pull ${host}/${upstream.prefix}/${example}`}
      />
    </>
  );
}
