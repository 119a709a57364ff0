import { ControlAckMessage, SessionRef, SessionSummaryMessage, TranscriptBatch, TurnTimingsMessage } from '@hybrid-coach/shared/agent-contract';
import { crisisMatch } from '@hybrid-coach/shared/crisis';
import { log } from '@hybrid-coach/shared/log';
import { verifySigned } from '@hybrid-coach/shared/signing';
import { SyncMessage } from '@hybrid-coach/shared/skool-sync-contract';
import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { AppEnv } from '../app-env';
import { coachingSessions, erasedSessions, messages, sessionTurnTimings, users } from '../db/schema';
import { agentContext } from '../lib/agent-context';
import { agentHostSecret } from '../lib/config';
import { alertStaff, FLAG_ALERT_REASON, flagRaiseWrites } from '../lib/crisis-flags';
import { AppError, ok } from '../lib/errors';
import { roomNameFor, sessionIdOf, webhookReceiver } from '../lib/livekit';
import { fieldsOf } from '../lib/openapi';
import { sessionRoom } from '../lib/rooms';
import { storeSessionSummary } from '../lib/session-summary';
import { applyFinal, stageChunk } from '../lib/skool-sync';
import { recordProgress } from '../lib/skool-sync-runs';
import { kickOutbox } from '../mail/outbox';
import { flagMailWrites } from '../mail/staff-mail';

const FORWARDED = new Set(['room_started', 'room_finished', 'participant_joined', 'participant_left', 'track_published']);
const AGENT_KIND = 4; // livekit.ParticipantInfo.Kind.AGENT

/** A chunk of 500 members is ~200 KiB: this route alone takes bodies up to 1 MiB. */
export const SKOOL_SYNC_MAX_BODY = 1024 * 1024;

/** Reads a body signed by the agent-host (401 if not), parsed and validated (400 if not). */
async function signedJson<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  const raw = await c.req.text();
  const failure = await verifySigned(agentHostSecret(c.env), raw, c.req.raw.headers);
  if (failure) throw new AppError('UNAUTHORIZED', `Signature ${failure}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new AppError('VALIDATION_ERROR', 'Malformed JSON', { fields: { body: 'not JSON' } });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const fields = fieldsOf(result.error.issues);
    // Which fields broke the contract, never their values (transcript text).
    log('warn', 'agent-host message refused: it does not match the contract', { requestId: c.get('requestId'), path: c.req.path, fields });
    throw new AppError('VALIDATION_ERROR', 'Invalid message', { fields });
  }
  return result.data;
}

/**
 * The agent-host speaks of the session its job's room belongs to, and of no other: a job dispatched
 * into one room with metadata naming another session (a forged dispatch) is refused here too, even if
 * the agent-host failed to notice.
 */
function assertOwnRoom(c: Context<AppEnv>, ref: { sessionId: string; roomName: string }): void {
  if (ref.roomName !== roomNameFor(ref.sessionId)) {
    log('warn', 'agent-host call refused: the session is not the room’s', {
      requestId: c.get('requestId'),
      sessionId: ref.sessionId,
      roomName: ref.roomName.slice(0, 128),
    });
    throw new AppError('FORBIDDEN', 'This session does not belong to the room the agent is in');
  }
}

/**
 * The session's client was erased (lib/erasure.ts): a late delivery from the agent-host's outbox is
 * answered 200 and dropped, every time, so the outbox removes it at once instead of retrying a 404 for a
 * day; nothing about the session is stored again.
 */
async function wasErased(c: Context<AppEnv>, sessionId: string): Promise<boolean> {
  const row = await c.var.db.select({ id: erasedSessions.sessionId }).from(erasedSessions).where(eq(erasedSessions.sessionId, sessionId)).get();
  if (row) log('info', 'agent-host delivery for an erased session dropped', { requestId: c.get('requestId'), sessionId, path: c.req.path });
  return row !== undefined;
}

/** Webhooks from LiveKit and the agent-host, verified before anything is read or changed. */
export const webhooks = new Hono<AppEnv>()
  /**
   * Final transcript lines from the agent-host (every human and the AI). Stored once per
   * idempotency key, then passed to the session's live portals; a redelivery changes nothing.
   */
  .post('/agent/transcript', async (c) => {
    const batch = await signedJson(c, TranscriptBatch);
    assertOwnRoom(c, batch);
    const { sessionId, lines } = batch;
    const db = c.var.db;
    const session = await db.select({ id: coachingSessions.id }).from(coachingSessions).where(eq(coachingSessions.id, sessionId)).get();
    if (!session) {
      if (await wasErased(c, sessionId)) return c.json(ok({ stored: 0, duplicates: lines.length }), 200);
      throw new AppError('NOT_FOUND', 'No such session');
    }
    const inserted = await db
      .insert(messages)
      .values(
        lines.map((l) => ({
          sessionId,
          speakerIdentity: l.speakerIdentity,
          speakerRole: l.role,
          text: l.text,
          heardByAi: l.heardByAi,
          spokenAt: new Date(l.startedAt),
          endedAt: l.endedAt === null ? null : new Date(l.endedAt),
          idempotencyKey: l.idempotencyKey,
        })),
      )
      .onConflictDoNothing({ target: messages.idempotencyKey })
      .returning({
        id: messages.id,
        speakerIdentity: messages.speakerIdentity,
        speakerRole: messages.speakerRole,
        text: messages.text,
        heardByAi: messages.heardByAi,
        spokenAt: messages.spokenAt,
      });
    if (inserted.length > 0) {
      await sessionRoom(c.env, sessionId).publishTranscript(inserted.map((m) => ({ ...m, spokenAt: m.spokenAt.getTime() })));
    }
    // Talk of self-harm or crisis flags the session for a coach (the first time only).
    const concern = inserted
      .filter((m) => m.speakerRole === 'client')
      .map((m) => crisisMatch(m.text))
      .find((w) => w !== null);
    if (concern) {
      const flag = { flaggedAt: new Date(), flagReason: `The client said “${concern}”` };
      const session = await db
        .select({ id: coachingSessions.id, coachId: coachingSessions.coachId, clientName: users.displayName })
        .from(coachingSessions)
        .leftJoin(users, eq(users.id, coachingSessions.clientId))
        .where(eq(coachingSessions.id, sessionId))
        .get();
      // The flag (with its state, issue 16) and its emails to the coaches on duty in one batch; the emails
      // stand only if this raised it.
      const raisedHere = sql`EXISTS (SELECT 1 FROM ${coachingSessions} WHERE ${coachingSessions.id} = ${sessionId} AND ${coachingSessions.flaggedAt} = ${flag.flaggedAt.getTime()})`;
      const [raised] = await db.batch([
        db
          .update(coachingSessions)
          .set(flag)
          .where(and(eq(coachingSessions.id, sessionId), isNull(coachingSessions.flaggedAt)))
          .returning({ id: coachingSessions.id }),
        ...flagRaiseWrites(db, sessionId, { at: flag.flaggedAt, reason: flag.flagReason }),
        ...(session ? await flagMailWrites(c.env, db, session, raisedHere, flag.flaggedAt) : []),
      ]);
      if (raised.length > 0) {
        kickOutbox(c.env, c.executionCtx);
        await sessionRoom(c.env, sessionId).flag({ at: flag.flaggedAt.getTime(), reason: flag.flagReason });
        // The live alert in every signed-in coach's portal (the staff desk), beside the emails.
        await alertStaff(
          c.env,
          {
            type: 'flag',
            action: 'raise',
            sessionId,
            clientName: session?.clientName ?? '',
            // Every signed-in coach hears this: no quote (a portal that may read it fetches the flag).
            reason: FLAG_ALERT_REASON,
            state: 'OPEN',
            raisedAt: flag.flaggedAt.getTime(),
            owner: null,
            at: flag.flaggedAt.getTime(),
          },
          c.get('requestId'),
        );
        log('warn', 'session flagged for a coach', { requestId: c.get('requestId'), sessionId });
      }
    }
    log('info', 'transcript lines stored', { requestId: c.get('requestId'), sessionId, received: lines.length, stored: inserted.length });
    return c.json(ok({ stored: inserted.length, duplicates: lines.length - inserted.length }), 200);
  })
  /** The agent applied a coach-mute state (hc.control version): the room stops resending it. */
  .post('/agent/control-ack', async (c) => {
    const ack = await signedJson(c, ControlAckMessage);
    assertOwnRoom(c, ack);
    const { sessionId, version } = ack;
    const session = await c.var.db.select({ id: coachingSessions.id }).from(coachingSessions).where(eq(coachingSessions.id, sessionId)).get();
    if (!session) {
      if (await wasErased(c, sessionId)) return c.json(ok({ acked: null, current: 0 }), 200);
      throw new AppError('NOT_FOUND', 'No such session');
    }
    return c.json(ok(await sessionRoom(c.env, sessionId).ackControl(version)), 200);
  })
  /**
   * What the agent needs when it joins (or rejoins) a session: the client's context, the coach, the
   * coach's mute state with its control version, the timer. Signed like every agent-host call.
   */
  .post('/agent/context', async (c) => {
    const ref = await signedJson(c, SessionRef);
    assertOwnRoom(c, ref);
    const { sessionId } = ref;
    return c.json(ok(await agentContext(c.env, c.var.db, sessionRoom(c.env, sessionId), sessionId)), 200);
  })
  /** The model's summary of a finished session: stored with the assembled transcript; the profile learns from it. */
  .post('/agent/summary', async (c) => {
    const m = await signedJson(c, SessionSummaryMessage);
    assertOwnRoom(c, m);
    if (await wasErased(c, m.sessionId)) return c.json(ok({ transcriptLines: 0, facts: 0 }), 200);
    const stored = await storeSessionSummary(c.var.db, m);
    log('info', 'session summary stored', { requestId: c.get('requestId'), sessionId: m.sessionId, ...stored });
    return c.json(ok(stored), 200);
  })
  /**
   * How fast the AI answered the client so far (times only): one row per session, replaced only by a
   * summary measured later (then by more turns), so an older one redelivered by the outbox changes nothing.
   */
  .post('/agent/turn-timings', async (c) => {
    const m = await signedJson(c, TurnTimingsMessage);
    assertOwnRoom(c, m);
    const db = c.var.db;
    const session = await db.select({ id: coachingSessions.id }).from(coachingSessions).where(eq(coachingSessions.id, m.sessionId)).get();
    if (!session) {
      if (await wasErased(c, m.sessionId)) return c.json(ok({ stored: false }), 200);
      throw new AppError('NOT_FOUND', 'No such session');
    }
    const figures = {
      jobId: m.jobId,
      measuredAt: new Date(m.measuredAt),
      turns: m.turns,
      endOfUtteranceP50Ms: m.p50.endOfUtteranceMs,
      endOfUtteranceWorstMs: m.worst.endOfUtteranceMs,
      llmFirstTokenP50Ms: m.p50.llmFirstTokenMs,
      llmFirstTokenWorstMs: m.worst.llmFirstTokenMs,
      ttsFirstByteP50Ms: m.p50.ttsFirstByteMs,
      ttsFirstByteWorstMs: m.worst.ttsFirstByteMs,
      totalP50Ms: m.p50.totalMs,
      totalWorstMs: m.worst.totalMs,
    };
    const t = sessionTurnTimings;
    const stored = await db
      .insert(t)
      .values({ sessionId: m.sessionId, ...figures })
      .onConflictDoUpdate({
        target: t.sessionId,
        set: figures,
        setWhere: or(gt(sql`excluded.measured_at`, t.measuredAt), and(eq(sql`excluded.measured_at`, t.measuredAt), gt(sql`excluded.turns`, t.turns))),
      })
      .returning({ sessionId: t.sessionId });
    log('info', 'agent turn timings stored', { requestId: c.get('requestId'), sessionId: m.sessionId, turns: m.turns, stored: stored.length > 0 });
    return c.json(ok({ stored: stored.length > 0 }), 200);
  })
  .post(
    '/skool-sync',
    bodyLimit({
      maxSize: SKOOL_SYNC_MAX_BODY,
      onError: () => {
        throw new AppError('PAYLOAD_TOO_LARGE', 'A sync chunk must be at most 1 MiB');
      },
    }),
    async (c) => {
      const m = await signedJson(c, SyncMessage);
      const db = c.var.db;
      if (m.kind === 'progress') return c.json(ok(await recordProgress(db, m)), 200);
      if (m.kind === 'members') {
        const r = await stageChunk(db, { runId: m.runId, community: m.community, index: m.chunk.index, count: m.chunk.count, members: m.members });
        return c.json(ok(r), 200);
      }
      const outcome = await applyFinal(c.env, db, m.runId, m);
      if (outcome.status !== 'ALREADY_DONE') kickOutbox(c.env, c.executionCtx);
      return c.json(ok(outcome), 200);
    },
  )
  .post('/livekit', async (c) => {
    const raw = await c.req.text();
    let event: Awaited<ReturnType<ReturnType<typeof webhookReceiver>['receive']>>;
    try {
      event = await webhookReceiver(c.env).receive(raw, c.req.header('Authorization'));
    } catch {
      throw new AppError('UNAUTHORIZED', 'Webhook signature is missing or invalid');
    }
    const sessionId = event.room?.name ? sessionIdOf(event.room.name) : null;
    if (!sessionId || !FORWARDED.has(event.event)) return c.json(ok({ applied: false }), 200);

    const p = event.participant;
    const state = await sessionRoom(c.env, sessionId).onLiveKitEvent({
      id: event.id,
      event: event.event,
      createdAtMs: Number(event.createdAt) * 1000,
      ...(p
        ? {
            participant: {
              sid: p.sid,
              identity: p.identity,
              name: p.name,
              isAgent: Number(p.kind) === AGENT_KIND,
              attributes: { ...p.attributes },
            },
          }
        : {}),
      ...(event.track ? { trackSid: event.track.sid } : {}),
    });
    log('info', 'livekit webhook', { requestId: c.get('requestId'), sessionId, event: event.event, known: state !== null });
    return c.json(ok({ applied: state !== null }), 200);
  });
