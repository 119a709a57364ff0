CREATE TABLE `crisis_flag_events` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`actor_id` text,
	`action` text NOT NULL,
	`from_state` text,
	`to_state` text NOT NULL,
	`note` text,
	FOREIGN KEY (`session_id`) REFERENCES `crisis_flags`(`session_id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "crisis_flag_events_action_valid" CHECK(action IN ('raise', 'acknowledge', 'resolve', 'reopen'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `crisis_flag_events_seq_uq` ON `crisis_flag_events` (`session_id`,`seq`);--> statement-breakpoint
CREATE TABLE `crisis_flags` (
	`session_id` text PRIMARY KEY NOT NULL,
	`state` text DEFAULT 'OPEN' NOT NULL,
	`raised_at` integer NOT NULL,
	`reason` text NOT NULL,
	`owner_id` text,
	`acknowledged_at` integer,
	`resolved_at` integer,
	`resolution_note` text,
	`version` integer DEFAULT 1 NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `coaching_sessions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "crisis_flags_state_valid" CHECK(state IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED'))
);
--> statement-breakpoint
CREATE INDEX `crisis_flags_state_raised_idx` ON `crisis_flags` (`state`,`raised_at`);--> statement-breakpoint
-- Sessions flagged before flags had a state: open, with their raise on record.
INSERT INTO `crisis_flags` (`session_id`, `state`, `raised_at`, `reason`, `version`, `updated_at`)
SELECT `id`, 'OPEN', `flagged_at`, COALESCE(`flag_reason`, ''), 1, `flagged_at` FROM `coaching_sessions` WHERE `flagged_at` IS NOT NULL;--> statement-breakpoint
INSERT INTO `crisis_flag_events` (`id`, `session_id`, `seq`, `at`, `actor_id`, `action`, `from_state`, `to_state`, `note`)
SELECT lower(hex(randomblob(16))), `session_id`, 1, `raised_at`, NULL, 'raise', NULL, 'OPEN', NULL FROM `crisis_flags`;
