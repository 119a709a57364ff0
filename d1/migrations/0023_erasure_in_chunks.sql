CREATE TABLE `pending_erasures` (
	`user_id` text PRIMARY KEY NOT NULL,
	`actor_id` text NOT NULL,
	`reason` text NOT NULL,
	`request_id` text,
	`started_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `coaching_sessions` ADD `object_erased_at` integer;