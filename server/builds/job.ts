// One build from start to end: mkosi under the pty runner in the build's folder, its output
// into build.log and the steps parser, and the result into the builds table.
import { eq } from "drizzle-orm";
import { lstat, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Db } from "@/server/db/client";
import { builds, type BuildRow, type BuildState } from "@/server/db/schema";
import { mkosiVersion } from "@/server/host/facts";
import { profileDocumentSchema } from "@/server/mkosi/profile";
import { keyArguments } from "@/server/mkosi/verity";
import { DEFAULT_MKOSI_MAJOR } from "@/server/mkosi/render";
import { keyPaths } from "@/server/keys/store";
import { majorOf } from "@/server/host/facts";
import type { LogStore, LogWriter } from "./log-store";
import { buildPaths, incrementalCacheDir, packageCacheDir, type BuildPaths } from "./paths";
import { buildNeeds, type BuildNeeds } from "./preflight";
import { runUnderPty } from "./runner";
import { BuildOutputParser } from "./steps";
import { mountsUnder } from "./procs";
import { writeSbom } from "@/server/packages/manifest-file";

/** Why a running build is being stopped (the abort reason). */
export class StopRequest extends Error {
  constructor(
    readonly state: Extract<BuildState, "cancelled" | "interrupted">,
    message: string,
  ) {
    super(message);
  }
}

export interface JobContext {
  db: Db;
  dataDir: string;
  logs: LogStore;
  /** Something about the build changed (state, steps): tell the watchers. */
  changed: (id: number) => void;
  /** The mkosi command (tests may wrap it); defaults to ["mkosi"]. */
  mkosi?: readonly string[];
}

/** The exact mkosi command line of a build. */
export function mkosiArgv(
  paths: BuildPaths,
  opts: { dataDir: string; packageCache: string; incremental: boolean; profileId: number | null; mkosi?: readonly string[]; signing?: { key: string; certificate: string; mkosiMajor: number } },
): string[] {
  return [
    ...(opts.mkosi ?? ["mkosi"]),
    // The key store's files by path: the project folder holds no key (docs/mkosi-notes.md, "Verified boot").
    ...(opts.signing ? keyArguments(opts.signing, opts.signing.mkosiMajor) : []),
    "--directory", paths.project,
    "--output-dir", paths.output,
    "--workspace-dir", paths.workspace,
    "--package-cache-dir", opts.packageCache,
    ...(opts.incremental ? ["--cache-dir", incrementalCacheDir(opts.dataDir, opts.profileId), "--incremental=yes"] : []),
    "--force",
    "build",
  ];
}

/** Reads the document the build was queued with (kept beside the project). */
export async function readBuildProfile(paths: BuildPaths) {
  return profileDocumentSchema.parse(JSON.parse(await readFile(paths.profile, "utf8")));
}

/** The total apparent size of a folder's files (what a download of them takes). */
export async function apparentSize(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await apparentSize(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}

/**
 * After mkosi said it succeeded: is what the profile asks for there? mkosi 24 builds a
 * bootable image without a UKI when ukify is missing or broken, and says nothing.
 */
export function checkOutput(files: readonly string[], needs: Pick<BuildNeeds, "disk" | "uki" | "stubPackage">): string | undefined {
  if (files.length === 0) return "mkosi exited with status 0 but wrote nothing into the output folder";
  if (needs.disk && !files.some((f) => /\.raw(\.(zst|xz|gz))?$/.test(f)))
    return `mkosi exited with status 0 but no disk image (.raw) is in the output folder (it holds: ${files.join(", ")})`;
  if (needs.uki && !files.some((f) => f.endsWith(".efi"))) {
    // mkosi 24 makes a UKI only when the image has systemd-stub and the host has ukify; else it
    // installs boot loader entries with a separate kernel and initrd, and says nothing.
    const stub = needs.stubPackage
      ? `the image has no systemd-stub (usr/lib/systemd/boot/efi/linux*.efi.stub): add ${needs.stubPackage.name} to Packages (${needs.stubPackage.why})`
      : "the image has no systemd-stub (usr/lib/systemd/boot/efi/linux*.efi.stub, from the distribution's systemd-boot packages) or this machine's ukify is broken (the Host page checks it)";
    return `the profile asks for a unified kernel image, but mkosi exited with status 0 without one (.efi): it fell back to boot loader entries with a separate kernel and initrd because ${stub}`;
  }
  return undefined;
}

/** A line of the server's own at the end of a log: why the build ended, when mkosi could not say. */
export const logNote = (text: string) => Buffer.from(`\r\n\x1b[1;31m[image-studio] ${text}\x1b[0m\r\n`);

function update(db: Db, id: number, values: Partial<BuildRow>): void {
  db.update(builds).set(values).where(eq(builds.id, id)).run();
}

/** Runs build `id` (state queued) to its end. Never throws: every outcome is recorded. */
export async function runBuild(ctx: JobContext, id: number, signal: AbortSignal): Promise<void> {
  const row = ctx.db.select().from(builds).where(eq(builds.id, id)).get();
  if (!row) return;
  const paths = buildPaths(ctx.dataDir, id);
  const parser = new BuildOutputParser();
  const decoder = new TextDecoder("utf-8");
  let log: LogWriter;
  try {
    log = await ctx.logs.open(id);
  } catch (e) {
    ctx.logs.abandon(id);
    update(ctx.db, id, { state: "failed", startedAt: new Date(), endedAt: new Date(), message: `the build log could not be opened: ${e instanceof Error ? e.message : String(e)}` });
    ctx.changed(id);
    return;
  }
  let state: BuildState = "failed";
  let message: string | null = null;
  let exitCode: number | null = null;
  let outputBytes: number | null = null;
  let failureLines: string[] = [];

  try {
    const installed = await mkosiVersion();
    const doc = await readBuildProfile(paths);
    const signing = doc.signingKey !== undefined ? { key: keyPaths(ctx.dataDir, doc.signingKey).key, certificate: paths.certificate, mkosiMajor: majorOf(installed?.version ?? row.mkosiVersion) ?? DEFAULT_MKOSI_MAJOR } : undefined;
    if (signing && !(await lstat(signing.key).catch(() => undefined))) throw new Error(`the signing key '${doc.signingKey}' is no longer in the key store`);
    const packageCache = packageCacheDir(ctx.dataDir, doc.settings);
    const argv = mkosiArgv(paths, { dataDir: ctx.dataDir, packageCache, incremental: row.incremental, profileId: row.profileId, mkosi: ctx.mkosi, signing });
    // Made up front, so a fresh data folder does not rely on mkosi creating them.
    await mkdir(packageCache, { recursive: true });
    if (row.incremental) await mkdir(incrementalCacheDir(ctx.dataDir, row.profileId), { recursive: true });
    await mkdir(paths.workspace, { recursive: true });
    update(ctx.db, id, { state: "running", startedAt: new Date(), command: argv, mkosiVersion: installed?.version ?? row.mkosiVersion });
    ctx.changed(id);
    const needs = buildNeeds(doc);

    const result = await runUnderPty({
      name: `build ${id}`,
      argv,
      cwd: paths.project,
      signal,
      onStart: (pid) => update(ctx.db, id, { pid }),
      onOutput: async (chunk) => {
        await log.append(chunk);
        if (parser.feed(decoder.decode(chunk, { stream: true }), Date.now())) {
          update(ctx.db, id, { steps: parser.steps });
          ctx.changed(id);
        }
      },
    });
    parser.feed(decoder.decode(), Date.now());
    exitCode = result.exitCode;

    const stop = signal.aborted ? signal.reason : undefined;
    if (stop instanceof StopRequest) {
      state = stop.state;
      message = stop.message;
    } else if (log.overLimit) {
      // The runner stopped mkosi when the log would take no more.
      message = `stopped: ${log.overLimit.message}, so the build was ended before it could fill the disk`;
    } else if (result.failure) {
      message = result.failure;
    } else if (exitCode !== 0) {
      message = `mkosi exited with status ${exitCode}`;
      failureLines = parser.failureLines();
    } else {
      const files = (await readdir(paths.output)).sort();
      const problem = checkOutput(files, needs);
      if (problem) {
        message = problem;
        failureLines = [problem];
      } else {
        state = "succeeded";
        // The SBOM of what mkosi's manifest lists, served with the other outputs; a build without one is still a success.
        await writeSbom(paths.output, { mkosiVersion: installed?.version ?? row.mkosiVersion }).catch((e: unknown) =>
          log.append(logNote(`the SBOM could not be written: ${e instanceof Error ? e.message : String(e)}`)),
        );
        outputBytes = await apparentSize(paths.output);
      }
    }
  } catch (e) {
    message = `the build could not run: ${e instanceof Error ? e.message : String(e)}`;
  }

  // A cancel is already told by the helper's own line; other endings mkosi did not explain are.
  if (state !== "succeeded" && state !== "cancelled" && message) await log.append(logNote(message), { note: true }).catch(() => undefined);
  if (state === "failed" && failureLines.length === 0) failureLines = [...parser.failureLines(), ...(message ? [message] : [])];
  const now = Date.now();
  parser.end(now);
  await log.close().catch(() => undefined);
  await removeWorkspace(paths);

  // A server shutdown may have recorded the end already (synchronously, before it exits).
  update(ctx.db, id, {
    state,
    endedAt: new Date(now),
    exitCode,
    message,
    steps: parser.steps,
    failureLines,
    outputBytes,
    logBytes: log.offset,
    pid: null,
  });
  ctx.changed(id);
}

/**
 * mkosi's scratch folder, which a killed mkosi leaves behind. Never removed while something is
 * mounted under the build folder: a recursive delete would go into the mounted tree.
 */
export async function removeWorkspace(paths: BuildPaths): Promise<void> {
  if ((await mountsUnder(paths.dir)).length > 0) return;
  await rm(paths.workspace, { recursive: true, force: true }).catch(() => undefined);
}
