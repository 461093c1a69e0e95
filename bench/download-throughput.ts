// Download throughput of a large artifact through the artifact download route (its GET handler
// under node:http on loopback, read by curl into /dev/null) against `cat file > /dev/null` on
// the same file, alternating, in the same run, both from the page cache (one untimed read
// first), or with --cold both from disk (the file's pages dropped before each read with
// `dd iflag=nocache`, which touches only this file's cache). Target (issue 4): the route gives
// at least 80% of cat's rate.
//
//   npx tsx bench/download-throughput.ts [--size-mib 1024] [--runs 3] [--cold]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open as openFile } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup, fixed, median, printMachine, rerunCommand, runMain, table } from "./lib/common";

const { values: args } = parseArgs({ options: { "size-mib": { type: "string", default: "1024" }, runs: { type: "string", default: "3" }, cold: { type: "boolean", default: false } } });
const COLD = args.cold;
const SIZE_MIB = Number(args["size-mib"]);
const RUNS = Number(args.runs);
if (!Number.isInteger(SIZE_MIB) || SIZE_MIB < 16 || !Number.isInteger(RUNS) || RUNS < 1) {
  console.error("usage: npx tsx bench/download-throughput.ts [--size-mib N (>= 16, default 1024)] [--runs N (default 3)]");
  process.exit(2);
}

/** Runs a command with stdout into /dev/null; returns seconds. */
function timed(cmd: string, argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    openFile("/dev/null", "w", (err, fd) => {
      if (err) return reject(err);
      const t0 = process.hrtime.bigint();
      const p = spawn(cmd, argv, { stdio: ["ignore", fd, "inherit"] });
      p.on("error", reject);
      p.on("close", (code) => {
        if (code !== 0) reject(new Error(`${cmd} exited with ${code}`));
        else resolve(Number(process.hrtime.bigint() - t0) / 1e9);
      });
    });
  });
}

const cleanup = new Cleanup();
await runMain(cleanup, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-download-"));
  cleanup.add("remove the data folder", () => rm(dataDir, { recursive: true, force: true }));
  process.env.IMAGE_STUDIO_DATA = dataDir;
  const { getDb } = await import("@/server/db/client");
  const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
  const route = await import("@/app/api/builds/[id]/artifacts/[...path]/route");
  const { fakeBuild, serveRoute } = await import("../test/integration/artifacts-helpers");
  const db = getDb();
  buildQueue(db, { dataDir, mkosi: ["false"] });
  cleanup.add("close the database", async () => {
    await closeBuildQueue(db);
    db.$client.close();
  });
  const build = await fakeBuild(db, dataDir, "succeeded");
  const file = join(build.paths.output, "big.raw");
  // Random-ish: a random 16 MiB block, its first bytes changed per copy (nothing to dedupe).
  const block = randomBytes(16 * 1024 * 1024);
  const fh = await open(file, "w");
  for (let i = 0; i < SIZE_MIB / 16; i++) {
    block.writeUInt32LE(i, 0);
    await fh.write(block);
  }
  await fh.close();
  const server = await serveRoute(route);
  cleanup.add("stop the server", server.close);
  const url = `${server.url}/api/builds/${build.id}/artifacts/big.raw`;
  await timed("cat", [file]); // into the page cache, untimed

  const rows: (string | number)[][] = [];
  const cat: number[] = [];
  const http: number[] = [];
  const drop = () => (COLD ? timed("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]) : Promise.resolve(0));
  for (let i = 0; i < RUNS; i++) {
    await drop();
    const c = await timed("cat", [file]);
    await drop();
    const h = await timed("curl", ["-sS", "-f", "-o", "/dev/null", url]);
    cat.push(SIZE_MIB / c);
    http.push(SIZE_MIB / h);
    rows.push([i + 1, fixed(SIZE_MIB / c, 0), fixed(SIZE_MIB / h, 0), fixed(c / h * 100, 1)]);
  }
  printMachine({ curl: "curl into /dev/null", file: `${SIZE_MIB} MiB, ${COLD ? "read from disk (cache dropped before each read)" : "page cache"}` });
  console.log();
  console.log(table(["run", "cat MiB/s", "route MiB/s", "route/cat %"], rows));
  const ratio = median(http) / median(cat);
  console.log(`\nmedian: cat ${fixed(median(cat), 0)} MiB/s, route ${fixed(median(http), 0)} MiB/s: ${fixed(ratio * 100, 1)}% of cat (target >= 80%): ${ratio >= 0.8 ? "met" : "NOT met"}`);
  console.log(`rerun: ${rerunCommand("bench/download-throughput.ts", { "size-mib": SIZE_MIB, runs: RUNS, cold: COLD })}`);
});
