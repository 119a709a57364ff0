/**
 * A local replica of Skool on loopback (node:http, no framework): a login form that sets a session
 * cookie, and per community a members page that loads more members by infinite scroll, as the real
 * site does. Tests point the scraper at it; it can be told to misbehave (short list, slow pages,
 * a broken community, other accepted credentials) or to hold its later pages until released.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COMMUNITIES, type Community, type Member } from '../../src/skool/contract';
import { DEFAULT_COUNTS, generateMembers, isoDay, type ReplicaMember } from './data';
import { avatarSvg, errorPage, escapeHtml, homePage, loginPage, memberCard, membersPage } from './pages';

export interface ReplicaOptions {
  /** The credentials the login form accepts. */
  email?: string;
  password?: string;
  /** Members per community (defaults: DEFAULT_COUNTS). */
  counts?: Partial<Record<Community, number>>;
  /** Serve only this fraction of a community's members, as if Skool returned a short list. */
  servedFraction?: Partial<Record<Community, number>>;
  /** Delay every page, form post and list fetch by this many milliseconds. */
  delayMs?: number;
  /** Communities whose members page answers 500. */
  brokenCommunities?: Community[];
  /** Members per page of the list (the first page is in the HTML, later ones are fetched on scroll). */
  pageSize?: number;
  /** Put before every member's email: two replicas with other tags list different people. */
  emailTag?: string;
  /** The day that decides whether a cancelled member's end date is ahead or past. */
  today?: Date;
  port?: number;
  host?: string;
}

export interface SkoolReplica {
  /** Origin, e.g. `http://127.0.0.1:41234`. */
  url: string;
  credentials: { email: string; password: string };
  membersUrl(community: Community): string;
  /** Every member of a community, including those a short list leaves out. */
  members: Record<Community, ReplicaMember[]>;
  /** The members the list actually shows. */
  served(community: Community): ReplicaMember[];
  /** What a correct scrape of the list gives, in the contract's shape. */
  expectedMembers(community: Community): Member[];
  stats: { logins: number; failedLogins: number; listFetches: number };
  /**
   * Holds every later page of every list (the fetches on scroll) until `release`: a test sees a scrape
   * part-way, waiting on state (`waiting` counts the fetches held now), never on a sleep.
   */
  pages: { hold(): void; release(): void; readonly waiting: number };
  close(): Promise<void>;
}

export const REPLICA_CREDENTIALS = { email: 'owner@replica.skool.test', password: 'replica-password-1' } as const;

const SESSION_COOKIE = 'auth_token';
const MAX_FORM_BYTES = 16 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startReplica(options: ReplicaOptions = {}): Promise<SkoolReplica> {
  const credentials = { email: options.email ?? REPLICA_CREDENTIALS.email, password: options.password ?? REPLICA_CREDENTIALS.password };
  const today = options.today ?? new Date();
  const todayIso = isoDay(today.getTime());
  const pageSize = options.pageSize ?? 30;
  const delayMs = options.delayMs ?? 0;
  const broken = new Set(options.brokenCommunities ?? []);
  const tag = options.emailTag ?? '';
  const members = Object.fromEntries(
    COMMUNITIES.map((c) => [
      c,
      generateMembers(c, options.counts?.[c] ?? DEFAULT_COUNTS[c], today).map((m) => (m.email && tag ? { ...m, email: `${tag}${m.email}` } : m)),
    ]),
  ) as Record<Community, ReplicaMember[]>;
  const served = (c: Community): ReplicaMember[] => {
    const fraction = options.servedFraction?.[c] ?? 1;
    return members[c].slice(0, Math.ceil(members[c].length * fraction));
  };
  const sessions = new Set<string>();
  let held: (() => void)[] | null = null;
  const gate = () => (held ? new Promise<void>((resolve) => held?.push(resolve)) : Promise.resolve());
  const stats = { logins: 0, failedLogins: 0, listFetches: 0 };
  let origin = '';

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
    res.end(body);
  };

  const signedIn = (req: IncomingMessage): boolean => {
    const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim());
    return cookies.some((c) => c.startsWith(`${SESSION_COOKIE}=`) && sessions.has(c.slice(SESSION_COOKIE.length + 1)));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://replica');
    const path = url.pathname;

    if (req.method === 'GET' && path.startsWith('/assets/f/')) {
      const id = path.split('/')[3] ?? '';
      const member = COMMUNITIES.flatMap((c) => members[c]).find((m) => m.id === id);
      if (!member?.hasPhoto) return send(res, 404, errorPage(404));
      return send(res, 200, avatarSvg(member.name), { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'max-age=86400' });
    }

    if (delayMs > 0) await sleep(delayMs);

    if (path === '/login') {
      const next = safeNext(url.searchParams.get('next'));
      if (req.method === 'GET') return send(res, 200, loginPage({ error: null, email: '', next }));
      if (req.method !== 'POST') return send(res, 405, errorPage(405));
      const form = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
      const email = form.get('email') ?? '';
      const password = form.get('password') ?? '';
      if (email.trim().toLowerCase() !== credentials.email.toLowerCase() || password !== credentials.password) {
        stats.failedLogins += 1;
        return send(res, 401, loginPage({ error: 'The email or password you entered is incorrect.', email, next }));
      }
      stats.logins += 1;
      const token = randomBytes(24).toString('base64url');
      sessions.add(token);
      res.writeHead(302, { Location: next, 'Set-Cookie': `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax` });
      return void res.end();
    }

    if (req.method !== 'GET') return send(res, 405, errorPage(405));

    const membersRoute = /^\/(ultra|vagus)\/-\/members\/?$/.exec(path);
    const isFetch = req.headers['x-requested-with'] === 'XMLHttpRequest';
    if (!signedIn(req)) {
      if (isFetch) return send(res, 401, JSON.stringify({ error: 'unauthorized' }), { 'Content-Type': 'application/json' });
      res.writeHead(302, { Location: `/login?next=${encodeURIComponent(path + url.search)}` });
      return void res.end();
    }

    if (path === '/') return send(res, 200, homePage(COMMUNITIES));

    if (membersRoute) {
      const community = membersRoute[1] as Community;
      if (broken.has(community)) return send(res, 500, errorPage(500));
      const page = Math.max(1, Number.parseInt(url.searchParams.get('page') ?? '1', 10) || 1);
      const list = served(community);
      const cards = list
        .slice((page - 1) * pageSize, page * pageSize)
        .map((m) => memberCard(m, community, todayIso))
        .join('\n');
      if (isFetch) {
        await gate();
        stats.listFetches += 1;
        return send(res, 200, cards);
      }
      return send(res, 200, membersPage({ community, cards, page, total: list.length }));
    }

    const profile = /^\/@([\w-]+)$/.exec(path);
    const member = profile && COMMUNITIES.flatMap((c) => members[c]).find((m) => m.handle === profile[1]);
    if (member) return send(res, 200, `<!DOCTYPE html><meta charset="utf-8"><title>${escapeHtml(member.name)}</title><h1>${escapeHtml(member.name)}</h1>`);

    return send(res, 404, errorPage(404));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, errorPage(500));
      else res.destroy(err instanceof Error ? err : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url: origin,
    credentials,
    membersUrl: (c) => `${origin}/${c}/-/members`,
    members,
    served,
    expectedMembers: (c) =>
      served(c).map((m) => ({
        email: m.email?.trim() ?? null,
        name: m.name,
        paid: m.paid,
        status: m.status,
        joinedAt: m.joinedAt,
        membershipEndsAt: m.membershipEndsAt,
        profileUrl: `${origin}/@${m.handle}`,
        photoUrl: m.hasPhoto ? `${origin}/assets/f/${m.id}/avatar.svg` : null,
        bio: m.bio,
      })),
    stats,
    pages: {
      hold: () => {
        held ??= [];
      },
      release: () => {
        const waiting = held ?? [];
        held = null;
        for (const go of waiting) go();
      },
      get waiting() {
        return held?.length ?? 0;
      },
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Only a local path: never an open redirect. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('form too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
