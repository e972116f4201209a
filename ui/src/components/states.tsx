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
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/**
 * What a resource without data shows: its error with a Retry button, or the loading state. Views render
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
}: {
  title?: string;
  children?: ComponentChildren;
}) {
  return (
    <section class="not-found" aria-labelledby="not-found-title">
      <h1 id="not-found-title">{title}</h1>
      {children ?? <p>There is nothing at this address.</p>}
      <p>
        <a href={basePath}>Back to the home page</a>
      </p>
    </section>
  );
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
