// The real server for the benchmarks: the production build (.next, server.ts bundled as
// scripts/start.sh runs it) started by test/support/server.ts on a free port with the given
// data folder; its API client (server.api, with the token) is test/support/api.ts. Here: waiting
// for a build of the app, the server's memory, and a VM's login prompt.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Api } from "@/test/support/api";
import { SERVER_BUNDLE, startServer, type TestServer } from "@/test/support/server";
import { sleep } from "./common";

export type { BuildDetail, Inputs, Outputs } from "@/test/support/api";
export { signIn } from "@/test/support/server";

export const ROOT = resolve(import.meta.dirname, "../..");

export type NextServer = TestServer;

const BUILD_ID = join(ROOT, ".next", "BUILD_ID");

/** Whether `npm run build` (next build, then the server bundle) runs on this machine. */
function buildRunning(): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.startsWith("next-build") || /\bnext\0build\b/.test(cmd) || /\besbuild\0server\.ts\b/.test(cmd)) return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

/** The production build's id; waits (up to 10 min) while a build is writing a new one. */
export async function waitForBuildId(): Promise<string> {
  const deadline = Date.now() + 10 * 60_000;
  let told = false;
  for (;;) {
    if (existsSync(BUILD_ID) && existsSync(SERVER_BUNDLE)) return readFileSync(BUILD_ID, "utf8").trim();
    const building = buildRunning();
    if (!building || Date.now() > deadline) throw new Error("no production build in .next: run `npm run build` first");
    if (!told) console.error("\n(.next has no complete build: `npm run build` seems to be running; waiting for it)");
    told = true;
    await sleep(2_000);
  }
}

/**
 * `nodeArgs` go to the server's node (e.g. --cpu-prof); BENCH_SERVER_NODE_ARGS (space-separated)
 * adds to them, to profile the server during any benchmark.
 */
export async function startNextServer(opts: { dataDir?: string; env?: Record<string, string>; nodeArgs?: string[]; timeoutMs?: number }): Promise<NextServer> {
  await waitForBuildId();
  const nodeArgs = [...(opts.nodeArgs ?? []), ...(process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean)];
  return startServer({ ...opts, nodeArgs });
}

// --- memory ------------------------------------------------------------------------------------

export interface Memory {
  /** Resident set size now, KiB. */
  rssKiB: number;
  /** Highest resident set size the process ever had, KiB. */
  hwmKiB: number;
}

export function memory(pid: number): Memory | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's VmRSS every `everyMs`; `peak()` is the highest since the last `reset()`,
 * and `series` holds every sample since then with the size of the `track()`ed file (a log) at
 * that moment.
 */
export class RssSampler {
  private max = 0;
  private timer: NodeJS.Timeout;
  private file: string | undefined;
  /** [ms since reset, VmRSS KiB, size of the tracked file in bytes]. */
  series: [number, number, number][] = [];
  private t0 = performance.now();

  constructor(
    private readonly pid: number,
    everyMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  private sample(): void {
    const m = memory(this.pid);
    if (!m) return;
    this.max = Math.max(this.max, m.rssKiB);
    let size = NaN;
    try {
      if (this.file) size = statSync(this.file).size;
    } catch {
      /* not there yet */
    }
    this.series.push([performance.now() - this.t0, m.rssKiB, size]);
  }

  reset(file?: string): void {
    this.max = 0;
    this.file = file;
    this.series = [];
    this.t0 = performance.now();
    this.sample();
  }

  peakKiB(): number {
    this.sample();
    return this.max;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Follows a VM's console (vms.console) until `seen` says the login prompt is there: the
 * performance.now() of that chunk, or NaN when `timeoutS` passed first.
 */
export async function untilLoginPrompt(api: Api, runId: number, timeoutS: number, seen: (text: string) => boolean): Promise<number> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutS * 1000);
  try {
    for await (const e of api.subscribe("vms.console", { runId }, abort.signal)) {
      if (e.event) continue; // tRPC's own events (connected, ping)
      if (seen((JSON.parse(e.data) as { text: string }).text)) return performance.now();
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return NaN;
}
