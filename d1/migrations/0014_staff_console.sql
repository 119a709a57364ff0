ALTER TABLE `membership_status_history` ADD `actor_id` text;--> statement-breakpoint
ALTER TABLE `membership_status_history` ADD `reason` text;--> statement-breakpoint
ALTER TABLE `users` ADD `disabled_at` integer;