ALTER TABLE `coaching_sessions` ADD `flagged_at` integer;--> statement-breakpoint
ALTER TABLE `coaching_sessions` ADD `flag_reason` text;--> statement-breakpoint
CREATE INDEX `coaching_sessions_flagged_idx` ON `coaching_sessions` (`flagged_at`);--> statement-breakpoint
ALTER TABLE `messages` ADD `kind` text DEFAULT 'speech' NOT NULL;