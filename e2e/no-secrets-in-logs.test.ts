/**
 * "No log line, error message or email contains transcript text, intake answers, note text, passwords,
 * tokens or grants" (issue 17), end to end: a client claims their account, signs in with a password,
 * resets it, answers the intake, and has a whole session with the AI coach (the real agent-host worker
 * against the speech and model stand-ins) that a coach joins, whispers in and writes a note about; then
 * exports their data. Every value that must never be logged is kept as it goes by, and at the end every
 * line the stack's processes logged (the Worker at every level, the agent-host, livekit-server: see
 * `logDirs` in e2e/stack.ts), every error answer, and every email in Mailpit is searched for each.
 * Emailed links carry their own token by design: a claim or reset token may appear in its own email only.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { SUMMARY_MARKER } from '../agent-host/src/agent/summary';
import { type MailMessage, type MailSummary, mailpit } from '../shared/test/mailpit';
import {
  api,
  apiOk,
  createClient,
  createCoach,
  eventually,
  login,
  type RoomTicket,
  skipAfterFirstFailure,
  TestParticipant,
  type TranscriptLine,
} from './helpers';
import { linkIn, waitForMail } from './mail';
import { queryLocalD1 } from './stack';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from './voice';

const RUN = Date.now().toString(36);
const CLIENT = { email: `logs-client-${RUN}@example.com`, name: 'Quinn Quiet' };
const COACH = { email: `logs-coach-${RUN}@example.com`, name: 'Harper Hush' };
const FIRST_PASSWORD = `first marble staircase ${RUN}`;
const WRONG_PASSWORD = `wrong lantern orchard ${RUN}`;
const NEW_PASSWORD = `second copper meadow ${RUN}`;
const GOALS = `Sleep past four without the churning thoughts ${RUN}`;
const SYMPTOMS = `Tingling hands and a tight throat at meetings ${RUN}`;
const REFUSED_ANSWER = `${'x'.repeat(1990)} refused-intake-${RUN}`;
const NOTE = `Her brother's illness weighs on her ${RUN}`;
const WHISPER = `Ask about the letter from her landlord ${RUN}`;
/** Spoken into the call (the speech stand-in knows each recording): no run id, the voice must say it. */
const CLIENT_SAYS = 'The pharmacy changed my tablets and I feel foggy.';
const AI_SAYS = 'Thank you for noticing that fog. What time of day is it heaviest?';
const SUMMARY = {
  summary: `Quinn noticed fog after a change of tablets ${RUN}.`,
  keyInsights: [`Fog is heaviest in the morning ${RUN}`],
  nextSteps: ['Ask the pharmacist about timing'],
  newFacts: [`Takes tablets from the corner pharmacy ${RUN}`],
  challenges: ['Morning fog'],
};

/** A value that must appear nowhere; `allowedIn` names the one email that carries it by design. */
interface Secret {
  what: string;
  value: string;
  allowedIn?: (mail: MailMessage) => boolean;
}
const secrets: Secret[] = [
  { what: 'a password', value: FIRST_PASSWORD },
  { what: 'a wrong password', value: WRONG_PASSWORD },
  { what: 'a password', value: NEW_PASSWORD },
  { what: 'the demo password', value: inject('demoPassword') },
  { what: 'an intake answer', value: GOALS },
  { what: 'an intake answer', value: SYMPTOMS },
  { what: 'a refused intake answer', value: `refused-intake-${RUN}` },
  { what: 'note text', value: NOTE },
  { what: 'a whisper', value: WHISPER },
  { what: 'transcript text', value: CLIENT_SAYS },
  { what: 'transcript text', value: AI_SAYS },
  { what: 'the summary', value: SUMMARY.summary },
  { what: 'a summary insight', value: SUMMARY.keyInsights[0]! },
  { what: 'a fact learned', value: SUMMARY.newFacts[0]! },
];
const keep = (what: string, value: string | undefined, allowedIn?: Secret['allowedIn']) => {
  if (!value) throw new Error(`no ${what} to keep`);
  secrets.push({ what, value, ...(allowedIn ? { allowedIn } : {}) });
  return value;
};
const BINDING_COOKIE = '__Host-hc_login';
const toClient = (subject: string) => (mail: MailMessage) => mail.Subject === subject && (mail.To ?? []).some((t) => t.Address === CLIENT.email);
const CLAIM_SUBJECT = 'Set your Hybrid Coach password';
const RESET_SUBJECT = 'Reset your Hybrid Coach password';

/**
 * A sign-in step that answers a grant (login, claim, reset), then the exchange for a session token, as the
 * portals do; the grant, the browser-binding cookie and the session token are kept as secrets.
 */
async function signInThrough(path: string, body: unknown): Promise<string> {
  const res = await fetch(`${inject('apiOrigin')}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await res.json()) as { success: boolean; data?: { grant?: string } };
  if (res.status !== 200 || !answer.data?.grant) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(answer)}`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${BINDING_COOKIE}=`));
  const binding = keep('a browser-binding cookie', cookie?.split(';')[0]?.slice(BINDING_COOKIE.length + 1));
  const grant = keep('a sign-in grant', answer.data.grant);
  const { token } = await apiOk<{ token: string }>('POST', '/api/auth/exchange', { body: { grant }, headers: { Cookie: `${BINDING_COOKIE}=${binding}` } });
  return keep('a session token', token);
}

/** Every file under `dir`, recursively, as text. */
const filesUnder = (dir: string): { name: string; text: string }[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((name) => ({ name, text: readFileSync(name, 'utf8') }));

const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

describe('no log line, error message or email holds a secret or a client’s words', () => {
  let standins: Standins;
  let agent: AgentProcess;
  let outboxDir = '';
  let clientId = '';
  let clientToken = '';
  let coachToken = '';
  let ticket: RoomTicket | undefined;
  let participant: TestParticipant | undefined;
  let mic: Microphone | undefined;
  /** Bodies of the error answers the API gave along the way. */
  const errorAnswers: string[] = [];

  beforeAll(async () => {
    standins = await startStandins({
      stt: DISTINCT_PHRASES,
      sttPhrases: [CLIENT_SAYS],
      chatScript: {
        rules: [
          { when: SUMMARY_MARKER, reply: JSON.stringify(SUMMARY) },
          { when: 'pharmacy', reply: AI_SAYS },
        ],
        defaultReply: 'Tell me more.',
      },
    });
    outboxDir = mkdtempSync(join(tmpdir(), 'hc-agent-outbox-'));
    agent = await AgentProcess.startOffline(standins, outboxDir);
    await createClient(CLIENT.email, CLIENT.name, 'PREMIUM');
    // A placeholder from the Skool sync: never claimed, so "forgot password" sends the claim link.
    await queryLocalD1(inject('persistDir'), `UPDATE users SET password_hash = NULL WHERE email = '${CLIENT.email}';`);
    await createCoach(COACH.email, COACH.name);
    coachToken = keep('a session token', await login(COACH.email));
  }, 120_000);

  afterAll(async () => {
    mic?.stop();
    await participant?.disconnect();
    if (ticket) await roomService.deleteRoom(ticket.roomName).catch(() => undefined);
    await agent?.stop();
    await standins?.close();
    rmSync(outboxDir, { recursive: true, force: true });
  });

  skipAfterFirstFailure();

  it('claims the account by email, signs in with a password (after a wrong one), and resets it by email', async () => {
    await apiOk('POST', '/api/auth/password/forgot', { body: { email: CLIENT.email } });
    const claimMail = await waitForMail(CLIENT.email, { subject: CLAIM_SUBJECT, timeoutMs: 20_000 });
    const claimToken = keep('a claim token', linkIn(claimMail.Text, '/claim').searchParams.get('token') ?? undefined, toClient(CLAIM_SUBJECT));
    await signInThrough('/api/auth/claim', { token: claimToken, password: FIRST_PASSWORD });

    const wrong = await api('POST', '/api/auth/login', { body: { email: CLIENT.email, password: WRONG_PASSWORD } });
    expect(wrong.status).toBe(401);
    errorAnswers.push(JSON.stringify(wrong.body));
    await signInThrough('/api/auth/login', { email: CLIENT.email, password: FIRST_PASSWORD });

    await apiOk('POST', '/api/auth/password/forgot', { body: { email: CLIENT.email } });
    const resetMail = await waitForMail(CLIENT.email, { subject: RESET_SUBJECT, timeoutMs: 20_000 });
    const resetToken = keep('a reset token', linkIn(resetMail.Text, '/reset').searchParams.get('token') ?? undefined, toClient(RESET_SUBJECT));
    clientToken = await signInThrough('/api/auth/password/reset', { token: resetToken, password: NEW_PASSWORD });
    // A used link is refused: its error answer is searched too.
    const again = await api('POST', '/api/auth/password/reset', { body: { token: resetToken, password: `${NEW_PASSWORD} again` } });
    expect(again.status).toBe(401);
    errorAnswers.push(JSON.stringify(again.body));
    secrets.push({ what: 'a password', value: `${NEW_PASSWORD} again` });
  });

  it('answers the intake; an answer too long is refused without being repeated', async () => {
    const refused = await api('PATCH', '/api/users/me/profile', { token: clientToken, body: { coachingGoals: REFUSED_ANSWER } });
    expect(refused.status).toBe(400);
    errorAnswers.push(JSON.stringify(refused.body));
    const profile = await apiOk<{ coachingGoals: string; symptoms: string }>('PATCH', '/api/users/me/profile', {
      token: clientToken,
      body: { coachingGoals: GOALS, symptoms: SYMPTOMS, initialMood: 3 },
    });
    expect(profile).toMatchObject({ coachingGoals: GOALS, symptoms: SYMPTOMS });
    // Sealed at rest: the column holds neither answer.
    const [row] = await queryLocalD1<{ user_id: string; coaching_goals: string; symptoms: string }>(
      inject('persistDir'),
      `SELECT p.user_id, p.coaching_goals, p.symptoms FROM profiles p JOIN users u ON u.id = p.user_id WHERE u.email = '${CLIENT.email}';`,
    );
    clientId = row?.user_id ?? '';
    expect(row?.coaching_goals).toMatch(/^enc:v1\./);
    expect(row?.symptoms).toMatch(/^enc:v1\./);
  });

  it('has a session: the AI greets, hears and answers; a coach joins, whispers and writes a note; it ends with a summary', async () => {
    ticket = await apiOk<RoomTicket>('POST', '/api/rooms', { token: clientToken }, 201);
    keep('a LiveKit room token', ticket.token);
    const sessionId = ticket.sessionId;
    const transcript = async () => (await apiOk<{ transcript: TranscriptLine[] }>('GET', `/api/sessions/${sessionId}`, { token: clientToken })).transcript;
    const lineSaying = (text: string) =>
      eventually(`a transcript line saying "${text}"`, async () => (await transcript()).find((l) => l.text === text), {
        timeoutMs: 45_000,
        describe: () => agent.output.slice(-10).join(''),
      });

    participant = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
    mic = await Microphone.publish(participant.room);
    await eventually('the greeting in the transcript', async () => (await transcript()).find((l) => l.speakerRole === 'ai'), {
      timeoutMs: 45_000,
      describe: () => agent.output.slice(-20).join(''),
    });
    const joined = await apiOk<{ token: string }>('POST', `/api/rooms/${sessionId}/join`, { token: coachToken });
    keep('a LiveKit room token', joined.token);
    await apiOk('POST', `/api/rooms/${sessionId}/whisper`, { token: coachToken, body: { text: WHISPER } }, 201);
    await mic.say(CLIENT_SAYS);
    await lineSaying(CLIENT_SAYS);
    await lineSaying(AI_SAYS);

    const note = await apiOk<{ id: string; text: string }>(
      'POST',
      `/api/clients/${clientId}/notes`,
      { token: coachToken, body: { text: NOTE, shareableWithAi: true } },
      201,
    );
    expect(note.text).toBe(NOTE);
    const [stored] = await queryLocalD1<{ text: string }>(inject('persistDir'), `SELECT text FROM client_notes WHERE id = '${note.id}';`);
    expect(stored?.text).toMatch(/^enc:v1\./);
    // The coach's sidebar reads the intake answers back.
    const sidebar = await apiOk<{ profile: { coachingGoals: string } }>('GET', `/api/coach/clients/${clientId}`, { token: coachToken });
    expect(sidebar.profile.coachingGoals).toBe(GOALS);

    await apiOk('POST', `/api/rooms/${sessionId}/end`, { token: clientToken });
    await eventually(
      'the AI summary on the session',
      async () => (await apiOk<{ aiSummary: string | null }>('GET', `/api/sessions/${sessionId}`, { token: clientToken })).aiSummary?.includes(SUMMARY.summary),
      { timeoutMs: 45_000, describe: () => agent.output.slice(-10).join('') },
    );
  });

  it('exports the client’s data', async () => {
    const res = await fetch(`${inject('apiOrigin')}/api/users/me/export`, { headers: { Authorization: `Bearer ${clientToken}` } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(bytes.length).toBeGreaterThan(0);
  });

  it('finds none of those values in any log line, error answer or email', async () => {
    // What was captured, by process. Each must hold lines of this test's run, or the search proves nothing.
    const workerLogs = [...new Set(inject('logDirs'))].flatMap(filesUnder);
    expect(workerLogs.some((f) => f.text.includes('"msg":"account claimed"') && f.text.includes(clientId))).toBe(true);
    expect(workerLogs.some((f) => f.text.includes('"msg":"password reset"'))).toBe(true);
    expect(workerLogs.some((f) => f.text.includes('"msg":"data export"') && f.text.includes(clientId))).toBe(true);
    expect(agent.mentions('registered worker')).toBe(true);
    expect(agent.outputDropped).toBe(0);
    const sources = [
      ...workerLogs.map((f) => ({ where: `log ${f.name}`, text: f.text })),
      { where: 'the agent-host’s output', text: agent.output.join('') },
      ...errorAnswers.map((text, i) => ({ where: `error answer ${i + 1}`, text })),
    ];

    const box = mailpit(inject('mailpitUrl'));
    const list = await (await fetch(`${inject('mailpitUrl')}/api/v1/messages?limit=5000`)).json();
    const mails = await Promise.all((list as { messages: MailSummary[] }).messages.map((m) => box.messageById(m.ID)));
    expect(mails.filter(toClient(CLAIM_SUBJECT))).toHaveLength(1);

    const found: string[] = [];
    for (const secret of secrets) {
      for (const source of sources) {
        // Each line that holds it, the value itself masked: says where it leaked without repeating it.
        for (const line of source.text.split('\n').filter((l) => l.includes(secret.value))) {
          found.push(`${secret.what} in ${source.where}: ${line.split(secret.value).join('<HERE>').slice(0, 400)}`);
        }
      }
      for (const mail of mails) {
        const text = [mail.Subject, mail.Text, mail.HTML].join('\n');
        if (text.includes(secret.value) && !secret.allowedIn?.(mail))
          found.push(`${secret.what} in the email "${mail.Subject}" to ${mail.To?.map((t) => t.Address).join(', ')}`);
      }
    }
    expect(found).toEqual([]);
  });
});
