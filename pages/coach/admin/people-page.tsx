import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Pending } from '../../shared/query';
import { Button, EmptyState, SelectField, TextField } from '../../ui';
import { loadPeople, personPath, ROLE_LABELS, sourceOf, TIER_LABELS } from './admin-api';
import { PagedTable, usePages } from './paged-table';

const FILTERS = ['q', 'role', 'tier', 'claimed', 'source'] as const;
type Filter = (typeof FILTERS)[number];

const any = { value: '', label: 'Any' };
const CHOICES: Record<Exclude<Filter, 'q'>, { label: string; options: { value: string; label: string }[] }> = {
  role: { label: 'Role', options: [any, ...Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }))] },
  tier: { label: 'Tier', options: [any, ...Object.entries(TIER_LABELS).map(([value, label]) => ({ value, label }))] },
  claimed: {
    label: 'Claimed',
    options: [any, { value: 'true', label: 'Claimed' }, { value: 'false', label: 'Not claimed yet' }],
  },
  source: {
    label: 'Source',
    options: [any, { value: 'ultra', label: 'Skool Ultra' }, { value: 'vagus', label: 'Skool Vagus' }, { value: 'manual', label: 'Manual' }],
  },
};

/** `/admin/people`: everyone with an account, by name or email and filters (kept in the URL), 25 at a time. */
export function PeoplePage() {
  const [params, setParams] = useSearchParams();
  const applied = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<Filter, string>;
  const [draft, setDraft] = useState(applied);
  const query = Object.fromEntries(Object.entries(applied).filter(([, v]) => v !== ''));
  const people = usePages(['admin-people', query], (cursor) => loadPeople({ ...query, ...(cursor ? { cursor } : {}) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    setParams(Object.fromEntries(Object.entries(draft).filter(([, v]) => v.trim() !== '')));
  }

  const rows = people.data?.pages.flatMap((p) => p.items);
  return (
    <div className="hc-stack">
      <h1>People</h1>
      <form className="hc-card hc-filters" role="search" onSubmit={submit} data-testid="people-filters">
        <div className="hc-field-wide">
          <TextField label="Name or email" name="q" type="search" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        </div>
        {(Object.keys(CHOICES) as (keyof typeof CHOICES)[]).map((f) => (
          <SelectField
            key={f}
            label={CHOICES[f].label}
            name={f}
            value={draft[f]}
            options={CHOICES[f].options}
            onChange={(e) => setDraft({ ...draft, [f]: e.target.value })}
          />
        ))}
        <Button type="submit">Find</Button>
      </form>

      {rows === undefined ? (
        <Pending query={people} label="Finding people…" what="the people" />
      ) : rows.length === 0 ? (
        <EmptyState title="Nobody matches">
          <p>Try part of the name or email, or fewer filters.</p>
        </EmptyState>
      ) : (
        <PagedTable label="People found" testId="people" headers={['Name', 'Role', 'Tier', 'Source', 'Account']} query={people}>
          {rows.map((p) => (
            <tr key={p.id} data-testid="person-row" data-person-id={p.id}>
              <th scope="row">
                <Link to={personPath(p.id)}>{p.displayName}</Link>
                <span className="hc-muted hc-small hc-block">{p.email}</span>
              </th>
              <td>{ROLE_LABELS[p.role]}</td>
              <td>
                <span className={`hc-badge${p.tier === 'PREMIUM' ? ' hc-badge-premium' : ''}`} data-field="tier">
                  {TIER_LABELS[p.tier]}
                </span>
              </td>
              <td className="hc-small">{sourceOf(p)}</td>
              <td className="hc-small">
                {p.disabled ? (
                  <span className="hc-badge hc-badge-danger">Disabled</span>
                ) : p.claimed ? (
                  'Claimed'
                ) : (
                  <span className="hc-muted">Not claimed</span>
                )}
              </td>
            </tr>
          ))}
        </PagedTable>
      )}
    </div>
  );
}
