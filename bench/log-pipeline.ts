// Log pipeline benchmark: a build whose "mkosi" writes a large volume of log lines as fast as it
// can, through the real server (the production server of the current .next build: pty runner, build.log,
// the builds.log tRPC subscription over SSE) into the xterm panel of the build page in headless
// Chromium. Measures
//   (a) bytes per second from the writer's start to its last line (a marker) shown in the panel;
//       the same floods followed by a Node SSE client alone tell the server's share;
//   (b) the delay from a line being written to it being shown, at one line per 50 ms;
//   (c) the server's memory (VmRSS sampled from /proc, VmHWM) per log size, and as the largest
//       log grows.
// Targets: >= 20 MB/s end to end, < 100 ms delay, memory flat as the log grows.
//
//   npm run build            # once: the benchmark runs the production build
//   npx tsx bench/log-pipeline.ts [--sizes 20,100,300] [--latency-seconds 20] [--interval-ms 50]
//                                 [--viewers browser,sse] [--warmup 20]
//
// The server runs builds with the real mkosi argv; the stand-in (bench/log-writer.py) is found
// first on the server's PATH through a `mkosi` shim in a temporary folder, which passes
// `--version` to the real mkosi (the preflight still wants the other build tools installed).
// Each measured run gets a fresh server (own data folder) that first streams an untimed warm-up.
// In the page: the global EventSource is wrapped to see when bytes arrive, a MutationObserver on
// .xterm-rows sees what is on screen, and the panel's LogSink (found through React's fiber of
// [data-testid=log-terminal]) is wrapped to count what it drops; no component hook is needed.
// MB here is 10^6 bytes.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { Cleanup, cpuMeter, fixed, median, percentile, printMachine, rerunCommand, runMain, sleep, table, waitForQuiet, type CpuUse } from "./lib/common";
import { memory, RssSampler, ROOT, signIn, startNextServer, waitForBuildId, type BuildDetail, type NextServer } from "./lib/server";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "20,100,300" },
    "latency-seconds": { type: "string", default: "20" },
    "interval-ms": { type: "string", default: "50" },
    viewers: { type: "string", default: "browser,sse" },
    warmup: { type: "string", default: "20" },
    "quiet-wait": { type: "string", default: "5" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log("usage: npx tsx bench/log-pipeline.ts [--sizes MB,MB,...] [--latency-seconds S (0: skip)] [--interval-ms MS] [--viewers browser,sse] [--warmup MB] [--quiet-wait MIN]");
  console.log("  viewers: who follows the floods: the build page in Chromium (browser), and/or a Node SSE client alone (sse)");
  console.log("  warmup: MB of an untimed flood each fresh server gets before its measured run (0: none)");
  console.log("  quiet-wait: before each measured run, wait up to this many minutes for other processes to go below 0.2 cores (0: don't)");
  process.exit(0);
}
const SIZES_MB = args.sizes.split(",").map((s) => Number(s.trim()));
const LATENCY_SECONDS = Number(args["latency-seconds"]);
const INTERVAL_MS = Number(args["interval-ms"]);
const VIEWERS = args.viewers.split(",").map((v) => v.trim());
const WARMUP_MB = Number(args.warmup);
const QUIET_WAIT = Number(args["quiet-wait"]);
if (SIZES_MB.some((n) => !(n > 0)) || !(LATENCY_SECONDS >= 0) || !(INTERVAL_MS > 0) || VIEWERS.some((v) => v !== "browser" && v !== "sse") || !(WARMUP_MB >= 0) || !(QUIET_WAIT >= 0)) {
  console.error("--sizes takes positive numbers of MB, --latency-seconds 0 or more, --interval-ms more than 0, --viewers browser and/or sse");
  process.exit(2);
}
const RERUN = rerunCommand("bench/log-pipeline.ts", { sizes: SIZES_MB.join(","), "latency-seconds": LATENCY_SECONDS, "interval-ms": INTERVAL_MS, viewers: VIEWERS.join(","), warmup: WARMUP_MB, "quiet-wait": QUIET_WAIT });

const MB = 1e6;
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WRITER = join(ROOT, "bench", "log-writer.py");

// --- in the page ---------------------------------------------------------------------------------
// Plain JavaScript strings: functions compiled by tsx would carry its helpers into the page.

/**
 * Before the page's own scripts: counts what reaches the page through the builds.log
 * EventSource (tRPC's httpSubscriptionLink uses the global EventSource). Each event's id is the
 * byte offset in build.log after it.
 */
const INIT_SCRIPT = `(() => {
  const st = (window.__bench = { sseOpen: 0, events: 0, received: [], markerAt: 0, delays: [], seen: {}, renders: 0,
    sinkHooked: false, droppedChars: 0, trims: 0, takenChars: 0 });
  const Native = window.EventSource;
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      if (!String(url).includes("builds.log")) return;
      this.addEventListener("open", () => { st.sseOpen++; });
      this.addEventListener("message", (e) => {
        st.events++;
        st.received.push([Date.now(), Number(e.lastEventId)]);
      });
    }
  };
})();`;

/**
 * Once the terminal is there: watch the rows xterm renders (.xterm-rows, the lines on screen)
 * for the marker and for timestamped lines, and, best effort, wrap the panel's LogSink (found
 * through React's fiber of the panel) to count text it drops when it falls behind.
 */
const watchScript = (token: string) => `(() => {
  const st = window.__bench;
  const rows = document.querySelector("[data-testid=log-terminal] .xterm-rows");
  if (!rows) return "no .xterm-rows in the page";
  const marker = ${JSON.stringify(`BENCH-END-${token}`)};
  const lat = /LAT#(\\d{5})@(\\d{13})/g;
  const check = () => {
    const now = Date.now();
    st.renders++;
    const text = rows.textContent || "";
    for (const m of text.matchAll(lat)) {
      if (st.seen[m[1]] === undefined) { st.seen[m[1]] = 1; st.delays.push(now - Number(m[2])); }
    }
    if (!st.markerAt && text.includes(marker)) { st.markerAt = now; if (window.__benchMarker) window.__benchMarker(now); }
  };
  new MutationObserver(check).observe(rows, { childList: true, subtree: true, characterData: true });
  check();

  const box = document.querySelector("[data-testid=log-terminal]");
  const key = box && Object.keys(box).find((k) => k.startsWith("__reactFiber$"));
  let f = key ? box[key] : null;
  while (f && !(f.memoizedProps && f.memoizedProps.sink && typeof f.memoizedProps.sink.take === "function")) f = f.return;
  if (f && !st.sinkHooked) {
    const sink = f.memoizedProps.sink;
    const push = sink.push, take = sink.take;
    sink.push = function (text) {
      const before = this.size;
      push.call(this, text);
      const dropped = before + text.length - this.size;
      if (dropped > 0) { st.droppedChars += dropped; st.trims++; }
    };
    sink.take = function (max) {
      const t = take.call(this, max);
      st.takenChars += t.length;
      return t;
    };
    st.sinkHooked = true;
  }
  return "ok";
})()`;

interface PageState {
  sseOpen: number;
  events: number;
  received: [number, number][];
  markerAt: number;
  delays: number[];
  renders: number;
  sinkHooked: boolean;
  droppedChars: number;
  trims: number;
  takenChars: number;
}

// --- one build -----------------------------------------------------------------------------------

type Job = { mode: "flood"; bytes: number } | { mode: "paced"; count: number; intervalMs: number };

interface WriterStats {
  startedMs: number;
  endedMs: number;
  bytes: number;
  lines: number;
}

interface RunResult {
  build: BuildDetail;
  writer: WriterStats;
  page: PageState;
  /** Byte offset in build.log just after the marker line. */
  markerEnd: number;
  /** When the page's EventSource had every byte up to the marker. */
  receivedAllAt: number;
  rssBeforeKiB: number;
  peakRssKiB: number;
  hwmKiB: number;
  /** Delays (ms) to a Node SSE client of builds.log, for paced runs. */
  sseDelays: number[];
  /** CPU from the go to the marker shown: the benchmark's (server, browser, writer) and others'. */
  cpu: CpuUse;
  /** The server's VmRSS (KiB) through the run, with build.log's size then: [ms, KiB, bytes]. */
  series: [number, number, number][];
}

interface Context {
  server: NextServer;
  browser: Browser;
  sampler: RssSampler;
  control: string;
  dataDir: string;
  profileId: number;
}

const machineCores = availableParallelism();
const cpuText = (c: CpuUse) => `${fixed(c.ours, 2)}/${fixed(c.others, 2)}`;

/** MB/s from the writer's start to the marker shown (page) or received (SSE client). */
const rate = (r: RunResult) => r.markerEnd / MB / ((r.page.markerAt - r.writer.startedMs) / 1000);

/** Where the marker line ends in build.log (it is near the end: read the tail). */
async function markerEndOffset(path: string, token: string): Promise<number> {
  const f = await open(path, "r");
  try {
    const { size } = await f.stat();
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    await f.read(buf, 0, len, size - len);
    const at = buf.indexOf(`BENCH-END-${token}`);
    if (at < 0) throw new Error(`the marker is not in the last ${len} bytes of ${path}`);
    const nl = buf.indexOf("\n", at);
    return size - len + (nl < 0 ? len : nl + 1);
  } finally {
    await f.close();
  }
}

/** Who follows the log: the build page in Chromium, or only a Node SSE client (no browser). */
type Viewer = "browser" | "sse";

async function runBuild(ctx: Context, job: Job, viewer: Viewer, label: string): Promise<RunResult> {
  const token = randomBytes(6).toString("hex");
  const markerText = `BENCH-END-${token}`;
  await writeFile(join(ctx.control, "job.json"), JSON.stringify({ ...job, token }));
  const url = ctx.server.url;
  const api = ctx.server.api;
  const started = await api.mutation<BuildDetail>("builds.start", { profileId: ctx.profileId });
  const context = viewer === "browser" ? await ctx.browser.newContext({ viewport: { width: 1600, height: 1000 } }) : undefined;
  try {
    let markerSeen!: (t: number) => void;
    const marker = new Promise<number>((r) => (markerSeen = r));
    const page = context ? await signIn(context, ctx.server) : undefined;
    if (page) {
      await page.exposeFunction("__benchMarker", (t: number) => markerSeen(t));
      await page.addInitScript(INIT_SCRIPT);
      await page.goto(`${url}/builds/${started.id}`);
      await page.waitForFunction("!!document.querySelector('[data-testid=log-terminal] .xterm-rows') && window.__bench.sseOpen > 0", undefined, { timeout: 60_000 });
      const watching = String(await page.evaluate(watchScript(token)));
      if (watching !== "ok") throw new Error(watching);
      await sleep(500); // the page settles (fit, first events) before the clock starts
    }

    // A Node SSE client of builds.log: the only viewer in "sse" runs; beside the page in paced
    // runs, for the delay without the browser.
    const sseDelays: number[] = [];
    const sseReceived: [number, number][] = [];
    const sseAbort = new AbortController();
    const sse =
      !page || job.mode === "paced"
        ? (async () => {
            let tail = "";
            const seen = new Set<string>();
            for await (const e of api.subscribe("builds.log", { id: started.id }, sseAbort.signal)) {
              if (!e.id) continue;
              const now = Date.now();
              if (!page) sseReceived.push([now, Number(e.id)]);
              const text = (JSON.parse(e.data) as { text: string }).text;
              tail = (tail.slice(-200) + text).slice(-(text.length + 200));
              if (page) {
                for (const m of tail.matchAll(/LAT#(\d{5})@(\d{13})/g))
                  if (!seen.has(m[1]!)) {
                    seen.add(m[1]!);
                    sseDelays.push(now - Number(m[2]));
                  }
              } else if (tail.includes(markerText)) markerSeen(now);
            }
          })().catch((e: unknown) => {
            if (!sseAbort.signal.aborted) throw e;
          })
        : Promise.resolve();
    if (!page) await sleep(500);

    const logPath = join(ctx.dataDir, "builds", String(started.id), "build.log");
    ctx.sampler.reset(logPath);
    const rssBeforeKiB = memory(ctx.server.pid)?.rssKiB ?? NaN;
    const cpu = cpuMeter();
    await writeFile(join(ctx.control, `go-${token}`), "");
    const expectedMs = job.mode === "flood" ? (job.bytes / MB) * 1000 : job.count * job.intervalMs;
    const timeoutMs = 60_000 + expectedMs;
    const progress = setInterval(() => process.stdout.write("."), 5_000);
    let timer: NodeJS.Timeout | undefined;
    let markerAt: number;
    try {
      markerAt = await Promise.race([
        marker,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label}: the marker was not shown within ${timeoutMs / 1000} s`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
    }
    const cpuUse = cpu();
    const build = await api.waitForBuild(started.id);
    if (build.state !== "succeeded") throw new Error(`${label}: build ${build.id} ${build.state}: ${build.message ?? ""}`);
    await sse;
    sseAbort.abort();
    const state: PageState = page
      ? ((await page.evaluate("(() => { const s = window.__bench; return { ...s, seen: undefined }; })()")) as PageState)
      : { sseOpen: 1, events: sseReceived.length, received: sseReceived, markerAt, delays: [], renders: 0, sinkHooked: false, droppedChars: 0, trims: 0, takenChars: 0 };
    const peakRssKiB = ctx.sampler.peakKiB();
    const series = ctx.sampler.series;
    const hwmKiB = memory(ctx.server.pid)?.hwmKiB ?? NaN;
    const writer = JSON.parse(await readFile(join(ctx.control, `stats-${token}.json`), "utf8")) as WriterStats;
    const markerEnd = await markerEndOffset(logPath, token);
    const receivedAllAt = state.received.find(([, off]) => off >= markerEnd)?.[0] ?? NaN;
    // The next build starts clean: the logs of big runs are not needed any more.
    await rm(logPath, { force: true });
    return { build, writer, page: state, markerEnd, receivedAllAt, rssBeforeKiB, peakRssKiB, hwmKiB, sseDelays, cpu: cpuUse, series };
  } finally {
    await context?.close();
  }
}

// --- main ----------------------------------------------------------------------------------------

const cleanup = new Cleanup();

await runMain(cleanup, async () => {
  const work = await mkdtemp(join(tmpdir(), "image-studio-bench-log-"));
  cleanup.add("temporary folder", () => rm(work, { recursive: true, force: true }));
  const control = join(work, "control");
  const bin = join(work, "bin");
  await Promise.all([mkdir(control), mkdir(bin)]);

  // `mkosi` for the server: the stand-in writer, except `--version` (the version probe).
  const realMkosi = (process.env.PATH ?? "").split(delimiter).map((d) => join(d, "mkosi")).find((p) => existsSync(p));
  await writeFile(
    join(bin, "mkosi"),
    [
      "#!/bin/sh",
      "# bench/log-pipeline.ts: the build's mkosi is the log writer; the version is the real one's.",
      `if [ "$1" = "--version" ]; then ${realMkosi ? `exec ${realMkosi} --version` : 'echo "mkosi 24 (stand-in)"; exit 0'}; fi`,
      `exec /usr/bin/python3 ${WRITER} "$@"`,
      "",
    ].join("\n"),
  );
  await chmod(join(bin, "mkosi"), 0o755);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  cleanup.add("browser", () => browser.close());
  const buildId = await waitForBuildId();
  printMachine({ chromium: browser.version(), server: `the production server of .next (BUILD_ID ${buildId}), a fresh one per measured run` });
  console.log();

  /**
   * A fresh server (own data folder, its `mkosi` the writer) for one measured run, so each
   * run's memory starts from the same point; an untimed warm-up flood first (JIT, buffers).
   */
  let servers = 0;
  async function withServer<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
    const dataDir = join(work, `data-${++servers}`);
    await mkdir(dataDir);
    const server = await startNextServer({ dataDir, env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`, BENCH_LOG_CONTROL: control } });
    cleanup.add(`server ${servers}`, server.stop);
    const sampler = new RssSampler(server.pid, 50);
    try {
      const profile = await server.api.mutation<{ id: number }>("profiles.create", { name: "bench-log", presetId: "immutable-debian-12" });
      const ctx: Context = { server, browser, sampler, control, dataDir, profileId: profile.id };
      if (WARMUP_MB > 0) await runBuild(ctx, { mode: "flood", bytes: Math.round(WARMUP_MB * MB) }, "sse", "warm-up");
      await waitForQuiet(QUIET_WAIT, 0.2, (t) => process.stdout.write(`\n${t}\n`));
      return await fn(ctx);
    } finally {
      sampler.stop();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  /** Runs a measurement again (up to 2 more times) when other processes used the CPU during it. */
  async function measured(run: () => Promise<RunResult>): Promise<RunResult> {
    for (let attempt = 1; ; attempt++) {
      const r = await run();
      if (r.cpu.others <= 0.2 || attempt > 2) return r;
      process.stdout.write(` (other processes used ${fixed(r.cpu.others, 2)} cores: again) `);
    }
  }

  // (b) one timestamped line per interval, on a quiet server.
  let latency: RunResult | undefined;
  if (LATENCY_SECONDS > 0) {
    const count = Math.max(1, Math.round((LATENCY_SECONDS * 1000) / INTERVAL_MS));
    process.stdout.write(`delay: ${count} lines, one every ${INTERVAL_MS} ms, watched in the browser `);
    latency = await measured(() => withServer((ctx) => runBuild(ctx, { mode: "paced", count, intervalMs: INTERVAL_MS }, "browser", "delay")));
    console.log(` median ${fixed(median(latency.page.delays), 0)} ms`);
  }

  // (a) and (c): a flood of each size watched in the browser, then (to tell the server's share
  // from the browser's) by a Node SSE client alone.
  const floods: { viewer: Viewer; mb: number; r: RunResult }[] = [];
  for (const viewer of VIEWERS as Viewer[])
    for (const mb of SIZES_MB) {
      process.stdout.write(`flood: ${mb} MB, watched ${viewer === "browser" ? "in the browser" : "by a Node SSE client only"} `);
      const r = await measured(() => withServer((ctx) => runBuild(ctx, { mode: "flood", bytes: Math.round(mb * MB) }, viewer, `flood ${mb} MB (${viewer})`)));
      floods.push({ viewer, mb, r });
      console.log(` ${fixed(rate(r))} MB/s`);
    }

  // --- report --------------------------------------------------------------------------------------
  const mib = (kib: number) => fixed(kib / 1024, 0);
  const secs = (ms: number) => fixed(ms / 1000, 2);
  console.log();
  for (const viewer of VIEWERS as Viewer[]) {
    const rows = floods.filter((f) => f.viewer === viewer);
    if (rows.length === 0) continue;
    console.log(
      viewer === "browser"
        ? "(a) throughput into the browser: writer start -> its last line shown in the xterm panel; (c) server memory (MiB)"
        : "(a') the same floods with no browser: writer start -> its last line received by a Node SSE client; server memory (MiB)",
    );
    console.log(
      table(
        [
          "log MB",
          "lines",
          "writer MB/s",
          viewer === "browser" ? "page had all (s)" : "client had all (s)",
          ...(viewer === "browser" ? ["shown (s)"] : []),
          "end to end MB/s",
          "KB/event",
          ...(viewer === "browser" ? ["into xterm MB/s", "dropped by page MB"] : []),
          "server RSS before",
          "peak RSS",
          "VmHWM",
          "CPU ours/others",
        ],
        rows.map(({ r }) => [
          fixed(r.markerEnd / MB, 1),
          r.writer.lines,
          fixed(r.writer.bytes / MB / ((r.writer.endedMs - r.writer.startedMs) / 1000)),
          secs(r.receivedAllAt - r.writer.startedMs),
          ...(viewer === "browser" ? [secs(r.page.markerAt - r.writer.startedMs)] : []),
          fixed(rate(r)),
          fixed(r.markerEnd / 1000 / r.page.received.filter(([, off]) => off <= r.markerEnd).length),
          ...(viewer === "browser"
            ? r.page.sinkHooked
              ? [fixed(r.page.takenChars / MB / ((r.page.markerAt - r.writer.startedMs) / 1000)), fixed(r.page.droppedChars / MB, 1)]
              : ["n/a", "n/a"]
            : []),
          mib(r.rssBeforeKiB),
          mib(r.peakRssKiB),
          mib(r.hwmKiB),
          cpuText(r.cpu),
        ]),
      ),
    );
    console.log();
  }
  if (floods.length > 0)
    console.log(
      "  log MB: bytes of build.log up to the marker (the pty turns \\n into \\r\\n). writer MB/s: how fast the stand-in got its\n" +
        "  lines into the pty (it blocks when the pipeline behind it is full). page had all: the page's EventSource held every byte\n" +
        "  up to the marker. KB/event: the average builds.log SSE event up to the marker (each carries JSON, an id, framing).\n" +
        "  into xterm: text the panel handed to xterm.write per second. dropped by page: text the panel's\n" +
        "  LogSink skipped because xterm fell behind (it writes a notice instead; the full log stays downloadable).\n" +
        `  Each run has a fresh server that first streams an untimed ${WARMUP_MB} MB warm-up; RSS before: just before the\n` +
        "  measured run; peak RSS: VmRSS sampled every 50 ms during it; VmHWM: the server's highest RSS since it started.\n" +
        `  CPU ours/others: cores' worth of CPU used during the run by this benchmark's processes (server, writer, browser)\n` +
        `  and by other user-space processes (of ${machineCores} cores; kernel threads, which also move the pty's data, count in\n` +
        "  neither): others above ~0.2 means other work on the machine disturbed the figures.\n",
    );
  // (c) within the largest run: the server's RSS as its log grows.
  const largest = Math.max(...SIZES_MB);
  const growth = floods.filter((f) => f.mb === largest);
  if (growth.length > 0) {
    const marks = [0.1, 0.25, 0.5, 0.75, 1];
    console.log(`(c) the server's RSS (MiB) as the ${largest} MB log grows: the highest sample up to each point`);
    console.log(
      table(
        ["viewer", ...marks.map((m) => `at ${fixed(largest * m, 0)} MB`)],
        growth.map(({ viewer, r }) => [
          viewer,
          ...marks.map((m) => {
            const upTo = r.series.filter(([, , size]) => size <= r.markerEnd * m);
            return upTo.length > 0 ? mib(Math.max(...upTo.map(([, kib]) => kib))) : "n/a";
          }),
        ]),
      ),
    );
    console.log();
  }
  if (latency) {
    const d = latency.page.delays;
    console.log(`(b) delay from a line written to it shown, one line every ${INTERVAL_MS} ms (ms)`);
    console.log(
      table(
        ["path", "lines seen", "median", "p95", "max", "CPU ours/others"],
        [
          ["writer -> browser panel (on screen)", `${d.length}/${latency.writer.lines - 1}`, fixed(median(d), 0), fixed(percentile(d, 95), 0), fixed(Math.max(...d), 0), cpuText(latency.cpu)],
          [
            "writer -> Node SSE client (same run)",
            `${latency.sseDelays.length}/${latency.writer.lines - 1}`,
            fixed(median(latency.sseDelays), 0),
            fixed(percentile(latency.sseDelays, 95), 0),
            fixed(Math.max(...latency.sseDelays), 0),
            "",
          ],
        ],
      ),
    );
    console.log();
  }

  console.log("Targets:");
  for (const { viewer, mb, r } of floods) {
    const x = rate(r);
    const dropped = r.page.sinkHooked ? (r.page.droppedChars > 0 ? `, but the page dropped ${fixed(r.page.droppedChars / MB, 1)} MB of it` : ", nothing dropped") : "";
    console.log(`  throughput ${mb} MB (${viewer}): ${fixed(x, 2)} MB/s ${x >= 20 ? ">=" : "<"} 20 MB/s${dropped}`);
  }
  if (latency) {
    const p95 = percentile(latency.page.delays, 95);
    console.log(`  delay: median ${fixed(median(latency.page.delays), 0)} ms, p95 ${fixed(p95, 0)} ms: ${p95 < 100 ? "under" : "not under"} 100 ms`);
  }
  // Flat: from half of the largest log to its end, the server's RSS grows by at most
  // max(32 MiB, 10%). (A fresh server's heap settles while the first ~100 MB stream; memory that
  // grew with the log would go on growing through the second half.) Per-run peaks beside it.
  for (const { viewer, r } of growth) {
    const upTo = (share: number) => Math.max(...r.series.filter(([, , size]) => size <= r.markerEnd * share).map(([, kib]) => kib));
    const half = upTo(0.5);
    const end = upTo(1);
    const flat = end - half <= Math.max(32 * 1024, 0.1 * half);
    const peaks = floods.filter((f) => f.viewer === viewer);
    console.log(
      `  memory (${viewer}): ${mib(half)} MiB at half of the ${largest} MB log, ${mib(end)} MiB at its end: ${flat ? "flat" : "grows"}` +
        ` (flat: at most max(32 MiB, 10%) more)` +
        (peaks.length > 1 ? `; peak RSS per run ${peaks.map((f) => mib(f.r.peakRssKiB)).join(" / ")} MiB for ${peaks.map((f) => f.mb).join(" / ")} MB` : ""),
    );
  }
  const buildIdNow = await waitForBuildId().catch(() => "none");
  if (buildIdNow !== buildId) console.log(`  NOTE: .next was rebuilt during the runs (BUILD_ID ${buildId} -> ${buildIdNow})`);
  const disturbed = [...floods.map((f) => f.r), ...(latency ? [latency] : [])].filter((r) => r.cpu.others > 0.2).length;
  if (disturbed > 0) console.log(`  NOTE: other processes used more than 0.2 cores during ${disturbed} run(s): rerun on a quiet machine to trust those`);
  console.log();
  console.log(`Rerun: ${RERUN}   (needs a current production build: npm run build)`);
});
