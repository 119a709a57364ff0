-- Issue 19: an appointment nobody started becomes MISSED (its time passed by its length and 15 minutes
-- with no session); email_outbox gains the 'appointment-rescheduled' template (no constraint lists those).
-- SQLite changes a CHECK only by rebuilding the table. D1 keeps foreign keys on (PRAGMA foreign_keys is
-- ignored there), so dropping the old table runs its ON DELETE actions: coaching_sessions.appointment_id
-- would be set to null. The links are kept aside and put back; defer_foreign_keys lets the rebuild pass.
PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE TABLE `__session_appointments` AS SELECT `id`, `appointment_id` FROM `coaching_sessions` WHERE `appointment_id` IS NOT NULL;--> statement-breakpoint
CREATE TABLE `__new_appointments` (
	`id` text PRIMARY KEY NOT NULL,
	`scheduled_for` integer NOT NULL,
	`duration_minutes` integer DEFAULT 30 NOT NULL,
	`client_id` text NOT NULL,
	`coach_id` text NOT NULL,
	`status` text DEFAULT 'SCHEDULED' NOT NULL,
	`cancelled_at` integer,
	`cancelled_by` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`client_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`coach_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cancelled_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "appointments_duration_positive" CHECK("__new_appointments"."duration_minutes" > 0),
	CONSTRAINT "appointments_status_valid" CHECK(status IN ('SCHEDULED', 'ACTIVE', 'COMPLETED', 'CANCELLED', 'MISSED'))
);
--> statement-breakpoint
INSERT INTO `__new_appointments`("id", "scheduled_for", "duration_minutes", "client_id", "coach_id", "status", "cancelled_at", "cancelled_by", "created_at") SELECT "id", "scheduled_for", "duration_minutes", "client_id", "coach_id", "status", "cancelled_at", "cancelled_by", "created_at" FROM `appointments`;--> statement-breakpoint
DROP TABLE `appointments`;--> statement-breakpoint
ALTER TABLE `__new_appointments` RENAME TO `appointments`;--> statement-breakpoint
UPDATE `coaching_sessions` SET `appointment_id` = (SELECT s.`appointment_id` FROM `__session_appointments` s WHERE s.`id` = `coaching_sessions`.`id`) WHERE `id` IN (SELECT `id` FROM `__session_appointments`);--> statement-breakpoint
DROP TABLE `__session_appointments`;--> statement-breakpoint
PRAGMA defer_foreign_keys = off;--> statement-breakpoint
CREATE INDEX `appointments_status_time_idx` ON `appointments` (`status`,`scheduled_for`);--> statement-breakpoint
CREATE INDEX `appointments_coach_status_idx` ON `appointments` (`coach_id`,`status`);--> statement-breakpoint
CREATE INDEX `appointments_client_time_idx` ON `appointments` (`client_id`,`scheduled_for`);--> statement-breakpoint
CREATE UNIQUE INDEX `appointments_coach_slot_uq` ON `appointments` (`coach_id`,`scheduled_for`) WHERE "appointments"."status" IN ('SCHEDULED', 'ACTIVE');--> statement-breakpoint
CREATE UNIQUE INDEX `appointments_client_slot_uq` ON `appointments` (`client_id`,`scheduled_for`) WHERE "appointments"."status" IN ('SCHEDULED', 'ACTIVE');