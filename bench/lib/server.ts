// The real server for the benchmarks: the production build (.next, server.ts bundled as
// scripts/start.sh runs it) started by test/e2e/server.ts on a free port with the given data
// folder, and a small client for its tRPC HTTP/SSE API.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";
import { SERVER_BUNDLE, startServer, type TestServer } from "../../test/e2e/server";
import { sleep } from "./common";

export const ROOT = resolve(import.meta.dirname, "../..");

export type Inputs = inferRouterInputs<AppRouter>;
export type Outputs = inferRouterOutputs<AppRouter>;
export type BuildDetail = Outputs["builds"]["get"];

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
export async function startNextServer(opts: { dataDir: string; env?: Record<string, string>; nodeArgs?: string[]; timeoutMs?: number }): Promise<NextServer> {
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

// --- tRPC over HTTP ------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

async function unwrap<T>(path: string, r: Response): Promise<T> {
  const body = (await r.json().catch(() => undefined)) as { result?: { data: T }; error?: { message?: string } } | undefined;
  if (!r.ok || !body?.result) throw new ApiError(`${path}: ${body?.error?.message ?? `HTTP ${r.status}`}`, body);
  return body.result.data;
}

export async function query<T>(url: string, path: string, input?: unknown): Promise<T> {
  const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  return unwrap<T>(path, await fetch(`${url}/api/trpc/${path}${q}`));
}

export async function mutation<T>(url: string, path: string, input: unknown): Promise<T> {
  return unwrap<T>(path, await fetch(`${url}/api/trpc/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(input) }));
}

export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/**
 * A tRPC subscription as an EventSource reads it: yields its events until the stream ends or
 * `signal` aborts. tRPC's own events (connected, ping, return) carry an `event` name; data
 * events have none.
 */
export async function* subscribe(url: string, path: string, input: unknown, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const res = await fetch(`${url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { accept: "text/event-stream" }, signal });
  if (!res.ok || !res.body) throw new Error(`${path}: HTTP ${res.status} ${await res.text().catch(() => "")}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let sep: number;
      while ((sep = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const e: SseEvent = { data: "" };
        for (const line of block.split("\n")) {
          const m = /^(\w+): ?(.*)$/.exec(line);
          if (!m) continue;
          if (m[1] === "data") e.data += (e.data ? "\n" : "") + m[2];
          else if (m[1] === "event") e.event = m[2];
          else if (m[1] === "id") e.id = m[2];
        }
        if (e.event === "return") return;
        if (e.event === "serialized-error") throw new Error(`${path}: ${e.data}`);
        yield e;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled", "interrupted"]);

/**
 * Follows a build's state through builds.events (which ends with its final state) and returns
 * that final state. `onChange` sees every state and step change.
 */
export async function waitForBuild(url: string, id: number, onChange?: (b: BuildDetail) => void, signal?: AbortSignal): Promise<BuildDetail> {
  let last: BuildDetail | undefined;
  for await (const e of subscribe(url, "builds.events", { id }, signal)) {
    if (e.event) continue;
    last = JSON.parse(e.data) as BuildDetail;
    onChange?.(last);
    if (FINISHED.has(last.state)) return last;
  }
  // The stream ended without a final state (a dropped connection): ask once more.
  last = await query<BuildDetail>(url, "builds.get", { id });
  if (!FINISHED.has(last.state)) throw new Error(`build ${id}: the events stream ended while the build was ${last.state}`);
  return last;
}
