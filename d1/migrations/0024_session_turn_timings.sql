CREATE TABLE `session_turn_timings` (
	`session_id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`measured_at` integer NOT NULL,
	`turns` integer NOT NULL,
	`end_of_utterance_p50_ms` integer,
	`end_of_utterance_worst_ms` integer,
	`llm_first_token_p50_ms` integer,
	`llm_first_token_worst_ms` integer,
	`tts_first_byte_p50_ms` integer,
	`tts_first_byte_worst_ms` integer,
	`total_p50_ms` integer NOT NULL,
	`total_worst_ms` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `coaching_sessions`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "session_turn_timings_turns_positive" CHECK("session_turn_timings"."turns" > 0)
);
--> statement-breakpoint
CREATE INDEX `session_turn_timings_measured_idx` ON `session_turn_timings` (`measured_at`);