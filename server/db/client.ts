import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { dataDir } from "@/server/config";
import * as schema from "./schema";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

// Resolved at run time from the working folder; the bundler must not try to trace it.
const MIGRATIONS = resolve(/*turbopackIgnore: true*/ process.env.IMAGE_STUDIO_MIGRATIONS ?? join(process.cwd(), "drizzle"));

/** The migrations folder (the package index files' are its package-index/). */
export const migrationsRoot = () => MIGRATIONS;

/** Opens (creating if needed) a SQLite file and brings its schema up to date. */
export function openDatabase(file: string): Db {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Made readable by its owner only before SQLite opens it; its -wal and -shm files take the same mode.
  closeSync(openSync(file, "a", 0o600));
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema }) as Db;
  migrate(db, { migrationsFolder: MIGRATIONS });
  return db;
}

// One connection per server process; kept on globalThis so Next's dev reloads reuse it.
const g = globalThis as { __imageStudioDb?: Db };
export function getDb(): Db {
  g.__imageStudioDb ??= openDatabase(join(dataDir(), "image-studio.sqlite"));
  return g.__imageStudioDb;
}
