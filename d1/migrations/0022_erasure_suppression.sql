CREATE TABLE `erasure_suppressions` (
	`email_hash` text PRIMARY KEY NOT NULL,
	`suppressed_at` integer NOT NULL
);
