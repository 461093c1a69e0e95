CREATE TABLE `builds` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`profile_id` integer,
	`profile_name` text NOT NULL,
	`profile_revision` integer NOT NULL,
	`state` text NOT NULL,
	`incremental` integer DEFAULT false NOT NULL,
	`queued_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`exit_code` integer,
	`mkosi_version` text NOT NULL,
	`command` text,
	`message` text,
	`pid` integer,
	`steps` text DEFAULT '[]' NOT NULL,
	`failure_lines` text DEFAULT '[]' NOT NULL,
	`output_bytes` integer,
	`log_bytes` integer,
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `builds_profile_id_idx` ON `builds` (`profile_id`);--> statement-breakpoint
CREATE INDEX `builds_state_idx` ON `builds` (`state`);