/**
 * The D1 data model. Carried over from the legacy Prisma schema (seed 002) with its recommended
 * fixes: CHECK constraints, cascades, the missing indexes, and the tables the legacy app never
 * persisted (login sessions, transcripts as messages, session metadata).
 *
 * Conventions: camelCase TS keys over snake_case columns; instants are integer milliseconds since
 * the epoch (`mode: 'timestamp_ms'` gives `Date` in TS); ids are random UUIDs made by the app.
 */

import { FLAG_ACTIONS, FLAG_STATES } from '@hybrid-coach/shared/crisis-flags';
import { MEMBERSHIP_TIERS, USER_ROLES } from '@hybrid-coach/shared/tiers';
import { relations, sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const id = () =>
  text('id')
    .primaryKey()
    .$defaultFn(() => crypto.randomUUID());
const instant = (name: string) => integer(name, { mode: 'timestamp_ms' });
const createdAt = () =>
  instant('created_at')
    .notNull()
    .$defaultFn(() => new Date());
const bool = (name: string) => integer(name, { mode: 'boolean' });
/** A required reference to a user: the row goes when the user does. */
const userRef = (name: string) =>
  text(name)
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' });

export const SESSION_STATUSES = ['WAITING', 'ACTIVE', 'COMPLETED', 'CANCELLED'] as const;
export const SPEAKER_ROLES = ['client', 'coach', 'ai'] as const;
/** speech: said aloud in the call; whisper: a coach's private instruction to the AI (the coach's view only). */
export const MESSAGE_KINDS = ['speech', 'whisper'] as const;
/** MISSED: its time passed (by its length and 15 minutes) with no session started; it used no session. */
export const APPOINTMENT_STATUSES = ['SCHEDULED', 'ACTIVE', 'COMPLETED', 'CANCELLED', 'MISSED'] as const;
export const SKOOL_COMMUNITIES = ['ultra', 'vagus'] as const;
export const SKOOL_STATUSES = ['active', 'cancelled', 'expired'] as const;

/** `column IN ('A', 'B')` for a CHECK: DDL takes no parameters, so drizzle writes the values in (quoting them itself). */
const inList = (column: string, values: readonly string[]) => sql`${sql.raw(column)} IN ${values}`.inlineParams();

export const users = sqliteTable(
  'users',
  {
    id: id(),
    /** Always stored lower-case (see `normalizeEmail`); the CHECK keeps it so. */
    email: text('email').notNull().unique(),
    /** PHC-encoded argon2id hash; null until a placeholder account is claimed. */
    passwordHash: text('password_hash'),
    displayName: text('display_name').notNull(),
    role: text('role', { enum: USER_ROLES }).notNull().default('CLIENT'),
    membershipTier: text('membership_tier', { enum: MEMBERSHIP_TIERS }).notNull().default('FREE'),

    /** IANA time zone the coach's availability is read in; null = not chosen yet (read as UTC, to confirm). */
    timeZone: text('time_zone'),

    skoolUltraEmail: text('skool_ultra_email'),
    skoolVagusEmail: text('skool_vagus_email'),
    ultraSubscriptionStatus: text('ultra_subscription_status', { enum: SKOOL_STATUSES }),
    vagusSubscriptionStatus: text('vagus_subscription_status', { enum: SKOOL_STATUSES }),
    /** End of the paid period: a cancelled Ultra member stays COACH until then (grace period). */
    membershipEndDate: instant('membership_end_date'),
    lastSkoolSync: instant('last_skool_sync'),
    skoolProfileUrl: text('skool_profile_url'),
    skoolPhotoUrl: text('skool_photo_url'),
    skoolBio: text('skool_bio'),
    skoolJoinedAt: instant('skool_joined_at'),

    monthlySessionsUsed: integer('monthly_sessions_used').notNull().default(0),
    monthlyMinutesUsed: integer('monthly_minutes_used').notNull().default(0),
    /** First instant of the month after the one the counters above belong to. */
    usageResetsAt: instant('usage_resets_at'),

    isAvailable: bool('is_available').notNull().default(false),
    /** Reminder emails (appointments 24 h and 1 h before); security and notification mail always goes. */
    emailReminders: bool('email_reminders').notNull().default(true),
    /** The last time the password was set (claim, reset or change). */
    passwordChangedAt: instant('password_changed_at'),
    /** Set by an admin (staff console): the account cannot sign in, and its sessions were revoked then. */
    disabledAt: instant('disabled_at'),
    /**
     * The client asked to delete the account (issue 17): it is disabled from then (disabled_at, same
     * instant) and erased DELETION_GRACE_DAYS later unless they cancel (lib/erasure.ts).
     */
    deletionRequestedAt: instant('deletion_requested_at'),

    createdAt: createdAt(),
    updatedAt: instant('updated_at')
      .notNull()
      .$defaultFn(() => new Date())
      .$onUpdateFn(() => new Date()),
    deletedAt: instant('deleted_at'),
  },
  (t) => [
    index('users_role_idx').on(t.role),
    index('users_available_idx').on(t.isAvailable),
    index('users_deletion_idx').on(t.deletionRequestedAt),
    check('users_email_lower', sql`${t.email} = lower(${t.email})`),
    check('users_role_valid', inList('role', USER_ROLES)),
    check('users_tier_valid', inList('membership_tier', MEMBERSHIP_TIERS)),
    check('users_usage_nonneg', sql`${t.monthlySessionsUsed} >= 0 AND ${t.monthlyMinutesUsed} >= 0`),
  ],
);

export const profiles = sqliteTable(
  'profiles',
  {
    id: id(),
    userId: text('user_id')
      .notNull()
      .unique()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** JSON array of strings. */
    clientFacts: text('client_facts', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
    /** JSON array of strings. */
    challenges: text('challenges', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
    /** JSON object (music, voice, reminders, ...). */
    preferences: text('preferences', { mode: 'json' }).$type<Record<string, unknown>>(),
    lastSummary: text('last_summary'),
    contextNotes: text('context_notes'),
    onboardingCompleted: bool('onboarding_completed').notNull().default(false),
    onboardingCompletedAt: instant('onboarding_completed_at'),
    coachingGoals: text('coaching_goals'),
    symptoms: text('symptoms'),
    initialMood: integer('initial_mood'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at')
      .notNull()
      .$defaultFn(() => new Date())
      .$onUpdateFn(() => new Date()),
  },
  (t) => [
    index('profiles_onboarding_idx').on(t.onboardingCompleted),
    check('profiles_mood_range', sql`${t.initialMood} IS NULL OR ${t.initialMood} BETWEEN 1 AND 5`),
  ],
);

/** Single-use, short-lived grants that carry a login from the public site to a portal. */
export const authGrants = sqliteTable(
  'auth_grants',
  {
    id: id(),
    /** SHA-256 (hex) of the grant; the grant itself is never stored. */
    grantHash: text('grant_hash').notNull().unique(),
    /**
     * SHA-256 (hex) of the browser binding (lib/login-binding.ts): only the browser that signed in,
     * holding that value in its cookie, can exchange the grant. Null only on grants made before it.
     */
    bindingHash: text('binding_hash'),
    userId: userRef('user_id'),
    expiresAt: instant('expires_at').notNull(),
    usedAt: instant('used_at'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
  },
  (t) => [index('auth_grants_user_idx').on(t.userId), index('auth_grants_expires_idx').on(t.expiresAt)],
);

/** Single-use tokens that let the owner of a placeholder account (made by the Skool sync) set a password. */
export const claimTokens = sqliteTable(
  'claim_tokens',
  {
    id: id(),
    /** SHA-256 (hex) of the token; the token itself is only in the emailed link. */
    tokenHash: text('token_hash').notNull().unique(),
    userId: userRef('user_id'),
    expiresAt: instant('expires_at').notNull(),
    usedAt: instant('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('claim_tokens_user_idx').on(t.userId), index('claim_tokens_expires_idx').on(t.expiresAt)],
);

export const MAIL_TEMPLATES = [
  'claim-account',
  'password-reset',
  'password-changed',
  'appointment-booked',
  'appointment-cancelled',
  'appointment-reassigned',
  'appointment-rescheduled',
  'appointment-reminder',
  'session-flagged',
  'skool-sync-failed',
] as const;
/** security: always sent (claim, reset, password changed); notification: always sent; reminder: the person may turn them off. */
export const MAIL_KINDS = ['security', 'notification', 'reminder'] as const;
/** queued → sending → sent | queued (retry) | dead; queued → expired | cancelled. Final rows keep no body. */
export const MAIL_STATES = ['queued', 'sending', 'sent', 'dead', 'expired', 'cancelled'] as const;

/**
 * Mail, one row per message and recipient, delivered by the MailOutbox Durable Object (mail/drain.ts).
 * The body (with any link in it) is sealed by lib/encryption.ts, never in plain text, and emptied once
 * the row reaches a final state. `idempotencyKey` keeps a message from being queued twice; the row's
 * states keep it from being sent twice (a row whose send outcome is unknown goes dead, never again).
 */
export const emailOutbox = sqliteTable(
  'email_outbox',
  {
    id: id(),
    /** What the message is, once per recipient: a second insert with the same key is ignored. */
    idempotencyKey: text('idempotency_key').notNull().unique(),
    toEmail: text('to_email').notNull(),
    /** The recipient's account, when there is one: preferences at send time, and log lines by id. */
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    template: text('template', { enum: MAIL_TEMPLATES }).notNull(),
    kind: text('kind', { enum: MAIL_KINDS }).notNull(),
    /** What the mail is about, e.g. `appointment:<id>`: its unsent reminders are cancelled together. */
    ref: text('ref'),
    subject: text('subject').notNull(),
    /** JSON `{ text, html, attachments? }` sealed for purpose 'email-outbox' with the row id as context; '' once final. */
    bodySealed: text('body_sealed').notNull(),
    state: text('state', { enum: MAIL_STATES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    /** Not sent before this: a retry's backoff, or a reminder's time. */
    nextAttemptAt: instant('next_attempt_at').notNull(),
    /** While `sending`: the lease; a row still `sending` after it is dead (its outcome is unknown). */
    lockedUntil: instant('locked_until'),
    /** Our short account of the last failure (phase and reply code), never the body or an address. */
    lastError: text('last_error'),
    sentAt: instant('sent_at'),
    deadAt: instant('dead_at'),
    /** When what the mail offers (its link, the appointment) stops being worth sending. */
    expiresAt: instant('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('email_outbox_due_idx').on(t.state, t.nextAttemptAt),
    index('email_outbox_ref_idx').on(t.ref),
    index('email_outbox_user_idx').on(t.userId),
    index('email_outbox_expires_idx').on(t.expiresAt),
    check('email_outbox_state_check', inList('state', MAIL_STATES)),
    check('email_outbox_kind_check', inList('kind', MAIL_KINDS)),
  ],
);

/** Single-use password reset tokens (30 minutes): the same shape as claim tokens, stored only as a hash. */
export const passwordResetTokens = sqliteTable(
  'password_reset_tokens',
  {
    id: id(),
    /** SHA-256 (hex) of the token; the token itself is only in the emailed link. */
    tokenHash: text('token_hash').notNull().unique(),
    userId: userRef('user_id'),
    expiresAt: instant('expires_at').notNull(),
    usedAt: instant('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('password_reset_tokens_user_idx').on(t.userId), index('password_reset_tokens_expires_idx').on(t.expiresAt)],
);

/**
 * Staff two-step sign-in (TOTP, RFC 6238): one row per coach or admin who has started enrolment.
 * Secrets are sealed (lib/encryption.ts, purpose 'mfa-secret', the user id as context), never in
 * plain text. `secretSealed` is the secret in use (set, with `enabledAt`, once a first code confirms
 * it); `pendingSecretSealed` one being set up (a first enrolment, or a move to a new app).
 */
export const staffMfa = sqliteTable(
  'staff_mfa',
  {
    userId: text('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretSealed: text('secret_sealed'),
    pendingSecretSealed: text('pending_secret_sealed'),
    enabledAt: instant('enabled_at'),
    /** The TOTP time step (30 s since the epoch) of the last code accepted: a code is good once. */
    lastUsedStep: integer('last_used_step'),
    createdAt: createdAt(),
    updatedAt: instant('updated_at')
      .notNull()
      .$defaultFn(() => new Date())
      .$onUpdateFn(() => new Date()),
  },
  (t) => [check('staff_mfa_enabled_has_secret', sql`(${t.enabledAt} IS NULL) = (${t.secretSealed} IS NULL)`)],
);

/** Single-use recovery codes for staff MFA, only as hashes (lib/mfa.ts); regenerating replaces them all. */
export const mfaRecoveryCodes = sqliteTable(
  'mfa_recovery_codes',
  {
    id: id(),
    userId: userRef('user_id'),
    /** SHA-256 (hex) of the user id and the code. */
    codeHash: text('code_hash').notNull().unique(),
    usedAt: instant('used_at'),
    createdAt: createdAt(),
  },
  (t) => [index('mfa_recovery_codes_user_idx').on(t.userId)],
);

export const MFA_CHALLENGE_PURPOSES = ['verify', 'enrol'] as const;

/**
 * The step between a right password and a grant for staff with MFA: short-lived, single-use, bound
 * to the browser that signed in (its `__Host-hc_login` cookie), only as hashes. `verify` takes a code
 * or a recovery code; `enrol` (staff who must have MFA and have none yet) allows only enrolment.
 */
export const mfaChallenges = sqliteTable(
  'mfa_challenges',
  {
    id: id(),
    /** SHA-256 (hex) of the challenge; the challenge itself is never stored. */
    challengeHash: text('challenge_hash').notNull().unique(),
    /** SHA-256 (hex) of the browser binding (lib/login-binding.ts). */
    bindingHash: text('binding_hash').notNull(),
    userId: userRef('user_id'),
    purpose: text('purpose', { enum: MFA_CHALLENGE_PURPOSES }).notNull(),
    /** Codes tried with it; at the limit (shared/src/mfa.ts) the challenge is dead. */
    attempts: integer('attempts').notNull().default(0),
    expiresAt: instant('expires_at').notNull(),
    usedAt: instant('used_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('mfa_challenges_user_idx').on(t.userId),
    index('mfa_challenges_expires_idx').on(t.expiresAt),
    check('mfa_challenges_purpose_valid', inList('purpose', MFA_CHALLENGE_PURPOSES)),
  ],
);

/** One row per issued session JWT (id = the token's jti), so a session can be revoked. */
export const loginSessions = sqliteTable(
  'login_sessions',
  {
    id: text('id').primaryKey(),
    userId: userRef('user_id'),
    expiresAt: instant('expires_at').notNull(),
    revokedAt: instant('revoked_at'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: createdAt(),
  },
  (t) => [index('login_sessions_user_idx').on(t.userId), index('login_sessions_expires_idx').on(t.expiresAt)],
);

export const appointments = sqliteTable(
  'appointments',
  {
    id: id(),
    scheduledFor: instant('scheduled_for').notNull(),
    durationMinutes: integer('duration_minutes').notNull().default(30),
    clientId: userRef('client_id'),
    coachId: userRef('coach_id'),
    status: text('status', { enum: APPOINTMENT_STATUSES }).notNull().default('SCHEDULED'),
    cancelledAt: instant('cancelled_at'),
    cancelledBy: text('cancelled_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('appointments_status_time_idx').on(t.status, t.scheduledFor),
    index('appointments_coach_status_idx').on(t.coachId, t.status),
    index('appointments_client_time_idx').on(t.clientId, t.scheduledFor),
    // No double booking of a coach or a client, as the database's rule (also for two requests at once).
    uniqueIndex('appointments_coach_slot_uq').on(t.coachId, t.scheduledFor).where(sql`${t.status} IN ('SCHEDULED', 'ACTIVE')`),
    uniqueIndex('appointments_client_slot_uq').on(t.clientId, t.scheduledFor).where(sql`${t.status} IN ('SCHEDULED', 'ACTIVE')`),
    check('appointments_duration_positive', sql`${t.durationMinutes} > 0`),
    check('appointments_status_valid', inList('status', APPOINTMENT_STATUSES)),
  ],
);

/** An appointment's client and coach, for reads that answer them with it (`db.query.appointments`). */
export const appointmentsRelations = relations(appointments, ({ one }) => ({
  client: one(users, { fields: [appointments.clientId], references: [users.id], relationName: 'appointment_client' }),
  coach: one(users, { fields: [appointments.coachId], references: [users.id], relationName: 'appointment_coach' }),
}));

export const coachingSessions = sqliteTable(
  'coaching_sessions',
  {
    id: id(),
    roomName: text('room_name').notNull().unique(),
    clientId: userRef('client_id'),
    coachId: text('coach_id').references(() => users.id, { onDelete: 'set null' }),
    appointmentId: text('appointment_id').references(() => appointments.id, { onDelete: 'set null' }),
    status: text('status', { enum: SESSION_STATUSES }).notNull().default('WAITING'),
    startedAt: instant('started_at'),
    endedAt: instant('ended_at'),
    durationSeconds: integer('duration_seconds'),
    tierAtStart: text('tier_at_start', { enum: MEMBERSHIP_TIERS }).notNull(),
    /** Minutes this session may run; null = no cap. */
    capMinutes: integer('cap_minutes'),
    warningsSent: integer('warnings_sent').notNull().default(0),
    /** Why it ended: cap, client, coach, room_finished, empty. */
    endReason: text('end_reason'),
    /** Minutes added to the client's monthly usage. */
    minutesCharged: integer('minutes_charged'),
    /** Set in the same transaction that adds the usage: the guard that makes it happen once. */
    usageRecordedAt: instant('usage_recorded_at'),
    /** Assembled once the session ends, from `messages`. */
    transcript: text('transcript'),
    aiSummary: text('ai_summary'),
    /** Set when the AI heard talk of self-harm or crisis: a coach should follow up. */
    flaggedAt: instant('flagged_at'),
    flagReason: text('flag_reason'),
    /**
     * Set once an erasure of the client has wiped this session's Durable Object (lib/erasure.ts): an
     * erasure too large for one run carries on with the sessions still without it.
     */
    objectErasedAt: instant('object_erased_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('coaching_sessions_flagged_idx').on(t.flaggedAt),
    index('coaching_sessions_client_status_idx').on(t.clientId, t.status),
    index('coaching_sessions_coach_status_idx').on(t.coachId, t.status),
    index('coaching_sessions_status_started_idx').on(t.status, t.startedAt),
    // One live session per client, as the database's rule: two starts at the same moment cannot both
    // create one (each dispatches an AI job).
    uniqueIndex('coaching_sessions_one_live_per_client_uq').on(t.clientId).where(sql`${t.status} IN ('WAITING', 'ACTIVE')`),
    check('coaching_sessions_status_valid', inList('status', SESSION_STATUSES)),
    check('coaching_sessions_duration_nonneg', sql`${t.durationSeconds} IS NULL OR ${t.durationSeconds} >= 0`),
    check('coaching_sessions_cap_positive', sql`${t.capMinutes} IS NULL OR ${t.capMinutes} > 0`),
    check('coaching_sessions_tier_valid', inList('tier_at_start', MEMBERSHIP_TIERS)),
  ],
);

/** Transcript lines: every utterance in a session, whoever spoke, and whether the AI heard it. */
export const messages = sqliteTable(
  'messages',
  {
    id: id(),
    sessionId: text('session_id')
      .notNull()
      .references(() => coachingSessions.id, { onDelete: 'cascade' }),
    speakerIdentity: text('speaker_identity').notNull(),
    speakerRole: text('speaker_role', { enum: SPEAKER_ROLES }).notNull(),
    text: text('text').notNull(),
    heardByAi: bool('heard_by_ai').notNull(),
    kind: text('kind', { enum: MESSAGE_KINDS }).notNull().default('speech'),
    /** When the utterance started; `endedAt` when it ended (null if unknown). */
    spokenAt: instant('spoken_at').notNull(),
    endedAt: instant('ended_at'),
    /** Set by the sender; a retried delivery of the same line is a no-op. */
    idempotencyKey: text('idempotency_key').notNull().unique(),
    createdAt: createdAt(),
  },
  (t) => [index('messages_session_time_idx').on(t.sessionId, t.spokenAt), check('messages_role_valid', inList('speaker_role', SPEAKER_ROLES))],
);

export const sessionRatings = sqliteTable(
  'session_ratings',
  {
    id: id(),
    sessionId: text('session_id')
      .notNull()
      .unique()
      .references(() => coachingSessions.id, { onDelete: 'cascade' }),
    rating: integer('rating').notNull(),
    comment: text('comment'),
    /** Whole US dollars. */
    tipDollars: integer('tip_dollars'),
    createdAt: createdAt(),
  },
  (t) => [
    check('session_ratings_rating_range', sql`${t.rating} BETWEEN 1 AND 5`),
    check('session_ratings_tip_valid', sql`${t.tipDollars} IS NULL OR ${t.tipDollars} IN (1, 3, 5)`),
  ],
);

/** A coach's bookable hours: recurring on a weekday, or on one date (`specificDate`, YYYY-MM-DD). */
export const coachAvailability = sqliteTable(
  'coach_availability',
  {
    id: id(),
    coachId: userRef('coach_id'),
    dayOfWeek: integer('day_of_week').notNull(),
    /** "HH:MM" wall-clock time in the coach's zone (users.time_zone), not UTC. */
    startTime: text('start_time').notNull(),
    endTime: text('end_time').notNull(),
    isRecurring: bool('is_recurring').notNull().default(true),
    specificDate: text('specific_date'),
    /** A one-off exception closing these hours on that date (a day off): weekly windows give no slots then (one-offs only: the API
     * checks it, a CHECK here would make drizzle-kit rebuild the table). */
    closed: bool('closed').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    index('coach_availability_coach_day_idx').on(t.coachId, t.dayOfWeek),
    check('coach_availability_day_range', sql`${t.dayOfWeek} BETWEEN 0 AND 6`),
    check(
      'coach_availability_times',
      sql`${t.startTime} GLOB '[0-2][0-9]:[0-5][0-9]' AND ${t.endTime} GLOB '[0-2][0-9]:[0-5][0-9]' AND ${t.startTime} < ${t.endTime}`,
    ),
    check('coach_availability_one_off', sql`${t.isRecurring} = 1 OR ${t.specificDate} IS NOT NULL`),
  ],
);

/** A coach's private notes on a client (optionally on one session). Never shown to clients. */
export const clientNotes = sqliteTable(
  'client_notes',
  {
    id: id(),
    coachId: userRef('coach_id'),
    clientId: userRef('client_id'),
    sessionId: text('session_id').references(() => coachingSessions.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    /** Off by default: a note reaches the AI only when the coach says so. */
    shareableWithAi: bool('shareable_with_ai').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: instant('updated_at')
      .notNull()
      .$defaultFn(() => new Date())
      .$onUpdateFn(() => new Date()),
  },
  (t) => [index('client_notes_client_idx').on(t.clientId, t.coachId), index('client_notes_session_idx').on(t.sessionId)],
);

/** One row per Skool sync run (legacy SkoolMonitoringLog, widened to both communities per run). */
export const skoolSyncRuns = sqliteTable(
  'skool_sync_runs',
  {
    id: text('id').primaryKey(),
    trigger: text('trigger', { enum: ['cron', 'admin'] }).notNull(),
    status: text('status', { enum: ['RUNNING', 'SUCCEEDED', 'FAILED'] })
      .notNull()
      .default('RUNNING'),
    ultraMembersFound: integer('ultra_members_found'),
    vagusMembersFound: integer('vagus_members_found'),
    newMembers: integer('new_members').notNull().default(0),
    upgraded: integer('upgraded').notNull().default(0),
    downgraded: integer('downgraded').notNull().default(0),
    cancelled: integer('cancelled').notNull().default(0),
    /** Members listed without an email: they cannot be matched to an account. */
    skipped: integer('skipped').notNull().default(0),
    /** True when a community's result looked short or failed, so no downgrade was applied. */
    downgradesWithheld: bool('downgrades_withheld').notNull().default(false),
    durationMs: integer('duration_ms'),
    errorMessage: text('error_message'),
    startedAt: instant('started_at').notNull(),
    /** The admin who pressed "Run now"; null for the cron. */
    startedBy: text('started_by'),
    /** Members scraped so far per community, as the agent-host last reported (null: not reached yet). */
    ultraScraped: integer('ultra_scraped'),
    vagusScraped: integer('vagus_scraped'),
    /** The last sign of life from the agent-host (start, a progress report, a chunk): stuck-run detection. */
    progressAt: instant('progress_at'),
    /**
     * The communities the safety rule held back (found fewer than half of the last good run), with the
     * numbers; their staged members are kept until an admin overrides the hold or a later run finishes.
     */
    heldBack: text('held_back', { mode: 'json' }).$type<{ community: 'ultra' | 'vagus'; previous: number; found: number }[]>(),
    /** The admin who applied a held-back run anyway, when, and why. */
    overriddenBy: text('overridden_by'),
    overriddenAt: instant('overridden_at'),
    overrideReason: text('override_reason'),
    /** Lease taken by the delivery that applies the results: concurrent finals apply once. */
    applyingAt: instant('applying_at'),
    finishedAt: instant('finished_at'),
  },
  (t) => [
    index('skool_sync_runs_started_idx').on(t.startedAt),
    // One sync at a time, enforced by the database: a second RUNNING row cannot exist.
    uniqueIndex('skool_sync_runs_one_running').on(t.status).where(sql`status = 'RUNNING'`),
  ],
);

/** Members as a sync run delivered them, staged until the run's final message applies them. */
export const skoolSyncMembers = sqliteTable(
  'skool_sync_members',
  {
    runId: text('run_id')
      .notNull()
      .references(() => skoolSyncRuns.id, { onDelete: 'cascade' }),
    community: text('community', { enum: SKOOL_COMMUNITIES }).notNull(),
    /** Lower-cased. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    paid: bool('paid').notNull(),
    status: text('status', { enum: ['active', 'cancelled'] }).notNull(),
    joinedAt: instant('joined_at'),
    membershipEndsAt: instant('membership_ends_at'),
    profileUrl: text('profile_url'),
    photoUrl: text('photo_url'),
    bio: text('bio'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.community, t.email] })],
);

/** Per-community chunk bookkeeping for a run (idempotent deliveries, counts of members without email). */
export const skoolSyncChunks = sqliteTable(
  'skool_sync_chunks',
  {
    runId: text('run_id')
      .notNull()
      .references(() => skoolSyncRuns.id, { onDelete: 'cascade' }),
    community: text('community', { enum: SKOOL_COMMUNITIES }).notNull(),
    chunkIndex: integer('chunk_index').notNull(),
    chunkCount: integer('chunk_count').notNull(),
    members: integer('members').notNull(),
    skipped: integer('skipped').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.community, t.chunkIndex] })],
);

/**
 * What a membership history row is about: Skool status, role and tier (the sync, or staff for role and
 * tier); `account` only from staff (disabled, enabled, signed out everywhere, claim email sent).
 */
export const MEMBERSHIP_FIELDS = ['status', 'role', 'tier', 'account'] as const;

/**
 * Every change of a member's Skool status, role or tier (legacy MembershipStatusHistory), and every staff
 * action on the account: from a sync run (`syncRunId`) or from a staff member (`actorId`, with `reason`).
 */
export const membershipStatusHistory = sqliteTable(
  'membership_status_history',
  {
    id: id(),
    userId: userRef('user_id'),
    syncRunId: text('sync_run_id').references(() => skoolSyncRuns.id, { onDelete: 'set null' }),
    /** The staff member who made the change (an id, kept when that account goes, as in the audit log). */
    actorId: text('actor_id'),
    /** The reason staff gave. */
    reason: text('reason'),
    community: text('community', { enum: SKOOL_COMMUNITIES }),
    field: text('field', { enum: MEMBERSHIP_FIELDS }).notNull(),
    previousValue: text('previous_value'),
    newValue: text('new_value').notNull(),
    changedAt: instant('changed_at').notNull(),
  },
  (t) => [
    index('membership_status_history_user_idx').on(t.userId, t.changedAt),
    // One run's changes, person by person (the staff console's run detail).
    index('membership_status_history_run_idx').on(t.syncRunId),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Profile = typeof profiles.$inferSelect;
export type CoachingSession = typeof coachingSessions.$inferSelect;

/**
 * The audit log: what staff did (and sensitive reads), append-only. Actor, action, target, before and
 * after (never a secret or transcript text), the request id and the time. No route updates or deletes a
 * row; an account's rows stay when it goes (the actor and target are kept as ids, not references).
 * Write it with lib/audit.ts, in the same batch as the change it records.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: id(),
    at: instant('at').notNull(),
    /** Who acted: a user id, or null for the system (the cron, the sync). */
    actorId: text('actor_id'),
    /** What, as `area.verb`: `user.set-tier`, `user.disable`, `flag.acknowledge`, `transcript.read`, ... */
    action: text('action').notNull(),
    /** What it was done to: `user`, `session`, `skool-sync-run`, ... and its id. */
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    /** The reason staff gave, where one is required. */
    reason: text('reason'),
    /** JSON: the changed fields before and after (no secrets, no transcript text). */
    before: text('before', { mode: 'json' }).$type<Record<string, unknown>>(),
    after: text('after', { mode: 'json' }).$type<Record<string, unknown>>(),
    requestId: text('request_id'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_actor_idx').on(t.actorId, t.at),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.at),
  ],
);

/**
 * A crisis flag (issue 16): the follow-up of a session in which the client talked of self-harm or crisis.
 * One per session, raised with `coaching_sessions.flagged_at`; OPEN until a coach acknowledges it (and owns
 * it), RESOLVED with a note of what was done, and OPEN again when reopened. Every change is a
 * `crisis_flag_events` row (and an audit log row), written in the same batch.
 */
export const crisisFlags = sqliteTable(
  'crisis_flags',
  {
    sessionId: text('session_id')
      .primaryKey()
      .references(() => coachingSessions.id, { onDelete: 'cascade' }),
    state: text('state', { enum: FLAG_STATES }).notNull().default('OPEN'),
    raisedAt: instant('raised_at').notNull(),
    reason: text('reason').notNull(),
    /** The coach (or admin) who acknowledged it and owns the follow-up; null while OPEN. */
    ownerId: text('owner_id').references(() => users.id, { onDelete: 'set null' }),
    acknowledgedAt: instant('acknowledged_at'),
    resolvedAt: instant('resolved_at'),
    /** What was done, given when resolving. */
    resolutionNote: text('resolution_note'),
    /** 1 when raised, one more per change: a change names the version it changes (see `crisis_flag_events.seq`). */
    version: integer('version').notNull().default(1),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [
    index('crisis_flags_state_raised_idx').on(t.state, t.raisedAt),
    // The resolved list, the most recently resolved first (GET /api/flags/resolved).
    index('crisis_flags_state_resolved_idx').on(t.state, t.resolvedAt),
    check('crisis_flags_state_valid', inList('state', FLAG_STATES)),
  ],
);

/** Every change of a crisis flag: who (null: the system raised it), when, from which state to which, and the note. */
export const crisisFlagEvents = sqliteTable(
  'crisis_flag_events',
  {
    id: id(),
    sessionId: text('session_id')
      .notNull()
      .references(() => crisisFlags.sessionId, { onDelete: 'cascade' }),
    /** The flag's version this event made. Unique per flag: of two changes made at once from the same version, the second is refused whole. */
    seq: integer('seq').notNull(),
    at: instant('at').notNull(),
    actorId: text('actor_id'),
    action: text('action', { enum: FLAG_ACTIONS }).notNull(),
    fromState: text('from_state', { enum: FLAG_STATES }),
    toState: text('to_state', { enum: FLAG_STATES }).notNull(),
    note: text('note'),
  },
  (t) => [uniqueIndex('crisis_flag_events_seq_uq').on(t.sessionId, t.seq), check('crisis_flag_events_action_valid', inList('action', FLAG_ACTIONS))],
);

/**
 * A client's agreement to one version of the consent text (shared/src/consent.ts): who, which version,
 * when. One row per user and version; agreeing again to the same version changes nothing. A session starts
 * only for a client with a row for the current version (lib/consent.ts).
 */
export const consentRecords = sqliteTable(
  'consent_records',
  {
    id: id(),
    userId: userRef('user_id'),
    version: integer('version').notNull(),
    agreedAt: instant('agreed_at').notNull(),
  },
  (t) => [uniqueIndex('consent_records_user_version_idx').on(t.userId, t.version)],
);

/**
 * What stays of a session whose client was erased (lib/erasure.ts): no personal data, only what billing
 * counts (when, how long, which tier, which coach) and the id, so a late delivery from the agent-host for
 * it is answered 200 and dropped (routes/webhooks.ts) instead of being retried for a day.
 */
export const erasedSessions = sqliteTable(
  'erased_sessions',
  {
    sessionId: text('session_id').primaryKey(),
    erasedAt: instant('erased_at').notNull(),
    startedAt: instant('started_at'),
    minutesCharged: integer('minutes_charged'),
    tierAtStart: text('tier_at_start', { enum: MEMBERSHIP_TIERS }).notNull(),
    /** The coach's id (staff, not the erased client); kept as an id, not a reference. */
    coachId: text('coach_id'),
  },
  (t) => [index('erased_sessions_started_idx').on(t.startedAt)],
);

/**
 * Erased clients' email addresses as keyed hashes (HMAC-SHA-256, lib/encryption.ts `keyedHashes`), never the
 * address: the Skool sync makes no new account (and sends no claim email) for an address found here.
 */
export const erasureSuppressions = sqliteTable('erasure_suppressions', {
  emailHash: text('email_hash').primaryKey(),
  suppressedAt: instant('suppressed_at').notNull(),
});

/**
 * An admin's erasure of a client with more sessions than one run wipes (lib/erasure.ts): the account is
 * disabled at once, the hourly cron carries the erasure on, and its audit row names this admin and reason.
 * Deleted with the person.
 */
export const pendingErasures = sqliteTable('pending_erasures', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** The admin's id, kept as an id (not a reference): the erasure goes on if the admin's account goes. */
  actorId: text('actor_id').notNull(),
  reason: text('reason').notNull(),
  requestId: text('request_id'),
  startedAt: instant('started_at').notNull(),
});

/**
 * How fast the AI answered the client in a session (issue 18): the agent-host's summary of its replies
 * (agent-host/src/agent/turn-timings.ts), times only, one row per session, replaced by a later-measured
 * summary and never by an earlier one (routes/webhooks.ts). Read per day by GET /api/admin/agent-latency.
 */
export const sessionTurnTimings = sqliteTable(
  'session_turn_timings',
  {
    sessionId: text('session_id')
      .primaryKey()
      .references(() => coachingSessions.id, { onDelete: 'cascade' }),
    /** The LiveKit job that measured it: a restarted agent starts its own count. */
    jobId: text('job_id').notNull(),
    /** When the agent-host took the figures: the order of summaries, and the day they count for. */
    measuredAt: instant('measured_at').notNull(),
    turns: integer('turns').notNull(),
    endOfUtteranceP50Ms: integer('end_of_utterance_p50_ms'),
    endOfUtteranceWorstMs: integer('end_of_utterance_worst_ms'),
    llmFirstTokenP50Ms: integer('llm_first_token_p50_ms'),
    llmFirstTokenWorstMs: integer('llm_first_token_worst_ms'),
    ttsFirstByteP50Ms: integer('tts_first_byte_p50_ms'),
    ttsFirstByteWorstMs: integer('tts_first_byte_worst_ms'),
    totalP50Ms: integer('total_p50_ms').notNull(),
    totalWorstMs: integer('total_worst_ms').notNull(),
  },
  (t) => [index('session_turn_timings_measured_idx').on(t.measuredAt), check('session_turn_timings_turns_positive', sql`${t.turns} > 0`)],
);
