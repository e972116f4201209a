import type { ComponentChildren } from 'preact';

import { ApiError } from '../api';
import type { Resource } from '../hooks';
import { basePath } from '../router';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state state-loading" aria-busy="true" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

/** Shows the server's message for a failed request and a Retry button. */
export function ErrorState({
  error,
  onRetry,
  title = 'Could not load this view',
}: {
  error: Error;
  onRetry?: () => void;
  title?: string;
}) {
  return (
    <div class="state state-error" role="alert">
      <p class="state-title">{title}</p>
      <p>{messageOf(error)}</p>
      {onRetry && retryable(error) && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/**
 * Renders a resource that has no data yet: its error with a Retry button, or the loading state. Views render
 * it until `resource.data` is there; an error after that is shown next to the data instead.
 */
export function Pending<T>({
  resource,
  loading,
  failed,
}: {
  resource: Resource<T>;
  loading: string;
  failed: string;
}) {
  return resource.error ? (
    <ErrorState error={resource.error} onRetry={resource.reload} title={failed} />
  ) : (
    <Loading label={loading} />
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state state-empty">
      <p class="state-title">{title}</p>
      {children}
    </div>
  );
}

export function NotFound({
  title = 'Page not found',
  children,
  back = { href: basePath, label: 'Back to the home page' },
}: {
  title?: string;
  children?: ComponentChildren;
  /** The link to the next place for the reader; the list of repositories by default. */
  back?: { href: string; label: string };
}) {
  return (
    <section class="not-found" aria-labelledby="not-found-title">
      <h1 id="not-found-title">{title}</h1>
      {children ?? <p>There is nothing at this address.</p>}
      <p>
        <a href={back.href}>{back.label}</a>
      </p>
    </section>
  );
}

/**
 * Returns whether asking again can succeed: the server was unreachable, busy or failing. A request the
 * server rejected as invalid or not allowed gets the same response again.
 */
function retryable(error: Error): boolean {
  return !(error instanceof ApiError) || [0, 408, 429].includes(error.status) || error.status >= 500;
}

/** Returns the message to show for an error; server errors carry their own. */
export function messageOf(error: Error): string {
  if (error instanceof ApiError) {
    return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  }

  return `Something went wrong in the page: ${error.message}`;
}

export function isNotFound(error: Error | undefined): boolean {
  return error instanceof ApiError && error.status === 404;
}
