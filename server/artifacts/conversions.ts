// Conversions of a build's raw disk image: qcow2, VDI and VMDK with `qemu-img convert -p`, and
// zstd/xz copies for download. Each runs as a job (progress, cancel) writing to a hidden
// temporary name in output/ that is renamed when complete, so a listed file is always whole.
// A second request for the same (source, format) joins the running job or reuses the file.
// Jobs are rows of the database (written when they start and end), so their history outlives
// the server; a job the previous server left running is marked interrupted on the next start.
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { EventEmitter } from "node:events";
import { createReadStream, createWriteStream, rmSync, statSync } from "node:fs";
import { rename, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { stopLeftovers } from "@/server/builds/procs";
import type { Db } from "@/server/db/client";
import { CONVERSION_FORMATS, CONVERSION_STATES, conversionJobs, isActive, type ConversionFormat, type ConversionRow, type ConversionState } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { onShutdown, startOwned } from "@/server/processes/registry";
import { coalesced, listen } from "@/server/streams/coalesce";
import { CONVERSION_FORMAT_INFO } from "./conversion-formats";
import { hasher } from "./hashes";
import { classify } from "./kinds";
import { factsOf, getBuildRow } from "./list";
import { findArtifact } from "./inspect";
import { parseQemuImgProgress, Throttle } from "./progress";
import { resolveInOutput, tempPath } from "./resolve";

export { CONVERSION_FORMATS, CONVERSION_STATES, type ConversionFormat, type ConversionState };

/** A job as the API shows it: its row with times as ISO strings; progress is live while it runs. */
export interface ConversionJob extends Omit<ConversionRow, "startedAt" | "endedAt"> {
  startedAt: string;
  endedAt: string | null;
}

export const SERVER_STOPPED = "the server stopped while this conversion ran";

const toJob = ({ startedAt, endedAt, ...rest }: ConversionRow): ConversionJob => ({ ...rest, startedAt: startedAt.toISOString(), endedAt: endedAt?.toISOString() ?? null });

/** The argv of a conversion: qemu-img writes `target` itself, a compressor writes to stdout. */
export function conversionCommand(format: ConversionFormat, source: string, target: string): string[] {
  const c = CONVERSION_FORMAT_INFO[format].command;
  return "qemuImg" in c ? ["qemu-img", "convert", "-p", "-f", "raw", ...c.qemuImg, source, target] : [...c.compressor];
}

export function conversionTarget(source: string, format: ConversionFormat): string {
  if (format === "zst" || format === "xz") return `${source}.${format}`;
  return `${source.replace(/\.(raw|img)$/i, "")}.${format}`;
}

/** Why a job was stopped (the abort reason): the state it ends in. */
class Stop {
  constructor(
    readonly state: "cancelled" | "interrupted",
    readonly error: string | null,
  ) {}
}

interface Running {
  job: ConversionJob;
  controller: AbortController;
  done: Promise<void>;
  tmp: string;
}

/** Reasons a build has no disk image to convert, by state. */
function stateProblem(buildId: number, state: string): AppError | null {
  if (isActive(state))
    return AppError.field(["buildId"], `build ${buildId} is ${state}: its outputs are not final yet`, "PRECONDITION_FAILED");
  if (state !== "succeeded") return AppError.field(["buildId"], `build ${buildId} ${state === "failed" ? "failed" : `was ${state}`}: it has no disk image to convert`, "PRECONDITION_FAILED");
  return null;
}

export class Conversions {
  /** Emits "job" with a ConversionJob snapshot on each change (progress at most ~10/s per job). */
  readonly events = new EventEmitter();
  /** Settles when jobs a previous server left running are dealt with. */
  readonly ready: Promise<void>;
  private running = new Map<number, Running>();
  /** Builds whose outputs are being deleted: no conversion of them starts meanwhile. */
  private removing = new Set<number>();
  private closed = false;
  private readonly removeHook: () => void;

  constructor(private readonly queue: BuildQueue) {
    this.events.setMaxListeners(0);
    this.removeHook = onShutdown(() => this.stopAllNow());
    this.ready = this.recover().catch((e) => console.error("recovering conversions of the previous run failed:", e));
  }

  private get db(): Db {
    return this.queue.db;
  }

  private tempOf(job: Pick<ConversionRow, "id" | "buildId" | "target">): string {
    return tempPath(join(buildPaths(this.queue.dataDir, job.buildId).output, job.target), job.id);
  }

  /** Oldest first; a running job with its live progress. */
  list(buildId: number): ConversionJob[] {
    getBuildRow(this.queue, buildId);
    const rows = this.db.select().from(conversionJobs).where(eq(conversionJobs.buildId, buildId)).orderBy(asc(conversionJobs.id)).all();
    return rows.map((r) => ({ ...(this.running.get(r.id)?.job ?? toJob(r)) }));
  }

  get(jobId: number): ConversionJob {
    const live = this.running.get(jobId);
    if (live) return { ...live.job };
    const row = this.db.select().from(conversionJobs).where(eq(conversionJobs.id, jobId)).get();
    if (!row) throw AppError.field(["jobId"], `conversion ${jobId} does not exist`, "NOT_FOUND");
    return toJob(row);
  }

  isRunningFor(buildId: number): boolean {
    return [...this.running.values()].some((r) => r.job.buildId === buildId);
  }

  /** Waits for a job to end (tests, benchmarks). */
  async wait(jobId: number): Promise<ConversionJob> {
    await this.running.get(jobId)?.done;
    return this.get(jobId);
  }

  async convert(buildId: number, name: string, format: ConversionFormat): Promise<ConversionJob> {
    const row = getBuildRow(this.queue, buildId);
    const problem = stateProblem(buildId, row.state);
    if (problem) throw problem;
    this.refuseIfRemoving(buildId);
    await this.ready;
    const output = buildPaths(this.queue.dataDir, buildId).output;
    // The look-ups a job waits for run side by side (each is a few syscalls, far more under
    // load); a failed free-space query is only reported if it is the one that counts.
    const space = statfs(output).then(
      (fs) => ({ fs }),
      (error: unknown) => ({ error }),
    );
    const file = await findArtifact(this.queue, buildId, name);
    const source = file.name;
    const target = conversionTarget(source, format);
    const [facts, existing] = await Promise.all([factsOf(file.path, file.name), resolveInOutput(output, target.split("/"))]);
    const { kind, kindLabel } = classify(file.name, facts);
    if (kind !== "disk") throw AppError.field(["name"], `'${name}' (${kindLabel}) is not a raw disk image: only the disk image can be converted`);

    // Checked after each await: the build's outputs may be being deleted meanwhile.
    this.refuseIfRemoving(buildId);
    const joinable = () => [...this.running.values()].find((r) => r.job.buildId === buildId && r.job.source === source && r.job.format === format)?.job;
    let same = joinable();
    if (same) return { ...same };
    if (existing) {
      const prev = this.db
        .select()
        .from(conversionJobs)
        .where(and(eq(conversionJobs.buildId, buildId), eq(conversionJobs.target, target), eq(conversionJobs.state, "succeeded")))
        .orderBy(desc(conversionJobs.id))
        .get();
      if (prev) return toJob(prev);
      const now = new Date();
      const job = toJob(this.db.insert(conversionJobs).values({ buildId, source, format, target, state: "succeeded", progress: 1, startedAt: now, endedAt: now, reused: true }).returning().get());
      this.emit(job);
      return job;
    }

    // The result takes at most about the image's used blocks (qcow2/vdi/vmdk skip zeros).
    const measured = await space;
    if ("error" in measured) throw measured.error;
    const { fs } = measured;
    const free = fs.bavail * fs.bsize;
    if (free < file.stat.blocks * 512 + 64 * 1024 * 1024)
      throw AppError.field(["name"], `not enough free space to convert '${source}': ${free} bytes free, about ${file.stat.blocks * 512} needed`, "PRECONDITION_FAILED");
    // Checked again after the last await: a request made at the same time may have started it.
    same = joinable();
    if (same) return { ...same };
    this.refuseIfRemoving(buildId);
    if (this.closed) throw new AppError("PRECONDITION_FAILED", "the server is stopping: no new conversions");

    // The temporary name (in the command) holds the job's id: both written in one transaction.
    const { job, tmp } = this.db.transaction((tx) => {
      const inserted = tx.insert(conversionJobs).values({ buildId, source, format, target, state: "running", progress: 0, startedAt: new Date() }).returning().get();
      const tmp = this.tempOf(inserted);
      const command = conversionCommand(format, file.path, tmp);
      tx.update(conversionJobs).set({ command }).where(eq(conversionJobs.id, inserted.id)).run();
      return { job: toJob({ ...inserted, command }), tmp };
    });
    const controller = new AbortController();
    const done = this.run(job, file.path, file.stat.size, tmp, join(output, target), controller.signal);
    this.running.set(job.id, { job, controller, done, tmp });
    this.emit(job);
    return { ...job };
  }

  async cancel(jobId: number): Promise<ConversionJob> {
    const job = this.get(jobId);
    const r = this.running.get(jobId);
    if (!r) throw AppError.field(["jobId"], `conversion ${jobId} has already ended (${job.state}): there is nothing to cancel`, "CONFLICT");
    if (!r.controller.signal.aborted) r.controller.abort(new Stop("cancelled", null));
    await r.done;
    return this.get(jobId);
  }

  /**
   * Before a build's outputs are deleted: refuses while a conversion of the build runs, and
   * starts none until the returned function is called.
   */
  holdForRemoval(buildId: number): () => void {
    if (this.isRunningFor(buildId)) throw AppError.field(["buildId"], `a conversion of build ${buildId} is running: cancel it first`, "CONFLICT");
    if (this.removing.has(buildId)) throw AppError.field(["buildId"], `the outputs of build ${buildId} are already being deleted`, "CONFLICT");
    this.removing.add(buildId);
    return () => this.removing.delete(buildId);
  }

  private refuseIfRemoving(buildId: number): void {
    if (this.removing.has(buildId)) throw AppError.field(["buildId"], `the outputs of build ${buildId} are being deleted`, "CONFLICT");
  }

  /** Drops the jobs of a build whose outputs were deleted: their files went with them. */
  forget(buildId: number): void {
    if (this.isRunningFor(buildId)) throw new Error(`a conversion of build ${buildId} is running: hold the build with holdForRemoval first`);
    this.db.delete(conversionJobs).where(eq(conversionJobs.buildId, buildId)).run();
  }

  /** Stops every running job (recorded as interrupted) and waits for them (tests, reloads). */
  async close(): Promise<void> {
    this.closed = true;
    this.removeHook();
    for (const r of this.running.values()) r.controller.abort(new Stop("interrupted", SERVER_STOPPED));
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.events.removeAllListeners();
  }

  /**
   * The server is stopping: record running jobs as interrupted and remove their temporary
   * files now (synchronously: the process may exit before the jobs' own cleanup runs), then
   * stop them.
   */
  private stopAllNow(): void {
    this.closed = true;
    const all = [...this.running.values()];
    if (all.length === 0) return;
    this.db
      .update(conversionJobs)
      .set({ state: "interrupted", endedAt: new Date(), error: SERVER_STOPPED })
      .where(and(inArray(conversionJobs.id, all.map((r) => r.job.id)), eq(conversionJobs.state, "running")))
      .run();
    for (const r of all) {
      rmSync(r.tmp, { force: true });
      r.controller.abort(new Stop("interrupted", SERVER_STOPPED));
    }
  }

  /**
   * Jobs a previous server run left running (it crashed or was killed): recorded as
   * interrupted, what is left of qemu-img stopped (its command line names the temporary file;
   * a compressor ends with its pipes) and the temporary file removed.
   */
  private async recover(): Promise<void> {
    // Before the first await: no job of this run exists yet, so every running row is stale.
    const stale = this.db.select().from(conversionJobs).where(eq(conversionJobs.state, "running")).all();
    for (const r of stale) {
      const tmp = this.tempOf(r);
      // The temporary file's last write is about when the job stopped.
      const endedAt = statSync(tmp, { throwIfNoEntry: false })?.mtime ?? new Date();
      this.db.update(conversionJobs).set({ state: "interrupted", endedAt, error: SERVER_STOPPED }).where(eq(conversionJobs.id, r.id)).run();
    }
    await Promise.all(
      stale.map(async (r) => {
        const tmp = this.tempOf(r);
        await stopLeftovers(tmp, null);
        await rm(tmp, { force: true });
      }),
    );
  }

  /** Job updates of one build: its current jobs first, then each change as it happens. */
  async *watch(buildId: number, signal?: AbortSignal): AsyncGenerator<ConversionJob> {
    const changes = coalesced<number, ConversionJob>(
      {
        subscribe: (push) => listen(this.events, "job", (j: ConversionJob) => {
          if (j.buildId === buildId) push(j.id, j);
        }),
        backlog: () => this.list(buildId).map((j) => [j.id, j] as const),
      },
      signal,
    );
    for await (const batch of changes) for (const j of batch.sort((a, b) => a.id - b.id)) yield j;
  }

  private emit(job: ConversionJob): void {
    this.events.emit("job", { ...job });
  }

  private async run(job: ConversionJob, source: string, size: number, tmp: string, target: string, signal: AbortSignal): Promise<void> {
    const throttle = new Throttle<number>(100, (p) => {
      job.progress = p;
      this.emit(job);
    });
    const stopped = () => {
      const why = signal.reason instanceof Stop ? signal.reason : new Stop("cancelled", null);
      job.state = why.state;
      job.error = why.error;
    };
    let stderr = "";
    const keepTail = (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4096);
    };
    try {
      const [file, ...args] = job.command as [string, ...string[]];
      const name = `convert build ${job.buildId} ${job.source} to ${job.format}`;
      let result: Awaited<ReturnType<typeof startOwned>["done"]>;
      if (job.format === "zst" || job.format === "xz") {
        // The compressor reads the image on stdin through a counter: bytes read = progress.
        let read = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            read += chunk.length;
            throttle.push(size === 0 ? 1 : read / size);
            cb(null, chunk);
          },
        });
        const input = createReadStream(source, { highWaterMark: 1024 * 1024 });
        input.pipe(counter);
        input.on("error", (e) => counter.destroy(e));
        const child = startOwned(name, file, args, { signal, stdin: counter });
        child.stderr.on("data", keepTail);
        const written = pipeline(child.stdout, createWriteStream(tmp)).catch((e: unknown) => e);
        result = await child.done;
        input.destroy();
        const writeError = await written;
        if (writeError && result.exitCode === 0 && !signal.aborted) throw writeError;
      } else {
        const child = startOwned(name, file, args, { signal });
        child.stdout.on("data", (chunk: Buffer) => {
          const p = parseQemuImgProgress(chunk.toString("latin1"));
          if (p !== undefined) throttle.push(p);
        });
        child.stderr.on("data", keepTail);
        result = await child.done;
      }
      throttle.cancel();
      if (signal.aborted) {
        stopped();
      } else if (result.exitCode === 0) {
        await rename(tmp, target);
        job.state = "succeeded";
        job.progress = 1;
      } else {
        job.state = "failed";
        const last = stderr.trim().split("\n").filter(Boolean).pop();
        job.error = result.failure ?? `${file} exited with status ${result.exitCode ?? result.signal}${last ? `: ${last}` : ""}`;
      }
    } catch (e) {
      throttle.cancel();
      if (signal.aborted) stopped();
      else {
        job.state = "failed";
        job.error = e instanceof Error ? e.message : String(e);
      }
    } finally {
      // After the rename there is nothing left to remove.
      if (job.state !== "succeeded") await rm(tmp, { force: true }).catch(() => undefined);
      const endedAt = new Date();
      job.endedAt = endedAt.toISOString();
      this.running.delete(job.id);
      try {
        this.db.update(conversionJobs).set({ state: job.state, progress: job.progress, endedAt, error: job.error }).where(eq(conversionJobs.id, job.id)).run();
      } catch (e) {
        // Logged, not thrown: nothing may be waiting on this job's promise.
        console.error(`conversion ${job.id}: recording its end failed:`, e);
      }
      this.emit(job);
    }
    if (job.state === "succeeded") {
      // Its checksum is listed with the others; computed now, while the file is in the page cache.
      void hasher().request({ buildDir: buildPaths(this.queue.dataDir, job.buildId).dir, file: target, name: job.target }).catch(() => undefined);
    }
  }
}

// One manager per build queue (so per database and data folder), kept across dev reloads.
const g = globalThis as { __imageStudioConversions?: WeakMap<BuildQueue, Conversions> };
const managers = (g.__imageStudioConversions ??= new WeakMap());

export function conversions(queue: BuildQueue): Conversions {
  let m = managers.get(queue);
  if (!m) {
    m = new Conversions(queue);
    managers.set(queue, m);
  }
  return m;
}

export async function closeConversions(queue: BuildQueue): Promise<void> {
  const m = managers.get(queue);
  managers.delete(queue);
  await m?.close();
}

export { stateProblem as conversionStateProblem };
