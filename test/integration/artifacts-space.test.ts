// Space in the data folder: usage per build, deleting one build's outputs (never a queued or
// running build's), keeping only the newest N builds of a profile.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure } from "@/test/support/errors";

const dataDir = await mkdtemp(join(tmpdir(), "artifacts-space-"));
process.env.IMAGE_STUDIO_DATA = dataDir;

const { getDb } = await import("@/server/db/client");
const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
const { createCaller } = await import("@/server/routers");
const H = await import("./artifacts-helpers");

const db = getDb();
const queue = buildQueue(db, { dataDir, concurrency: 1, mkosi: ["false"] });
const host = () => ({ osId: "debian", aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] });
const api = createCaller({ db, host });
type Fake = Awaited<ReturnType<typeof H.fakeBuild>>;
let profileId: number;
let otherProfileId: number;
const b: Record<string, Fake> = {};

async function withOutput(f: Fake, bytes: number) {
  await writeFile(join(f.paths.output, "img_1.raw"), Buffer.alloc(bytes, 7));
  await mkdir(f.paths.workspace, { recursive: true });
  await writeFile(join(f.paths.workspace, "leftover"), "x");
  return f;
}

beforeAll(async () => {
  await queue.ready;
  profileId = (await api.profiles.create({ name: "edge", presetId: "immutable-debian-12" })).id;
  otherProfileId = (await api.profiles.create({ name: "other", presetId: "immutable-debian-12" })).id;
  // Oldest first. The running and queued rows are not in the queue: only their state says so.
  b.s1 = await withOutput(await H.fakeBuild(db, dataDir, "succeeded", profileId, "edge"), 10_000);
  b.f2 = await withOutput(await H.fakeBuild(db, dataDir, "failed", profileId, "edge"), 1_000);
  b.s3 = await withOutput(await H.fakeBuild(db, dataDir, "succeeded", profileId, "edge"), 30_000);
  b.o4 = await withOutput(await H.fakeBuild(db, dataDir, "succeeded", otherProfileId, "other"), 5_000);
  b.r5 = await withOutput(await H.fakeBuild(db, dataDir, "running", profileId, "edge"), 2_000);
  b.s6 = await withOutput(await H.fakeBuild(db, dataDir, "succeeded", profileId, "edge"), 60_000);
  b.q7 = await H.fakeBuild(db, dataDir, "queued", profileId, "edge");
});

afterAll(async () => {
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});


describe("space", () => {
  it("reports free space and each build's outputs and log", async () => {
    await mkdir(join(dataDir, "cache", "packages"), { recursive: true });
    await writeFile(join(dataDir, "cache", "packages", "a.deb"), Buffer.alloc(50_000, 1));
    const u = await api.space.usage();
    expect(u.dataDir).toBe(dataDir);
    expect(u.totalBytes).toBeGreaterThan(u.freeBytes);
    expect(u.freeBytes).toBeGreaterThan(0);
    expect(u.cacheBytes).toBeGreaterThanOrEqual(50_000);
    const s6 = u.builds.find((x) => x.buildId === b.s6!.id)!;
    expect(s6).toMatchObject({ profileId, profileName: "edge", state: "succeeded", outputApparentBytes: 60_000, logBytes: `log of build ${b.s6!.id}\n`.length });
    expect(s6.outputDiskBytes).toBeGreaterThanOrEqual(60_000);
    expect(s6.endedAt).not.toBeNull();
    expect(u.builds.map((x) => x.buildId)).toEqual(Object.values(b).map((f) => f.id).sort((x, y) => y - x));
  });

  it("refuses to delete the outputs of a running or queued build, and of an unknown one", async () => {
    for (const f of [b.r5!, b.q7!]) {
      const e = await failure(api.space.deleteArtifacts({ buildId: f.id }));
      expect(e.code).toBe("CONFLICT");
      expect(existsSync(f.paths.output)).toBe(true);
    }
    expect((await failure(api.space.deleteArtifacts({ buildId: 9999 }))).code).toBe("NOT_FOUND");
  });

  it("deletes one build's outputs and workspace, keeping its log and snapshot", async () => {
    const r = await api.space.deleteArtifacts({ buildId: b.o4!.id });
    expect(r.buildId).toBe(b.o4!.id);
    expect(r.freedBytes).toBeGreaterThanOrEqual(5_000);
    expect(existsSync(b.o4!.paths.output)).toBe(false);
    expect(existsSync(b.o4!.paths.workspace)).toBe(false);
    expect(existsSync(b.o4!.paths.log)).toBe(true);
    expect(existsSync(b.o4!.paths.project)).toBe(true);
    const list = await api.artifacts.list({ buildId: b.o4!.id });
    expect(list).toMatchObject({ outputExists: false, files: [] });
    expect((await api.builds.get({ id: b.o4!.id })).state).toBe("succeeded");
  });

  it("keeps the newest N finished builds of a profile and never touches a running one", async () => {
    const r = await api.space.keepNewest({ profileId, keep: 2 });
    expect(r.kept).toEqual([b.s6!.id, b.s3!.id]);
    expect(r.deleted.map((d) => d.buildId).sort()).toEqual([b.s1!.id, b.f2!.id].sort());
    expect(r.freedBytes).toBe(r.deleted.reduce((s, d) => s + d.freedBytes, 0));
    expect(r.freedBytes).toBeGreaterThanOrEqual(11_000);
    for (const f of [b.s6!, b.s3!, b.r5!, b.q7!]) expect(existsSync(f.paths.output)).toBe(true);
    for (const f of [b.s1!, b.f2!]) {
      expect(existsSync(f.paths.output)).toBe(false);
      expect(existsSync(f.paths.log)).toBe(true);
    }
    // Asking again frees nothing more.
    expect((await api.space.keepNewest({ profileId, keep: 2 })).deleted).toEqual([]);
    expect((await failure(api.space.keepNewest({ profileId: 9999, keep: 1 }))).code).toBe("NOT_FOUND");
    expect((await failure(api.space.keepNewest({ profileId, keep: -1 }))).code).toBe("BAD_REQUEST");
  });
});
