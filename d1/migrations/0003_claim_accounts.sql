CREATE TABLE `claim_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `claim_tokens_token_hash_unique` ON `claim_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `claim_tokens_user_idx` ON `claim_tokens` (`user_id`);--> statement-breakpoint
CREATE INDEX `claim_tokens_expires_idx` ON `claim_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `email_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`to_email` text NOT NULL,
	`template` text NOT NULL,
	`subject` text NOT NULL,
	`body_text` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`sent_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `email_outbox_unsent_idx` ON `email_outbox` (`sent_at`,`created_at`);