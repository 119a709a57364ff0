/** Small tools for the end-to-end tests: the API over HTTP, polling, LiveKit participants and their inboxes. */

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import { type DisconnectReason, type RemoteParticipant, Room, RoomEvent } from '@livekit/rtc-node';
import { TOTP } from 'otpauth';
import puppeteer, { type Browser, type BrowserContext, type Page, type Viewport } from 'puppeteer-core';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { DEFAULT_CHROMIUM_PATH, HEADLESS_FLAGS } from '../agent-host/src/skool/chromium';
import { isPortFree } from '../scripts/ports.mjs';

/** The answer of an API call: status and the parsed envelope. */
export interface ApiAnswer<T> {
  status: number;
  body: { success: true; data: T } | { success: false; error: { code: string; message: string } };
}

/** Calls the Worker over HTTP with the given bearer token; never throws on an error status. */
export async function api<T = unknown>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer<T>> {
  const res = await fetch(`${inject('apiOrigin')}${path}`, {
    method,
    headers: {
      ...options.headers,
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
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  expected = 200,
): Promise<T> {
  const answer = await api<T>(method, path, options);
  if (answer.status !== expected || !answer.body.success) {
    throw new Error(`${method} ${path}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body.data;
}

const BINDING_COOKIE = '__Host-hc_login';

/** POST on the Worker from Node with the browser-binding cookie; the status and the envelope. */
async function postBound<T>(path: string, body: unknown, binding: string | undefined) {
  const res = await fetch(`${inject('apiOrigin')}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(binding ? { Cookie: `${BINDING_COOKIE}=${binding}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const answer = (await res.json()) as ApiAnswer<T>['body'];
  if (res.status !== 200 || !answer.success) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(answer)}`);
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${BINDING_COOKIE}=`));
  return { data: answer.data, binding: set?.split(';')[0]?.slice(BINDING_COOKIE.length + 1) ?? binding };
}

/** The code of a base32 TOTP secret for a 30-second step (the current one unless told). */
export function totpCode(secret: string, step = totpStep()): string {
  return new TOTP({ secret, algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: step * 30_000 });
}

/** The current TOTP step (30 seconds since the epoch). */
export const totpStep = (now = Date.now()): number => Math.floor(now / 30_000);

/** Staff MFA these helpers set up (admins must have it), by email: the secret, unused recovery codes, the last step used. */
const staffMfa = new Map<string, { secret: string; recoveryCodes: string[]; lastStep: number }>();

type LoginStep = { grant: string } | { mfaRequired: true; challenge: string } | { mfaEnrollmentRequired: true; challenge: string };

/**
 * POST /api/auth/login from Node, sending `binding` as the browser would, and the MFA step after it
 * as a person would (admins set it up at their first sign-in; a code is good once, so a second
 * sign-in in the same 30 seconds sends the next step's code, which the Worker accepts, or a
 * recovery code); the grant and the binding cookie.
 */
async function apiLogin(email: string, binding?: string): Promise<{ grant: string; binding: string }> {
  const login = await postBound<LoginStep>('/api/auth/login', { email, password: inject('demoPassword') }, binding);
  const bound = login.binding;
  if (!bound) throw new Error(`POST /api/auth/login as ${email} set no browser-binding cookie (${BINDING_COOKIE})`);
  const step = login.data;
  if ('grant' in step) return { grant: step.grant, binding: bound };
  if ('mfaEnrollmentRequired' in step) {
    const { data: enrolment } = await postBound<{ secret: string }>('/api/auth/mfa/enrol', { challenge: step.challenge }, bound);
    const now = totpStep();
    const { data } = await postBound<{ grant: string; recoveryCodes: string[] }>(
      '/api/auth/mfa/enrol/confirm',
      { challenge: step.challenge, code: totpCode(enrolment.secret, now) },
      bound,
    );
    staffMfa.set(email, { secret: enrolment.secret, recoveryCodes: data.recoveryCodes, lastStep: now });
    return { grant: data.grant, binding: bound };
  }
  const known = staffMfa.get(email);
  if (!known) throw new Error(`${email} has two-step sign-in on, set up outside these helpers (in another test file?): give it an account of its own`);
  const next = Math.max(totpStep(), known.lastStep + 1);
  const proof = next <= totpStep() + 1 ? { code: totpCode(known.secret, next) } : { recoveryCode: known.recoveryCodes.shift() };
  const { data } = await postBound<{ grant: string }>('/api/auth/mfa', { challenge: step.challenge, ...proof }, bound);
  if ('code' in proof) known.lastStep = next;
  return { grant: data.grant, binding: bound };
}

/**
 * Signs in the way the portals do: password → single-use grant → session token. The grant is bound to
 * the browser that asked for it (the `__Host-hc_login` cookie the login sets), so the exchange sends
 * that cookie back, as the browser would.
 */
export async function login(email: string): Promise<string> {
  const { grant, binding } = await apiLogin(email);
  const { token } = await apiOk<{ token: string }>('POST', '/api/auth/exchange', { body: { grant }, headers: { Cookie: `${BINDING_COOKIE}=${binding}` } });
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
  /** The AI's `lk.agent.state` attribute as it changed (listening, thinking, speaking), in order. */
  readonly agentStates: { state: string; at: number }[] = [];

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
    this.room.on(RoomEvent.ParticipantAttributesChanged, (changed: Record<string, string>) => {
      const state = changed['lk.agent.state'];
      if (state) this.agentStates.push({ state, at: Date.now() });
    });
  }

  /**
   * Waits until the AI has spoken and gone back to listening since `since` (a Date.now() instant):
   * its answer has been played out in full, so nothing the test says next can cut it short.
   */
  aiDoneSpeaking(since: number, timeoutMs = 30_000): Promise<number> {
    return eventually(
      `${this.label} to hear the AI finish speaking`,
      () => {
        const spoke = this.agentStates.findIndex((s) => s.at >= since && s.state === 'speaking');
        if (spoke < 0) return undefined;
        return this.agentStates.slice(spoke + 1).find((s) => s.state === 'listening')?.at;
      },
      { timeoutMs, intervalMs: 50, describe: () => this.agentStates.filter((s) => s.at >= since - 5_000) },
    );
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

/** What POST /api/rooms answers: the session, its LiveKit room and a token to join it. */
export interface RoomTicket {
  sessionId: string;
  roomName: string;
  token: string;
  livekitUrl: string;
  capMinutes: number | null;
}

/** A line of a session's transcript, as GET /api/sessions/:id answers it. */
export interface TranscriptLine {
  kind: 'speech' | 'whisper';
  speakerIdentity: string;
  speakerRole: 'client' | 'coach' | 'ai';
  text: string;
  heardByAi: boolean;
}

/** The transcript of a session so far, read with `token` (its client's, or a coach's). */
export async function transcriptOf(sessionId: string, token: string): Promise<TranscriptLine[]> {
  return (await apiOk<{ transcript: TranscriptLine[] }>('GET', `/api/sessions/${sessionId}`, { token })).transcript;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- Portals in a real browser ---------------------------------------------------------------

/**
 * A client account of its own for a test file (FREE unless told), so its monthly allowance is not
 * shared with other files: the seed's free@example.com row copied under a new email, with the same
 * demo password, and an empty profile (onboarding not done).
 */
export async function createClient(
  email: string,
  displayName: string,
  tier: 'FREE' | 'VAGUS_MEMBER' | 'PREMIUM' = 'FREE',
  opts: { consented?: boolean } = {},
): Promise<void> {
  await copySeedUser('free@example.com', { email, displayName, role: 'CLIENT', tier, consented: opts.consented ?? true });
}

/** A coach account of a test file's own: the seed's coach@example.com row copied under a new email (same demo password). */
export async function createCoach(email: string, displayName: string): Promise<string> {
  return copySeedUser('coach@example.com', { email, displayName, role: 'COACH' });
}

/**
 * A seed account's row (for its password hash) copied into D1 under a new email; a client also gets an
 * empty profile and, as the seed's clients have, an agreement to the current consent text (unless
 * `consented: false`). Resolves with the new user's id.
 */
async function copySeedUser(
  seedEmail: string,
  user: { email: string; displayName: string; role: 'CLIENT' | 'COACH'; tier?: 'FREE' | 'VAGUS_MEMBER' | 'PREMIUM'; consented?: boolean },
): Promise<string> {
  const { queryLocalD1 } = await import('./stack');
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`;
  const id = `e2e-${user.email.replace(/[^a-z0-9]/gi, '-')}`;
  const now = Date.now();
  const profile =
    user.role === 'CLIENT' ? `INSERT INTO profiles (id, user_id, created_at, updated_at) VALUES (${q(`${id}-profile`)}, ${q(id)}, ${now}, ${now});` : '';
  const consent =
    user.role === 'CLIENT' && user.consented
      ? `INSERT INTO consent_records (id, user_id, version, agreed_at) VALUES (${q(`${id}-consent`)}, ${q(id)}, ${CONSENT_VERSION}, ${now});`
      : '';
  await queryLocalD1(
    inject('persistDir'),
    `INSERT INTO users (id, email, password_hash, display_name, role, membership_tier, is_available, created_at, updated_at)
       SELECT ${q(id)}, ${q(user.email)}, password_hash, ${q(user.displayName)}, ${q(user.role)}, ${user.tier ? q(user.tier) : 'membership_tier'}, 0, ${now}, ${now} FROM users WHERE email = ${q(seedEmail)};
     ${profile}
     ${consent}`,
  );
  return id;
}

/** Opens `portalOrigin`'s sign-in callback in `page` with a fresh grant for `email` (as the public site's sign-in would send them there). */
export async function openWithGrant(page: Page, portalOrigin: string, email: string, options: { waitUntil?: 'networkidle0' } = {}): Promise<void> {
  await page.goto(`${portalOrigin}/auth/callback?grant=${encodeURIComponent(await loginGrant(email, page))}`, options);
}

/**
 * A single-use sign-in grant for `email`, to open a portal's callback with in `page`. A grant works
 * only in the browser that signed in, so this signs in as that browser would on the public site: it
 * sends the browser's binding cookie for the API, if it has one, and leaves the one the API sets there.
 */
export async function loginGrant(email: string, page: Page): Promise<string> {
  const apiOrigin = inject('apiOrigin');
  const cdp = await page.createCDPSession();
  try {
    const { cookies } = await cdp.send('Network.getCookies', { urls: [apiOrigin] });
    const held = cookies.find((c) => c.name === BINDING_COOKIE)?.value;
    const { grant, binding } = await apiLogin(email, held);
    // Host-only (a url, no domain), HttpOnly, Secure, SameSite=Lax: what the login's Set-Cookie makes.
    const { success } = await cdp.send('Network.setCookie', {
      name: BINDING_COOKIE,
      value: binding,
      url: apiOrigin,
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      expires: Date.now() / 1000 + 600,
    });
    if (!success) throw new Error(`the browser refused the ${BINDING_COOKIE} cookie for ${apiOrigin}`);
    return grant;
  } finally {
    await cdp.detach();
  }
}

/** Headless Chromium flags that work on this project's machines (shared/TOOLCHAIN.md). */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', ...HEADLESS_FLAGS];

/**
 * Debian's Chromium (PUPPETEER_EXECUTABLE_PATH overrides it), headless with CHROMIUM_FLAGS and its
 * profile in `userDataDir`. `media` gives it a microphone that needs no prompt (Chromium's fake
 * device, or `micFile`, a WAV it plays in a loop) and lets audio play without a click first.
 */
export function launchChromium(
  userDataDir: string,
  options: { media?: boolean | { micFile: string }; lang?: string; autoplay?: boolean } = {},
): Promise<Browser> {
  const { media = false, lang, autoplay = Boolean(media) } = options;
  return puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH ?? DEFAULT_CHROMIUM_PATH,
    headless: true,
    args: [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${userDataDir}`,
      ...(lang ? [`--lang=${lang}`] : []),
      ...(media ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] : []),
      ...(typeof media === 'object' ? [`--use-file-for-fake-audio-capture=${media.micFile}`] : []),
      ...(autoplay ? ['--autoplay-policy=no-user-gesture-required'] : []),
    ],
  });
}

/**
 * For a describe whose steps build on each other: once one fails, the rest are skipped (they would
 * only time out), naming the step that failed.
 */
export function skipAfterFirstFailure(): void {
  let failedStep: string | undefined;
  beforeEach((ctx) => {
    if (failedStep) ctx.skip(`an earlier step failed: ${failedStep}`);
    ctx.onTestFailed(() => {
      failedStep ??= ctx.task.name;
    });
  });
}

/**
 * What a page said while a test used it (console lines, uncaught errors, requests that failed, its
 * addresses), kept so a failed wait can say what the page did instead: `explain(err)` prints the log's
 * end and what the page shows (`#main`), then rethrows.
 */
export function watchPage(page: Page): { lines: string[]; explain: (err: unknown) => Promise<never> } {
  const lines: string[] = [];
  const at = () => new Date().toISOString().slice(11, 23);
  page.on('console', (m) => lines.push(`${at()} ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`${at()} pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => lines.push(`${at()} requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) lines.push(`${at()} response: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) lines.push(`${at()} navigated: ${f.url()}`);
  });
  return {
    lines,
    explain: async (err: unknown) => {
      const shown = await page.$eval('#main', (m) => m.outerHTML).catch((e: unknown) => `(no #main: ${String(e)})`);
      console.log(`page at ${page.url()} when the wait failed (${at()}):\n${shown}\nits log:\n${lines.slice(-80).join('\n')}`);
      throw err;
    },
  };
}

/**
 * "End session" in the client portal's call room, once the room has connected: the connection line
 * above the controls has come and gone by then, and the locator clicks only a button that has stopped
 * moving (a click aimed a moment before a layout shift lands elsewhere).
 */
export async function endSessionInCall(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=call-room][data-connection=connected]', { timeout: 20_000 });
  await page.locator('::-p-text(End session)').click();
}

type Portal = 'public' | 'client' | 'coach';

/** What `browserTestFiles` gives a describe. */
export interface BrowserTestFiles {
  /** A path inside the work folder. */
  path(...parts: string[]): string;
  /** Saves a full-page screenshot of `page` named after the screen. */
  screenshot(page: Page, screen: string): Promise<void>;
  /** The screen at desktop width, then at phone width (`-desktop`, `-phone`); the page is left at `desktop` width. */
  screens(page: Page, screen: string, desktop?: { width: number; height: number }): Promise<void>;
  /** Debian's Chromium with its profile in the work folder (launchChromium's options). */
  chromium(chromiumOptions?: Parameters<typeof launchChromium>[1]): Promise<Browser>;
  /** Builds the portals into the work folder (in parallel), then serves each on its e2e origin. */
  portals(...names: Portal[]): Promise<void>;
}

/**
 * The files of the browser tests of one describe, made before its tests and removed after them (the
 * describe calls this before its own hooks, so they run inside these): a fresh work folder (portal
 * builds, the browser's profile, recordings) and screenshots in e2e/artifacts/<name>/, emptied first
 * unless `keepScreenshots` (a second describe adding to the first's), numbered in the order taken
 * after `firstShot`; the portals it builds there and serves, stopped after the tests.
 */
export function browserTestFiles(name: string, options: { keepScreenshots?: boolean; firstShot?: number } = {}): BrowserTestFiles {
  const artifacts = fileURLToPath(new URL(`artifacts/${name}`, import.meta.url));
  let dir = '';
  let shot = options.firstShot ?? 0;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(() => {
    if (!options.keepScreenshots) rmSync(artifacts, { recursive: true, force: true });
    mkdirSync(artifacts, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), `hc-${name}-`));
  });
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    path: (...parts: string[]) => join(dir, ...parts),
    screenshot: async (page: Page, screen: string) => {
      shot += 1;
      await page.screenshot({ path: join(artifacts, `${String(shot).padStart(2, '0')}-${screen}.png`) as `${string}.png`, fullPage: true });
    },
    /** The screen at desktop width, then at phone width (`-desktop`, `-phone`); the page is left at `desktop` width. */
    screens: async (page, screen, desktop = { width: 1200, height: 860 }) => {
      await page.setViewport(desktop);
      shot += 1;
      await page.screenshot({ path: join(artifacts, `${String(shot).padStart(2, '0')}-${screen}-desktop.png`) as `${string}.png`, fullPage: true });
      await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2 });
      await page.screenshot({ path: join(artifacts, `${String(shot).padStart(2, '0')}-${screen}-phone.png`) as `${string}.png`, fullPage: true });
      await page.setViewport(desktop);
    },
    chromium: (chromiumOptions) => launchChromium(join(dir, 'chromium'), chromiumOptions),
    portals: async (...names) => {
      await Promise.all(names.map((portal) => buildPortal(portal, join(dir, portal))));
      for (const portal of names) stops.push(await servePortal(portal, join(dir, portal)));
    },
  };
}

/** Runs the project's Vite with this Node; resolves with the child and its output so far (kept as it comes). */
async function vite(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, [`${root}node_modules/vite/bin/vite.js`, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

/**
 * Builds one portal with Vite into `outDir`, pointed at the e2e Worker and public site (and, for the
 * coach portal, the client portal it sends clients to); rejects with Vite's output if the build fails.
 */
export async function buildPortal(portal: Portal, outDir: string): Promise<void> {
  const { child, output } = await vite(['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    PORTAL: portal,
    HC_PUBLIC_API_URL: inject('apiOrigin'),
    HC_PUBLIC_PUBLIC_URL: inject('portalUrls').public,
    ...(portal === 'coach' ? { HC_PUBLIC_CLIENT_URL: inject('portalUrls').client } : {}),
    // The build's _headers allow this LiveKit server (and servePortal answers with them).
    HC_PUBLIC_LIVEKIT_URL: inject('livekitUrl'),
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0) throw new Error(`vite build of the ${portal} portal failed (exit ${code}):\n${output()}`);
}

/**
 * `vite preview` of a built portal on the origin the Worker allows for it (an earlier file may still
 * be letting go of the port); resolves once it answers, with a stop function that waits for the exit.
 * It answers with the build's Cloudflare Pages `_headers` (HC_PREVIEW_HEADERS, vite.config.ts), so the
 * portal runs under its real Content-Security-Policy.
 */
export async function servePortal(portal: Portal, outDir: string): Promise<() => Promise<void>> {
  const url = new URL(inject('portalUrls')[portal]);
  await eventually(`port ${url.port} to be free for the ${portal} portal`, () => isPortFree({ tcp: Number(url.port) }));
  const { child, output } = await vite(['preview', '--outDir', outDir, '--host', url.hostname, '--port', url.port, '--strictPort'], {
    PORTAL: portal,
    HC_PREVIEW_HEADERS: '1',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(`vite preview of the ${portal} portal at ${url.origin}`, async () => (await fetch(url.origin)).ok, {
    timeoutMs: 30_000,
    describe: output,
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
}

// ---- The coach portal and the agent-host's signed calls ---------------------------------------

/** The desktop width the coach portal's tests use. */
export const DESKTOP = { width: 1200, height: 860 } as const;

/**
 * A new page in `on` (a browser, or a context of its own for another person) for one portal: at `viewport`
 * (DESKTOP unless given), in `timeZone` if given, its errors and warnings printed in the test's output.
 */
export async function portalPage(
  on: Browser | BrowserContext,
  portal: 'coach' | 'client',
  options: { viewport?: Viewport; timeZone?: string } = {},
): Promise<Page> {
  const page = await on.newPage();
  if (options.timeZone) await page.emulateTimezone(options.timeZone);
  await page.setViewport(options.viewport ?? DESKTOP);
  page.on('pageerror', (e) => console.error(`${portal} portal page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('console', (m) => (m.type() === 'warn' || m.type() === 'error') && console.error(`${portal} portal console: ${m.text()}`));
  return page;
}

/**
 * A Chromium of the describe's own (`files`) with one `portalPage` for the coach portal, and a microphone
 * that needs no prompt (Chromium's fake device, a tone, unless `media` gives a WAV to play).
 */
export async function coachBrowser(
  files: BrowserTestFiles,
  options: { media?: true | { micFile: string }; autoplay?: boolean } = {},
): Promise<{ browser: Browser; page: Page }> {
  const browser = await files.chromium({ media: options.media ?? true, ...(options.autoplay === undefined ? {} : { autoplay: options.autoplay }) });
  return { browser, page: await portalPage(browser, 'coach') };
}

/** What openCoachPortal and openClientPortal share: the browser `opening` gives, its page signed in as `email` with `signIn`. */
async function signedIn(
  opening: Promise<{ browser: Browser; page: Page }>,
  signIn: (page: Page, email: string) => Promise<void>,
  email: string,
): Promise<{ browser: Browser; page: Page }> {
  const opened = await opening;
  await signIn(opened.page, email);
  return opened;
}

/** The coach portal signed in as `email` (`signInCoachPortal`) in a `coachBrowser`. */
export const openCoachPortal = (files: BrowserTestFiles, email: string, options: Parameters<typeof coachBrowser>[1] = {}) =>
  signedIn(coachBrowser(files, options), signInCoachPortal, email);

/** Signs `email` in to the coach portal in `page`, on its dashboard once the flags panel shows and the live crisis alerts are connected. */
export async function signInCoachPortal(page: Page, email: string): Promise<void> {
  await openWithGrant(page, coachPortalUrl(), email, { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-testid=flagged-sessions]', { timeout: 15_000 });
  await page.waitForSelector('[data-testid=staff-live][data-open=true]', { timeout: 15_000 });
}

/**
 * coachBrowser's twin for the client portal: a Chromium of the describe's own (`files`, launchChromium's
 * options: no microphone unless `media`) with one `portalPage` for the client portal.
 */
export async function clientBrowser(
  files: BrowserTestFiles,
  options: Parameters<typeof launchChromium>[1] & Parameters<typeof portalPage>[2] = {},
): Promise<{ browser: Browser; page: Page }> {
  const { viewport, timeZone, ...chromium } = options;
  const browser = await files.chromium(chromium);
  return { browser, page: await portalPage(browser, 'client', { viewport, timeZone }) };
}

/** The client portal signed in as `email` (`signInClientPortal`) in a `clientBrowser`: openCoachPortal's twin. */
export const openClientPortal = (files: BrowserTestFiles, email: string, options: Parameters<typeof clientBrowser>[1] = {}) =>
  signedIn(clientBrowser(files, options), signInClientPortal, email);

/** Signs `email` in to the client portal in `page`, on its dashboard once the plan banner shows. */
export async function signInClientPortal(page: Page, email: string): Promise<void> {
  await openWithGrant(page, inject('portalUrls').client, email, { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
}

/**
 * Closes what a call test held open, in order, whatever failed and whatever was never opened (for its
 * afterAll): the client's microphone and connection, the session (ended as its client), the browser,
 * the agent-host and the stand-ins.
 */
export async function closeCall(held: {
  mic?: { stop(): void } | undefined;
  client?: TestParticipant | undefined;
  session?: { id: string; clientToken: string } | undefined;
  browser?: Browser | undefined;
  agent?: { stop(): Promise<void> } | undefined;
  standins?: { close(): Promise<void> } | undefined;
}): Promise<void> {
  held.mic?.stop();
  await held.client?.disconnect();
  if (held.session?.id) await api('POST', `/api/rooms/${held.session.id}/end`, { token: held.session.clientToken }).catch(() => undefined);
  await held.browser?.close().catch(() => undefined);
  await held.agent?.stop();
  await held.standins?.close();
}

/**
 * Where the e2e Worker sends coaches after login (its COACH_APP_URL): a free port global-setup picked,
 * so a running `npm run dev` on 5171 is no obstacle. The coach portal's test serves it there.
 */
export const coachPortalUrl = (): string => inject('portalUrls').coach;

/**
 * POSTs to one of the agent-host's webhooks on the Worker (`/api/webhooks/agent/...`), signed with this
 * run's AGENT_HOST_SECRET as the agent-host signs it, as a job in the session's own room (the body's
 * `roomName`, unless given); resolves with `data`, throws on any other status.
 */
export async function agentPost<T = unknown>(
  path: string,
  payload: { sessionId: string; roomName?: string; [field: string]: unknown },
  idempotencyKey: string,
): Promise<T> {
  const { signedHeaders } = await import('@hybrid-coach/shared/signing');
  const body = JSON.stringify({ roomName: `session-${payload.sessionId}`, ...payload });
  const res = await fetch(`${inject('apiOrigin')}${path}`, {
    method: 'POST',
    headers: await signedHeaders(inject('agentHostSecret'), body, idempotencyKey),
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { data: T }).data;
}
