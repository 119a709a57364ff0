ALTER TABLE `skool_sync_runs` ADD `started_by` text;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `ultra_scraped` integer;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `vagus_scraped` integer;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `progress_at` integer;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `held_back` text;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `overridden_by` text;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `overridden_at` integer;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `override_reason` text;--> statement-breakpoint
CREATE INDEX `membership_status_history_run_idx` ON `membership_status_history` (`sync_run_id`);--> statement-breakpoint
-- Runs from before this release: their start is their last sign of life.
UPDATE `skool_sync_runs` SET `progress_at` = `started_at` WHERE `progress_at` IS NULL;