/**
 * A client's data rights (issue 17): the shape of `export.json` in the zip that GET /api/users/me/export
 * answers, and the deletion grace period. The Worker writes this shape and its tests parse the file with
 * this schema, so the document (README, "Your data") and the file cannot drift.
 */
import { z } from 'zod';

/** The version of the export.json shape. Raise it with any change a reader would notice. */
export const EXPORT_FORMAT_VERSION = 2;

/** Days between "Delete my account" and the erasure: signing in during them offers to cancel it. */
export const DELETION_GRACE_DAYS = 7;
export const DELETION_GRACE_MS = DELETION_GRACE_DAYS * 24 * 60 * 60_000;

/** Exports one account may ask for in EXPORT_WINDOW_MS (429 with Retry-After beyond it). */
export const EXPORTS_PER_WINDOW = 3;
export const EXPORT_WINDOW_MS = 24 * 60 * 60_000;

const iso = z.string().datetime();

/** A client's intake answers and what the coaching learnt: as their coach sees them, and as the export holds them. */
export const ProfileFacts = z.object({
  coachingGoals: z.string().nullable(),
  symptoms: z.string().nullable(),
  initialMood: z.number().int().nullable(),
  clientFacts: z.array(z.string()),
  challenges: z.array(z.string()),
  lastSummary: z.string().nullable(),
});

export const ExportTranscriptLine = z.object({
  at: iso,
  speaker: z.enum(['client', 'coach', 'ai']),
  text: z.string(),
});

export const ExportSession = z.object({
  id: z.string(),
  status: z.string(),
  createdAt: iso,
  startedAt: iso.nullable(),
  endedAt: iso.nullable(),
  /** Minutes counted against the month's allowance. */
  minutes: z.number().int().nullable(),
  coachName: z.string().nullable(),
  summary: z.string().nullable(),
  /** Every line said aloud, in order (a coach's private whispers to the AI are not the client's to see). */
  transcript: z.array(ExportTranscriptLine),
  rating: z.object({ rating: z.number().int(), comment: z.string().nullable(), tipDollars: z.number().int().nullable(), at: iso }).nullable(),
  /**
   * Set when something said in the session was flagged for a coach's follow-up: its state and times
   * (the coach's resolution note is their working note, like private notes, and is not exported).
   */
  crisisFlag: z.object({ state: z.string(), raisedAt: iso, acknowledgedAt: iso.nullable(), resolvedAt: iso.nullable() }).nullable(),
});

export const DataExport = z.object({
  format: z.literal('hybrid-coach-export'),
  version: z.literal(EXPORT_FORMAT_VERSION),
  exportedAt: iso,
  account: z.object({
    id: z.string(),
    email: z.string(),
    displayName: z.string(),
    tier: z.string(),
    createdAt: iso,
    timeZone: z.string().nullable(),
    emailReminders: z.boolean(),
    /** What the nightly Skool sync copied from the person's Skool profile and memberships. */
    skool: z.object({
      profileUrl: z.string().nullable(),
      photoUrl: z.string().nullable(),
      bio: z.string().nullable(),
      joinedAt: iso.nullable(),
      vagusStatus: z.string().nullable(),
      ultraStatus: z.string().nullable(),
      lastSyncAt: iso.nullable(),
    }),
  }),
  /** The onboarding answers and what the coaching learnt (null: onboarding never started). */
  profile: ProfileFacts.extend({ onboardingCompletedAt: iso.nullable(), preferences: z.record(z.string(), z.unknown()).nullable() }).nullable(),
  consents: z.array(z.object({ version: z.number().int(), agreedAt: iso })),
  appointments: z.array(
    z.object({ id: z.string(), scheduledFor: iso, durationMinutes: z.number().int(), status: z.string(), coachName: z.string().nullable() }),
  ),
  /** Notes a coach chose to share with the AI coach about this client (private notes are not exported). */
  sharedNotes: z.array(z.object({ id: z.string(), coachName: z.string().nullable(), text: z.string(), createdAt: iso, updatedAt: iso })),
  /** Oldest first. */
  sessions: z.array(ExportSession),
});
export type DataExport = z.infer<typeof DataExport>;
export type ExportSession = z.infer<typeof ExportSession>;
