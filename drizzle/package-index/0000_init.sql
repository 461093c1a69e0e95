CREATE TABLE `package_lists` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`file` text NOT NULL,
	`uri` text NOT NULL,
	`suite` text NOT NULL,
	`component` text NOT NULL,
	`size` integer NOT NULL,
	`mtime_ms` integer NOT NULL,
	`priority` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `package_lists_file_idx` ON `package_lists` (`file`);--> statement-breakpoint
CREATE TABLE `package_provides` (
	`package_id` integer NOT NULL,
	`name` text NOT NULL,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `package_provides_name_idx` ON `package_provides` (`name`);--> statement-breakpoint
CREATE INDEX `package_provides_package_idx` ON `package_provides` (`package_id`);--> statement-breakpoint
CREATE TABLE `packages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`list_id` integer NOT NULL,
	`name` text NOT NULL,
	`version` text NOT NULL,
	`architecture` text NOT NULL,
	`section` text,
	`installed_kib` integer,
	`download_bytes` integer,
	`summary` text DEFAULT '' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`provides` text,
	`depends` text,
	`pre_depends` text,
	`recommends` text,
	`source` text,
	`essential` integer DEFAULT false NOT NULL,
	`candidate` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`list_id`) REFERENCES `package_lists`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `packages_candidate_name_idx` ON `packages` (`candidate`,`name`);--> statement-breakpoint
CREATE INDEX `packages_list_idx` ON `packages` (`list_id`);--> statement-breakpoint
-- Written by hand (drizzle-kit does not model virtual tables or triggers): the full-text index
-- of the packages table, contentless (the text lives in packages). The import fills it in one
-- INSERT ... SELECT per batch of rows; deletes follow the packages table through the trigger.
CREATE VIRTUAL TABLE `packages_fts` USING fts5(name, summary, description, content='', contentless_delete=1);
--> statement-breakpoint
CREATE TRIGGER `packages_fts_delete` AFTER DELETE ON `packages` BEGIN
	DELETE FROM `packages_fts` WHERE rowid = old.id;
END;
