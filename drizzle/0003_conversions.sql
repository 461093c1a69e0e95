CREATE TABLE `conversions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`build_id` integer NOT NULL,
	`source` text NOT NULL,
	`format` text NOT NULL,
	`target` text NOT NULL,
	`state` text NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`error` text,
	`reused` integer DEFAULT false NOT NULL,
	`command` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `conversions_build_id_idx` ON `conversions` (`build_id`);--> statement-breakpoint
CREATE INDEX `conversions_state_idx` ON `conversions` (`state`);