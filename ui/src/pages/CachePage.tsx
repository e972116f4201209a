import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { listUpstreams, type Upstream } from '../api';
import { RelativeTime } from '../components/RelativeTime';
import { ErrorState, Loading, messageOf, Pending } from '../components/states';
import { formatBytes, formatCount, formatPercent, formatTime } from '../format';
import { useDocumentTitle, useInterval, useResource, type Resource } from '../hooks';
import type { CacheChartsProps } from './CacheCharts';

const refreshPeriod = 30_000;

export function CachePage() {
  const upstreams = useResource((signal) => listUpstreams(signal), []);
  const [updatedAt, setUpdatedAt] = useState<Date | undefined>(undefined);
  const [refreshCount, setRefreshCount] = useState(0);

  const refresh = (): void => {
    upstreams.reload();
    setRefreshCount((count) => count + 1);
  };

  useDocumentTitle('Cache');
  useInterval(refresh, refreshPeriod);
  useEffect(() => {
    if (upstreams.data && !upstreams.loading && !upstreams.error) {
      setUpdatedAt(new Date());
    }
  }, [upstreams.data, upstreams.loading, upstreams.error]);

  return (
    <>
      <div class="page-header page-header-row">
        <h1>Cache</h1>
        <div class="toolbar">
          {updatedAt && <span class="muted">Updated at {formatTime(updatedAt)}</span>}
          <button type="button" onClick={refresh} disabled={upstreams.loading}>
            Refresh
          </button>
        </div>
      </div>
      <section aria-label="Upstreams" aria-busy={upstreams.loading}>
        <UpstreamList upstreams={upstreams} />
      </section>
      {upstreams.data && upstreams.data.length > 0 && (
        <LazyCharts
          prefixes={upstreams.data.map((upstream) => upstream.prefix)}
          refreshCount={refreshCount}
        />
      )}
    </>
  );
}

function UpstreamList({ upstreams }: { upstreams: Resource<Upstream[]> }) {
  if (!upstreams.data) {
    return (
      <Pending resource={upstreams} loading="Loading upstreams…" failed="Could not load the upstreams" />
    );
  }

  if (upstreams.data.length === 0) {
    return <NoUpstreams />;
  }

  return (
    <>
      {upstreams.error && (
        <p class="form-error" role="alert">
          Could not refresh: {messageOf(upstreams.error)}
        </p>
      )}
      <div class="cards">
        {upstreams.data.map((upstream) => (
          <UpstreamCard key={upstream.prefix} upstream={upstream} />
        ))}
      </div>
    </>
  );
}

function NoUpstreams() {
  return (
    <div class="state state-empty">
      <p class="state-title">No upstream is configured</p>
      <p>
        Pull-through caching needs at least one upstream registry behind a path prefix. Add them to Wharf's
        configuration file and restart Wharf:
      </p>
      <pre class="snippet">
        <code>{`upstreams:
  - prefix: docker
    url: https://registry-1.docker.io
    dockerHub: true
  - prefix: ghcr
    url: https://ghcr.io`}</code>
      </pre>
      <p class="muted">
        Images are then pulled as <code>HOST/docker/library/alpine:3.20</code> or{' '}
        <code>HOST/ghcr/ORG/IMAGE:TAG</code>.
      </p>
    </div>
  );
}

function statusText(reachable: boolean | null): string {
  if (reachable === null) {
    return 'No requests yet';
  }

  return reachable ? 'Reachable' : 'Unreachable';
}

function statusClass(reachable: boolean | null): string {
  if (reachable === null) {
    return 'badge badge-quiet';
  }

  return reachable ? 'badge badge-ok' : 'badge badge-bad';
}

/**
 * Shows one upstream's status and counters. Every number carries its exact API value in `data-value`,
 * which tests compare with the API. For the hit ratio that value is a decimal from 0 to 1.
 */
function UpstreamCard({ upstream }: { upstream: Upstream }) {
  const { statistics, status, rateLimit } = upstream;
  const requests = statistics.hits + statistics.misses;
  const titleId = `upstream-${upstream.prefix}`;

  return (
    <section class="card" aria-labelledby={titleId}>
      <header class="card-header">
        <h2 id={titleId}>{upstream.prefix}</h2>
        <span class={statusClass(status.reachable)}>{statusText(status.reachable)}</span>
      </header>
      <p class="card-url">
        <code>{upstream.url}</code>
        {upstream.dockerHub && <span class="badge badge-quiet">Docker Hub</span>}
      </p>
      <HitRatio hits={statistics.hits} requests={requests} />
      <dl class="stats">
        <Stat label="Requests" value={requests} />
        <Stat label="Hits" value={statistics.hits} />
        <Stat label="Misses" value={statistics.misses} />
        <Stat label="Served from cache" value={statistics.bytesServed} bytes />
        <Stat label="Fetched from upstream" value={statistics.bytesFetched} bytes />
        <Stat label="Storage used" value={upstream.storageBytes} bytes />
        <Stat label="Cached repositories" value={upstream.cachedRepositories} />
        <Stat label="Not found" value={statistics.notFound} />
        <Stat label="Errors" value={statistics.errors} />
      </dl>
      <dl class="status-list">
        <div>
          <dt>Status</dt>
          <dd>{statusText(status.reachable)}</dd>
        </div>
        <div>
          <dt>Last request</dt>
          <dd>
            <RelativeTime value={status.lastRequestAt} missing="none since Wharf started" />
          </dd>
        </div>
        <div>
          <dt>Last error</dt>
          <dd>
            {status.lastError ? (
              <>
                <span class="error-kind">{status.lastError.kind}</span>,{' '}
                <RelativeTime value={status.lastError.at} />
              </>
            ) : (
              <span class="muted">none</span>
            )}
          </dd>
        </div>
        {rateLimit && (
          <div>
            <dt>Rate limit remaining</dt>
            <dd>
              <span data-value={rateLimit.remaining}>{formatCount(rateLimit.remaining)}</span>
              {rateLimit.limit !== null && (
                <>
                  {' / '}
                  <span data-value={rateLimit.limit}>{formatCount(rateLimit.limit)}</span>
                </>
              )}
              {rateLimit.windowSeconds !== null && (
                <span class="muted"> per {formatWindow(rateLimit.windowSeconds)}</span>
              )}
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}

function formatWindow(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${formatCount(seconds)} s`;
}

function HitRatio({ hits, requests }: { hits: number; requests: number }) {
  const ratio = requests === 0 ? undefined : hits / requests;

  return (
    <div class="ratio">
      <dl>
        <div>
          <dt>Hit ratio</dt>
          {ratio === undefined ? (
            <dd title="No requests yet">—</dd>
          ) : (
            <dd data-value={ratio}>{formatPercent(ratio)}</dd>
          )}
        </div>
      </dl>
      <div class="meter" aria-hidden="true">
        <span class="meter-fill" style={{ width: `${(ratio ?? 0) * 100}%` }} />
      </div>
    </div>
  );
}

function Stat({
  label,
  value,
  bytes = false,
}: {
  label: string;
  value: number | undefined;
  bytes?: boolean;
}) {
  return (
    <div>
      <dt>{label}</dt>
      {value === undefined ? (
        <dd class="muted" title="This server does not report it">
          —
        </dd>
      ) : (
        <dd data-value={value}>{bytes ? formatBytes(value) : formatCount(value)}</dd>
      )}
    </div>
  );
}

/** Loads the charts and uPlot in a separate script, so the other pages do not download them. */
function LazyCharts(props: CacheChartsProps) {
  const [charts, setCharts] = useState<FunctionComponent<CacheChartsProps> | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);

  useEffect(() => {
    import('./CacheCharts').then(
      (module) => setCharts(() => module.CacheCharts),
      (failure: unknown) => setError(failure instanceof Error ? failure : new Error(String(failure))),
    );
  }, []);

  if (error) {
    return <ErrorState error={error} title="Could not load the charts" />;
  }

  const Charts = charts;

  return Charts ? <Charts {...props} /> : <Loading label="Loading charts…" />;
}
