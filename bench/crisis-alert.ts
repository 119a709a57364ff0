/**
 * How soon a crisis flag reaches the coaches (issue 16: "the coach portal of a signed-in coach shows
 * the alert within 10 s"), `npx tsx --experimental-websocket bench/crisis-alert.ts` (Node 20 needs the
 * flag for its WebSocket client; Node 22 has it on).
 *
 * Against the real Worker over HTTP (e2e/stack.ts, as `wrangler dev`, a fresh seeded D1, a real
 * livekit-server), with coach portals' staff sockets open as the portal opens them (a ticket, then
 * GET /api/staff/ws):
 *   webhook   the agent-host's signed transcript batch with a crisis line → the `raise` event on every
 *             socket (the flag written, its email queued, the staff desk's push), with 1 and SOCKETS
 *             sockets; the baseline, in the same run, is the same webhook with an ordinary line (the
 *             same batch written, no flag): its answer time.
 *   spoken    a client in a call says a crisis phrase (an rtc-node microphone; the AI the agent-host's
 *             worker on the offline stand-ins) → the `raise` event: end of speech → the stand-in's
 *             final transcript → the agent-host posts it → the webhook above. One room per sample (a
 *             session flags once).
 * Prints a table with ratios against the baseline and writes bench/results/crisis-alert.json. Numbers
 * are reported, never asserted.
 *
 *   HC_BENCH_N (default 30) webhook samples per case; HC_BENCH_SPOKEN (default 3, 0 skips) spoken samples;
 *   HC_BENCH_SOCKETS (default 20) sockets in the wider case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { OFFLINE_CHAT, OFFLINE_PHRASES } from '../agent-host/dev/offline-script';
import { startStandins } from '../agent-host/dev/standins';
import { eventually, TestParticipant } from '../e2e/helpers';
import type { Stack } from '../e2e/stack';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from '../e2e/voice';
import { type Answer, call, dataOf, login, machine, machineLine, printTable, quantile, runBench, writeResults } from './common';

const N = Number(process.env.HC_BENCH_N ?? 30);
const SPOKEN = Number(process.env.HC_BENCH_SPOKEN ?? 3);
const SOCKETS = Number(process.env.HC_BENCH_SOCKETS ?? 20);
/** The figure, printed as met or missed; never asserted. */
const TARGET_MS = 10_000;
const COACH = 'coach@example.com';
const CLIENT = 'premium@example.com';
/** Matches shared/src/crisis.ts ("want to die"). */
const CRISIS_LINE = 'Some days I just want to die.';
const ORDINARY_LINE = 'I slept a little better this week.';

if (typeof WebSocket === 'undefined') throw new Error('No WebSocket client: run with `npx tsx --experimental-websocket bench/crisis-alert.ts` on Node 20');

/**
 * What the bench reads of a staff event (shared/src/staff-events.ts, which the portal parses whole; its
 * zod/mini module wants the DOM types this Node-only bench does not load).
 */
interface StaffEvent {
  type: string;
  action: string;
  sessionId: string;
}

/** Staff sockets, as coach portals open them; every event with the moment it arrived. */
class StaffSockets {
  readonly events: { event: StaffEvent; at: number; socket: number }[] = [];
  private readonly sockets: WebSocket[] = [];

  static async open(stack: Stack, http: Agent, token: string, count: number): Promise<StaffSockets> {
    const desk = new StaffSockets();
    for (let i = 0; i < count; i++) {
      const { ticket } = dataOf<{ ticket: string }>(
        'POST /api/staff/ws-ticket',
        await call(http, stack.apiOrigin, 'POST', '/api/staff/ws-ticket', { headers: { Authorization: `Bearer ${token}` }, body: '' }),
        201,
      );
      const url = new URL(`/api/staff/ws?ticket=${encodeURIComponent(ticket)}`, stack.apiOrigin);
      url.protocol = 'ws:';
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error('the staff socket did not open'));
      });
      ws.onmessage = (m) => {
        const at = Date.now();
        if (typeof m.data !== 'string' || m.data === 'pong') return;
        const event = JSON.parse(m.data) as StaffEvent;
        if (event.type === 'flag') desk.events.push({ event, at, socket: i });
      };
      desk.sockets.push(ws);
    }
    return desk;
  }

  /** When each socket heard `sessionId` raised: the first and the last of them. */
  raised(sessionId: string, timeoutMs = 30_000): Promise<{ first: number; last: number }> {
    return eventually(
      `every staff socket to hear ${sessionId} raised`,
      () => {
        const heard = this.events.filter((e) => e.event.sessionId === sessionId && e.event.action === 'raise');
        if (heard.length < this.sockets.length) return undefined;
        const ats = heard.map((e) => e.at);
        return { first: Math.min(...ats), last: Math.max(...ats) };
      },
      { timeoutMs, intervalMs: 5 },
    );
  }

  close(): void {
    for (const ws of this.sockets) ws.close();
  }
}

/**
 * Sessions of the client, straight into D1 (as the Worker's tests do): the webhook needs one per flag.
 * Finished ones (a client has one live session at most): the agent-host's outbox may deliver a batch late.
 */
async function insertSessions(stack: Stack, clientId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  const now = Date.now();
  await stack.executeSql(
    ids
      .map(
        (id) =>
          `INSERT INTO coaching_sessions (id, room_name, client_id, status, tier_at_start, created_at) VALUES ('${id}', 'session-${id}', '${clientId}', 'COMPLETED', 'PREMIUM', ${now});`,
      )
      .join('\n'),
  );
  return ids;
}

/** The agent-host's signed transcript batch for one session: one client line. */
async function postLine(stack: Stack, http: Agent, sessionId: string, clientId: string, text: string): Promise<Answer> {
  const body = JSON.stringify({
    sessionId,
    roomName: `session-${sessionId}`,
    lines: [
      {
        idempotencyKey: `${sessionId}:client:1`,
        speakerIdentity: clientId,
        role: 'client',
        text,
        startedAt: Date.now() - 2000,
        endedAt: Date.now(),
        heardByAi: true,
      },
    ],
  });
  const headers = await signedHeaders(stack.agentHostSecret, body, `${sessionId}:bench`);
  const answer = await call(http, stack.apiOrigin, 'POST', '/api/webhooks/agent/transcript', { headers, body });
  dataOf('POST /api/webhooks/agent/transcript', answer);
  return answer;
}

interface Row {
  case: string;
  samples: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
}
const row = (label: string, xs: number[]): Row => ({
  case: label,
  samples: xs.length,
  p50Ms: quantile(xs, 0.5),
  p90Ms: quantile(xs, 0.9),
  maxMs: quantile(xs, 1),
});

await runBench(async (stack) => {
  const started = performance.now();
  console.log('Crisis flag → alert on the coaches’ staff sockets, against the local Worker');
  console.log(`${machineLine()}\n`);
  const http = new Agent({ keepAlive: true, maxSockets: 4 });
  const coachToken = await login(http, stack, COACH);
  const [client] = await stack.querySql<{ id: string }>(`SELECT id FROM users WHERE email = '${CLIENT}'`);
  if (!client) throw new Error(`${CLIENT} is not seeded`);
  const rows: Row[] = [];

  // Baseline: the same webhook, an ordinary line (written, no flag). Untimed warm-up first.
  const ordinary = await insertSessions(stack, client.id, N + 5);
  const baseline: number[] = [];
  for (const [i, id] of ordinary.entries()) {
    const answer = await postLine(stack, http, id, client.id, ORDINARY_LINE);
    if (i >= 5) baseline.push(answer.ms);
  }
  rows.push(row('baseline: transcript webhook, ordinary line → 200', baseline));

  for (const count of [1, SOCKETS]) {
    const desk = await StaffSockets.open(stack, http, coachToken, count);
    const flagged = await insertSessions(stack, client.id, N + 2);
    const answers: number[] = [];
    const first: number[] = [];
    const last: number[] = [];
    for (const [i, id] of flagged.entries()) {
      const t0 = Date.now();
      const answer = await postLine(stack, http, id, client.id, CRISIS_LINE);
      const heard = await desk.raised(id);
      if (i < 2) continue; // warm-up
      answers.push(answer.ms);
      first.push(heard.first - t0);
      last.push(heard.last - t0);
    }
    desk.close();
    rows.push(row(`transcript webhook, crisis line → 200 (${count} socket${count > 1 ? 's' : ''})`, answers));
    rows.push(row(`webhook sent → alert on the first of ${count} socket${count > 1 ? 's' : ''}`, first));
    if (count > 1) rows.push(row(`webhook sent → alert on the last of ${count} sockets`, last));
  }

  if (SPOKEN > 0) {
    const standins = await startStandins({ stt: DISTINCT_PHRASES, sttPhrases: [...OFFLINE_PHRASES, CRISIS_LINE], chatScript: OFFLINE_CHAT });
    const outboxDir = mkdtempSync(join(tmpdir(), 'hc-bench-outbox-'));
    const agent = await AgentProcess.startOfflineAt(standins, outboxDir, stack);
    const desk = await StaffSockets.open(stack, http, coachToken, 1);
    const clientToken = await login(http, stack, CLIENT);
    const auth = { Authorization: `Bearer ${clientToken}` };
    const spoken: number[] = [];
    const toFinal: number[] = [];
    try {
      for (let i = 0; i < SPOKEN; i++) {
        const ticket = dataOf<{ sessionId: string; token: string; livekitUrl: string }>(
          'POST /api/rooms',
          await call(http, stack.apiOrigin, 'POST', '/api/rooms', { headers: auth, body: '' }),
          201,
        );
        const participant = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
        const mic = await Microphone.publish(participant.room);
        try {
          // The AI has greeted the client (its line is stored once said): the call is under way.
          await eventually(
            'the AI to greet the client',
            async () => {
              const session = dataOf<{ transcript: { speakerRole: string }[] }>(
                'GET /api/sessions/:id',
                await call(http, stack.apiOrigin, 'GET', `/api/sessions/${ticket.sessionId}`, { headers: auth }),
              );
              return session.transcript.some((l) => l.speakerRole === 'ai');
            },
            { timeoutMs: 90_000, intervalMs: 250, describe: () => agent.output.slice(-5).join('') },
          );
          const end = await mic.sayTimed(CRISIS_LINE);
          const heard = await desk.raised(ticket.sessionId, 60_000);
          const final = standins.stt.sessions
            .flatMap((s) => s.heard)
            .filter((h) => h.transcript && h.finalAt !== undefined && h.finalAt > end && h.finalAt < heard.first)
            .map((h) => h.finalAt!)
            .sort((a, b) => a - b)[0];
          spoken.push(heard.first - end);
          if (final !== undefined) toFinal.push(final - end);
          console.log(`spoken sample ${i + 1}/${SPOKEN}: alert ${heard.first - end} ms after the end of speech`);
        } finally {
          mic.stop();
          await participant.disconnect();
          await call(http, stack.apiOrigin, 'POST', `/api/rooms/${ticket.sessionId}/end`, { headers: auth, body: '' });
        }
      }
    } finally {
      desk.close();
      await agent.stop();
      await standins.close();
      rmSync(outboxDir, { recursive: true, force: true });
    }
    if (toFinal.length > 0) rows.push(row('spoken: end of speech → the stand-in’s final transcript', toFinal));
    rows.push(row('spoken: end of speech → alert on the socket', spoken));
  }
  http.destroy();

  const base = rows[0]!.p50Ms;
  printTable(
    ['case', 'samples', 'p50 ms', 'p90 ms', 'max ms', 'p50 vs baseline', `max vs ${TARGET_MS / 1000} s`],
    rows.map((r) => [
      r.case,
      String(r.samples),
      r.p50Ms.toFixed(0),
      r.p90Ms.toFixed(0),
      r.maxMs.toFixed(0),
      `${(r.p50Ms / base).toFixed(2)}×`,
      r.case.includes('alert') ? (r.maxMs <= TARGET_MS ? 'met' : 'MISSED') : '',
    ]),
    new Set([1, 2, 3, 4, 5]),
  );
  console.log(
    `\nTimes from this process's clock: a webhook from sending it; a spoken line from its last audible sample leaving the microphone.` +
      `\nThe baseline is the same signed webhook with an ordinary line (the batch written, no flag, nothing pushed).`,
  );
  const file = writeResults('crisis-alert', {
    measuredAt: new Date().toISOString(),
    machine: machine(),
    target: { runtime: 'wrangler unstable_startWorker (local workerd, as wrangler dev)', apiOrigin: stack.apiOrigin, alertWithinMs: TARGET_MS },
    samplesPerCase: N,
    sockets: SOCKETS,
    baseline: rows[0]!.case,
    rows,
  });
  console.log(`\nWrote ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
});
