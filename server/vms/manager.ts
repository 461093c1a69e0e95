// Virtual machines of finished builds: QEMU with the build's disk image attached as a
// snapshot, its serial console kept in a log file (streamed like a build log) and fed by
// what the user types. One VM per build at a time; every VM stops with the server.
import { and, desc, eq, inArray } from "drizzle-orm";
import { EventEmitter } from "node:events";
import { lstat, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { factsOf } from "@/server/artifacts/list";
import { classify } from "@/server/artifacts/kinds";
import { readBuildProfile } from "@/server/builds/job";
import { LogLimitError, LogStore } from "@/server/builds/log-store";
import { buildPaths } from "@/server/builds/paths";
import { stopLeftovers } from "@/server/builds/procs";
import type { BuildQueue } from "@/server/builds/queue";
import type { Db } from "@/server/db/client";
import { builds, vmRuns, type VmAccel, type VmPurpose, type VmRunRow } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { formatBytes } from "@/server/mkosi/size";
import { onShutdown, startOwned } from "@/server/processes/registry";
import { accelFromEnv, findFirmware, findQemu, probeKvm, type AccelChoice } from "./host";
import { InputRate } from "./input-rate";
import { CPUS, INPUT_RATE, MAX_INPUT_BYTES, MEMORY_MIB } from "./limits";
import { hostArchitecture, QEMU_BINARY, qemuArgs, VM_ARCHITECTURE, type Firmware, type VmOptions } from "./qemu-args";
import { prepareFirmware, startTpm, wantsTpm, type Tpm } from "./secure-boot";

export const DEFAULT_VM_OPTIONS: VmOptions = { memoryMib: MEMORY_MIB.default, cpus: CPUS.default, network: false };
export const SERVER_STOPPED = "the server stopped";
export const STOPPED_BY_USER = "stopped";

interface LiveVm {
  runId: number;
  buildId: number;
  controller: AbortController;
  stdin: PassThrough;
  /** What a person may still type now (vms.input). */
  typing: InputRate;
  startedAt: number;
  /** Settles when QEMU has ended and the row says so. */
  done: Promise<void>;
}

export interface VmManagerOptions {
  /** Override for tests: the firmware pairs to look for. */
  firmware?: readonly Firmware[];
  /** Override for tests: typed input's rate (default INPUT_RATE). */
  inputRate?: { bytesPerSecond: number; burstBytes: number };
}

export const vmsRoot = (dataDir: string) => join(dataDir, "vms");

export class VmManager {
  readonly logs: LogStore;
  /** Emits "change" with a run id whenever that run's row changed. */
  readonly events = new EventEmitter();
  readonly ready: Promise<void>;
  private live = new Map<number, LiveVm>();
  private accelChoice: Promise<AccelChoice> | undefined;
  private closed = false;
  /** Boots after a run's first (the boot check's tampered copies), for their TPM folders. */
  private boots = 0;
  private readonly removeHook: () => void;

  constructor(
    readonly queue: BuildQueue,
    private readonly opts: VmManagerOptions = {},
  ) {
    this.logs = new LogStore(vmsRoot(queue.dataDir), "console.log");
    this.events.setMaxListeners(0);
    this.removeHook = onShutdown(() => this.stopAllNow(SERVER_STOPPED));
    this.ready = this.recover().catch((e) => console.error("recovering VMs of the previous run failed:", e));
  }

  get db(): Db {
    return this.queue.db;
  }

  runDir(runId: number): string {
    return join(vmsRoot(this.queue.dataDir), String(runId));
  }

  getRun(runId: number): VmRunRow {
    const row = this.db.select().from(vmRuns).where(eq(vmRuns.id, runId)).get();
    if (!row) throw AppError.field(["runId"], `VM run ${runId} does not exist`, "NOT_FOUND");
    return row;
  }

  runsOf(buildId: number, limit = 50): VmRunRow[] {
    return this.db.select().from(vmRuns).where(eq(vmRuns.buildId, buildId)).orderBy(desc(vmRuns.id)).limit(limit).all();
  }

  /** The run whose VM is up for a build, if any. */
  liveRunOf(buildId: number): number | undefined {
    for (const v of this.live.values()) if (v.buildId === buildId) return v.runId;
    return undefined;
  }

  isLive(runId: number): boolean {
    return this.live.has(runId);
  }

  /** Milliseconds since QEMU of a live run started. */
  uptimeMs(runId: number): number | undefined {
    const v = this.live.get(runId);
    return v ? Date.now() - v.startedAt : undefined;
  }

  /** KVM if it works here (found by trying once per server run), else emulation. */
  accel(firmware: Firmware, qemu: string): Promise<AccelChoice> {
    const wanted = accelFromEnv();
    if (wanted !== "auto") return Promise.resolve({ accel: wanted, reason: wanted === "tcg" ? "IMAGE_STUDIO_VM_ACCEL=tcg" : null });
    this.accelChoice ??= probeKvm(qemu, firmware);
    return this.accelChoice;
  }

  /** Starts QEMU for a finished build; resolves once it runs. */
  async start(buildId: number, options: VmOptions, purpose: VmPurpose): Promise<VmRunRow> {
    if (this.closed) throw new AppError("PRECONDITION_FAILED", "the server is stopping: no new VMs");
    await this.ready;
    const image = await this.diskImage(buildId);
    await this.refuseForeignArchitecture(buildId);
    const qemu = findQemu();
    const firmware = findFirmware(this.opts.firmware);
    const busy = this.liveRunOf(buildId);
    if (busy !== undefined)
      throw AppError.field(["buildId"], `build ${buildId} already has a VM running (run ${busy}): stop it before starting another`, "CONFLICT");
    const { accel } = await this.accel(firmware, qemu);
    // Checked again: the probe may have let another start slip in.
    if (this.liveRunOf(buildId) !== undefined)
      throw AppError.field(["buildId"], `build ${buildId} already has a VM running: stop it before starting another`, "CONFLICT");

    const row = this.db
      .insert(vmRuns)
      .values({ buildId, purpose, state: "starting", accel, memoryMib: options.memoryMib, cpus: options.cpus, network: options.network, startedAt: new Date() })
      .returning()
      .get();
    return this.launch(row, image, options, qemu, accel, "main");
  }

  /**
   * Boots a run's VM again, from another disk (the boot check's tampered copies), after its
   * QEMU ended: the console goes on in the same transcript. Resolves once QEMU runs.
   */
  async restart(runId: number, image: string, label: string): Promise<VmRunRow> {
    if (this.closed) throw new AppError("PRECONDITION_FAILED", "the server is stopping: no new VMs");
    const row = this.getRun(runId);
    if (this.live.has(runId) || this.liveRunOf(row.buildId) !== undefined)
      throw AppError.field(["runId"], `VM run ${runId} or another VM of build ${row.buildId} is still running`, "CONFLICT");
    const options = { memoryMib: row.memoryMib, cpus: row.cpus, network: row.network };
    return this.launch(row, image, options, findQemu(), row.accel ?? "tcg", label);
  }

  private async launch(row: VmRunRow, image: string, options: VmOptions, qemu: string, accel: VmAccel, label: string): Promise<VmRunRow> {
    const buildId = row.buildId;
    const dir = this.runDir(row.id);
    const controller = new AbortController();
    const stdin = new PassThrough();
    let resolveDone!: () => void;
    const live: LiveVm = { runId: row.id, buildId, controller, stdin, typing: new InputRate(this.opts.inputRate), startedAt: Date.now(), done: new Promise((r) => (resolveDone = r)) };
    this.live.set(row.id, live);
    let tpm: Tpm | undefined;
    try {
      await mkdir(dir, { recursive: true });
      const doc = await readBuildProfile(buildPaths(this.queue.dataDir, buildId)).catch(() => undefined);
      const fw = await prepareFirmware(this.queue.dataDir, buildId, doc, dir, this.opts.firmware);
      // A short folder name: the socket's path must stay within the 108 bytes a Unix socket takes.
      if (wantsTpm(doc)) tpm = await startTpm(dir, label === "main" ? "main" : `boot-${++this.boots}`, controller.signal);
      const writer = await this.logs.open(row.id);
      if (label !== "main") await writer.append(Buffer.from(`\r\n[image-studio] booting again: ${label}\r\n`), { note: true });
      const args = qemuArgs({ ...options, accel, firmware: fw.firmware, varsFile: fw.varsFile, image, secureBoot: fw.secureBoot, tpmSocket: tpm?.socket });
      live.startedAt = Date.now();
      const child = startOwned(`vm ${row.id} (build ${buildId})`, qemu, args, { signal: controller.signal, stdin, forceKillAfterMs: 3_000 });
      this.update(row.id, { state: "running", pid: child.pid ?? null, command: [qemu, ...args], endedAt: null });

      let errors = "";
      child.stderr.on("data", (d: Buffer) => (errors = (errors + d.toString()).slice(-4096)));
      const pumped = (async () => {
        for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
          if (writer.overLimit) continue; // QEMU is being stopped: drain what it still prints
          try {
            await writer.append(chunk);
          } catch (e) {
            if (!(e instanceof LogLimitError)) throw e;
            // A console that would fill the disk ends the VM, saying why.
            if (!controller.signal.aborted) controller.abort(new Error(`stopped: ${e.message}`));
          }
        }
      })();
      void (async () => {
        const r = await child.done;
        tpm?.stop();
        await tpm?.done;
        await pumped.catch(() => undefined);
        await writer.close();
        const requested = controller.signal.aborted ? String((controller.signal.reason as Error | undefined)?.message ?? STOPPED_BY_USER) : null;
        const failed = !requested && (r.failure !== undefined || (r.exitCode !== undefined && r.exitCode !== 0));
        const why = errors.split("\n").map((l) => l.trim()).filter((l) => l && !/terminating on signal/.test(l)).pop();
        this.update(row.id, {
          state: failed ? "failed" : "stopped",
          endedAt: new Date(),
          pid: null,
          consoleBytes: writer.offset,
          message: requested ?? (failed ? `QEMU failed: ${why ?? r.failure ?? `exit status ${r.exitCode}`}` : "the VM powered off"),
        });
        this.live.delete(row.id);
        resolveDone();
        this.changed(row.id);
      })();
      return this.getRun(row.id);
    } catch (e) {
      tpm?.stop();
      this.live.delete(row.id);
      this.update(row.id, { state: "failed", endedAt: new Date(), message: e instanceof Error ? e.message : String(e) });
      resolveDone();
      throw e;
    }
  }

  /** Turns a VM off (QEMU is stopped; the disk snapshot goes with it). Resolves when it has ended. */
  async stop(runId: number, reason = STOPPED_BY_USER): Promise<VmRunRow> {
    const v = this.live.get(runId);
    if (!v) {
      const row = this.getRun(runId);
      throw AppError.field(["runId"], `VM run ${runId} is not running (${row.state})`, "CONFLICT");
    }
    if (!v.controller.signal.aborted) v.controller.abort(new Error(reason));
    await v.done;
    return this.getRun(runId);
  }

  /** Sends text to the VM's serial console (the boot check's own commands; a person's go through type()). */
  input(runId: number, data: string): void {
    this.liveConsole(runId, data).stdin.write(data);
  }

  /**
   * What a person typed, within the console's input rate (INPUT_RATE): more than that is
   * refused with TOO_MANY_REQUESTS and the time to wait in details.retryAfterMs.
   */
  type(runId: number, data: string): void {
    const v = this.liveConsole(runId, data);
    const wait = v.typing.take(Buffer.byteLength(data));
    if (wait > 0) {
      const rate = this.opts.inputRate ?? INPUT_RATE;
      const limit = `${formatBytes(rate.bytesPerSecond)} a second, ${formatBytes(rate.burstBytes)} at once`;
      throw new AppError(
        "TOO_MANY_REQUESTS",
        `data: more console input than the VM takes (${limit}): send it again in ${Math.ceil(wait / 100) / 10} s`,
        [{ path: ["data"], message: `more console input than the VM takes (${limit})` }],
        { retryAfterMs: wait },
      );
    }
    v.stdin.write(data);
  }

  private liveConsole(runId: number, data: string): LiveVm {
    const v = this.live.get(runId);
    if (!v) throw AppError.field(["runId"], `VM run ${runId} is not running: there is no console to type into`, "CONFLICT");
    if (Buffer.byteLength(data) > MAX_INPUT_BYTES) throw AppError.field(["data"], `must be at most ${MAX_INPUT_BYTES} bytes at a time`);
    return v;
  }

  /** Waits for a run's VM to end (tests, benchmarks). */
  async waitEnded(runId: number): Promise<VmRunRow> {
    await this.live.get(runId)?.done;
    return this.getRun(runId);
  }

  update(runId: number, set: Partial<VmRunRow>): void {
    this.db.update(vmRuns).set(set).where(eq(vmRuns.id, runId)).run();
    this.changed(runId);
  }

  changed(runId: number): void {
    this.events.emit("change", runId);
    // A build's view carries its boot check verdict.
    const r = this.db.select({ buildId: vmRuns.buildId }).from(vmRuns).where(eq(vmRuns.id, runId)).get();
    if (r) this.queue.changed(r.buildId);
  }

  /**
   * Refuses at once an image for another architecture than the VM's: it would never reach a
   * login prompt, and a boot check would only say so when its wait ran out.
   */
  async refuseForeignArchitecture(buildId: number): Promise<void> {
    // A build from before profile.json was kept beside its snapshot: nothing to tell by.
    const doc = await readBuildProfile(buildPaths(this.queue.dataDir, buildId)).catch(() => undefined);
    if (!doc) return;
    const arch = doc.settings.Architecture ?? hostArchitecture();
    if (arch !== VM_ARCHITECTURE)
      throw AppError.field(
        ["buildId"],
        `build ${buildId} is an ${arch} image (Architecture=${arch}) and the VMs here run ${VM_ARCHITECTURE} (${QEMU_BINARY}): it cannot boot in them; boot it on an ${arch} machine, or build the profile for ${VM_ARCHITECTURE}`,
        "PRECONDITION_FAILED",
      );
  }

  /** The raw GPT disk image among the build's outputs. */
  async diskImage(buildId: number): Promise<string> {
    const row = this.db.select({ state: builds.state }).from(builds).where(eq(builds.id, buildId)).get();
    if (!row) throw AppError.field(["buildId"], `build ${buildId} does not exist`, "NOT_FOUND");
    if (row.state !== "succeeded")
      throw AppError.field(["buildId"], `build ${buildId} ${row.state === "failed" ? "failed" : `is ${row.state}`}: only a successful build has an image to boot`, "PRECONDITION_FAILED");
    const output = buildPaths(this.queue.dataDir, buildId).output;
    const names = (await readdir(output).catch(() => [] as string[])).sort();
    for (const name of names) {
      const path = join(output, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (classify(name, await factsOf(path, name)).kind === "disk") return path;
    }
    throw AppError.field(["buildId"], `build ${buildId} has no disk image to boot (its output has no raw GPT disk: the profile's Format= must be disk)`, "PRECONDITION_FAILED");
  }

  async close(): Promise<void> {
    this.closed = true;
    this.removeHook();
    const all = [...this.live.values()];
    for (const v of all) v.controller.abort(new Error(SERVER_STOPPED));
    await Promise.all(all.map((v) => v.done));
    this.events.removeAllListeners();
  }

  /** The server is stopping: record the runs as stopped now (the process may exit soon), then stop QEMU. */
  private stopAllNow(message: string): void {
    this.closed = true;
    const ids = [...this.live.keys()];
    if (ids.length > 0)
      this.db.update(vmRuns).set({ state: "stopped", endedAt: new Date(), pid: null, message }).where(inArray(vmRuns.id, ids)).run();
    for (const v of this.live.values()) v.controller.abort(new Error(message));
  }

  /** Runs a previous server left up: recorded as stopped, and any QEMU of theirs still alive is stopped. */
  private async recover(): Promise<void> {
    const stale = this.db.select().from(vmRuns).where(inArray(vmRuns.state, ["starting", "running"])).all();
    await Promise.all(
      stale.map(async (r) => {
        this.db
          .update(vmRuns)
          .set({ state: "stopped", endedAt: new Date(), pid: null, message: "the server stopped while this VM ran", ...(r.verdict === null && r.purpose === "check" ? { verdict: "failed" as const } : {}) })
          .where(and(eq(vmRuns.id, r.id)))
          .run();
        // QEMU's command line names its run folder (the firmware variables file).
        await stopLeftovers(this.runDir(r.id), r.pid, 3_000);
      }),
    );
  }
}

// One manager per database for the whole server process, kept across Next's dev reloads.
const g = globalThis as { __imageStudioVms?: WeakMap<Db, VmManager> };
const managers = (g.__imageStudioVms ??= new WeakMap());

export function vmManager(queue: BuildQueue, opts?: VmManagerOptions): VmManager {
  let m = managers.get(queue.db);
  if (!m) {
    m = new VmManager(queue, opts);
    managers.set(queue.db, m);
  }
  return m;
}

export async function closeVmManager(db: Db): Promise<void> {
  const m = managers.get(db);
  managers.delete(db);
  await m?.close();
}
