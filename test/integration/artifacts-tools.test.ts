// The artifacts API with real tools on a small GPT image the test makes (sfdisk, mkfs.vfat,
// mksquashfs, mkswap): listing and checksums, partition and UKI inspection, conversions checked
// with `qemu-img info` and `qemu-img compare`, compressed copies, reuse, cancel, bad input;
// the jobs' history across a server restart and a crash, and when a build's outputs go.
import { eq } from "drizzle-orm";
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure } from "@/test/support/errors";

const dataDir = await mkdtemp(join(tmpdir(), "artifacts-tools-"));
process.env.IMAGE_STUDIO_DATA = dataDir;

const { getDb, openDatabase } = await import("@/server/db/client");
const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
const { closeConversions, conversions, SERVER_STOPPED } = await import("@/server/artifacts/conversions");
const { conversionJobs } = await import("@/server/db/schema");
const { processesMentioning } = await import("@/server/builds/procs");
const { createCaller } = await import("@/server/routers");
const H = await import("./artifacts-helpers");
type ConversionJob = import("@/server/artifacts/conversions").ConversionJob;

const db = getDb();
const queue = buildQueue(db, { dataDir, concurrency: 1, mkosi: ["false"] });
const host = () => ({ osId: "debian", aptRepositories: [] });
const api = createCaller({ db, host });
const DISK = "img_1.raw";
const MiB = 1024 * 1024;

let build: Awaited<ReturnType<typeof H.fakeBuild>>;
let failed: Awaited<ReturnType<typeof H.fakeBuild>>;
let diskSha: string;

beforeAll(async () => {
  build = await H.fakeBuild(db, dataDir, "succeeded");
  failed = await H.fakeBuild(db, dataDir, "failed");
  const out = build.paths.output;
  await H.makeDiskImage(join(out, DISK));
  diskSha = await H.sha256(join(out, DISK));
  // A split partition image as mkosi writes it: the root partition's bytes.
  await execa("dd", [`if=${join(out, DISK)}`, `of=${join(out, "img_1.root-x86-64.raw")}`, "bs=1M", `skip=${H.LAYOUT.root.start / MiB}`, `count=${H.LAYOUT.root.size / MiB}`, "status=none"]);
  await writeFile(join(out, "img_1.esp.raw"), randomBytes(4096));
  await writeFile(join(out, "img_1.manifest"), JSON.stringify({ packages: [] }));
  await writeFile(
    join(out, "img_1.efi"),
    H.assemblePe([
      { name: ".text", data: Buffer.alloc(1000, 0x90) },
      { name: ".sbat", data: Buffer.from("sbat,1,SBAT Version,sbat,1,https://example.invalid/\n") },
      { name: ".osrel", data: Buffer.from('PRETTY_NAME="Test OS 1"\nID=testos\nIMAGE_VERSION=1\n') },
      { name: ".cmdline", data: Buffer.from("console=ttyS0 systemd.volatile=overlay\n") },
      { name: ".initrd", data: Buffer.alloc(5000, 1) },
      { name: ".linux", data: H.fakeBzImage("6.1.0-98-amd64 (test@example.invalid) #1 SMP") },
    ]),
  );
  const sums = [
    `${diskSha} *${DISK}`,
    `${await H.sha256(join(out, "img_1.root-x86-64.raw"))} *img_1.root-x86-64.raw`,
    `${await H.sha256(join(out, "img_1.esp.raw"))} *img_1.esp.raw`,
    `${"0".repeat(64)} *img_1.gone`,
  ];
  await writeFile(join(out, "img_1.SHA256SUMS"), `${sums.join("\n")}\n`);
  // Corrupted after the sums were written, on purpose.
  const fh = await open(join(out, "img_1.esp.raw"), "r+");
  await fh.write(Buffer.from([0xff, 0xfe]), 0, 2, 100);
  await fh.close();
  await symlink(DISK, join(out, "img_1"));
  await symlink("/etc/passwd", join(out, "planted"));
});

afterAll(async () => {
  await closeConversions(queue);
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});


/** Every update of the build's conversions until `job` ends; returns the updates of that job. */
async function follow(buildId: number, jobId: number): Promise<ConversionJob[]> {
  const controller = new AbortController();
  const seen: ConversionJob[] = [];
  for await (const j of await createCaller({ db, host }, { signal: controller.signal }).artifacts.conversionEvents({ buildId })) {
    if (j.id !== jobId) continue;
    seen.push(j);
    if (j.state !== "running") {
      controller.abort();
      break;
    }
  }
  return seen;
}

const partials = async () => (await readdir(build.paths.output)).filter((n) => n.endsWith(".partial"));

/** A 4 GiB sparse GPT disk with 256 MiB of random data: seconds of work for qemu-img or xz. */
async function bigImage(path: string): Promise<void> {
  await execa("truncate", ["-s", "4G", path]);
  await execa("sfdisk", ["--no-reread", "--no-tell-kernel", "-q", path], { input: `label: gpt\nstart=2048, type=${H.ROOT_TYPE}\n` });
  const fh = await open(path, "r+");
  for (let i = 0; i < 16; i++) await fh.write(randomBytes(16 * MiB), 0, 16 * MiB, (i + 1) * 200 * MiB);
  await fh.close();
}

/** What a server started anew on the same SQLite file sees: its own connection, queue and conversions. */
async function restarted<T>(fn: (c: ReturnType<typeof conversions>) => T | Promise<T>): Promise<T> {
  const db2 = openDatabase(join(dataDir, "image-studio.sqlite"));
  const q2 = buildQueue(db2, { dataDir, concurrency: 1, mkosi: ["false"] });
  try {
    const c = conversions(q2);
    await c.ready;
    return await fn(c);
  } finally {
    await closeConversions(q2);
    await closeBuildQueue(db2);
    db2.$client.close();
  }
}

describe("the artifact list", () => {
  it("lists every file with its kind, sizes and checksum state, links without following them out", async () => {
    const first = await api.artifacts.list({ buildId: build.id });
    expect(first.state).toBe("succeeded");
    expect(first.outputExists).toBe(true);
    expect(first.checksumFile).toBe("img_1.SHA256SUMS");
    const list = await api.artifacts.hash({ buildId: build.id });
    expect(list.hashing).toBe(false);
    const by = Object.fromEntries(list.files.map((f) => [f.name, f]));
    expect(Object.keys(by).sort()).toEqual(["img_1", "img_1.SHA256SUMS", "img_1.efi", "img_1.esp.raw", "img_1.manifest", "img_1.raw", "img_1.root-x86-64.raw", "planted"].sort());
    expect(by[DISK]).toMatchObject({ kind: "disk", kindLabel: "Disk image (raw, GPT)", apparentBytes: H.LAYOUT.size, sha256: diskSha, checksum: "verified", downloadUrl: `/api/builds/${build.id}/artifacts/img_1.raw` });
    expect(by[DISK]!.diskBytes).toBeLessThan(H.LAYOUT.size); // sparse
    expect(by["img_1.root-x86-64.raw"]).toMatchObject({ kind: "partition", kindLabel: "Root partition (x86-64)", fsType: "squashfs", checksum: "verified" });
    expect(by["img_1.esp.raw"]).toMatchObject({ kind: "partition", checksum: "mismatch" });
    expect(by["img_1.efi"]).toMatchObject({ kind: "uki", checksum: "not-listed" });
    expect(by["img_1.manifest"]).toMatchObject({ kind: "manifest", checksum: "not-listed" });
    expect(by["img_1"]).toMatchObject({ kind: "link", linkTarget: DISK, apparentBytes: 0 });
    expect(by["planted"]).toMatchObject({ kind: "link", linkTarget: null });
    expect(list.checksumMissing).toEqual(["img_1.gone"]);
    expect(list.totalApparentBytes).toBe(list.files.reduce((s, f) => s + f.apparentBytes, 0));
    // The sums are cached beside output/, not inside it.
    expect(existsSync(join(build.paths.dir, "artifact-hashes.json"))).toBe(true);
    const again = await api.artifacts.list({ buildId: build.id });
    expect(again.hashing).toBe(false);
    expect(again.files.find((f) => f.name === DISK)!.checksum).toBe("verified");
  });

  it("hashes a file again when it changes", async () => {
    const p = join(build.paths.output, "img_1.manifest");
    await writeFile(p, JSON.stringify({ packages: ["x"] }));
    const list = await api.artifacts.hash({ buildId: build.id });
    expect(list.files.find((f) => f.name === "img_1.manifest")!.sha256).toBe(await H.sha256(p));
  });

  it("answers NOT_FOUND for an unknown build", async () => {
    expect((await failure(api.artifacts.list({ buildId: 9999 }))).code).toBe("NOT_FOUND");
  });
});

describe("inspection", () => {
  it("reads the partition table and each partition's file system from the image", async () => {
    const r = await api.artifacts.inspect({ buildId: build.id, name: DISK });
    if (r.type !== "disk") throw new Error("expected a disk");
    expect(r.table).toMatchObject({ label: "gpt", sizeBytes: H.LAYOUT.size, sectorSize: 512 });
    const L = H.LAYOUT;
    expect(r.table.partitions.map((p) => [p.index, p.startBytes, p.sizeBytes, p.typeUuid, p.typeName, p.label, p.fsType])).toEqual([
      [1, L.esp.start, L.esp.size, H.ESP_TYPE, "EFI System", "esp", "vfat"],
      [2, L.root.start, L.root.size, H.ROOT_TYPE, "Linux root (x86-64)", "root", "squashfs"],
      [3, L.swap.start, L.swap.size, H.SWAP_TYPE, "Linux swap", "swap", "swap"],
    ]);
    // The same answer as blkid's own probing.
    const blkid = await execa("blkid", ["-p", "-O", String(L.root.start), "-o", "value", "-s", "TYPE", join(build.paths.output, DISK)]);
    expect(blkid.stdout.trim()).toBe("squashfs");
    // Through the link, too.
    expect((await api.artifacts.inspect({ buildId: build.id, name: "img_1" })).type).toBe("disk");
  });

  it("reads a UKI's sections, command line, os-release and kernel version", async () => {
    const r = await api.artifacts.inspect({ buildId: build.id, name: "img_1.efi" });
    if (r.type !== "uki") throw new Error("expected a UKI");
    expect(r.sections.map((s) => s.name)).toEqual([".text", ".sbat", ".osrel", ".cmdline", ".initrd", ".linux"]);
    expect(r.sections.find((s) => s.name === ".initrd")).toMatchObject({ virtualSize: 5000, rawSize: 5120 });
    expect(r.cmdline).toBe("console=ttyS0 systemd.volatile=overlay");
    expect(r.osRelease).toEqual({ PRETTY_NAME: "Test OS 1", ID: "testos", IMAGE_VERSION: "1" });
    expect(r.kernelVersion).toBe("6.1.0-98-amd64"); // no .uname: from the kernel's header
    expect(r.sbat).toMatch(/^sbat,1,/);
  });

  it("refuses other files and names outside the output folder", async () => {
    const e = await failure(api.artifacts.inspect({ buildId: build.id, name: "img_1.manifest" }));
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toMatch(/cannot be inspected/);
    for (const name of ["../build.log", "planted", "/etc/passwd", "nope.raw"]) {
      const err = await failure(api.artifacts.inspect({ buildId: build.id, name }));
      expect(["NOT_FOUND", "BAD_REQUEST"], name).toContain(err.code);
    }
  });
});

describe("conversions", () => {
  for (const format of ["qcow2", "vdi", "vmdk"] as const)
    it(`converts to ${format}: qemu-img info names the format and qemu-img compare finds it identical`, async () => {
      const job = await api.artifacts.convert({ buildId: build.id, name: DISK, format });
      expect(job).toMatchObject({ buildId: build.id, source: DISK, format, target: `img_1.${format}` });
      const updates = await follow(build.id, job.id);
      const last = updates.at(-1)!;
      expect(last.state, last.error ?? "").toBe("succeeded");
      expect(last.progress).toBe(1);
      expect(last.endedAt).not.toBeNull();
      const target = join(build.paths.output, `img_1.${format}`);
      const info = JSON.parse((await execa("qemu-img", ["info", "--output=json", target])).stdout) as { format: string; "virtual-size": number };
      expect(info.format).toBe(format);
      expect(info["virtual-size"]).toBe(H.LAYOUT.size);
      const cmp = await execa("qemu-img", ["compare", "-f", "raw", "-F", format, join(build.paths.output, DISK), target], { reject: false });
      expect(cmp.exitCode, cmp.stdout + cmp.stderr).toBe(0);
      expect(await partials()).toEqual([]);
    });

  for (const [format, tool] of [["zst", "zstd"], ["xz", "xz"]] as const)
    it(`compresses with ${tool}: decompressing gives the same bytes`, async () => {
      const job = await api.artifacts.convert({ buildId: build.id, name: DISK, format });
      expect(job.target).toBe(`img_1.raw.${format}`);
      const last = (await follow(build.id, job.id)).at(-1)!;
      expect(last.state, last.error ?? "").toBe("succeeded");
      expect(last.progress).toBe(1);
      const out = join(dataDir, `back-${format}`);
      await execa(tool, ["-d", "-c", join(build.paths.output, job.target)], { stdout: { file: out } });
      expect(await H.sha256(out)).toBe(diskSha);
      await rm(out);
    });

  it("reuses a finished conversion and lists it with its own checksum", async () => {
    const target = join(build.paths.output, "img_1.qcow2");
    const before = await stat(target);
    const job = await api.artifacts.convert({ buildId: build.id, name: "img_1", format: "qcow2" }); // via the link
    expect(job).toMatchObject({ state: "succeeded", progress: 1, source: DISK, target: "img_1.qcow2" });
    expect((await stat(target)).mtimeMs).toBe(before.mtimeMs);
    const list = await api.artifacts.hash({ buildId: build.id });
    const q = list.files.find((f) => f.name === "img_1.qcow2")!;
    expect(q).toMatchObject({ kind: "conversion", derivedFrom: DISK, checksum: "not-listed", sha256: await H.sha256(target) });
    expect(list.files.find((f) => f.name === "img_1.raw.zst")!.kind).toBe("compressed");
    const all = await api.artifacts.conversions({ buildId: build.id });
    expect(all.filter((j) => j.state === "succeeded").map((j) => j.format)).toEqual(expect.arrayContaining(["qcow2", "vdi", "vmdk", "zst", "xz"]));
  });

  it("joins a running job instead of starting a second", async () => {
    await rm(join(build.paths.output, "img_1.vmdk"));
    const [a, b] = await Promise.all([
      api.artifacts.convert({ buildId: build.id, name: DISK, format: "vmdk" }),
      api.artifacts.convert({ buildId: build.id, name: DISK, format: "vmdk" }),
    ]);
    expect(b.id).toBe(a.id);
    expect((await follow(build.id, a.id)).at(-1)!.state).toBe("succeeded");
  });

  it("cancels a conversion of a large sparse image: state cancelled, no temporary file left", async () => {
    const big = await H.fakeBuild(db, dataDir, "succeeded");
    await bigImage(join(big.paths.output, "big.raw"));
    for (const format of ["vmdk", "xz"] as const) {
      const job = await api.artifacts.convert({ buildId: big.id, name: "big.raw", format });
      const controller = new AbortController();
      for await (const j of await createCaller({ db, host }, { signal: controller.signal }).artifacts.conversionEvents({ buildId: big.id }))
        if (j.id === job.id && (j.progress > 0 || j.state !== "running")) {
          controller.abort();
          break;
        }
      const cancelled = await api.artifacts.cancelConversion({ jobId: job.id });
      expect(cancelled.state, format).toBe("cancelled");
      expect(cancelled.endedAt).not.toBeNull();
      expect(await readdir(big.paths.output), format).toEqual(["big.raw"]);
      expect((await failure(api.artifacts.cancelConversion({ jobId: job.id }))).code).toBe("CONFLICT");
    }
    await rm(big.paths.output, { recursive: true });
  });

  it("gives a clear error for each bad request and changes nothing", async () => {
    const before = (await readdir(build.paths.output)).sort();
    let e = await failure(api.artifacts.convert({ buildId: 9999, name: DISK, format: "qcow2" }));
    expect(e.code).toBe("NOT_FOUND");
    e = await failure(api.artifacts.convert({ buildId: build.id, name: "missing.raw", format: "qcow2" }));
    expect(e.code).toBe("NOT_FOUND");
    expect(e.message).toMatch(/no file 'missing.raw'/);
    e = await failure(api.artifacts.convert({ buildId: failed.id, name: DISK, format: "qcow2" }));
    expect(e.code).toBe("PRECONDITION_FAILED");
    expect(e.message).toBe(`buildId: build ${failed.id} failed: it has no disk image to convert`);
    e = await failure(api.artifacts.convert({ buildId: build.id, name: "img_1.root-x86-64.raw", format: "qcow2" }));
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toMatch(/not a raw disk image/);
    e = await failure(api.artifacts.convert({ buildId: build.id, name: DISK, format: "zip" as "qcow2" }));
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toMatch(/qcow2, vdi, vmdk, zst, xz/);
    e = await failure(api.artifacts.convert({ buildId: build.id, name: "../../../etc/passwd", format: "qcow2" }));
    expect(e.code).toBe("BAD_REQUEST");
    expect((await readdir(build.paths.output)).sort()).toEqual(before);
    expect(conversions(queue).isRunningFor(build.id)).toBe(false);
  });
});

describe("conversion history", () => {
  let hist: Awaited<ReturnType<typeof H.fakeBuild>>;
  const rowsOf = (buildId: number) => db.select().from(conversionJobs).where(eq(conversionJobs.buildId, buildId)).all();

  beforeAll(async () => {
    hist = await H.fakeBuild(db, dataDir, "succeeded");
    await copyFile(join(build.paths.output, DISK), join(hist.paths.output, DISK));
  });

  it("keeps each job's state, error, command and times: a server started anew on the same file reads them back", async () => {
    const c = conversions(queue);
    const ok = await c.wait((await api.artifacts.convert({ buildId: hist.id, name: DISK, format: "qcow2" })).id);
    expect(ok.state, ok.error ?? "").toBe("succeeded");
    // A directory where the result goes: qemu-img succeeds, the rename onto it fails.
    await mkdir(join(hist.paths.output, "img_1.vdi", "in-the-way"), { recursive: true });
    const bad = await c.wait((await api.artifacts.convert({ buildId: hist.id, name: DISK, format: "vdi" })).id);
    await rm(join(hist.paths.output, "img_1.vdi"), { recursive: true });
    expect(bad.state).toBe("failed");
    expect(bad.error).toMatch(/EISDIR|directory/);
    const started = await api.artifacts.convert({ buildId: hist.id, name: DISK, format: "xz" });
    const stopped = await api.artifacts.cancelConversion({ jobId: started.id });
    expect(stopped.state).toBe("cancelled");

    const before = await api.artifacts.conversions({ buildId: hist.id });
    expect(before.map((j) => [j.id, j.format, j.state])).toEqual([
      [ok.id, "qcow2", "succeeded"],
      [bad.id, "vdi", "failed"],
      [started.id, "xz", "cancelled"],
    ]);
    for (const j of before) {
      expect(j.endedAt, `${j.format} ended`).not.toBeNull();
      expect(Date.parse(j.endedAt!)).toBeGreaterThanOrEqual(Date.parse(j.startedAt));
      expect(j.command[0], j.format).toBe(j.format === "xz" ? "xz" : "qemu-img");
    }
    // The temporary name in the command holds the job's id, from the table.
    expect(bad.command.at(-1)).toBe(join(hist.paths.output, `.img_1.vdi.${bad.id}.partial`));

    await restarted(async (c2) => {
      expect(c2).not.toBe(c);
      expect(c2.list(hist.id)).toEqual(before);
      expect(c2.get(bad.id)).toEqual(before[1]);
      // The finished file is known from the history, not made or recorded again.
      const again = await c2.convert(hist.id, DISK, "qcow2");
      expect(again).toMatchObject({ id: ok.id, reused: false, state: "succeeded" });
      expect(c2.list(hist.id)).toHaveLength(3);
    });
  });

  /** Runs conversion-crash.child.ts: a server that converts big.raw to vmdk and gets `signal` midway. */
  async function stopMidConversion(b: Awaited<ReturnType<typeof H.fakeBuild>>, signal: "SIGKILL" | "SIGTERM") {
    const child = await execa("node", ["--import", "tsx", "test/integration/conversion-crash.child.ts", String(b.id), "big.raw", "vmdk", signal], {
      env: { IMAGE_STUDIO_DATA: dataDir },
      reject: false,
      timeout: 60_000,
    });
    const job = JSON.parse(child.stdout.split("\n")[0] || "null") as ConversionJob | null;
    expect(job, child.stderr).toMatchObject({ buildId: b.id, format: "vmdk", state: "running" });
    expect(job!.progress).toBeGreaterThan(0);
    return { child, job: job!, tmp: join(b.paths.output, `.big.vmdk.${job!.id}.partial`) };
  }

  it("records a conversion as interrupted and removes its temporary file when the server is told to stop", async () => {
    const b = await H.fakeBuild(db, dataDir, "succeeded");
    await bigImage(join(b.paths.output, "big.raw"));
    const { child, job, tmp } = await stopMidConversion(b, "SIGTERM");
    expect(child.timedOut).toBe(false);
    // No new server has started: the stopping one did this itself, in its shutdown hook (the
    // process may die right after it, so the job's own cleanup is not relied on).
    expect(rowsOf(b.id)).toMatchObject([{ id: job.id, state: "interrupted", error: SERVER_STOPPED }]);
    expect(rowsOf(b.id)[0]!.endedAt).not.toBeNull();
    expect(existsSync(tmp)).toBe(false);
    expect(await readdir(b.paths.output)).toEqual(["big.raw"]);
    await rm(b.paths.output, { recursive: true });
  });

  it("marks a conversion a crashed server left running as interrupted and removes its temporary file on the next start", async () => {
    const crash = await H.fakeBuild(db, dataDir, "succeeded");
    await bigImage(join(crash.paths.output, "big.raw"));
    const { child, job, tmp } = await stopMidConversion(crash, "SIGKILL");
    expect(child.signal, child.stderr).toBe("SIGKILL");
    // What the crash left: the row says running, the temporary file is there.
    expect(rowsOf(crash.id).map((r) => [r.id, r.state, r.endedAt])).toEqual([[job.id, "running", null]]);
    expect(existsSync(tmp)).toBe(true);

    await restarted((c2) => {
      const j = c2.get(job.id);
      expect(j).toMatchObject({ state: "interrupted", error: SERVER_STOPPED, command: job.command, startedAt: job.startedAt });
      expect(j.endedAt).not.toBeNull();
      expect(Date.parse(j.endedAt!)).toBeGreaterThanOrEqual(Date.parse(job.startedAt));
    });
    expect(existsSync(tmp)).toBe(false);
    expect(await readdir(crash.paths.output)).toEqual(["big.raw"]);
    expect(await processesMentioning(tmp)).toEqual([]);
    // This server reads the same row.
    expect((await api.artifacts.conversions({ buildId: crash.id })).map((j) => j.state)).toEqual(["interrupted"]);
    await rm(crash.paths.output, { recursive: true });
  });

  it("deletes a build's jobs with its outputs, never while one runs, and starts none while they are being deleted", async () => {
    const others = rowsOf(build.id);
    expect(others.length).toBeGreaterThan(0);
    expect(rowsOf(hist.id)).toHaveLength(3);

    const running = await api.artifacts.convert({ buildId: hist.id, name: DISK, format: "xz" });
    const e = await failure(api.space.deleteArtifacts({ buildId: hist.id }));
    expect(e.code).toBe("CONFLICT");
    expect(existsSync(join(hist.paths.output, "img_1.qcow2"))).toBe(true);
    expect((await api.artifacts.cancelConversion({ jobId: running.id })).state).toBe("cancelled");
    expect(rowsOf(hist.id)).toHaveLength(4);

    const release = conversions(queue).holdForRemoval(hist.id);
    try {
      const refused = await failure(api.artifacts.convert({ buildId: hist.id, name: DISK, format: "vdi" }));
      expect(refused.code).toBe("CONFLICT");
      expect(refused.message).toMatch(/being deleted/);
    } finally {
      release();
    }
    expect(rowsOf(hist.id)).toHaveLength(4);

    await api.space.deleteArtifacts({ buildId: hist.id });
    expect(existsSync(hist.paths.output)).toBe(false);
    expect(rowsOf(hist.id)).toEqual([]);
    expect(await api.artifacts.conversions({ buildId: hist.id })).toEqual([]);
    expect(rowsOf(build.id)).toEqual(others);
  });
});
