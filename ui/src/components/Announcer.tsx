import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

import { AnnounceContext } from '../session';

/**
 * Provides `announce` and renders its polite live region, which screen readers read out and which shows
 * on screen as a short notice at the bottom. Each message gets a new id, so a repeated text is read again.
 */
export function Announcer({ children }: { children: ComponentChildren }) {
  const [message, setMessage] = useState<{ id: number; text: string } | undefined>(undefined);

  const announce = useCallback((text: string) => {
    setMessage((current) => ({ id: (current?.id ?? 0) + 1, text }));
  }, []);

  useEffect(() => {
    if (message === undefined) {
      return undefined;
    }

    const timer = window.setTimeout(() => setMessage(undefined), 6000);

    return () => window.clearTimeout(timer);
  }, [message]);

  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div class={message ? 'announcer announcer-visible' : 'announcer'} aria-live="polite" role="status">
        {message && <span key={message.id}>{message.text}</span>}
      </div>
    </AnnounceContext.Provider>
  );
}
