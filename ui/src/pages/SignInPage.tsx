import { useState } from 'preact/hooks';

import { login, setCsrfToken } from '../api';
import { messageOf } from '../components/states';
import { useDocumentTitle } from '../hooks';
import type { Location } from '../router';
import { navigate, safeReturnTo } from '../router';
import { useSession } from '../session';

export function SignInPage({ location }: { location: Location }) {
  const { session } = useSession();
  const returnTo = safeReturnTo(location.search.get('returnTo'));

  useDocumentTitle('Sign in');

  return (
    <div class="sign-in">
      <h1>Sign in</h1>
      {location.search.get('ended') === '1' && !session.authenticated && (
        <p class="notice" role="status">
          Your session has ended. Sign in again to continue where you were.
        </p>
      )}
      <SignInBody returnTo={returnTo} />
      {session.authEnabled && !session.authenticated && (
        <p class="muted">Registry clients such as Docker sign in with your password or an API key instead.</p>
      )}
    </div>
  );
}

function SignInBody({ returnTo }: { returnTo: string }) {
  const { session } = useSession();

  if (!session.authEnabled) {
    return (
      <>
        <p>This registry has no authentication configured, so there is nothing to sign in to.</p>
        <p>
          <a href={returnTo}>Continue</a>
        </p>
      </>
    );
  }

  if (session.authenticated) {
    return (
      <>
        <p>
          You are signed in as <strong>{session.username}</strong>.
        </p>
        <p>
          <a href={returnTo}>Continue</a>
        </p>
      </>
    );
  }

  if (!session.oidcEnabled && !session.passwordLoginEnabled) {
    return (
      <p>
        This registry signs people in through the proxy in front of it, and offers no sign-in form. Ask your
        administrator how to reach it.
      </p>
    );
  }

  return (
    <>
      {session.oidcEnabled && (
        <button
          type="button"
          class="button-primary button-wide"
          onClick={() => window.location.assign(`/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`)}
        >
          Sign in with single sign-on
        </button>
      )}
      {session.oidcEnabled && session.passwordLoginEnabled && (
        <p class="divider">
          <span>or with a password</span>
        </p>
      )}
      {session.passwordLoginEnabled && <PasswordForm returnTo={returnTo} />}
    </>
  );
}

function PasswordForm({ returnTo }: { returnTo: string }) {
  const { refresh } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);

  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);

    try {
      const result = await login(username, password);

      setCsrfToken(result.csrfToken);
      await refresh();
      navigate(returnTo, { replace: true });
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
      setPassword('');
      setBusy(false);
    }
  };

  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label class="field">
        <span>Username</span>
        <input
          type="text"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          required
          value={username}
          onInput={(event) => setUsername(event.currentTarget.value)}
        />
      </label>
      <label class="field">
        <span>Password</span>
        <input
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="form-error" role="alert">
          {messageOf(error)}
        </p>
      )}
      <button type="submit" class="button-primary" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}
