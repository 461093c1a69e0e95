// Migration 0007 on a database as an earlier version left it: the packages of each index had
// rows in the app's database; after it they are gone from there (each index's own file holds
// them), and every index is read again on its next use. The real migrator, real SQLite files.
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrationsRoot } from "@/server/db/client";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "packages-migration-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("moves the packages out of the app's database and marks every index to be read again", async () => {
  // The migrations as they were before 0007: the same folder, its journal cut there.
  const before = join(dir, "drizzle-0006");
  await cp(migrationsRoot(), before, { recursive: true });
  const journalFile = join(before, "meta", "_journal.json");
  const journal = JSON.parse(await readFile(journalFile, "utf8")) as { entries: { tag: string }[] };
  const upTo = journal.entries.findIndex((e) => e.tag.startsWith("0006_"));
  expect(upTo).toBeGreaterThan(0);
  await writeFile(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo + 1) }));

  const sqlite = new Database(join(dir, "image-studio.sqlite"));
  sqlite.pragma("foreign_keys = ON");
  migrate(drizzle(sqlite), { migrationsFolder: before });
  sqlite.prepare("INSERT INTO package_indexes (id, key, sources, architecture, fetched_at, package_count) VALUES (1, 'k', '[]', 'amd64', 1700000000000, 2)").run();
  sqlite.prepare("INSERT INTO package_lists (id, index_id, file, uri, suite, component, size, mtime_ms, priority) VALUES (1, 1, 'f', 'u', 's', 'main', 1, 1, 500)").run();
  sqlite.prepare("INSERT INTO packages (id, index_id, list_id, name, version, architecture, candidate) VALUES (1, 1, 1, 'alpha', '1', 'amd64', 1)").run();
  sqlite.prepare("INSERT INTO package_provides (index_id, package_id, name) VALUES (1, 1, 'virtual')").run();
  sqlite.prepare("INSERT INTO packages_fts (rowid, name, summary, description) VALUES (1, 'alpha', 'a tool', '')").run();

  migrate(drizzle(sqlite), { migrationsFolder: migrationsRoot() });
  const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'package%'").pluck().all();
  expect(tables).toEqual(["package_indexes"]);
  expect(sqlite.prepare("SELECT key, fetched_at AS fetchedAt, package_count AS packageCount FROM package_indexes").all()).toEqual([{ key: "k", fetchedAt: null, packageCount: 0 }]);
  sqlite.close();
});
