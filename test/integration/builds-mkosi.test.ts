// Builds with the real mkosi through the tRPC API, on a temporary data folder and SQLite file:
// (a) the Debian preset builds, and real tools find a GPT with an ESP and a squashfs root in
// the disk image; (b) a second build, with the package cache warm, is cancelled while it
// installs Debian and leaves no process and no mount behind; (c) a log subscription that
// disconnects and resumes from its last event id gets every byte exactly once.
// Then the same image boots in QEMU (software emulation when KVM does not work) and passes
// the boot check, its console followed with disconnects; a profile with a persistent data
// partition is built (warm package cache) and checked across a reboot; bad VM requests fail
// clearly; a VM stops with the server. The build's package manifest and SBOM are checked
// against the image's own dpkg database.
// One cold build (about 2.5 min), part of a second, a warm third and two boot checks (about
// 3 min each under emulation); run as root on a host set up by scripts/setup-host.sh.
import { execa } from "execa";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPaths, packageCacheDir } from "@/server/builds/paths";
import { mountsUnder, processesMentioning } from "@/server/builds/procs";
import { buildQueue, closeBuildQueue } from "@/server/builds/queue";
import { builds, type VmRunRow } from "@/server/db/schema";
import { findFirmware } from "@/server/vms/host";
import { closeVmManager } from "@/server/vms/manager";
import { vms, type VmRunView } from "@/server/vms/service";
import { ptyEnv } from "@/server/builds/runner";
import type { BuildDetail } from "@/server/builds/service";
import { openDatabase, type Db } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { createCaller } from "@/server/routers";
import { serveApp, type AppServer } from "@/test/support/app-server";
import { logText, readSse, type SseEvent } from "@/test/support/sse";
import { indexSpec } from "@/server/packages/sources";
import { spdxErrors } from "../spdx";
import { keepLists, seedLists } from "./packages-helpers";

const ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

let dataDir: string;
let db: Db;
let api: ReturnType<typeof createCaller>;
/** The streams are read over HTTP, through the server's own request handler, with the token. */
let app: AppServer;
const ctx = () => ({ db, host: hostFacts });
const sse = (procedure: string, input: unknown, lastEventId?: string) => app.api.sse(procedure, input, lastEventId);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "builds-mkosi-"));
  db = openDatabase(join(dataDir, "image-studio.sqlite"));
  buildQueue(db, { dataDir, concurrency: 1 });
  api = createCaller(ctx());
  app = await serveApp(db, dataDir);
});
afterAll(async () => {
  await app?.close();
  await closeVmManager(db);
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Waits, through the events subscription, for a build to satisfy `test` (or to end). */
async function until(id: number, test: (b: BuildDetail) => boolean): Promise<BuildDetail> {
  const controller = new AbortController();
  let last: BuildDetail | undefined;
  for await (const b of await createCaller(ctx(), { signal: controller.signal }).builds.events({ id })) {
    last = b;
    if (test(b)) {
      controller.abort();
      return b;
    }
  }
  return last!;
}

const run = (file: string, args: string[]) => execa(file, args, { env: ptyEnv() as NodeJS.ProcessEnv });

let first: BuildDetail;
let firstLogFromSse: string;

describe("a real build of the Debian preset", () => {
  it("succeeds, and its log reaches a subscriber that disconnects and resumes, every byte once", async () => {
    const profile = await api.profiles.create({ name: "debian", presetId: "immutable-debian-12" });
    // Build start checks the packages against the profile's index: fetched once, lists kept for other runs.
    const spec = indexSpec(profile.document);
    if (spec.ok) await seedLists(dataDir, spec.spec.key);
    const started = await api.builds.start({ profileId: profile.id });
    expect(started.warnings).toEqual([]);
    if (spec.ok) await keepLists(dataDir, spec.spec.key);
    expect(started.state).toBe("queued");

    // (c) Follow the log over SSE; drop the connection after a few events, twice, and come
    // back each time with the last event id, as the browser's EventSource does.
    const received: SseEvent[] = [];
    let lastId: string | undefined;
    for (let round = 0; ; round++) {
      const res = await sse("builds.log", { id: started.id }, lastId);
      expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
      const got = await readSse(res, (_e, all) => round < 2 && all.filter((x) => x.id).length >= 10);
      received.push(...got.filter((e) => e.id));
      lastId = received.at(-1)?.id ?? lastId;
      if (got.at(-1)?.event === "return") break; // the build ended and every byte was sent
      expect(round).toBeLessThan(2);
    }
    firstLogFromSse = logText(received);

    first = await until(started.id, (b) => b.state !== "queued" && b.state !== "running");
    expect(first.message).toBeNull();
    expect(first.state).toBe("succeeded");
    expect(first.exitCode).toBe(0);
    expect(first.mkosiVersion).toMatch(/^2\d/);
    expect(first.outputBytes).toBeGreaterThan(100 * 1024 ** 2);
    console.log(`build ${first.id}: ${(first.durationMs! / 1000).toFixed(1)} s, output ${(first.outputBytes! / 1024 ** 2).toFixed(0)} MiB, log ${first.logBytes} bytes`);
    console.log(first.steps.filter((s) => s.depth <= 1).map((s) => `${"  ".repeat(s.depth)}${s.name}: ${(s.durationMs! / 1000).toFixed(1)} s`).join("\n"));
  }, 420_000);

  it("wrote a disk image with a GPT, an ESP holding the UKI and a squashfs root (read with real tools)", async () => {
    const out = buildPaths(dataDir, first.id).output;
    const files = await readdir(out);
    expect(files).toContain("immutable-debian_1.efi");
    const disk = join(out, "immutable-debian_1.raw");
    const table = JSON.parse((await run("sfdisk", ["--json", disk])).stdout) as {
      partitiontable: { label: string; sectorsize: number; partitions: { start: number; size: number; type: string }[] };
    };
    expect(table.partitiontable.label).toBe("gpt");
    const parts = table.partitiontable.partitions;
    expect(parts.map((p) => p.type)).toEqual([ESP_TYPE, ROOT_X86_64_TYPE]);
    const at = (i: number) => String(parts[i]!.start * table.partitiontable.sectorsize);
    const probe = async (i: number) => Object.fromEntries((await run("blkid", ["-p", "-O", at(i), "-o", "export", disk])).stdout.split("\n").map((l) => l.split("=", 2)));
    expect((await probe(0)).TYPE).toBe("vfat");
    expect((await probe(1)).TYPE).toBe("squashfs");
    // systemd-boot and the UKI are on the ESP.
    const esp = `${disk}@@${at(0)}`;
    expect((await run("mdir", ["-b", "-i", esp, "::/EFI/BOOT"])).stdout).toMatch(/BOOTX64\.EFI/i);
    expect((await run("mdir", ["-b", "-i", esp, "::/EFI/Linux"])).stdout).toMatch(/\.efi/);
  });

  it("kept mkosi's coloured log, its steps as a timeline, and the snapshot it built from", async () => {
    const log = await readFile(buildPaths(dataDir, first.id).log, "utf8");
    expect(firstLogFromSse).toBe(log); // (c): all of it, once, in order
    expect(first.logBytes).toBe(Buffer.byteLength(log));
    expect(log).toContain("‣  \x1b[0;1;39mInstalling Debian\x1b[0m");
    expect(log).toContain("Generating unified kernel image");
    const names = first.steps.map((s) => s.name);
    expect(names.slice(0, 3)).toEqual(["Copying in package manager file trees…", "Syncing package manager metadata for immutable-debian image", "Building immutable-debian image"]);
    expect(names).toContain("Generating disk image");
    expect(first.steps.every((s) => s.endedAt !== null && s.durationMs! >= 0)).toBe(true);
    const build = first.steps.find((s) => s.name === "Building immutable-debian image")!;
    expect(build.durationMs!).toBeGreaterThan(30_000);
    expect((await api.builds.files({ id: first.id })).map((f) => f.path)).toContain("mkosi.conf");
    // The shared package cache now holds the packages.
    const debs = (await execa("find", [packageCacheDir(dataDir), "-name", "*.deb"])).stdout.split("\n").filter(Boolean);
    expect(debs.length).toBeGreaterThan(50);
  });
  it("lists what it installed, systemd at the version dpkg-query reads in the image, and offers an SBOM that passes SPDX 2.3's schema", async () => {
    const out = buildPaths(dataDir, first.id).output;
    const manifest = await api.packages.manifest({ buildId: first.id });
    expect(manifest.file).toBe("immutable-debian_1.manifest");
    expect(manifest.packages.length).toBeGreaterThan(100);
    const systemd = manifest.packages.find((p) => p.name === "systemd")!;
    expect(systemd).toMatchObject({ architecture: "amd64", asked: true });
    expect(manifest.packages.find((p) => p.name === "libc6")).toMatchObject({ asked: false });
    // The image's own package database, read with dpkg-query from its squashfs root.
    const tree = join(dataDir, "image-dpkg");
    await run("unsquashfs", ["-no-progress", "-d", tree, join(out, "immutable-debian_1.root-x86-64.raw"), "var/lib/dpkg"]);
    const inImage = (await run("dpkg-query", [`--admindir=${join(tree, "var/lib/dpkg")}`, "-W", "-f", "${Version}", "systemd"])).stdout;
    expect(inImage).toMatch(/^\d/);
    expect(systemd.version).toBe(inImage);
    expect(systemd.installedKib).toBeGreaterThan(1000); // from the package index the build start fetched
    await rm(tree, { recursive: true, force: true });

    expect(manifest.sbom).toBe("immutable-debian_1.spdx.json");
    const sbom = JSON.parse(await readFile(join(out, "immutable-debian_1.spdx.json"), "utf8")) as { packages: { name: string; versionInfo?: string }[] };
    expect(spdxErrors(sbom)).toEqual([]);
    expect(sbom.packages.find((p) => p.name === "systemd")?.versionInfo).toBe(inImage);
    expect(sbom.packages).toHaveLength(manifest.packages.length + 1); // and the image itself
    expect((await api.artifacts.list({ buildId: first.id })).files.map((f) => f.name)).toContain("immutable-debian_1.spdx.json");
  });
});

describe("cancelling a real build", () => {
  it("stops mkosi and everything under it within 10 s while it installs Debian, keeping the log", async () => {
    const b = await api.builds.start({ profileId: first.profileId! });
    await until(b.id, (x) => x.currentStep === "Installing Debian");
    const paths = buildPaths(dataDir, b.id);
    // Let apt get going: it says how much it still has to download, which the warm cache makes none.
    for (let i = 0; i < 300 && !/Need to get/.test(await readFile(paths.log, "utf8")); i++) await new Promise((r) => setTimeout(r, 100));
    const log = await readFile(paths.log, "utf8");
    expect(log).toMatch(/Need to get 0 B\/[\d.]+ [kM]B of archives/);
    expect((await processesMentioning(paths.dir)).length).toBeGreaterThan(0);

    const t0 = Date.now();
    const done = await api.builds.cancel({ id: b.id });
    const took = Date.now() - t0;
    console.log(`cancel took ${took} ms`);
    expect(took).toBeLessThan(10_000);
    expect(done.state).toBe("cancelled");
    expect(done.endedAt).not.toBeNull();
    expect(await processesMentioning(paths.dir)).toEqual([]);
    expect(await mountsUnder(paths.dir)).toEqual([]);
    expect(await mountsUnder(dataDir)).toEqual([]);
    expect(existsSync(paths.workspace)).toBe(false);
    const kept = await readFile(paths.log, "utf8");
    expect(kept.startsWith(log)).toBe(true);
    expect(kept).toContain("[pty-run] stopping");
    expect(done.logBytes).toBe(Buffer.byteLength(kept));
    expect(done.steps.map((s) => s.name)).toContain("Installing Debian");
    expect(done.steps.every((s) => s.endedAt !== null)).toBe(true);
  }, 180_000);
});

/** Waits, through the vms.watch subscription, for a run of the build (any, or `runId`) to satisfy `test`. */
async function untilRun(buildId: number, runId: number | undefined, test: (r: VmRunView) => boolean): Promise<VmRunView> {
  const controller = new AbortController();
  for await (const runs of await createCaller(ctx(), { signal: controller.signal }).vms.watch({ buildId })) {
    const r = runs.find((x) => (runId === undefined || x.id === runId) && test(x));
    if (r) {
      controller.abort();
      return r;
    }
  }
  throw new Error(`the watch of build ${buildId} ended before run ${runId} did`);
}

/** Follows a run's console over SSE to its end, disconnecting twice on the way; the text received. */
async function followConsoleWithDisconnects(runId: number): Promise<string> {
  const received: SseEvent[] = [];
  let lastId: string | undefined;
  for (let round = 0; ; round++) {
    const res = await sse("vms.console", { runId }, lastId);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const got = await readSse(res, (_e, all) => round < 2 && all.filter((x) => x.id).length >= 20);
    received.push(...got.filter((e) => e.id));
    lastId = received.at(-1)?.id ?? lastId;
    if (got.at(-1)?.event === "return") return logText(received);
    expect(round).toBeLessThan(2);
  }
}

const CHECK_MS = 15 * 60_000;

describe("the boot check in a VM", () => {
  it("passes the Debian preset: squashfs root, a tmpfs overlay whose writes a reboot forgets, systemd-boot and the UKI; its console resumes without loss", async () => {
    const run = await api.vms.check({ buildId: first.id });
    expect(run).toMatchObject({ purpose: "check", state: "running", live: true, verdict: null });
    expect(run.command!.join(" ")).toMatch(/snapshot=on/);
    // One VM per build.
    await expect(api.vms.start({ buildId: first.id })).rejects.toThrow(/already has a VM running/);

    const consoleText = await followConsoleWithDisconnects(run.id);
    const done = await untilRun(first.id, run.id, (r) => !r.live && r.verdict !== null);
    console.log(`boot check ${done.id} (${done.accel}): login after ${(done.loginMs! / 1000).toFixed(1)} s`);
    console.log(done.items.map((i) => `${i.passed ? "pass" : "FAIL"} ${i.label}: ${i.detail}`).join("\n"));
    expect(done.items.filter((i) => !i.passed)).toEqual([]);
    expect(done.verdict).toBe("passed");
    expect(done.items.map((i) => i.id).sort()).toEqual(["login", "overlay-discarded", "reboot", "root-format", "root-overlay", "root-writable", "systemd-boot", "uki"]);
    expect(done.loginMs).toBeGreaterThan(1000);
    expect(done.state).toBe("stopped");

    // Every byte of the console once, in order, as kept in the transcript file.
    const file = await readFile(vms(db).logs.path(run.id), "utf8");
    expect(consoleText).toBe(file);
    expect(done.consoleBytes).toBe(Buffer.byteLength(file));
    expect(file.match(/login: root \(automatic login\)/g)?.length).toBe(2);
    expect((await api.builds.get({ id: first.id })).bootCheck).toEqual({ runId: run.id, verdict: "passed" });
  }, CHECK_MS);

  it("passes a persistent data partition, which keeps a file across a reboot", async () => {
    const base = await api.profiles.get({ id: first.profileId! });
    const created = await api.profiles.create({ name: "debian-persistent", presetId: "immutable-debian-12" });
    const doc = { ...base.document, overlay: { scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "256M" } };
    const saved = await api.profiles.save({ id: created.id, revision: created.revision, document: doc });
    // Checked after the build by itself.
    await api.vms.setCheckAfterBuild({ profileId: saved.id, enabled: true });

    const b = await api.builds.start({ profileId: saved.id });
    const built = await until(b.id, (x) => x.state !== "queued" && x.state !== "running");
    expect(built.message).toBeNull();
    expect(built.state).toBe("succeeded");
    const done = await untilRun(b.id, undefined, (r) => r.purpose === "check" && !r.live && r.verdict !== null);
    console.log(done.items.map((i) => `${i.passed ? "pass" : "FAIL"} ${i.label}: ${i.detail}`).join("\n"));
    expect(done.purpose).toBe("check");
    expect(done.items.filter((i) => !i.passed)).toEqual([]);
    expect(done.items.map((i) => i.id).sort()).toEqual(["login", "persistent-kept", "persistent-mounted", "reboot", "root-format", "root-read-only", "systemd-boot", "uki"]);
    expect(done.verdict).toBe("passed");
    expect((await api.builds.get({ id: b.id })).bootCheck).toEqual({ runId: done.id, verdict: "passed" });
  }, CHECK_MS + 10 * 60_000);
});

describe("bad VM requests", () => {
  it("refuse a build that failed, one without a disk image, an unknown build and silly sizes, clearly", async () => {
    await expect(api.vms.start({ buildId: 999_999 })).rejects.toThrow(/build 999999 does not exist/);
    const cancelled = (await api.builds.list({ state: "cancelled" }))[0]!;
    await expect(api.vms.start({ buildId: cancelled.id })).rejects.toThrow(/only a successful build has an image to boot/);
    const empty = db
      .insert(builds)
      .values({ profileId: null, profileName: "no-disk", profileRevision: 1, state: "succeeded", queuedAt: new Date(), mkosiVersion: "24.3" })
      .returning()
      .get();
    await expect(api.vms.start({ buildId: empty.id })).rejects.toThrow(/has no disk image to boot/);
    await expect(api.vms.check({ buildId: empty.id })).rejects.toThrow(/has no disk image to boot/);
    await expect(api.vms.start({ buildId: first.id, memoryMib: 100 })).rejects.toThrow(/memoryMib[\s\S]*at least 512/);
    await expect(api.vms.start({ buildId: first.id, cpus: 0 })).rejects.toThrow(/cpus[\s\S]*at least 1/);
    expect(await api.vms.list({ buildId: empty.id })).toEqual([]);
  });

  it("say what to install when QEMU or the firmware is missing", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(api.vms.start({ buildId: first.id })).rejects.toThrow(/QEMU is not installed.*apt-get install -y qemu-system-x86/);
    } finally {
      process.env.PATH = path;
    }
    expect(() => findFirmware([{ code: "/nonexistent/CODE.fd", varsTemplate: "/nonexistent/VARS.fd" }])).toThrow(/apt-get install -y ovmf/);
  });

  it("stop a VM with the server, leaving no QEMU behind, and refuse typing into it after", async () => {
    const m = vms(db);
    const run = await api.vms.start({ buildId: first.id, memoryMib: 1024, cpus: 1 });
    expect(run.state).toBe("running");
    await api.vms.input({ runId: run.id, data: "\r" });
    expect((await processesMentioning(m.runDir(run.id))).length).toBe(1);
    await closeVmManager(db);
    expect(await processesMentioning(m.runDir(run.id))).toEqual([]);
    const after: VmRunRow = vms(db).getRun(run.id);
    expect(after.state).toBe("stopped");
    expect(after.message).toMatch(/the server stopped/);
    await expect(api.vms.input({ runId: run.id, data: "ls\n" })).rejects.toThrow(/is not running/);
    await expect(api.vms.stop({ runId: run.id })).rejects.toThrow(/is not running/);
  });
});
