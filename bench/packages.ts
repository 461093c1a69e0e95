// The package index: (1) search as you type, 1,000 random prefixes of real package
// names against the full index of the Debian preset's repositories (Debian 12 main with its
// updates and security suites, about 65,000 packages), through the packages.search procedure
// (tRPC caller: input validation, the profile document, the queries); median and p99, target
// p99 < 50 ms. (2) An index refresh against plain `apt-get update` with the same sources and
// the same options, in the same run, alternating which goes first: warm (the lists are there,
// apt asks the mirror whether they changed, as a daily refresh does), a changed list (the big
// list downloaded again and read as it comes, as after a point release) and, with --cold,
// from nothing (the 9 MB list fetched and all of it read). Target: ratio <= 1.1.
//
//   npx tsx bench/packages.ts [--prefixes 1000] [--runs 5] [--cold] [--cold-runs 3] [--seed 13] [--data DIR] [--quiet-wait MIN]
//
// The mirror is this machine's (its apt sources), so the refresh figures include its network.
import { execa } from "execa";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildQueue, closeBuildQueue } from "@/server/builds/queue";
import { openDatabase } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { findPreset } from "@/server/mkosi/presets";
import { aptOptions, aptPaths, listFiles, writeAptConfig } from "@/server/packages/apt";
import { packageIndexes } from "@/server/packages/service";
import { indexSpec, type IndexSpec } from "@/server/packages/sources";
import { openIndex } from "@/server/packages/store";
import { createCaller } from "@/server/routers";
import { Cleanup, cpuMeter, fixed, median, percentile, printMachine, rerunCommand, runMain, table, waitForQuiet } from "./lib/common";

const { values: args } = parseArgs({
  options: {
    prefixes: { type: "string", default: "1000" },
    runs: { type: "string", default: "5" },
    cold: { type: "boolean", default: false },
    "cold-runs": { type: "string", default: "3" },
    seed: { type: "string", default: "13" },
    data: { type: "string" },
    "quiet-wait": { type: "string", default: "2" },
  },
});
const PREFIXES = Number(args.prefixes);
const RUNS = Number(args.runs);
const COLD_RUNS = Number(args["cold-runs"]);
const SEED = Number(args.seed);
const QUIET = Number(args["quiet-wait"]);
if (![PREFIXES, RUNS, COLD_RUNS, SEED].every((n) => Number.isInteger(n) && n >= 1) || !(QUIET >= 0)) {
  console.error("usage: npx tsx bench/packages.ts [--prefixes N] [--runs N] [--cold] [--cold-runs N] [--seed N] [--data DIR] [--quiet-wait MIN]");
  process.exit(2);
}
const RERUN = rerunCommand("bench/packages.ts", {
  prefixes: PREFIXES,
  runs: RUNS,
  cold: args.cold!,
  ...(args.cold ? { "cold-runs": COLD_RUNS } : {}),
  seed: SEED,
  "quiet-wait": QUIET,
  ...(args.data ? { data: args.data } : {}),
});

/** mulberry32: the same prefixes for the same seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ms = (t0: number) => performance.now() - t0;

/** Plain apt-get update: the same sources file and options in a folder of its own. */
async function plainUpdate(dir: string, spec: IndexSpec): Promise<number> {
  const p = aptPaths(dir, spec.key);
  await writeAptConfig(p, spec);
  const t0 = performance.now();
  const r = await execa("apt-get", ["update", ...aptOptions(p, spec.architecture)], { env: { APT_CONFIG: p.config, LC_ALL: "C.UTF-8" }, reject: false });
  const took = ms(t0);
  if (r.exitCode !== 0) throw new Error(`plain apt-get update failed: ${r.stderr}`);
  return took;
}

const cleanup = new Cleanup();

await runMain(cleanup, async () => {
  const doc = findPreset("immutable-debian-12")!.build(hostFacts());
  const r = indexSpec(doc);
  if (!r.ok) throw new Error(`the Debian preset has no index on this machine: ${r.reason}`);
  const spec = r.spec;
  const dataDir = args.data ?? (await mkdtemp(join(tmpdir(), "bench-packages-")));
  if (!args.data) cleanup.add("data folder", () => rm(dataDir, { recursive: true, force: true }));
  await mkdir(dataDir, { recursive: true });
  const db = openDatabase(join(dataDir, "image-studio.sqlite"));
  cleanup.add("database", () => void db.$client.close());
  const queue = buildQueue(db, { dataDir, concurrency: 1, mkosi: ["/bin/false"] });
  cleanup.add("queue", () => closeBuildQueue(db));
  const indexes = packageIndexes(queue);
  const api = createCaller({ db, host: hostFacts });

  printMachine({ apt: (await execa("apt-get", ["--version"])).stdout.split("\n")[0]!, sources: spec.sources.map((s) => `${s.uri} ${s.suites.join(",")} ${s.components.join(",")}`).join("; ") });
  console.log();

  // The index, fetched if this data folder has none yet (not timed).
  const first = await indexes.refresh(spec);
  if (!first.available) throw new Error(`the index could not be fetched: ${first.error}`);
  console.log(`Index ${spec.key}: ${first.packageCount} packages${first.error ? ` (last refresh: ${first.error})` : ""}`);

  // --- search -------------------------------------------------------------------------------
  const index = openIndex(aptPaths(dataDir, spec.key).index);
  const names = index.prepare("SELECT name FROM packages WHERE candidate = 1 ORDER BY name").pluck().all() as string[];
  index.close();
  const rand = rng(SEED);
  const prefixes = Array.from({ length: PREFIXES }, () => {
    const n = names[Math.floor(rand() * names.length)]!;
    return n.slice(0, 1 + Math.floor(rand() * Math.min(8, n.length)));
  });
  // Named for this run, and deleted after it: a --data folder is used again by the next run.
  const scope = { profileId: (await api.profiles.create({ name: `bench ${process.pid}`, presetId: "immutable-debian-12" })).id };
  cleanup.add("profile", async () => void (await api.profiles.delete({ id: scope.profileId })));
  for (const q of prefixes.slice(0, 50)) await api.packages.search({ ...scope, q }); // warm-up (statements, names in memory)
  await waitForQuiet(QUIET);
  const cpu = cpuMeter();
  const times: number[] = [];
  const byLength = new Map<number, number[]>();
  let hits = 0;
  for (const q of prefixes) {
    const t0 = performance.now();
    const res = await api.packages.search({ ...scope, q });
    const t = ms(t0);
    times.push(t);
    hits += res.hits.length;
    byLength.set(q.length, [...(byLength.get(q.length) ?? []), t]);
  }
  const searchCpu = cpu();
  console.log(`\nSearch: ${PREFIXES} random prefixes (1-8 letters of random package names, seed ${SEED}), ${fixed(hits / PREFIXES, 1)} hits each on average (limit 20)`);
  console.log(
    table(
      ["prefix letters", "queries", "median ms", "p99 ms", "max ms"],
      [...[...byLength].sort((a, b) => a[0] - b[0]).map(([l, t]) => [l, t.length, fixed(median(t), 2), fixed(percentile(t, 99), 2), fixed(Math.max(...t), 2)]),
        ["all", times.length, fixed(median(times), 2), fixed(percentile(times, 99), 2), fixed(Math.max(...times), 2)]],
    ),
  );
  const p99 = percentile(times, 99);
  console.log(`Target p99 < 50 ms: ${p99 < 50 ? "met" : "NOT met"} (p99 ${fixed(p99, 2)} ms). CPU: this process ${fixed(searchCpu.ours, 2)} cores, others ${fixed(searchCpu.others, 2)} cores.`);

  // --- refresh ------------------------------------------------------------------------------
  const plainDir = await mkdtemp(join(tmpdir(), "bench-packages-plain-"));
  cleanup.add("plain apt folder", () => rm(plainDir, { recursive: true, force: true }));
  await plainUpdate(plainDir, spec); // its lists, so its warm runs are warm too
  const rows: (string | number)[][] = [];
  /** Times both sides `runs` times, alternating which goes first, each pair on a quiet machine. */
  const alternate = async (kind: string, runs: number, ours: (i: number) => Promise<number>, plain: () => Promise<number>) => {
    const got = { ours: [] as number[], plain: [] as number[] };
    for (let i = 0; i < runs; i++) {
      await waitForQuiet(QUIET);
      const order = i % 2 === 0 ? (["ours", "plain"] as const) : (["plain", "ours"] as const);
      for (const side of order) got[side].push(await (side === "ours" ? ours(i) : plain()));
      const [o, p] = [got.ours[i]!, got.plain[i]!];
      rows.push([kind, i + 1, order[0], fixed(o / 1000, 2), fixed(p / 1000, 2), fixed(o / p, 2)]);
    }
    return got;
  };
  const timedRefresh = async (q = indexes) => {
    const t0 = performance.now();
    const s = await q.refresh(spec);
    const t = ms(t0);
    if (!s.available || s.error) throw new Error(`refresh failed: ${s.error}`);
    return t;
  };
  const warm = await alternate("warm", RUNS, () => timedRefresh(), () => plainUpdate(plainDir, spec));
  // A changed list, as after a point release: the big list is taken from both sides' lists
  // (not timed), so apt downloads it again (9 MB), and the refresh writes the index again as
  // it comes.
  const bigOf = async (dir: string) => (await listFiles(aptPaths(dir, spec.key), spec)).sort((a, b) => b.size - a.size)[0]!;
  const big = await bigOf(dataDir);
  const changed = await alternate(
    "changed list",
    RUNS,
    async () => {
      await rm((await bigOf(dataDir)).path);
      return timedRefresh();
    },
    async () => {
      await rm((await bigOf(plainDir)).path);
      return plainUpdate(plainDir, spec);
    },
  );
  /** A run from nothing, in a folder of its own that is removed after it. */
  const fresh = async (side: string, run: (dir: string) => Promise<number>) => {
    const dir = await mkdtemp(join(tmpdir(), `bench-packages-cold-${side}-`));
    try {
      return await run(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const cold = !args.cold
    ? { ours: [], plain: [] }
    : await alternate(
        "cold",
        COLD_RUNS,
        () =>
          fresh("ours", async (dir) => {
            const cdb = openDatabase(join(dir, "image-studio.sqlite"));
            const q = buildQueue(cdb, { dataDir: dir, concurrency: 1, mkosi: ["/bin/false"] });
            try {
              return await timedRefresh(packageIndexes(q));
            } finally {
              await closeBuildQueue(cdb);
              cdb.$client.close();
            }
          }),
        () => fresh("plain", (dir) => plainUpdate(dir, spec)),
      );
  console.log(`\nRefresh: the index's refresh (apt-get update; from nothing, the index file written as apt writes the lists; after that, the changed lists read again) against plain apt-get update, same sources and options`);
  console.log(table(["kind", "run", "first", "index refresh s", "plain apt-get update s", "ratio"], rows));
  const ratio = (x: { ours: number[]; plain: number[] }) => median(x.ours) / median(x.plain);
  console.log(`Warm (lists there, as a daily refresh finds them): median ${fixed(median(warm.ours) / 1000, 2)} s against ${fixed(median(warm.plain) / 1000, 2)} s, ratio ${fixed(ratio(warm), 3)}; target <= 1.1: ${ratio(warm) <= 1.1 ? "met" : "NOT met"}`);
  console.log(`Changed list (the ${(big.size / 1e6).toFixed(0)} MB list downloaded again, the index written again as it comes, as after a point release): median ${fixed(median(changed.ours) / 1000, 2)} s against ${fixed(median(changed.plain) / 1000, 2)} s, ratio ${fixed(ratio(changed), 3)}`);
  if (args.cold)
    console.log(`Cold (from nothing: the 9 MB list fetched, the index written as it comes): median ${fixed(median(cold.ours) / 1000, 2)} s against ${fixed(median(cold.plain) / 1000, 2)} s, ratio ${fixed(ratio(cold), 3)}; target <= 1.1: ${ratio(cold) <= 1.1 ? "met" : "NOT met"}`);
  console.log(`\nRerun: ${RERUN}`);
});
