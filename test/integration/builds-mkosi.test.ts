// Builds with the real mkosi through the tRPC API, on a temporary data folder and SQLite file:
// (a) the Debian preset builds, and real tools find a GPT with an ESP and a squashfs root in
// the disk image; (b) a second build, with the package cache warm, is cancelled while it
// installs Debian and leaves no process and no mount behind; (c) a log subscription that
// disconnects and resumes from its last event id gets every byte exactly once.
// One cold build (about 2.5 min) and part of a second; run as root on a host set up by
// scripts/setup-host.sh.
import { execa } from "execa";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPaths, packageCacheDir } from "@/server/builds/paths";
import { mountsUnder, processesMentioning } from "@/server/builds/procs";
import { buildQueue, closeBuildQueue } from "@/server/builds/queue";
import { ptyEnv } from "@/server/builds/runner";
import type { BuildDetail } from "@/server/builds/service";
import { openDatabase, type Db } from "@/server/db/client";
import { hostFacts } from "@/server/host/facts";
import { createCaller } from "@/server/routers";
import { logText, readSse, sse, type SseEvent } from "./builds-helpers";

const ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

let dataDir: string;
let db: Db;
let api: ReturnType<typeof createCaller>;
const ctx = () => ({ db, host: hostFacts });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "builds-mkosi-"));
  db = openDatabase(join(dataDir, "image-studio.sqlite"));
  buildQueue(db, { dataDir, concurrency: 1 });
  api = createCaller(ctx());
});
afterAll(async () => {
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
    const started = await api.builds.start({ profileId: profile.id });
    expect(started.state).toBe("queued");

    // (c) Follow the log over SSE; drop the connection after a few events, twice, and come
    // back each time with the last event id, as the browser's EventSource does.
    const received: SseEvent[] = [];
    let lastId: string | undefined;
    for (let round = 0; ; round++) {
      const res = await sse(ctx(), "builds.log", { id: started.id }, lastId);
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
