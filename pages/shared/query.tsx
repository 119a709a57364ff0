import { QueryClient, type UseQueryResult } from '@tanstack/react-query';
import { Loading } from '../ui';
import { LoadFailed } from './load-failed';

/**
 * The portals' one data cache (TanStack Query). Defaults keep what the pages did before it:
 * - no automatic retry: a failure is shown at once with its "Try again" (or "Please sign in" on 401);
 * - a page opened again loads afresh (gcTime 0: nothing is kept once no component reads it), while
 *   components on screen together share one request and one answer per key;
 * - no refetch on window focus: pages re-read only when they poll (refetchInterval) or after a change.
 */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry: false, gcTime: 0, refetchOnWindowFocus: false, refetchOnReconnect: false },
  },
});

/**
 * What a page shows while its data is not there yet: the spinner, or the failure with its way on.
 * `if (q.data === undefined) return <Pending query={q} … />` narrows `q.data` below.
 */
export function Pending({ query, label, what }: { query: UseQueryResult<unknown>; label?: string; what: string }) {
  if (query.isError && !query.isFetching) return <LoadFailed error={query.error} what={what} retry={() => void query.refetch()} />;
  return <Loading label={label} />;
}
