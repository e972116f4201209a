import { useState } from 'preact/hooks';

import { createApiKey, listApiKeys, revokeApiKey, type ApiKey, type NewApiKey } from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { CommandBox, CopyButton } from '../components/CopyButton';
import { RelativeTime } from '../components/RelativeTime';
import { EmptyState, messageOf, Pending } from '../components/states';
import { useDocumentTitle, useResource, type Resource } from '../hooks';
import { plainHttp, registryHost, useAnnounce, useSession } from '../session';

export function ApiKeysPage() {
  const { session } = useSession();

  useDocumentTitle('API keys');

  return (
    <>
      <div class="page-header">
        <h1>API keys</h1>
        <p class="lead">
          An API key works as your password for <code>docker login</code>, skopeo, scripts and the admin API.
        </p>
      </div>
      {session.authEnabled ? (
        <ApiKeys />
      ) : (
        <EmptyState title="API keys need authentication">
          <p>
            This registry has no authentication configured, so it has no users and no keys: everyone may pull
            and push. Configure <code>auth</code> in Wharf's configuration first (for example an htpasswd file
            or OpenID Connect), then sign in here to create keys.
          </p>
        </EmptyState>
      )}
    </>
  );
}

function ApiKeys() {
  const keys = useResource((signal) => listApiKeys(signal), []);
  const [created, setCreated] = useState<NewApiKey | undefined>(undefined);

  return (
    <>
      <CreateKeyForm
        onCreated={(key) => {
          setCreated(key);
          keys.reload();
        }}
      />
      {created && <NewKeyPanel apiKey={created} onDone={() => setCreated(undefined)} />}
      <section aria-labelledby="keys-title" aria-busy={keys.loading}>
        <h2 id="keys-title">Your keys</h2>
        <KeyList keys={keys} />
      </section>
    </>
  );
}

/** Turns the date input's `YYYY-MM-DD` into the end of that day in the reader's time zone. */
function endOfDay(date: string): string {
  const [year, month, day] = date.split('-').map(Number);

  return new Date(year, month - 1, day, 23, 59, 59).toISOString();
}

function today(): string {
  const now = new Date();
  const pad = (value: number): string => String(value).padStart(2, '0');

  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function CreateKeyForm({ onCreated }: { onCreated: (key: NewApiKey) => void }) {
  const [label, setLabel] = useState('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const announce = useAnnounce();

  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);

    try {
      const key = await createApiKey(label.trim(), expires === '' ? undefined : endOfDay(expires));

      setLabel('');
      setExpires('');
      onCreated(key);
      announce(`Created API key ${key.label}`);
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="create-title" class="panel">
      <h2 id="create-title">Create a key</h2>
      <form
        class="form-row"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <div class="field field-grow">
          <label for="key-label">Label</label>
          <input
            id="key-label"
            type="text"
            required
            maxLength={100}
            value={label}
            placeholder="CI pipeline"
            aria-describedby="key-label-hint"
            onInput={(event) => setLabel(event.currentTarget.value)}
          />
          <small id="key-label-hint" class="hint">
            What the key is for, so you know which one to revoke later.
          </small>
        </div>
        <div class="field">
          <label for="key-expires">Expires</label>
          <input
            id="key-expires"
            type="date"
            min={today()}
            value={expires}
            aria-describedby="key-expires-hint"
            onInput={(event) => setExpires(event.currentTarget.value)}
          />
          <small id="key-expires-hint" class="hint">
            Optional; the key stops working at the end of this day.
          </small>
        </div>
        <div class="form-actions">
          <button type="submit" class="button-primary" disabled={busy}>
            Create key
          </button>
        </div>
      </form>
      {error && (
        <p class="form-error" role="alert">
          {messageOf(error)}
        </p>
      )}
    </section>
  );
}

/** Shows the secret once after creation, with the login commands that use it. */
function NewKeyPanel({ apiKey, onDone }: { apiKey: NewApiKey; onDone: () => void }) {
  const { session } = useSession();
  const host = registryHost(session);
  const username = session.username ?? 'USERNAME';

  return (
    <section class="panel panel-highlight" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Key “{apiKey.label}” created</h2>
      <p class="warning">Copy the key now. Wharf keeps only a hash of it and cannot show it again.</p>
      <div class="secret">
        <label class="field field-grow">
          <span>New API key</span>
          <input
            type="text"
            readOnly
            value={apiKey.secret}
            class="mono"
            spellcheck={false}
            onFocus={(event) => event.currentTarget.select()}
          />
        </label>
        <CopyButton text={apiKey.secret} description="API key" />
      </div>
      <p>Sign in with your username and the key as the password:</p>
      <CommandBox label="Docker login command" command={`docker login ${host} -u ${username}`} copy={false} />
      <CommandBox
        label="Skopeo login command"
        command={`skopeo login ${plainHttp() ? '--tls-verify=false ' : ''}${host} -u ${username}`}
        copy={false}
      />
      <p class="muted">Both commands ask for the password: use the key as the password.</p>
      {plainHttp() && (
        <p class="muted">
          This registry is served over plain HTTP, so Docker needs <code>{host}</code> in the{' '}
          <code>insecure-registries</code> list of its daemon configuration.
        </p>
      )}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </section>
  );
}

function KeyList({ keys }: { keys: Resource<ApiKey[]> }) {
  const [revoking, setRevoking] = useState<ApiKey | undefined>(undefined);
  const announce = useAnnounce();

  if (!keys.data) {
    return <Pending resource={keys} loading="Loading API keys…" failed="Could not load your API keys" />;
  }

  if (keys.data.length === 0) {
    return (
      <EmptyState title="You have no API keys">
        <p>Create one above to sign in from Docker, skopeo or a CI pipeline without your password.</p>
      </EmptyState>
    );
  }

  const revoke = async (key: ApiKey): Promise<void> => {
    await revokeApiKey(key.id);
    announce(`Revoked API key ${key.label}`);
    keys.reload();
  };

  return (
    <>
      <KeyTable keys={keys.data} onRevoke={setRevoking} />
      {revoking && (
        <ConfirmDialog
          title={`Revoke key ${revoking.label}?`}
          confirmLabel="Revoke"
          onConfirm={() => revoke(revoking)}
          onClose={() => setRevoking(undefined)}
        >
          <p>
            Clients that sign in with this key stop working at once. Revoking cannot be undone; create a new
            key to replace it.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

const stateClasses: Record<ApiKey['state'], string> = {
  active: 'badge badge-ok',
  expired: 'badge badge-quiet',
  revoked: 'badge badge-bad',
};

function KeyTable({ keys, onRevoke }: { keys: ApiKey[]; onRevoke: (key: ApiKey) => void }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="API key list">
      <table class="table table-stack">
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">ID</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id}>
              <th scope="row">{key.label}</th>
              <td data-label="ID">
                <code>{key.id}</code>
              </td>
              <td data-label="State">
                <span class={stateClasses[key.state]}>{key.state}</span>
              </td>
              <td data-label="Created">
                <RelativeTime value={key.createdAt} />
              </td>
              <td data-label="Expires">
                <RelativeTime value={key.expiresAt} missing="never" />
              </td>
              <td data-label="Last used">
                <RelativeTime value={key.lastUsedAt} missing="never" />
              </td>
              <td class="actions">
                {key.state === 'active' && (
                  <button
                    type="button"
                    class="button-small button-danger-quiet"
                    aria-label={`Revoke ${key.label}`}
                    onClick={() => onRevoke(key)}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
