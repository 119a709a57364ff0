ALTER TABLE `coaching_sessions` ADD `end_reason` text;--> statement-breakpoint
ALTER TABLE `coaching_sessions` ADD `minutes_charged` integer;--> statement-breakpoint
ALTER TABLE `coaching_sessions` ADD `usage_recorded_at` integer;