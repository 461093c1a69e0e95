// VMs as the API sees them: start, stop, type, follow the console, the boot check and its
// verdict, and the option to check every build of a profile after it succeeds.
import { and, eq } from "drizzle-orm";
import { buildQueue } from "@/server/builds/queue";
import type { Db } from "@/server/db/client";
import { builds, profiles, vmRuns, type VmRunRow } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { coalesced, listen } from "@/server/streams/coalesce";
import type { LogEvent } from "@/server/builds/log-store";
import { startBootCheck, type CheckOptions } from "./boot-check";
import { LOGIN_TIMEOUT_S } from "./limits";
import { DEFAULT_VM_OPTIONS, vmManager, type VmManager } from "./manager";
import type { VmOptions } from "./qemu-args";

export interface VmRunView extends Omit<VmRunRow, "startedAt" | "endedAt" | "pid"> {
  startedAt: string;
  endedAt: string | null;
  live: boolean;
  /** The console transcript as a file. */
  consoleUrl: string;
}

export function runView(vms: VmManager, row: VmRunRow): VmRunView {
  const { startedAt, endedAt, pid: _pid, ...rest } = row;
  return { ...rest, startedAt: startedAt.toISOString(), endedAt: endedAt?.toISOString() ?? null, live: vms.isLive(row.id), consoleUrl: `/api/vms/${row.id}/console` };
}

const autoWired = new WeakSet<VmManager>();

/** The VM manager of a database, with boot checks after builds of profiles that ask for them. */
export function vms(db: Db): VmManager {
  const m = vmManager(buildQueue(db));
  if (!autoWired.has(m)) {
    autoWired.add(m);
    const started = new Set<number>();
    m.queue.events.on("change", (buildId: number) => {
      if (started.has(buildId)) return;
      const row = db
        .select({ state: builds.state, auto: profiles.bootCheckAfterBuild })
        .from(builds)
        .innerJoin(profiles, eq(profiles.id, builds.profileId))
        .where(eq(builds.id, buildId))
        .get();
      if (row?.state !== "succeeded" || !row.auto) return;
      started.add(buildId);
      const already = db.select({ id: vmRuns.id }).from(vmRuns).where(and(eq(vmRuns.buildId, buildId), eq(vmRuns.purpose, "check"))).get();
      if (already) return;
      startBootCheck(m, buildId, { ...DEFAULT_VM_OPTIONS, loginTimeoutS: LOGIN_TIMEOUT_S.default }).catch((e) =>
        console.error(`boot check after build ${buildId} did not start:`, e instanceof Error ? e.message : e),
      );
    });
  }
  return m;
}

export async function startVm(m: VmManager, buildId: number, options: Partial<VmOptions> = {}): Promise<VmRunView> {
  return runView(m, await m.start(buildId, { ...DEFAULT_VM_OPTIONS, ...options }, "console"));
}

export async function startCheck(m: VmManager, buildId: number, options: Partial<CheckOptions> = {}): Promise<VmRunView> {
  return runView(m, await startBootCheck(m, buildId, { ...DEFAULT_VM_OPTIONS, loginTimeoutS: LOGIN_TIMEOUT_S.default, ...options }));
}

export async function stopVm(m: VmManager, runId: number): Promise<VmRunView> {
  return runView(m, await m.stop(runId));
}

export function getRun(m: VmManager, runId: number): VmRunView {
  return runView(m, m.getRun(runId));
}

export function listRuns(m: VmManager, buildId: number): VmRunView[] {
  if (!m.db.select({ id: builds.id }).from(builds).where(eq(builds.id, buildId)).get())
    throw AppError.field(["buildId"], `build ${buildId} does not exist`, "NOT_FOUND");
  return m.runsOf(buildId).map((r) => runView(m, r));
}

/** The console from `fromOffset` (0 or an event's id), live while the VM runs. */
export function followConsole(m: VmManager, runId: number, fromOffset: number, signal?: AbortSignal): AsyncGenerator<LogEvent> {
  const row = m.getRun(runId);
  if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) throw AppError.field(["lastEventId"], "must be a byte offset from an earlier event");
  if (row.consoleBytes !== null && fromOffset > row.consoleBytes)
    throw AppError.field(["lastEventId"], `is past the end of the console (${row.consoleBytes} bytes)`);
  return m.logs.follow(runId, fromOffset, signal);
}

/** A build's runs now, then each time one changes. */
export function watchRuns(m: VmManager, buildId: number, signal?: AbortSignal): AsyncGenerator<VmRunView[]> {
  listRuns(m, buildId); // an unknown build is an error now, not in the stream
  return watch(m, buildId, signal);
}

async function* watch(m: VmManager, buildId: number, signal?: AbortSignal): AsyncGenerator<VmRunView[]> {
  const ofThisBuild = (runId: number) => m.db.select({ buildId: vmRuns.buildId }).from(vmRuns).where(eq(vmRuns.id, runId)).get()?.buildId === buildId;
  // One key: any change of the build's runs means the whole list is read again.
  const changes = coalesced<"runs", null>(
    {
      subscribe: (push) =>
        listen(m.events, "change", (runId: number) => {
          if (ofThisBuild(runId)) push("runs", null);
        }),
      backlog: () => [["runs", null]],
    },
    signal,
  );
  for await (const _ of changes) yield listRuns(m, buildId);
}

export function setBootCheckAfterBuild(db: Db, profileId: number, enabled: boolean): { id: number; bootCheckAfterBuild: boolean } {
  const r = db.update(profiles).set({ bootCheckAfterBuild: enabled }).where(eq(profiles.id, profileId)).returning({ id: profiles.id }).get();
  if (!r) throw AppError.field(["profileId"], `profile ${profileId} does not exist`, "NOT_FOUND");
  return { id: r.id, bootCheckAfterBuild: enabled };
}
