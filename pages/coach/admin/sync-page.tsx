import { useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { useAction } from '../../shared/action';
import { Pending } from '../../shared/query';
import { Button, EmptyState, NoticeLine } from '../../ui';
import { formatWhen } from '../sessions';
import { PagedTable, usePages } from './paged-table';
import { loadRuns, membersOf, RUN_POLL_MS, runPath, STATUS_LABELS, startedByOf, startRun } from './sync-api';

/** `/admin/sync`: the Skool sync runs, newest first (read again while one runs), and "Run now". */
export function SyncPage() {
  const navigate = useNavigate();
  const queries = useQueryClient();
  const runs = usePages(['admin-sync-runs'], loadRuns, {
    refetchInterval: (q) => (q.state.data?.pages[0]?.items.some((r) => r.status === 'RUNNING') ? RUN_POLL_MS : false),
  });
  const start = useAction(async () => {
    const { runId } = await startRun();
    await queries.invalidateQueries({ queryKey: ['admin-sync-runs'] });
    navigate(runPath(runId));
  });
  const rows = runs.data?.pages.flatMap((p) => p.items);
  const running = rows?.find((r) => r.status === 'RUNNING');

  return (
    <div className="hc-stack">
      <h1>Skool sync</h1>
      <p className="hc-muted">
        Every night the sync reads both Skool communities and brings roles and tiers in line. A community that shrank by more than half is held back until an
        admin applies it.
      </p>
      <section className="hc-card hc-stack" aria-label="Run the sync now">
        <div className="hc-row">
          {/* Never disabled: a run that looks alive may be stuck, and only a start fails it (409 while it is alive). */}
          <Button onClick={() => start.run()} busy={start.busy} busyLabel="Starting…">
            Run now
          </Button>
          {running && (
            <span className="hc-small">
              A sync is running: <Link to={runPath(running.id)}>watch its progress</Link>
            </span>
          )}
        </div>
        <NoticeLine text={start.error} />
      </section>

      {rows === undefined ? (
        <Pending query={runs} label="Loading the runs…" what="the sync runs" />
      ) : rows.length === 0 ? (
        <EmptyState title="No sync yet">
          <p>The first runs tonight, or press Run now.</p>
        </EmptyState>
      ) : (
        <PagedTable
          label="Runs, newest first"
          testId="sync-runs"
          headers={['Started', 'By', 'Status', 'Ultra', 'Vagus', 'New', 'Upgraded', 'Downgraded', 'Duration']}
          query={runs}
        >
          {rows.map((r) => (
            <tr key={r.id} data-testid="sync-run" data-status={r.status}>
              <th scope="row">
                <Link to={runPath(r.id)}>{formatWhen(r.startedAt)}</Link>
              </th>
              <td>{startedByOf(r)}</td>
              <td>
                <span className={`hc-badge${r.status === 'FAILED' ? ' hc-badge-danger' : r.status === 'RUNNING' ? ' hc-badge-live' : ''}`}>
                  {STATUS_LABELS[r.status]}
                </span>
                {r.heldBack && !r.override && <span className="hc-block hc-small">Held back</span>}
                {r.override && <span className="hc-block hc-small">Applied by an admin</span>}
              </td>
              <td>{membersOf(r, 'ultra')}</td>
              <td>{membersOf(r, 'vagus')}</td>
              <td>{r.newMembers}</td>
              <td>{r.upgraded}</td>
              <td>{r.downgraded}</td>
              <td>{r.durationMs === null ? '—' : `${Math.round(r.durationMs / 1000)} s`}</td>
            </tr>
          ))}
        </PagedTable>
      )}
    </div>
  );
}
