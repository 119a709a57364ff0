/**
 * A coach's private notes on a client, optionally on one of the client's sessions. Only coaches (and
 * admins) reach these routes; a coach sees and changes only their own notes, and only on clients they
 * have coached (a session or an appointment together). Clients never see notes; the AI is given only
 * the ones marked shareable (lib/agent-context.ts). The text is sealed at rest (lib/field-crypto.ts).
 */
import { z } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { appointments, clientNotes, coachingSessions, users } from '../db/schema';
import { AppError, ok } from '../lib/errors';
import { decryptField, encryptField } from '../lib/field-crypto';
import { authRoute, COACHES, createApp, Id, IdParams, jsonBody, limitQuery, okBody } from '../lib/openapi';

const Note = z
  .object({
    id: z.string(),
    clientId: z.string(),
    sessionId: z.string().nullable(),
    text: z.string(),
    shareableWithAi: z.boolean(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi('CoachNote');

const noteText = z.string().trim().min(1).max(5000);
const NewNote = z
  .object({
    text: noteText,
    sessionId: Id.optional().openapi({ description: 'A session of this client the note is about' }),
    shareableWithAi: z.boolean().default(false).openapi({ description: 'Off by default: only shareable notes are given to the AI' }),
  })
  .strict()
  .openapi('NewCoachNote');
const NotePatch = z
  .object({ text: noteText.optional(), shareableWithAi: z.boolean().optional() })
  .strict()
  .refine((p) => p.text !== undefined || p.shareableWithAi !== undefined, { message: 'Give text or shareableWithAi' })
  .openapi('CoachNotePatch');

const ClientParams = z.object({ clientId: Id });
/** Notes one list answers with: a page a coach reads, not the whole history at once. */
export const MAX_NOTES = 200;

const listRoute = authRoute({
  method: 'get',
  path: '/{clientId}/notes',
  summary: 'The signed-in coach’s own notes on a client they coach, newest first',
  roles: COACHES,
  errors: ['NOT_FOUND'],
  request: {
    params: ClientParams,
    query: z.object({
      sessionId: Id.optional(),
      limit: limitQuery(MAX_NOTES, MAX_NOTES, `The newest this many (at most ${MAX_NOTES})`),
    }),
  },
  responses: { 200: okBody('Notes', z.array(Note)) },
});
const createNoteRoute = authRoute({
  method: 'post',
  path: '/{clientId}/notes',
  summary: 'A private note on a client the coach coaches (optionally on one of their sessions)',
  roles: COACHES,
  errors: ['NOT_FOUND'],
  request: { params: ClientParams, body: jsonBody(NewNote) },
  responses: { 201: okBody('Saved', Note) },
});
const patchNoteRoute = authRoute({
  method: 'patch',
  path: '/{id}',
  summary: 'Change one of the coach’s own notes (text, or whether the AI may see it)',
  roles: COACHES,
  errors: ['NOT_FOUND'],
  request: { params: IdParams, body: jsonBody(NotePatch) },
  responses: { 200: okBody('The note after the change', Note) },
});
const deleteNoteRoute = authRoute({
  method: 'delete',
  path: '/{id}',
  summary: 'Delete one of the coach’s own notes',
  roles: COACHES,
  errors: ['NOT_FOUND'],
  request: { params: IdParams },
  responses: { 200: okBody('Deleted', z.object({ id: z.string() })) },
});

type NoteRow = typeof clientNotes.$inferSelect;
/** A note as the coach reads it: its text opened (it is sealed at rest, lib/field-crypto.ts). */
const noteOut = async (env: Env, n: NoteRow) => ({
  id: n.id,
  clientId: n.clientId,
  sessionId: n.sessionId,
  text: await decryptField(env, 'client_notes.text', n.id, n.text),
  shareableWithAi: n.shareableWithAi,
  createdAt: n.createdAt.toISOString(),
  updatedAt: n.updatedAt.toISOString(),
});

/**
 * A client the coach has had a session or an appointment with (admins: anyone with an account); 404
 * otherwise, as if unknown, and before anything is written (a note on no one would break its foreign key).
 */
export async function assertCoaches(db: Db, user: AuthUser, clientId: string): Promise<void> {
  if (user.role === 'ADMIN') {
    const known = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, clientId), isNull(users.deletedAt)))
      .get();
    if (!known) throw new AppError('NOT_FOUND', 'No such client');
    return;
  }
  const [session, appointment] = await Promise.all([
    db
      .select({ id: coachingSessions.id })
      .from(coachingSessions)
      .where(and(eq(coachingSessions.clientId, clientId), eq(coachingSessions.coachId, user.id)))
      .limit(1)
      .get(),
    db
      .select({ id: appointments.id })
      .from(appointments)
      .where(and(eq(appointments.clientId, clientId), eq(appointments.coachId, user.id)))
      .limit(1)
      .get(),
  ]);
  if (!session && !appointment) throw new AppError('NOT_FOUND', 'No such client among yours');
}

/** One of the coach's own notes; another coach's is as invisible as one that does not exist. */
async function ownNote(db: Db, user: AuthUser, id: string): Promise<NoteRow> {
  const note = await db
    .select()
    .from(clientNotes)
    .where(and(eq(clientNotes.id, id), eq(clientNotes.coachId, user.id)))
    .get();
  if (!note) throw new AppError('NOT_FOUND', 'No such note');
  return note;
}

/** Mounted at /api/clients: the notes on one client. */
export const notesOfClient = createApp()
  .openapi(listRoute, async (c) => {
    const user = c.get('user');
    const { clientId } = c.req.valid('param');
    const { sessionId, limit } = c.req.valid('query');
    const db = c.var.db;
    await assertCoaches(db, user, clientId);
    const rows = await db
      .select()
      .from(clientNotes)
      .where(and(eq(clientNotes.clientId, clientId), eq(clientNotes.coachId, user.id), sessionId ? eq(clientNotes.sessionId, sessionId) : undefined))
      .orderBy(desc(clientNotes.createdAt))
      .limit(limit)
      .all();
    return c.json(ok(await Promise.all(rows.map((n) => noteOut(c.env, n)))), 200);
  })
  .openapi(createNoteRoute, async (c) => {
    const user = c.get('user');
    const { clientId } = c.req.valid('param');
    const { text, sessionId, shareableWithAi } = c.req.valid('json');
    const db = c.var.db;
    await assertCoaches(db, user, clientId);
    if (sessionId) {
      const session = await db
        .select({ id: coachingSessions.id })
        .from(coachingSessions)
        .where(and(eq(coachingSessions.id, sessionId), eq(coachingSessions.clientId, clientId)))
        .get();
      if (!session) throw new AppError('VALIDATION_ERROR', 'No such session of this client', { fields: { sessionId: 'not a session of this client' } });
    }
    // The id is chosen here: the sealed text is bound to its row.
    const id = crypto.randomUUID();
    const row = await db
      .insert(clientNotes)
      .values({ id, coachId: user.id, clientId, sessionId: sessionId ?? null, text: await encryptField(c.env, 'client_notes.text', id, text), shareableWithAi })
      .returning()
      .get();
    return c.json(ok(await noteOut(c.env, row)), 201);
  });

/** Mounted at /api/notes: one note. */
export const notes = createApp()
  .openapi(patchNoteRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const note = await ownNote(db, user, c.req.valid('param').id);
    const patch = c.req.valid('json');
    // Every write seals the text under the current key, changed or not: a note from before field
    // encryption, or under the previous key during a rotation, is sealed again here.
    const text = patch.text ?? (await decryptField(c.env, 'client_notes.text', note.id, note.text));
    const row = await db
      .update(clientNotes)
      .set({
        text: await encryptField(c.env, 'client_notes.text', note.id, text),
        ...(patch.shareableWithAi !== undefined ? { shareableWithAi: patch.shareableWithAi } : {}),
      })
      .where(and(eq(clientNotes.id, note.id), eq(clientNotes.coachId, user.id)))
      .returning()
      .get();
    return c.json(ok(await noteOut(c.env, row!)), 200);
  })
  .openapi(deleteNoteRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const note = await ownNote(db, user, c.req.valid('param').id);
    await db.delete(clientNotes).where(and(eq(clientNotes.id, note.id), eq(clientNotes.coachId, user.id)));
    return c.json(ok({ id: note.id }), 200);
  });
