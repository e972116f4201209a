import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

import { logout } from '../api';
import type { Route } from '../router';
import { basePath, currentPath, signInHref } from '../router';
import { useSession } from '../session';
import { setThemePreference, useTheme, type ThemePreference } from '../theme';
import { messageOf } from './states';

const navigation: { label: string; href: string; routes: Route['name'][] }[] = [
  { label: 'Repositories', href: basePath, routes: ['repositories', 'repository', 'image'] },
  { label: 'Cache', href: `${basePath}/cache`, routes: ['cache'] },
  { label: 'API keys', href: `${basePath}/api-keys`, routes: ['apiKeys'] },
];

export function Layout({ route, children }: { route: Route; children: ComponentChildren }) {
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header">
        <div class="header-inner">
          <a class="brand" href={basePath}>
            <Logo />
            <span>Wharf</span>
          </a>
          <nav class="site-nav" aria-label="Main">
            {navigation.map((item) => (
              <a
                key={item.href}
                href={item.href}
                aria-current={item.routes.includes(route.name) ? 'page' : undefined}
              >
                {item.label}
              </a>
            ))}
          </nav>
          <div class="header-tools">
            <ThemeSelect />
            <UserMenu route={route} />
          </div>
        </div>
      </header>
      <main id="main" class="content" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect x="3" y="9" width="26" height="10" rx="2" class="logo-box" />
      <path d="M9 9v10M16 9v10M23 9v10" class="logo-line" />
      <path d="M2 24c3 2 5 2 7 0s4-2 7 0 4 2 7 0 4-2 7 0" class="logo-water" />
    </svg>
  );
}

function ThemeSelect() {
  const { preference } = useTheme();

  return (
    <label class="theme-select">
      <span>Theme</span>
      <select
        value={preference}
        onChange={(event) => setThemePreference(event.currentTarget.value as ThemePreference)}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function UserMenu({ route }: { route: Route }) {
  const { session } = useSession();
  const [error, setError] = useState<Error | undefined>(undefined);

  if (!session.authEnabled) {
    return null;
  }

  if (!session.authenticated) {
    return route.name === 'signIn' ? null : (
      <a class="button button-small" href={signInHref(currentPath())}>
        Sign in
      </a>
    );
  }

  const signOut = async (): Promise<void> => {
    try {
      const { redirectTo } = await logout();

      window.location.assign(redirectTo);
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    }
  };

  return (
    <div class="user">
      <span
        class="user-name"
        title={session.groups?.length ? `Groups: ${session.groups.join(', ')}` : undefined}
      >
        {session.username}
      </span>
      <button type="button" class="button-small" onClick={() => void signOut()}>
        Sign out
      </button>
      {error && (
        <span class="form-error" role="alert">
          {messageOf(error)}
        </span>
      )}
    </div>
  );
}
