/** The staff console's API calls (admins only) and the words the pages use for what they answer. */
import { api, call } from '../../api/client';

type PeopleQuery = NonNullable<Parameters<typeof api.api.admin.people.$get>[0]>['query'];
export const loadPeople = (query: PeopleQuery) => call(api.api.admin.people.$get({ query }));
export type PersonSummary = Awaited<ReturnType<typeof loadPeople>>['items'][number];

export const loadPerson = (id: string) => call(api.api.admin.people[':id'].$get({ param: { id } }));
export type Person = Awaited<ReturnType<typeof loadPerson>>;
export type HistoryEntry = Person['history'][number];

type AuditQuery = NonNullable<Parameters<typeof api.api.admin.audit.$get>[0]>['query'];
export const loadAudit = (query: AuditQuery) => call(api.api.admin.audit.$get({ query }));
export type AuditEntry = Awaited<ReturnType<typeof loadAudit>>['items'][number];

export type Role = Person['role'];
export type Tier = Person['tier'];

/** One action on a person, as the Person page's form sends it. */
export type PersonAction =
  | { kind: 'tier'; tier: Tier; reason: string }
  | { kind: 'role'; role: Role; reason: string }
  | { kind: 'disable' | 'enable' | 'sign-out' | 'claim-email'; reason: string };

export function runAction(id: string, a: PersonAction): Promise<Person> {
  const people = api.api.admin.people[':id'];
  const param = { id };
  switch (a.kind) {
    case 'tier':
      return call(people.tier.$post({ param, json: { tier: a.tier, reason: a.reason } }));
    case 'role':
      return call(people.role.$post({ param, json: { role: a.role, reason: a.reason } }));
    case 'disable':
      return call(people.disable.$post({ param, json: { reason: a.reason } }));
    case 'enable':
      return call(people.enable.$post({ param, json: { reason: a.reason } }));
    case 'sign-out':
      return call(people['sign-out'].$post({ param, json: { reason: a.reason } }));
    case 'claim-email':
      return call(people['claim-email'].$post({ param, json: { reason: a.reason } }));
  }
}

export const ROLE_LABELS: Record<Role, string> = { CLIENT: 'Client', COACH: 'Coach', ADMIN: 'Admin' };
export const TIER_LABELS: Record<Tier, string> = { FREE: 'Free', VAGUS_MEMBER: 'Vagus member', PREMIUM: 'Premium' };

/** Where the account comes from: the Skool communities it is known to, or none (made by hand). */
export function sourceOf(p: Pick<PersonSummary, 'skool'>): string {
  const parts = [p.skool.ultra && `Skool Ultra (${p.skool.ultra})`, p.skool.vagus && `Skool Vagus (${p.skool.vagus})`].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'Manual';
}

export const ACTION_LABELS: Record<string, string> = {
  'user.set-tier': 'Set tier',
  'user.set-role': 'Set role',
  'user.disable': 'Disabled account',
  'user.enable': 'Enabled account',
  'user.sign-out-everywhere': 'Signed out everywhere',
  'user.claim-email': 'Sent claim email',
};

/** A history row in words: "Tier: Free → Premium", "Account: disabled". */
export function describeChange(h: Pick<HistoryEntry, 'field' | 'community' | 'from' | 'to'>): string {
  const label = (v: string | null) => (v === null ? '—' : (TIER_LABELS[v as Tier] ?? ROLE_LABELS[v as Role] ?? v.replaceAll('-', ' ')));
  if (h.field === 'account') return `Account: ${label(h.to)}`;
  const what = h.field === 'status' ? `Skool ${h.community === 'ultra' ? 'Ultra' : 'Vagus'} status` : h.field === 'tier' ? 'Tier' : 'Role';
  return h.from === null ? `${what}: ${label(h.to)}` : `${what}: ${label(h.from)} → ${label(h.to)}`;
}

export const personPath = (id: string): string => `/admin/people/${encodeURIComponent(id)}`;

type LatencyQuery = NonNullable<Parameters<(typeof api.api.admin)['agent-latency']['$get']>[0]>['query'];
export const loadLatency = (query: LatencyQuery) => call(api.api.admin['agent-latency'].$get({ query }));
export type LatencyDay = Awaited<ReturnType<typeof loadLatency>>['days'][number];
