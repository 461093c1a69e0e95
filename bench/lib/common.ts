// Shared by the benchmarks: the machine they ran on, tables, statistics, the command that
// reruns them, and cleanup that also runs on Ctrl-C.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg, release } from "node:os";

export interface Machine {
  nproc: string;
  cpu: string;
  memory: string;
  kernel: string;
  node: string;
}

function firstMatch(path: string, re: RegExp): string | undefined {
  try {
    return re.exec(readFileSync(path, "utf8"))?.[1]?.trim();
  } catch {
    return undefined;
  }
}

export function machine(): Machine {
  let nproc: string;
  try {
    nproc = execFileSync("nproc", { encoding: "utf8" }).trim();
  } catch {
    nproc = "?";
  }
  const memKiB = Number(firstMatch("/proc/meminfo", /^MemTotal:\s+(\d+) kB/m) ?? NaN);
  return {
    nproc,
    cpu: firstMatch("/proc/cpuinfo", /^model name\s*:\s*(.*)$/m) ?? "unknown",
    memory: Number.isFinite(memKiB) ? `${(memKiB / 1024 / 1024).toFixed(1)} GiB` : "unknown",
    kernel: release(),
    node: process.version,
  };
}

/** The machine block printed before the figures; `extra` adds lines (tool versions). */
export function printMachine(extra: Record<string, string> = {}): void {
  const m = machine();
  const rows: [string, string][] = [
    ["nproc", m.nproc],
    ["CPU", m.cpu],
    ["memory", m.memory],
    ["kernel", m.kernel],
    ["node", m.node],
    ["load", loadText()],
    ...Object.entries(extra),
  ];
  console.log("Machine:");
  for (const [k, v] of rows) console.log(`  ${k.padEnd(9)} ${v}`);
}

/** The 1, 5 and 15 minute load averages: other work on the machine skews every figure. */
export function loadText(): string {
  const [a, b, c] = loadavg();
  return `${fixed(a!, 2)} ${fixed(b!, 2)} ${fixed(c!, 2)} (1/5/15 min)`;
}

/** A Markdown table (readable as is, pasteable into a README). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map((r) => line(r.map(String)))].join("\n");
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for no values. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** The exact command that reruns this benchmark with the options in effect. */
export function rerunCommand(script: string, options: Record<string, string | number | boolean>): string {
  const parts = ["npx", "tsx", script];
  for (const [k, v] of Object.entries(options)) {
    if (v === false) continue;
    parts.push(`--${k}`);
    if (v !== true) parts.push(String(v));
  }
  return parts.map((p) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`)).join(" ");
}

// --- other work on the machine ------------------------------------------------------------------

const TICKS = 100; // USER_HZ: /proc's clock ticks per second on Linux

/**
 * CPU ticks of user-space processes, split into `root` with everything under it and the rest.
 * Each process counts its own time plus that of the children it has reaped (cutime/cstime),
 * so finished helpers still count. Kernel threads are left out: they also do work for this
 * benchmark (a pty's data is moved by kworker threads, the log written back by others).
 */
function ticks(root: number): { ours: number; others: number } {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      /* gone */
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const mine = new Set<number>();
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    mine.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  let ours = 0;
  let others = 0;
  for (const [pid, p] of procs) {
    if (mine.has(pid)) ours += p.ticks;
    else if (pid !== 2 && p.ppid !== 2) others += p.ticks; // kthreadd and its kernel threads
  }
  return { ours, others };
}

export interface CpuUse {
  /** Cores' worth of CPU this benchmark (this process and all under it) used on average. */
  ours: number;
  /** Cores' worth used by other user-space processes (other sessions' work): noise in the figures. */
  others: number;
}

/** Starts counting CPU time; the returned function says how it was split until now. */
export function cpuMeter(): () => CpuUse {
  const t0 = performance.now();
  const start = ticks(process.pid);
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const end = ticks(process.pid);
    return { ours: (end.ours - start.ours) / TICKS / secs, others: Math.max(0, end.others - start.others) / TICKS / secs };
  };
}

/**
 * Waits (up to `maxMinutes`) until other user-space processes use less than `threshold` cores
 * over a few seconds, so a measured run does not start in the middle of someone else's work.
 * Returns the seconds waited; says so when it waits.
 */
export async function waitForQuiet(maxMinutes: number, threshold = 0.2, log: (text: string) => void = console.log): Promise<number> {
  if (maxMinutes <= 0) return 0;
  const t0 = performance.now();
  let told = false;
  let quietWindows = 0;
  for (;;) {
    const m = cpuMeter();
    await sleep(3_000);
    const { others } = m();
    const waited = (performance.now() - t0) / 1000;
    // Two quiet windows in a row: a lull in someone's build (a download) is not enough.
    quietWindows = others < threshold ? quietWindows + 1 : 0;
    if (quietWindows >= 2) {
      if (told) log(`  the machine is quiet (others ${fixed(others, 2)} cores) after ${fixed(waited, 0)} s`);
      return waited;
    }
    if (waited > maxMinutes * 60) {
      log(`  still busy after ${maxMinutes} min (others ${fixed(others, 2)} cores): going on; the CPU column shows it`);
      return waited;
    }
    if (!told && quietWindows === 0) {
      log(`  waiting for a quiet machine: other processes use ${fixed(others, 2)} cores (up to ${maxMinutes} min)`);
      told = true;
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Cleanup steps run in reverse order, once, on a normal end, on an error, and on Ctrl-C or
 * SIGTERM (which then exit with 130/143).
 */
export class Cleanup {
  private steps: { name: string; fn: () => Promise<void> | void }[] = [];
  private ran: Promise<void> | undefined;

  constructor() {
    for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const)
      process.once(sig, () => {
        console.error(`\n${sig}: cleaning up…`);
        void this.run().finally(() => process.exit(code));
      });
  }

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  run(): Promise<void> {
    this.ran ??= (async () => {
      for (const s of this.steps.reverse()) {
        try {
          await s.fn();
        } catch (e) {
          console.error(`cleanup (${s.name}) failed:`, e instanceof Error ? e.message : e);
        }
      }
      this.steps = [];
    })();
    return this.ran;
  }
}

/** Runs `main`, always cleans up, and sets the exit code. */
export async function runMain(cleanup: Cleanup, main: () => Promise<void>): Promise<void> {
  let failed = false;
  try {
    await main();
  } catch (e) {
    failed = true;
    console.error(`\nbenchmark failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    await cleanup.run();
  }
  // Handles (sockets of a killed server, timers) must not keep the process alive.
  process.exit(failed ? 1 : 0);
}
