/**
 * The AI coach's reply latency and memory, `npx tsx bench/agent-latency.ts`.
 *
 * The real agent worker (agent-host, offline providers) in the real livekit-server, dispatched by the
 * real Worker (e2e/stack.ts). The Deepgram and OpenAI stand-ins run in a process of their own, as the
 * vendors do (standins-apart.ts: on this process's event loop, which paces the clients' microphones and
 * runs their ears, this bench's stalls were counted as the vendors'), and answer at fixed latencies (LATENCY):
 * speech-to-text's final comes the endpointing silence the plugin asks for (25 ms) after a
 * known phrase ends, plus sttFinalMs; the model's first token llmFirstTokenMs after the request and a
 * token every LLM_TOKEN_INTERVAL_MS after it, the voice's first audio ttsFirstByteMs after
 * the first text (or when espeak-ng has rendered it, if later). A client participant speaks espeak-ng
 * recordings through a published microphone; each turn is timed from the last audible sample leaving
 * the microphone to the first audible frame of the AI's track received in the room.
 *
 * The clock of that end of speech: the microphone has no queue (e2e/voice.ts `pacing: 'clock'`,
 * rtc-node queueSizeMs 0, which hands each 10 ms frame to WebRTC inside captureFrame), its frames are
 * paced by the wall clock and it sends silence between phrases, so the end is the moment the last
 * frame was captured, read directly (± one frame). Until 2026-12-05 it was `Date.now() +
 * queuedDuration` on the e2e tests' microphone, rtc-node's estimate of its 1 s native queue
 * (HC_BENCH_MIC=queue runs that one still). Each run checks its clock against the moment WebRTC's
 * sender was handed the phrase's last frame (a tap on the microphone's own track, bench/audible.ts):
 * the clock 0 ms (p90 1–3), the estimate 17–18 ms late (p90 13–17) in this bench and 11–15 ms in
 * bench/webrtc-floor.ts, each microphone its own offset. So the figures before then read ~15 ms low;
 * but the new microphone's audio also reaches the room ~15 ms sooner after that hand-off (floor
 * bench), so the totals moved less than the clock did.
 *
 * The baseline, measured in the same turn, is the time the providers themselves took (speech end →
 * the stand-in's final result, + the model's first-token wait and its streaming up to the first
 * sentence's last word, + the voice's first-byte wait and the silence its audio starts with); the
 * agent's own overhead is the rest: turn detection beyond the final, handing text on, publishing
 * audio, WebRTC both ways. The one-room turns come from SESSIONS sessions one after another (each
 * ended as its client ends it, its job process gone before the next opens), pooled, each session's own
 * p50 printed beside. Then, in the last of them, sentences with a 400 ms pause mid-sentence (PAUSED): a reply heard
 * before the sentence ends, or asked of the model without its second half, is premature. Then the
 * same turns with ROOMS rooms speaking at once, and the agent's memory (PSS and RSS of its process
 * group: the worker, its inference process and its job processes) idle and with 1 and ROOMS rooms,
 * and how much the last one-room session's job process grew from its first reply to the end of the paused
 * sentences (MiB a minute: a session that keeps what it has handled grows with its length; over the
 * bench's two minutes the heap's warm-up counts too: 4–5 MiB a minute on 2026-12-05, against ~15 when
 * every audio frame was kept, and a 10-minute room flat at 208–210 MiB RSS).
 * Prints a table, the targets (TARGETS) met or missed, and writes bench/results/agent-latency.json;
 * numbers are reported, never asserted.
 *
 * All of it once per speech-to-text model (STT_MODELS), each on a fresh stack in the same run: Deepgram
 * Flux (`flux-general-en`, the default: the plugin's STTv2 with an eager end of turn, which agents-js
 * starts the reply on; the stand-in's Flux delays are Deepgram's published ones,
 * agent-host/dev/standins/flux-session.ts) and nova-3 (`DEEPGRAM_STT_MODEL=nova-3`; its first signal is
 * the final transcript). The cost side: the
 * model calls per turn (every request counts, the ones agents-js discards too). Half the paused
 * sentences are known only whole, so Flux sends an eager end at the pause and withdraws it
 * (TurnResumed): the false start its extra calls come from.
 *
 *   HC_BENCH_TURNS (default 6) turns per phase (the one-room phase: per session);
 *   HC_BENCH_SESSIONS (default 3) sessions one after another for the one-room turns (SESSIONS);
 *   HC_BENCH_ROOMS (default and at most 3) rooms at once;
 *   HC_BENCH_STT (default "flux-general-en,nova-3") the models, in order;
 *   HC_BENCH_MIC=queue dates the end of speech by the old estimate (to compare the two clocks);
 *   HC_BENCH_STANDINS=inline runs the stand-ins in this process, as before 2026-12-05 (to compare);
 *   HC_BENCH_AGENT_LOG=<file> keeps the agent's output (its `agent: turn timing` lines are logged at info;
 *   with AGENT_LOG_LEVEL=debug also each job process's memory split, `agent: job process memory`);
 *   HC_BENCH_AGENT (default "build") the agent worker: the compiled agent-host as the image runs it
 *   (scripts/build-agent-host.mjs, built at the start), "source" the TypeScript under tsx as `npm run dev`
 *   runs it, "build,source" both, each on a fresh stack (the memory of the two side by side);
 *   HC_BENCH_LOCAL_EOT (default "off") agents-js's local end-of-turn model and its inference process:
 *   "off" as the agent-host runs (patches/ lets it leave them out), "on" agents-js as released, "off,on" both;
 *   HC_BENCH_MEMORY_ONLY=1 one turn per phase and no paused sentences: the memory figures, quickly (its
 *   latency figures are one turn each, not to be compared).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AudioStream, type RemoteAudioTrack, type RemoteParticipant, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { AgentDispatchClient } from 'livekit-server-sdk';
import { concatPcm, silence, speak } from '../agent-host/dev/standins/audio';
import { FLUX_EOT_MS, fluxTimings } from '../agent-host/dev/standins/flux-session';
import { openAiTokens } from '../agent-host/dev/standins/openai-chat';
import { trimToSpeech } from '../agent-host/dev/standins/utterances';
import { eventually, TestParticipant } from '../e2e/helpers';
import type { Stack } from '../e2e/stack';
import { type AgentForm, AgentProcess, DISTINCT_PHRASES, MIC_RATE, Microphone, type MicrophonePacing } from '../e2e/voice';
import { buildAgentHost } from '../scripts/build-agent-host.mjs';
import { AUDIBLE_RMS, AudibleEnds, rms } from './audible';
import { call, dataOf, login, machine, machineLine, printTable, quantile, runBench, writeResults } from './common';
import { type BenchStandins, startBenchStandins } from './standins-apart';

const MEMORY_ONLY = process.env.HC_BENCH_MEMORY_ONLY === '1';
const TURNS = MEMORY_ONLY ? 1 : Number(process.env.HC_BENCH_TURNS ?? 6);
/**
 * The one-room turns come from this many sessions one after another, TURNS each, pooled. Each session's
 * reply track draws its own alignment of WebRTC's 10 ms and 20 ms clocks and keeps it for its life
 * (bench/webrtc-floor.ts): one session's p50 moved 790–807 ms between runs with nothing changed, so a
 * p50 over one session measures one draw; users' turns come from many sessions.
 */
const SESSIONS = MEMORY_ONLY ? 1 : Number(process.env.HC_BENCH_SESSIONS ?? 3);
/** The fixed vendor latencies: the final transcript after the endpointing window (the stand-in honours at least 100 ms of it), the model's first token, the voice's first byte. */
const LATENCY = { sttFinalMs: 150, llmFirstTokenMs: 300, ttsFirstByteMs: 200 };
/**
 * The model's tokens after its first, one every 17 ms: gpt-4o-mini streams about 60 tokens a second
 * (46–70 measured, https://community.openai.com/t/inference-speed-of-different-models/1307310), cut as
 * OpenAI cuts them (openAiTokens: " sense", "." apart). A stand-in that sent the whole reply at once, or
 * whole words with their trailing space, would hand the voice its first sentence sooner than the model.
 */
const LLM_TOKEN_INTERVAL_MS = 17;
/** Targets (issue 18), printed as met or missed; never asserted. */
const TARGETS = { oneRoomP50: 800, oneRoomP90: 1000, roomsP50: 900, overheadP50: 150, premature: 0, perRoomMiB: 150 };
/**
 * Sentences spoken with a 400 ms pause in the middle. `halves`: each half is a phrase the stand-in
 * knows, so it finalises the first half at the pause, as Deepgram does with the plugin's 25 ms
 * endpointing (Flux: a whole end of turn): only the agent's own turn-taking keeps it from answering
 * then. `whole`: only the paused recording is known, so nova-3 waits the pause out, and Flux sends an
 * eager end of turn on the first words and withdraws it when speech comes back (TurnResumed).
 */
const PAUSED: Array<{ halves: [string, string]; known: 'halves' | 'whole' }> = [
  { halves: ['I could not sleep', 'because of the noise outside.'], known: 'halves' },
  { halves: ['I keep waking up', 'at four in the morning.'], known: 'whole' },
  { halves: ['My neck hurts', 'when I wake up in the morning.'], known: 'halves' },
  { halves: ['My chest feels tight', 'whenever I think about work.'], known: 'whole' },
];
const STT_MODELS = (process.env.HC_BENCH_STT ?? 'flux-general-en,nova-3').split(',').map((m) => m.trim());
/** A comma-separated list from the environment (`fallback` when unset), each value one of `allowed`, in the order given. */
function envChoices<T extends string>(name: string, fallback: T, allowed: readonly T[]): T[] {
  const values = (process.env[name] ?? fallback).split(',').map((v) => v.trim());
  for (const v of values) if (!(allowed as readonly string[]).includes(v)) throw new Error(`${name}: ${allowed.join(' or ')}, not ${v}`);
  return values as T[];
}
/** The agent worker's forms, in order (e2e/voice.ts AgentForm): compiled unless HC_BENCH_AGENT says otherwise. */
const AGENT_FORMS = envChoices<AgentForm>('HC_BENCH_AGENT', 'build', ['build', 'source']);
/** LIVEKIT_AGENTS_LOCAL_EOT for the agent, in order (agent-host/src/agent/main.ts LOCAL_EOT_SWITCH): off unless HC_BENCH_LOCAL_EOT says otherwise. */
const LOCAL_EOT = envChoices<'off' | 'on'>('HC_BENCH_LOCAL_EOT', 'off', ['off', 'on']);
/** The client's microphone and so the clock of the end of speech (see the header): `clock` unless HC_BENCH_MIC=queue. */
const MIC_PACING: MicrophonePacing = process.env.HC_BENCH_MIC === 'queue' ? 'queue' : 'clock';
const PAUSE_MS = 400;
/** Where the stand-ins run (standins-apart.ts): a process of their own, as the vendors, unless HC_BENCH_STANDINS=inline. */
/** How often the bench's event loop is sampled for its delay (perf_hooks.monitorEventLoopDelay). */
const LOOP_SAMPLE_MS = 5;
const STANDINS_WHERE = process.env.HC_BENCH_STANDINS === 'inline' ? 'inline' : 'apart';
/** The seeded clients, one room each (the FREE one's first session of the month). */
const CLIENTS = ['premium@example.com', 'member@example.com', 'free@example.com'].slice(0, Number(process.env.HC_BENCH_ROOMS ?? 3));
const ROOMS = CLIENTS.length;
const PHRASES = ['I have been feeling anxious all week.', 'My shoulders are always tense.', 'I would like to sleep better.'];
const REPLY = 'That makes sense. Let us take one slow breath together.';
/**
 * The model's streaming until its first sentence is whole: up to the token that ends it (the model's
 * time). What the voice's text path adds after that (agents-js's markdown filter, the sentence
 * tokenizer) is the agent's.
 */
const FIRST_SENTENCE_STREAM_MS = openAiTokens(REPLY).findIndex((t) => /[.!?]/.test(t)) * LLM_TOKEN_INTERVAL_MS;

/** How long espeak-ng's rendering of `text` is silent before it becomes audible (the voice's own, not the agent's). */
async function leadingSilenceMs(text: string): Promise<number> {
  const rate = 24_000;
  const samples = await speak(text, { sampleRate: rate });
  const window = rate / 100;
  for (let at = 0; at + window <= samples.length; at += window) {
    if (rms(samples.subarray(at, at + window)) > AUDIBLE_RMS) return (at / rate) * 1000;
  }
  return 0;
}

/** The AI's audio as one participant hears it: when it was last audible, and each audible moment. */
class Ear {
  lastAudibleAt = 0;
  private readonly audible: number[] = [];
  constructor(track: RemoteAudioTrack) {
    void (async () => {
      for await (const frame of new AudioStream(track, { sampleRate: 48_000, numChannels: 1 })) {
        if (rms(frame.data) > AUDIBLE_RMS) {
          this.lastAudibleAt = Date.now();
          this.audible.push(this.lastAudibleAt);
          if (this.audible.length > 5000) this.audible.splice(0, 2500);
        }
      }
    })();
  }
  firstAfter(t: number): Promise<number> {
    return eventually('the AI to answer aloud', () => this.audible.find((a) => a > t), { timeoutMs: 30_000, intervalMs: 2 });
  }
  /** Resolves once the AI has been silent for `ms` (after having spoken since `since`). */
  quiet(since: number, ms = 1200): Promise<boolean> {
    return eventually('the AI to finish speaking', () => this.lastAudibleAt > since && Date.now() - this.lastAudibleAt > ms, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
  }
}

interface Room {
  email: string;
  /** The session's id and its client's bearer token, to end it (POST /api/rooms/{sessionId}/end). */
  sessionId: string;
  bearer: string;
  participant: TestParticipant;
  mic: Microphone;
  /** The microphone's own track, as WebRTC's sender is handed it: the check on the microphone's clock. */
  tap: AudibleEnds;
  ear: Ear;
}

interface Turn {
  totalMs: number;
  /** Speech end → the stand-in's first signal the reply can start on: nova-3's final result, Flux's eager end of turn. */
  sttMs: number;
  /** Speech end → the final transcript (Flux: its EndOfTurn; nova-3: the same as sttMs). */
  sttFinalMs: number;
  /** The voice's first audio after its first text (ttsFirstByteMs, or espeak-ng's render if longer); its leading silence is counted in providersMs. */
  ttsMs: number;
  providersMs: number;
  overheadMs: number;
  /** The timeline from speech end: the model's request, the voice's first text, its first audio. */
  llmRequestAtMs: number;
  ttsTextAtMs: number;
  ttsAudioAtMs: number;
  /** Speech end → the microphone's last audible frame handed to WebRTC (the clock's check: about 0 with `clock` pacing). */
  handedOffMs: number;
  /** `clock` pacing: the microphone's frames captured more than 10 ms late while it spoke the phrase. */
  micLateFrames: number;
}

async function openRoom(stack: Stack, http: Agent, email: string): Promise<Room> {
  const token = await login(http, stack, email);
  const ticket = dataOf<{ sessionId: string; token: string; livekitUrl: string; roomName: string }>(
    'POST /api/rooms',
    await call(http, stack.apiOrigin, 'POST', '/api/rooms', { headers: { Authorization: `Bearer ${token}` }, body: '' }),
    201,
  );
  const participant = new TestParticipant(email);
  const track = new Promise<RemoteAudioTrack>((resolve) => {
    participant.room.on(RoomEvent.TrackSubscribed, (t, _pub, p: RemoteParticipant) => {
      if (t.kind === TrackKind.KIND_AUDIO && p.attributes.role !== 'coach') resolve(t as RemoteAudioTrack);
    });
  });
  await participant.connect(ticket.livekitUrl, ticket.token);
  const mic = await Microphone.publish(participant.room, 'microphone', { pacing: MIC_PACING });
  const tap = new AudibleEnds(mic.track, { sampleRate: MIC_RATE, minRms: 0 });
  const opened = Date.now();
  // 90 s: the Worker dispatches again when no AI has joined 20 s after a dispatch (a lost dispatch is
  // then seen as a slow join, reported here, not as a failed bench).
  const ear = new Ear(
    await withTimeout(track, 90_000, `the AI's audio track in ${email}'s room`).catch(async (err: unknown) => {
      // What livekit-server holds for the room: no dispatch (the Worker never asked), or one whose job never ran.
      const dispatches = await new AgentDispatchClient(stack.livekitUrl.replace(/^ws/, 'http'), stack.livekitApiKey, stack.livekitApiSecret)
        .listDispatch(ticket.roomName)
        .then((ds) => JSON.stringify(ds.map((d) => ({ agentName: d.agentName, jobs: d.state?.jobs.map((j) => j.state?.status) ?? [] }))))
        .catch((e: unknown) => `(could not list: ${String(e)})`);
      throw new Error(`${String(err)}; livekit-server's dispatches for the room: ${dispatches}`);
    }),
  );
  progress(`${email}: the AI is in the room after ${((Date.now() - opened) / 1000).toFixed(1)} s`);
  // The greeting first: measure turns only once the AI has said hello and stopped.
  const joined = Date.now();
  await ear.firstAfter(joined);
  await ear.quiet(joined);
  progress(`${email}: greeted`);
  return { email, sessionId: ticket.sessionId, bearer: token, participant, mic, tap, ear };
}

/** Leaves a room: its microphone and ears stopped, the participant gone. */
async function leaveRoom(room: Room): Promise<void> {
  room.mic.stop();
  room.tap.close();
  await room.participant.disconnect();
}

/**
 * Ends a session as its client does (the Worker deletes the LiveKit room) and waits for its job
 * process (`jobPid`) to exit, so that the next session's memory and CPU are its own.
 */
async function endSession(stack: Stack, http: Agent, room: Room, jobPid: string | undefined): Promise<void> {
  dataOf(
    'POST /api/rooms/{sessionId}/end',
    await call(http, stack.apiOrigin, 'POST', `/api/rooms/${room.sessionId}/end`, { headers: { Authorization: `Bearer ${room.bearer}` }, body: '' }),
  );
  await leaveRoom(room);
  if (jobPid !== undefined)
    await eventually(`the ended session's job process ${jobPid} to exit`, () => !existsSync(`/proc/${jobPid}`), { timeoutMs: 90_000, intervalMs: 100 });
}

/** One turn in each of `rooms` at once; the breakdown comes from the stand-ins' own clocks. */
async function turnTogether(standins: BenchStandins, rooms: Room[], phrase: string, voiceLeadMs: number): Promise<Turn[]> {
  return Promise.all(
    rooms.map(async (room) => {
      const lateBefore = room.mic.late.frames;
      const end = await room.mic.sayTimed(phrase);
      const lateFrames = room.mic.late.frames - lateBefore;
      const first = await room.ear.firstAfter(end).catch(async (err: unknown) => {
        // What the speech-to-text stand-in made of the last utterances (scores only), and the microphone's stalls.
        const heard = (await standins.records()).heard.slice(-3);
        const what = heard.map((h) => `${h.transcript ? 'matched' : 'no match'}, best score ${h.bestScore?.toFixed(2) ?? '-'}`).join('; ');
        throw new Error(`${String(err)}; the stand-in's last utterances: ${what || 'none'}; frames late while speaking: ${lateFrames}`);
      });
      await room.ear.quiet(first);
      const handedOff = await room.tap.lastEndBefore(end + 200);
      if (handedOff === undefined) throw new Error("the microphone's own track never ended the phrase");
      return { end, first, handedOff, lateFrames };
    }),
  ).then(async (timings) => {
    const records = await standins.records();
    // What the reply can start on: Flux's eager end of turn when it sent one, else the final.
    const finals = records.heard.filter((h) => h.transcript && h.finalAt !== undefined).map((h) => ({ startAt: h.eagerAt ?? h.finalAt!, finalAt: h.finalAt! }));
    const ttsFirst = records.ttsFirstAudio;
    return timings.map(({ end, first, handedOff, lateFrames }) => {
      // The final and the reply's first audio that fall between this turn's speech end and its answer
      // (with rooms at once, each room's are the nearest ones before its answer).
      const final = finals.filter((h) => h.startAt > end && h.startAt < first).sort((a, b) => a.startAt - b.startAt)[0];
      const tts = ttsFirst.filter((x) => x.at > end && x.at < first).sort((a, b) => b.at - a.at)[0];
      if (final === undefined || tts === undefined) throw new Error('no stand-in timings for a turn (was the phrase recognised?)');
      const request = records.chatRequests.filter((r) => r.at > end && r.at < first).sort((a, b) => b.at - a.at)[0];
      if (request === undefined) throw new Error('no model request for a turn');
      const totalMs = first - end;
      const sttMs = final.startAt - end;
      const providersMs = sttMs + LATENCY.llmFirstTokenMs + FIRST_SENTENCE_STREAM_MS + tts.ms + voiceLeadMs;
      return {
        totalMs,
        sttMs,
        sttFinalMs: final.finalAt - end,
        ttsMs: tts.ms,
        providersMs,
        overheadMs: totalMs - providersMs,
        llmRequestAtMs: request.at - end,
        ttsTextAtMs: tts.at - tts.ms - end,
        ttsAudioAtMs: tts.at - end,
        handedOffMs: handedOff - end,
        micLateFrames: lateFrames,
      };
    });
  });
}

/** A paused sentence's recording: each half cut to its speech as the stand-in cuts it, PAUSE_MS of silence between. */
async function pausedRecording([first, second]: [string, string]): Promise<Int16Array> {
  const half = async (text: string) => trimToSpeech(await speak(text, { sampleRate: MIC_RATE }), MIC_RATE);
  return concatPcm(await half(first), silence(PAUSE_MS, MIC_RATE), await half(second));
}

interface PausedTurn {
  /** The AI was heard before the client finished, or its reply was asked for without the sentence's second half. */
  premature: boolean;
  totalMs: number;
}

/** Model requests between `from` and `to` (the cost side: discarded preemptive replies count too). */
const modelCalls = async (standins: BenchStandins, from: number, to: number) =>
  (await standins.records()).chatRequests.filter((r) => r.at >= from && r.at <= to).length;

/** Speaks a paused sentence in one room: did the AI answer before it was finished? */
async function pausedTurn(standins: BenchStandins, room: Room, recording: Int16Array, secondHalf: string): Promise<PausedTurn> {
  const end = await room.mic.playTimed(recording);
  const start = end - (recording.length / MIC_RATE) * 1000;
  const first = await room.ear.firstAfter(start);
  await room.ear.quiet(first);
  // The request the heard reply came from: the last one before it was heard.
  const request = (await standins.records()).chatRequests.filter((r) => r.at > start && r.at < first).sort((a, b) => b.at - a.at)[0];
  const asked = request?.lastMessage ?? '';
  const word = secondHalf.split(' ').at(-1)!.replace(/\W/g, '');
  return { premature: first < end || !asked.includes(word), totalMs: first - end };
}

/** RSS (MiB) and count of the processes in the agent's process group (the worker and its job processes). */
/** The fields of /proc/<pid>/stat after the command's name (0: state, 2: pgrp, 11: utime, 12: stime); throws once the process is gone. */
function statFields(pid: string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The processes of process group `pgid` now. */
function groupPids(pgid: number): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return Number(statFields(pid)[2]) === pgid;
    } catch {
      return false; // gone meanwhile
    }
  });
}

function groupRss(pgid: number): { mib: number; pssMib: number; processes: number } {
  let kib = 0;
  let pssKib = 0;
  let processes = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(rss?.[1] ?? 0);
      // PSS shares each library page among the processes that map it: RSS counts node, WebRTC and
      // onnxruntime once per process, though the machine holds them once.
      const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      pssKib += Number(pss?.[1] ?? 0);
      processes++;
    } catch {
      // Gone meanwhile.
    }
  }
  return { mib: Math.round(kib / 102.4) / 10, pssMib: Math.round(pssKib / 102.4) / 10, processes };
}

interface ProcessMemory {
  kind: 'worker' | 'job' | 'inference';
  pid: string;
  pssMib: number;
  rssMib: number;
  anonymousMib: number;
}

/** Each process of the group: what it is (agents-js's job and inference processes by their entry file), PSS, RSS, private anonymous memory (V8 heaps, malloc). */
function groupDetail(pgid: number): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  for (const pid of groupPids(pgid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const mib = (key: string) => Math.round(Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(roll)?.[1] ?? 0) / 1024);
      const kind = cmd.includes('job_proc_lazy_main') ? 'job' : cmd.includes('inference_proc_lazy_main') ? 'inference' : 'worker';
      out.push({ kind, pid, pssMib: mib('Pss'), rssMib: mib('Rss'), anonymousMib: mib('Anonymous') });
    } catch {
      // Gone meanwhile.
    }
  }
  return out.sort((a, b) => a.kind.localeCompare(b.kind));
}
/** Clock ticks a second, the unit of /proc/<pid>/stat's CPU times. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU seconds (user + system) `pids` have used so far, by /proc (a process gone counts 0). */
function cpuSeconds(pids: string[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = statFields(pid);
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks / CLK_TCK;
}

/** The job process of the one room open (the biggest, should a spare one be starting). */
function roomJob(pgid: number): { pid: string; pssMib: number; at: number } | undefined {
  const job = groupDetail(pgid)
    .filter((p) => p.kind === 'job')
    .sort((a, b) => b.pssMib - a.pssMib)[0];
  return job && { pid: job.pid, pssMib: job.pssMib, at: Date.now() };
}
const describeGroup = (ps: ProcessMemory[]) =>
  ps.map((p) => `${p.kind} ${p.pid}: PSS ${p.pssMib} MiB, RSS ${p.rssMib}, anonymous ${p.anonymousMib}`).join('\n  ');

const progress = (what: string) => process.stderr.write(`agent-latency: ${what}\n`);
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))]);
}
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => x.toFixed(0);

type Row = ReturnType<typeof row>;
const row = (label: string, turns: Turn[]) => {
  const p = (f: (t: Turn) => number, q: number) => quantile(turns.map(f), q);
  return {
    label,
    turns: turns.length,
    totalP50: p((t) => t.totalMs, 0.5),
    totalP90: p((t) => t.totalMs, 0.9),
    providersP50: p((t) => t.providersMs, 0.5),
    sttP50: p((t) => t.sttMs, 0.5),
    ttsP50: p((t) => t.ttsMs, 0.5),
    overheadP50: p((t) => t.overheadMs, 0.5),
    overheadP90: p((t) => t.overheadMs, 0.9),
    handedOffP50: p((t) => t.handedOffMs, 0.5),
    handedOffP90: p((t) => t.handedOffMs, 0.9),
    micLateFrames: turns.reduce((sum, t) => sum + t.micLateFrames, 0),
    timelineP50: {
      sttStart: p((t) => t.sttMs, 0.5),
      sttFinal: p((t) => t.sttFinalMs, 0.5),
      llmRequest: p((t) => t.llmRequestAtMs, 0.5),
      ttsText: p((t) => t.ttsTextAtMs, 0.5),
      ttsAudio: p((t) => t.ttsAudioAtMs, 0.5),
      heard: p((t) => t.totalMs, 0.5),
    },
  };
};

interface Memory {
  mib: number;
  pssMib: number;
  processes: number;
}

interface ModelRun {
  sttModel: string;
  agentForm: AgentForm;
  /** agents-js's local end-of-turn model and its inference process: left out (`off`, as the agent-host runs) or as released (`on`). */
  localEot: 'off' | 'on';
  results: [Row, Row];
  /** The one-room turns' p50 in each of the SESSIONS sessions (each its own reply track). */
  sessionP50s: number[];
  /**
   * Cores in use (CPU seconds a second, /proc): each one-room session's job process over its turns
   * after the first, and the whole process group (worker, inference, job processes) over the ROOMS
   * rooms' turns. Turns are mostly listening: the client speaks ~2 s, the AI ~3 s, then 1.2 s quiet.
   */
  cpu: { room: number[]; allRooms: number };
  paused: PausedTurn[];
  premature: number;
  /** Model requests per turn: one room, the paused sentences, the rooms at once. */
  modelCallsPerTurn: { oneRoom: number; paused: number; rooms: number };
  /** Flux's withdrawn eager ends (TurnResumed) over the whole run. */
  turnResumed: number;
  memory: { idle: Memory; oneRoom: Memory; allRooms: Memory };
  perRoomMiB: { pss: number; rss: number };
  /** A job process's own PSS with ROOMS rooms (mean): a room's cost without the worker's own ups and downs. */
  jobProcessPssMiB: number;
  /**
   * The last one-room session's job process from its first reply to the end of the paused sentences (PSS): a
   * session that holds what it has handled grows with its length, which a figure taken once hides.
   */
  sessionGrowth: { fromMib: number; toMib: number; seconds: number } | undefined;
  /** The clients' microphones: their pacing, and (`clock`) frames captured more than a frame late, summed over the rooms. */
  mic: { pacing: MicrophonePacing; lateFrames: number; worstLateMs: number };
  /** This process's event loop over the one-room sessions (how late its LOOP_SAMPLE_MS timer ticked): it runs the microphone's clock and the ear, and the stand-ins when inline. */
  benchLoopDelayMs: { p50: number; p99: number; max: number };
}

/** Every phase with the agent on one speech-to-text model, on its own stack. */
async function measure(stack: Stack, sttModel: string, agentForm: AgentForm, localEot: 'off' | 'on'): Promise<ModelRun> {
  const recordings = await Promise.all(PAUSED.map((p) => pausedRecording(p.halves)));
  const standins = await startBenchStandins(
    {
      stt: DISTINCT_PHRASES,
      sttPhrases: [
        ...PHRASES,
        ...PAUSED.filter((p) => p.known === 'halves').flatMap((p) => p.halves),
        ...PAUSED.flatMap((p, i) => (p.known === 'whole' ? [{ text: p.halves.join(' '), samples: recordings[i]!, sampleRate: MIC_RATE }] : [])),
      ],
      chatScript: { rules: [], defaultReply: REPLY },
      latencyMs: LATENCY,
      chat: { tokenIntervalMs: LLM_TOKEN_INTERVAL_MS },
    },
    STANDINS_WHERE,
  );
  const outboxDir = mkdtempSync(join(tmpdir(), 'hc-bench-outbox-'));
  // AgentProcess passes this process's environment on, under its own variables.
  process.env.DEEPGRAM_STT_MODEL = sttModel;
  process.env.LIVEKIT_AGENTS_LOCAL_EOT = localEot;
  const agent = await AgentProcess.startOfflineAt(standins, outboxDir, stack, agentForm);
  const http = new Agent({ keepAlive: true, maxSockets: 4 });
  const rooms: Room[] = [];
  try {
    const pgid = agent.pid!;
    // The reply's first sentence as the voice renders it starts with a little silence: the voice's time.
    const voiceLeadMs = await leadingSilenceMs(REPLY);
    console.log(`the voice's audio starts with ${ms(voiceLeadMs)} ms of silence (counted as the voice's time)\n`);
    await settle(3000);
    const memory = { idle: groupRss(pgid), oneRoom: groupRss(pgid), allRooms: groupRss(pgid) };
    progress(`memory idle, per process:\n  ${describeGroup(groupDetail(pgid))}`);

    // The one-room turns, in SESSIONS sessions of the first client one after another; the last one
    // goes on to the paused sentences and the rooms at once.
    const single: Turn[] = [];
    const sessionP50s: number[] = [];
    /** Each session's job process: CPU seconds per second over its turns after the first. */
    const sessionCpu: number[] = [];
    let singleCalls = 0;
    const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
    loop.enable();
    let sessionStart: { pid: string; pssMib: number; at: number } | undefined;
    for (let s = 0; s < SESSIONS; s++) {
      if (s > 0) await endSession(stack, http, rooms.pop()!, sessionStart?.pid);
      rooms.push(await openRoom(stack, http, CLIENTS[0]!));
      const turns: Turn[] = [];
      const from = Date.now();
      let cpuFrom: { seconds: number; at: number } | undefined;
      for (let i = 0; i < TURNS; i++) {
        turns.push(...(await turnTogether(standins, rooms.slice(0, 1), PHRASES[i % PHRASES.length]!, voiceLeadMs)));
        if (i === 0) {
          sessionStart = roomJob(pgid);
          if (sessionStart) cpuFrom = { seconds: cpuSeconds([sessionStart.pid]), at: performance.now() };
        }
      }
      if (sessionStart && cpuFrom && TURNS > 1) {
        sessionCpu.push((cpuSeconds([sessionStart.pid]) - cpuFrom.seconds) / ((performance.now() - cpuFrom.at) / 1000));
      }
      singleCalls += await modelCalls(standins, from, Date.now());
      single.push(...turns);
      sessionP50s.push(
        quantile(
          turns.map((t) => t.totalMs),
          0.5,
        ),
      );
    }
    loop.disable();
    const paused: PausedTurn[] = [];
    let from = Date.now();
    for (let i = 0; i < (MEMORY_ONLY ? 0 : Math.max(PAUSED.length, TURNS / 2)); i++) {
      paused.push(await pausedTurn(standins, rooms[0]!, recordings[i % PAUSED.length]!, PAUSED[i % PAUSED.length]!.halves[1]));
    }
    const pausedCalls = await modelCalls(standins, from, Date.now());
    memory.oneRoom = groupRss(pgid);
    const sessionEnd = groupDetail(pgid).find((p) => p.pid === sessionStart?.pid);
    const sessionGrowth =
      sessionStart && sessionEnd ? { fromMib: sessionStart.pssMib, toMib: sessionEnd.pssMib, seconds: (Date.now() - sessionStart.at) / 1000 } : undefined;

    for (const email of CLIENTS.slice(1)) rooms.push(await openRoom(stack, http, email));
    const together: Turn[] = [];
    from = Date.now();
    const pids = groupPids(pgid);
    const groupCpuFrom = { seconds: cpuSeconds(pids), at: performance.now() };
    for (let i = 0; i < TURNS; i++) together.push(...(await turnTogether(standins, rooms, PHRASES[i % PHRASES.length]!, voiceLeadMs)));
    const roomsCpu = (cpuSeconds(pids) - groupCpuFrom.seconds) / ((performance.now() - groupCpuFrom.at) / 1000);
    const togetherCalls = await modelCalls(standins, from, Date.now());
    memory.allRooms = groupRss(pgid);
    const processes = groupDetail(pgid);
    progress(`memory with ${ROOMS} rooms, per process:\n  ${describeGroup(processes)}`);
    const jobs = processes.filter((p) => p.kind === 'job');
    const mic = {
      pacing: MIC_PACING,
      lateFrames: rooms.reduce((sum, r) => sum + r.mic.late.frames, 0),
      worstLateMs: Math.max(...rooms.map((r) => r.mic.late.worstMs)),
    };
    return {
      sttModel,
      agentForm,
      localEot,
      results: [row('1 room', single), row(`${ROOMS} rooms at once`, together)],
      sessionP50s,
      cpu: { room: sessionCpu, allRooms: roomsCpu },
      paused,
      premature: paused.filter((t) => t.premature).length,
      modelCallsPerTurn: { oneRoom: singleCalls / single.length, paused: pausedCalls / paused.length, rooms: togetherCalls / together.length },
      turnResumed: (await standins.records()).turnResumed,
      memory,
      perRoomMiB: {
        pss: (memory.allRooms.pssMib - memory.idle.pssMib) / ROOMS,
        rss: (memory.allRooms.mib - memory.idle.mib) / ROOMS,
      },
      jobProcessPssMiB: jobs.reduce((sum, p) => sum + p.pssMib, 0) / Math.max(1, jobs.length),
      sessionGrowth,
      mic,
      // Node's histogram holds the time between its timer's ticks: the delay is what exceeds the interval.
      benchLoopDelayMs: {
        p50: Math.max(0, loop.percentile(50) / 1e6 - LOOP_SAMPLE_MS),
        p99: Math.max(0, loop.percentile(99) / 1e6 - LOOP_SAMPLE_MS),
        max: Math.max(0, loop.max / 1e6 - LOOP_SAMPLE_MS),
      },
    };
  } finally {
    for (const r of rooms) await leaveRoom(r);
    await agent.stop();
    if (process.env.HC_BENCH_AGENT_LOG) writeFileSync(`${process.env.HC_BENCH_AGENT_LOG}.${sttModel}.${agentForm}.eot-${localEot}`, agent.output.join(''));
    await standins.close();
    rmSync(outboxDir, { recursive: true, force: true });
  }
}

/** One model's tables and targets. */
function report(run: ModelRun): void {
  const { results, paused, premature, memory } = run;
  console.log(
    `\n== speech-to-text ${run.sttModel}, agent ${run.agentForm === 'build' ? 'compiled' : 'from source (tsx)'}, local end-of-turn model ${run.localEot === 'off' ? 'left out' : 'loaded (agents-js as released)'} ==`,
  );
  printTable(
    ['case', 'turns', 'total p50', 'total p90', 'providers p50', '(stt', 'tts)', 'overhead p50', 'overhead p90', 'total/providers', 'model calls/turn'],
    results.map((r, i) => [
      r.label,
      String(r.turns),
      ms(r.totalP50),
      ms(r.totalP90),
      ms(r.providersP50),
      ms(r.sttP50),
      ms(r.ttsP50),
      ms(r.overheadP50),
      ms(r.overheadP90),
      `${(r.totalP50 / r.providersP50).toFixed(2)}x`,
      (i === 0 ? run.modelCallsPerTurn.oneRoom : run.modelCallsPerTurn.rooms).toFixed(2),
    ]),
    new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  );
  for (const r of results) {
    const t = r.timelineP50;
    const stt = t.sttStart === t.sttFinal ? `STT final ${ms(t.sttFinal)} ms` : `STT eager end of turn ${ms(t.sttStart)} ms (final ${ms(t.sttFinal)})`;
    console.log(
      `${r.label}, from speech end (p50): ${stt} → model request ${ms(t.llmRequest)} → voice's first text ${ms(t.ttsText)} → its first audio ${ms(t.ttsAudio)} → heard in the room ${ms(t.heard)}`,
    );
  }
  const [one, all] = results;
  if (run.sessionP50s.length > 1) console.log(`1 room, each session's own p50 (its own reply track; pooled above): ${run.sessionP50s.map(ms).join(', ')} ms`);
  console.log(
    `the microphone (${run.mic.pacing}): its dated end of speech → its last frame handed to WebRTC p50 ${ms(one.handedOffP50)} ms, p90 ${ms(one.handedOffP90)} ` +
      `(1 room), p50 ${ms(all.handedOffP50)}, p90 ${ms(all.handedOffP90)} (${ROOMS} rooms)` +
      (run.mic.pacing === 'clock'
        ? `; ${run.mic.lateFrames} frames captured more than 10 ms late in the run (worst ${ms(run.mic.worstLateMs)} ms), ` +
          `${one.micLateFrames + all.micLateFrames} of them while a timed phrase was spoken`
        : ''),
  );
  const d = run.benchLoopDelayMs;
  console.log(
    `the bench's event loop over the 1-room sessions (the microphone's clock, the ear${STANDINS_WHERE === 'inline' ? ', the stand-ins' : ''}): ` +
      `delay p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)}, worst ${d.max.toFixed(0)}`,
  );
  console.log(
    `\n${paused.length} sentences with a ${PAUSE_MS} ms pause mid-sentence: ${premature} premature replies; reply after the whole sentence p50 ${ms(
      quantile(
        paused.map((t) => t.totalMs),
        0.5,
      ),
    )} ms; ${run.modelCallsPerTurn.paused.toFixed(2)} model calls per sentence; ${run.turnResumed} eager ends withdrawn (TurnResumed) in the run`,
  );
  const mem = (m: Memory) => `${m.pssMib} MiB PSS (${m.mib} RSS) in ${m.processes} processes`;
  console.log(
    `\nmemory of the agent's process group: idle ${mem(memory.idle)}; 1 room ${mem(memory.oneRoom)}; ${ROOMS} rooms ${mem(memory.allRooms)}; ` +
      `per added room ${run.perRoomMiB.pss.toFixed(0)} MiB PSS (${run.perRoomMiB.rss.toFixed(0)} RSS); a job process ${run.jobProcessPssMiB.toFixed(0)} MiB PSS`,
  );
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  if (run.cpu.room.length > 0)
    console.log(
      `CPU: a room's job process over its turns ${pct(quantile(run.cpu.room, 0.5))} of a core (each session: ${run.cpu.room.map(pct).join(', ')}); ` +
        `the agent's whole process group with ${ROOMS} rooms taking turns ${pct(run.cpu.allRooms)} of a core`,
    );
  const g = run.sessionGrowth;
  if (g)
    console.log(
      `a room's job process over its session (first reply → the paused sentences' end): ${g.fromMib} → ${g.toMib} MiB PSS in ${g.seconds.toFixed(0)} s, ` +
        `${(((g.toMib - g.fromMib) / g.seconds) * 60).toFixed(1)} MiB a minute (a short session's includes its warm-up, V8's heap growing to its working size; a leak shows as more, and keeps on)`,
    );
  const target = (what: string, value: number, limit: number, unit = 'ms') =>
    console.log(`target ${what} ≤ ${limit} ${unit}: ${value.toFixed(0)} ${unit} (${value <= limit ? 'met' : 'MISSED'})`);
  console.log('');
  target('1 room, total p50', results[0].totalP50, TARGETS.oneRoomP50);
  target('1 room, total p90', results[0].totalP90, TARGETS.oneRoomP90);
  target(`${ROOMS} rooms, total p50`, results[1].totalP50, TARGETS.roomsP50);
  target("1 room, the agent's overhead p50", results[0].overheadP50, TARGETS.overheadP50);
  target('premature replies into a mid-sentence pause', premature, TARGETS.premature, 'replies');
  target('memory per added room (PSS)', run.perRoomMiB.pss, TARGETS.perRoomMiB, 'MiB');
  console.log(`${ROOMS} rooms vs 1: overhead p50 ${(results[1].overheadP50 / Math.max(1, results[0].overheadP50)).toFixed(2)}x`);
}

console.log("The AI coach: end of the client's speech → first AI audio in the room, stand-ins at fixed latencies");
console.log(`${machineLine()}`);
console.log(
  `stand-in latencies: nova-3's final +${LATENCY.sttFinalMs} ms after the endpointing window the plugin asks (25 ms); ` +
    `Flux's eager end of turn ${fluxTimings({ eager_eot_threshold: '0.4' }).eagerMs} ms and end of turn ${FLUX_EOT_MS} ms into the silence (Deepgram's published figures); ` +
    `model first token ${LATENCY.llmFirstTokenMs} ms, then a token every ${LLM_TOKEN_INTERVAL_MS} ms (the first sentence is whole ${FIRST_SENTENCE_STREAM_MS} ms later); voice first byte ${LATENCY.ttsFirstByteMs} ms`,
);
console.log(
  STANDINS_WHERE === 'apart'
    ? "the stand-ins run in a process of their own, as the vendors do (HC_BENCH_STANDINS=inline: in the bench's)"
    : "the stand-ins run in the bench's own process, beside the microphones and ears (HC_BENCH_STANDINS=inline)",
);
console.log(
  MIC_PACING === 'clock'
    ? "end of speech: the capture of the client's last frame (a microphone with no queue, paced by the clock)\n"
    : "end of speech: rtc-node's estimate of the client's microphone queue (HC_BENCH_MIC=queue, the clock before 2026-12-05)\n",
);
if (AGENT_FORMS.includes('build')) await buildAgentHost();
const runs: ModelRun[] = [];
for (const sttModel of STT_MODELS) {
  for (const form of AGENT_FORMS) {
    for (const localEot of LOCAL_EOT) {
      progress(`speech-to-text ${sttModel}, agent ${form}, local end-of-turn model ${localEot}`);
      await runBench(async (stack) => {
        runs.push(await measure(stack, sttModel, form, localEot));
      });
      if (process.exitCode) break;
    }
    if (process.exitCode) break;
  }
  if (process.exitCode) break;
}
for (const run of runs) report(run);
if (runs.length > 1) {
  console.log('\nside by side (same run):');
  printTable(
    [
      'speech-to-text',
      'agent',
      'local EOT',
      '1 room p50',
      'p90',
      `${ROOMS} rooms p50`,
      'overhead p50',
      'premature',
      'model calls/turn',
      'paused',
      `${ROOMS} rooms`,
      'idle MiB PSS',
      'MiB/added room',
      'job process MiB',
    ],
    runs.map((r) => [
      r.sttModel,
      r.agentForm,
      r.localEot,
      `${ms(r.results[0].totalP50)} ${r.results[0].totalP50 <= TARGETS.oneRoomP50 ? 'met' : 'MISSED'}`,
      `${ms(r.results[0].totalP90)} ${r.results[0].totalP90 <= TARGETS.oneRoomP90 ? 'met' : 'MISSED'}`,
      `${ms(r.results[1].totalP50)} ${r.results[1].totalP50 <= TARGETS.roomsP50 ? 'met' : 'MISSED'}`,
      ms(r.results[0].overheadP50),
      String(r.premature),
      r.modelCallsPerTurn.oneRoom.toFixed(2),
      r.modelCallsPerTurn.paused.toFixed(2),
      r.modelCallsPerTurn.rooms.toFixed(2),
      r.memory.idle.pssMib.toFixed(0),
      `${r.perRoomMiB.pss.toFixed(0)} ${r.perRoomMiB.pss <= TARGETS.perRoomMiB ? 'met' : 'MISSED'}`,
      r.jobProcessPssMiB.toFixed(0),
    ]),
    new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
  );
}
if (runs.length > 0) {
  const file = writeResults('agent-latency', {
    machine: machine(),
    latencyMs: LATENCY,
    standins: STANDINS_WHERE,
    flux: { eotMs: FLUX_EOT_MS, eagerMs: fluxTimings({ eager_eot_threshold: '0.4' }).eagerMs },
    targets: TARGETS,
    runs: runs.map((r) => ({ ...r, paused: { pauseMs: PAUSE_MS, turns: r.paused, premature: r.premature } })),
  });
  console.log(`\nwrote ${file}`);
}
// rtc-node's native handles keep the event loop alive after the rooms are closed.
process.exit(process.exitCode ?? 0);
