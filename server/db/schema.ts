import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
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

/** A build's states, in the order a build can pass through them. */
export const BUILD_STATES = ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"] as const;
export type BuildState = (typeof BUILD_STATES)[number];
/** States a build never leaves. */
export const FINISHED_STATES = ["succeeded", "failed", "cancelled", "interrupted"] as const satisfies readonly BuildState[];

/** One of mkosi's steps (its "‣" lines), timed by the server as the lines arrived (ms since epoch). */
export interface BuildStep {
  name: string;
  /** Nesting: 0 for a top-level step, 1 for a step inside it, ... */
  depth: number;
  startedAt: number;
  /** null while the step runs. */
  endedAt: number | null;
}

export const builds = sqliteTable(
  "builds",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    // A build outlives its profile: the name and the snapshot folder still say what it built.
    profileId: integer("profile_id").references(() => profiles.id, { onDelete: "set null" }),
    profileName: text("profile_name").notNull(),
    /** The profile revision the snapshot was rendered from. */
    profileRevision: integer("profile_revision").notNull(),
    state: text("state", { enum: BUILD_STATES }).notNull(),
    incremental: integer("incremental", { mode: "boolean" }).notNull().default(false),
    queuedAt: integer("queued_at", { mode: "timestamp_ms" }).notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
    exitCode: integer("exit_code"),
    /** The mkosi version the snapshot was rendered for and built with. */
    mkosiVersion: text("mkosi_version").notNull(),
    /** The exact argv run (null until the build starts). */
    command: text("command", { mode: "json" }).$type<string[]>(),
    /** Why the build ended the way it did, in a sentence (null for a plain success). */
    message: text("message"),
    /** Of the pty helper while running: lets a restarted server stop what is left. */
    pid: integer("pid"),
    steps: text("steps", { mode: "json" }).$type<BuildStep[]>().notNull().default([]),
    failureLines: text("failure_lines", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** Apparent size of the output folder after a success. */
    outputBytes: integer("output_bytes"),
    logBytes: integer("log_bytes"),
  },
  (t) => [index("builds_profile_id_idx").on(t.profileId), index("builds_state_idx").on(t.state)],
);

export type BuildRow = typeof builds.$inferSelect;
export type NewBuildRow = typeof builds.$inferInsert;
