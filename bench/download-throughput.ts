// Download throughput of a large artifact through the artifact download route, served by the
// production server (the bundled server.ts from .next, as start.sh runs it), read by curl over loopback into /dev/null, against
// `cat file > /dev/null` on the same file, in the same run, alternating, both from the page
// cache (one untimed read first), or with --cold both from disk (the file's pages dropped before
// each read with `dd iflag=nocache`, which touches only this file's cache). Target: the
// route gives at least 80% of cat's rate.
//
// A third column, "sendfile reference", is the same file sent by a few lines of Python with
// sendfile(2) (no user-space copy on the sending side) to the same curl: another server over
// the same loopback and client, for scale (here it is no ceiling: the route beat it from the page
// cache). A fourth, "cat|cat", hands the file from one cat to another through a pipe: about the
// fewest copies any pair of processes can make, so it shows what a server and a client can reach
// against a lone cat (whose copy into /dev/null costs nothing).
//
//   npm run build && npx tsx bench/download-throughput.ts [--size-mib 1024] [--runs 5] [--cold] [--quiet-wait-min 3]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open as openFile, readFileSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cleanup, cpuMeter, fixed, median, printMachine, rerunCommand, runMain, table, waitForQuiet } from "./lib/common";
import { startNextServer } from "./lib/server";

const { values: args } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "5" },
    cold: { type: "boolean", default: false },
    "quiet-wait-min": { type: "string", default: "3" },
  },
});
const COLD = args.cold;
const SIZE_MIB = Number(args["size-mib"]);
const RUNS = Number(args.runs);
const QUIET_MIN = Number(args["quiet-wait-min"]);
if (!Number.isInteger(SIZE_MIB) || SIZE_MIB < 16 || !Number.isInteger(RUNS) || RUNS < 1 || !(QUIET_MIN >= 0)) {
  console.error("usage: npx tsx bench/download-throughput.ts [--size-mib N (>= 16, default 1024)] [--runs N (default 5)] [--cold] [--quiet-wait-min M (default 3)]");
  process.exit(2);
}
const SIZE = SIZE_MIB * 1024 * 1024;

/** An HTTP/1.1 server for one file that sends it with socket.sendfile (sendfile(2)); prints its port. */
const SENDFILE_SERVER = `
import os, socket, sys
path = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    with c:
        req = b""
        while b"\\r\\n\\r\\n" not in req:
            more = c.recv(65536)
            if not more:
                break
            req += more
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/octet-stream\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % size)
            c.sendfile(f)
`;

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

/**
 * `cat file | cat > /dev/null`, without a shell: the plainest hand-over of the file from one
 * process to another, the floor of copies any server and client pair pays. Returns seconds.
 */
function timedPipe(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    openFile("/dev/null", "w", (err, fd) => {
      if (err) return reject(err);
      const t0 = process.hrtime.bigint();
      const reader = spawn("cat", [file], { stdio: ["ignore", "pipe", "inherit"] });
      const writer = spawn("cat", [], { stdio: [reader.stdout, fd, "inherit"] });
      // The writer has its own copy of the pipe: ours would take bytes from it, and keep the
      // reader's 'close' from coming.
      reader.stdout.destroy();
      let left = 2;
      for (const p of [reader, writer]) {
        p.on("error", reject);
        p.on("close", (code) => {
          if (code !== 0) reject(new Error(`cat exited with ${code}`));
          else if (--left === 0) resolve(Number(process.hrtime.bigint() - t0) / 1e9);
        });
      }
    });
  });
}

/** curl into /dev/null; fails unless exactly SIZE bytes arrived. Returns seconds. */
async function download(url: string, headers: string[] = []): Promise<number> {
  const t0 = process.hrtime.bigint();
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn("curl", ["-sS", "-f", ...headers, "-o", "/dev/null", "-w", "%{size_download}", url], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    p.stdout.on("data", (d: Buffer) => (text += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`curl ${url} exited with ${code}`))));
  });
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  if (Number(out) !== SIZE) throw new Error(`${url}: ${out} bytes arrived, ${SIZE} expected`);
  return t;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

const cleanup = new Cleanup();
await runMain(cleanup, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-download-"));
  cleanup.add("remove the data folder", () => rm(dataDir, { recursive: true, force: true }));
  // The build row is written here; the server opens the same SQLite file.
  process.env.IMAGE_STUDIO_DATA = dataDir;
  const { getDb } = await import("@/server/db/client");
  const { fakeBuild } = await import("../test/integration/artifacts-helpers");
  const db = getDb();
  const build = await fakeBuild(db, dataDir, "succeeded");
  db.$client.close();
  const file = join(build.paths.output, "big.raw");
  // Random-ish: a random 16 MiB block, its first bytes changed per copy (nothing to dedupe).
  const block = randomBytes(16 * 1024 * 1024);
  const fh = await open(file, "w");
  for (let i = 0; i < SIZE_MIB / 16; i++) {
    block.writeUInt32LE(i, 0);
    await fh.write(block);
  }
  if (SIZE_MIB % 16) await fh.write(block, 0, (SIZE_MIB % 16) * 1024 * 1024);
  // Written back, so --cold can drop its pages (dirty ones stay cached).
  await fh.sync();
  await fh.close();

  const server = await startNextServer({ dataDir });
  cleanup.add("stop the server", server.stop);
  const url = `${server.url}/api/builds/${build.id}/artifacts/big.raw`;
  const auth = ["-H", `Authorization: Bearer ${server.token}`];

  // A reference: the same file sent with sendfile(2) by a few lines of Python, no copy through
  // user space on the sending side.
  const ref = spawn("python3", ["-c", SENDFILE_SERVER, file], { stdio: ["ignore", "pipe", "inherit"] });
  cleanup.add("stop the reference server", async () => void ref.kill());
  const refPort = await new Promise<string>((resolve, reject) => {
    ref.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
    ref.once("exit", (code) => reject(new Error(`the reference server exited with ${code}`)));
  });
  const refUrl = `http://127.0.0.1:${refPort}/`;
  // Untimed: the file into the page cache, and each path once (JIT, Next's route module loaded).
  await timed("cat", [file]);
  await download(url, auth);
  await download(refUrl);
  await waitForQuiet(QUIET_MIN, 0.2, (t) => console.error(t));

  const drop = () => (COLD ? timed("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]).then(() => undefined) : Promise.resolve());
  const rows: (string | number)[][] = [];
  const cat: number[] = [];
  const http: number[] = [];
  const refRate: number[] = [];
  const pipeRate: number[] = [];
  const serverCpu: number[] = [];
  const others: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const meter = cpuMeter();
    let c = 0;
    let h = 0;
    let r = 0;
    let p = 0;
    let cpu = 0;
    // Rotating the order, so a slower stretch of the machine does not always hit the same one.
    const steps = [
      async () => {
        await drop();
        c = await timed("cat", [file]);
      },
      async () => {
        await drop();
        const cpu0 = cpuSeconds(server.pid);
        h = await download(url, auth);
        cpu = cpuSeconds(server.pid) - cpu0;
      },
      async () => {
        await drop();
        r = await download(refUrl);
      },
      async () => {
        await drop();
        p = await timedPipe(file);
      },
    ];
    for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
    const o = meter().others;
    cat.push(SIZE_MIB / c);
    http.push(SIZE_MIB / h);
    refRate.push(SIZE_MIB / r);
    pipeRate.push(SIZE_MIB / p);
    serverCpu.push(cpu);
    others.push(o);
    rows.push([i + 1, fixed(SIZE_MIB / c, 0), fixed(SIZE_MIB / h, 0), fixed((c / h) * 100, 1), fixed(SIZE_MIB / r, 0), fixed((c / r) * 100, 1), fixed(SIZE_MIB / p, 0), fixed((c / p) * 100, 1), fixed(cpu / (SIZE_MIB / 1024), 2), fixed(o, 2)]);
  }
  printMachine({ client: "curl into /dev/null over 127.0.0.1", server: "the production server (npm run build, as start.sh runs it)", file: `${SIZE_MIB} MiB, ${COLD ? "read from disk (cache dropped before each read)" : "page cache"}` });
  console.log();
  console.log(
    table(["run", "cat MiB/s", "route MiB/s", "route/cat %", "sendfile MiB/s", "sendfile/cat %", "cat|cat MiB/s", "cat|cat/cat %", "server CPU s/GiB", "other procs (cores)"], rows),
  );
  const ratio = median(http) / median(cat);
  console.log(
    `\nmedian: cat ${fixed(median(cat), 0)} MiB/s, route ${fixed(median(http), 0)} MiB/s: ${fixed(ratio * 100, 1)}% of cat (target >= 80%): ${ratio >= 0.8 ? "met" : "NOT met"}`,
  );
  console.log(
    `sendfile reference (same file, sendfile(2), no user-space copy): ${fixed(median(refRate), 0)} MiB/s, ${fixed((median(refRate) / median(cat)) * 100, 1)}% of cat; the route reaches ${fixed((median(http) / median(refRate)) * 100, 1)}% of it`,
  );
  console.log(
    `pipe reference (cat file | cat > /dev/null): ${fixed(median(pipeRate), 0)} MiB/s, ${fixed((median(pipeRate) / median(cat)) * 100, 1)}% of cat; the route reaches ${fixed((median(http) / median(pipeRate)) * 100, 1)}% of it`,
  );
  console.log(`server CPU per GiB sent: ${fixed(median(serverCpu) / (SIZE_MIB / 1024), 2)} s (median); other processes used ${fixed(median(others), 2)} cores meanwhile (median)`);
  console.log(`rerun: npm run build && ${rerunCommand("bench/download-throughput.ts", { "size-mib": SIZE_MIB, runs: RUNS, cold: COLD, "quiet-wait-min": QUIET_MIN })}`);
});
