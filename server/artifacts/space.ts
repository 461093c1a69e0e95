// Room taken in the data folder: per build (outputs, log), the shared cache, and the free space
// of the file system; deleting a build's outputs, or all but the newest N of a profile.
import { and, desc, eq, inArray } from "drizzle-orm";
import { existsSync } from "node:fs";
import { lstat, readdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { mountsUnder } from "@/server/builds/procs";
import { builds, FINISHED_STATES, isFinished, profiles, type BuildState } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { conversions } from "./conversions";
import { sidecarPath } from "./hashes";
import { getBuildRow } from "./list";

export interface FolderSize {
  apparentBytes: number;
  diskBytes: number;
}

/** Apparent and on-disk size of a folder tree (links not followed); zeros if it is missing. */
export async function folderSize(dir: string): Promise<FolderSize> {
  const total: FolderSize = { apparentBytes: 0, diskBytes: 0 };
  const visit = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      total.diskBytes += st.blocks * 512;
      if (e.isDirectory()) await visit(p);
      else total.apparentBytes += st.size;
    }
  };
  await visit(dir);
  return total;
}

export interface BuildSpace {
  buildId: number;
  profileId: number | null;
  profileName: string;
  state: BuildState;
  outputDiskBytes: number;
  outputApparentBytes: number;
  /** What a killed mkosi left in the workspace folder (normally 0). */
  workspaceDiskBytes: number;
  logBytes: number;
  endedAt: string | null;
  outputExists: boolean;
}

export interface SpaceUsage {
  dataDir: string;
  freeBytes: number;
  totalBytes: number;
  builds: BuildSpace[];
  /** On-disk size of the shared mkosi caches (packages, incremental trees). */
  cacheBytes: number;
}

export async function spaceUsage(queue: BuildQueue): Promise<SpaceUsage> {
  const fs = await statfs(queue.dataDir);
  const rows = queue.db.select().from(builds).orderBy(desc(builds.id)).all();
  const out: BuildSpace[] = [];
  for (const r of rows) {
    const p = buildPaths(queue.dataDir, r.id);
    const output = await folderSize(p.output);
    const workspace = await folderSize(p.workspace);
    const log = await lstat(p.log).catch(() => undefined);
    out.push({
      buildId: r.id,
      profileId: r.profileId,
      profileName: r.profileName,
      state: r.state,
      outputDiskBytes: output.diskBytes,
      outputApparentBytes: output.apparentBytes,
      workspaceDiskBytes: workspace.diskBytes,
      logBytes: log?.size ?? 0,
      endedAt: r.endedAt ? r.endedAt.toISOString() : null,
      outputExists: existsSync(p.output),
    });
  }
  return {
    dataDir: queue.dataDir,
    freeBytes: fs.bavail * fs.bsize,
    totalBytes: fs.blocks * fs.bsize,
    builds: out,
    cacheBytes: (await folderSize(join(queue.dataDir, "cache"))).diskBytes,
  };
}

export interface Deleted {
  buildId: number;
  /** On-disk bytes given back. */
  freedBytes: number;
}


/**
 * Removes a finished build's output folder (with its conversions, and their jobs' history) and
 * checksum cache, and any workspace leftovers; keeps its log, snapshot and row.
 */
export async function deleteArtifacts(queue: BuildQueue, buildId: number): Promise<Deleted> {
  const row = getBuildRow(queue, buildId);
  if (!isFinished(row.state) || queue.isActive(buildId))
    throw AppError.field(["buildId"], `build ${buildId} is ${row.state}: its outputs can be deleted once it has ended`, "CONFLICT");
  // Refuses while a conversion of the build runs; none starts until the folder is gone.
  const release = conversions(queue).holdForRemoval(buildId);
  try {
    const p = buildPaths(queue.dataDir, buildId);
    // A recursive delete must never go into a tree still mounted there (a killed mkosi's).
    const mounts = await mountsUnder(p.dir);
    if (mounts.length > 0) throw AppError.field(["buildId"], `build ${buildId} still has file systems mounted under its folder (${mounts[0]})`, "CONFLICT");
    const before = (await folderSize(p.output)).diskBytes + (await folderSize(p.workspace)).diskBytes;
    await rm(p.output, { recursive: true, force: true });
    conversions(queue).forget(buildId);
    await rm(p.workspace, { recursive: true, force: true });
    await rm(sidecarPath(p.dir), { force: true });
    return { buildId, freedBytes: before };
  } finally {
    release();
  }
}

export interface KeepNewestResult {
  profileId: number;
  /** Finished builds whose outputs were kept, newest first. */
  kept: number[];
  deleted: Deleted[];
  freedBytes: number;
}

/**
 * Keeps the outputs of the newest `keep` finished builds of a profile and deletes the outputs
 * of its older finished builds. Queued and running builds are neither counted nor touched.
 */
export async function keepNewest(queue: BuildQueue, profileId: number, keep: number): Promise<KeepNewestResult> {
  if (!Number.isInteger(keep) || keep < 0) throw AppError.field(["keep"], "must be a whole number, 0 or more");
  const rows = queue.db
    .select({ id: builds.id })
    .from(builds)
    .where(and(eq(builds.profileId, profileId), inArray(builds.state, [...FINISHED_STATES])))
    .orderBy(desc(builds.id))
    .all();
  if (rows.length === 0 && !queue.db.select({ id: profiles.id }).from(profiles).where(eq(profiles.id, profileId)).get())
    throw AppError.field(["profileId"], `profile ${profileId} does not exist`, "NOT_FOUND");
  const kept = rows.slice(0, keep).map((r) => r.id);
  const deleted: Deleted[] = [];
  for (const r of rows.slice(keep)) {
    if (queue.isActive(r.id) || conversions(queue).isRunningFor(r.id)) continue;
    const p = buildPaths(queue.dataDir, r.id);
    if (!existsSync(p.output) && !existsSync(p.workspace)) continue;
    deleted.push(await deleteArtifacts(queue, r.id));
  }
  return { profileId, kept, deleted, freedBytes: deleted.reduce((s, d) => s + d.freedBytes, 0) };
}
