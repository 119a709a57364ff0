/**
 * The replica's members: generated from a fixed seed, so every run shows the same people, with the
 * awkward cases a real community has (mixed-case and missing emails, duplicate and non-ASCII names,
 * cancelled members whose paid period is still running or already over, members without photo or bio).
 * End dates are relative to `today`, so "still running" stays true whenever the tests run.
 */
import type { Community } from '../../src/skool/contract';

export interface ReplicaMember {
  id: string;
  /** The profile lives at `/@<handle>`. */
  handle: string;
  name: string;
  /** Exactly as the card shows it (case kept); null when Skool shows none. */
  email: string | null;
  paid: boolean;
  status: 'active' | 'cancelled';
  /** `YYYY-MM-DD`. */
  joinedAt: string;
  /** `YYYY-MM-DD`; only for cancelled members. */
  membershipEndsAt: string | null;
  hasPhoto: boolean;
  bio: string | null;
  level: number;
}

/** How many members each community has unless told otherwise: Vagus spans two 500-member chunks. */
export const DEFAULT_COUNTS: Record<Community, number> = { ultra: 140, vagus: 560 };

const FIRST = [
  'Sarah',
  'James',
  'Maria',
  'David',
  'Emma',
  'Michael',
  'Olivia',
  'Daniel',
  'Sophie',
  'Lucas',
  'Chloe',
  'Noah',
  'Amelia',
  'Ethan',
  'Grace',
  'Liam',
  'Hannah',
  'Benjamin',
  'Isla',
  'Samuel',
  'Priya',
  'Kenji',
  'Fatima',
  'Mateo',
  'Ingrid',
  'Tomasz',
  'Aisha',
  'Connor',
  'Yuki',
  'Rafael',
];
const LAST = [
  'Johnson',
  'Smith',
  'Garcia',
  'Brown',
  'Wilson',
  'Taylor',
  'Anderson',
  'Thomas',
  'Moore',
  'Martin',
  'Lee',
  'Walker',
  'Hall',
  'Young',
  'King',
  'Wright',
  'Lopez',
  'Hill',
  'Scott',
  'Green',
  'Patel',
  'Tanaka',
  'Haddad',
  'Rossi',
  'Nilsson',
  'Kowalski',
  'Okafor',
  'Murphy',
  'Sato',
  'Costa',
];
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'hey.com'];
const BIOS = [
  'Breathwork and nervous system regulation. Mum of two.',
  'Recovering from burnout, one exhale at a time.',
  'Physio by day, vagus nerve nerd by night.',
  'Here to learn how to calm my anxiety without meds.',
  'Coach · Yoga teacher · Cold water swimmer',
  'Trauma-informed somatic practitioner (she/her)',
  'Learning to listen to my body again.',
];

/** Hand-placed members: each exercises one thing the scraper must get right. */
interface Special {
  at: number;
  name: string;
  email: string | null;
  paid?: boolean;
  /** Days from today to the end of a cancelled member's paid period. */
  cancelledEndsInDays?: number;
  hasPhoto?: boolean;
  bio?: string | null;
}

const SPECIALS: Record<Community, Special[]> = {
  ultra: [
    { at: 3, name: 'Zoë Ångström', email: 'zoe.angstrom@example.se' },
    { at: 17, name: '李雷', email: 'li.lei@example.cn', bio: '教练 · 呼吸训练' },
    { at: 42, name: 'Sarah Johnson', email: 'sarah.johnson@gmail.com' },
    { at: 43, name: 'Sarah Johnson', email: 'S.Johnson.Coaching@Outlook.com' },
    { at: 61, name: 'Grace Hall', email: 'grace.hall@hey.com', cancelledEndsInDays: 21 },
    { at: 77, name: 'Tomasz Kowalski', email: 'tomasz.k@proton.me', cancelledEndsInDays: -30 },
    { at: 99, name: 'Mixed Case', email: 'Mixed.Case@Example.COM' },
    { at: 120, name: 'Ólafur Þórðarson', email: 'olafur@example.is', hasPhoto: false, bio: null },
  ],
  vagus: [
    { at: 0, name: 'Zoë Ångström', email: 'zoe.angstrom@example.se', paid: true },
    { at: 5, name: "Mary-Jane O'Connor", email: 'mj.oconnor+skool@Gmail.com', bio: 'I <3 breathwork & long walks' },
    { at: 29, name: 'Ghost Member', email: null, hasPhoto: false, bio: null },
    { at: 30, name: 'Sarah Johnson', email: 'sarah.j@yahoo.com', paid: false },
    { at: 31, name: 'Sarah Johnson', email: 'SARAH.JOHNSON@ICLOUD.COM', paid: true },
    { at: 88, name: '李雷', email: 'Li.Lei@Example.CN', paid: true },
    { at: 150, name: 'José Ñúñez-García', email: 'jose.nunez@example.es', paid: true },
    { at: 233, name: 'Ana 🌿 Silva', email: 'ana.silva@example.pt', paid: true },
    { at: 301, name: 'Hannah Lee', email: 'hannah.lee@gmail.com', paid: true, cancelledEndsInDays: 12 },
    { at: 302, name: 'Kenji Sato', email: 'kenji.sato@icloud.com', paid: true, cancelledEndsInDays: -3 },
    { at: 444, name: 'Fatima Haddad', email: 'Fatima.Haddad@Proton.me', paid: false },
    { at: 555, name: 'Last Of Vagus', email: 'last.of.vagus@example.com', paid: true },
  ],
};

/** A small, fast, seedable PRNG (mulberry32): the same seed always gives the same members. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `YYYY-MM-DD` of a UTC day. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function slug(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-');
  return ascii || 'member';
}

/** The members of one community, in the order the members page lists them. */
export function generateMembers(community: Community, count: number, today: Date): ReplicaMember[] {
  const rand = random(community === 'ultra' ? 0x0c0ac4 : 0x7a605);
  const todayMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const specials = new Map(SPECIALS[community].filter((s) => s.at < count).map((s) => [s.at, s]));
  const joinedFrom = Date.UTC(2021, 0, 1);
  const members: ReplicaMember[] = [];

  for (let i = 0; i < count; i++) {
    const first = pick(rand, FIRST);
    const last = pick(rand, LAST);
    const special = specials.get(i);
    const name = special?.name ?? `${first} ${last}`;
    const domain = pick(rand, DOMAINS);
    // A few people type their address with capitals; Skool shows it as typed.
    const local = rand() < 0.1 ? `${first}.${last}${i}` : `${first.toLowerCase()}.${last.toLowerCase()}${i}`;
    const email = special ? special.email : `${local}@${domain}`;
    const paid = special?.paid ?? (community === 'ultra' ? rand() < 0.9 : rand() < 0.6);
    const randomCancel = !special && rand() < 0.04;
    const endsInDays = special?.cancelledEndsInDays ?? (randomCancel ? Math.floor(rand() * 90) - 45 : undefined);
    const joinedAt = isoDay(joinedFrom + Math.floor(rand() * 1400) * DAY_MS);
    const hasPhoto = special?.hasPhoto ?? rand() < 0.85;
    const bio = special && special.bio !== undefined ? special.bio : rand() < 0.7 ? pick(rand, BIOS) : null;
    const id = `${community.slice(0, 1)}${(i + 1).toString(36).padStart(4, '0')}${Math.floor(rand() * 1e6).toString(36)}`;
    members.push({
      id,
      handle: `${slug(name)}-${(community === 'ultra' ? 1000 : 5000) + i * 7}`,
      name,
      email,
      paid,
      status: endsInDays === undefined ? 'active' : 'cancelled',
      joinedAt,
      membershipEndsAt: endsInDays === undefined ? null : isoDay(todayMs + endsInDays * DAY_MS),
      hasPhoto,
      bio,
      level: 1 + Math.floor(rand() * 9),
    });
  }
  return members;
}
