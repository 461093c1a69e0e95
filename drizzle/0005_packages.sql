CREATE TABLE `package_indexes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`sources` text NOT NULL,
	`architecture` text NOT NULL,
	`fetched_at` integer,
	`attempted_at` integer,
	`error` text,
	`package_count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `package_indexes_key_unique` ON `package_indexes` (`key`);--> statement-breakpoint
CREATE TABLE `package_lists` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`index_id` integer NOT NULL,
	`file` text NOT NULL,
	`uri` text NOT NULL,
	`suite` text NOT NULL,
	`component` text NOT NULL,
	`size` integer NOT NULL,
	`mtime_ms` integer NOT NULL,
	`priority` integer NOT NULL,
	FOREIGN KEY (`index_id`) REFERENCES `package_indexes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `package_lists_index_file_idx` ON `package_lists` (`index_id`,`file`);--> statement-breakpoint
CREATE TABLE `package_provides` (
	`index_id` integer NOT NULL,
	`package_id` integer NOT NULL,
	`name` text NOT NULL,
	FOREIGN KEY (`index_id`) REFERENCES `package_indexes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `package_provides_name_idx` ON `package_provides` (`index_id`,`name`);--> statement-breakpoint
CREATE INDEX `package_provides_package_idx` ON `package_provides` (`package_id`);--> statement-breakpoint
CREATE TABLE `packages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`index_id` integer NOT NULL,
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
	FOREIGN KEY (`index_id`) REFERENCES `package_indexes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`list_id`) REFERENCES `package_lists`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `packages_index_name_idx` ON `packages` (`index_id`,`candidate`,`name`);--> statement-breakpoint
CREATE INDEX `packages_list_idx` ON `packages` (`list_id`);--> statement-breakpoint
-- Written by hand (drizzle-kit does not model virtual tables or triggers): the full-text index
-- of the packages table, contentless (the text lives in packages), kept in step by triggers.
CREATE VIRTUAL TABLE `packages_fts` USING fts5(name, summary, description, content='', contentless_delete=1);
--> statement-breakpoint
CREATE TRIGGER `packages_fts_insert` AFTER INSERT ON `packages` BEGIN
	INSERT INTO `packages_fts` (rowid, name, summary, description) VALUES (new.id, new.name, new.summary, new.description);
END;
--> statement-breakpoint
CREATE TRIGGER `packages_fts_delete` AFTER DELETE ON `packages` BEGIN
	DELETE FROM `packages_fts` WHERE rowid = old.id;
END;
