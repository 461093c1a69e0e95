import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { ProfileDocument } from "@/server/mkosi/profile";

export const profiles = sqliteTable("profiles", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  document: text("document", { mode: "json" }).$type<ProfileDocument>().notNull(),
  /** Bumped on every save; a save names the revision it started from (optimistic locking). */
  revision: integer("revision").notNull().default(1),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export type ProfileRow = typeof profiles.$inferSelect;
