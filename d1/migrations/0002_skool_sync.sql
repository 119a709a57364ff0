CREATE TABLE `skool_sync_chunks` (
	`run_id` text NOT NULL,
	`community` text NOT NULL,
	`chunk_index` integer NOT NULL,
	`chunk_count` integer NOT NULL,
	`members` integer NOT NULL,
	`skipped` integer NOT NULL,
	PRIMARY KEY(`run_id`, `community`, `chunk_index`),
	FOREIGN KEY (`run_id`) REFERENCES `skool_sync_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `skool_sync_members` (
	`run_id` text NOT NULL,
	`community` text NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`paid` integer NOT NULL,
	`status` text NOT NULL,
	`joined_at` integer,
	`membership_ends_at` integer,
	`profile_url` text,
	`photo_url` text,
	`bio` text,
	PRIMARY KEY(`run_id`, `community`, `email`),
	FOREIGN KEY (`run_id`) REFERENCES `skool_sync_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `skipped` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `downgrades_withheld` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `skool_sync_runs` ADD `applying_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `skool_sync_runs_one_running` ON `skool_sync_runs` (`status`) WHERE status = 'RUNNING';