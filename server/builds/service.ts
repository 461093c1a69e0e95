// Builds as the API sees them: start (preflight, snapshot, queue), cancel, the history with
// each build's files and a diff, and the live streams (log, state changes).
import { and, desc, eq, inArray, lt, type SQL } from "drizzle-orm";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import type { Db } from "@/server/db/client";
import { coalesced, listen } from "@/server/streams/coalesce";
import { ACTIVE_STATES, builds, isFinished, profiles, vmRuns, type BuildRow, type BuildState, type BuildStep } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { majorOf, mkosiVersion } from "@/server/host/facts";
import { DEFAULT_MKOSI_MAJOR, render } from "@/server/mkosi/render";
import { rootScripts } from "@/server/mkosi/scripts";
import { getProfile } from "@/server/profiles/service";
import { writeProject } from "@/server/profiles/project-dir";
import { validateDocument } from "@/server/mkosi/validate";
import type { LogEvent } from "./log-store";
import { buildPaths } from "./paths";
import { preflight, type PreflightOptions } from "./preflight";
import type { BuildQueue } from "./queue";
import { diffSnapshots, fromRendered, readSnapshot, type FileDiff, type SnapshotFile } from "./snapshot";
import { requireTrust } from "./trust";
import { packageIndexes } from "@/server/packages/service";
import { getKey, keyPaths } from "@/server/keys/store";

// --- views -----------------------------------------------------------------------------------

export interface StepView {
  name: string;
  depth: number;
  startedAt: string;
  /** null while the step runs. */
  endedAt: string | null;
  durationMs: number | null;
}

export interface BuildView {
  id: number;
  profileId: number | null;
  profileName: string;
  profileRevision: number;
  state: BuildState;
  incremental: boolean;
  queuedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** From start to end; null until the build has ended (a page counts a running build's time itself). */
  durationMs: number | null;
  exitCode: number | null;
  mkosiVersion: string;
  command: string[] | null;
  message: string | null;
  /** Apparent size of the output folder, after a success. */
  outputBytes: number | null;
  /** Size of build.log: final once ended, the live size while running. */
  logBytes: number | null;
  /** 1-based place in the queue while queued. */
  queuePosition: number | null;
  /** The innermost step running now. */
  currentStep: string | null;
  /** The latest boot check of this build, if any. */
  bootCheck: BootCheckBadge | null;
}

export interface BootCheckBadge {
  runId: number;
  verdict: "passed" | "failed" | "running";
}

function latestBootCheck(db: Db, buildId: number): BootCheckBadge | null {
  const r = db
    .select({ id: vmRuns.id, verdict: vmRuns.verdict })
    .from(vmRuns)
    .where(and(eq(vmRuns.buildId, buildId), eq(vmRuns.purpose, "check")))
    .orderBy(desc(vmRuns.id))
    .limit(1)
    .get();
  return r ? { runId: r.id, verdict: r.verdict ?? "running" } : null;
}

export interface BuildDetail extends BuildView {
  steps: StepView[];
  /** The lines that explain a failure (mkosi's errors, the failing tool's messages). */
  failureLines: string[];
}


const iso = (d: Date | null) => (d ? d.toISOString() : null);

function stepView(s: BuildStep): StepView {
  return {
    name: s.name,
    depth: s.depth,
    startedAt: new Date(s.startedAt).toISOString(),
    endedAt: s.endedAt === null ? null : new Date(s.endedAt).toISOString(),
    durationMs: s.endedAt === null ? null : s.endedAt - s.startedAt,
  };
}

export function buildView(row: BuildRow, queue: BuildQueue): BuildView {
  const open = row.state === "running" ? row.steps.findLast((s) => s.endedAt === null) : undefined;
  return {
    id: row.id,
    profileId: row.profileId,
    profileName: row.profileName,
    profileRevision: row.profileRevision,
    state: row.state,
    incremental: row.incremental,
    queuedAt: row.queuedAt.toISOString(),
    startedAt: iso(row.startedAt),
    endedAt: iso(row.endedAt),
    durationMs: row.startedAt && row.endedAt ? row.endedAt.getTime() - row.startedAt.getTime() : null,
    exitCode: row.exitCode,
    mkosiVersion: row.mkosiVersion,
    command: row.command,
    message: row.message,
    outputBytes: row.outputBytes,
    logBytes: row.logBytes ?? queue.logs.liveOffset(row.id) ?? null,
    queuePosition: row.state === "queued" ? queue.position(row.id) : null,
    currentStep: open?.name ?? null,
    bootCheck: latestBootCheck(queue.db, row.id),
  };
}

export function buildDetail(row: BuildRow, queue: BuildQueue): BuildDetail {
  return { ...buildView(row, queue), steps: row.steps.map(stepView), failureLines: row.failureLines };
}

function getRow(db: Db, id: number): BuildRow {
  const row = db.select().from(builds).where(eq(builds.id, id)).get();
  if (!row) throw new AppError("NOT_FOUND", `build ${id} does not exist`);
  return row;
}

// --- commands --------------------------------------------------------------------------------

/** Which key a build is signed with (signing.json beside the snapshot): facts of the certificate, no key material. */
export interface SigningRecord {
  keyId: string;
  fingerprint: string;
  subject: string;
  notAfter: string;
}

export interface StartInput {
  profileId: number;
  incremental?: boolean;
  /** The digest of the profile's scripts, confirmed after reading them (see server/builds/trust.ts). */
  trustScripts?: string;
}

/**
 * Checks that the profile's scripts are confirmed and that this machine can build it,
 * snapshots its rendered files into a new build folder, and queues the build.
 */
export async function startBuild(queue: BuildQueue, input: StartInput, checks: Omit<PreflightOptions, "dataDir"> = {}): Promise<BuildDetail & { warnings: string[] }> {
  const db = queue.db;
  const profile = getProfile(db, input.profileId);
  const valid = validateDocument(profile.document);
  if (!valid.ok) throw AppError.invalid(valid.problems);
  const doc = valid.doc;
  // Before anything runs: scripts that run as root need a person's confirmation.
  const trust = requireTrust(profile, rootScripts(doc), input.trustScripts);
  await preflight(doc, { dataDir: queue.dataDir, ...checks });
  // Packages the profile's repositories lack fail here, not minutes into apt (nothing is written yet).
  const warnings = await packageIndexes(queue).preflight(doc);
  const mkosi = await mkosiVersion();
  if (!mkosi) throw AppError.field(["host", "tools", "mkosi"], "mkosi is not installed: run scripts/setup-host.sh as root", "PRECONDITION_FAILED");

  const row = db
    .insert(builds)
    .values({
      profileId: profile.id,
      profileName: profile.name,
      profileRevision: profile.revision,
      state: "queued",
      incremental: input.incremental ?? false,
      queuedAt: new Date(),
      mkosiVersion: mkosi.version,
    })
    .returning()
    .get();
  const paths = buildPaths(queue.dataDir, row.id);
  try {
    // A folder of an earlier database's build with the same id would mix in: start clean.
    await rm(paths.dir, { recursive: true, force: true });
    await writeProject(paths.project, render(doc, { mkosiMajor: mkosi.major }));
    await mkdir(paths.output, { recursive: true });
    await mkdir(paths.workspace, { recursive: true });
    await writeFile(paths.profile, JSON.stringify(doc, null, 2));
    if (doc.signingKey !== undefined) {
      const key = await getKey(db, queue.dataDir, doc.signingKey);
      await copyFile(keyPaths(queue.dataDir, key.id).certificate, paths.certificate);
      const record: SigningRecord = { keyId: key.id, fingerprint: key.fingerprint, subject: key.subject, notAfter: key.notAfter };
      await writeFile(paths.signing, JSON.stringify(record, null, 2));
    }
    if (trust) db.update(profiles).set({ trustedScripts: trust }).where(eq(profiles.id, profile.id)).run();
  } catch (e) {
    db.delete(builds).where(eq(builds.id, row.id)).run();
    await rm(paths.dir, { recursive: true, force: true });
    throw e;
  }
  queue.enqueue(row.id);
  return { ...buildDetail(getRow(db, row.id), queue), warnings };
}

export async function cancelBuild(queue: BuildQueue, id: number): Promise<BuildDetail> {
  getRow(queue.db, id);
  await queue.cancel(id);
  return buildDetail(getRow(queue.db, id), queue);
}

// --- history ---------------------------------------------------------------------------------

export interface ListInput {
  profileId?: number;
  state?: BuildState;
  /** Only builds with a smaller id (the next page). */
  beforeId?: number;
  limit?: number;
}

/** Newest first. */
export function listBuilds(queue: BuildQueue, input: ListInput = {}): BuildView[] {
  const where: SQL[] = [];
  if (input.profileId !== undefined) where.push(eq(builds.profileId, input.profileId));
  if (input.state !== undefined) where.push(eq(builds.state, input.state));
  if (input.beforeId !== undefined) where.push(lt(builds.id, input.beforeId));
  return queue.db
    .select()
    .from(builds)
    .where(and(...where))
    .orderBy(desc(builds.id))
    .limit(input.limit ?? 100)
    .all()
    .map((r) => buildView(r, queue));
}

export function getBuild(queue: BuildQueue, id: number): BuildDetail {
  return buildDetail(getRow(queue.db, id), queue);
}

export interface QueueView {
  concurrency: number;
  running: BuildView[];
  /** In the order they will start. */
  queued: BuildView[];
}

export function queueView(queue: BuildQueue): QueueView {
  const rows = (ids: number[]) => ids.map((id) => queue.db.select().from(builds).where(eq(builds.id, id)).get()).filter((r): r is BuildRow => !!r);
  const running = queue.db.select().from(builds).where(eq(builds.state, "running")).orderBy(desc(builds.id)).all();
  return { concurrency: queue.concurrency, running: running.map((r) => buildView(r, queue)), queued: rows(queue.waitingIds()).map((r) => buildView(r, queue)) };
}

/** The files a build was built from. */
export async function buildFiles(queue: BuildQueue, id: number): Promise<SnapshotFile[]> {
  getRow(queue.db, id);
  return readSnapshot(buildPaths(queue.dataDir, id).project).catch(() => {
    throw new AppError("NOT_FOUND", `the files of build ${id} are gone (its folder was removed)`);
  });
}

export type DiffAgainst = { buildId: number } | { profile: true };

/** What turns build `id`'s files into those of another build, or of its profile as it is now. */
export async function diffBuild(queue: BuildQueue, id: number, against: DiffAgainst): Promise<FileDiff[]> {
  const row = getRow(queue.db, id);
  const from = await buildFiles(queue, id);
  if ("buildId" in against) {
    if (against.buildId === id) throw AppError.field(["against", "buildId"], "must be another build than the one compared");
    const other = await buildFiles(queue, against.buildId).catch((e: unknown) => {
      if (AppError.is(e) && e.code === "NOT_FOUND") throw AppError.field(["against", "buildId"], e.message, "NOT_FOUND");
      throw e;
    });
    return diffSnapshots(from, other, { from: `build-${id}`, to: `build-${against.buildId}` });
  }
  if (row.profileId === null) throw AppError.field(["against", "profile"], `the profile of build ${id} ('${row.profileName}') was deleted`, "NOT_FOUND");
  const profile = queue.db.select().from(profiles).where(eq(profiles.id, row.profileId)).get();
  if (!profile) throw AppError.field(["against", "profile"], `the profile of build ${id} no longer exists`, "NOT_FOUND");
  // Rendered for the mkosi the build used, so a newer mkosi's layout does not show as a change.
  const major = majorOf(row.mkosiVersion) ?? DEFAULT_MKOSI_MAJOR;
  const valid = validateDocument(profile.document);
  if (!valid.ok) throw AppError.invalid(valid.problems);
  return diffSnapshots(from, fromRendered(render(valid.doc, { mkosiMajor: major })), { from: `build-${id}`, to: "profile" });
}

// --- live ------------------------------------------------------------------------------------

/**
 * A build's log from `fromOffset` (0, or the offset of an event received before), live until
 * the build has ended and every byte is sent.
 */
export function followLog(queue: BuildQueue, id: number, fromOffset: number, signal?: AbortSignal): AsyncGenerator<LogEvent> {
  const row = getRow(queue.db, id);
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw AppError.field(["lastEventId"], "must be a byte offset from an earlier event");
  if (row.logBytes !== null && fromOffset > row.logBytes)
    throw AppError.field(["lastEventId"], `is past the end of the log (${row.logBytes} bytes)`);
  return queue.logs.follow(id, fromOffset, signal);
}

/**
 * Build changes as they happen: for one build (its current state first), or for all builds
 * (the queued and running ones first). Changes that come faster than they are read are
 * coalesced per build, so a slow reader never piles them up.
 */
export function watchBuilds(queue: BuildQueue, id: number | undefined, signal?: AbortSignal): AsyncGenerator<BuildDetail> {
  if (id !== undefined) getRow(queue.db, id); // a missing build is an error now, not in the stream
  return watch(queue, id, signal);
}

async function* watch(queue: BuildQueue, id: number | undefined, signal?: AbortSignal): AsyncGenerator<BuildDetail> {
  const changes = coalesced<number, number>(
    {
      subscribe: (push) => listen(queue.events, "change", (b: number) => {
          if (id === undefined || b === id) push(b, b);
        }),
      backlog: () =>
        (id !== undefined
          ? [getRow(queue.db, id)]
          : queue.db.select({ id: builds.id }).from(builds).where(inArray(builds.state, ACTIVE_STATES)).all()
        ).map((r) => [r.id, r.id] as const),
    },
    signal,
  );
  for await (const ids of changes) {
    for (const b of ids) {
      const row = queue.db.select().from(builds).where(eq(builds.id, b)).get();
      if (!row) continue;
      yield buildDetail(row, queue);
      // One build's stream ends with its final state: nothing changes after that.
      if (id !== undefined && isFinished(row.state)) return;
    }
  }
}

/** Where a build's log is, and a file name for its download. */
export function buildLogFile(queue: BuildQueue, id: number): { path: string; filename: string } {
  const row = getRow(queue.db, id);
  const slug = row.profileName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "profile";
  return { path: buildPaths(queue.dataDir, id).log, filename: `build-${id}-${slug}.log` };
}
