import { DurableObject } from 'cloudflare:workers';
import type { DispatchMetadata } from '@hybrid-coach/shared/agent-contract';
import { describeError, log } from '@hybrid-coach/shared/log';
import type { RoomEvent, RoomSnapshot } from '@hybrid-coach/shared/room-events';
import {
  type ControlPacket,
  PACKET_TOPICS,
  type PacketBodies,
  type PacketTopic,
  packetKey,
  sealPacket,
  type TimerPacket,
} from '@hybrid-coach/shared/room-packets';
import type { ParticipantRole, WarningKind } from '@hybrid-coach/shared/session-timer';
import { chargedMinutes, durationSeconds, timerSchedule, timerShouldStart } from '@hybrid-coach/shared/session-timer';
import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { nextMonthStart } from '@hybrid-coach/shared/tiers';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { db as openDb } from './db/client';
import { appointments, coachingSessions, users } from './db/schema';
import { agentHostSecret } from './lib/config';
import { agentDispatch, roomService, sendPacket } from './lib/livekit';
import { acceptTicketedSocket, mintWsTicket, redeemWsTicket, type WsTicketHolder } from './lib/ws-tickets';

/** How long the room may stand with no human in it before the session ends by itself. */
export const EMPTY_GRACE_MS = 3 * 60_000;
/** Time for the AI to say goodbye between the cap and closing the room. */
export const GOODBYE_GRACE_MS = 8_000;
/** How long the room waits for LiveKit to bring a lost agent back before dispatching one itself. */
export const REDISPATCH_AFTER_MS = 5_000;
/**
 * When the room first looks at its dispatch (listed on livekit-server) after asking for the AI; the
 * wait doubles with each look, up to AGENT_JOIN_WAIT_MS. livekit-server 1.13.5 offers a dispatch's job
 * once, within about 3 s (its job RPC's timeout), and never again: when no worker is registered (the
 * agent-host restarts) or none will take it (its reported load is 0.7 or more), the dispatch stays with
 * no job for good. The room then deletes it and dispatches again.
 */
export const DISPATCH_CHECK_MS = 5_000;
/** The longest wait between two looks at a dispatch whose AI has not arrived. */
export const AGENT_JOIN_WAIT_MS = 20_000;
/** livekit-server's JobStatus JS_SUCCESS and JS_FAILED (livekit_agent.proto): the job is over. */
const JOB_ENDED = new Set([2, 3]);
const RETRY_BASE_MS = 2_000;
const RETRY_MAX_MS = 60_000;
const SEEN_EVENTS_KEPT = 500;
/**
 * Participant entries kept per session: one per connection (a flaky network reconnects often), so the
 * oldest departed ones are dropped past this; whoever is in the room is always kept.
 */
export const PARTICIPANTS_KEPT = 50;
/** Mute changes kept in the stored history (the newest); the version keeps counting. */
export const MUTE_HISTORY_KEPT = 100;

export type EndReason = 'cap' | 'client' | 'coach' | 'room_finished' | 'empty';
export type SessionStatus = 'WAITING' | 'ACTIVE' | 'COMPLETED';

interface Participant {
  sid: string;
  identity: string;
  name: string;
  role: ParticipantRole | 'other';
  joined: boolean;
  left: boolean;
  joinedAt: number | null;
  leftAt: number | null;
}

/** Effects on the world outside the object, kept until they succeed (retried with backoff). */
type Effect =
  | { id: string; type: 'dispatch-agent'; notBefore: number; attempts: number; dispatchId?: string }
  | { id: string; type: 'd1-started'; startedAt: number; notBefore: number; attempts: number }
  | { id: string; type: 'd1-ended'; notBefore: number; attempts: number }
  | { id: string; type: 'packet'; topic: PacketTopic; payload: PacketBodies[PacketTopic]; to?: string[]; notBefore: number; attempts: number }
  | { id: string; type: 'control'; notBefore: number; attempts: number }
  | { id: string; type: 'delete-room'; notBefore: number; attempts: number };

/**
 * Attempts before an effect that only matters while the room lives is dropped (logged). Writes to
 * D1 have no limit: they must land. A dispatch is looked at 10 times (5, 10, then every 20 s: about
 * 3 minutes, an agent-host restart included).
 */
const GIVE_UP_AFTER: Partial<Record<Effect['type'], number>> = { packet: 6, 'delete-room': 12, 'dispatch-agent': 10 };
/** Resend interval cap for the control packet until the agent acknowledges it. */
const CONTROL_RESEND_MAX_MS = 30_000;

type NewEffect = Effect extends infer E ? (E extends Effect ? Omit<E, 'id' | 'notBefore' | 'attempts'> & { notBefore?: number } : never) : never;

interface RoomState {
  sessionId: string;
  roomName: string;
  clientId: string;
  coachId: string | null;
  tier: MembershipTier;
  capMinutes: number | null;
  status: SessionStatus;
  createdAt: number;
  participants: Record<string, Participant>;
  agentIdentity: string | null;
  /** `version` grows with each change; the agent acknowledges the versions it has applied. */
  mute: { muted: boolean; changedAt: number | null; version: number; history: { muted: boolean; at: number; by: string }[] };
  /** The control version the agent in the room has acknowledged (reset when an agent joins). */
  controlAcked: number | null;
  timer: { startedAt: number | null; endedAt: number | null };
  warningsSent: WarningKind[];
  end: { reason: EndReason; at: number; durationSeconds: number; minutes: number } | null;
  emptySince: number | null;
  seenEvents: string[];
  effects: Effect[];
}

export interface InitParams {
  sessionId: string;
  roomName: string;
  clientId: string;
  tier: MembershipTier;
  capMinutes: number | null;
}

/** What a LiveKit webhook tells the object (already verified by the Worker). */
export interface LiveKitEvent {
  id: string;
  event: string;
  createdAtMs: number;
  participant?: { sid: string; identity: string; name: string; isAgent: boolean; attributes: Record<string, string> };
  trackSid?: string;
}

/** The live state portals see (shared/src/room-events.ts). */
export type { RoomSnapshot };

/**
 * One coaching session's live state: who is in the room, the coach's mute-from-AI, the usage timer.
 * Everything lives in the object's storage (an evicted object carries on); timers are alarms; every
 * effect outside (D1, LiveKit) sits in a stored queue until it succeeds, and the ones that must
 * happen once (usage added to the month) are guarded in D1 itself.
 */
export class SessionRoom extends DurableObject<Env> {
  /** Effects being performed by this instance right now: never start one twice. */
  private readonly inFlight = new Set<string>();

  // ---- RPC -------------------------------------------------------------------------------

  /** Sets the session up; calling it again changes nothing. */
  async init(p: InitParams): Promise<RoomSnapshot> {
    let state = await this.load();
    if (!state) {
      state = {
        ...p,
        coachId: null,
        status: 'WAITING',
        createdAt: Date.now(),
        participants: {},
        agentIdentity: null,
        mute: { muted: false, changedAt: null, version: 0, history: [] },
        controlAcked: null,
        timer: { startedAt: null, endedAt: null },
        warningsSent: [],
        end: null,
        emptySince: Date.now(),
        seenEvents: [],
        effects: [],
      };
      this.enqueue(state, { type: 'dispatch-agent' });
      await this.save(state);
    }
    await this.runEffects();
    return this.snapshot(state);
  }

  async getState(): Promise<RoomSnapshot | null> {
    const state = await this.load();
    return state ? this.snapshot(state) : null;
  }

  /**
   * Erases everything the object stores (the client's account is being erased, lib/erasure.ts): state,
   * participants, tickets, queued effects and the alarm; open portal sockets are closed. Calling it again
   * changes nothing, and a late call (a LiveKit webhook) finds no state and stores none. A room that may
   * still be open (the session not ended, or its deletion still queued) is deleted first: erasing the
   * queue would otherwise leave the call running; if livekit-server cannot be reached, nothing is erased.
   */
  async erase(): Promise<void> {
    const state = await this.load();
    if (state && (state.status !== 'COMPLETED' || state.effects.some((e) => e.type === 'delete-room'))) {
      try {
        await roomService(this.env).deleteRoom(state.roomName);
      } catch (err) {
        if (!isRoomGone(err)) throw err;
      }
    }
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(4410, 'session erased');
      } catch {
        // Already closing.
      }
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** Records the coach of the session (the one who joined), so control and authorisation know them. */
  async setCoach(coachId: string): Promise<RoomSnapshot> {
    const state = await this.mustLoad();
    state.coachId ??= coachId;
    await this.save(state);
    return this.snapshot(state);
  }

  /** The coach's mute-from-AI; sent to the agent as a server packet on every change. */
  async setCoachMute(coachId: string, muted: boolean): Promise<RoomSnapshot> {
    const state = await this.mustLoad();
    if (state.status !== 'COMPLETED' && state.mute.muted !== muted) {
      const at = Date.now();
      const history = [...state.mute.history, { muted, at, by: coachId }].slice(-MUTE_HISTORY_KEPT);
      state.mute = { muted, changedAt: at, version: state.mute.version + 1, history };
      this.enqueueControl(state);
      await this.save(state);
      this.broadcast({ type: 'mute', muted, changedAt: at });
    }
    await this.runEffects();
    return this.snapshot(state);
  }

  /** Passes stored transcript lines to the session's live portals. */
  async publishTranscript(lines: Extract<RoomEvent, { type: 'transcript' }>['line'][]): Promise<void> {
    for (const line of lines) this.broadcast({ type: 'transcript', line });
  }

  /** The session was flagged for a coach (talk of crisis): coaches watching see it at once. */
  flag(flag: { at: number; reason: string }): void {
    this.broadcast({ type: 'flagged', ...flag }, 'coach');
  }

  /**
   * A coach's private instruction (already stored): sent to the agent in the room as a server packet,
   * shown live to coaches only. False when no agent is in the room: it reads the whisper from the
   * session's history when it (re)joins.
   */
  async whisper(line: { id: string; speakerIdentity: string; text: string; spokenAt: number }): Promise<boolean> {
    const state = await this.mustLoad();
    this.broadcast({ type: 'transcript', line: { ...line, speakerRole: 'coach', kind: 'whisper', heardByAi: true } }, 'coach');
    if (state.status === 'COMPLETED' || !state.agentIdentity || !this.aiPresent(state)) return false;
    this.enqueue(state, {
      type: 'packet',
      topic: PACKET_TOPICS.whisper,
      payload: { type: 'whisper', id: line.id, text: line.text },
      to: [state.agentIdentity],
    });
    await this.save(state);
    await this.runEffects();
    return true;
  }

  /**
   * For an agent (re)joining or finishing: the control state it must apply (what the hc.control packet
   * carries) and the live status (COMPLETED here before D1 hears of it).
   */
  async agentView(): Promise<(ReturnType<SessionRoom['controlPayload']> & { status: SessionStatus }) | null> {
    const state = await this.load();
    return state ? { ...this.controlPayload(state), status: state.status } : null;
  }

  /** The agent has applied control `version`: stop resending it. */
  async ackControl(version: number): Promise<{ acked: number | null; current: number }> {
    const state = await this.mustLoad();
    if (version <= state.mute.version && (state.controlAcked ?? -1) < version) {
      state.controlAcked = version;
      if (version === state.mute.version) state.effects = state.effects.filter((e) => e.type !== 'control');
      await this.save(state);
    }
    await this.armAlarm();
    return { acked: state.controlAcked, current: state.mute.version };
  }

  /** Ends the session for everyone (idempotent). */
  async end(reason: EndReason): Promise<RoomSnapshot> {
    const state = await this.mustLoad();
    this.finish(state, reason, Date.now());
    await this.save(state);
    await this.runEffects();
    return this.snapshot(state);
  }

  /** Applies a verified LiveKit webhook. Duplicates and out-of-order events leave the state right. */
  async onLiveKitEvent(e: LiveKitEvent): Promise<RoomSnapshot | null> {
    const state = await this.load();
    if (!state) return null;
    if (state.seenEvents.includes(e.id)) return this.snapshot(state);
    state.seenEvents = [...state.seenEvents, e.id].slice(-SEEN_EVENTS_KEPT);
    const now = Date.now();

    if (e.event === 'room_finished') {
      this.finish(state, 'room_finished', now);
    } else if (e.participant && (e.event === 'participant_joined' || e.event === 'participant_left')) {
      const p = e.participant;
      const known = state.participants[p.sid];
      const role = this.roleOf(state, p);
      const entry: Participant = known ?? {
        sid: p.sid,
        identity: p.identity,
        name: p.name,
        role,
        joined: false,
        left: false,
        joinedAt: null,
        leftAt: null,
      };
      // Keyed by participant sid: a leave that arrives before its join still wins.
      if (e.event === 'participant_joined') {
        entry.joined = true;
        entry.joinedAt ??= e.createdAtMs || now;
      } else {
        entry.left = true;
        entry.leftAt ??= e.createdAtMs || now;
      }
      state.participants[p.sid] = entry;
      this.compactParticipants(state);
      if (role === 'ai' && e.event === 'participant_joined' && !entry.left) {
        state.agentIdentity = p.identity;
        // The AI is here: no dispatch is waiting for it any more.
        state.effects = state.effects.filter((x) => x.type !== 'dispatch-agent');
        state.controlAcked = null;
        // The agent learns the coach's mute state whenever it (re)joins.
        this.enqueueControl(state);
      }
      if (role === 'ai' && e.event === 'participant_left' && state.agentIdentity === p.identity) {
        const stillHere = Object.values(state.participants).some((q) => q.identity === p.identity && q.joined && !q.left);
        if (!stillHere) state.effects = state.effects.filter((x) => x.type !== 'control');
      }
      // The AI dropped out of a live session (its process died or restarted): ask for it again, after
      // a pause in which LiveKit may hand the job to another worker itself (then the dispatch is skipped).
      if (role === 'ai' && e.event === 'participant_left' && state.status !== 'COMPLETED' && !this.aiPresent(state)) {
        state.effects = state.effects.filter((x) => x.type !== 'dispatch-agent');
        this.enqueue(state, { type: 'dispatch-agent', notBefore: now + REDISPATCH_AFTER_MS });
      }
      this.onPresenceChange(state, now);
      this.broadcast({ type: 'participants', participants: this.snapshot(state).participants });
    }
    await this.save(state);
    await this.runEffects();
    return this.snapshot(state);
  }

  // ---- alarms ----------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    const state = await this.load();
    if (!state) return;
    const now = Date.now();
    if (state.status === 'ACTIVE' && state.timer.startedAt !== null) {
      for (const due of timerSchedule(state.timer.startedAt, state.capMinutes, state.warningsSent)) {
        if (due.at > now) break;
        if (due.kind === 'cap') {
          this.finish(state, 'cap', due.at);
        } else {
          state.warningsSent.push(due.kind);
          const minutesLeft = due.kind === '5min' ? 5 : 1;
          const payload: TimerPacket = { type: 'warning', minutesLeft, endsAt: state.timer.startedAt + (state.capMinutes ?? 0) * 60_000 };
          this.enqueue(state, { type: 'packet', topic: PACKET_TOPICS.timer, payload });
          this.broadcast(payload);
        }
      }
    }
    if (state.status !== 'COMPLETED' && state.emptySince !== null && now >= state.emptySince + EMPTY_GRACE_MS) {
      this.finish(state, 'empty', now);
    }
    await this.save(state);
    await this.runEffects();
  }

  // ---- WebSocket tickets (issue 13) --------------------------------------------------------
  // A portal's WebSocket upgrade carries a single-use ticket valid for seconds, never the login token
  // (a URL ends up in request logs). Kept here: the object serialises its calls, so a ticket is taken once.

  /** Stores a ticket for one WebSocket upgrade by `holder`, valid `ttlMs`. */
  mintWsTicket(holder: WsTicketHolder, ttlMs: number): Promise<{ ticket: string; expiresAt: number }> {
    return mintWsTicket(this.ctx.storage, holder, ttlMs);
  }

  /** Takes a ticket, once: whom it was minted for, or null when it is unknown, used or expired. */
  redeemWsTicket(ticket: string): Promise<WsTicketHolder | null> {
    return redeemWsTicket(this.ctx.storage, ticket);
  }

  // ---- WebSocket (hibernatable) for portals ----------------------------------------------

  /** Accepts a portal's WebSocket; the Worker has already checked who is asking. */
  override async fetch(request: Request): Promise<Response> {
    const { response, socket } = acceptTicketedSocket(this.ctx, request);
    const state = socket ? await this.load() : undefined;
    if (socket && state) socket.send(JSON.stringify({ type: 'state', state: this.snapshot(state) }));
    return response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === 'ping') ws.send('pong');
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // 1005/1006 are reserved: they describe a close, they cannot be sent.
    ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closing');
  }

  /** Sends an event to every connected portal of this session (coach-only events to coaches). */
  broadcast(event: RoomEvent, audience: 'all' | 'coach' = 'all'): void {
    const text = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      if (audience === 'coach' && !this.ctx.getTags(ws).some((t) => t === 'COACH' || t === 'ADMIN')) continue;
      try {
        ws.send(text);
      } catch {
        // A closed socket is dropped by the runtime.
      }
    }
  }

  // ---- internals -------------------------------------------------------------------------

  private roleOf(state: RoomState, p: NonNullable<LiveKitEvent['participant']>): Participant['role'] {
    if (p.isAgent) return 'ai';
    if (p.identity === state.clientId) return 'client';
    // Only tokens the Worker mints for coaches carry role=coach (participants cannot change attributes).
    if (p.attributes.role === 'coach') return 'coach';
    return 'other';
  }

  /** Drops the oldest departed entries past PARTICIPANTS_KEPT; those in the room stay. */
  private compactParticipants(state: RoomState): void {
    const entries = Object.values(state.participants);
    if (entries.length <= PARTICIPANTS_KEPT) return;
    const departed = entries.filter((p) => p.left).sort((a, b) => (a.leftAt ?? 0) - (b.leftAt ?? 0));
    for (const p of departed.slice(0, entries.length - PARTICIPANTS_KEPT)) delete state.participants[p.sid];
  }

  private present(state: RoomState): Set<ParticipantRole> {
    const roles = new Set<ParticipantRole>();
    for (const p of Object.values(state.participants)) {
      if (p.joined && !p.left && p.role !== 'other') roles.add(p.role);
    }
    return roles;
  }

  private aiPresent(state: RoomState): boolean {
    return Object.values(state.participants).some((q) => q.role === 'ai' && q.joined && !q.left);
  }

  private onPresenceChange(state: RoomState, now: number): void {
    if (state.status === 'COMPLETED') return;
    const present = this.present(state);
    if (state.timer.startedAt === null && timerShouldStart(present)) {
      state.timer.startedAt = now;
      state.status = 'ACTIVE';
      this.enqueue(state, { type: 'd1-started', startedAt: now });
      const payload: TimerPacket = { type: 'started', startedAt: now, capMinutes: state.capMinutes };
      this.enqueue(state, { type: 'packet', topic: PACKET_TOPICS.timer, payload });
      this.broadcast(payload);
    }
    const humans = present.has('client') || present.has('coach');
    state.emptySince = humans ? null : (state.emptySince ?? now);
  }

  /** Completes the session once: timer stopped, usage and duration queued for D1, room closed. */
  private finish(state: RoomState, reason: EndReason, at: number): void {
    if (state.status === 'COMPLETED') return;
    const seconds = durationSeconds(state.timer.startedAt, at, state.capMinutes);
    state.status = 'COMPLETED';
    state.timer.endedAt = at;
    state.end = { reason, at, durationSeconds: seconds, minutes: chargedMinutes(seconds) };
    this.enqueue(state, { type: 'd1-ended' });
    state.effects = state.effects.filter((e) => e.type !== 'control');
    // A finished room cannot take packets or be deleted again.
    if (reason !== 'room_finished') {
      this.enqueue(state, { type: 'packet', topic: PACKET_TOPICS.timer, payload: { type: 'ended', reason, endedAt: at } });
      this.enqueue(state, { type: 'delete-room', notBefore: reason === 'cap' ? Date.now() + GOODBYE_GRACE_MS : Date.now() });
    } else {
      state.effects = state.effects.filter((e) => e.type !== 'packet' && e.type !== 'delete-room' && e.type !== 'dispatch-agent');
    }
    this.broadcast({ type: 'ended', reason, endedAt: at, end: state.end });
  }

  /**
   * Queues the current mute state for the agent. It is resent until the agent acknowledges it:
   * livekit-server reports a participant joined before its data channel is open, and a packet sent
   * then is lost while the API answers success.
   */
  private enqueueControl(state: RoomState): void {
    if (!state.agentIdentity || state.status === 'COMPLETED') return;
    state.effects = state.effects.filter((e) => e.type !== 'control');
    this.enqueue(state, { type: 'control' });
  }

  private controlPayload(state: RoomState): ControlPacket {
    return {
      type: 'coach-mute',
      muted: state.mute.muted,
      version: state.mute.version,
      coachId: state.coachId,
      changedAt: state.mute.changedAt,
    };
  }

  private enqueue(state: RoomState, effect: NewEffect): void {
    state.effects.push({ ...effect, id: crypto.randomUUID(), notBefore: effect.notBefore ?? 0, attempts: 0 } as Effect);
  }

  /** Runs due effects in order; failures stay queued with backoff. Always re-arms the alarm. */
  private async runEffects(): Promise<void> {
    const now = Date.now();
    const state = await this.load();
    if (!state) return;
    for (const effect of [...state.effects]) {
      if (effect.notBefore > now || this.inFlight.has(effect.id)) continue;
      this.inFlight.add(effect.id);
      let done = false;
      try {
        await this.perform(state, effect);
        done = true;
      } catch (err) {
        log('warn', 'session effect failed; will retry', {
          sessionId: state.sessionId,
          effect: effect.type,
          attempts: effect.attempts + 1,
          ...describeError(err),
        });
      }
      // Re-read: other calls may have changed the queue while this one awaited the network.
      const fresh = (await this.load()) ?? state;
      const queued = fresh.effects.find((e) => e.id === effect.id);
      if (queued) {
        const acked = queued.type === 'control' && (fresh.controlAcked ?? -1) >= fresh.mute.version;
        // A dispatch is done when the AI is in the room, not when LiveKit took the request.
        const arrived = queued.type === 'dispatch-agent' && (this.aiPresent(fresh) || fresh.status === 'COMPLETED');
        const limit = GIVE_UP_AFTER[queued.type];
        if ((done && queued.type !== 'control' && queued.type !== 'dispatch-agent') || acked || arrived) {
          fresh.effects = fresh.effects.filter((e) => e.id !== effect.id);
        } else if (limit !== undefined && queued.attempts + 1 >= limit) {
          fresh.effects = fresh.effects.filter((e) => e.id !== effect.id);
          log('warn', 'session effect given up', { sessionId: fresh.sessionId, effect: queued.type, attempts: queued.attempts + 1 });
        } else if (done && queued.type === 'dispatch-agent') {
          // Dispatched, the AI not in the room yet: look at the dispatch again later (dispatchAgent).
          queued.attempts += 1;
          queued.notBefore = Date.now() + Math.min(AGENT_JOIN_WAIT_MS, DISPATCH_CHECK_MS * 2 ** (queued.attempts - 1));
        } else {
          // Failed, or a control packet sent but not yet acknowledged: again, later.
          queued.attempts += 1;
          const cap = queued.type === 'control' ? CONTROL_RESEND_MAX_MS : RETRY_MAX_MS;
          queued.notBefore = Date.now() + Math.min(cap, RETRY_BASE_MS * 2 ** (queued.attempts - 1));
        }
        await this.save(fresh);
      }
      this.inFlight.delete(effect.id);
    }
    await this.armAlarm();
  }

  private async perform(state: RoomState, effect: Effect): Promise<void> {
    const env = this.env;
    switch (effect.type) {
      case 'dispatch-agent':
        await this.dispatchAgent(state, effect);
        return;
      case 'd1-started':
        await openDb(env)
          .update(coachingSessions)
          .set({ status: 'ACTIVE', startedAt: new Date(effect.startedAt) })
          .where(and(eq(coachingSessions.id, state.sessionId), eq(coachingSessions.status, 'WAITING')));
        return;
      case 'd1-ended':
        await this.recordEnd(state);
        return;
      case 'packet': {
        const key = await packetKey(agentHostSecret(env), state.sessionId);
        await sendPacket(env, state.roomName, effect.topic, await sealPacket(key, effect.topic, effect.payload), effect.to);
        return;
      }
      case 'control': {
        const fresh = (await this.load()) ?? state;
        if (fresh.agentIdentity) {
          const key = await packetKey(agentHostSecret(env), fresh.sessionId);
          const sealed = await sealPacket(key, PACKET_TOPICS.control, this.controlPayload(fresh));
          await sendPacket(env, fresh.roomName, PACKET_TOPICS.control, sealed, [fresh.agentIdentity]);
        }
        return;
      }
      case 'delete-room':
        try {
          await roomService(env).deleteRoom(state.roomName);
        } catch (err) {
          // Already gone is done (livekit-server answers "requested room does not exist").
          if (!isRoomGone(err)) throw err;
        }
        return;
    }
  }

  /**
   * Asks livekit-server for the AI, or looks at the dispatch asked for last time: a job on its way is
   * left alone; a dispatch with no job, or whose jobs are over, will never bring the AI
   * (DISPATCH_CHECK_MS says why), so it is deleted (it runs nothing) and the AI dispatched anew. The
   * dispatch's id is stored on the effect, so an evicted object looks at the same one.
   */
  private async dispatchAgent(state: RoomState, effect: Extract<Effect, { type: 'dispatch-agent' }>): Promise<void> {
    if (this.aiPresent(state)) return; // an agent is in the room already
    const client = agentDispatch(this.env);
    if (effect.dispatchId) {
      const dispatch = await client.getDispatch(effect.dispatchId, state.roomName);
      const jobs = dispatch?.state?.jobs ?? [];
      if (jobs.some((j) => !JOB_ENDED.has(j.state?.status ?? 0))) return; // a job is on its way
      if (dispatch) await client.deleteDispatch(dispatch.id, state.roomName);
      log('warn', 'agent: dispatch brought no AI; dispatching again', {
        sessionId: state.sessionId,
        dispatchId: effect.dispatchId,
        found: dispatch ? (jobs.length ? 'jobs ended' : 'no job') : 'dispatch gone',
        attempt: effect.attempts + 1,
      });
    }
    const created = await client.createDispatch(state.roomName, this.env.AGENT_NAME, {
      metadata: JSON.stringify({ sessionId: state.sessionId, clientId: state.clientId } satisfies DispatchMetadata),
    });
    const fresh = await this.load();
    const queued = fresh?.effects.find((e) => e.id === effect.id);
    if (fresh && queued?.type === 'dispatch-agent') {
      queued.dispatchId = created.id;
      await this.save(fresh);
    }
  }

  /**
   * Writes the end and the usage in one D1 transaction, guarded by usage_recorded_at: however
   * often this runs, the minutes are added to the month once.
   */
  private async recordEnd(state: RoomState): Promise<void> {
    const end = state.end;
    if (!end) return;
    const db = openDb(this.env);
    const endedAt = new Date(end.at);
    const notYet = sql`EXISTS (SELECT 1 FROM coaching_sessions WHERE id = ${state.sessionId} AND usage_recorded_at IS NULL)`;
    const current = sql`(${users.usageResetsAt} IS NOT NULL AND ${users.usageResetsAt} > ${end.at})`;
    // A session whose timer never ran gives its monthly session back.
    const sessionRefund = state.timer.startedAt === null ? 1 : 0;
    await db.batch([
      db
        .update(users)
        .set({
          monthlyMinutesUsed: sql`(CASE WHEN ${current} THEN ${users.monthlyMinutesUsed} ELSE 0 END) + ${end.minutes}`,
          monthlySessionsUsed: sql`MAX(0, (CASE WHEN ${current} THEN ${users.monthlySessionsUsed} ELSE 0 END) - ${sessionRefund})`,
          usageResetsAt: nextMonthStart(endedAt),
        })
        .where(and(eq(users.id, state.clientId), notYet)),
      db
        .update(coachingSessions)
        .set({
          status: 'COMPLETED',
          startedAt: state.timer.startedAt === null ? null : new Date(state.timer.startedAt),
          endedAt,
          durationSeconds: end.durationSeconds,
          minutesCharged: end.minutes,
          endReason: end.reason,
          warningsSent: state.warningsSent.length,
          usageRecordedAt: new Date(),
        })
        .where(and(eq(coachingSessions.id, state.sessionId), isNull(coachingSessions.usageRecordedAt))),
      // A booked appointment is over when its session is.
      db
        .update(appointments)
        .set({ status: 'COMPLETED' })
        .where(
          and(
            eq(appointments.status, 'ACTIVE'),
            inArray(appointments.id, db.select({ id: coachingSessions.appointmentId }).from(coachingSessions).where(eq(coachingSessions.id, state.sessionId))),
          ),
        ),
    ]);
  }

  private async armAlarm(): Promise<void> {
    const state = await this.load();
    if (!state) return;
    const times: number[] = state.effects.map((e) => e.notBefore);
    if (state.status === 'ACTIVE' && state.timer.startedAt !== null) {
      const next = timerSchedule(state.timer.startedAt, state.capMinutes, state.warningsSent)[0];
      if (next) times.push(next.at);
    }
    if (state.status !== 'COMPLETED' && state.emptySince !== null) times.push(state.emptySince + EMPTY_GRACE_MS);
    if (times.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Math.max(Math.min(...times), Date.now()));
  }

  private snapshot(state: RoomState): RoomSnapshot {
    const now = Date.now();
    const { startedAt, endedAt } = state.timer;
    const elapsedSeconds = startedAt === null ? 0 : durationSeconds(startedAt, endedAt ?? now, state.capMinutes);
    const byIdentity = new Map<string, RoomSnapshot['participants'][number]>();
    for (const p of Object.values(state.participants)) {
      if (p.joined && !p.left) byIdentity.set(p.identity, { identity: p.identity, name: p.name, role: p.role, joinedAt: p.joinedAt });
    }
    return {
      sessionId: state.sessionId,
      roomName: state.roomName,
      status: state.status,
      participants: [...byIdentity.values()],
      coachMutedFromAi: state.mute.muted,
      muteChangedAt: state.mute.changedAt,
      muteAppliedByAi: state.controlAcked === state.mute.version,
      timer: {
        startedAt,
        elapsedSeconds,
        capMinutes: state.capMinutes,
        remainingSeconds: state.capMinutes === null ? null : Math.max(0, state.capMinutes * 60 - elapsedSeconds),
      },
      warningsSent: [...state.warningsSent],
      end: state.end,
    };
  }

  private load(): Promise<RoomState | undefined> {
    return this.ctx.storage.get<RoomState>('state');
  }

  private async mustLoad(): Promise<RoomState> {
    const state = await this.load();
    if (!state) throw new Error('SessionRoom used before init');
    return state;
  }

  private save(state: RoomState): Promise<void> {
    return this.ctx.storage.put('state', state);
  }
}

/** LiveKit's answer for a room that is already gone (twirp `not_found`, "requested room does not exist"). */
export function isRoomGone(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown; message?: unknown } | null;
  if (e && (e.status === 404 || e.code === 'not_found')) return true;
  return /not.?found|404|does not exist/i.test(String(e?.message ?? err));
}
