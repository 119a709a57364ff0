/**
 * "Download my data" (issue 17): a zip with `export.json` (shared/src/data-export.ts, versioned) and
 * `export.html` (the same facts, readable), built as a stream: the zip is deflated as it is written and
 * the sessions are read a page at a time, once for each file, each page sent on before the next is read,
 * so a large account never sits in memory.
 *
 * Intake answers and shared notes are read through `intakeForExport` and `sharedNotesForExport` only:
 * the one place they are decrypted ("Protected at rest", lib/field-crypto.ts). Coaches' private
 * notes are not exported (README, "Your data": they are the coach's working notes, not the client's).
 */
import { type DataExport, EXPORT_FORMAT_VERSION, type ExportSession } from '@hybrid-coach/shared/data-export';
import { describeError, log } from '@hybrid-coach/shared/log';
import { and, asc, eq, gt, inArray, or } from 'drizzle-orm';
import { Deflate, type FlateError, Zip, ZipPassThrough } from 'fflate';
import type { Db } from '../db/client';
import { appointments, clientNotes, coachingSessions, consentRecords, crisisFlags, messages, profiles, sessionRatings, users } from '../db/schema';
import { decryptField, openProfile } from './field-crypto';

/** Sessions read in one D1 round trip (with their lines and ratings). */
export const EXPORT_PAGE_SIZE = 20;

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

/** The client's onboarding answers and what the coaching learnt; null before onboarding. */
export async function intakeForExport(env: Env, db: Db, userId: string): Promise<DataExport['profile']> {
  const p = await openProfile(env, await db.select().from(profiles).where(eq(profiles.userId, userId)).get());
  if (!p) return null;
  return {
    coachingGoals: p.coachingGoals,
    symptoms: p.symptoms,
    initialMood: p.initialMood,
    clientFacts: p.clientFacts,
    challenges: p.challenges,
    lastSummary: p.lastSummary,
    onboardingCompletedAt: isoOrNull(p.onboardingCompletedAt),
    preferences: p.preferences ?? null,
  };
}

/** Notes a coach shared with the AI coach about the client (never the private ones). */
export async function sharedNotesForExport(env: Env, db: Db, clientId: string): Promise<DataExport['sharedNotes']> {
  const rows = await db
    .select({ note: clientNotes, coachName: users.displayName })
    .from(clientNotes)
    .leftJoin(users, eq(users.id, clientNotes.coachId))
    .where(and(eq(clientNotes.clientId, clientId), eq(clientNotes.shareableWithAi, true)))
    .orderBy(asc(clientNotes.createdAt), asc(clientNotes.id))
    .all();
  return Promise.all(
    rows.map(async ({ note, coachName }) => ({
      id: note.id,
      coachName,
      text: await decryptField(env, 'client_notes.text', note.id, note.text),
      createdAt: iso(note.createdAt),
      updatedAt: iso(note.updatedAt),
    })),
  );
}

/** Everything in export.json but the sessions. */
async function headOf(env: Env, db: Db, userId: string, now: Date): Promise<Omit<DataExport, 'sessions'>> {
  const user = await db.select().from(users).where(eq(users.id, userId)).get();
  if (!user) throw new Error('export: no such user');
  const [consents, appts] = await db.batch([
    db.select().from(consentRecords).where(eq(consentRecords.userId, userId)).orderBy(asc(consentRecords.agreedAt)),
    db
      .select({ a: appointments, coachName: users.displayName })
      .from(appointments)
      .leftJoin(users, eq(users.id, appointments.coachId))
      .where(eq(appointments.clientId, userId))
      .orderBy(asc(appointments.scheduledFor)),
  ]);
  return {
    format: 'hybrid-coach-export',
    version: EXPORT_FORMAT_VERSION,
    exportedAt: iso(now),
    account: {
      id: user.id,
      email: user.email,
      displayName: user.displayName,
      tier: user.membershipTier,
      createdAt: iso(user.createdAt),
      timeZone: user.timeZone,
      emailReminders: user.emailReminders,
      skool: {
        profileUrl: user.skoolProfileUrl,
        photoUrl: user.skoolPhotoUrl,
        bio: user.skoolBio,
        joinedAt: isoOrNull(user.skoolJoinedAt),
        vagusStatus: user.vagusSubscriptionStatus,
        ultraStatus: user.ultraSubscriptionStatus,
        lastSyncAt: isoOrNull(user.lastSkoolSync),
      },
    },
    profile: await intakeForExport(env, db, userId),
    consents: consents.map((c) => ({ version: c.version, agreedAt: iso(c.agreedAt) })),
    appointments: appts.map(({ a, coachName }) => ({
      id: a.id,
      scheduledFor: iso(a.scheduledFor),
      durationMinutes: a.durationMinutes,
      status: a.status,
      coachName,
    })),
    sharedNotes: await sharedNotesForExport(env, db, userId),
  };
}

/** The client's sessions, oldest first, EXPORT_PAGE_SIZE at a time, each with its spoken lines and rating. */
export async function* sessionPages(db: Db, userId: string): AsyncGenerator<ExportSession[]> {
  let after: { createdAt: Date; id: string } | null = null;
  for (;;) {
    const page: { s: typeof coachingSessions.$inferSelect; coachName: string | null }[] = await db
      .select({ s: coachingSessions, coachName: users.displayName })
      .from(coachingSessions)
      .leftJoin(users, eq(users.id, coachingSessions.coachId))
      .where(
        and(
          eq(coachingSessions.clientId, userId),
          after
            ? or(gt(coachingSessions.createdAt, after.createdAt), and(eq(coachingSessions.createdAt, after.createdAt), gt(coachingSessions.id, after.id)))
            : undefined,
        ),
      )
      .orderBy(asc(coachingSessions.createdAt), asc(coachingSessions.id))
      .limit(EXPORT_PAGE_SIZE)
      .all();
    if (page.length === 0) return;
    const ids = page.map((r) => r.s.id);
    const [lines, ratings, flags] = await db.batch([
      db
        .select({ sessionId: messages.sessionId, speakerRole: messages.speakerRole, text: messages.text, spokenAt: messages.spokenAt })
        .from(messages)
        // Whispers are a coach's private instructions to the AI: not the client's to see, here as in the portal.
        .where(and(inArray(messages.sessionId, ids), eq(messages.kind, 'speech')))
        .orderBy(asc(messages.spokenAt), asc(messages.id)),
      db.select().from(sessionRatings).where(inArray(sessionRatings.sessionId, ids)),
      db
        .select({
          sessionId: crisisFlags.sessionId,
          state: crisisFlags.state,
          raisedAt: crisisFlags.raisedAt,
          acknowledgedAt: crisisFlags.acknowledgedAt,
          resolvedAt: crisisFlags.resolvedAt,
        })
        .from(crisisFlags)
        .where(inArray(crisisFlags.sessionId, ids)),
    ]);
    yield page.map(({ s, coachName }) => {
      const rating = ratings.find((r) => r.sessionId === s.id);
      const flag = flags.find((f) => f.sessionId === s.id);
      return {
        id: s.id,
        status: s.status,
        createdAt: iso(s.createdAt),
        startedAt: isoOrNull(s.startedAt),
        endedAt: isoOrNull(s.endedAt),
        minutes: s.minutesCharged,
        coachName,
        summary: s.aiSummary,
        transcript: lines.filter((l) => l.sessionId === s.id).map((l) => ({ at: iso(l.spokenAt), speaker: l.speakerRole, text: l.text })),
        rating: rating ? { rating: rating.rating, comment: rating.comment, tipDollars: rating.tipDollars, at: iso(rating.createdAt) } : null,
        crisisFlag: flag
          ? { state: flag.state, raisedAt: iso(flag.raisedAt), acknowledgedAt: isoOrNull(flag.acknowledgedAt), resolvedAt: isoOrNull(flag.resolvedAt) }
          : null,
      };
    });
    const last = page[page.length - 1]!.s;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
const when = (v: string | null) => (v ? esc(v.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')) : '—');
const para = (v: string | null) => (v ? `<p>${esc(v).replace(/\n/g, '<br>')}</p>` : '<p>—</p>');

function htmlHead(h: Omit<DataExport, 'sessions'>): string {
  const p = h.profile;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your Hybrid Coach data</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d2733}h2{margin-top:2.5rem;border-bottom:1px solid #ccd}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;vertical-align:top}.line{margin:.2rem 0}.who{font-weight:600}</style>
</head><body>
<h1>Your Hybrid Coach data</h1>
<p>Exported ${when(h.exportedAt)}. The same facts, for programs, are in export.json (format version ${h.version}).</p>
<h2>Account</h2><table>
<tr><th>Name</th><td>${esc(h.account.displayName)}</td></tr><tr><th>Email</th><td>${esc(h.account.email)}</td></tr>
<tr><th>Tier</th><td>${esc(h.account.tier)}</td></tr><tr><th>Since</th><td>${when(h.account.createdAt)}</td></tr>
<tr><th>Skool profile</th><td>${esc(h.account.skool.profileUrl ?? '—')}</td></tr><tr><th>Skool bio</th><td>${esc(h.account.skool.bio ?? '—')}</td></tr>
<tr><th>Skool memberships</th><td>Vagus: ${esc(h.account.skool.vagusStatus ?? '—')}, Ultra: ${esc(h.account.skool.ultraStatus ?? '—')} (last synced ${when(h.account.skool.lastSyncAt)})</td></tr></table>
<h2>Your answers and what your coach learnt</h2>${
    p
      ? `<h3>Goals</h3>${para(p.coachingGoals)}<h3>Symptoms</h3>${para(p.symptoms)}<h3>Mood at the start (1–5)</h3>${para(p.initialMood === null ? null : String(p.initialMood))}
<h3>Facts the AI coach keeps</h3><ul>${p.clientFacts.map((f) => `<li>${esc(f)}</li>`).join('')}</ul><h3>Challenges</h3><ul>${p.challenges.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>`
      : '<p>No answers given.</p>'
  }
<h2>Consent</h2><ul>${h.consents.map((c) => `<li>Version ${c.version}, agreed ${when(c.agreedAt)}</li>`).join('') || '<li>None</li>'}</ul>
<h2>Appointments</h2><ul>${h.appointments.map((a) => `<li>${when(a.scheduledFor)}, ${a.durationMinutes} minutes with ${esc(a.coachName ?? 'a coach')}: ${esc(a.status)}</li>`).join('') || '<li>None</li>'}</ul>
<h2>Notes your coach shared with the AI coach</h2>${h.sharedNotes.map((n) => `<div><p class="who">${esc(n.coachName ?? 'Coach')}, ${when(n.createdAt)}</p>${para(n.text)}</div>`).join('') || '<p>None.</p>'}
<h2>Sessions</h2>
`;
}

const SPEAKER = { client: 'You', coach: 'Coach', ai: 'AI coach' } as const;

function htmlSession(s: ExportSession): string {
  const r = s.rating;
  return `<section><h3>Session of ${when(s.startedAt ?? s.createdAt)}</h3>
<p>${esc(s.status)}${s.minutes !== null ? `, ${s.minutes} minutes` : ''}${s.coachName ? `, with ${esc(s.coachName)}` : ''}. Ended ${when(s.endedAt)}.</p>
${s.summary ? `<h4>Summary</h4>${para(s.summary)}` : ''}
${s.crisisFlag ? `<p>Something you said was flagged for a coach to follow up (raised ${when(s.crisisFlag.raisedAt)}, now ${esc(s.crisisFlag.state.toLowerCase())}).</p>` : ''}
${r ? `<p>You rated it ${r.rating}/5${r.tipDollars ? ` and tipped $${r.tipDollars}` : ''}${r.comment ? `: “${esc(r.comment)}”` : ''}.</p>` : ''}
<h4>Transcript</h4>${s.transcript.map((l) => `<p class="line"><span class="who">${SPEAKER[l.speaker]}:</span> ${esc(l.text)}</p>`).join('\n') || '<p>No lines recorded.</p>'}
</section>
`;
}

/**
 * A zip entry deflated as it is written, as fflate's ZipDeflate, that also hands on what it holds when
 * asked (ZipDeflate keeps up to 64 KiB back and has no flush): so each page leaves once it is read.
 */
class FlushingZipDeflate extends ZipPassThrough {
  private readonly deflate = new Deflate({ level: 6 }, (data, final) => this.ondata(null, data, final));

  constructor(filename: string) {
    super(filename);
    this.compression = 8;
  }

  protected override process(chunk: Uint8Array<ArrayBuffer>, final: boolean): void {
    try {
      this.deflate.push(chunk, final);
    } catch (err) {
      this.ondata(err as FlateError, null as never, final);
    }
  }

  /** Deflates and hands on everything pushed so far. */
  flush(): void {
    this.deflate.flush();
  }
}

/**
 * The export as a zip stream. Pull-driven: each pull writes the next piece (the head, then a page of
 * sessions) through the deflater and flushes it, so the reader's pace sets the reading of D1: one page
 * ahead of what the reader has taken at most (the Worker test proves it).
 */
export function exportZip(env: Env, db: Db, userId: string, now = new Date()): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const ready: Uint8Array[] = [];
  let done = false;
  let failed: unknown = null;
  const zip = new Zip((err, chunk, final) => {
    if (err) failed = err;
    else ready.push(chunk);
    if (final) done = true;
  });
  const pieces = (async function* () {
    const head = await headOf(env, db, userId, now);
    const json = new FlushingZipDeflate('export.json');
    zip.add(json);
    const { format, version, exportedAt, account, profile, consents, appointments: appts, sharedNotes } = head;
    const headJson = JSON.stringify({ format, version, exportedAt, account, profile, consents, appointments: appts, sharedNotes }, null, 2);
    json.push(enc.encode(`${headJson.slice(0, -2)},\n  "sessions": [`));
    json.flush();
    yield;
    let first = true;
    for await (const page of sessionPages(db, userId)) {
      for (const s of page) {
        json.push(enc.encode(`${first ? '\n' : ',\n'}${JSON.stringify(s)}`));
        first = false;
      }
      json.flush();
      yield;
    }
    json.push(enc.encode('\n  ]\n}\n'), true);
    const html = new FlushingZipDeflate('export.html');
    zip.add(html);
    html.push(enc.encode(htmlHead(head)));
    let any = false;
    for await (const page of sessionPages(db, userId)) {
      html.push(enc.encode(page.map(htmlSession).join('')));
      any ||= page.length > 0;
      html.flush();
      yield;
    }
    html.push(enc.encode(`${any ? '' : '<p>No sessions yet.</p>'}</body></html>\n`), true);
    zip.end();
  })();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (ready.length === 0 && !done && !failed) {
          const step = await pieces.next();
          if (step.done && ready.length === 0 && !done) throw new Error('export: the zip ended without its last chunk');
        }
        if (failed) throw failed;
      } catch (err) {
        // The 200 is sent already: the download breaks off, and this line says why.
        log('error', 'data export failed mid-stream', { userId, ...describeError(err) });
        throw err;
      }
      for (const chunk of ready.splice(0)) controller.enqueue(chunk);
      if (done) controller.close();
    },
    async cancel() {
      await pieces.return(undefined);
    },
  });
}
