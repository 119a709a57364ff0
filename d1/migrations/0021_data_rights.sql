CREATE TABLE `erased_sessions` (
	`session_id` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL,
	`started_at` integer,
	`minutes_charged` integer,
	`tier_at_start` text NOT NULL,
	`coach_id` text
);
--> statement-breakpoint
CREATE INDEX `erased_sessions_started_idx` ON `erased_sessions` (`started_at`);--> statement-breakpoint
ALTER TABLE `users` ADD `deletion_requested_at` integer;--> statement-breakpoint
CREATE INDEX `users_deletion_idx` ON `users` (`deletion_requested_at`);