CREATE TABLE `appointments` (
	`id` text PRIMARY KEY NOT NULL,
	`scheduled_for` integer NOT NULL,
	`duration_minutes` integer DEFAULT 30 NOT NULL,
	`client_id` text NOT NULL,
	`coach_id` text NOT NULL,
	`status` text DEFAULT 'SCHEDULED' NOT NULL,
	`cancelled_at` integer,
	`cancelled_by` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`client_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`coach_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cancelled_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "appointments_duration_positive" CHECK("appointments"."duration_minutes" > 0),
	CONSTRAINT "appointments_status_valid" CHECK(status IN ('SCHEDULED', 'ACTIVE', 'COMPLETED', 'CANCELLED'))
);
--> statement-breakpoint
CREATE INDEX `appointments_status_time_idx` ON `appointments` (`status`,`scheduled_for`);--> statement-breakpoint
CREATE INDEX `appointments_coach_status_idx` ON `appointments` (`coach_id`,`status`);--> statement-breakpoint
CREATE INDEX `appointments_client_time_idx` ON `appointments` (`client_id`,`scheduled_for`);--> statement-breakpoint
CREATE TABLE `auth_grants` (
	`id` text PRIMARY KEY NOT NULL,
	`grant_hash` text NOT NULL,
	`user_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`ip` text,
	`user_agent` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `auth_grants_grant_hash_unique` ON `auth_grants` (`grant_hash`);--> statement-breakpoint
CREATE INDEX `auth_grants_user_idx` ON `auth_grants` (`user_id`);--> statement-breakpoint
CREATE INDEX `auth_grants_expires_idx` ON `auth_grants` (`expires_at`);--> statement-breakpoint
CREATE TABLE `client_notes` (
	`id` text PRIMARY KEY NOT NULL,
	`coach_id` text NOT NULL,
	`client_id` text NOT NULL,
	`session_id` text,
	`text` text NOT NULL,
	`shareable_with_ai` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`coach_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`client_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`session_id`) REFERENCES `coaching_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `client_notes_client_idx` ON `client_notes` (`client_id`,`coach_id`);--> statement-breakpoint
CREATE INDEX `client_notes_session_idx` ON `client_notes` (`session_id`);--> statement-breakpoint
CREATE TABLE `coach_availability` (
	`id` text PRIMARY KEY NOT NULL,
	`coach_id` text NOT NULL,
	`day_of_week` integer NOT NULL,
	`start_time` text NOT NULL,
	`end_time` text NOT NULL,
	`is_recurring` integer DEFAULT true NOT NULL,
	`specific_date` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`coach_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "coach_availability_day_range" CHECK("coach_availability"."day_of_week" BETWEEN 0 AND 6),
	CONSTRAINT "coach_availability_times" CHECK("coach_availability"."start_time" GLOB '[0-2][0-9]:[0-5][0-9]' AND "coach_availability"."end_time" GLOB '[0-2][0-9]:[0-5][0-9]' AND "coach_availability"."start_time" < "coach_availability"."end_time"),
	CONSTRAINT "coach_availability_one_off" CHECK("coach_availability"."is_recurring" = 1 OR "coach_availability"."specific_date" IS NOT NULL)
);
--> statement-breakpoint
CREATE INDEX `coach_availability_coach_day_idx` ON `coach_availability` (`coach_id`,`day_of_week`);--> statement-breakpoint
CREATE TABLE `coaching_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`room_name` text NOT NULL,
	`client_id` text NOT NULL,
	`coach_id` text,
	`appointment_id` text,
	`status` text DEFAULT 'WAITING' NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`duration_seconds` integer,
	`tier_at_start` text NOT NULL,
	`cap_minutes` integer,
	`warnings_sent` integer DEFAULT 0 NOT NULL,
	`transcript` text,
	`ai_summary` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`client_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`coach_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`appointment_id`) REFERENCES `appointments`(`id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "coaching_sessions_status_valid" CHECK(status IN ('WAITING', 'ACTIVE', 'COMPLETED', 'CANCELLED')),
	CONSTRAINT "coaching_sessions_duration_nonneg" CHECK("coaching_sessions"."duration_seconds" IS NULL OR "coaching_sessions"."duration_seconds" >= 0),
	CONSTRAINT "coaching_sessions_cap_positive" CHECK("coaching_sessions"."cap_minutes" IS NULL OR "coaching_sessions"."cap_minutes" > 0),
	CONSTRAINT "coaching_sessions_tier_valid" CHECK(tier_at_start IN ('FREE', 'VAGUS_MEMBER', 'PREMIUM'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `coaching_sessions_room_name_unique` ON `coaching_sessions` (`room_name`);--> statement-breakpoint
CREATE INDEX `coaching_sessions_client_status_idx` ON `coaching_sessions` (`client_id`,`status`);--> statement-breakpoint
CREATE INDEX `coaching_sessions_coach_status_idx` ON `coaching_sessions` (`coach_id`,`status`);--> statement-breakpoint
CREATE INDEX `coaching_sessions_status_started_idx` ON `coaching_sessions` (`status`,`started_at`);--> statement-breakpoint
CREATE TABLE `login_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`ip` text,
	`user_agent` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `login_sessions_user_idx` ON `login_sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `login_sessions_expires_idx` ON `login_sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `membership_status_history` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`sync_run_id` text,
	`community` text,
	`field` text NOT NULL,
	`previous_value` text,
	`new_value` text NOT NULL,
	`changed_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`sync_run_id`) REFERENCES `skool_sync_runs`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `membership_status_history_user_idx` ON `membership_status_history` (`user_id`,`changed_at`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`speaker_identity` text NOT NULL,
	`speaker_role` text NOT NULL,
	`text` text NOT NULL,
	`heard_by_ai` integer NOT NULL,
	`spoken_at` integer NOT NULL,
	`idempotency_key` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `coaching_sessions`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "messages_role_valid" CHECK(speaker_role IN ('client', 'coach', 'ai'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_idempotency_key_unique` ON `messages` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `messages_session_time_idx` ON `messages` (`session_id`,`spoken_at`);--> statement-breakpoint
CREATE TABLE `profiles` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`client_facts` text DEFAULT '[]' NOT NULL,
	`challenges` text DEFAULT '[]' NOT NULL,
	`preferences` text,
	`last_summary` text,
	`context_notes` text,
	`onboarding_completed` integer DEFAULT false NOT NULL,
	`onboarding_completed_at` integer,
	`coaching_goals` text,
	`symptoms` text,
	`initial_mood` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "profiles_mood_range" CHECK("profiles"."initial_mood" IS NULL OR "profiles"."initial_mood" BETWEEN 1 AND 5)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_user_id_unique` ON `profiles` (`user_id`);--> statement-breakpoint
CREATE INDEX `profiles_onboarding_idx` ON `profiles` (`onboarding_completed`);--> statement-breakpoint
CREATE TABLE `session_ratings` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`rating` integer NOT NULL,
	`comment` text,
	`tip_dollars` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `coaching_sessions`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "session_ratings_rating_range" CHECK("session_ratings"."rating" BETWEEN 1 AND 5),
	CONSTRAINT "session_ratings_tip_valid" CHECK("session_ratings"."tip_dollars" IS NULL OR "session_ratings"."tip_dollars" IN (1, 3, 5))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `session_ratings_session_id_unique` ON `session_ratings` (`session_id`);--> statement-breakpoint
CREATE TABLE `skool_sync_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`trigger` text NOT NULL,
	`status` text DEFAULT 'RUNNING' NOT NULL,
	`ultra_members_found` integer,
	`vagus_members_found` integer,
	`new_members` integer DEFAULT 0 NOT NULL,
	`upgraded` integer DEFAULT 0 NOT NULL,
	`downgraded` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`duration_ms` integer,
	`error_message` text,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `skool_sync_runs_started_idx` ON `skool_sync_runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`password_hash` text,
	`display_name` text NOT NULL,
	`role` text DEFAULT 'CLIENT' NOT NULL,
	`membership_tier` text DEFAULT 'FREE' NOT NULL,
	`skool_ultra_email` text,
	`skool_vagus_email` text,
	`ultra_subscription_status` text,
	`vagus_subscription_status` text,
	`membership_end_date` integer,
	`last_skool_sync` integer,
	`skool_profile_url` text,
	`skool_photo_url` text,
	`skool_bio` text,
	`skool_joined_at` integer,
	`monthly_sessions_used` integer DEFAULT 0 NOT NULL,
	`monthly_minutes_used` integer DEFAULT 0 NOT NULL,
	`usage_resets_at` integer,
	`is_available` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	CONSTRAINT "users_email_lower" CHECK("users"."email" = lower("users"."email")),
	CONSTRAINT "users_role_valid" CHECK(role IN ('COACH', 'CLIENT', 'ADMIN')),
	CONSTRAINT "users_tier_valid" CHECK(membership_tier IN ('FREE', 'VAGUS_MEMBER', 'PREMIUM')),
	CONSTRAINT "users_usage_nonneg" CHECK("users"."monthly_sessions_used" >= 0 AND "users"."monthly_minutes_used" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE INDEX `users_role_idx` ON `users` (`role`);--> statement-breakpoint
CREATE INDEX `users_available_idx` ON `users` (`is_available`);