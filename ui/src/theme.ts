import { useEffect, useState } from 'preact/hooks';

/**
 * The colour scheme: the reader's choice (system, light or dark) is kept in localStorage, and the scheme
 * in effect is set as `data-theme` on `<html>`, where the stylesheet takes its colours from.
 */

export type ThemePreference = 'system' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

const storageKey = 'wharf.theme';
const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');
const changeEvent = 'wharf:theme';

/** The choice in effect; it outlives a reload only where localStorage works. */
let preference = readStoredPreference();

function readStoredPreference(): ThemePreference {
  try {
    const value = window.localStorage.getItem(storageKey);

    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    // The browser's privacy settings can disable storage; the system scheme applies then.
    return 'system';
  }
}

function resolvedTheme(): Theme {
  if (preference === 'system') {
    return darkQuery.matches ? 'dark' : 'light';
  }

  return preference;
}

/** Sets `data-theme` on `<html>`; called before the first render and on every change. */
export function applyTheme(): void {
  document.documentElement.dataset.theme = resolvedTheme();
}

export function setThemePreference(choice: ThemePreference): void {
  preference = choice;

  try {
    if (choice === 'system') {
      window.localStorage.removeItem(storageKey);
    } else {
      window.localStorage.setItem(storageKey, choice);
    }
  } catch {
    // Without storage the choice lasts until the page is reloaded.
  }

  applyTheme();
  window.dispatchEvent(new Event(changeEvent));
}

/** Returns the choice and the scheme in effect, and follows the system scheme while it applies. */
export function useTheme(): { preference: ThemePreference; theme: Theme } {
  const [state, setState] = useState(() => ({ preference, theme: resolvedTheme() }));

  useEffect(() => {
    const update = (): void => {
      applyTheme();
      setState({ preference, theme: resolvedTheme() });
    };

    darkQuery.addEventListener('change', update);
    window.addEventListener(changeEvent, update);

    return () => {
      darkQuery.removeEventListener('change', update);
      window.removeEventListener(changeEvent, update);
    };
  }, []);

  return state;
}
