import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError } from '../../api/client';
import { useAction } from '../../shared/action';
import { Pending } from '../../shared/query';
import { Button, Notice, SelectField, TextArea } from '../../ui';
import { useCoach } from '../coach-only';
import { formatWhen } from '../sessions';
import { describeChange, loadPerson, type Person, type PersonAction, ROLE_LABELS, type Role, runAction, sourceOf, TIER_LABELS, type Tier } from './admin-api';
import { EraseClient } from './erase-client';

type Kind = PersonAction['kind'];

const KIND_LABELS: Record<Kind, string> = {
  tier: 'Set the tier',
  role: 'Set the role',
  disable: 'Disable the account',
  enable: 'Enable the account',
  'sign-out': 'Sign out everywhere',
  'claim-email': 'Send the claim email again',
};

/** The actions that make sense for this person now (the API refuses the others with 409 anyway). */
function kindsFor(p: Person, selfId: string): Kind[] {
  const self = p.id === selfId;
  return [
    'tier',
    ...(self ? [] : (['role'] as const)),
    ...(p.disabled ? (['enable'] as const) : self ? [] : (['disable'] as const)),
    'sign-out',
    ...(!p.claimed && !p.disabled ? (['claim-email'] as const) : []),
  ];
}

/** `/admin/people/:personId`: who they are, how they got their role and tier, and the actions on the account. */
export function PersonPage() {
  const { personId = '' } = useParams();
  const queryKey = ['admin-person', personId];
  const load = useQuery({ queryKey, queryFn: () => loadPerson(personId) });
  if (load.data === undefined) return <Pending query={load} label="Loading…" what="this person" />;
  const p = load.data;
  const facts: [string, string][] = [
    ['Role', ROLE_LABELS[p.role]],
    ['Tier', TIER_LABELS[p.tier]],
    ['Source', sourceOf(p)],
    ['Claimed', p.claimed ? 'Yes' : 'Not yet (no password set)'],
    ['Account', p.disabledAt ? `Disabled since ${formatWhen(p.disabledAt)}` : 'Active'],
    ['Last sign-in', p.lastSignInAt ? formatWhen(p.lastSignInAt) : 'Never'],
    ['This month', `${p.thisMonth.sessions} session${p.thisMonth.sessions === 1 ? '' : 's'}, ${p.thisMonth.minutes} min`],
    ['All sessions', String(p.sessionsTotal)],
    ['Last Skool sync', p.lastSkoolSync ? formatWhen(p.lastSkoolSync) : 'Never seen by the sync'],
    ['Account made', formatWhen(p.createdAt)],
  ];
  return (
    <div className="hc-stack" data-testid="person" data-person-id={p.id}>
      <p>
        <Link to="/admin/people">← People</Link>
      </p>
      <div className="hc-client-head">
        <h1>{p.displayName}</h1>
        <p className="hc-row hc-small">
          <span className="hc-muted">{p.email}</span>
          <span className={`hc-badge${p.tier === 'PREMIUM' ? ' hc-badge-premium' : ''}`} data-testid="person-tier">
            {TIER_LABELS[p.tier]}
          </span>
          {p.disabled && <span className="hc-badge hc-badge-danger">Disabled</span>}
        </p>
      </div>
      <div className="hc-review">
        <section className="hc-card hc-stack" aria-labelledby="history-title">
          <h2 id="history-title">Membership history</h2>
          <dl className="hc-facts">
            {facts.map(([k, v]) => (
              <Fact key={k} name={k} value={v} />
            ))}
          </dl>
          {p.history.length === 0 ? (
            <p className="hc-muted">No change recorded yet.</p>
          ) : (
            <ul className="hc-list" aria-label="Changes, newest first" data-testid="person-history">
              {p.history.map((h) => (
                <li key={h.id} data-by={h.by}>
                  <div className="hc-row hc-row-between hc-small">
                    <strong>{describeChange(h)}</strong>
                    <span className="hc-muted">{formatWhen(h.at)}</span>
                  </div>
                  <p className="hc-tight hc-small">
                    {h.by === 'sync' ? 'Skool sync' : `By ${h.actor?.displayName ?? 'a former staff member'}`}
                    {h.reason && <>: “{h.reason}”</>}
                  </p>
                </li>
              ))}
            </ul>
          )}
          <Link to={`/admin/audit?targetId=${encodeURIComponent(p.id)}`}>Audit log for {p.displayName}</Link>
        </section>
        <ActionForm key={p.id} person={p} queryKey={queryKey} />
        {p.role === 'CLIENT' && <EraseClient person={p} />}
      </div>
    </div>
  );
}

/** One action at a time, each with its required reason; the page shows the person the API answers after it. */
function ActionForm({ person: p, queryKey }: { person: Person; queryKey: string[] }) {
  const me = useCoach();
  const queries = useQueryClient();
  const kinds = kindsFor(p, me.id);
  const [kind, setKind] = useState<Kind>('tier');
  const [tier, setTier] = useState<Tier>(p.tier);
  const [role, setRole] = useState<Role>(p.role);
  const [reason, setReason] = useState('');
  const [said, setSaid] = useState<string | null>(null);
  const act = useAction(async (a: PersonAction) => {
    const next = await runAction(p.id, a);
    queries.setQueryData(queryKey, next);
    setReason('');
    setSaid(`Done: ${KIND_LABELS[a.kind].toLowerCase()}.`);
  });
  const current = kinds.includes(kind) ? kind : 'tier';
  const fieldError = act.failure instanceof ApiError ? act.failure.fields.reason : undefined;

  function submit(e: FormEvent) {
    e.preventDefault();
    setSaid(null);
    const why = reason.trim();
    if (why.length < 3) return act.refuse('Give the reason (a few words at least): it is kept in the history and the audit log.');
    if (current === 'tier') act.run({ kind: 'tier', tier, reason: why });
    else if (current === 'role') act.run({ kind: 'role', role, reason: why });
    else act.run({ kind: current, reason: why });
  }

  return (
    <form className="hc-card hc-stack" aria-labelledby="actions-title" onSubmit={submit} data-testid="person-actions">
      <h2 id="actions-title">Change the account</h2>
      <SelectField
        label="What to do"
        name="action"
        value={current}
        options={kinds.map((k) => ({ value: k, label: KIND_LABELS[k] }))}
        onChange={(e) => {
          setKind(e.target.value as Kind);
          act.clear();
          setSaid(null);
        }}
      />
      {current === 'tier' && (
        <SelectField
          label="Tier"
          name="tier"
          value={tier}
          options={Object.entries(TIER_LABELS).map(([value, label]) => ({ value, label }))}
          onChange={(e) => setTier(e.target.value as Tier)}
          hint="Premium is set only here; the Skool sync never takes it away."
        />
      )}
      {current === 'role' && (
        <SelectField
          label="Role"
          name="role"
          value={role}
          options={Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }))}
          onChange={(e) => setRole(e.target.value as Role)}
        />
      )}
      {current === 'disable' && <p className="hc-small">They are signed out everywhere at once and cannot sign in until the account is enabled again.</p>}
      {current === 'sign-out' && <p className="hc-small">Every device they are signed in on is signed out at once; they can sign in again.</p>}
      <TextArea
        label="Reason"
        name="reason"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        required
        maxLength={500}
        error={fieldError}
        hint="Kept in the history and the audit log"
      />
      <Notice text={act.error} />
      <Notice tone="info" text={said} />
      <Button type="submit" busy={act.busy} busyLabel="Saving…">
        {KIND_LABELS[current]}
      </Button>
    </form>
  );
}

/** One fact in a `hc-facts` list (the admin pages'). */
export function Fact({ name, value }: { name: string; value: string }) {
  return (
    <>
      <dt>{name}</dt>
      <dd data-fact={name}>{value}</dd>
    </>
  );
}
