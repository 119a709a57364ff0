-- Issue 19: each coach's IANA time zone; availability windows are wall-clock times in it.
-- Converting today's UTC windows: every coach starts with no zone (null), read as UTC, so each window
-- keeps exactly the instants it had (a UTC window is a local window in UTC). GET /api/users/me says
-- `timeZoneConfirmed: false` until the coach chooses a zone. Choosing one keeps the windows' local
-- hours (09:00–12:00 stays 09:00–12:00, now in that zone).
-- A one-off window may close hours instead of opening them (a day off): `closed`.
ALTER TABLE `coach_availability` ADD `closed` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `time_zone` text;