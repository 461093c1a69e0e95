-- The packages of each index moved to a file of their own beside its apt lists
-- (data/packages/<key>/index.sqlite). Children first; the full-text index by hand (drizzle-kit
-- does not model it). Every index reads its lists again on its next use.
DROP TABLE `packages_fts`;--> statement-breakpoint
DROP TABLE `package_provides`;--> statement-breakpoint
DROP TABLE `packages`;--> statement-breakpoint
DROP TABLE `package_lists`;--> statement-breakpoint
UPDATE `package_indexes` SET `package_count` = 0, `fetched_at` = NULL;
