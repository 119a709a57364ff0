import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, messageOf } from '../api/client';
import { formatWait } from '../ui';

/**
 * One change a form or button makes (save, remove, confirm): `busy` while it runs, then its failure
 * in words (`describe`: the API's message by default; `failure` is the error itself, for its
 * fields). A TanStack Query mutation, so changes go through the same library as the loads instead
 * of a hand-written busy/error/try/finally in every form. `refuse` shows a problem found before
 * anything is sent; `clear` forgets the last problem.
 */
export function useAction<Input = void>(perform: (input: Input) => Promise<unknown>, describe: (err: unknown) => string = messageOf) {
  const mutation = useMutation({ mutationFn: perform });
  const [refusal, setRefusal] = useState<string | null>(null);
  const { isPending, reset, mutate } = mutation;
  // A change on its way keeps running (and stays busy) whatever is said meanwhile.
  const forget = () => {
    if (!isPending) reset();
  };
  return {
    busy: isPending,
    error: refusal ?? (mutation.error ? describe(mutation.error) : null),
    failure: mutation.error,
    /** It went through (until the next run, refusal or clear). */
    done: mutation.isSuccess,
    run: (input: Input) => {
      setRefusal(null);
      mutate(input);
    },
    refuse: (message: string) => {
      forget();
      setRefusal(message);
    },
    clear: () => {
      forget();
      setRefusal(null);
    },
  };
}

/** A failure in words for a form (`useAction`'s `describe`): a rate limit says how long to wait, after `tooMany`. */
export function failureMessage(err: unknown, tooMany = 'Too many attempts.'): string {
  if (err instanceof ApiError && err.code === 'RATE_LIMITED') {
    return `${tooMany} ${err.retryAfterSeconds ? `Please wait ${formatWait(err.retryAfterSeconds)} before trying again.` : 'Please wait a while before trying again.'}`;
  }
  return messageOf(err);
}
