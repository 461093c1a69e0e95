// Conversion through the dashboard's job module (artifacts conversions: qemu-img under the
// process registry, progress parsed and throttled, temporary name then rename) against
// `qemu-img convert` run directly on the same image, alternating, same options, both writing
// in the same file system, each after a sync, alternating which goes first. Target (issue 4): dashboard/direct median ratio at most 1.05.
//
//   npx tsx bench/conversion.ts [--image PATH.raw] [--format qcow2|vdi|vmdk] [--runs 5]
// Without --image: a 2 GiB sparse GPT image with 512 MiB of random data is made.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, constants, mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup, fixed, median, printMachine, rerunCommand, runMain, table } from "./lib/common";

const { values: args } = parseArgs({ options: { image: { type: "string" }, format: { type: "string", default: "qcow2" }, runs: { type: "string", default: "5" } } });
const RUNS = Number(args.runs);
const FORMAT = args.format as "qcow2" | "vdi" | "vmdk";
if (!["qcow2", "vdi", "vmdk"].includes(FORMAT) || !Number.isInteger(RUNS) || RUNS < 1) {
  console.error("usage: npx tsx bench/conversion.ts [--image PATH.raw] [--format qcow2|vdi|vmdk] [--runs N]");
  process.exit(2);
}

function run(cmd: string, argv: string[], input?: string, discard = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "inherit"] });
    let out = "";
    p.stdout?.on("data", (d: Buffer) => {
      if (!discard) out += d.toString();
    });
    if (input !== undefined) p.stdin!.end(input);
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

const cleanup = new Cleanup();
await runMain(cleanup, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-conversion-"));
  cleanup.add("remove the data folder", () => rm(dataDir, { recursive: true, force: true }));
  process.env.IMAGE_STUDIO_DATA = dataDir;
  const { getDb } = await import("@/server/db/client");
  const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
  const { conversions, conversionCommand, conversionTarget, closeConversions } = await import("@/server/artifacts/conversions");
  const { hasher } = await import("@/server/artifacts/hashes");
  const { fakeBuild } = await import("../test/integration/artifacts-helpers");
  const db = getDb();
  const queue = buildQueue(db, { dataDir, mkosi: ["false"] });
  cleanup.add("close the database", async () => {
    await closeConversions(queue);
    await closeBuildQueue(db);
    db.$client.close();
  });
  const build = await fakeBuild(db, dataDir, "succeeded");
  const name = "image.raw";
  const image = join(build.paths.output, name);
  if (args.image) await copyFile(args.image, image, constants.COPYFILE_FICLONE);
  else {
    await run("truncate", ["-s", "2G", image]);
    await run("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", image], "label: gpt\nstart=2048, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709\n");
    const fh = await open(image, "r+");
    for (let i = 0; i < 32; i++) await fh.write(randomBytes(16 << 20), 0, 16 << 20, (i + 1) * (48 << 20));
    await fh.close();
  }
  await run("cat", [image], undefined, true); // page cache: both sides read it from memory
  const target = join(build.paths.output, conversionTarget(name, FORMAT));
  const direct = join(dataDir, `direct.${FORMAT}`);
  const m = conversions(queue);
  const rows: (string | number)[][] = [];
  const d: number[] = [];
  const s: number[] = [];
  const timeDirect = async () => {
    const argv = conversionCommand(FORMAT, image, direct);
    await run("sync", []);
    const t0 = process.hrtime.bigint();
    await run(argv[0]!, argv.slice(1), undefined, true);
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    await rm(direct);
    return t;
  };
  const timeDashboard = async () => {
    await run("sync", []);
    const t0 = process.hrtime.bigint();
    const job = await m.convert(build.id, name, FORMAT);
    const done = await m.wait(job.id);
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    if (done.state !== "succeeded") throw new Error(`conversion ${done.state}: ${done.error}`);
    // Its checksum is computed after it ends: let that finish outside the timings.
    await hasher().request({ buildDir: build.paths.dir, file: target, name: done.target });
    await rm(target);
    return t;
  };
  await timeDirect(); // warm-up of both, untimed
  await timeDashboard();
  for (let i = 0; i < RUNS; i++) {
    // Alternating which goes first, so writeback of the previous output hits both alike.
    let dt: number;
    let st: number;
    if (i % 2 === 0) {
      dt = await timeDirect();
      st = await timeDashboard();
    } else {
      st = await timeDashboard();
      dt = await timeDirect();
    }
    d.push(dt);
    s.push(st);
    rows.push([i + 1, fixed(dt, 3), fixed(st, 3), fixed(st / dt, 3)]);
  }
  const size = await stat(image);
  printMachine({ "qemu-img": (await run("qemu-img", ["--version"])).split("\n")[0] ?? "?", image: `${args.image ?? "generated"}: ${(size.size / 2 ** 20).toFixed(0)} MiB apparent, ${((size.blocks * 512) / 2 ** 20).toFixed(0)} MiB on disk`, format: FORMAT });
  console.log();
  console.log(table(["run", "direct s", "dashboard s", "ratio"], rows));
  const ratio = median(s) / median(d);
  console.log(`\nmedian: direct ${fixed(median(d), 3)} s, dashboard ${fixed(median(s), 3)} s, ratio ${fixed(ratio, 3)} (target <= 1.05): ${ratio <= 1.05 ? "met" : "NOT met"}`);
  console.log(`rerun: ${rerunCommand("bench/conversion.ts", { ...(args.image ? { image: args.image } : {}), format: FORMAT, runs: RUNS })}`);
});
