import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';

import { getSession, onUnauthorized, setCsrfToken, type Session } from './api';
import { Announcer } from './components/Announcer';
import { Layout } from './components/Layout';
import { ErrorState, Loading, NotFound } from './components/states';
import { ApiKeysPage } from './pages/ApiKeysPage';
import { CachePage } from './pages/CachePage';
import { ImagePage } from './pages/ImagePage';
import { RepositoriesPage } from './pages/RepositoriesPage';
import { RepositoryPage } from './pages/RepositoryPage';
import { SignInPage } from './pages/SignInPage';
import type { Location, Route } from './router';
import { currentPath, navigate, parseRoute, signInHref, useLocation } from './router';
import { SessionContext, type SessionState } from './session';

export function App() {
  const location = useLocation();
  const route = parseRoute(location.pathname);
  const { session, error, refresh } = useSessionLoader();
  const sessionState = useMemo<SessionState | undefined>(
    () => (session ? { session, refresh } : undefined),
    [session, refresh],
  );

  useFocusOnPageChange(location.pathname);

  return (
    <Announcer>
      {sessionState ? (
        <SessionContext.Provider value={sessionState}>
          <Layout route={route}>
            <Page route={route} location={location} />
          </Layout>
        </SessionContext.Provider>
      ) : (
        <main id="main" class="content">
          {error ? <ErrorState error={error} onRetry={() => void refresh()} /> : <Loading />}
        </main>
      )}
    </Announcer>
  );
}

function Page({ route, location }: { route: Route; location: Location }) {
  switch (route.name) {
    case 'repositories':
      return <RepositoriesPage location={location} />;
    case 'repository':
      return <RepositoryPage key={route.repository} repository={route.repository} location={location} />;
    case 'image':
      return (
        <ImagePage
          key={route.digest}
          repository={route.repository}
          digest={route.digest}
          location={location}
        />
      );
    case 'cache':
      return <CachePage />;
    case 'apiKeys':
      return <ApiKeysPage />;
    case 'signIn':
      return <SignInPage location={location} />;
    case 'notFound':
      return <NotFound />;
  }
}

/**
 * Loads `/auth/session` at start and on request, keeps the CSRF token for the API client, and sends
 * the reader to the sign-in page when the API returns 401.
 */
function useSessionLoader() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const signedIn = useRef(false);

  const refresh = useCallback(async (): Promise<void> => {
    try {
      const next = await getSession();

      setCsrfToken(next.csrfToken);
      signedIn.current = next.authenticated;
      setSession(next);
      setError(undefined);
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    }
  }, []);

  useEffect(() => {
    void refresh();
    onUnauthorized(() => {
      if (parseRoute(window.location.pathname).name !== 'signIn') {
        // A 401 after a sign-in means the session ended (expired, signed out elsewhere, user removed).
        navigate(signInHref(currentPath(), signedIn.current), { replace: true });
      }

      void refresh();
    });
  }, [refresh]);

  return { session, error, refresh };
}

/** Moves focus to the main region when the path changes, so screen readers start at the new page. */
function useFocusOnPageChange(pathname: string): void {
  const previous = useRef(pathname);

  useEffect(() => {
    if (previous.current !== pathname) {
      previous.current = pathname;
      document.getElementById('main')?.focus({ preventScroll: true });
    }
  }, [pathname]);
}
