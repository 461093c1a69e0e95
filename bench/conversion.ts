// A conversion through the dashboard against `qemu-img convert` run directly on the same image.
// Dashboard: the production server (the bundled server in .next, as start.sh runs it), POST artifacts.convert, then the
// job's end as the UI learns it (the artifacts.conversionEvents stream, opened beforehand).
// Direct: the same qemu-img command line, writing to the same file system. Both read the image
// from the page cache (read again before each side), each after a `sync`, alternating which
// goes first; the result's checksum that the server computes after a job is awaited outside
// the timings. Target: median dashboard/direct ratio at most 1.05.
//
// The data folder (image, results, the server's SQLite file) is on tmpfs (/dev/shm) unless
// --on-disk, so write-back of earlier results does not land in a timing.
//
//   npm run build && npx tsx bench/conversion.ts [--image PATH.raw] [--format qcow2|vdi|vmdk] [--runs 8] [--disk-mib 4096] [--on-disk]
//
// Without --image, a disk like the builds make is assembled: a sparse GPT disk with an ESP
// (vfat holding an incompressible 120 MiB "UKI") and a squashfs root made from a folder of
// random and text files, about 40% of it data.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup, cpuMeter, fixed, median, printMachine, rerunCommand, runMain, table, waitForQuiet } from "./lib/common";
import { ROOT_X86_64_TYPE } from "@/server/artifacts/partitions";
import { CONVERSION_STATES } from "@/server/db/schema";
import { startNextServer } from "./lib/server";

const { values: args } = parseArgs({
  options: {
    image: { type: "string" },
    format: { type: "string", default: "qcow2" },
    runs: { type: "string", default: "8" },
    "disk-mib": { type: "string", default: "4096" },
    "on-disk": { type: "boolean", default: false },
    "quiet-wait-min": { type: "string", default: "3" },
  },
});
const RUNS = Number(args.runs);
const FORMAT = args.format as "qcow2" | "vdi" | "vmdk";
const DISK_MIB = Number(args["disk-mib"]);
const QUIET_MIN = Number(args["quiet-wait-min"]);
if (!["qcow2", "vdi", "vmdk"].includes(FORMAT) || !Number.isInteger(RUNS) || RUNS < 1 || !Number.isInteger(DISK_MIB) || DISK_MIB < 512 || !(QUIET_MIN >= 0)) {
  console.error("usage: npx tsx bench/conversion.ts [--image PATH.raw] [--format qcow2|vdi|vmdk] [--runs N] [--disk-mib N (>= 512)] [--on-disk] [--quiet-wait-min M]");
  process.exit(2);
}

function run(cmd: string, argv: string[], opts: { input?: string; discard?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "inherit"] });
    let out = "";
    p.stdout!.on("data", (d: Buffer) => {
      if (!opts.discard) out += d.toString();
    });
    if (opts.input !== undefined) p.stdin!.end(opts.input);
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${argv.join(" ")} exited with ${code}`))));
  });
}

const MiB = 1024 * 1024;

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A GPT disk image like a build's: ESP with a UKI-sized blob, squashfs root, free space left sparse. */
async function makeDisk(path: string, work: string): Promise<void> {
  const espMiB = 256;
  const rootMiB = DISK_MIB - espMiB - 2;
  // The ESP: vfat with an incompressible file the size of a UKI (kernel plus compressed initrd).
  const esp = join(work, "esp.img");
  await run("mkfs.vfat", ["-n", "ESP", "-C", esp, String(espMiB * 1024)]);
  await writeFile(join(work, "uki.efi"), randomBytes(120 * MiB));
  await run("mmd", ["-i", esp, "::/EFI", "::/EFI/Linux"]);
  await run("mcopy", ["-i", esp, join(work, "uki.efi"), "::/EFI/Linux/uki.efi"]);
  await rm(join(work, "uki.efi"));
  // The root: binaries and packed data (random) plus text (compresses well), in squashfs.
  const tree = join(work, "root");
  await mkdir(join(tree, "usr", "lib"), { recursive: true });
  await mkdir(join(tree, "usr", "share", "doc"), { recursive: true });
  const randomMiB = Math.round(rootMiB * 0.4);
  for (let i = 0; i < randomMiB / 8; i++) await writeFile(join(tree, "usr", "lib", `lib${i}.so`), randomBytes(8 * MiB));
  const line = (i: number) => `${i.toString(16).padStart(8, "0")} the quick brown fox jumps over the lazy dog ${(i * 2654435761) % 1000003}\n`;
  for (let f = 0; f < 32; f++) {
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) lines.push(line(f * 60_000 + i));
    await writeFile(join(tree, "usr", "share", "doc", `doc${f}.txt`), lines.join(""));
  }
  const root = join(work, "root.sqfs");
  await run("mksquashfs", [tree, root, "-noappend", "-quiet", "-no-progress"], { discard: true });
  await rm(tree, { recursive: true });
  const rootBytes = (await stat(root)).size;
  if (rootBytes > rootMiB * MiB) throw new Error(`the root (${rootBytes} bytes) does not fit ${rootMiB} MiB`);
  await run("truncate", ["-s", `${DISK_MIB}M`, path]);
  const script = [
    "label: gpt",
    `start=2048, size=${espMiB * 2048}, type=c12a7328-f81f-11d2-ba4b-00a0c93ec93b, name="esp"`,
    `start=${(1 + espMiB) * 2048}, size=${rootMiB * 2048}, type=${ROOT_X86_64_TYPE}, name="root"`,
  ].join("\n");
  await run("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", path], { input: `${script}\n` });
  for (const [img, startMiB] of [[esp, 1], [root, 1 + espMiB]] as const)
    await run("dd", [`if=${img}`, `of=${path}`, "bs=1M", `seek=${startMiB}`, "conv=notrunc,sparse", "status=none"]);
  await rm(esp);
  await rm(root);
}

interface Job {
  id: number;
  state: string;
  target: string;
  error: string | null;
}

/** Every state but "running" is an end. */
const FINAL = new Set<string>(CONVERSION_STATES.filter((s) => s !== "running"));

const cleanup = new Cleanup();
await runMain(cleanup, async () => {
  const dataDir = await mkdtemp(join(args["on-disk"] ? tmpdir() : "/dev/shm", "bench-conversion-"));
  cleanup.add("remove the data folder", () => rm(dataDir, { recursive: true, force: true }));
  // The build row is written here; the server opens the same SQLite file.
  process.env.IMAGE_STUDIO_DATA = dataDir;
  const { getDb } = await import("@/server/db/client");
  const { conversionCommand, conversionTarget } = await import("@/server/artifacts/conversions");
  const { fakeBuild } = await import("../test/integration/artifacts-helpers");
  const db = getDb();
  const build = await fakeBuild(db, dataDir, "succeeded");
  db.$client.close();
  const name = "image.raw";
  const image = join(build.paths.output, name);
  if (args.image) await run("cp", ["--sparse=always", args.image, image]);
  else {
    const work = join(dataDir, "work");
    await mkdir(work);
    console.error("making the disk image…");
    await makeDisk(image, work);
    await rm(work, { recursive: true });
  }
  const target = join(build.paths.output, conversionTarget(name, FORMAT));
  const direct = join(dataDir, `direct.${FORMAT}`);

  const server = await startNextServer({ dataDir });
  cleanup.add("stop the server", server.stop);

  // Before each side: the image into the page cache (both read it from memory, even if the
  // kernel dropped some of it meanwhile), and earlier writes on disk.
  const prepare = async () => {
    await run("cat", [image], { discard: true });
    await run("sync", []);
  };

  const timeDirect = async () => {
    const argv = conversionCommand(FORMAT, image, direct);
    await prepare();
    const t0 = process.hrtime.bigint();
    await run(argv[0]!, argv.slice(1), { discard: true });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const timeDashboard = async () => {
    await prepare();
    // The job's events, as the conversions panel gets them; opened (and connected) first.
    const abort = new AbortController();
    const events = server.api.subscribe("artifacts.conversionEvents", { buildId: build.id }, abort.signal);
    const seen = new Map<number, Job>();
    let wake: (() => void) | undefined;
    const first = await events.next();
    if (first.done || first.value.event !== "connected") throw new Error("artifacts.conversionEvents: no connected event");
    const reading = (async () => {
      for await (const e of events) {
        if (e.event) continue;
        const j = JSON.parse(e.data) as Job;
        seen.set(j.id, j);
        wake?.();
      }
    })().catch((err: unknown) => (abort.signal.aborted ? undefined : Promise.reject(err)));
    const cpu0 = cpuSeconds(server.pid);
    const t0 = process.hrtime.bigint();
    const job = await server.api.mutation<Job>("artifacts.convert", { buildId: build.id, name, format: FORMAT });
    const tPost = process.hrtime.bigint();
    for (;;) {
      const j = seen.get(job.id);
      if (j && FINAL.has(j.state)) {
        if (j.state !== "succeeded") throw new Error(`conversion ${j.state}: ${j.error}`);
        break;
      }
      await new Promise<void>((r) => (wake = r));
    }
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    // The server's own work for the job (its own CPU time: qemu-img's is not in it).
    const cpu = cpuSeconds(server.pid) - cpu0;
    abort.abort();
    await reading;
    // Outside the timing: the checksum the server computes after each job, then the file goes,
    // so the next request converts again instead of reusing it.
    await server.api.mutation("artifacts.hash", { buildId: build.id });
    return { t, post: Number(tPost - t0) / 1e9, cpu };
  };

  // Warm-up, untimed; the two results must hold the same disk.
  await timeDirect();
  await timeDashboard();
  await run("qemu-img", ["compare", "-q", "-f", FORMAT, "-F", FORMAT, direct, target]);
  await rm(direct);
  await rm(target);
  await waitForQuiet(QUIET_MIN, 0.2, (t) => console.error(t));

  const rows: (string | number)[][] = [];
  const d: number[] = [];
  const s: number[] = [];
  const others: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const meter = cpuMeter();
    // Alternating which goes first; each result removed before the other side runs. Kept
    // until the pair's end, the first result made the second side run 3x slower, even on tmpfs
    // (here a VM: memory the guest has not touched lately is slow to get).
    let dt = 0;
    let st = { t: 0, post: 0, cpu: 0 };
    const sides = [
      async () => {
        dt = await timeDirect();
        await rm(direct);
      },
      async () => {
        st = await timeDashboard();
        await rm(target);
      },
    ];
    for (const side of i % 2 === 0 ? sides : sides.reverse()) await side();
    const o = meter().others;
    d.push(dt);
    s.push(st.t);
    others.push(o);
    rows.push([i + 1, fixed(dt, 3), fixed(st.t, 3), fixed(st.t / dt, 3), fixed(st.post * 1000, 1), fixed(st.cpu * 1000, 0), fixed(o, 2)]);
  }
  const size = await stat(image);
  printMachine({
    "qemu-img": (await run("qemu-img", ["--version"])).split("\n")[0] ?? "?",
    image: `${args.image ?? "generated (ESP + squashfs root)"}: ${(size.size / MiB).toFixed(0)} MiB apparent, ${((size.blocks * 512) / MiB).toFixed(0)} MiB on disk`,
    format: FORMAT,
    "data folder": `${dataDir} (${args["on-disk"] ? "on disk" : "tmpfs"})`,
    server: "the production server (npm run build, as start.sh runs it); job end seen on artifacts.conversionEvents",
  });
  console.log();
  console.log(table(["run", "direct s", "dashboard s", "ratio", "convert POST ms", "server CPU ms", "other procs (cores)"], rows));
  const ratio = median(s) / median(d);
  console.log(`\nmedian: direct ${fixed(median(d), 3)} s, dashboard ${fixed(median(s), 3)} s, ratio ${fixed(ratio, 3)} (target <= 1.05): ${ratio <= 1.05 ? "met" : "NOT met"}`);
  // Each run's pair ran back to back, so their ratio shares the machine's state of the moment.
  console.log(`median of the runs' own ratios: ${fixed(median(s.map((x, i) => x / d[i]!)), 3)}; dashboard - direct: ${fixed((median(s) - median(d)) * 1000, 0)} ms`);
  console.log(`other processes used ${fixed(median(others), 2)} cores meanwhile (median)`);
  console.log(
    `rerun: npm run build && ${rerunCommand("bench/conversion.ts", { ...(args.image ? { image: args.image } : { "disk-mib": DISK_MIB }), format: FORMAT, runs: RUNS, "on-disk": args["on-disk"], "quiet-wait-min": QUIET_MIN })}`,
  );
});
