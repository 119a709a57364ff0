import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError } from '../../api/client';
import { useAction } from '../../shared/action';
import { Pending } from '../../shared/query';
import { Alert, Button, ConfirmDialog, EmptyState, NoticeLine, TextArea } from '../../ui';
import { formatWhen } from '../sessions';
import { describeChange, personPath } from './admin-api';
import { PagedTable, usePages } from './paged-table';
import { Fact } from './person-page';
import {
  COMMUNITY_LABELS,
  heldWords,
  loadChanges,
  loadRun,
  overrideRun,
  RUN_POLL_MS,
  STALL_MINUTES,
  STATUS_LABELS,
  type SyncRun,
  startedByOf,
} from './sync-api';

/** `/admin/sync/:runId`: one run, its progress read again while it runs, the override if it was held back, and its changes. */
export function SyncRunPage() {
  const { runId = '' } = useParams();
  const queryKey = ['admin-sync-run', runId];
  const run = useQuery({
    queryKey,
    queryFn: () => loadRun(runId),
    refetchInterval: (q) => (q.state.data?.status === 'RUNNING' ? RUN_POLL_MS : false),
    refetchIntervalInBackground: true,
  });
  if (run.data === undefined) return <Pending query={run} label="Loading the run…" what="this sync run" />;
  const r = run.data;
  const facts: [string, string][] = [
    ['Started', `${formatWhen(r.startedAt)} by ${startedByOf(r)}`],
    ['Finished', r.finishedAt ? formatWhen(r.finishedAt) : 'Not yet'],
    ['Duration', r.durationMs === null ? '—' : `${Math.round(r.durationMs / 1000)} s`],
    // The counts come when the run is applied: none while it runs.
    ...(r.status === 'RUNNING'
      ? []
      : ([
          ['New members', String(r.newMembers)],
          ['Upgraded', String(r.upgraded)],
          ['Downgraded', String(r.downgraded)],
          ['Cancelled', String(r.cancelled)],
          ['Listed without email', String(r.skipped)],
        ] as [string, string][])),
  ];
  return (
    <div className="hc-stack" data-testid="sync-run-page" data-status={r.status}>
      <p>
        <Link to="/admin/sync">← Skool sync</Link>
      </p>
      <div className="hc-client-head">
        <h1>Sync run</h1>
        <p className="hc-row hc-small">
          <span className={`hc-badge${r.status === 'FAILED' ? ' hc-badge-danger' : r.status === 'RUNNING' ? ' hc-badge-live' : ''}`} data-testid="sync-status">
            {STATUS_LABELS[r.status]}
          </span>
        </p>
      </div>
      <section className="hc-card hc-stack" aria-label="Members per community" data-testid="sync-progress">
        <h2>{r.status === 'RUNNING' ? 'Members scraped so far' : 'Members found'}</h2>
        <dl className="hc-facts">
          {(['ultra', 'vagus'] as const).map((c) => (
            <Fact key={c} name={`Skool ${COMMUNITY_LABELS[c]}`} value={membersWords(r, c)} />
          ))}
        </dl>
        {r.status === 'RUNNING' && (
          <p className="hc-small hc-muted">
            {r.progress.at ? `Last report ${formatWhen(r.progress.at)}.` : 'Waiting for the first report.'} A run silent for {STALL_MINUTES} minutes is stuck:
            it shows as failed, and "Run now" starts afresh.
          </p>
        )}
      </section>
      {r.errorMessage && (
        <Alert tone={r.heldBack && !r.override ? 'warn' : 'error'} title={r.heldBack && !r.override ? 'Held back by the safety rule' : 'What went wrong'}>
          <p>{r.errorMessage}</p>
        </Alert>
      )}
      {r.heldBack && !r.override && <Override run={r} queryKey={queryKey} />}
      {r.override && (
        <Alert tone="info" title="Applied by an admin">
          <p>
            {r.override.by?.displayName ?? 'A former admin'}, {formatWhen(r.override.at)}: “{r.override.reason}”
          </p>
        </Alert>
      )}
      <section className="hc-card hc-stack" aria-label="The run's counts">
        <dl className="hc-facts">
          {facts.map(([k, v]) => (
            <Fact key={k} name={k} value={v} />
          ))}
        </dl>
      </section>
      {r.status !== 'RUNNING' && <Changes runId={r.id} version={r.override?.at ?? r.finishedAt ?? ''} />}
    </div>
  );
}

function membersWords(r: SyncRun, c: 'ultra' | 'vagus'): string {
  const found = c === 'ultra' ? r.ultraMembersFound : r.vagusMembersFound;
  const sofar = r.progress[c];
  if (r.status === 'RUNNING') return sofar === null ? 'Not started yet' : `${sofar} members scraped so far`;
  return found === null ? 'Not scraped (see below)' : `${found} members`;
}

/** The override behind a dialog that names the numbers it applies; the API refuses numbers that are not the run's. */
function Override({ run: r, queryKey }: { run: SyncRun; queryKey: string[] }) {
  const queries = useQueryClient();
  const held = r.heldBack ?? [];
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const apply = useAction(async () => {
    const next = await overrideRun(r.id, reason.trim(), held);
    queries.setQueryData(queryKey, next);
    await queries.invalidateQueries({ queryKey: ['admin-sync-changes', r.id] });
    setOpen(false);
  });
  const reasonError = apply.failure instanceof ApiError ? apply.failure.fields.reason : undefined;
  return (
    <section className="hc-card hc-stack" aria-label="Apply this run anyway" data-testid="sync-override">
      <h2>Apply it anyway?</h2>
      <p>
        The downgrades and expiries this run found were not applied, because a community looked too small. If the list is right (members really left), apply
        them.
      </p>
      <ul>
        {held.map((h) => (
          <li key={h.community}>{heldWords(h)}</li>
        ))}
      </ul>
      <Button variant="secondary" onClick={() => setOpen(true)}>
        Apply this run…
      </Button>
      <ConfirmDialog
        open={open}
        title="Apply a run the safety rule held back"
        confirmLabel="Apply the run"
        cancelLabel="Keep it held back"
        busy={apply.busy}
        onConfirm={() => {
          if (reason.trim().length < 3) return apply.refuse('Give the reason (a few words at least): it is kept in the audit log.');
          apply.run();
        }}
        onClose={() => {
          apply.clear();
          setOpen(false);
        }}
      >
        <p>You confirm these numbers. Members missing from the list lose what Skool gave them.</p>
        <ul data-testid="override-numbers">
          {held.map((h) => (
            <li key={h.community}>
              <strong>{heldWords(h)}</strong>
            </li>
          ))}
        </ul>
        <TextArea label="Why" name="reason" value={reason} onChange={(e) => setReason(e.target.value)} error={reasonError} rows={2} />
        <NoticeLine text={apply.error} />
      </ConfirmDialog>
    </section>
  );
}

/** What the run changed, person by person (50 people at a time). */
function Changes({ runId, version }: { runId: string; version: string }) {
  const changes = usePages(['admin-sync-changes', runId, version], (cursor) => loadChanges(runId, cursor));
  const rows = changes.data?.pages.flatMap((p) => p.items);
  if (rows === undefined) return <Pending query={changes} label="Loading the changes…" what="the run's changes" />;
  if (rows.length === 0)
    return (
      <EmptyState title="No changes">
        <p>This run changed nobody's role, tier or Skool status.</p>
      </EmptyState>
    );
  return (
    <PagedTable label="Changes, person by person" testId="sync-changes" headers={['Person', 'Changes']} query={changes}>
      {rows.map((p) => (
        <tr key={p.user.id} data-testid="sync-change" data-email={p.user.email}>
          <th scope="row">
            <Link to={personPath(p.user.id)}>{p.user.displayName}</Link>
            <span className="hc-block hc-small hc-muted">{p.user.email}</span>
          </th>
          <td>
            <ul className="hc-tight">
              {p.changes.map((ch) => (
                <li key={`${ch.field}-${ch.community ?? ''}-${ch.to}`} className="hc-small">
                  {describeChange(ch)}
                </li>
              ))}
            </ul>
          </td>
        </tr>
      ))}
    </PagedTable>
  );
}
