import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Pending } from '../../shared/query';
import { Button, EmptyState, SelectField, TextField } from '../../ui';
import { formatWhen } from '../sessions';
import { ACTION_LABELS, type AuditEntry, loadAudit, personPath } from './admin-api';
import { PagedTable, usePages } from './paged-table';

const ACTIONS = [{ value: '', label: 'Any' }, ...Object.entries(ACTION_LABELS).map(([value, label]) => ({ value, label }))];

/** A date field's day (YYYY-MM-DD) as the first instant of that day in the reader's time zone; `end`: of the day after. */
const dayStart = (day: string, end = false): string | undefined => {
  if (!day) return undefined;
  const d = new Date(`${day}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString();
};

/** `before` → `after` of an entry, compactly: "tier: FREE → PREMIUM". */
function changeOf(e: AuditEntry): string {
  const keys = [...new Set([...Object.keys(e.before ?? {}), ...Object.keys(e.after ?? {})])];
  return keys.map((k) => `${k}: ${JSON.stringify(e.before?.[k] ?? null)} → ${JSON.stringify(e.after?.[k] ?? null)}`).join('; ');
}

/** `/admin/audit`: what staff did, newest first, by action, person and days (kept in the URL), 50 at a time. */
export function AuditPage() {
  const [params, setParams] = useSearchParams();
  const applied = { action: params.get('action') ?? '', targetId: params.get('targetId') ?? '', from: params.get('from') ?? '', to: params.get('to') ?? '' };
  const [draft, setDraft] = useState(applied);
  const query = {
    ...(applied.action ? { action: applied.action } : {}),
    ...(applied.targetId ? { targetId: applied.targetId } : {}),
    ...(applied.from ? { since: dayStart(applied.from) } : {}),
    ...(applied.to ? { until: dayStart(applied.to, true) } : {}),
  };
  const log = usePages(['admin-audit', query], (cursor) => loadAudit({ ...query, ...(cursor ? { cursor } : {}) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    setParams(Object.fromEntries(Object.entries(draft).filter(([, v]) => v !== '')));
  }

  const rows = log.data?.pages.flatMap((p) => p.items);
  return (
    <div className="hc-stack">
      <h1>Audit log</h1>
      <p className="hc-muted">Every staff action, with who, when and why. Nothing here can be changed or deleted.</p>
      <form className="hc-card hc-filters" onSubmit={submit} aria-label="Filter the audit log" data-testid="audit-filters">
        <SelectField label="Action" name="action" value={draft.action} options={ACTIONS} onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
        <TextField label="From" name="from" type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        <TextField label="To" name="to" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        <Button type="submit">Filter</Button>
        {applied.targetId && (
          <p className="hc-field-wide hc-small">
            For one person only. <Link to="/admin/audit">Show everyone</Link>
          </p>
        )}
      </form>

      {rows === undefined ? (
        <Pending query={log} label="Loading the audit log…" what="the audit log" />
      ) : rows.length === 0 ? (
        <EmptyState title="No entries">
          <p>Nothing recorded for these filters.</p>
        </EmptyState>
      ) : (
        <PagedTable label="Entries, newest first" testId="audit" headers={['When', 'Who', 'What', 'To', 'Why']} query={log}>
          {rows.map((e) => (
            <tr key={e.id} data-testid="audit-row" data-action={e.action}>
              <td className="hc-small">{formatWhen(e.at)}</td>
              <td>{e.actor ? (e.actor.displayName ?? e.actor.id) : <span className="hc-muted">System</span>}</td>
              <th scope="row">
                {ACTION_LABELS[e.action] ?? e.action}
                <span className="hc-block hc-muted hc-json">{changeOf(e)}</span>
              </th>
              <td>
                {e.target.type === 'user' ? <Link to={personPath(e.target.id)}>{e.target.displayName ?? e.target.id}</Link> : `${e.target.type} ${e.target.id}`}
              </td>
              <td className="hc-small">{e.reason ?? <span className="hc-muted">—</span>}</td>
            </tr>
          ))}
        </PagedTable>
      )}
    </div>
  );
}
