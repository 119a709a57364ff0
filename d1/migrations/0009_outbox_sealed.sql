-- Queued mail held claim links in plain text. Nothing has ever sent it (no sender exists yet) and a
-- link can be asked for again, so the old rows go rather than be carried over: the table is made
-- again with the body sealed (workers/src/lib/encryption.ts) and an expiry for retention.
DROP TABLE `email_outbox`;--> statement-breakpoint
CREATE TABLE `email_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`to_email` text NOT NULL,
	`template` text NOT NULL,
	`subject` text NOT NULL,
	`body_sealed` text NOT NULL,
	`expires_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`sent_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `email_outbox_unsent_idx` ON `email_outbox` (`sent_at`,`created_at`);--> statement-breakpoint
CREATE INDEX `email_outbox_expires_idx` ON `email_outbox` (`expires_at`);
