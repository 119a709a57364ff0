import { useCallback, useEffect, useState } from 'react';

export type Load<T> = { state: 'loading' } | { state: 'failed'; error: unknown } | { state: 'ready'; data: T };

/** Runs `load` once (and again on `retry`), ignoring answers that arrive after unmount. */
export function useLoad<T>(load: () => Promise<T>): [Load<T>, () => void, (data: T) => void] {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setResult({ state: 'loading' });
    load().then(
      (data) => live && setResult({ state: 'ready', data }),
      (error: unknown) => live && setResult({ state: 'failed', error }),
    );
    return () => {
      live = false;
    };
    // `load` is read once per attempt on purpose: callers pass a module-level or per-page function.
  }, [attempt]);
  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const set = useCallback((data: T) => setResult({ state: 'ready', data }), []);
  return [result, retry, set];
}
