import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { ApiError } from './api';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True while a request is running, also when `data` still shows the previous result. */
  loading: boolean;
  /** Loads again and keeps the current data on screen meanwhile. */
  reload: () => void;
}

export interface ResourceOptions {
  /** Keep showing the previous result while the result for new inputs loads, as lists do while filtering. */
  keepPrevious?: boolean;
}

/**
 * Loads data for a view and tracks loading and errors. A change of `inputs` cancels the running request.
 * A 401 keeps the view loading, because the API client is already on its way to the sign-in page.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  inputs: readonly unknown[],
  options: ResourceOptions = {},
): Resource<T> {
  const [state, setState] = useState<Omit<Resource<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const inputKey = JSON.stringify(inputs);
  const previousKey = useRef(inputKey);

  useEffect(() => {
    const controller = new AbortController();
    const inputsChanged = previousKey.current !== inputKey;

    previousKey.current = inputKey;
    setState((current) => ({
      data: inputsChanged && !options.keepPrevious ? undefined : current.data,
      error: undefined,
      loading: true,
    }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) {
          setState({ data, error: undefined, loading: false });
        }
      },
      (error: unknown) => {
        if (!controller.signal.aborted) {
          setState((current) => failedState(current, error));
        }
      },
    );

    return () => controller.abort();
    // `load` is a new function on every render, so `inputKey` represents what it depends on.
  }, [inputKey, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);

  return { ...state, reload };
}

function failedState<T>(current: Omit<Resource<T>, 'reload'>, error: unknown): Omit<Resource<T>, 'reload'> {
  if (error instanceof ApiError && error.status === 401) {
    return { ...current, loading: true };
  }

  return {
    data: current.data,
    error: error instanceof Error ? error : new Error(String(error)),
    loading: false,
  };
}

/** Returns `value` once it has stayed unchanged for `delay` milliseconds. */
export function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);

  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delay);

    return () => window.clearTimeout(timer);
  }, [value, delay]);

  return settled;
}

/** Calls `callback` every `period` milliseconds while the page is visible. */
export function useInterval(callback: () => void, period: number): void {
  const latest = useRef(callback);

  latest.current = callback;
  useEffect(() => {
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') {
        latest.current();
      }
    }, period);

    return () => window.clearInterval(timer);
  }, [period]);
}

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title === '' ? 'Wharf' : `${title} · Wharf`;
  }, [title]);
}
