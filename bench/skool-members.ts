/**
 * Skool members as the agent-host's scraper reports them (agent-host/src/skool/contract.ts), made up
 * but shaped like the real pages: emails (some capitalised) on common domains, calendar dates, profile and
 * photo URLs, bios of varied length or none. Deterministic: member i of a community is the same
 * every call, so a second run can send exactly the same list.
 */
import { random } from '../agent-host/dev/skool-replica/data';
import type { Member } from '../agent-host/src/skool/contract';

const FIRST = ['Ava', 'Liam', 'Maya', 'Noah', 'Zoe', 'Ethan', 'Isla', 'Lucas', 'Mia', 'Omar', 'Priya', 'Sven', 'Chloé', 'Diego', 'Hana', 'Kofi'];
const LAST = ['Nguyen', 'Smith', 'García', 'Okafor', 'Müller', 'Rossi', 'Kowalski', 'Tanaka', 'Dubois', 'Silva', 'Cohen', 'Larsen', 'Patel', "O'Brien"];
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'hotmail.co.uk', 'web.de', 'example.org'];
const WORDS =
  'breathwork vagus nerve coach somatic therapist mother runner yoga teacher healing anxiety recovery nervous system regulation polyvagal trauma informed founder mindfulness cold exposure sleep HRV resilience'.split(
    ' ',
  );
const DAY = 24 * 3600 * 1000;
/** One fixed "today" per process, so that end dates relative to it repeat exactly. */
const TODAY = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ascii = (s: string) => s.normalize('NFD').replace(/[^A-Za-z]/g, '');

/**
 * Member `i` of `community`, its email at `domain` when given (else a common mail domain). Ultra
 * (coaches) are paid; Vagus has free and paid members. About one in ten has cancelled, half of those
 * with paid time left.
 */
export function member(community: 'ultra' | 'vagus', i: number, domain?: string): Member {
  const r = random((community === 'ultra' ? 1_000_003 : 2_000_003) * (i + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const first = pick(FIRST);
  const last = pick(LAST);
  const handle = `${ascii(first)}.${ascii(last)}`;
  // Numbered apart per community, so no one is in both and N members are N accounts.
  const n = community === 'ultra' ? i : 100_000 + i;
  const email = `${r() < 0.3 ? handle : handle.toLowerCase()}${n}@${domain ?? pick(DOMAINS)}`;
  const cancelled = r() < 0.1;
  const paid = community === 'ultra' || r() < 0.6;
  const bioWords = Math.floor(r() * 45);
  return {
    email,
    name: `${first} ${last}`,
    paid,
    status: cancelled ? 'cancelled' : 'active',
    joinedAt: day(TODAY - Math.floor(r() * 4 * 365) * DAY),
    membershipEndsAt: cancelled && paid ? day(TODAY + (r() < 0.5 ? 1 : -1) * (1 + Math.floor(r() * 60)) * DAY) : null,
    profileUrl: `https://www.skool.com/@${handle.toLowerCase().replace('.', '-')}-${n}`,
    photoUrl: r() < 0.8 ? `https://assets.skool.com/f/${Math.floor(r() * 2 ** 48).toString(16)}/${Math.floor(r() * 2 ** 48).toString(16)}-md.jpg` : null,
    bio: bioWords < 5 ? null : Array.from({ length: bioWords }, () => pick(WORDS)).join(' '),
  };
}

/** Members 0..count-1 of `community`. */
export function members(community: 'ultra' | 'vagus', count: number, domain?: string): Member[] {
  return Array.from({ length: count }, (_, i) => member(community, i, domain));
}
