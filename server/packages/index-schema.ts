// The schema of a package index's own SQLite file (data/packages/<key>/index.sqlite), apart
// from the app's database: an index is apt's lists read into tables, built while apt fetches
// them and swapped in whole, so its writes never hold the app's database. Its migrations are
// drizzle/package-index/ (drizzle-index.config.ts); the full-text index is written there by
// hand, as drizzle-kit does not model virtual tables.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** One Packages list apt downloaded for the index, with what tells whether it changed since. */
export const packageLists = sqliteTable(
  "package_lists",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** The file's name in apt's lists folder. */
    file: text("file").notNull(),
    uri: text("uri").notNull(),
    suite: text("suite").notNull(),
    component: text("component").notNull(),
    size: integer("size").notNull(),
    mtimeMs: integer("mtime_ms").notNull(),
    /** apt's default pin of its release: 500, or 100/1 for ButAutomaticUpgrades/NotAutomatic. */
    priority: integer("priority").notNull(),
  },
  (t) => [uniqueIndex("package_lists_file_idx").on(t.file)],
);

/**
 * One package version of a list. The full-text index (packages_fts, FTS5, contentless) holds
 * name, summary and description: the import fills it, a trigger deletes.
 */
export const packages = sqliteTable(
  "packages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    listId: integer("list_id")
      .notNull()
      .references(() => packageLists.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    version: text("version").notNull(),
    architecture: text("architecture").notNull(),
    section: text("section"),
    /** Installed-Size: KiB. */
    installedKib: integer("installed_kib"),
    /** Size: bytes of the .deb. */
    downloadBytes: integer("download_bytes"),
    /** The description's first line. */
    summary: text("summary").notNull().default(""),
    /** The rest of the description. */
    description: text("description").notNull().default(""),
    provides: text("provides"),
    depends: text("depends"),
    preDepends: text("pre_depends"),
    recommends: text("recommends"),
    source: text("source"),
    essential: integer("essential", { mode: "boolean" }).notNull().default(false),
    /** The version apt installs of this name (highest pin, then highest version). */
    candidate: integer("candidate", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [index("packages_candidate_name_idx").on(t.candidate, t.name), index("packages_list_idx").on(t.listId)],
);

/** The names a package version provides (virtual packages are names found only here). */
export const packageProvides = sqliteTable(
  "package_provides",
  {
    packageId: integer("package_id")
      .notNull()
      .references(() => packages.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
  },
  (t) => [index("package_provides_name_idx").on(t.name), index("package_provides_package_idx").on(t.packageId)],
);
