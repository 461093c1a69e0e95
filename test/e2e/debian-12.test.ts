// The Debian 12 preset's life through the dashboard, as its user lives it, on the real server
// started the way scripts/start.sh starts it (as root: the server runs as the service user, so
// mkosi builds and QEMU boots unprivileged), with the real mkosi, QEMU and a real browser:
//  1. a build started from the editor, its log live in the terminal while an API client
//     follows it with two disconnects (every byte once), no process of it owned by root;
//  2. the disk image read with real tools, the log and timeline, the manifest against the
//     image's own dpkg database, the SBOM against SPDX 2.3's schema;
//  3. a second build cancelled while it installs, leaving no process or mount;
//  4. a persistent data partition's build started, to build beside what follows, and the
//     same project as in 1 built by root with plain mkosi: the same summary, packages and file
//     ownership inside the image;
//  5. the boot check (squashfs root, tmpfs overlay forgotten by a reboot, systemd-boot, UKI),
//     its console followed with disconnects, QEMU not root;
//  6. in the browser: a qcow2 conversion with a live progress bar, its download equal to the
//     file, and the image booted from its page, typed into and stopped;
//  7. the persistent build's success and its boot check, run by itself after the build;
//  8. a VM stopped with the server.
// One cold build for everything the preset proves (the package cache is shared), a root build,
// part of a third, a warm fourth, three boots. Needs root and a host set up by setup-host.sh.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { get, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildPaths } from "@/server/builds/paths";
import { mountsUnder, processesMentioning } from "@/server/builds/procs";
import { ptyEnv } from "@/server/builds/runner";
import { hostFacts } from "@/server/host/facts";
import { findPreset } from "@/server/mkosi/presets";
import { indexSpec } from "@/server/packages/sources";
import type { BuildDetail, Outputs } from "@/test/support/api";
import { launchBrowser, SERVICE_USER, signIn, startServer, TEST_PACKAGE_CACHE, type TestServer } from "@/test/support/server";
import { logText, readSse, type SseEvent } from "@/test/support/sse";
import { keepLists, seedLists } from "../integration/packages-helpers";
import { spdxErrors } from "../spdx";

type VmRunView = Outputs["vms"]["get"];

// Written out, not imported: an independent check of what the image holds.
const ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

const PRESET = "immutable-debian-12";
const BUILD_MS = 8 * 60_000;
const CHECK_MS = 15 * 60_000;
/** Boot to a root shell: ~70-120 s under software emulation here, more beside another VM and a build. */
const LOGIN_MS = 8 * 60_000;

let dataDir: string;
let server: TestServer;
let browser: Browser;
let indexKey: string | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "debian-12-"));
  // The build start checks the packages against the preset's index: its lists are fetched
  // once per machine and kept between runs (apt still asks the mirror what changed).
  const spec = indexSpec(findPreset(PRESET)!.build(hostFacts()));
  if (spec.ok) {
    indexKey = spec.spec.key;
    await seedLists(dataDir, indexKey);
  }
  server = await startServer({ dataDir });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (indexKey) await keepLists(dataDir, indexKey).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
  // Root's build folder, when the test that compares it did not get that far.
  await rootBuild?.then(({ work }) => rm(work, { recursive: true, force: true })).catch(() => undefined);
});

const api = () => server.api;

/** Follows builds.events until the build satisfies `test` (or ends). */
async function until(id: number, test: (b: BuildDetail) => boolean): Promise<BuildDetail> {
  const controller = new AbortController();
  let last: BuildDetail | undefined;
  try {
    for await (const e of api().subscribe("builds.events", { id }, controller.signal)) {
      if (e.event) continue;
      last = JSON.parse(e.data) as BuildDetail;
      if (test(last)) return last;
    }
  } finally {
    controller.abort();
  }
  return last ?? (await api().query<BuildDetail>("builds.get", { id }));
}
const ended = (b: BuildDetail) => b.state !== "queued" && b.state !== "running";

/** Follows vms.watch until a run of the build (any, or `runId`) satisfies `test`. */
async function untilRun(buildId: number, runId: number | undefined, test: (r: VmRunView) => boolean): Promise<VmRunView> {
  const controller = new AbortController();
  try {
    for await (const e of api().subscribe("vms.watch", { buildId }, controller.signal)) {
      if (e.event) continue;
      const r = (JSON.parse(e.data) as VmRunView[]).find((x) => (runId === undefined || x.id === runId) && test(x));
      if (r) return r;
    }
  } finally {
    controller.abort();
  }
  throw new Error(`the watch of build ${buildId} ended before run ${runId} did`);
}

/** Follows a log stream (builds.log, vms.console) to its end, dropping the connection twice on the way. */
async function followWithDisconnects(procedure: string, input: Record<string, number>, every: number): Promise<string> {
  const received: SseEvent[] = [];
  let lastId: string | undefined;
  for (let round = 0; ; round++) {
    const res = await api().sse(procedure, input, lastId);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const got = await readSse(res, (_e, all) => round < 2 && all.filter((x) => x.id).length >= every);
    received.push(...got.filter((e) => e.id));
    lastId = received.at(-1)?.id ?? lastId;
    if (got.at(-1)?.event === "return") return logText(received); // it ended and every byte was sent
    expect(round).toBeLessThan(2);
  }
}

/** The processes below `pid` with their real, effective, saved and file-system uids. */
async function processTree(pid: number): Promise<{ pid: number; uids: number[]; cmd: string }[]> {
  const all: { pid: number; ppid: number; uids: number[]; cmd: string }[] = [];
  for (const p of await readdir("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    const uids = (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? "").trim().split(/\s+/).map(Number);
    const cmd = (await readFile(`/proc/${p}/cmdline`, "utf8").catch(() => "")).replace(/\0/g, " ").trim();
    if (status) all.push({ pid: Number(p), ppid, uids, cmd });
  }
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (!below.has(p.pid) && below.has(p.ppid)) (below.add(p.pid), (grew = true));
  }
  return all.filter((p) => below.has(p.pid)).map(({ pid, uids, cmd }) => ({ pid, uids, cmd }));
}
const ownedByRoot = (tree: { uids: number[] }[]) => tree.filter((p) => p.uids.includes(0));

const run = (file: string, args: string[]) => execa(file, args, { env: ptyEnv() as NodeJS.ProcessEnv });
const terminalText = (page: Page) => page.locator("[data-testid=log-terminal] .xterm-rows").innerText().catch(() => "");
const buildState = (page: Page) => page.getByTestId("build-header").getByTestId("build-state").getAttribute("data-state");

let first: BuildDetail;

/**
 * Root's own `mkosi -f build` of a build's project snapshot, with a package cache of its own
 * (the service user's stays theirs). It starts with the first build, so the two share the
 * machine: much of a build is apt on one core.
 */
function rootBuildOf(snapshot: string) {
  return (async () => {
    const work = await mkdtemp(join(tmpdir(), "root-build-"));
    const project = join(work, "project");
    await cp(snapshot, project, { recursive: true });
    const out = join(work, "out");
    await mkdir(out);
    const built = await execa("mkosi", ["-f", "--output-dir", out, "--package-cache-dir", join(work, "cache"), "build"], { cwd: project, reject: false, all: true });
    return { work, project, out, built };
  })();
}
let rootBuild: ReturnType<typeof rootBuildOf>;
/** The package cache a build's mkosi was given. */
const packageCacheOf = (b: BuildDetail) => b.command![b.command!.indexOf("--package-cache-dir") + 1]!;
let firstLog: string;
/** The persistent profile's build, started early so it builds while the image above boots. */
let persistentId: number;

describe("a real build of the Debian preset", () => {
  it(
    "starts from the editor and shows its log live, its phases and its success; an API client following the log with two disconnects gets every byte once; none of its processes is root's",
    async () => {
      const profile = await api().mutation<{ id: number }>("profiles.create", { name: "debian", presetId: PRESET });
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
      const page = await signIn(context, server);
      await page.goto(`${server.url}/profiles/${profile.id}`);
      await expect.poll(() => page.getByTestId("save-status").textContent(), { timeout: 15_000 }).toContain("Saved");
      await page.getByTestId("build-button").click();
      // A refused start (missing tools, no subordinate ids) shows its reason instead of navigating.
      await Promise.race([
        page.waitForURL(/\/builds\/\d+$/, { timeout: 60_000 }),
        page
          .getByTestId("build-error")
          .waitFor({ timeout: 60_000 })
          .then(async () => {
            throw new Error(`the build did not start: ${await page.getByTestId("build-error").innerText()}`);
          }),
      ]);
      const id = Number(/\/builds\/(\d+)$/.exec(page.url())![1]);
      rootBuild = rootBuildOf(buildPaths(dataDir, id).project);
      rootBuild.catch(() => undefined);

      // An API client follows the same log, disconnecting twice and resuming from its last event id.
      const followed = followWithDisconnects("builds.log", { id }, 10);

      // While mkosi installs the packages, nothing under the server runs as root.
      const installing = await until(id, (b) => b.currentStep === "Installing Debian" || ended(b));
      expect(installing.state).toBe("running");
      const tree = await processTree(server.pid);
      expect(tree.some((p) => /\bmkosi\b/.test(p.cmd))).toBe(true);
      expect(ownedByRoot(tree)).toEqual([]);

      // The log appears in the terminal while mkosi runs, not only once the build is over.
      let seenWhileRunning = "";
      await expect
        .poll(
          async () => {
            const state = await buildState(page);
            if (state !== "queued" && state !== "running") throw new Error(`the build ended (${state}) before its log was seen live`);
            const text = await terminalText(page);
            if (state === "running" && text.trim().length > 0) seenWhileRunning = text;
            return seenWhileRunning.length > 0;
          },
          { timeout: 120_000, interval: 250 },
        )
        .toBe(true);
      await expect.poll(() => page.getByTestId("timeline-step").count(), { timeout: 120_000 }).toBeGreaterThan(0);
      await expect
        .poll(
          async () => {
            const state = await buildState(page);
            if (state === "failed" || state === "cancelled" || state === "interrupted")
              throw new Error(`build ${id} ended ${state}: ${await page.getByTestId("failure-lines").innerText().catch(() => "")}`);
            return state;
          },
          { timeout: BUILD_MS, interval: 1000 },
        )
        .toBe("succeeded");
      expect(await page.getByTestId("exit-code").innerText()).toBe("0");
      expect(await page.getByTestId("timeline-step").count()).toBeGreaterThan(3);

      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("log-download").click()]);
      const downloaded = await readFile((await download.path())!, "utf8");
      firstLog = await readFile(buildPaths(dataDir, id).log, "utf8");
      expect(downloaded).toBe(firstLog);
      // The terminal shows the same output: its last lines are in the file.
      const lastShown = (await terminalText(page))
        .split("\n")
        .map((l) => l.replace(/\u00a0/g, " ").trim())
        .filter((l) => l.length > 8)
        .at(-1);
      expect(lastShown, "the terminal shows text").toBeDefined();
      expect(firstLog.replace(/\x1b\[[0-9;]*m/g, "")).toContain(lastShown!.slice(0, 40));
      await context.close();

      expect(await followed).toBe(firstLog);
      first = await api().query<BuildDetail>("builds.get", { id });
      expect(first.message).toBeNull();
      expect(first.mkosiVersion).toMatch(/^2\d/);
      expect(first.outputBytes).toBeGreaterThan(100 * 1024 ** 2);
      console.log(`build ${first.id}: ${(first.durationMs! / 1000).toFixed(1)} s, output ${(first.outputBytes! / 1024 ** 2).toFixed(0)} MiB, log ${first.logBytes} bytes`);
      console.log(first.steps.filter((s) => s.depth <= 1).map((s) => `${"  ".repeat(s.depth)}${s.name}: ${(s.durationMs! / 1000).toFixed(1)} s`).join("\n"));
    },
    BUILD_MS + 3 * 60_000,
  );

  it("wrote a disk image with a GPT, an ESP holding the UKI and a squashfs root (read with real tools)", async () => {
    const out = buildPaths(dataDir, first.id).output;
    expect(await readdir(out)).toContain("immutable-debian_1.efi");
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
    const esp = `${disk}@@${at(0)}`;
    expect((await run("mdir", ["-b", "-i", esp, "::/EFI/BOOT"])).stdout).toMatch(/BOOTX64\.EFI/i);
    expect((await run("mdir", ["-b", "-i", esp, "::/EFI/Linux"])).stdout).toMatch(/\.efi/);
    // The root partition's Compression reached mksquashfs through mkosi's Environment=.
    const squashfs = (await run("unsquashfs", ["-s", join(out, "immutable-debian_1.root-x86-64.raw")])).stdout;
    expect(squashfs).toMatch(/^Compression zstd$/m);
    expect(squashfs).toMatch(/^\s*compression-level 3$/m);
    // The modules initrd holds mkosi-initrd's list and the preset's disk drivers, not all of the kernel's 122 MB.
    expect((await stat(join(out, "immutable-debian_1.initrd"))).size).toBeLessThan(60 * 1024 ** 2);
  });

  it("kept mkosi's coloured log, its steps as a timeline, and the snapshot it built from", async () => {
    expect(first.logBytes).toBe(Buffer.byteLength(firstLog));
    expect(firstLog).toContain("‣  \x1b[0;1;39mInstalling Debian\x1b[0m");
    expect(firstLog).toContain("Generating unified kernel image");
    const names = first.steps.map((s) => s.name);
    expect(names.slice(0, 3)).toEqual(["Copying in package manager file trees…", "Syncing package manager metadata for immutable-debian image", "Building immutable-debian image"]);
    expect(names).toContain("Generating disk image");
    expect(first.steps.every((s) => s.endedAt !== null && s.durationMs! >= 0)).toBe(true);
    expect(first.steps.find((s) => s.name === "Building immutable-debian image")!.durationMs!).toBeGreaterThan(30_000);
    expect((await api().query<{ path: string }[]>("builds.files", { id: first.id })).map((f) => f.path)).toContain("mkosi.conf");
    // The shared package cache holds the packages, in Debian 12's own folder, for every later build of the suite.
    expect(packageCacheOf(first)).toBe(join(TEST_PACKAGE_CACHE, "debian~bookworm~x86-64"));
    const debs = (await execa("find", [packageCacheOf(first), "-name", "*.deb"])).stdout.split("\n").filter(Boolean);
    expect(debs.length).toBeGreaterThan(50);
  });

  it("lists what it installed, systemd at the version dpkg-query reads in the image, and offers an SBOM that passes SPDX 2.3's schema", async () => {
    const out = buildPaths(dataDir, first.id).output;
    const manifest = await api().query<Outputs["packages"]["manifest"]>("packages.manifest", { buildId: first.id });
    expect(manifest.file).toBe("immutable-debian_1.manifest");
    expect(manifest.packages.length).toBeGreaterThan(100);
    const systemd = manifest.packages.find((p) => p.name === "systemd")!;
    expect(systemd).toMatchObject({ architecture: "amd64", asked: true });
    expect(manifest.packages.find((p) => p.name === "libc6")).toMatchObject({ asked: false });
    const tree = await mkdtemp(join(tmpdir(), "image-dpkg-"));
    try {
      await run("unsquashfs", ["-no-progress", "-f", "-d", tree, join(out, "immutable-debian_1.root-x86-64.raw"), "var/lib/dpkg"]);
      const inImage = (await run("dpkg-query", [`--admindir=${join(tree, "var/lib/dpkg")}`, "-W", "-f", "${Version}", "systemd"])).stdout;
      expect(inImage).toMatch(/^\d/);
      expect(systemd.version).toBe(inImage);
      expect(systemd.installedKib).toBeGreaterThan(1000);
      expect(manifest.sbom).toBe("immutable-debian_1.spdx.json");
      const sbom = JSON.parse(await readFile(join(out, "immutable-debian_1.spdx.json"), "utf8")) as { packages: { name: string; versionInfo?: string }[] };
      expect(spdxErrors(sbom)).toEqual([]);
      expect(sbom.packages.find((p) => p.name === "systemd")?.versionInfo).toBe(inImage);
      expect(sbom.packages).toHaveLength(manifest.packages.length + 1); // and the image itself
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
    const files = await api().query<{ files: { name: string }[] }>("artifacts.list", { buildId: first.id });
    expect(files.files.map((f) => f.name)).toContain("immutable-debian_1.spdx.json");
  });
});

describe("cancelling a real build", () => {
  it("stops mkosi and everything under it within 10 s while it installs Debian, keeping the log", async () => {
    const b = await api().mutation<BuildDetail>("builds.start", { profileId: first.profileId });
    await until(b.id, (x) => x.currentStep === "Installing Debian" || ended(x));
    const paths = buildPaths(dataDir, b.id);
    // Let apt get going: it says how much it still has to download, which the warm cache makes none.
    await expect.poll(() => readFile(paths.log, "utf8"), { timeout: 60_000, interval: 100 }).toMatch(/Need to get/);
    const log = await readFile(paths.log, "utf8");
    expect(log).toMatch(/Need to get 0 B\/[\d.]+ [kM]B of archives/);
    expect((await processesMentioning(paths.dir)).length).toBeGreaterThan(0);

    const t0 = Date.now();
    const done = await api().mutation<BuildDetail>("builds.cancel", { id: b.id });
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

describe("a persistent data partition", () => {
  it("starts building now, beside the tests below (its boot check runs by itself after the build)", async () => {
    const base = await api().query<{ document: Record<string, unknown> }>("profiles.get", { id: first.profileId });
    const created = await api().mutation<{ id: number; revision: number }>("profiles.create", { name: "debian-persistent", presetId: PRESET });
    const doc = { ...base.document, overlay: { scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "256M" } };
    const saved = await api().mutation<{ id: number }>("profiles.save", { id: created.id, revision: created.revision, document: doc });
    await api().mutation("vms.setBootCheckAfterBuild", { profileId: saved.id, enabled: true });
    persistentId = (await api().mutation<BuildDetail>("builds.start", { profileId: saved.id })).id;
  });
});

describe("a root build of the same project", () => {
  it(
    "is the image a root build of the same project makes: the same summary, the same packages, the same ownership of every file",
    async () => {
      const { work, project, out, built } = await rootBuild;
      try {
        expect(built.exitCode, built.all?.slice(-3000)).toBe(0);

        // mkosi reads the project the same way as either user.
        await execa("chown", ["-R", SERVICE_USER, work]);
        const summaryAs = async (asService: boolean) => {
          const argv = ["mkosi", "--json", "summary"];
          const r = asService
            ? await execa("setpriv", [`--reuid=${SERVICE_USER}`, `--regid=${SERVICE_USER}`, "--init-groups", "--reset-env", "env", `HOME=${work}`, ...argv], { cwd: project })
            : await execa(argv[0]!, argv.slice(1), { cwd: project });
          // Seed= unset: mkosi picks a random one each time it parses, whoever runs it.
          const summary = JSON.parse(r.stdout) as { Images: { Seed?: unknown }[] };
          for (const image of summary.Images) delete image.Seed;
          return summary;
        };
        expect(await summaryAs(true)).toEqual(await summaryAs(false));

        // The same packages at the same versions.
        const packages = async (file: string) =>
          ((JSON.parse(await readFile(file, "utf8")) as { packages: { name: string; version: string; architecture: string }[] }).packages ?? [])
            .map((p) => `${p.name} ${p.version} ${p.architecture}`)
            .sort();
        const mine = await packages(join(buildPaths(dataDir, first.id).output, "immutable-debian_1.manifest"));
        expect(mine.length).toBeGreaterThan(100);
        expect(mine).toEqual(await packages(join(out, "immutable-debian_1.manifest")));

        // Every file of the root file system with the same mode and owner (root's stay root's).
        const listing = async (raw: string) =>
          (await run("unsquashfs", ["-lln", raw])).stdout
            .split("\n")
            .filter((l) => /^[-dlcbps]/.test(l))
            .map((l) => {
              const f = l.split(/\s+/);
              return `${f[0]} ${f[1]} ${f.slice(5).join(" ")}`;
            })
            .sort();
        const ours = await listing(join(buildPaths(dataDir, first.id).output, "immutable-debian_1.root-x86-64.raw"));
        const roots = await listing(join(out, "immutable-debian_1.root-x86-64.raw"));
        expect(ours.length).toBeGreaterThan(5_000);
        expect(ours).toEqual(roots);
        expect(ours).toContain("-rw-r----- 0/42 squashfs-root/etc/shadow");
        expect(ours.find((l) => l.endsWith(" squashfs-root/usr/bin/passwd"))).toMatch(/^-rwsr-xr-x 0\/0 /);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    BUILD_MS,
  );
});

describe("the boot check in a VM", () => {
  it(
    "passes the Debian preset: squashfs root, a tmpfs overlay whose writes a reboot forgets, systemd-boot and the UKI; its console resumes without loss; QEMU is not root's",
    async () => {
      const run = await api().mutation<VmRunView>("vms.bootCheck", { buildId: first.id });
      expect(run).toMatchObject({ purpose: "check", state: "running", live: true, verdict: null });
      expect(run.command!.join(" ")).toMatch(/snapshot=on/);
      const tree = await processTree(server.pid);
      expect(tree.some((p) => /qemu-system/.test(p.cmd))).toBe(true);
      expect(ownedByRoot(tree)).toEqual([]);
      // One VM per build.
      await expect(api().mutation("vms.start", { buildId: first.id })).rejects.toThrow(/already has a VM running/);

      const consoleText = await followWithDisconnects("vms.console", { runId: run.id }, 20);
      const done = await untilRun(first.id, run.id, (r) => !r.live && r.verdict !== null);
      console.log(`boot check ${done.id} (${done.accel}): login after ${(done.loginMs! / 1000).toFixed(1)} s`);
      console.log(done.items.map((i) => `${i.passed ? "pass" : "FAIL"} ${i.label}: ${i.detail}`).join("\n"));
      expect(done.items.filter((i) => !i.passed)).toEqual([]);
      expect(done.verdict).toBe("passed");
      expect(done.items.map((i) => i.id).sort()).toEqual(["login", "overlay-discarded", "reboot", "root-format", "root-overlay", "root-writable", "systemd-boot", "uki"]);
      expect(done.loginMs).toBeGreaterThan(1000);
      expect(done.state).toBe("stopped");

      // Every byte of the console once, in order, as kept in the transcript.
      const transcript = await (await api().fetch(`/api/vms/${run.id}/console`)).text();
      expect(consoleText).toBe(transcript);
      expect(done.consoleBytes).toBe(Buffer.byteLength(transcript));
      expect(transcript.match(/login: root \(automatic login\)/g)?.length).toBe(2);
      expect((await api().query<BuildDetail>("builds.get", { id: first.id })).bootCheck).toEqual({ runId: run.id, verdict: "passed" });
    },
    CHECK_MS,
  );
});

function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("end", () => ok(h.digest("hex")))
      .on("error", fail);
  });
}

/** A GET as sent on the wire (fetch would hide how the body was framed); counts the body's bytes. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { authorization: `Bearer ${server.token}`, ...headers } }, (res) => {
      let bytes = 0;
      res.on("data", (d: Buffer) => (bytes += d.length));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on("error", reject);
    }).on("error", reject);
  });
}

/** What the terminal shows now (its visible rows), with xterm's non-breaking spaces as spaces. */
async function screenText(terminal: Locator): Promise<string> {
  const text = await terminal.locator(".xterm-rows").innerText().catch(() => "");
  return text.replace(/\u00a0/g, " ");
}

describe("the build's page", () => {
  // A test that fails half-way leaves no VM up for the next one.
  afterEach(async () => {
    for (const r of await api().query<VmRunView[]>("vms.list", { buildId: first.id }).catch(() => []))
      if (r.live) await api().mutation("vms.stop", { runId: r.id }).catch(() => undefined);
  });

  it(
    "converts the disk image to qcow2 with a live progress bar that only moves forward, and the download equals the file on disk",
    async () => {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1200 }, acceptDownloads: true });
      const page = await signIn(context, server);
      await page.goto(`${server.url}/builds/${first.id}`);

      const artifacts = page.getByTestId("artifacts");
      await artifacts.locator("[data-testid=artifact-row][data-kind=disk]").first().waitFor({ timeout: 60_000 });
      // The partition table is read from the image and drawn.
      await expect.poll(() => page.getByTestId("image-partition").count(), { timeout: 60_000 }).toBeGreaterThan(0);
      expect(await page.getByTestId("disk-inspect").innerText()).toContain("read from the image");

      // Record every value the progress bar shows, however quickly the conversion goes.
      await page.evaluate(() => {
        const w = window as unknown as { __progress: number[] };
        w.__progress = [];
        const seen = () =>
          document.querySelectorAll("[data-testid=conversion-progress]").forEach((el) => w.__progress.push(Number(el.getAttribute("aria-valuenow"))));
        new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
      });
      // The convert answer (its job at 0%) is held until the stream has shown later progress or
      // the end: the order a loaded machine once delivered them in, when the bar went 0, 4, 0.
      await page.route(/\/api\/trpc\/[^?]*artifacts\.convert/, async (route) => {
        const response = await route.fetch();
        await page
          .waitForFunction(
            () =>
              (window as unknown as { __progress: number[] }).__progress.some((p) => p > 0) ||
              document.querySelector("[data-testid=conversion-job][data-state=succeeded]") !== null,
            null,
            { timeout: 60_000 },
          )
          .catch(() => undefined);
        await route.fulfill({ response });
      });
      await page.getByTestId("convert-qcow2").click();

      const job = page.locator("[data-testid=conversion-job][data-format=qcow2]");
      await expect.poll(() => job.getAttribute("data-state"), { timeout: 5 * 60_000, interval: 250 }).toBe("succeeded");
      expect(await job.getByTestId("conversion-percent").innerText()).toBe("100%");
      const progress = await page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
      expect(progress.length).toBeGreaterThan(0);
      expect(Math.max(...progress)).toBe(100);
      // The bar only moves forward.
      expect(progress).toEqual([...progress].sort((a, b) => a - b));

      // The finished file is listed with the others, with its own checksum.
      const row = artifacts.locator("[data-testid=artifact-row]").filter({ has: page.locator("code", { hasText: /\.qcow2$/ }) });
      await row.waitFor({ timeout: 30_000 });
      const name = (await row.getAttribute("data-name"))!;
      expect(name).toMatch(/\.qcow2$/);
      await expect
        .poll(() => row.locator("[data-sha256]").getAttribute("data-sha256", { timeout: 1000 }).catch(() => null), { timeout: 180_000, interval: 500 })
        .toMatch(/^[0-9a-f]{64}$/);
      const shownSha = (await row.locator("[data-sha256]").getAttribute("data-sha256"))!;

      const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("artifact-download").click()]);
      expect(download.suggestedFilename()).toBe(name);
      const downloaded = await download.path();
      expect(await download.failure()).toBeNull();
      const onDisk = join(buildPaths(dataDir, first.id).output, name);
      const [gotSha, diskSha] = await Promise.all([sha256File(downloaded), sha256File(onDisk)]);
      expect(gotSha).toBe(diskSha);
      expect(shownSha).toBe(diskSha);

      // The server sends the length, so the browser shows real download progress, and a
      // resumed download gets the rest.
      const size = (await stat(onDisk)).size;
      const whole = await rawGet(`${server.url}${await row.getByTestId("artifact-download").getAttribute("href")}`);
      expect(whole.status).toBe(200);
      expect(whole.headers["content-length"]).toBe(String(size));
      expect(whole.headers["transfer-encoding"]).toBeUndefined();
      expect(whole.bytes).toBe(size);
      const rest = await rawGet(`${server.url}/api/builds/${first.id}/artifacts/${encodeURIComponent(name)}`, { Range: `bytes=${size - 1000}-` });
      expect(rest.status).toBe(206);
      expect(rest.headers["content-length"]).toBe("1000");
      expect(rest.headers["content-range"]).toBe(`bytes ${size - 1000}-${size - 1}/${size}`);

      // A second request reuses the file instead of converting again.
      await page.getByTestId("convert-qcow2").click();
      await expect.poll(() => page.getByTestId("conversion-notice").innerText().catch(() => ""), { timeout: 15_000 }).toContain("reused");
      expect(await artifacts.locator("[data-testid=artifact-row]").filter({ has: page.locator("code", { hasText: /\.qcow2$/ }) }).count()).toBe(1);
      await context.close();
    },
    8 * 60_000,
  );

  it(
    "boots the build: the login shows in the console panel, a typed command answers, Stop turns the VM off",
    async () => {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1200 } });
      const page = await signIn(context, server);
      await page.goto(`${server.url}/builds/${first.id}`);

      // The sections above the VM panel read the image and grow when their answers come, moving
      // the Boot button down: a click as one lands hits what took its place (the click was lost
      // once, under load). So they are waited for first, and the panel's run list too.
      await page.getByTestId("disk-inspect").waitFor({ timeout: 60_000 });
      await page.getByTestId("uki-inspect").waitFor({ timeout: 60_000 });
      await page.getByText("This build is not signed and has no verity root.").waitFor({ timeout: 60_000 });
      const panel = page.getByTestId("vm-panel");
      await panel.locator("[data-testid=vm-run][data-purpose=check]").waitFor({ timeout: 60_000 });
      await panel.getByTestId("vm-boot").click();
      // The panel showed the boot check's run before; the new one is a console session.
      const run = panel.locator("[data-testid=vm-run][data-purpose=console]");
      await Promise.race([
        run.waitFor({ timeout: 60_000 }).catch(async (e: unknown) => {
          // What the page showed instead, for the one reading the failure.
          await page.screenshot({ path: join(tmpdir(), "debian-12-console-boot.png"), fullPage: true }).catch(() => undefined);
          throw new Error(`no console run shown (screenshot in ${tmpdir()}/debian-12-console-boot.png); the panel says:\n${await panel.innerText().catch((x: unknown) => String(x))}\n${String(e)}`);
        }),
        panel
          .getByTestId("vm-start-error")
          .waitFor({ timeout: 90_000 })
          .then(async () => {
            throw new Error(`the VM did not start: ${await panel.getByTestId("vm-start-error").innerText()}`);
          }),
      ]);
      expect(["kvm", "tcg"]).toContain(await run.getByTestId("vm-accel").getAttribute("data-accel"));

      const terminal = panel.getByTestId("vm-terminal");
      await terminal.locator(".xterm-rows").waitFor({ timeout: 30_000 });
      // xterm stops drawing while it is off screen.
      await terminal.scrollIntoViewIfNeeded();
      const vmState = () => run.getAttribute("data-state");
      const failIfEnded = async () => {
        const state = await vmState();
        if (state === "stopped" || state === "failed")
          throw new Error(`the VM ended (${state}): ${await run.getByTestId("vm-message").innerText().catch(() => "")}\n${await screenText(terminal)}`);
      };

      // The rows show only the screen; lines seen once are remembered, as they may scroll away.
      let sawAutologin = false;
      await expect
        .poll(
          async () => {
            await failIfEnded();
            const text = await screenText(terminal);
            sawAutologin ||= /login: root \(automatic login\)/.test(text);
            return sawAutologin && /root@immutable-debian:~#/.test(text);
          },
          { timeout: LOGIN_MS, interval: 250 },
        )
        .toBe(true);

      await expect.poll(() => terminal.getAttribute("data-interactive"), { timeout: 10_000 }).toBe("true");
      await terminal.locator(".xterm-screen").click();
      await page.keyboard.type("echo $((6*7))");
      await page.keyboard.press("Enter");
      await expect
        .poll(
          async () => {
            await failIfEnded();
            return screenText(terminal);
          },
          { timeout: 60_000, interval: 250 },
        )
        .toMatch(/^42 *$/m);

      await panel.getByTestId("vm-stop").click();
      await expect.poll(vmState, { timeout: 30_000, interval: 250 }).toBe("stopped");
      expect(await run.getByTestId("vm-message").innerText()).toBe("stopped");
      await expect.poll(() => panel.getByTestId("vm-stop").count(), { timeout: 10_000 }).toBe(0);
      expect(await terminal.getAttribute("data-interactive")).toBeNull();
      const row = panel.locator(`[data-testid=vm-run-row][data-run-id="${await run.getAttribute("data-run-id")}"]`);
      expect(await row.getAttribute("data-state")).toBe("stopped");
      await context.close();
    },
    LOGIN_MS + 3 * 60_000,
  );
});

describe("the persistent data partition's build", () => {
  it(
    "succeeded, and its boot check keeps a file across a reboot",
    async () => {
      const built = await until(persistentId, ended);
      expect(built.message).toBeNull();
      expect(built.state).toBe("succeeded");
      const done = await untilRun(persistentId, undefined, (r) => r.purpose === "check" && !r.live && r.verdict !== null);
      console.log(done.items.map((i) => `${i.passed ? "pass" : "FAIL"} ${i.label}: ${i.detail}`).join("\n"));
      expect(done.items.filter((i) => !i.passed)).toEqual([]);
      expect(done.items.map((i) => i.id).sort()).toEqual(["login", "persistent-kept", "persistent-mounted", "reboot", "root-format", "root-read-only", "systemd-boot", "uki"]);
      expect(done.verdict).toBe("passed");
      expect((await api().query<BuildDetail>("builds.get", { id: persistentId })).bootCheck).toEqual({ runId: done.id, verdict: "passed" });
    },
    BUILD_MS + CHECK_MS,
  );
});


describe("a VM when the server stops", () => {
  it("is stopped with it, leaving no QEMU behind, and is recorded as stopped when the server starts again", async () => {
    const run = await api().mutation<VmRunView>("vms.start", { buildId: first.id, memoryMib: 1024, cpus: 1 });
    expect(run.state).toBe("running");
    await api().mutation("vms.input", { runId: run.id, data: "\r" });
    const runDir = join(dataDir, "vms", String(run.id));
    expect((await processesMentioning(runDir)).length).toBe(1);
    await server.stop();
    expect(await processesMentioning(runDir)).toEqual([]);

    server = await startServer({ dataDir });
    const after = await api().query<VmRunView>("vms.get", { runId: run.id });
    expect(after.state).toBe("stopped");
    expect(after.message).toMatch(/the server stopped/);
    await expect(api().mutation("vms.input", { runId: run.id, data: "ls\n" })).rejects.toThrow(/is not running/);
    await expect(api().mutation("vms.stop", { runId: run.id })).rejects.toThrow(/is not running/);
  });
});
