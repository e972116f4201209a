import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

import type { Session } from './api';

export interface SessionState {
  session: Session;
  /** Reads `/auth/session` again, after signing in or when the API returned 401. */
  refresh: () => Promise<void>;
}

export const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSession(): SessionState {
  const state = useContext(SessionContext);

  if (state === undefined) {
    throw new Error('useSession is used outside the SessionContext provider');
  }

  return state;
}

/** Returns the host for pull and login commands: the configured external host, or the host of this page. */
export function registryHost(session: Session): string {
  return session.registryHost ?? window.location.host;
}

/**
 * Returns whether the registry is reached over plain HTTP, judged by how this page was loaded. Clients
 * then need their insecure-registry switch, so the commands shown include it where a flag exists.
 */
export function plainHttp(): boolean {
  return window.location.protocol === 'http:';
}

/** Announces a short message to screen readers and shows it briefly, such as "Copied" or "Deleted". */
export const AnnounceContext = createContext<(message: string) => void>(() => undefined);

export function useAnnounce(): (message: string) => void {
  return useContext(AnnounceContext);
}
