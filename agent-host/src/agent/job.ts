/**
 * One coaching session, as a LiveKit agent job (each job runs in its own process, started by the
 * AgentServer in main.ts). The AgentSession hears the client and drives the conversation; a second
 * listener transcribes the coach (coach-listener.ts); every final line goes to the Worker through the
 * session's durable outbox; the coach's mute state and the timer arrive as server-sent data packets.
 */

import { join } from 'node:path';
import v8 from 'node:v8';
import { type AgentContext, AI_MODE_ATTRIBUTE, type SessionRef } from '@hybrid-coach/shared/agent-contract';
import { crisisMatch } from '@hybrid-coach/shared/crisis';
import { describeError, log } from '@hybrid-coach/shared/log';
import { inspectPacket, packetKey } from '@hybrid-coach/shared/room-packets';
import { AutoSubscribe, defineAgent, type JobContext, type JobProcess, llm, voice } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { ParticipantKind, type RemoteParticipant, type RemoteTrack, type RemoteTrackPublication, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { Outbox } from '../lib/outbox';
import { CoachListener } from './coach-listener';
import { loadAgentConfig } from './config';
import { sessionOfJob } from './dispatch';
import { eagerMarkdownFilter } from './eager-markdown-filter';
import { instructionsFor, isCoachLine, phrases } from './persona';
import { maskPiiInAgentLogs } from './pii-logs';
import { createEngines, isFluxModel } from './providers';
import { summarise } from './summary';
import { ThreeWayTurns } from './three-way';
import { TranscriptSink } from './transcript';
import { SessionTimings, TimingsReporter, turnTimingOf } from './turn-timings';
import { fromFirstSound } from './voice-onset';
import { SUMMARY_PATH, WorkerApi } from './worker-api';

const TRANSCRIPTION_TOPIC = 'lk.transcription';
/** How long a finished job waits for its lines to reach the Worker before leaving them on disk. */
const OUTBOX_DRAIN_MS = 60_000;

/**
 * When the client has finished, and how early the reply is prepared: agents-js's own options, measured
 * in bench/agent-latency.ts (targets: first AI audio p50 ≤ 800 ms after the client's last word, and no
 * reply into a 400 ms pause mid-sentence).
 * - `turnHandling.preemptiveGeneration` (`enabled`, `preemptiveTts`): the model is asked, and the voice
 *   renders its answer, as soon as a final (or Flux's preflight) transcript arrives, while the turn is
 *   not yet declared over; if the client says more, agents-js discards that reply and prepares another
 *   (at most `maxRetries`). The model and voice waits then overlap the endpointing wait instead of
 *   following it; a discarded reply costs its model call and voice characters.
 * - `turnHandling.endpointing.minDelay` (min endpointing delay; default 500 ms): with
 *   `turnDetection: 'vad'` the turn ends this long after the VAD's last speech, once a final transcript
 *   is in, and the prepared reply plays only then. nova-3: 600 ms; its reply is ready later anyway
 *   (final transcript ~260 ms after speech + model 300 + first sentence ~50 + voice 200), so the margin
 *   costs nothing, and a client who pauses 400 ms mid-sentence is heard again by the VAD (pause +
 *   `minSpeechDuration` + a 32 ms window + transport, about 500 ms) before the turn would end.
 *   Flux (FLUX_ENDPOINTING): its eager end of turn starts the reply ~130–180 ms after speech, so at 600 ms
 *   the ready reply waited for the turn to end (~50 ms at p50); 450 ms, at the VAD's own
 *   `minSilenceDuration`, lets the VAD's end of speech end the turn, and the pause is still never
 *   answered (the VAD does not end speech in a 400 ms pause). `maxDelay` applies only with a
 *   turn-detector model, which this agent does not use.
 * - Silero `minSilenceDuration` (default 550 ms): the VAD's own end of speech; 450 ms, above the
 *   400 ms pause the bench speaks, and what guards it in both modes.
 * - `turnDetection: 'stt'` measured worse with nova-3 (p50 1,559 ms against 995 ms): agents-js then
 *   starts the preemptive reply only once the turn is committed; with Flux it would let Flux's own end
 *   of turn close a turn at a mid-sentence pause, which the VAD does not.
 * - Deepgram TTS's `sentenceTokenizer` (providers.ts): agents-js's `tokenize.basic.SentenceTokenizer`
 *   gives the voice a sentence only once the model has begun the next (one token, 16–20 ms, later).
 *   EagerSentenceTokenizer (eager-sentences.ts) is that tokenizer, with the plugin's minimum sentence
 *   length, but releases a sentence as soon as its ".", "!" or "?" has come, unless the basic splitter
 *   would not end a sentence there (Dr. J. U.S. "...", too short to stand alone) or the next token may
 *   continue it ("3." → "3.5", an open quote or bracket). Measured (Flux, p50, back to back): model
 *   request → voice's first text 361 → 342 ms in one room, 361 → 343 ms in three. A first chunk
 *   smaller than a sentence would be a part sentence, which Deepgram keeps in its text buffer until
 *   more text or a Flush (https://developers.deepgram.com/docs/tts-ws-flush): not sooner heard.
 * - `ttsTextTransforms` (eager-markdown-filter.ts): agents-js's default `filter_markdown` passes its
 *   text on only up to the last space or punctuation it holds, so with OpenAI's tokens (" sense", ".",
 *   " Let") a "." token waited for the next token; fed a mark after a finished sentence (taken out
 *   behind it), it passes the sentence on with its "." and the same text as before. Measured (Flux,
 *   p50, back to back): model request → voice's first text 371 → 353 ms in one room, 368 → 353 ms in
 *   three.
 * - `ttsNode` (CoachAgent, voice-onset.ts): agents-js's own voice node, with the silence a reply's audio
 *   starts with dropped (espeak-ng's 11–12 ms; a real voice's may be longer). Measured (Flux, 12 turns,
 *   back to back): the voice's first audio → heard in the room 74 → 62 ms, 1 room p50 822 → 807 ms.
 * - The model's connection is kept open between replies (providers.ts MODEL_KEEP_ALIVE_MS): with
 *   Node's fetch every reply's request opened a new TCP and TLS connection to OpenAI (not seen offline,
 *   where the stand-ins are plain HTTP on loopback).
 * Measured (bench/agent-latency.ts, honest stand-ins in a process of their own, 2 cores, 2026-12-05,
 * the end of speech read from the clock, 12 turns in each of three sessions, pooled): p50 1 room / p90 /
 * 3 rooms Flux (five runs, median and range) 797 (787–801) / 820 (817–827) / 843 (827–867) ms; nova-3
 * (one) 888 / 912 / 939 ms; 0 premature replies. Flux asks the model 2.0 times per
 * paused sentence against 1.5 (its eager end of turn at the pause is a false start). Flux is the
 * default (providers.ts): nova-3's first signal, its final transcript (25 ms endpointing + 150 ms at
 * Deepgram), leaves it ~100 ms behind. The vendors' fixed 651 ms and WebRTC's ~100 ms both ways leave
 * the agent ~50 ms under the 800 ms target; it takes 40–57. Of that, Flux's eager end of turn
 * arriving → the model's request leaving is 6 ms p50 in the job process (timestamps in agents-js,
 * 2026-12-05: 1 ms to the preemptive reply, 1.5 to its inference, 3.3 there to the request), and the
 * voice's first audio → its AudioSource ~5 ms; the rest is WebRTC beyond its floor, which varies by
 * session (a track's clock alignment, bench/webrtc-floor.ts). Flux runs on a patched plugin
 * (patches/: 1.9.0's stream kept every audio frame until the session ended); docs/operations.md,
 * "Speech-to-text model"; README, "The AI coach".
 */
const VAD_OPTIONS = { minSilenceDuration: 450 } satisfies Parameters<typeof silero.VAD.load>[0];
const ENDPOINTING = { mode: 'fixed', minDelay: 600, maxDelay: 3000 } as const;
const FLUX_ENDPOINTING = { ...ENDPOINTING, minDelay: 450 } as const;
const PREEMPTIVE = { enabled: true, preemptiveTts: true } as const;
/**
 * The client's audio as the AgentSession hears it: 16 kHz (agents-js `RoomInputOptions.audioSampleRate`,
 * default 24000), the rate the Deepgram STT and the Silero VAD take (and the coach listener's). rtc-node's
 * AudioStream then resamples the decoded 48 kHz once, natively, and the STT and VAD streams skip
 * agents-js's own AudioResampler, which releases 24k→16k audio in 33 ms blocks, on average 21 ms
 * behind its input (bench/webrtc-floor.ts).
 * bench/agent-latency.ts, Flux, three back-to-back pairs (24k against 16k): STT eager end of turn p50
 * 182/180/170 against 144/157/156 ms after speech; first AI audio p50 1 room 831/829/816 against
 * 791/805/800 ms, 3 rooms 839/838/850 against 833/828/822; premature replies 0 either way.
 */
const ROOM_INPUT = { audioSampleRate: 16_000 } as const;

/** The voice agent, with the safety reminder put before any reply to talk of crisis, and its replies heard from their first sound. */
class CoachAgent extends voice.Agent {
  override async onUserTurnCompleted(turnCtx: llm.ChatContext, newMessage: llm.ChatMessage): Promise<void> {
    // For this reply only: the Worker flags the session for a coach when it stores the line.
    if (crisisMatch(newMessage.textContent ?? '')) turnCtx.addMessage({ role: 'system', content: phrases.crisisReminder });
  }

  /** agents-js's own voice node, without the silence a reply's audio starts with (voice-onset.ts). */
  override async ttsNode(...[text, modelSettings]: Parameters<voice.Agent['ttsNode']>): ReturnType<voice.Agent['ttsNode']> {
    const audio = await voice.Agent.default.ttsNode(this, text, modelSettings);
    return audio && fromFirstSound(audio);
  }
}

/** How often a job process logs its memory at AGENT_LOG_LEVEL=debug. */
const MEMORY_LOG_MS = 10_000;

/**
 * At debug level, this process's memory split every MEMORY_LOG_MS (`agent: job process memory`): V8's
 * heap (and its young generation), memory outside it (rtc-node's FFI, onnxruntime, malloc), so that a
 * room's cost can be told apart (bench/agent-latency.ts; docs/operations.md, "How many rooms").
 */
function logProcessMemory(): void {
  const mib = (bytes: number) => Math.round(bytes / 104_857.6) / 10;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    log('debug', 'agent: job process memory', {
      pid: process.pid,
      rssMiB: mib(m.rss),
      heapTotalMiB: mib(m.heapTotal),
      heapUsedMiB: mib(m.heapUsed),
      youngGenerationMiB: mib(young?.space_size ?? 0),
      externalMiB: mib(m.external),
      arrayBuffersMiB: mib(m.arrayBuffers),
      outsideHeapMiB: mib(m.rss - m.heapTotal),
    });
  }, MEMORY_LOG_MS);
  timer.unref();
}

export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    // This process's logger was set up by agents-js just before: what was said must not reach it.
    maskPiiInAgentLogs();
    proc.userData.vad = await silero.VAD.load(VAD_OPTIONS);
    if (loadAgentConfig().logLevel === 'debug') logProcessMemory();
  },
  entry: async (ctx: JobContext) => {
    const config = loadAgentConfig();
    const job = sessionOfJob(ctx.job.room?.name, ctx.job.metadata);
    if (!job) {
      log('error', 'agent: job refused: its dispatch does not name the room it is in', { jobId: ctx.job.id, roomName: ctx.job.room?.name });
      ctx.shutdown('dispatch refused');
      return;
    }
    const { sessionId, clientId } = job;
    const ref: SessionRef = { sessionId, roomName: job.roomName };
    const fields = { sessionId, jobId: ctx.job.id };
    const api = new WorkerApi(config.apiUrl, config.secret);
    // Server packets are sealed for this session; anything else is not the Worker's.
    const packets = await packetKey(config.secret, sessionId);

    await ctx.connect(undefined, AutoSubscribe.AUDIO_ONLY);
    let context: AgentContext;
    try {
      context = await api.context(ref);
    } catch (err) {
      log('error', 'agent: no context for the session; leaving', { ...fields, error: describeError(err).errorMessage });
      ctx.shutdown('no context');
      return;
    }
    if (context.client.id !== clientId) {
      log('error', 'agent: job refused: its dispatch names another client than the session’s', fields);
      ctx.shutdown('dispatch refused');
      return;
    }
    if (context.status === 'COMPLETED' || context.status === 'CANCELLED') {
      log('info', 'agent: the session is over; leaving', { ...fields, status: context.status });
      ctx.shutdown('session over');
      return;
    }

    // One AI per room: a second dispatch (the Worker's, after LiveKit already moved the job) leaves.
    const other = [...ctx.room.remoteParticipants.values()].find((p) => p.kind === ParticipantKind.AGENT);
    if (other) {
      log('info', 'agent: another agent is already in the room; leaving', { ...fields, other: other.identity });
      ctx.shutdown('duplicate agent');
      return;
    }

    const outbox = await Outbox.open({ dir: join(config.outboxDir, sessionId), secret: config.secret });
    const transcript = new TranscriptSink(outbox, api, ref, ctx.job.id);
    const engines = createEngines(config);
    const listeners = new Map<string, CoachListener>();
    // Set below, once the session exists; the shutdown callback may run before.
    let turns: ThreeWayTurns | undefined;
    const timings = new SessionTimings();
    const timingsReport = new TimingsReporter(outbox, api, ref, ctx.job.id, timings);
    ctx.addShutdownCallback(async () => {
      if (timings.turns > 0) log('info', 'agent: session turn timings', { ...fields, ...timings.summary() });
      await timingsReport
        .flush()
        .catch((err: unknown) => log('error', 'agent: could not store the turn timings', { ...fields, error: describeError(err).errorMessage }));
      for (const l of listeners.values()) l.close();
      turns?.close();
      // A session that is over gets its summary (the Worker's history has every line the AI heard,
      // across agent restarts); a job stopped mid-session (a restart) leaves that to the next job.
      try {
        const final = await api.context(ref);
        if (final.status === 'COMPLETED') {
          const summary = await summarise(engines.llm, final);
          if (summary) await outbox.enqueue(api.url(SUMMARY_PATH), `${sessionId}:summary`, { ...ref, ...summary });
          log('info', 'agent: session summarised', { ...fields, summarised: summary !== null });
        }
      } catch (err) {
        log('error', 'agent: no summary for the session', { ...fields, error: describeError(err).errorMessage });
      }
      const drained = await Promise.race([outbox.drained().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), OUTBOX_DRAIN_MS))]);
      if (!drained) log('warn', 'agent: lines left in the outbox for the next start', { ...fields, outboxDepth: outbox.depth });
      await outbox.close();
    });
    const record = (line: Parameters<TranscriptSink['add']>[0]) =>
      transcript
        .add(line)
        .catch((err: unknown) => log('error', 'agent: could not store a transcript line', { ...fields, error: describeError(err).errorMessage }));

    // ---- the coach's mute-from-AI ------------------------------------------------------------
    let control = context.control;
    const applyControl = (next: { muted: boolean; version: number }) => {
      if (next.version >= control.version) {
        control = next;
        for (const l of listeners.values()) l.setMuted(next.muted);
      }
      api
        .ackControl(ref, next.version)
        .catch((err: unknown) => log('warn', 'agent: control ack failed (the Worker resends)', { ...fields, error: describeError(err).errorMessage }));
    };
    applyControl(control);

    // ---- the conversation with the client ----------------------------------------------------
    // A rejoining agent carries on from what was said before it left.
    const chatCtx = llm.ChatContext.empty();
    for (const h of context.history) {
      if (h.kind === 'whisper') chatCtx.addMessage({ role: 'system', content: phrases.whisper(h.text), createdAt: h.at });
      else
        chatCtx.addMessage({
          role: h.role === 'ai' ? 'assistant' : 'user',
          content: h.role === 'coach' ? phrases.coachLine(h.speakerName, h.text) : h.text,
          createdAt: h.at,
        });
    }
    const agent = new CoachAgent({ instructions: instructionsFor(context), chatCtx });
    const session = new voice.AgentSession({
      vad: ctx.proc.userData.vad as silero.VAD,
      stt: engines.stt,
      llm: engines.llm,
      tts: engines.tts,
      // agents-js's default ['filter_markdown', 'filter_emoji'], its markdown filter releasing a sentence on its "."
      ttsTextTransforms: [eagerMarkdownFilter(), 'filter_emoji'],
      turnHandling: {
        // Silero VAD with the STT's final decides when the client has finished, and barge-in is VAD's
        // too. Left unset, agents-js provisions its TurnDetector and adaptive interruption, which in
        // dev mode are LiveKit Cloud's hosted models: the client's audio would leave for a service we
        // do not run (unreachable offline, where a missing prediction cost 2.5 s waits per turn).
        turnDetection: 'vad',
        interruption: { mode: 'vad' },
        endpointing: isFluxModel(config.sttModel) ? FLUX_ENDPOINTING : ENDPOINTING,
        preemptiveGeneration: PREEMPTIVE,
      },
    });
    /** Set once the goodbye for the time cap is on its way. */
    let ending = false;
    const aiIdentity = () => ctx.room.localParticipant?.identity ?? 'agent';
    let clientSpeechStart: number | null = null;
    let aiSpeechStart: number | null = null;
    /** The client's last final words: the reply being prepared for them has them in view once they are in the agent's context. */
    let lastClientWords: string | null = null;
    /** agents-js's metrics of the client's last turn (end-of-utterance delay), read when the reply to it is added. */
    let clientTurnMetrics: llm.MetricsReport | undefined;
    /** The reply last asked for the coach alone (`ThreeWayTurns` withdraws it if the client speaks first). */
    let coachReply: voice.SpeechHandle | undefined;
    const threeWay = new ThreeWayTurns(context.client.displayName, {
      reply: () => {
        coachReply = session.generateReply();
      },
      withdraw: () => {
        const handle = coachReply;
        coachReply = undefined;
        if (!handle || handle.done() || handle.interrupted) return false;
        // SpeechHandle.interrupt() cancels this one reply, queued or being prepared: its model request
        // is aborted and nothing of it is played, so the reply to the client's turn is the only one.
        // (session.interrupt() would also stop speech the client is already hearing.)
        try {
          handle.interrupt();
        } catch {
          return false; // a reply that may not be interrupted; generateReply's never is
        }
        log('info', 'agent: a reply to the coach gave way to the client', { ...fields, coachReply: 'withdrawn' });
        return true;
      },
      replace: () => {
        // The reply under way for the client gives way to one that also sees the coach's request, once
        // the client's words are in the agent's context (agents-js adds them as that reply is scheduled).
        const lastClientMessage = agent.chatCtx.items.findLast((i) => i.type === 'message' && i.role === 'user' && !isCoachLine(i.textContent ?? ''));
        const clientWordsKept =
          lastClientWords === null || (lastClientMessage?.type === 'message' && (lastClientMessage.textContent ?? '').includes(lastClientWords));
        if (clientWordsKept) {
          try {
            session.interrupt();
          } catch {
            // A reply that may not be interrupted (the goodbye) keeps playing; the new one follows it.
          }
        }
        session.generateReply();
      },
    });
    turns = threeWay;
    session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
      if (ev.newState === 'speaking') clientSpeechStart ??= ev.createdAt;
      threeWay.userState(ev.newState);
    });
    session.on(voice.AgentSessionEventTypes.UserInputTranscribed, (ev) => {
      if (!ev.isFinal || !ev.transcript.trim()) return;
      lastClientWords = ev.transcript.trim();
      void record({
        speakerIdentity: clientId,
        role: 'client',
        text: ev.transcript,
        startedAt: clientSpeechStart ?? ev.createdAt,
        endedAt: ev.createdAt,
        heardByAi: true,
      });
      clientSpeechStart = null;
    });
    session.on(voice.AgentSessionEventTypes.AgentStateChanged, (ev) => {
      if (ev.newState === 'speaking') aiSpeechStart = ev.createdAt;
      threeWay.agentState(ev.newState);
    });
    session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
      const item = ev.item;
      if (item.type === 'message' && item.role === 'user') clientTurnMetrics = item.metrics;
      if (item.type !== 'message' || item.role !== 'assistant') return;
      const timing = turnTimingOf(clientTurnMetrics, item.metrics);
      clientTurnMetrics = undefined;
      if (timing) {
        timings.add(timing);
        const { p50, worst } = timings.summary();
        // One line per reply, times only; with the session's p50 and worst so far, for a slow day.
        log('info', 'agent: turn timing', {
          ...fields,
          ...timing,
          sessionTurns: timings.turns,
          sessionP50TotalMs: p50.totalMs,
          sessionWorstTotalMs: worst.totalMs,
        });
        timingsReport
          .afterTurn()
          .catch((err: unknown) => log('error', 'agent: could not store the turn timings', { ...fields, error: describeError(err).errorMessage }));
      }
      const text = item.textContent ?? '';
      void record({ speakerIdentity: aiIdentity(), role: 'ai', text, startedAt: aiSpeechStart ?? ev.createdAt, endedAt: ev.createdAt, heardByAi: true });
      aiSpeechStart = null;
    });
    session.on(voice.AgentSessionEventTypes.Error, (ev) => {
      const { type, recoverable } = ev.error;
      log('warn', 'agent: provider error', {
        ...fields,
        type,
        recoverable,
        error: describeError('error' in ev.error ? ev.error.error : ev.error).errorMessage,
      });
      // The model failed even after its retries: say so, rather than leave the client in silence.
      // (Speaking also resets the session's count of failures, so one bad turn does not end the call.)
      if (type === 'llm_error' && !recoverable && !ending) session.say(phrases.apology);
    });

    /** Appends a line to the model's context without asking for a reply. */
    const tellModel = async (role: 'user' | 'system', content: string) => {
      const chatCtx = agent.chatCtx.copy();
      chatCtx.addMessage({ role, content });
      await agent.updateChatCtx(chatCtx);
    };

    // ---- the coach: transcribed always, heard only when not muted ----------------------------
    const listenToCoach = (track: RemoteTrack, participant: RemoteParticipant) => {
      log('debug', 'agent: track subscribed', {
        ...fields,
        identity: participant.identity,
        attributes: participant.attributes,
        kind: track.kind,
        sid: track.sid,
      });
      if (participant.attributes.role !== 'coach' || track.kind !== TrackKind.KIND_AUDIO || !track.sid) return;
      listeners.get(track.sid)?.close();
      const name = participant.name || 'Coach';
      log('info', 'agent: listening to the coach', { ...fields, coach: participant.identity, muted: control.muted });
      listeners.set(
        track.sid,
        new CoachListener(
          engines.stt,
          track,
          control.muted,
          (u) => {
            void record({
              speakerIdentity: participant.identity,
              role: 'coach',
              text: u.text,
              startedAt: u.startedAt,
              endedAt: u.endedAt,
              heardByAi: u.heardByAi,
            });
            void publishCoachTranscript(participant.identity, track.sid ?? '', u.text);
            void heardFromCoach(name, u.text, u.heardByAi);
          },
          (err) => log('warn', 'agent: the coach listener failed', { ...fields, error: describeError(err).errorMessage }),
        ),
      );
    };
    /** A coach's line reaches the model unless muted, and is answered when it was for the AI (three-way.ts). */
    const heardFromCoach = async (name: string, text: string, heardByAi: boolean) => {
      try {
        if (heardByAi) await tellModel('user', phrases.coachLine(name, text));
        if (ending) return;
        const decision = threeWay.coachLine(text, heardByAi);
        log('info', 'agent: coach line', { ...fields, decision });
      } catch (err) {
        log('warn', 'agent: a coach line could not be given to the model', { ...fields, error: describeError(err).errorMessage });
      }
    };
    /** Coach lines reach the portals like the client's (which the AgentSession publishes itself). */
    const publishCoachTranscript = async (identity: string, trackSid: string, text: string) => {
      try {
        const writer = await ctx.room.localParticipant!.streamText({
          topic: TRANSCRIPTION_TOPIC,
          senderIdentity: identity,
          attributes: { 'lk.transcribed_track_id': trackSid, 'lk.transcription_final': 'true' },
        });
        await writer.write(text);
        await writer.close();
      } catch (err) {
        log('warn', 'agent: could not publish a coach line to the room', { ...fields, error: describeError(err).errorMessage });
      }
    };
    ctx.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub: RemoteTrackPublication, participant: RemoteParticipant) =>
      listenToCoach(track, participant),
    );
    ctx.room.on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
      if (!track.sid) return;
      listeners.get(track.sid)?.close();
      listeners.delete(track.sid);
    });
    for (const p of ctx.room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) if (pub.track) listenToCoach(pub.track, p);
    }
    // ---- packets from the server (never from participants) ------------------------------------
    const whispersSeen = new Set<string>();
    const onServerPacket = async (payload: Uint8Array, topic: string | undefined) => {
      const opened = await inspectPacket(packets, topic, payload);
      if ('refused' in opened) {
        // The topic and the reason only: a packet's body may hold a coach's words.
        if (opened.refused === 'not-sealed') log('warn', 'agent: a packet not sealed for this session was ignored', { ...fields, topic });
        if (opened.refused === 'malformed') log('warn', 'agent: a malformed packet was ignored', { ...fields, topic });
        return;
      }
      const body = opened.packet.body;
      if (body.type === 'coach-mute') {
        applyControl({ muted: body.muted, version: body.version });
      } else if (body.type === 'whisper') {
        if (whispersSeen.has(body.id)) return; // a resent packet
        whispersSeen.add(body.id);
        void tellModel('system', phrases.whisper(body.text));
        log('info', 'agent: coach whisper applied', fields);
      } else if (body.type === 'warning') {
        session.say(phrases.warning(body.minutesLeft));
      } else if (body.type === 'ended' && body.reason === 'cap' && !ending) {
        ending = true;
        session.interrupt();
        session.say(phrases.goodbye(context.client.displayName), { allowInterruptions: false });
      }
    };
    ctx.room.on(RoomEvent.DataReceived, (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string) => {
      // Only the server (the Worker through RoomService) may steer the agent, and only with a sealed packet.
      if (participant !== undefined) return;
      onServerPacket(payload, topic).catch((err: unknown) =>
        log('warn', 'agent: a server packet could not be read', { ...fields, error: describeError(err).errorMessage }),
      );
    });

    await session.start({ agent, room: ctx.room, inputOptions: { ...ROOM_INPUT, participantIdentity: clientId } });
    // Portals say plainly when the AI runs on the offline stand-ins.
    await ctx.room.localParticipant?.setAttributes({ [AI_MODE_ATTRIBUTE]: config.providers.mode === 'standin' ? 'offline' : 'live' });
    log('info', 'agent: in the room', { ...fields, pid: process.pid, providers: config.providers.mode, coachMuted: control.muted });
    // Greet the client by name once they are here (they may already be).
    await ctx.waitForParticipant(clientId);
    session.say(context.history.length === 0 ? phrases.greeting(context.client.displayName) : phrases.welcomeBack);
  },
});
