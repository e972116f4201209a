import { useEffect, useState } from 'preact/hooks';

/**
 * A small router on the History API. Links are plain `<a href>` elements, so middle-click, "open in new
 * tab" and the back button work as usual. `interceptLinkClicks` turns plain left clicks on links under
 * `/home` into in-page navigation.
 */

export const basePath = '/home';

export type Route =
  | { name: 'repositories' }
  | { name: 'repository'; repository: string }
  | { name: 'image'; repository: string; digest: string }
  | { name: 'cache' }
  | { name: 'apiKeys' }
  | { name: 'signIn' }
  | { name: 'notFound' };

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

const changeEvent = 'wharf:navigate';

/** Parses a path under `/home` into a route; names keep their `/`, and `@` starts a digest. */
export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '');

  if (path === basePath) {
    return { name: 'repositories' };
  }

  const fixed: Record<string, Route> = {
    [`${basePath}/cache`]: { name: 'cache' },
    [`${basePath}/api-keys`]: { name: 'apiKeys' },
    [`${basePath}/sign-in`]: { name: 'signIn' },
  };

  if (fixed[path]) {
    return fixed[path];
  }

  const repositoryPrefix = `${basePath}/repositories/`;

  if (!path.startsWith(repositoryPrefix)) {
    return { name: 'notFound' };
  }

  return parseRepositoryPath(path.slice(repositoryPrefix.length));
}

function parseRepositoryPath(rest: string): Route {
  const text = safeDecode(rest);
  const at = text?.indexOf('@') ?? -1;

  if (text === undefined || text === '') {
    return { name: 'notFound' };
  }

  if (at === -1) {
    return { name: 'repository', repository: text };
  }

  const repository = text.slice(0, at);
  const digest = text.slice(at + 1);

  return repository === '' || digest === '' ? { name: 'notFound' } : { name: 'image', repository, digest };
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Builds the page path of a repository, keeping its `/` as path separators. */
export function repositoryHref(repository: string): string {
  return `${basePath}/repositories/${repository.split('/').map(encodeURIComponent).join('/')}`;
}

/** Builds the page path of an image or index, like the reference `name@sha256:...`. */
export function imageHref(repository: string, digest: string, search?: Record<string, string>): string {
  const query = search ? `?${new URLSearchParams(search).toString()}` : '';

  return `${repositoryHref(repository)}@${digest}${query}`;
}

/** Builds the sign-in path that returns to `returnTo` afterwards. */
export function signInHref(returnTo: string, sessionEnded = false): string {
  const query = new URLSearchParams({ returnTo, ...(sessionEnded ? { ended: '1' } : {}) });

  return `${basePath}/sign-in?${query.toString()}`;
}

/** Returns `value` when it is a path under /home, or /home, so that sign-in never leads elsewhere. */
export function safeReturnTo(value: string | null): string {
  return value !== null && /^\/home(?:[/?#]|$)/.test(value) ? value : basePath;
}

export function currentLocation(): Location {
  return { pathname: window.location.pathname, search: new URLSearchParams(window.location.search) };
}

/** Returns the path and query of the page, for returning to it after sign-in. */
export function currentPath(): string {
  return window.location.pathname + window.location.search;
}

export interface NavigateOptions {
  /** Replace the history entry instead of adding one, as while typing in a search box. */
  replace?: boolean;
}

export function navigate(url: string, options: NavigateOptions = {}): void {
  if (options.replace) {
    window.history.replaceState(null, '', url);
  } else {
    window.history.pushState(null, '', url);
  }

  window.dispatchEvent(new Event(changeEvent));
}

/** Returns the current location and re-renders on every navigation, including back and forward. */
export function useLocation(): Location {
  const [location, setLocation] = useState(currentLocation);

  useEffect(() => {
    const update = (): void => setLocation(currentLocation());

    window.addEventListener('popstate', update);
    window.addEventListener(changeEvent, update);

    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(changeEvent, update);
    };
  }, []);

  return location;
}

/**
 * Handles plain left clicks on same-origin links under /home in the page. Clicks with a modifier key,
 * other buttons, and links with a `target` or `download` keep the browser's behaviour.
 */
export function interceptLinkClicks(): void {
  document.addEventListener('click', (event) => {
    const anchor = event.target instanceof Element ? event.target.closest('a') : null;

    if (!anchor || !isPlainClick(event) || anchor.target !== '' || anchor.hasAttribute('download')) {
      return;
    }

    const url = new URL(anchor.href, window.location.href);

    if (url.origin !== window.location.origin || !/^\/home(?:\/|$)/.test(url.pathname) || isInPageLink(url)) {
      return;
    }

    event.preventDefault();

    if (url.pathname + url.search !== currentPath()) {
      navigate(url.pathname + url.search + url.hash);
      window.scrollTo(0, 0);
    }
  });
}

/** Tells whether a link points to a fragment of this page, such as "Skip to content", which the browser handles. */
function isInPageLink(url: URL): boolean {
  return (
    url.hash !== '' && url.pathname === window.location.pathname && url.search === window.location.search
  );
}

function isPlainClick(event: MouseEvent): boolean {
  return (
    !event.defaultPrevented &&
    event.button === 0 &&
    !event.metaKey &&
    !event.ctrlKey &&
    !event.shiftKey &&
    !event.altKey
  );
}

/** Returns a copy of the current query with `changes` applied; empty values remove a key. */
export function withQuery(location: Location, changes: Record<string, string | undefined>): string {
  const search = new URLSearchParams(location.search);

  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') {
      search.delete(key);
    } else {
      search.set(key, value);
    }
  }

  const text = search.toString();

  return text === '' ? location.pathname : `${location.pathname}?${text}`;
}
