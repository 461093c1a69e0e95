// The build queue: one server-wide object per database that runs queued builds (one at a
// time unless IMAGE_STUDIO_BUILD_CONCURRENCY says more), cancels them, stops them with the
// server, and tells watchers when a build changes.
import { and, asc, eq, inArray } from "drizzle-orm";
import { EventEmitter } from "node:events";
import { appendFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dataDir as defaultDataDir } from "@/server/config";
import type { Db } from "@/server/db/client";
import { builds, type BuildRow, type BuildStep } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { onShutdown } from "@/server/processes/registry";
import { LogStore } from "./log-store";
import { buildPaths, buildsRoot } from "./paths";
import { logNote, removeWorkspace, runBuild, StopRequest } from "./job";
import { stopLeftovers } from "./procs";

/**
 * Builds run at the same time: IMAGE_STUDIO_BUILD_CONCURRENCY, default 1. More than one shares
 * the package cache between running builds, and mkosi 24 runs apt there with locking off
 * (Debug::NoLocking): raise it only for builds of different releases, or on a large machine
 * where that risk is worth it.
 */
export function concurrencyFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.IMAGE_STUDIO_BUILD_CONCURRENCY;
  if (raw === undefined || raw.trim() === "") return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16)
    throw new AppError("BAD_REQUEST", `IMAGE_STUDIO_BUILD_CONCURRENCY must be a whole number from 1 to 16, not '${raw}'`);
  return n;
}

export interface BuildQueueOptions {
  dataDir?: string;
  concurrency?: number;
  /** The mkosi command (argv prefix), e.g. for a wrapper; default ["mkosi"]. */
  mkosi?: readonly string[];
}

interface Active {
  controller: AbortController;
  done: Promise<void>;
}

export const CANCELLED_BY_USER = "cancelled";
export const SERVER_STOPPED = "the server stopped during the build";

export class BuildQueue {
  readonly dataDir: string;
  readonly concurrency: number;
  readonly logs: LogStore;
  /** Emits "change" with a build id whenever that build's row changed. */
  readonly events = new EventEmitter();
  /** Settles when builds left over from a previous server run are dealt with. */
  readonly ready: Promise<void>;
  private waiting: number[] = [];
  private active = new Map<number, Active>();
  private closed = false;
  private readonly removeHook: () => void;

  constructor(
    readonly db: Db,
    private readonly opts: BuildQueueOptions = {},
  ) {
    this.dataDir = opts.dataDir ?? defaultDataDir();
    this.concurrency = opts.concurrency ?? concurrencyFromEnv();
    this.logs = new LogStore(buildsRoot(this.dataDir));
    this.events.setMaxListeners(0);
    this.removeHook = onShutdown(() => {
      this.stopAllNow(SERVER_STOPPED);
      return Promise.all([...this.active.values()].map((a) => a.done));
    });
    this.ready = this.recover()
      .catch((e) => console.error("recovering builds of the previous run failed:", e))
      .then(() => this.pump());
  }

  /** Adds a queued build (its row and snapshot exist) to the end of the queue. */
  enqueue(id: number): void {
    if (this.closed) throw new AppError("PRECONDITION_FAILED", "the server is stopping: no new builds");
    this.logs.expect(id);
    this.waiting.push(id);
    this.changed(id);
    void this.ready.then(() => this.pump());
  }

  /** 1-based place in the queue of a waiting build, or null. */
  position(id: number): number | null {
    const i = this.waiting.indexOf(id);
    return i < 0 ? null : i + 1;
  }

  waitingIds(): number[] {
    return [...this.waiting];
  }

  isActive(id: number): boolean {
    return this.active.has(id);
  }

  /**
   * A queued build leaves the queue (cancelled); a running one is stopped: mkosi and all under
   * it get SIGTERM, then SIGKILL after the grace period. Resolves when the build has ended.
   */
  async cancel(id: number): Promise<void> {
    const i = this.waiting.indexOf(id);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.db
        .update(builds)
        .set({ state: "cancelled", endedAt: new Date(), message: "removed from the queue before it started" })
        .where(eq(builds.id, id))
        .run();
      this.logs.abandon(id);
      this.changed(id);
      for (const w of this.waiting) this.changed(w); // their positions moved
      return;
    }
    const a = this.active.get(id);
    if (a) {
      if (!a.controller.signal.aborted) a.controller.abort(new StopRequest("cancelled", CANCELLED_BY_USER));
      await a.done;
      return;
    }
    const row = this.db.select({ state: builds.state }).from(builds).where(eq(builds.id, id)).get();
    if (!row) throw new AppError("NOT_FOUND", `build ${id} does not exist`);
    throw AppError.field(["id"], `build ${id} has already ended (${row.state}): there is nothing to cancel`, "CONFLICT");
  }

  /** Stops every running build and takes no more; resolves when they have ended. For tests and reloads. */
  async close(): Promise<void> {
    this.closed = true;
    this.removeHook();
    for (const id of this.waiting.splice(0)) this.logs.abandon(id);
    for (const a of this.active.values()) a.controller.abort(new StopRequest("interrupted", SERVER_STOPPED));
    await Promise.all([...this.active.values()].map((a) => a.done));
    this.events.removeAllListeners();
  }

  changed(id: number): void {
    this.events.emit("change", id);
  }

  private pump(): void {
    while (!this.closed && this.active.size < this.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      const controller = new AbortController();
      const done = runBuild({ db: this.db, dataDir: this.dataDir, logs: this.logs, changed: (b) => this.changed(b), mkosi: this.opts.mkosi }, id, controller.signal)
        .catch((e) => console.error(`build ${id}:`, e))
        .finally(() => {
          this.active.delete(id);
          this.pump();
        });
      this.active.set(id, { controller, done });
      for (const w of this.waiting) this.changed(w);
    }
  }

  /**
   * The server is stopping: record running builds as interrupted now (synchronously: the
   * process may exit before they finish stopping), then stop them.
   */
  private stopAllNow(message: string): void {
    this.closed = true;
    const ids = [...this.active.keys()];
    if (ids.length > 0)
      this.db
        .update(builds)
        .set({ state: "interrupted", endedAt: new Date(), message, pid: null })
        .where(and(inArray(builds.id, ids), eq(builds.state, "running")))
        .run();
    for (const a of this.active.values()) a.controller.abort(new StopRequest("interrupted", message));
  }

  /**
   * Builds a previous server run left: a running one is recorded as interrupted (its log is
   * kept) and whatever is left of its processes is stopped; a queued one is queued again, in
   * its old order, since its snapshot is complete and nothing of it ran.
   */
  private async recover(): Promise<void> {
    const stale = this.db.select().from(builds).where(inArray(builds.state, ["running", "queued"])).orderBy(asc(builds.id)).all();
    const cleanups: Promise<unknown>[] = [];
    for (const row of stale) {
      const paths = buildPaths(this.dataDir, row.id);
      if (row.state === "queued" && existsSync(paths.project)) {
        this.logs.expect(row.id);
        this.waiting.push(row.id);
        continue;
      }
      const endedAt = await stat(paths.log).then((s) => s.mtime, () => new Date());
      this.db
        .update(builds)
        .set({
          state: "interrupted",
          endedAt,
          pid: null,
          steps: closeSteps(row.steps, endedAt.getTime()),
          message: row.state === "running" ? "the server stopped while this build ran" : "its snapshot folder is missing",
        })
        .where(eq(builds.id, row.id))
        .run();
      if (row.state === "running")
        cleanups.push(
          stopLeftovers(paths.dir, row.pid)
            .then(() => removeWorkspace(paths))
            .then(async () => {
              if (existsSync(paths.log)) await appendFile(paths.log, logNote("interrupted: the server stopped while this build ran"));
            }),
        );
    }
    await Promise.all(cleanups);
  }
}

function closeSteps(steps: BuildStep[], at: number): BuildStep[] {
  return steps.map((s) => (s.endedAt === null ? { ...s, endedAt: at } : s));
}

// One queue per database for the whole server process, kept across Next's dev reloads.
const g = globalThis as { __imageStudioBuildQueues?: WeakMap<Db, BuildQueue> };
const queues = (g.__imageStudioBuildQueues ??= new WeakMap());

/**
 * The queue for `db`, created on first use (which also recovers builds a previous run left).
 * Options apply only when it is created: tests pass their temporary data folder here first.
 */
export function buildQueue(db: Db, opts?: BuildQueueOptions): BuildQueue {
  let q = queues.get(db);
  if (!q) {
    q = new BuildQueue(db, opts);
    queues.set(db, q);
  }
  return q;
}

/** Closes and forgets the queue of `db` (tests). */
export async function closeBuildQueue(db: Db): Promise<void> {
  const q = queues.get(db);
  queues.delete(db);
  await q?.close();
}

export type { BuildRow };
