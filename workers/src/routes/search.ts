/**
 * Transcript search for coaches: SQLite full-text search (FTS5, d1/migrations/0006) over the lines of
 * the coach's own sessions (admins: all), best matches first, each with its matches marked. An admin's
 * hit in a session they were not in is a transcript read: one audit row per such session, before the answer.
 */
import { z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { auditInsert } from '../lib/audit';
import { AppError, ok } from '../lib/errors';
import { authRoute, COACHES, createApp, limitQuery, okBody } from '../lib/openapi';

/** Where a match starts and ends inside snippet(): control characters no transcript line contains. */
const OPEN = '\u0002';
const CLOSE = '\u0003';

const Hit = z
  .object({
    messageId: z.string(),
    sessionId: z.string(),
    clientId: z.string(),
    clientName: z.string(),
    speakerRole: z.enum(['client', 'coach', 'ai']),
    kind: z.enum(['speech', 'whisper']),
    spokenAt: z.string().datetime(),
    snippet: z
      .array(z.object({ text: z.string(), match: z.boolean() }))
      .openapi({ description: 'The line (cut around the matches when long) in pieces; match: true pieces are to be highlighted' }),
  })
  .openapi('TranscriptSearchHit');

const searchRoute = authRoute({
  method: 'get',
  path: '/transcripts',
  summary: 'Full-text search over the transcripts of the coach’s own sessions',
  roles: COACHES,
  request: {
    query: z.object({
      q: z.string().trim().min(1).max(200).openapi({ description: 'Words to find (all of them; the last may be the start of a word)' }),
      limit: limitQuery(100, 20),
    }),
  },
  responses: { 200: okBody('Best matches first', z.array(Hit)) },
});

/**
 * The words of a search box as an FTS5 query: each word quoted (so no input is FTS5 syntax), all of
 * them required, the last one also as a prefix while it is being typed.
 */
export function ftsQuery(q: string): string | null {
  const words = q.match(/[\p{L}\p{N}]+/gu)?.slice(0, 12) ?? [];
  if (words.length === 0) return null;
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' AND ');
}

/** snippet() output with OPEN/CLOSE marks → pieces, so a portal highlights without parsing HTML. */
export function pieces(marked: string): { text: string; match: boolean }[] {
  const out: { text: string; match: boolean }[] = [];
  for (const [i, part] of marked.split(new RegExp(`[${OPEN}${CLOSE}]`)).entries()) if (part) out.push({ text: part, match: i % 2 === 1 });
  return out;
}

interface Row {
  id: string;
  session_id: string;
  client_id: string;
  coach_id: string | null;
  client_name: string;
  speaker_role: 'client' | 'coach' | 'ai';
  kind: 'speech' | 'whisper';
  spoken_at: number;
  marked: string;
}

export const search = createApp().openapi(searchRoute, async (c) => {
  const user = c.get('user');
  const { q, limit } = c.req.valid('query');
  const match = ftsQuery(q);
  if (!match) throw new AppError('VALIDATION_ERROR', 'Give at least one word to search for', { fields: { q: 'no words' } });
  const everyone = user.role === 'ADMIN' ? 1 : 0;
  const rows = await c.var.db.all<Row>(sql`
    SELECT m.id, m.session_id, s.client_id, s.coach_id, u.display_name AS client_name, m.speaker_role, m.kind, m.spoken_at,
           snippet(messages_fts, 0, ${OPEN}, ${CLOSE}, '…', 24) AS marked
    FROM messages_fts
    JOIN messages m ON m.rowid = messages_fts.rowid
    JOIN coaching_sessions s ON s.id = m.session_id
    JOIN users u ON u.id = s.client_id
    WHERE messages_fts MATCH ${match} AND (${everyone} = 1 OR s.coach_id = ${user.id})
    ORDER BY rank
    LIMIT ${limit}`);
  // Reading lines of a session one was not in is on record (who, which session, when), as GET /api/sessions/{id} does.
  const others = new Map<string, number>();
  for (const r of rows) if (r.coach_id !== user.id && r.client_id !== user.id) others.set(r.session_id, (others.get(r.session_id) ?? 0) + 1);
  const reads = [...others].map(([sessionId, lines]) =>
    auditInsert(c.var.db, {
      actorId: user.id,
      action: 'transcript.read',
      target: { type: 'session', id: sessionId },
      after: { lines, via: 'search', as: 'admin' },
      requestId: c.get('requestId'),
    }),
  );
  const [first, ...rest] = reads;
  if (first) await c.var.db.batch([first, ...rest]);
  return c.json(
    ok(
      rows.map((r) => ({
        messageId: r.id,
        sessionId: r.session_id,
        clientId: r.client_id,
        clientName: r.client_name,
        speakerRole: r.speaker_role,
        kind: r.kind,
        spokenAt: new Date(r.spoken_at).toISOString(),
        snippet: pieces(r.marked),
      })),
    ),
    200,
  );
});
