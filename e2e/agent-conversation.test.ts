/**
 * The AI coach for real: the agent-host's worker process registers with the real livekit-server, the
 * Worker dispatches it into the session room, and the real Deepgram and OpenAI plugins talk to the
 * local stand-ins. Participants speak espeak-ng recordings through published microphone tracks.
 * The tests run in order and share one PREMIUM session with a coach.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AI_MODE_ATTRIBUTE } from '@hybrid-coach/shared/agent-contract';
import { RemoteAudioTrack, type RemoteParticipant, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messageText, type Standins, startStandins } from '../agent-host/dev/standins';
import { phrases } from '../agent-host/src/agent/persona';
import { SUMMARY_MARKER } from '../agent-host/src/agent/summary';
import { apiOk, eventually, login, type RoomTicket, skipAfterFirstFailure, TestParticipant, type TranscriptLine } from './helpers';
import { queryLocalD1 } from './stack';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from './voice';

const CLIENT_FIRST = 'I have been feeling anxious all week.';
const CLIENT_SECOND = 'My shoulders are always tense.';
const CLIENT_THIRD = 'I would like to sleep better.';
const CLIENT_FOURTH = 'Today I went for a long walk by the river.';
const CLIENT_CRISIS = 'Sometimes I feel like I want to hurt myself.';
const CLIENT_FIFTH = 'I tried humming in the shower this morning.';
const WHISPER = 'Ask how her evenings usually go.';
const CLIENT_ASKS_LONG = 'Can you explain the vagus nerve to me?';
const CLIENT_INTERRUPTS = 'Sorry, can we stop there?';
const COACH_HEARD = 'Let us try a slow breathing exercise together.';
/** Spoken to the AI (three-way.ts), while muted from it: never answered. */
const COACH_MUTED = 'AI, could you tell her she is close to a breakthrough?';
/** Everything the client and the coach say aloud: the speech stand-in knows each recording. */
const SPOKEN = [
  CLIENT_FIRST,
  CLIENT_SECOND,
  CLIENT_THIRD,
  CLIENT_FOURTH,
  CLIENT_CRISIS,
  CLIENT_FIFTH,
  CLIENT_ASKS_LONG,
  CLIENT_INTERRUPTS,
  COACH_HEARD,
  COACH_MUTED,
];
const AI_FIRST = 'That sounds hard. Shall we breathe together for a moment?';
const AI_DEFAULT = 'Tell me more about that.';
const AI_CRISIS = 'Thank you for telling me. You deserve support right now. Please call or text 988.';
const AI_LONG =
  'The vagus nerve is the longest nerve of your autonomic nervous system. It runs from the brainstem down through the neck ' +
  'and the chest into the belly, and it carries signals both ways between the brain and the heart, the lungs and the gut. ' +
  'When it is active your heart rate slows, your breathing deepens and digestion can do its work.';
const AI_STOPPED = 'Of course, we can stop there.';

const SUMMARY = {
  summary: 'Parker arrived anxious and practised slow breathing with the coach.',
  keyInsights: ['Anxiety shows up as tense shoulders'],
  nextSteps: ['Breathe out for six, three times a day'],
  newFacts: ['Wants to sleep better'],
  challenges: ['Tense shoulders under stress'],
};

interface Detail {
  clientId: string;
  transcript: TranscriptLine[];
  aiSummary: string | null;
  flag: { at: string; reason: string } | null;
}
interface RoomState {
  coachMutedFromAi: boolean;
  muteAppliedByAi: boolean;
}

const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

describe('the AI coach in a live session', () => {
  let standins: Standins;
  let agent: AgentProcess;
  let outboxDir = '';
  let clientToken = '';
  let coachToken = '';
  let ticket: RoomTicket | undefined;
  const participants: TestParticipant[] = [];
  const roomLines: { identity: string; text: string; attributes: Record<string, string> }[] = [];
  const mics: Microphone[] = [];
  let clientMic: Microphone | undefined;
  let coachMic: Microphone | undefined;

  const mustTicket = () => {
    if (!ticket) throw new Error('no session: the test that starts it failed');
    return ticket;
  };
  const transcript = async () => (await apiOk<Detail>('GET', `/api/sessions/${mustTicket().sessionId}`, { token: clientToken })).transcript;
  const lineSaying = (text: string) =>
    eventually(`a transcript line saying "${text}" in D1`, async () => (await transcript()).find((l) => l.text === text), {
      timeoutMs: 45_000,
      intervalMs: 250,
      describe: async () => ({
        transcript: await transcript(),
        stt: standins.stt.sessions.map((x) => ({ audioBytes: x.audioBytes, closed: x.closedAt !== undefined, heard: x.heard })),
      }),
    });
  /** Whether the speech stand-in was given `text` to say, in one session's text run together. */
  const speechSaid = (text: string) =>
    standins.tts.sessions.some((x) =>
      x.received
        .map((m) => m.text ?? '')
        .join('')
        .includes(text),
    );
  /** Every text the model was shown, in every request so far. */
  const modelSaw = () => standins.chat.requests.flatMap((r) => r.body.messages.map((m) => messageText(m)));

  beforeAll(async () => {
    standins = await startStandins({
      stt: DISTINCT_PHRASES,
      sttPhrases: SPOKEN,
      chatScript: {
        rules: [
          { when: SUMMARY_MARKER, reply: JSON.stringify(SUMMARY) },
          { when: 'anxious', reply: AI_FIRST },
          { when: 'hurt myself', reply: AI_CRISIS },
          { when: 'vagus nerve', reply: AI_LONG },
          { when: 'stop there', reply: AI_STOPPED },
        ],
        defaultReply: AI_DEFAULT,
      },
    });
    outboxDir = mkdtempSync(join(tmpdir(), 'hc-agent-outbox-'));
    agent = await AgentProcess.startOffline(standins, outboxDir);
    clientToken = await login('premium@example.com');
    coachToken = await login('coach@example.com');
  });

  afterAll(async () => {
    for (const m of mics) m.stop();
    await Promise.all(participants.map((p) => p.disconnect()));
    if (ticket) await roomService.deleteRoom(ticket.roomName).catch(() => undefined);
    await agent?.stop();
    await standins?.close();
    rmSync(outboxDir, { recursive: true, force: true });
  });

  skipAfterFirstFailure();

  it('greets the client by name, answers what they say with speech, and stores both lines', async () => {
    ticket = await apiOk<RoomTicket>('POST', '/api/rooms', { token: clientToken }, 201);
    const client = new TestParticipant('client');
    participants.push(client);
    // What the room shows live: LiveKit transcription streams (the AgentSession's for the client and
    // the AI, the agent's own for the coach, sent in the coach's name).
    client.room.registerTextStreamHandler('lk.transcription', async (reader, from) => {
      roomLines.push({ identity: from.identity, text: await reader.readAll(), attributes: reader.info.attributes ?? {} });
    });
    const aiAudio = new Promise<RemoteParticipant>((resolve) => {
      client.room.on(RoomEvent.TrackSubscribed, (track, _pub, participant: RemoteParticipant) => {
        if (track.kind === TrackKind.KIND_AUDIO && track instanceof RemoteAudioTrack && participant.attributes.role !== 'coach') resolve(participant);
      });
    });
    await client.connect(ticket.livekitUrl, ticket.token);
    clientMic = await Microphone.publish(client.room);
    mics.push(clientMic);

    const aiParticipant = await aiAudio;
    expect(aiParticipant.identity).not.toBe('seed-premium');
    // It tells the room it runs offline, for the portals to say so.
    await eventually('the AI to say it runs offline', () => aiParticipant.attributes[AI_MODE_ATTRIBUTE] === 'offline');
    const greeting = await eventually('the greeting in the transcript', async () => (await transcript()).find((l) => l.speakerRole === 'ai'), {
      timeoutMs: 45_000,
      describe: () => agent.output.slice(-20).join(''),
    });
    expect(greeting.text).toContain('Hi Parker'); // the seed's premium client, Parker Premium
    expect(greeting.speakerIdentity).toBe(aiParticipant.identity);

    await clientMic.say(CLIENT_FIRST);
    const heard = await lineSaying(CLIENT_FIRST);
    expect(heard).toMatchObject({ speakerIdentity: 'seed-premium', speakerRole: 'client', heardByAi: true });
    const answer = await lineSaying(AI_FIRST);
    expect(answer.speakerRole).toBe('ai');
    // The model saw the client's words, and the persona with the client's name.
    const request = standins.chat.requests.find((r) => r.body.messages.some((m) => messageText(m).includes(CLIENT_FIRST)));
    expect(request).toBeDefined();
    expect(request!.body.model).toBe('gpt-4o-mini');
    expect(messageText(request!.body.messages[0]!)).toContain('Parker Premium');
    // The reply was spoken: the speech stand-in synthesised it.
    expect(speechSaid('breathe together')).toBe(true);
  });

  it('hears a coach who is not muted, labelled as the coach', async () => {
    const { token } = await apiOk<{ token: string }>('POST', `/api/rooms/${mustTicket().sessionId}/join`, { token: coachToken });
    const coach = new TestParticipant('coach');
    participants.push(coach);
    const sttStreams = standins.stt.sessions.length;
    await coach.connect(mustTicket().livekitUrl, token);
    coachMic = await Microphone.publish(coach.room);
    mics.push(coachMic);
    // Speak once the agent listens (its own speech-to-text stream for the coach), as a person would after hello.
    await eventually('the agent to open a speech-to-text stream for the coach', () => standins.stt.sessions.length > sttStreams);

    await coachMic.say(COACH_HEARD);
    const stored = await lineSaying(COACH_HEARD);
    expect(stored).toMatchObject({ speakerRole: 'coach', heardByAi: true });
    // Published live in the room too, in the coach's name, as the client's and the AI's lines are.
    const live = await eventually("the coach's line on the room's transcription stream", () => roomLines.find((l) => l.text.trim() === COACH_HEARD));
    expect(live.identity).toBe(stored.speakerIdentity);
    expect(live.attributes['lk.transcription_final']).toBe('true');
    expect(roomLines.some((l) => l.text.trim() === CLIENT_FIRST && l.identity === 'seed-premium')).toBe(true);
    expect(roomLines.some((l) => l.text.includes(AI_FIRST.split('.')[0]!))).toBe(true);
    // The next reply to the client is made with the coach's words in view, labelled as the coach.
    await clientMic!.say(CLIENT_SECOND);
    await lineSaying(CLIENT_SECOND);
    await eventually("a model request carrying the client's second line", () => modelSaw().some((t) => t.includes(CLIENT_SECOND)));
    const coachLines = modelSaw().filter((t) => t.includes(COACH_HEARD));
    expect(coachLines.length).toBeGreaterThan(0);
    expect(coachLines[0]).toMatch(/^\[Coach [^\]]+\]: /);
  });

  it('transcribes a muted coach but never shows their words to the model, nor answers them when they speak to it', async () => {
    await apiOk('POST', `/api/rooms/${mustTicket().sessionId}/mute-ai`, { token: coachToken, body: { muted: true } });
    await eventually('the agent to acknowledge the mute', async () => {
      const s = await apiOk<RoomState>('GET', `/api/rooms/${mustTicket().sessionId}`, { token: coachToken });
      return s.coachMutedFromAi && s.muteAppliedByAi;
    });
    await coachMic!.say(COACH_MUTED);
    expect(await lineSaying(COACH_MUTED)).toMatchObject({ speakerRole: 'coach', heardByAi: false });
    await eventually('the agent to decide about the muted line', () => agent.mentions('"decision":"not-heard"'));
    const before = standins.chat.requests.length;
    await clientMic!.say(CLIENT_THIRD);
    await lineSaying(CLIENT_THIRD);
    await eventually("a model request carrying the client's third line", () => modelSaw().some((t) => t.includes(CLIENT_THIRD)));
    expect(modelSaw().some((t) => t.includes(COACH_MUTED) || t.includes('breakthrough'))).toBe(false);
    // Every reply asked for since was the client's: none for the muted coach.
    const asked = standins.chat.requests.slice(before).map((r) => messageText(r.body.messages[r.body.messages.length - 1]!));
    expect(asked.length).toBeGreaterThan(0);
    for (const last of asked) expect(last).toBe(CLIENT_THIRD);
  });

  it('follows a coach whisper it never speaks, which the client never sees', async () => {
    const sent = await apiOk<{ deliveredToAi: boolean }>(
      'POST',
      `/api/rooms/${mustTicket().sessionId}/whisper`,
      { token: coachToken, body: { text: WHISPER } },
      201,
    );
    expect(sent.deliveredToAi).toBe(true);
    await clientMic!.say(CLIENT_FOURTH);
    await lineSaying(CLIENT_FOURTH);
    const request = await eventually("a model request carrying the client's fourth line", () =>
      standins.chat.requests.find((r) => r.body.messages.some((m) => messageText(m).includes(CLIENT_FOURTH))),
    );
    // The model was steered by it, as an instruction rather than as something said in the call.
    const steer = request.body.messages.find((m) => messageText(m).includes(WHISPER));
    expect(steer).toMatchObject({ role: 'system' });
    expect(messageText(steer!)).toBe(phrases.whisper(WHISPER));
    // Never spoken, never in the client's transcript; in the coach's, marked as a whisper.
    expect(speechSaid('evenings')).toBe(false);
    expect((await transcript()).some((l) => l.text.includes(WHISPER))).toBe(false);
    const forCoach = await apiOk<Detail>('GET', `/api/sessions/${mustTicket().sessionId}`, { token: coachToken });
    expect(forCoach.transcript.filter((l) => l.text === WHISPER).map((l) => l.kind)).toEqual(['whisper']);
  });

  it('answers talk of self-harm with care and crisis lines, and flags the session for a coach', async () => {
    await clientMic!.say(CLIENT_CRISIS);
    expect(await lineSaying(CLIENT_CRISIS)).toMatchObject({ speakerRole: 'client' });
    expect(await lineSaying(AI_CRISIS)).toMatchObject({ speakerRole: 'ai' });
    // The reply was made with the safety guidance in view, as an instruction (a preemptive request
    // made before the turn ended, without it, is dropped by the agent).
    const requests = standins.chat.requests.filter((r) => r.body.messages.some((m) => messageText(m).includes(CLIENT_CRISIS)));
    const reply = requests.find((r) => r.body.messages.some((m) => messageText(m) === phrases.crisisReminder));
    expect(reply?.body.messages.filter((m) => messageText(m) === phrases.crisisReminder).map((m) => m.role)).toEqual(['system']);
    const forCoach = await apiOk<Detail>('GET', `/api/sessions/${mustTicket().sessionId}`, { token: coachToken });
    expect(forCoach.flag?.reason).toContain('hurt myself');
    expect((await apiOk<Detail>('GET', `/api/sessions/${mustTicket().sessionId}`, { token: clientToken })).flag).toBeNull();
  });

  it('apologises aloud when the model keeps failing, and carries on', async () => {
    const before = standins.chat.requests.length;
    standins.chat.failNext(4, 500); // the plugin's first try and its three retries
    await clientMic!.say(CLIENT_FIFTH);
    await lineSaying(CLIENT_FIFTH);
    expect(await lineSaying(phrases.apology)).toMatchObject({ speakerRole: 'ai' });
    expect(speechSaid('lost my train of thought')).toBe(true);
    // The turn was tried four times (a first try and the plugin's retries) before the apology.
    const tries = standins.chat.requests.slice(before).filter((r) => r.body.messages.some((m) => messageText(m).includes(CLIENT_FIFTH)));
    expect(tries.length).toBeGreaterThanOrEqual(4);
    // The safety reminder was for the crisis turn's reply only.
    expect(tries.some((r) => r.body.messages.some((m) => messageText(m) === phrases.crisisReminder))).toBe(false);
  });

  it('stops talking when the client talks over it, and answers them', async () => {
    await clientMic!.say(CLIENT_ASKS_LONG);
    await lineSaying(CLIENT_ASKS_LONG);
    // The long answer is being spoken (about 20 s of speech): the client cuts in a few seconds into it.
    await eventually('the long answer on its way to the voice', () => speechSaid('longest nerve'));
    await new Promise((r) => setTimeout(r, 3_000));
    await clientMic!.say(CLIENT_INTERRUPTS);
    expect(await lineSaying(AI_STOPPED)).toMatchObject({ speakerRole: 'ai' });
    // What was stored of the long answer is what the client heard before cutting in: a start of it.
    const said = (await transcript()).filter((l) => l.speakerRole === 'ai' && AI_LONG.startsWith(l.text.trim().slice(0, 40)));
    expect(said).toHaveLength(1);
    expect(said[0]!.text.trim().length).toBeGreaterThan(0);
    expect(said[0]!.text.trim().length).toBeLessThan(AI_LONG.length * 0.8);
    expect(said[0]!.text).not.toContain('digestion');
  });

  it('stores each utterance once', async () => {
    const lines = await transcript();
    for (const text of [...SPOKEN, AI_FIRST, AI_CRISIS, AI_STOPPED]) {
      expect(
        lines.filter((l) => l.text === text),
        text,
      ).toHaveLength(1);
    }
  });

  it('summarises the session when it ends, from what the AI heard only', async () => {
    await apiOk('POST', `/api/rooms/${mustTicket().sessionId}/end`, { token: clientToken });
    const detail = await eventually(
      'the AI summary on the session',
      async () => {
        const d = await apiOk<Detail>('GET', `/api/sessions/${mustTicket().sessionId}`, { token: clientToken });
        return d.aiSummary ? d : undefined;
      },
      { timeoutMs: 45_000, describe: () => agent.output.slice(-10).join('') },
    );
    expect(detail.aiSummary).toContain(SUMMARY.summary);
    expect(detail.aiSummary).toContain('Breathe out for six');
    const request = standins.chat.requests.find((r) => r.body.messages.some((m) => messageText(m).includes(SUMMARY_MARKER)));
    const shown = request!.body.messages.map((m) => messageText(m)).join('\n');
    expect(shown).toContain(CLIENT_FIRST);
    expect(shown).toContain(COACH_HEARD);
    expect(shown).not.toContain(COACH_MUTED);
    expect(shown).not.toContain(WHISPER);

    // The coach's client sidebar: what the model learned is on the client's profile.
    const client = await apiOk<{ profile: { clientFacts: string[]; challenges: string[]; lastSummary: string | null } }>(
      'GET',
      `/api/coach/clients/${detail.clientId}`,
      { token: coachToken },
    );
    expect(client.profile.clientFacts).toContain('Wants to sleep better');
    expect(client.profile.challenges).toContain('Tense shoulders under stress');
    expect(client.profile.lastSummary).toContain(SUMMARY.summary);
  });

  it("keeps the session's turn timings on the Worker (times only), from the agent's outbox", async () => {
    const sessionId = mustTicket().sessionId;
    type Stored = { turns: number; total_p50_ms: number; total_worst_ms: number; job_id: string };
    const stored = await eventually(
      "the session's turn timings in D1",
      async () => {
        const [row] = await queryLocalD1<Stored>(
          inject('persistDir'),
          `SELECT turns, total_p50_ms, total_worst_ms, job_id FROM session_turn_timings WHERE session_id = '${sessionId}'`,
        );
        return row && row.turns > 0 ? row : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 1_000, describe: () => agent.output.slice(-10).join('') },
    );
    expect(stored.total_worst_ms).toBeGreaterThanOrEqual(stored.total_p50_ms);
    expect(stored.job_id).not.toBe('');
  });
});
