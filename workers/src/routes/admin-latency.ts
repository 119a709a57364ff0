/**
 * How fast the AI coach answered, day by day (admins; issue 18): from each session's turn-timing summary
 * (session_turn_timings, sent by the agent-host), so an operator sees a slow day and which stage made it
 * slow. Times only, no person: not audited, like the other admin reads of figures.
 */
import { z } from '@hono/zod-openapi';
import { median } from '@hybrid-coach/shared/crisis-flags';
import { gte } from 'drizzle-orm';
import { sessionTurnTimings } from '../db/schema';
import { ok } from '../lib/errors';
import { authRoute, createApp, okBody } from '../lib/openapi';

const DAY_MS = 86_400_000;
const STAGES = ['endOfUtteranceMs', 'llmFirstTokenMs', 'ttsFirstByteMs', 'totalMs'] as const;
type Stage = (typeof STAGES)[number];

const ms = (description: string) => z.number().int().nullable().openapi({ description });
const Stages = (what: string) =>
  z.object({
    endOfUtteranceMs: ms(`${what}: the client's last speech → the turn declared over`),
    llmFirstTokenMs: ms(`${what}: the model's request → its first token`),
    ttsFirstByteMs: ms(`${what}: the voice's first text → its first audio`),
    totalMs: ms(`${what}: the client's last speech → the reply's first audio`),
  });

const LatencyDay = z
  .object({
    day: z.string().openapi({ description: 'The UTC day (YYYY-MM-DD) the sessions were last measured', example: '2026-12-04' }),
    sessions: z.number().int().openapi({ description: 'Sessions with at least one reply to the client' }),
    turns: z.number().int().openapi({ description: 'Replies to the client measured, all sessions' }),
    p50: Stages('The median of the sessions’ p50s').openapi('AgentLatencyMedians'),
    worst: Stages('The worst single reply of the day').openapi('AgentLatencyWorst'),
  })
  .openapi('AgentLatencyDay');

const LatencyQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(14).openapi({ description: 'UTC days back, today included (1 to 90)' }),
});

const latencyRoute = authRoute({
  method: 'get',
  path: '/agent-latency',
  summary: 'How fast the AI coach answered the client, per UTC day, newest first; days with no measured session are left out (admins)',
  roles: ['ADMIN'],
  request: { query: LatencyQuery },
  responses: { 200: okBody('One entry per day with measured sessions, newest first', z.object({ days: z.array(LatencyDay) })) },
});

type Row = typeof sessionTurnTimings.$inferSelect;
const p50Of: Record<Stage, (r: Row) => number | null> = {
  endOfUtteranceMs: (r) => r.endOfUtteranceP50Ms,
  llmFirstTokenMs: (r) => r.llmFirstTokenP50Ms,
  ttsFirstByteMs: (r) => r.ttsFirstByteP50Ms,
  totalMs: (r) => r.totalP50Ms,
};
const worstOf: Record<Stage, (r: Row) => number | null> = {
  endOfUtteranceMs: (r) => r.endOfUtteranceWorstMs,
  llmFirstTokenMs: (r) => r.llmFirstTokenWorstMs,
  ttsFirstByteMs: (r) => r.ttsFirstByteWorstMs,
  totalMs: (r) => r.totalWorstMs,
};
const known = (values: (number | null)[]) => values.filter((v): v is number => v !== null);

/** One day's sessions as the operator reads them: the median session's p50 and the worst reply, stage by stage. */
function dayOf(day: string, rows: Row[]): z.infer<typeof LatencyDay> {
  const p50 = {} as Record<Stage, number | null>;
  const worst = {} as Record<Stage, number | null>;
  for (const stage of STAGES) {
    const m = median(known(rows.map(p50Of[stage])));
    p50[stage] = m === null ? null : Math.round(m);
    const w = known(rows.map(worstOf[stage]));
    worst[stage] = w.length ? Math.max(...w) : null;
  }
  return { day, sessions: rows.length, turns: rows.reduce((n, r) => n + r.turns, 0), p50, worst };
}

export const adminLatency = createApp().openapi(latencyRoute, async (c) => {
  const { days } = c.req.valid('query');
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const since = new Date(today - (days - 1) * DAY_MS);
  const rows = await c.var.db.select().from(sessionTurnTimings).where(gte(sessionTurnTimings.measuredAt, since)).all();
  const byDay = new Map<string, Row[]>();
  for (const row of rows) {
    const day = row.measuredAt.toISOString().slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), row]);
  }
  const list = [...byDay.entries()].sort(([a], [b]) => (a < b ? 1 : -1)).map(([day, dayRows]) => dayOf(day, dayRows));
  return c.json(ok({ days: list }), 200);
});
