// Boot-to-login benchmark: the Debian preset's disk image booted under software emulation (TCG)
// through the dashboard (tRPC vms.start over HTTP against the real server, the production server of the
// current .next build, until the login prompt arrives through the vms.console SSE stream) and
// by hand (the very same QEMU argv, taken from the run's `command`, spawned directly and read
// on its stdout until the same prompt), alternating in the same run. Reports each run's
// seconds, the medians and the ratio dashboard/hand. Target: at most 1.05.
//
//   npm run build            # once: the benchmark runs the production build
//   npx tsx bench/boot-to-login.ts [--runs 3] [--data DIR --build ID] [--warmup 1]
//
// Without --build it first builds the preset through the API (root, mkosi and the Debian
// mirror, ~2.5 min cold). The disk is attached with snapshot=on, so no boot changes it; each
// hand run gets a fresh copy of the OVMF variable store, as the dashboard gives each VM.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FIRMWARE_CANDIDATES } from "@/server/vms/qemu-args";
import { Cleanup, cpuMeter, fixed, loadText, median, percentile, printMachine, rerunCommand, runMain, table, waitForQuiet, type CpuUse } from "./lib/common";
import { startNextServer, untilLoginPrompt, waitForBuildId, type BuildDetail, type Outputs } from "./lib/server";

type VmRunView = Outputs["vms"]["start"];

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    data: { type: "string" },
    build: { type: "string" },
    warmup: { type: "string", default: "1" },
    "memory-mib": { type: "string" },
    cpus: { type: "string" },
    timeout: { type: "string", default: "600" },
    "quiet-wait": { type: "string", default: "10" },
    retries: { type: "string", default: "2" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log("usage: npx tsx bench/boot-to-login.ts [--runs N (3)] [--data DIR [--build ID]] [--warmup N (1)] [--memory-mib M] [--cpus N]");
  console.log("                                     [--timeout S (600)] [--quiet-wait MIN (10)] [--retries N (2)]");
  console.log("  --data DIR   the server's data folder (kept afterwards); default: a temporary one");
  console.log("  --build ID   a succeeded build of the Debian preset in DIR to boot (default: build one first)");
  console.log("  --warmup N   untimed dashboard boots first (page cache, server code paths); one also gives the argv");
  console.log("  --memory-mib, --cpus  passed to vms.start (default: the server's, 2048 MiB and 2 CPUs)");
  console.log("  --timeout S  a boot that shows no login prompt within S seconds fails the benchmark");
  console.log("  --quiet-wait MIN  before each timed boot, wait up to MIN minutes for other processes to go below 0.2 cores (0: don't)");
  console.log("  --retries N  boot again (up to N times) when other processes used more than 0.2 cores during a timed boot");
  process.exit(0);
}
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const TIMEOUT_S = Number(args.timeout);
const QUIET_WAIT = Number(args["quiet-wait"]);
const RETRIES = Number(args.retries);
const BUILD = args.build === undefined ? undefined : Number(args.build);
const MEMORY = args["memory-mib"] === undefined ? undefined : Number(args["memory-mib"]);
const CPUS = args.cpus === undefined ? undefined : Number(args.cpus);
const whole = (n: number | undefined, min: number) => n === undefined || (Number.isInteger(n) && n >= min);
if (!whole(RUNS, 1) || !whole(WARMUP, 0) || !whole(RETRIES, 0) || !whole(BUILD, 1) || !whole(MEMORY, 1) || !whole(CPUS, 1) || !(TIMEOUT_S > 0) || !(QUIET_WAIT >= 0)) {
  console.error("--runs takes a whole number of 1 or more; --warmup and --retries 0 or more; --build, --memory-mib and --cpus positive whole numbers;");
  console.error("--timeout seconds above 0; --quiet-wait minutes, 0 or more");
  process.exit(2);
}
if (BUILD !== undefined && !args.data) {
  console.error("--build needs --data: the data folder the build is in");
  process.exit(2);
}
const RERUN = rerunCommand("bench/boot-to-login.ts", {
  runs: RUNS,
  ...(args.data ? { data: args.data } : {}),
  ...(BUILD !== undefined ? { build: BUILD } : {}),
  warmup: WARMUP,
  ...(MEMORY !== undefined ? { "memory-mib": MEMORY } : {}),
  ...(CPUS !== undefined ? { cpus: CPUS } : {}),
  timeout: TIMEOUT_S,
  "quiet-wait": QUIET_WAIT,
  retries: RETRIES,
});
const PRESET = "immutable-debian-12";
const TARGET = 1.05;
const BUILD_TIMEOUT_MS = 20 * 60_000;
/** The boot check's LOGIN_PROMPT (server/vms/check-plan.ts): agetty's "<host> login: ", on both sides. */
const LOGIN_PROMPT = /(?:^|\n)[^\n]*\blogin: /;
/** Console text kept for matching: enough for a prompt split across chunks. */
const TAIL_CHARS = 4096;

const t0 = Date.now();
const clock = () => {
  const s = Math.round((Date.now() - t0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
const say = (text: string) => console.log(`[${clock()}] ${text}`);

function firstLine(cmd: string, argv: string[]): string {
  try {
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n")[0] ?? "";
  } catch {
    return "missing";
  }
}

/** Feeds console text in and says whether the login prompt has appeared. */
class PromptWatch {
  private tail = "";
  feed(text: string): boolean {
    this.tail = (this.tail + text).slice(-TAIL_CHARS);
    return LOGIN_PROMPT.test(this.tail);
  }
  /** The prompt's line, for the report (control sequences dropped). */
  line(): string {
    const m = LOGIN_PROMPT.exec(this.tail);
    return (m?.[0] ?? "").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").trim();
  }
}

interface Boot {
  /** From the request (or spawn) to the login prompt, seconds. */
  loginS: number;
  /** From the request (or spawn) to the first console byte, seconds. */
  firstByteS: number;
  prompt: string;
  cpu: CpuUse;
}

/**
 * A 95% interval for the ratio of medians, by resampling each side's boots (seeded, so a rerun
 * of the same figures prints the same interval): under TCG one boot's own spread is far wider
 * than the 5% the target allows, so the ratio alone would claim more than it knows.
 */
function ratioInterval(d: readonly number[], h: readonly number[], rounds = 10_000): [number, number] {
  let seed = 0x9e3779b9;
  const rand = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resample = (xs: readonly number[]) => median(xs.map(() => xs[Math.floor(rand() * xs.length)]!));
  const ratios = Array.from({ length: rounds }, () => resample(d) / resample(h));
  return [percentile(ratios, 2.5), percentile(ratios, 97.5)];
}

// --- main ----------------------------------------------------------------------------------------

const cleanup = new Cleanup();

await runMain(cleanup, async () => {
  const work = await mkdtemp(join(tmpdir(), "image-studio-bench-boot-"));
  cleanup.add("temporary folder", () => rm(work, { recursive: true, force: true }));
  const dataDir = args.data ?? join(work, "data");
  await mkdir(dataDir, { recursive: true });

  const qemuVersion = firstLine("qemu-system-x86_64", ["--version"]);
  printMachine({ QEMU: qemuVersion, accel: "tcg (IMAGE_STUDIO_VM_ACCEL=tcg)", app: `.next BUILD_ID ${await waitForBuildId()}`, runs: `${RUNS} of each, alternating, after ${WARMUP} untimed warm-up boot(s)` });
  console.log(`\nThis takes about ${WARMUP + 2 * RUNS} boots of 1-1.5 min each under emulation${BUILD === undefined ? ", after a build of 2-3 min" : ""}. Progress:`);

  say("starting the production server with IMAGE_STUDIO_VM_ACCEL=tcg…");
  const server = await startNextServer({ dataDir, env: { IMAGE_STUDIO_VM_ACCEL: "tcg" } });
  cleanup.add("server", server.stop);
  const url = server.url;
  const api = server.api;

  let buildId: number;
  if (BUILD !== undefined) {
    const b = await api.query<BuildDetail>("builds.get", { id: BUILD });
    if (b.state !== "succeeded") throw new Error(`build ${BUILD} in ${dataDir} is ${b.state}: only a succeeded build can be booted`);
    buildId = BUILD;
    say(`booting build ${buildId} of ${dataDir}`);
  } else {
    const profile = await api.mutation<{ id: number }>("profiles.create", { name: `bench-boot-${Date.now()}`, presetId: PRESET });
    const started = performance.now();
    const b = await api.mutation<BuildDetail>("builds.start", { profileId: profile.id });
    say(`building the ${PRESET} preset (profile ${profile.id}, build ${b.id})…`);
    const timeout = setTimeout(() => void api.mutation("builds.cancel", { id: b.id }).catch(() => undefined), BUILD_TIMEOUT_MS);
    const final = await api.waitForBuild(b.id).finally(() => clearTimeout(timeout));
    if (final.state !== "succeeded")
      throw new Error(`build ${b.id} ${final.state}: ${final.message ?? ""}\n${final.failureLines.join("\n")}\n(log: ${join(dataDir, "builds", String(b.id), "build.log")})`);
    buildId = b.id;
    say(`build ${b.id} succeeded in ${fixed((performance.now() - started) / 1000)} s (reuse it: --data ${dataDir} --build ${b.id}, with --data kept)`);
  }

  // A VM left running (an error between start and stop) is stopped before the server goes.
  let liveRun: number | undefined;
  cleanup.add("dashboard VM", async () => {
    if (liveRun !== undefined) await api.mutation("vms.stop", { runId: liveRun }).catch(() => undefined);
  });

  /** Pressing Boot: vms.start over HTTP, then the console over SSE until the login prompt. */
  async function dashboard(label: string): Promise<Boot & { run: VmRunView }> {
    const cpu = cpuMeter();
    const started = performance.now();
    const run = await api.mutation<VmRunView>("vms.start", { buildId, ...(MEMORY !== undefined ? { memoryMib: MEMORY } : {}), ...(CPUS !== undefined ? { cpus: CPUS } : {}) });
    liveRun = run.id;
    const watch = new PromptWatch();
    let firstByte = NaN;
    const login = await untilLoginPrompt(api, run.id, TIMEOUT_S, (text) => {
      if (Number.isNaN(firstByte)) firstByte = performance.now();
      return watch.feed(text);
    });
    const cpuUse = cpu(); // before the stop: only the boot counts
    const stopped = await api.mutation<VmRunView>("vms.stop", { runId: run.id });
    liveRun = undefined;
    if (Number.isNaN(login))
      throw new Error(`${label}: no login prompt within ${TIMEOUT_S} s (run ${run.id}: ${stopped.state}, ${stopped.message ?? ""}; console: ${join(dataDir, "vms", String(run.id), "console.log")})`);
    const r = { loginS: (login - started) / 1000, firstByteS: (firstByte - started) / 1000, prompt: watch.line(), cpu: cpuUse, run };
    say(`  ${label}: login prompt after ${fixed(r.loginS, 2)} s (run ${run.id}, ${run.accel})`);
    return r;
  }

  let handChild: ChildProcess | undefined;
  const killHand = async () => {
    const c = handChild;
    if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((ok) => c.once("exit", () => ok()));
    process.kill(-c.pid, "SIGTERM");
    // As the server does: SIGKILL when QEMU has not gone after 3 s.
    const force = setTimeout(() => c.pid && process.kill(-c.pid, "SIGKILL"), 3_000);
    await exited;
    clearTimeout(force);
  };
  cleanup.add("hand QEMU", killHand);

  /**
   * The dashboard's argv with its variable store swapped for a fresh copy of the same template
   * (the copy is made before the clock starts: the hand side is QEMU alone).
   */
  async function handArgv(command: string[], n: string): Promise<string[]> {
    const code = command.map((a) => /^if=pflash,format=raw,readonly=on,file=(.*)$/.exec(a)?.[1]).find(Boolean)?.replaceAll(",,", ",");
    const fw = FIRMWARE_CANDIDATES.find((f) => f.code === code);
    if (!fw) throw new Error(`the run's command has firmware ${code ?? "(none)"}, which is none of the known OVMF builds`);
    const vars = command.findIndex((a) => a.startsWith("if=pflash,format=raw,file="));
    if (vars < 0) throw new Error(`the run's command has no writable pflash drive: ${command.join(" ")}`);
    const dir = join(work, "hand", n);
    await mkdir(dir, { recursive: true });
    const copy = join(dir, "efivars.fd");
    await copyFile(fw.varsTemplate, copy);
    const argv = [...command];
    argv[vars] = `if=pflash,format=raw,file=${copy.replaceAll(",", ",,")}`;
    return argv;
  }

  /** Starting the same QEMU by hand: spawn, read its stdout until the login prompt, kill it. */
  async function hand(label: string, command: string[], n: string): Promise<Boot & { argv: string[] }> {
    const argv = await handArgv(command, n);
    const cpu = cpuMeter();
    const started = performance.now();
    // stdin a pipe kept open, as the server's (typed input goes there); own group, to kill it whole.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], detached: true });
    handChild = child;
    const watch = new PromptWatch();
    const decoder = new TextDecoder();
    let errors = "";
    child.stderr!.on("data", (d: Buffer) => (errors = (errors + d.toString()).slice(-4096)));
    const login = await new Promise<{ at: number; firstByte: number }>((resolve, reject) => {
      let firstByte = NaN;
      const timer = setTimeout(() => reject(new Error(`${label}: no login prompt within ${TIMEOUT_S} s`)), TIMEOUT_S * 1000);
      child.stdout!.on("data", (d: Buffer) => {
        if (Number.isNaN(firstByte)) firstByte = performance.now();
        if (watch.feed(decoder.decode(d, { stream: true }))) {
          clearTimeout(timer);
          resolve({ at: performance.now(), firstByte });
        }
      });
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      child.once("error", fail);
      child.once("exit", (code, sig) => fail(new Error(`${label}: QEMU exited (${code ?? sig}) before the login prompt: ${errors.trim()}`)));
    });
    const cpuUse = cpu();
    await killHand();
    const r = { loginS: (login.at - started) / 1000, firstByteS: (login.firstByte - started) / 1000, prompt: watch.line(), cpu: cpuUse, argv };
    say(`  ${label}: login prompt after ${fixed(r.loginS, 2)} s`);
    return r;
  }

  let command: string[] | undefined;
  for (let w = 1; w <= WARMUP; w++) {
    say(`warm-up ${w}/${WARMUP} (untimed): a dashboard boot`);
    command = (await dashboard(`warm-up ${w}`)).run.command ?? undefined;
  }

  interface Run {
    n: number;
    order: string;
    d: Boot;
    h: Boot;
  }
  const runs: Run[] = [];
  let handCommand: string[] = [];
  let prompt = "";
  let retried = 0;
  for (let n = 1; n <= RUNS; n++) {
    // ABBA: which goes first alternates, so a drift over time does not favour one side. Without
    // a warm-up, the first dashboard boot also gives the argv, so it must come first.
    const dashboardFirst = n % 2 === 1 || command === undefined;
    let d: Awaited<ReturnType<typeof dashboard>> | undefined;
    let h: Awaited<ReturnType<typeof hand>> | undefined;
    for (const side of dashboardFirst ? ["dashboard", "hand"] : ["hand", "dashboard"])
      for (let attempt = 1; ; attempt++) {
        say(`run ${n}/${RUNS}: ${side}${attempt > 1 ? ` (again, ${attempt}/${RETRIES + 1})` : ""}`);
        await waitForQuiet(QUIET_WAIT, 0.2, say);
        let others: number;
        if (side === "dashboard") {
          d = await dashboard(`dashboard ${n}`);
          command ??= d.run.command ?? undefined;
          if (!command) throw new Error(`run ${d.run.id} has no command`);
          if (!command.includes("tcg")) throw new Error(`run ${d.run.id} is not under emulation: ${command.join(" ")}`);
          others = d.cpu.others;
        } else others = (h = await hand(`hand ${n}`, command!, `${n}-${attempt}`)).cpu.others;
        // Someone else's work during the boot makes its time say nothing about ours: redo it.
        if (others <= 0.2 || attempt > RETRIES) break;
        retried++;
        say(`  other processes used ${fixed(others, 2)} cores during it: its time is not kept`);
      }
    handCommand = h!.argv;
    prompt = d!.prompt;
    runs.push({ n, order: dashboardFirst ? "dashboard, hand" : "hand, dashboard", d: d!, h: h! });
    say(`run ${n}/${RUNS}: dashboard ${fixed(d!.loginS, 2)} s, hand ${fixed(h!.loginS, 2)} s, ratio ${fixed(d!.loginS / h!.loginS, 3)}`);
  }

  // --- report --------------------------------------------------------------------------------------
  const mD = median(runs.map((r) => r.d.loginS));
  const mH = median(runs.map((r) => r.h.loginS));
  const ratio = mD / mH;
  const [lo, hi] = ratioInterval(runs.map((r) => r.d.loginS), runs.map((r) => r.h.loginS));
  const spread = (xs: number[]) => `${fixed(Math.min(...xs), 2)}..${fixed(Math.max(...xs), 2)} s`;
  console.log();
  console.log("Boot to login prompt (s), under TCG: dashboard = vms.start sent until the prompt arrives through the vms.console SSE stream;");
  console.log("hand = the same QEMU argv spawned directly until the prompt is read on its stdout. First byte = the first console output.");
  console.log(
    table(
      ["run", "order", "dashboard", "hand", "ratio dashboard/hand", "first byte: dashboard", "hand", "CPU ours/others: dashboard", "hand"],
      [
        ...runs.map((r) => [
          r.n,
          r.order,
          fixed(r.d.loginS, 2),
          fixed(r.h.loginS, 2),
          fixed(r.d.loginS / r.h.loginS, 3),
          fixed(r.d.firstByteS, 3),
          fixed(r.h.firstByteS, 3),
          `${fixed(r.d.cpu.ours, 2)}/${fixed(r.d.cpu.others, 2)}`,
          `${fixed(r.h.cpu.ours, 2)}/${fixed(r.h.cpu.others, 2)}`,
        ]),
        ["median", "", fixed(mD, 2), fixed(mH, 2), fixed(ratio, 3), fixed(median(runs.map((r) => r.d.firstByteS)), 3), fixed(median(runs.map((r) => r.h.firstByteS)), 3), "", ""],
      ],
    ),
  );
  console.log("CPU ours/others: cores' worth of CPU used during the boot by this benchmark's processes (server, QEMU)");
  console.log("and by other user-space processes (kernel threads count in neither)");
  const disturbed = runs.filter((r) => r.d.cpu.others > 0.2 || r.h.cpu.others > 0.2).length;
  if (retried > 0) console.log(`${retried} boot(s) were done again because other processes used more than 0.2 cores during them`);
  if (disturbed > 0) console.log(`NOTE: other processes used more than 0.2 cores during ${disturbed} run(s) even so: rerun on a quiet machine to trust the ratio`);
  console.log(`Load at the end: ${loadText()}`);
  console.log();
  console.log(`Spread of single boots: dashboard ${spread(runs.map((r) => r.d.loginS))}, hand ${spread(runs.map((r) => r.h.loginS))}`);
  console.log(`Ratio of medians ${fixed(ratio, 3)}, 95% interval ${fixed(lo, 3)}..${fixed(hi, 3)} (bootstrap over the ${RUNS}+${RUNS} boots)`);
  // The dashboard's own work before QEMU runs (HTTP, checks, the vars copy, the spawn) shows in when the first byte arrives.
  const startShare = median(runs.map((r) => r.d.firstByteS)) - median(runs.map((r) => r.h.firstByteS));
  console.log(`First console byte, dashboard minus hand (medians): ${fixed(startShare, 3)} s, ${fixed((100 * startShare) / mH, 2)}% of the hand boot`);
  console.log();
  console.log(`Prompt matched: ${JSON.stringify(prompt)}`);
  console.log(`Hand command (its own copy of the variable store; the disk is snapshot=on):\n  ${handCommand.join(" ")}`);
  console.log(`Target: ratio of medians ${fixed(ratio, 3)} ${ratio <= TARGET ? "<=" : ">"} ${TARGET}: ${ratio <= TARGET ? "met" : "NOT met"}`);
  if (hi > TARGET && lo <= TARGET)
    console.log(`  (the interval reaches past ${TARGET}: more runs (--runs) are needed to tell for sure)`);
  if (RUNS < 3) console.log("  (fewer than 3 runs: one boot's own spread under emulation is a few percent)");
  console.log();
  console.log(`Rerun: ${RERUN}   (needs a current production build: npm run build)`);
});
