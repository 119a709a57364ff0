/**
 * The three-way call (issue 18): whom a coach's line is for, and whether the AI answers it. A rule
 * with no model in it, so the same words always give the same answer (and tests can rely on it
 * under the offline stand-ins):
 *
 * - A coach muted from the AI is never answered and never shown to the model.
 * - The coach speaks to the AI when they name it ("AI, …", "…, AI?", "could the AI …"), or when they
 *   ask for something about the client in the third person ("Could you lead Riley through a slow
 *   exhale?"). They speak to the client when they name the client as the one spoken to ("Riley, how
 *   was your week?", "…, Riley?"), and by default: the AI keeps those words in view and stays silent.
 * - The client has priority. A coach's request that comes while the client speaks, or while the
 *   client's turn waits for its reply, is answered by that reply (which sees both); a request that
 *   comes while the reply to the client is being prepared replaces it with one that sees both. A
 *   client who starts speaking before the reply to the coach is heard withdraws it (its model request
 *   and any audio not yet played): the reply to the client's turn sees both, and if that turn brings no
 *   reply (the sound was not speech) the coach is answered after all. A reply to the coach already
 *   being heard gives way as any barge-in does (agents-js interrupts the current speech for a new user
 *   turn). Either way the client's turn wins, and the moment is answered once.
 */
import type { voice } from '@livekit/agents';

export type Addressee = 'ai' | 'client';

/** The words that name the AI when the coach speaks to it ("A.I." and "A I" are read as "AI"). */
const AI_NAMES = new Set(['ai']);
/** Words a speaker puts before a name they call someone by ("Hey Riley, …", "OK AI, …"). */
const LEAD_INS = new Set(['hey', 'hi', 'ok', 'okay', 'so', 'and', 'now', 'right', 'well']);
/** Openings of a request or a question put to the one who is not named (the AI, when the client is). */
const REQUEST =
  /^(?:(?:could|can|would|will) you|please|would it be possible|i'?d like you to|i would like you to|maybe you could|perhaps you could)\b|\b(?:could|can|would|will) you\b.*\?$/;

interface Word {
  text: string;
  /** A comma, or the sentence's end, right after the word: the word is set apart, as a name one calls. */
  apart: boolean;
}

function words(text: string): Word[] {
  const normal = text
    .toLowerCase()
    .replace(/\ba\.\s?i\.?(?=\W|$)/g, 'ai')
    .replace(/\ba i\b/g, 'ai');
  const out: Word[] = [];
  for (const m of normal.matchAll(/([\p{L}\p{N}']+)([^\p{L}\p{N}']*)/gu)) {
    out.push({ text: m[1]!, apart: /[,;:.!?]/.test(m[2]!) });
  }
  if (out.length > 0) out[out.length - 1]!.apart = true;
  return out;
}

/** The first name of a display name, lower case: what a coach calls the client. */
export function firstNameOf(displayName: string): string {
  return (displayName.trim().split(/\s+/)[0] ?? '').toLowerCase();
}

/**
 * Whom the coach's line is for. `clientName` is the client's display name; its first name is what
 * the coach calls them by.
 */
export function addresseeOf(text: string, clientName: string): Addressee {
  const ws = words(text);
  const client = firstNameOf(clientName);
  const isAi = (w: Word | undefined) => w !== undefined && AI_NAMES.has(w.text);
  const isClient = (w: Word | undefined) => w !== undefined && client !== '' && w.text === client;
  // Called by name at the start ("Riley, …", "Hey AI, …") or at the end ("…, Riley?").
  const first = LEAD_INS.has(ws[0]?.text ?? '') && ws.length > 1 ? ws[1] : ws[0];
  const last = ws.length > 1 ? ws[ws.length - 1] : undefined;
  const previous = ws.length > 1 ? ws[ws.length - 2] : undefined;
  if (isAi(first)) return 'ai';
  if (isClient(first)) return 'client';
  if (isAi(last) && previous?.apart) return 'ai';
  if (isClient(last) && previous?.apart) return 'client';
  // Called by name in the middle, set apart by commas: "Tell me, Riley, how was it?".
  for (let i = 1; i < ws.length - 1; i++) if (isClient(ws[i]) && ws[i - 1]!.apart && ws[i]!.apart) return 'client';
  // Named anywhere else: "Could the AI show us?", "I'd like our AI to lead this."
  if (ws.some(isAi)) return 'ai';
  // A request about the client in the third person is for the AI: "Could you lead Riley through it?"
  const plain = ws.map((w) => w.text).join(' ');
  if (ws.some(isClient) && REQUEST.test(`${plain}${text.trim().endsWith('?') ? '?' : ''}`)) return 'ai';
  return 'client';
}

export type UserState = voice.UserState;
export type AgentState = voice.AgentState;

/** What the AI does with a coach's line. */
export type CoachDecision =
  /** Muted: not shown to the model, not answered. */
  | 'not-heard'
  /** Shown to the model, not answered (the coach spoke to the client). */
  | 'context'
  /** Shown to the model; the client's reply, due now, answers both. */
  | 'with-client'
  /** Shown to the model and answered (after anything the AI is saying now). */
  | 'reply'
  /** Shown to the model; the reply being prepared (without these words) gives way to one with them. */
  | 'replace';

/** How the AI's replies are started and stopped: the AgentSession in the job, a recorder in tests. */
export interface ReplyControl {
  /** Asks the model for a reply from the conversation so far (queued behind speech under way). */
  reply(): void;
  /** Drops the reply being prepared and asks for a new one from the conversation so far. */
  replace(): void;
  /**
   * Drops the reply last asked with {@link reply} (its model request, and any audio not yet played);
   * false when there was none left to drop (done, or already dropped).
   */
  withdraw(): boolean;
}

/**
 * How long after the client stops speaking their turn still counts as waiting for its reply: longer
 * than the end-of-turn wait (VAD silence and the speech-to-text final, about 1 s offline). Past it
 * with no reply begun (the client's sound was not speech), a held coach request is answered.
 */
export const CLIENT_TURN_PENDING_MS = 3_000;

/**
 * Follows the client's and the AI's states (AgentSession events) and decides, for each coach line,
 * whether the AI answers: see the module comment.
 */
export class ThreeWayTurns {
  #user: UserState = 'listening';
  #agent: AgentState = 'initializing';
  /** When the client's last turn ended, while no reply to it has begun. */
  #clientTurnEndedAt: number | null = null;
  /** A coach request held for the client's reply; answered by itself if no reply begins. */
  #held: ReturnType<typeof setTimeout> | null = null;
  /**
   * The reply asked for the coach while the AI has not begun to say it; `behind` while it waits
   * behind speech under way (the AI's state says nothing of it until that speech ends).
   */
  #coachReply: { behind: boolean } | null = null;

  constructor(
    private readonly clientName: string,
    private readonly control: ReplyControl,
    private readonly now: () => number = Date.now,
  ) {}

  userState(state: UserState): void {
    if (state === 'speaking' && this.#user !== 'speaking' && this.#coachReply) {
      // The client speaks before the reply to the coach is heard: it gives way, and the coach's
      // request waits for the client's turn like one made while the client speaks.
      this.#coachReply = null;
      if (this.control.withdraw()) this.#hold();
    }
    if (this.#user === 'speaking' && state !== 'speaking') {
      this.#clientTurnEndedAt = this.now();
      if (this.#held) this.#hold(); // the client stopped: wait for their reply from now
    }
    this.#user = state;
  }

  agentState(state: AgentState): void {
    this.#agent = state;
    if (this.#coachReply?.behind) {
      if (state !== 'speaking') this.#coachReply.behind = false; // the speech in front of it is over
    } else if (this.#coachReply && state === 'speaking') {
      this.#coachReply = null; // the coach's reply is being heard
    }
    if (state === 'thinking') {
      // A reply begins, made from the conversation so far: the client's turn and any held request.
      this.#clientTurnEndedAt = null;
      this.#release();
    }
  }

  /** Decides for one final coach line, and starts or replaces a reply when the coach spoke to the AI. */
  coachLine(text: string, heardByAi: boolean): CoachDecision {
    if (!heardByAi) return 'not-heard';
    if (addresseeOf(text, this.clientName) === 'client') return 'context';
    if (this.#user === 'speaking' || this.#clientTurnPending()) {
      this.#hold();
      return 'with-client';
    }
    if (this.#agent === 'thinking') {
      this.control.replace();
      return 'replace';
    }
    this.#replyToCoach();
    return 'reply';
  }

  close(): void {
    this.#release();
  }

  #clientTurnPending(): boolean {
    return this.#clientTurnEndedAt !== null && this.now() - this.#clientTurnEndedAt < CLIENT_TURN_PENDING_MS;
  }

  #hold(): void {
    this.#release();
    this.#held = setTimeout(() => {
      this.#held = null;
      if (this.#user === 'speaking') this.#hold();
      else this.#replyToCoach();
    }, CLIENT_TURN_PENDING_MS);
  }

  #replyToCoach(): void {
    this.control.reply();
    this.#coachReply = { behind: this.#agent === 'speaking' };
  }

  #release(): void {
    if (this.#held) clearTimeout(this.#held);
    this.#held = null;
  }
}
