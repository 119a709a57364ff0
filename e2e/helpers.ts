/** Small tools for the end-to-end tests: the API over HTTP, polling, LiveKit participants and their inboxes. */
import { type DisconnectReason, type RemoteParticipant, Room, RoomEvent } from '@livekit/rtc-node';
import { inject } from 'vitest';

/** The answer of an API call: status and the parsed envelope. */
export interface ApiAnswer<T> {
  status: number;
  body: { success: true; data: T } | { success: false; error: { code: string; message: string } };
}

/** Calls the Worker over HTTP with the given bearer token; never throws on an error status. */
export async function api<T = unknown>(
  method: 'GET' | 'POST',
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<ApiAnswer<T>> {
  const res = await fetch(`${inject('apiOrigin')}${path}`, {
    method,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: ApiAnswer<T>['body'];
  try {
    body = JSON.parse(text) as ApiAnswer<T>['body'];
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body };
}

/** Like `api`, but throws (with the whole answer) unless the status is `expected`; resolves with `data`. */
export async function apiOk<T = unknown>(
  method: 'GET' | 'POST',
  path: string,
  options: { token?: string; body?: unknown } = {},
  expected = 200,
): Promise<T> {
  const answer = await api<T>(method, path, options);
  if (answer.status !== expected || !answer.body.success) {
    throw new Error(`${method} ${path}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body.data;
}

/** Signs in the way the portals do: password → single-use grant → session token. */
export async function login(email: string): Promise<string> {
  const { grant } = await apiOk<{ grant: string }>('POST', '/api/auth/login', {
    body: { email, password: inject('demoPassword') },
  });
  const { token } = await apiOk<{ token: string }>('POST', '/api/auth/exchange', { body: { grant } });
  return token;
}

/**
 * Calls `probe` until it returns a value other than undefined/false (or stops throwing), every
 * `intervalMs`, for at most `timeoutMs`. On timeout, the error names `what` and the last value seen.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 200, describe }: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = describe ? await describe() : value;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A data packet one participant received. `from` is undefined when the server sent it. */
export interface Packet {
  topic: string | undefined;
  payload: unknown;
  from: string | undefined;
  at: number;
}

/** A LiveKit participant for a test: its room, every data packet it received, and whether it was disconnected. */
export class TestParticipant {
  readonly room = new Room();
  readonly packets: Packet[] = [];
  /** Set when the Room reports a disconnection (by the server, or by our own disconnect()). */
  disconnected: { at: number; reason: DisconnectReason } | null = null;
  /** Called for each packet as it arrives (the stand-in agent acknowledges control packets here). */
  onPacket: ((packet: Packet) => void) | undefined;

  constructor(readonly label: string) {
    // Listen before connecting: a packet sent the moment the server admits us must not be missed.
    this.room.on(RoomEvent.DataReceived, (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string) => {
      const text = new TextDecoder().decode(payload);
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: keep the text.
      }
      const packet = { topic, payload: parsed, from: participant?.identity, at: Date.now() };
      this.packets.push(packet);
      this.onPacket?.(packet);
    });
    this.room.on(RoomEvent.Disconnected, (reason: DisconnectReason) => {
      this.disconnected ??= { at: Date.now(), reason };
    });
  }

  async connect(url: string, token: string): Promise<this> {
    await this.room.connect(url, token, { autoSubscribe: true, dynacast: false });
    return this;
  }

  /** Waits for a packet on `topic` matching `match`, received after index `since` of the inbox. */
  nextPacket(topic: string, match: (payload: Record<string, unknown>) => boolean, since = 0, timeoutMs = 15_000): Promise<Packet> {
    return eventually(
      `${this.label} to receive a packet on ${topic}`,
      () => this.packets.slice(since).find((p) => p.topic === topic && isRecord(p.payload) && match(p.payload)),
      { timeoutMs, intervalMs: 50, describe: () => this.packets },
    );
  }

  /** Safe to call twice or before connecting; never throws (used in afterAll). */
  async disconnect(): Promise<void> {
    try {
      if (this.room.isConnected) await this.room.disconnect();
    } catch (err) {
      console.error(`e2e: ${this.label} did not disconnect cleanly: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
