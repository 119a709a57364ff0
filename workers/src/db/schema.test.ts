import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createUser, testDb } from '../../test/helpers';
import * as t from './schema';

async function sessionFor(clientId: string) {
  const [row] = await testDb()
    .insert(t.coachingSessions)
    .values({ roomName: `session-${crypto.randomUUID()}`, clientId, tierAtStart: 'FREE', capMinutes: 20 })
    .returning();
  return row!;
}

/** Resolves to the database's error message, or fails the test if the write was accepted. */
async function refused(write: Promise<unknown>): Promise<string> {
  try {
    await write;
  } catch (err) {
    return String((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
  }
  throw new Error('the database accepted a write it should refuse');
}

describe('the database itself refuses bad rows', () => {
  it('refuses a rating of 6 and of 0, and a tip other than 1, 3 or 5', async () => {
    const client = await createUser();
    const s = await sessionFor(client.id);
    expect(await refused(testDb().insert(t.sessionRatings).values({ sessionId: s.id, rating: 6 }))).toMatch(/CHECK constraint failed/);
    expect(await refused(testDb().insert(t.sessionRatings).values({ sessionId: s.id, rating: 0 }))).toMatch(/CHECK/);
    expect(await refused(testDb().insert(t.sessionRatings).values({ sessionId: s.id, rating: 5, tipDollars: 2 }))).toMatch(/CHECK/);
    await testDb().insert(t.sessionRatings).values({ sessionId: s.id, rating: 5, tipDollars: 3 });
    // One rating per session.
    expect(await refused(testDb().insert(t.sessionRatings).values({ sessionId: s.id, rating: 4 }))).toMatch(/UNIQUE/);
  });

  it('refuses an appointment of zero minutes', async () => {
    const client = await createUser();
    const coach = await createUser({ role: 'COACH' });
    const appt = { scheduledFor: new Date(), clientId: client.id, coachId: coach.id };
    expect(
      await refused(
        testDb()
          .insert(t.appointments)
          .values({ ...appt, durationMinutes: 0 }),
      ),
    ).toMatch(/CHECK/);
    await testDb()
      .insert(t.appointments)
      .values({ ...appt, durationMinutes: 30 });
  });

  it('refuses a dangling foreign key', async () => {
    expect(
      await refused(
        testDb().insert(t.messages).values({
          sessionId: 'no-such-session',
          speakerIdentity: 'u1',
          speakerRole: 'client',
          text: 'hello',
          heardByAi: true,
          spokenAt: new Date(),
          idempotencyKey: crypto.randomUUID(),
        }),
      ),
    ).toMatch(/FOREIGN KEY constraint failed/);
    expect(await refused(testDb().insert(t.profiles).values({ userId: 'ghost' }))).toMatch(/FOREIGN KEY/);
  });

  it('refuses an upper-case email, an unknown role or tier, a mood of 6, a weekday of 7', async () => {
    // An upper-case email, an unknown role, an unknown tier.
    for (const [id, email, name, role, tier] of [
      ['x1', 'Pat@Example.com', 'Pat', 'CLIENT', 'FREE'],
      ['x2', 'x2@example.com', 'X', 'OWNER', 'FREE'],
      ['x3', 'x3@example.com', 'X', 'CLIENT', 'GOLD'],
    ]) {
      const insert = env.DB.prepare(
        'INSERT INTO users (id, email, display_name, role, membership_tier, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)',
      ).bind(id, email, name, role, tier);
      expect(await refused(insert.run())).toMatch(/CHECK/);
    }
    const user = await createUser();
    expect(await refused(testDb().insert(t.profiles).values({ userId: user.id, initialMood: 6 }))).toMatch(/CHECK/);
    const coach = await createUser({ role: 'COACH' });
    expect(await refused(testDb().insert(t.coachAvailability).values({ coachId: coach.id, dayOfWeek: 7, startTime: '09:00', endTime: '10:00' }))).toMatch(
      /CHECK/,
    );
    expect(await refused(testDb().insert(t.coachAvailability).values({ coachId: coach.id, dayOfWeek: 1, startTime: '11:00', endTime: '10:00' }))).toMatch(
      /CHECK/,
    );
  });

  it('refuses a second message with the same idempotency key', async () => {
    const client = await createUser();
    const s = await sessionFor(client.id);
    const line = {
      sessionId: s.id,
      speakerIdentity: client.id,
      speakerRole: 'client' as const,
      text: 'hi',
      heardByAi: true,
      spokenAt: new Date(),
      idempotencyKey: `k-${s.id}`,
    };
    await testDb().insert(t.messages).values(line);
    expect(await refused(testDb().insert(t.messages).values(line))).toMatch(/UNIQUE/);
  });
});

describe('cascades', () => {
  it('deleting a user removes what means nothing without them, and keeps what other people own', async () => {
    const db = testDb();
    const client = await createUser();
    const coach = await createUser({ role: 'COACH' });
    await db.insert(t.profiles).values({ userId: client.id, coachingGoals: 'breathe' });
    await db.insert(t.loginSessions).values({ id: crypto.randomUUID(), userId: client.id, expiresAt: new Date(Date.now() + 1000) });
    await db.insert(t.authGrants).values({ grantHash: crypto.randomUUID(), userId: client.id, expiresAt: new Date() });
    const s = await sessionFor(client.id);
    await db.update(t.coachingSessions).set({ coachId: coach.id }).where(eq(t.coachingSessions.id, s.id));
    await db.insert(t.messages).values({
      sessionId: s.id,
      speakerIdentity: client.id,
      speakerRole: 'client',
      text: 'x',
      heardByAi: true,
      spokenAt: new Date(),
      idempotencyKey: crypto.randomUUID(),
    });
    await db.insert(t.sessionRatings).values({ sessionId: s.id, rating: 4 });
    await db.insert(t.clientNotes).values({ coachId: coach.id, clientId: client.id, sessionId: s.id, text: 'note' });

    await db.delete(t.users).where(eq(t.users.id, client.id));

    for (const table of [t.profiles, t.loginSessions, t.authGrants] as const) {
      expect(await db.select().from(table).where(eq(table.userId, client.id)).all()).toEqual([]);
    }
    expect(await db.select().from(t.coachingSessions).where(eq(t.coachingSessions.id, s.id)).all()).toEqual([]);
    expect(await db.select().from(t.messages).where(eq(t.messages.sessionId, s.id)).all()).toEqual([]);
    expect(await db.select().from(t.sessionRatings).where(eq(t.sessionRatings.sessionId, s.id)).all()).toEqual([]);
    expect(await db.select().from(t.clientNotes).where(eq(t.clientNotes.clientId, client.id)).all()).toEqual([]);
    expect(await db.select().from(t.users).where(eq(t.users.id, coach.id)).get()).toBeDefined();
  });

  it('deleting a coach keeps the client’s session and clears its coach', async () => {
    const db = testDb();
    const client = await createUser();
    const coach = await createUser({ role: 'COACH' });
    const s = await sessionFor(client.id);
    await db.update(t.coachingSessions).set({ coachId: coach.id }).where(eq(t.coachingSessions.id, s.id));
    await db.delete(t.users).where(eq(t.users.id, coach.id));
    const kept = await db.select().from(t.coachingSessions).where(eq(t.coachingSessions.id, s.id)).get();
    expect(kept?.coachId).toBeNull();
  });
});
