import { type InfiniteData, type UseInfiniteQueryResult, useInfiniteQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Button, NoticeLine } from '../../ui';

type Page<T> = { items: T[]; nextCursor: string | null };

/**
 * A list the API answers a page at a time: `load` the page after `cursor` (none for the first);
 * `refetchInterval` to read it again while something on it is still changing.
 */
export function usePages<T>(
  queryKey: readonly unknown[],
  load: (cursor?: string) => Promise<Page<T>>,
  options: { refetchInterval?: (query: { state: { data?: InfiniteData<Page<T>, string> } }) => number | false } = {},
) {
  return useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => load(pageParam || undefined),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    ...(options.refetchInterval ? { refetchInterval: options.refetchInterval, refetchIntervalInBackground: true } : {}),
  });
}

/**
 * A list the API answers a page at a time (useInfiniteQuery over a cursor), as a table: `headers`, the
 * rows loaded so far (`children`), and "Show more" while there is a next page.
 */
export function PagedTable({
  label,
  testId,
  headers,
  query,
  children,
}: {
  label: string;
  testId: string;
  headers: string[];
  query: UseInfiniteQueryResult;
  children: ReactNode;
}) {
  return (
    <section className="hc-card hc-stack" aria-label={label} data-testid={testId}>
      <div className="hc-table-wrap">
        <table className="hc-table">
          <thead>
            <tr>
              {headers.map((h) => (
                <th key={h} scope="col">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      </div>
      {query.hasNextPage && (
        <Button variant="secondary" onClick={() => void query.fetchNextPage()} busy={query.isFetchingNextPage} busyLabel="Loading…">
          Show more
        </Button>
      )}
      <NoticeLine text={query.isFetchNextPageError ? 'The next page did not load. Try again.' : null} />
    </section>
  );
}
