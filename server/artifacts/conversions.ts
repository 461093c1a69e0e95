// Conversions of a build's raw disk image: qcow2, VDI and VMDK with `qemu-img convert -p`, and
// zstd/xz copies for download. Each runs as a job (progress, cancel) writing to a hidden
// temporary name in output/ that is renamed when complete, so a listed file is always whole.
// A second request for the same (source, format) joins the running job or reuses the file.
import { EventEmitter } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, statfs } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { AppError } from "@/server/errors";
import { startOwned } from "@/server/processes/registry";
import { hasher } from "./hashes";
import { classify } from "./kinds";
import { factsOf, getBuildRow } from "./list";
import { findArtifact } from "./inspect";
import { parseQemuImgProgress, Throttle } from "./progress";
import { resolveInOutput } from "./resolve";

export const CONVERSION_FORMATS = ["qcow2", "vdi", "vmdk", "zst", "xz"] as const;
export type ConversionFormat = (typeof CONVERSION_FORMATS)[number];
export const CONVERSION_STATES = ["running", "succeeded", "failed", "cancelled"] as const;
export type ConversionState = (typeof CONVERSION_STATES)[number];

export interface ConversionJob {
  id: number;
  buildId: number;
  /** The raw disk image's name in output/. */
  source: string;
  format: ConversionFormat;
  /** The result's name in output/ (there only once the job has succeeded). */
  target: string;
  state: ConversionState;
  /** 0..1. */
  progress: number;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
  /** True when the request found the file already made and ran nothing. */
  reused: boolean;
  /** The exact command run (for zst/xz, the compressor reading the image on stdin). */
  command: string[];
}

/** The qemu-img options per target format (docs: mkosi-recipes.md, "Conversions"). */
export function conversionCommand(format: ConversionFormat, source: string, target: string): string[] {
  switch (format) {
    case "qcow2":
      return ["qemu-img", "convert", "-p", "-f", "raw", "-O", "qcow2", source, target];
    case "vdi":
      // Same result as `VBoxManage convertdd image.raw image.vdi --format VDI` (dynamic size).
      return ["qemu-img", "convert", "-p", "-f", "raw", "-O", "vdi", "-o", "static=off", source, target];
    case "vmdk":
      return ["qemu-img", "convert", "-p", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", source, target];
    case "zst":
      return ["zstd", "-T0", "-q", "-c"];
    case "xz":
      return ["xz", "-T0", "-c"];
  }
}

export function conversionTarget(source: string, format: ConversionFormat): string {
  if (format === "zst" || format === "xz") return `${source}.${format}`;
  return `${source.replace(/\.(raw|img)$/i, "")}.${format}`;
}

const tempPath = (target: string, jobId: number) => join(dirname(target), `.${basename(target)}.${jobId}.partial`);

interface Running {
  job: ConversionJob;
  controller: AbortController;
  done: Promise<void>;
}

/** Reasons a build has no disk image to convert, by state. */
function stateProblem(buildId: number, state: string): AppError | null {
  if (state === "queued" || state === "running")
    return AppError.field(["buildId"], `build ${buildId} is ${state}: its outputs are not final yet`, "PRECONDITION_FAILED");
  if (state !== "succeeded") return AppError.field(["buildId"], `build ${buildId} ${state === "failed" ? "failed" : `was ${state}`}: it has no disk image to convert`, "PRECONDITION_FAILED");
  return null;
}

export class Conversions {
  /** Emits "job" with a ConversionJob snapshot on each change (progress at most ~10/s per job). */
  readonly events = new EventEmitter();
  private jobs = new Map<number, ConversionJob>();
  private running = new Map<number, Running>();
  private nextId = 1;

  constructor(private readonly queue: BuildQueue) {
    this.events.setMaxListeners(0);
  }

  list(buildId: number): ConversionJob[] {
    getBuildRow(this.queue, buildId);
    return [...this.jobs.values()].filter((j) => j.buildId === buildId).map((j) => ({ ...j }));
  }

  get(jobId: number): ConversionJob {
    const j = this.jobs.get(jobId);
    if (!j) throw AppError.field(["jobId"], `conversion ${jobId} does not exist`, "NOT_FOUND");
    return { ...j };
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

    const joinable = () => [...this.running.values()].find((r) => r.job.buildId === buildId && r.job.source === source && r.job.format === format)?.job;
    let same = joinable();
    if (same) return { ...same };
    if (existing) {
      const prev = [...this.jobs.values()].findLast((j) => j.buildId === buildId && j.target === target && j.state === "succeeded");
      if (prev) return { ...prev };
      const now = new Date().toISOString();
      const job: ConversionJob = { id: this.nextId++, buildId, source, format, target, state: "succeeded", progress: 1, startedAt: now, endedAt: now, error: null, reused: true, command: [] };
      this.jobs.set(job.id, job);
      this.emit(job);
      return { ...job };
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

    const id = this.nextId++;
    const tmp = tempPath(join(output, target), id);
    const command = conversionCommand(format, file.path, tmp);
    const job: ConversionJob = { id, buildId, source, format, target, state: "running", progress: 0, startedAt: new Date().toISOString(), endedAt: null, error: null, reused: false, command };
    this.jobs.set(id, job);
    const controller = new AbortController();
    const done = this.run(job, file.path, file.stat.size, tmp, join(output, target), controller.signal);
    this.running.set(id, { job, controller, done });
    this.emit(job);
    return { ...job };
  }

  async cancel(jobId: number): Promise<ConversionJob> {
    const job = this.get(jobId);
    const r = this.running.get(jobId);
    if (!r) throw AppError.field(["jobId"], `conversion ${jobId} has already ended (${job.state}): there is nothing to cancel`, "CONFLICT");
    if (!r.controller.signal.aborted) r.controller.abort(new Error("cancelled"));
    await r.done;
    return this.get(jobId);
  }

  /** Cancels every running job and waits for them (tests, shutdown). */
  async close(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort(new Error("closing"));
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.events.removeAllListeners();
  }

  /** Job updates of one build: its current jobs first, then each change as it happens. */
  async *watch(buildId: number, signal?: AbortSignal): AsyncGenerator<ConversionJob> {
    const pending = new Map<number, ConversionJob>();
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const onJob = (j: ConversionJob) => {
      if (j.buildId !== buildId) return;
      pending.set(j.id, j); // a slow reader gets the latest of each job, not a backlog
      poke();
    };
    // Subscribe before replaying: a change in between is sent twice at worst, never lost.
    this.events.on("job", onJob);
    signal?.addEventListener("abort", poke);
    try {
      for (const j of this.list(buildId)) if (!pending.has(j.id)) pending.set(j.id, j);
      for (;;) {
        if (signal?.aborted) return;
        if (pending.size === 0) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const batch = [...pending.values()].sort((a, b) => a.id - b.id);
        pending.clear();
        for (const j of batch) yield j;
      }
    } finally {
      this.events.off("job", onJob);
      signal?.removeEventListener("abort", poke);
    }
  }

  private emit(job: ConversionJob): void {
    this.events.emit("job", { ...job });
  }

  private async run(job: ConversionJob, source: string, size: number, tmp: string, target: string, signal: AbortSignal): Promise<void> {
    const throttle = new Throttle<number>(100, (p) => {
      job.progress = p;
      this.emit(job);
    });
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
        job.state = "cancelled";
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
      job.state = signal.aborted ? "cancelled" : "failed";
      if (!signal.aborted) job.error = e instanceof Error ? e.message : String(e);
    } finally {
      // After the rename there is nothing left to remove.
      if (job.state !== "succeeded") await rm(tmp, { force: true }).catch(() => undefined);
      job.endedAt = new Date().toISOString();
      this.running.delete(job.id);
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
