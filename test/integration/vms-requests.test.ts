// VM requests refused at once, with the reason, before any QEMU starts: a build for another
// architecture (a boot check would otherwise wait out its login timeout), a build that failed
// or has no disk image, an unknown one, sizes out of range, a machine without QEMU or its
// firmware. The real VMs: test/e2e/debian-12.test.ts.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dataDir = await mkdtemp(join(tmpdir(), "vms-arch-"));
process.env.IMAGE_STUDIO_DATA = dataDir;

const { getDb } = await import("@/server/db/client");
const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
const { vmRuns } = await import("@/server/db/schema");
const { PRESETS } = await import("@/server/mkosi/presets");
const { profileDocumentSchema } = await import("@/server/mkosi/profile");
const { createCaller } = await import("@/server/routers");
const { vms } = await import("@/server/vms/service");
const { findFirmware } = await import("@/server/vms/host");
const H = await import("./artifacts-helpers");

const db = getDb();
buildQueue(db, { dataDir, concurrency: 1, mkosi: ["false"] });
const api = createCaller({ db, host: () => ({ osId: "debian", aptRepositories: [] }) });
const debian = PRESETS.find((p) => p.id === "immutable-debian-12")!.build({ aptRepositories: [] });

/** A succeeded build with a disk image, queued with this document. */
async function builtFor(settings: Record<string, unknown>) {
  const b = await H.fakeBuild(db, dataDir, "succeeded");
  await H.makeDiskImage(join(b.paths.output, "img_1.raw"));
  await writeFile(b.paths.profile, JSON.stringify(profileDocumentSchema.parse({ ...debian, settings: { ...debian.settings, ...settings } })));
  return b;
}

afterAll(async () => {
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("a build for another architecture", () => {
  it("is refused for a boot check and for a console, at once and with the reason, and no VM run is recorded", async () => {
    const arm = await builtFor({ Architecture: "arm64" });
    const why = /build \d+ is an arm64 image \(Architecture=arm64\) and the VMs here run x86-64 \(qemu-system-x86_64\): it cannot boot in them/;
    await expect(api.vms.bootCheck({ buildId: arm.id })).rejects.toMatchObject({ code: "PRECONDITION_FAILED", message: expect.stringMatching(why) });
    await expect(api.vms.start({ buildId: arm.id })).rejects.toMatchObject({ code: "PRECONDITION_FAILED", cause: { problems: [{ path: ["buildId"] }] } });
    expect(db.select().from(vmRuns).all()).toEqual([]);
  });

  it("is not what an x86-64 build is taken for", async () => {
    const x86 = await builtFor({ Architecture: "x86-64" });
    await expect(vms(db).refuseForeignArchitecture(x86.id)).resolves.toBeUndefined();
  });
});

describe("bad VM requests", () => {
  it("refuse a build that failed, one without a disk image, an unknown build and silly sizes, clearly", async () => {
    await expect(api.vms.start({ buildId: 999_999 })).rejects.toThrow(/build 999999 does not exist/);
    const cancelled = await H.fakeBuild(db, dataDir, "cancelled");
    await expect(api.vms.start({ buildId: cancelled.id })).rejects.toThrow(/only a successful build has an image to boot/);
    const empty = await H.fakeBuild(db, dataDir, "succeeded");
    await expect(api.vms.start({ buildId: empty.id })).rejects.toThrow(/has no disk image to boot/);
    await expect(api.vms.bootCheck({ buildId: empty.id })).rejects.toThrow(/has no disk image to boot/);
    const good = await builtFor({});
    await expect(api.vms.start({ buildId: good.id, memoryMib: 100 })).rejects.toThrow(/memoryMib[\s\S]*at least 512/);
    await expect(api.vms.start({ buildId: good.id, cpus: 0 })).rejects.toThrow(/cpus[\s\S]*at least 1/);
    expect(await api.vms.list({ buildId: empty.id })).toEqual([]);
    expect(await api.vms.list({ buildId: good.id })).toEqual([]);
  });

  it("say what to install when QEMU or the firmware is missing", async () => {
    const good = await builtFor({});
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(api.vms.start({ buildId: good.id })).rejects.toThrow(/QEMU is not installed.*apt-get install -y qemu-system-x86/);
    } finally {
      process.env.PATH = path;
    }
    expect(() => findFirmware([{ code: "/nonexistent/CODE.fd", varsTemplate: "/nonexistent/VARS.fd" }])).toThrow(/apt-get install -y ovmf/);
  });
});
