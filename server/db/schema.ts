import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { BUILD_STATES } from "./build-states";

/**
 * The scripts a person confirmed before a build of a profile ran them as root: the digest of
 * the whole list (what the confirmation named) and one digest per script, so a later build
 * needs no new confirmation while every script it would run is among those.
 */
export interface TrustedScripts {
  digest: string;
  scripts: string[];
}

export const profiles = sqliteTable("profiles", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  document: text("document", { mode: "json" }).$type<ProfileDocument>().notNull(),
  /** Bumped on every save; a save names the revision it started from (optimistic locking). */
  revision: integer("revision").notNull().default(1),
  /** Boot-check every successful build of this profile in a VM. */
  bootCheckAfterBuild: integer("boot_check_after_build", { mode: "boolean" }).notNull().default(false),
  /** null until a build of scripts that run as root was confirmed (server/builds/trust.ts). */
  trustedScripts: text("trusted_scripts", { mode: "json" }).$type<TrustedScripts>(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

export type ProfileRow = typeof profiles.$inferSelect;

export { ACTIVE_STATES, BUILD_STATES, FINISHED_STATES, isActive, isFinished, type BuildState } from "./build-states";

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

/** Why a VM runs: a person at its console, or the automatic boot check. */
export const VM_PURPOSES = ["console", "check"] as const;
export type VmPurpose = (typeof VM_PURPOSES)[number];
export const VM_STATES = ["starting", "running", "stopped", "failed"] as const;
export type VmState = (typeof VM_STATES)[number];
export const VM_ACCELS = ["kvm", "tcg"] as const;
export type VmAccel = (typeof VM_ACCELS)[number];
export const CHECK_VERDICTS = ["passed", "failed"] as const;
export type CheckVerdict = (typeof CHECK_VERDICTS)[number];

/** One thing the boot check proved or failed to prove. */
export interface CheckItem {
  id: string;
  label: string;
  passed: boolean;
  /** What was seen, in a sentence. */
  detail: string;
}

/** One run of QEMU for a build: a console session, or a boot check (which may reboot the VM). */
export const vmRuns = sqliteTable(
  "vm_runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    buildId: integer("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: VM_PURPOSES }).notNull(),
    state: text("state", { enum: VM_STATES }).notNull(),
    accel: text("accel", { enum: VM_ACCELS }),
    memoryMib: integer("memory_mib").notNull(),
    cpus: integer("cpus").notNull(),
    network: integer("network", { mode: "boolean" }).notNull().default(false),
    /** The exact QEMU argv (null until it starts). */
    command: text("command", { mode: "json" }).$type<string[]>(),
    pid: integer("pid"),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
    /** Why it ended, or what went wrong, in a sentence. */
    message: text("message"),
    /** From QEMU's start to the first login prompt (or automatic login) on the console. */
    loginMs: integer("login_ms"),
    /** Boot checks only: null while the check runs. */
    verdict: text("verdict", { enum: CHECK_VERDICTS }),
    items: text("items", { mode: "json" }).$type<CheckItem[]>().notNull().default([]),
    consoleBytes: integer("console_bytes"),
  },
  (t) => [index("vm_runs_build_id_idx").on(t.buildId)],
);

export type VmRunRow = typeof vmRuns.$inferSelect;

export const CONVERSION_FORMATS = ["qcow2", "vdi", "vmdk", "zst", "xz"] as const;
export type ConversionFormat = (typeof CONVERSION_FORMATS)[number];
/** "interrupted": the server stopped while it ran. */
export const CONVERSION_STATES = ["running", "succeeded", "failed", "cancelled", "interrupted"] as const;
export type ConversionState = (typeof CONVERSION_STATES)[number];

/**
 * A conversion job of a build's disk image. The row is written when the job starts and when it
 * ends; its progress in between lives only in memory and in the event stream.
 */
export const conversionJobs = sqliteTable(
  "conversions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    buildId: integer("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    /** The raw disk image's name in output/. */
    source: text("source").notNull(),
    format: text("format", { enum: CONVERSION_FORMATS }).notNull(),
    /** The result's name in output/ (there only once the job has succeeded). */
    target: text("target").notNull(),
    state: text("state", { enum: CONVERSION_STATES }).notNull(),
    /** 0..1, as of the job's end. */
    progress: real("progress").notNull().default(0),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
    error: text("error"),
    /** True when the request found the file already made and ran nothing. */
    reused: integer("reused", { mode: "boolean" }).notNull().default(false),
    /** The exact command run (for zst/xz, the compressor reading the image on stdin). */
    command: text("command", { mode: "json" }).$type<string[]>().notNull().default([]),
  },
  (t) => [index("conversions_build_id_idx").on(t.buildId), index("conversions_state_idx").on(t.state)],
);

export type ConversionRow = typeof conversionJobs.$inferSelect;

// --- Package indexes -------------------------------------------------------------------------

/** One apt source entry of an index, as apt reads it (one suite, the components asked for). */
export interface IndexSource {
  uri: string;
  suites: string[];
  components: string[];
  signedBy?: string;
}

/**
 * A local index of the Packages lists of one set of apt sources and one architecture, fetched
 * by apt-get update into a private configuration. Profiles with the same sources share one.
 */
export const packageIndexes = sqliteTable("package_indexes", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** Digest of the normalised sources and the architecture; also the index's folder name. */
  key: text("key").notNull().unique(),
  sources: text("sources", { mode: "json" }).$type<IndexSource[]>().notNull(),
  /** Debian's name for it (amd64, arm64). */
  architecture: text("architecture").notNull(),
  /** When apt-get update last succeeded (null: never). */
  fetchedAt: integer("fetched_at", { mode: "timestamp_ms" }),
  /** When a refresh was last tried, and why it failed (null: it did not). */
  attemptedAt: integer("attempted_at", { mode: "timestamp_ms" }),
  error: text("error"),
  /** Packages installable from it (one per name: apt's candidate), as its index file has them. */
  packageCount: integer("package_count").notNull().default(0),
});

export type PackageIndexRow = typeof packageIndexes.$inferSelect;

// The packages of an index live in a SQLite file of their own beside its apt lists:
// server/packages/index-schema.ts.
