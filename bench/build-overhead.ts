// Build overhead benchmark: the same rendered project (the Debian preset with this host's
// facts) built through the dashboard (tRPC builds.start against the real server, the production server
// of the current .next build, waiting for "succeeded") and by plain mkosi on the same snapshot
// folder, alternating, with the same warm package cache. Reports each run's seconds, the medians
// and the ratio dashboard/plain. Target: at most 1.02.
//
//   npm run build            # once: the benchmark runs the production build
//   npx tsx bench/build-overhead.ts [--runs 3] [--no-watch] [--data DIR]
//   npx tsx bench/build-overhead.ts --runs 1      # quick: warm-up + one of each, ~8 minutes
//
// Needs what a real build needs: root, mkosi 24+ and its tools (scripts/setup-host.sh), and the
// Debian mirror. One untimed dashboard build first fills the package cache both then use.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup, cpuMeter, fixed, median, printMachine, rerunCommand, runMain, table, waitForQuiet, type CpuUse } from "./lib/common";
import { startNextServer, waitForBuildId, type BuildDetail } from "./lib/server";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "no-watch": { type: "boolean", default: false },
    data: { type: "string" },
    "quiet-wait": { type: "string", default: "10" },
    retries: { type: "string", default: "2" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log("usage: npx tsx bench/build-overhead.ts [--runs N (default 3)] [--no-watch] [--data DIR] [--quiet-wait MIN (10)] [--retries N (2)]");
  console.log("  --no-watch  do not follow the dashboard builds' logs over SSE (by default a client follows them, as the build page does)");
  console.log("  --data DIR  the server's data folder (kept afterwards, so a rerun finds its package cache); default: a temporary one");
  console.log("  --quiet-wait MIN  before each timed build, wait up to MIN minutes for other processes to go below 0.2 cores (0: don't)");
  console.log("  --retries N  build again (up to N times) when other processes used more than 0.2 cores during a timed build");
  process.exit(0);
}
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error("--runs takes a whole number of 1 or more");
  process.exit(2);
}
const WATCH = !args["no-watch"];
const QUIET_WAIT = Number(args["quiet-wait"]);
const RETRIES = Number(args.retries);
if (!(QUIET_WAIT >= 0) || !Number.isInteger(RETRIES) || RETRIES < 0) {
  console.error("--quiet-wait takes minutes, 0 or more; --retries a whole number, 0 or more");
  process.exit(2);
}
const RERUN = rerunCommand("bench/build-overhead.ts", { runs: RUNS, "no-watch": !WATCH, "quiet-wait": QUIET_WAIT, retries: RETRIES, ...(args.data ? { data: args.data } : {}) });
const PRESET = "immutable-debian-12";
const BUILD_TIMEOUT_MS = 20 * 60_000;

const t0 = Date.now();
const clock = () => {
  const s = Math.round((Date.now() - t0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
const say = (text: string) => console.log(`[${clock()}] ${text}`);

function version(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", () => resolve("missing"));
    p.on("close", () => resolve(out.trim().split("\n")[0] ?? ""));
  });
}

/** Every file under `dir` with a hash of its content (to show two snapshots are the same). */
async function fingerprint(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) hash.update(`${relative(dir, p)}\0`).update(await readFile(p)).update("\0");
    }
  };
  await walk(dir);
  return hash.digest("hex").slice(0, 12);
}

// --- main ----------------------------------------------------------------------------------------

const cleanup = new Cleanup();

await runMain(cleanup, async () => {
  const work = await mkdtemp(join(tmpdir(), "image-studio-bench-build-"));
  cleanup.add("temporary folder", () => rm(work, { recursive: true, force: true }));
  const dataDir = args.data ?? join(work, "data");
  await mkdir(dataDir, { recursive: true });
  const cacheDir = join(dataDir, "cache", "packages"); // what the dashboard passes as --package-cache-dir

  printMachine({ mkosi: await version("mkosi", ["--version"]), app: `.next BUILD_ID ${await waitForBuildId()}`, runs: `${RUNS} of each, alternating, after one untimed warm-up` });
  console.log(`\nThis takes about ${1 + 2 * RUNS} builds of 1.5-2.5 min each (more when it waits for a quiet machine). Progress:`);

  say("starting the production server…");
  const server = await startNextServer({ dataDir });
  cleanup.add("server", server.stop);
  const url = server.url;
  const api = server.api;
  const profile = await api.mutation<{ id: number }>("profiles.create", { name: `bench-overhead-${Date.now()}`, presetId: PRESET });
  say(`profile ${profile.id} (${PRESET}, this host's apt sources) at ${url}`);

  /** One build through the dashboard's API: builds.start, then its events until it ends. */
  async function dashboard(label: string): Promise<{ wallS: number; serverS: number; build: BuildDetail; cpu: CpuUse }> {
    const cpu = cpuMeter();
    const started = performance.now();
    const b = await api.mutation<BuildDetail>("builds.start", { profileId: profile.id });
    // As the build page does: follow the log over SSE while it runs.
    let logBytes = 0;
    const follow = WATCH
      ? (async () => {
          for await (const e of api.subscribe("builds.log", { id: b.id })) if (e.id) logBytes = Number(e.id);
        })()
      : Promise.resolve();
    let steps = 0;
    const heartbeat = setInterval(() => say(`  ${label}: build ${b.id} still running`), 60_000);
    const timeout = setTimeout(() => void api.mutation("builds.cancel", { id: b.id }).catch(() => undefined), BUILD_TIMEOUT_MS);
    let final: BuildDetail;
    try {
      final = await api.waitForBuild(b.id, (x) => {
        for (const s of x.steps.slice(steps)) if (s.depth <= 1) say(`  ${label}: ${"  ".repeat(s.depth)}${s.name}`);
        steps = x.steps.length;
      });
    } finally {
      clearInterval(heartbeat);
      clearTimeout(timeout);
    }
    const wallS = (performance.now() - started) / 1000;
    const cpuUse = cpu();
    await follow;
    if (final.state !== "succeeded")
      throw new Error(`${label}: build ${b.id} ${final.state}: ${final.message ?? ""}\n${final.failureLines.join("\n")}\n(log: ${join(dataDir, "builds", String(b.id), "build.log")})`);
    if (WATCH && logBytes !== final.logBytes) throw new Error(`${label}: the log follower got ${logBytes} bytes of ${final.logBytes}`);
    say(`  ${label}: succeeded in ${fixed(wallS)} s (server's record: ${fixed((final.durationMs ?? NaN) / 1000)} s)`);
    return { wallS, serverS: (final.durationMs ?? NaN) / 1000, build: final, cpu: cpuUse };
  }

  let plainChild: ChildProcess | undefined;
  cleanup.add("plain mkosi", () => {
    if (plainChild?.pid && plainChild.exitCode === null) process.kill(-plainChild.pid, "SIGTERM");
  });

  /** Plain mkosi on the snapshot folder, with the dashboard's package cache. */
  async function plain(label: string, snapshot: string, n: string): Promise<{ wallS: number; argv: string[]; cpu: CpuUse }> {
    const dir = join(work, "plain", String(n));
    const output = join(dir, "output");
    await mkdir(output, { recursive: true });
    await mkdir(join(dir, "workspace"), { recursive: true });
    const argv = ["mkosi", "--directory", snapshot, "--output-dir", output, "--workspace-dir", join(dir, "workspace"), "--package-cache-dir", cacheDir, "-f", "build"];
    const logPath = join(dir, "mkosi.log");
    const log = await open(logPath, "w");
    const cpu = cpuMeter();
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: snapshot, stdio: ["ignore", log.fd, log.fd], detached: true });
    plainChild = child;
    // Progress: mkosi's step lines from its log as they come.
    let shown = 0;
    const tail = setInterval(() => {
      void readFile(logPath, "utf8").then((text) => {
        const lines = text.split("\n").slice(0, -1);
        for (const l of lines.slice(shown)) {
          const m = /^‣ ( ?)(\S.*)$/.exec(l);
          if (m && /^[A-Z]/.test(m[2]!)) say(`  ${label}: ${m[1] ? "  " : ""}${m[2]}`);
        }
        shown = lines.length;
      });
    }, 2_000);
    const timeout = setTimeout(() => child.pid && process.kill(-child.pid, "SIGTERM"), BUILD_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => {
      child.on("error", () => resolve(null));
      child.on("close", (c) => resolve(c));
    });
    const wallS = (performance.now() - started) / 1000;
    const cpuUse = cpu();
    clearInterval(tail);
    clearTimeout(timeout);
    await log.close();
    const raw = (await readdir(output)).some((f) => /\.raw(\.(zst|xz|gz))?$/.test(f));
    if (code !== 0 || !raw) throw new Error(`${label}: mkosi exited with ${code}${raw ? "" : " and left no .raw"}; see ${logPath}\n${(await readFile(logPath, "utf8")).split("\n").slice(-15).join("\n")}`);
    say(`  ${label}: succeeded in ${fixed(wallS)} s`);
    await rm(output, { recursive: true, force: true }); // the images are not needed; disk space is
    return { wallS, argv, cpu: cpuUse };
  }

  say("warm-up (untimed): a dashboard build fills the package cache");
  const warm = await dashboard("warm-up");
  const snapshot = join(dataDir, "builds", String(warm.build.id), "project");
  if (!existsSync(snapshot)) throw new Error(`the warm-up's snapshot folder ${snapshot} is missing`);
  const snapshotPrint = await fingerprint(snapshot);
  await rm(join(dataDir, "builds", String(warm.build.id), "output"), { recursive: true, force: true });

  interface Run {
    n: number;
    order: string;
    dashboard: number;
    server: number;
    plain: number;
    sameFiles: boolean;
    cpuD: CpuUse;
    cpuP: CpuUse;
  }
  const runs: Run[] = [];
  let plainArgv: string[] = [];
  let retried = 0;
  for (let n = 1; n <= RUNS; n++) {
    // ABBA: which goes first alternates, so a drift over time does not favour one side.
    const dashboardFirst = n % 2 === 1;
    let d: Awaited<ReturnType<typeof dashboard>> | undefined;
    let p: Awaited<ReturnType<typeof plain>> | undefined;
    for (const side of dashboardFirst ? ["dashboard", "plain"] : ["plain", "dashboard"])
      for (let attempt = 1; ; attempt++) {
        say(`run ${n}/${RUNS}: ${side}${attempt > 1 ? ` (again, ${attempt}/${RETRIES + 1})` : ""}`);
        await waitForQuiet(QUIET_WAIT, 0.2, say);
        let others: number;
        if (side === "dashboard") others = (d = await dashboard(`dashboard ${n}`)).cpu.others;
        else others = (p = await plain(`plain ${n}`, snapshot, `${n}-${attempt}`)).cpu.others;
        // Someone else's work during the build makes its time say nothing about ours: redo it.
        if (others <= 0.2 || attempt > RETRIES) break;
        retried++;
        say(`  other processes used ${fixed(others, 2)} cores during it: its time is not kept`);
        if (side === "dashboard") await rm(join(dataDir, "builds", String(d!.build.id), "output"), { recursive: true, force: true });
      }
    const built = join(dataDir, "builds", String(d!.build.id));
    const sameFiles = (await fingerprint(join(built, "project"))) === snapshotPrint;
    await rm(join(built, "output"), { recursive: true, force: true });
    plainArgv = p!.argv;
    runs.push({ n, order: dashboardFirst ? "dashboard, plain" : "plain, dashboard", dashboard: d!.wallS, server: d!.serverS, plain: p!.wallS, sameFiles, cpuD: d!.cpu, cpuP: p!.cpu });
    say(`run ${n}/${RUNS}: dashboard ${fixed(d!.wallS)} s, plain ${fixed(p!.wallS)} s, ratio ${fixed(d!.wallS / p!.wallS, 3)}`);
  }

  // --- report --------------------------------------------------------------------------------------
  const mD = median(runs.map((r) => r.dashboard));
  const mS = median(runs.map((r) => r.server));
  const mP = median(runs.map((r) => r.plain));
  console.log();
  console.log("Build time (s): dashboard = builds.start until the client sees 'succeeded' (preflight, snapshot, queue, pty, log, DB" + (WATCH ? ", a log follower over SSE" : "") + ");");
  console.log("server's record = the build's startedAt..endedAt (mkosi under the pty runner); plain = the mkosi process alone");
  console.log(
    table(
      ["run", "order", "dashboard", "server's record", "plain mkosi", "ratio dashboard/plain", "same files", "CPU ours/others: dashboard", "plain"],
      [
        ...runs.map((r) => [
          r.n,
          r.order,
          fixed(r.dashboard),
          fixed(r.server),
          fixed(r.plain),
          fixed(r.dashboard / r.plain, 3),
          r.sameFiles ? "yes" : "NO",
          `${fixed(r.cpuD.ours, 2)}/${fixed(r.cpuD.others, 2)}`,
          `${fixed(r.cpuP.ours, 2)}/${fixed(r.cpuP.others, 2)}`,
        ]),
        ["median", "", fixed(mD), fixed(mS), fixed(mP), fixed(mD / mP, 3), "", "", ""],
      ],
    ),
  );
  console.log("CPU ours/others: cores' worth of CPU used during the build by this benchmark's processes (server, mkosi and all it runs)");
  console.log("and by other user-space processes (kernel threads count in neither)");
  const disturbed = runs.filter((r) => r.cpuD.others > 0.2 || r.cpuP.others > 0.2).length;
  if (retried > 0) console.log(`${retried} build(s) were done again because other processes used more than 0.2 cores during them`);
  if (disturbed > 0) console.log(`NOTE: other processes used more than 0.2 cores during ${disturbed} run(s) even so: rerun on a quiet machine to trust the ratio`);
  console.log();
  console.log(`Plain command (run in the snapshot folder, output to a file):\n  ${plainArgv.join(" ")}`);
  console.log(`Target: ratio of medians ${fixed(mD / mP, 3)} ${mD / mP <= 1.02 ? "<=" : ">"} 1.02 (server's record / plain: ${fixed(mS / mP, 3)})`);
  if (RUNS < 3) console.log("  (fewer than 3 runs: a build's own spread is a few percent, so one run says little about 2%)");
  console.log();
  console.log(`Rerun: ${RERUN}   (needs a current production build: npm run build)`);
});
