CREATE TABLE `vm_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`build_id` integer NOT NULL,
	`purpose` text NOT NULL,
	`state` text NOT NULL,
	`accel` text,
	`memory_mib` integer NOT NULL,
	`cpus` integer NOT NULL,
	`network` integer DEFAULT false NOT NULL,
	`command` text,
	`pid` integer,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`message` text,
	`login_ms` integer,
	`verdict` text,
	`items` text DEFAULT '[]' NOT NULL,
	`console_bytes` integer,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `vm_runs_build_id_idx` ON `vm_runs` (`build_id`);--> statement-breakpoint
ALTER TABLE `profiles` ADD `boot_check_after_build` integer DEFAULT false NOT NULL;