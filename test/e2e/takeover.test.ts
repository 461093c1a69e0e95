// Upgrading from a root-run version: a data folder written by the server running as root (its
// database, token, profiles, a build with its log and disk image, a conversion made by that
// server, a VM run's console) is taken over by scripts/run-server.sh for the service user,
// once, with nothing lost, and closed to everyone else. Needs root (CI runs as root).
import { execa } from "execa";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPaths } from "@/server/builds/paths";
import { openDatabase } from "@/server/db/client";
import { vmRuns } from "@/server/db/schema";
import { fakeBuild, makeDiskImage } from "@/test/integration/artifacts-helpers";
import { SERVICE_USER, startServer } from "@/test/support/server";

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "takeover-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Every path below `dir` not owned by `uid`:`gid`, and every one others can read. */
async function strays(dir: string, uid: number, gid: number): Promise<{ foreign: string[]; open: string[] }> {
  const foreign: string[] = [];
  const open: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    const s = await stat(p).catch(() => undefined);
    if (!s) continue;
    if (s.uid !== uid || s.gid !== gid) foreign.push(p);
    if (s.mode & 0o004) open.push(p);
  }
  return { foreign, open };
}

describe("a data folder a root-run server wrote", () => {
  it("is taken over by the service user with its profiles, builds, logs, artifacts, conversions and VM runs", async () => {
    expect(process.getuid?.(), "this test makes a root-run data folder: run it as root").toBe(0);
    // The old way: the bundle run by root itself.
    const old = await startServer({ dataDir, direct: true });
    const profile = await old.api.mutation<{ id: number; name: string }>("profiles.create", { name: "kept across the upgrade", presetId: "immutable-debian-12" });
    await old.stop();

    // A finished build of that profile, as root left it (with a disk image), and a VM run.
    const db = openDatabase(join(dataDir, "image-studio.sqlite"));
    const build = await fakeBuild(db, dataDir, "succeeded", profile.id, profile.name);
    await makeDiskImage(join(build.paths.output, "old_1.raw"));
    db.insert(vmRuns)
      .values({ buildId: build.id, purpose: "console", state: "stopped", memoryMib: 2048, cpus: 2, startedAt: new Date(), endedAt: new Date(), message: "stopped" })
      .run();
    const run = db.$client.prepare("select max(id) as id from vm_runs").get() as { id: number };
    const consoleLog = join(dataDir, "vms", String(run.id), "console.log");
    await execa("mkdir", ["-p", join(dataDir, "vms", String(run.id))]);
    await writeFile(consoleLog, "login: root (automatic login)\n");
    db.$client.close();

    // A conversion made by the root-run server.
    const again = await startServer({ dataDir, direct: true });
    const job = await again.api.mutation<{ id: number }>("artifacts.convert", { buildId: build.id, name: "old_1.raw", format: "qcow2" });
    await expect.poll(async () => (await again.api.query<{ id: number; state: string }[]>("artifacts.conversions", { buildId: build.id })).find((j) => j.id === job.id)?.state, { timeout: 60_000 }).toBe("succeeded");
    const token = again.token;
    await again.stop();
    expect((await stat(join(dataDir, "image-studio.sqlite"))).uid).toBe(0);

    // The new way: run-server.sh, as root, gives the folder to the service user and runs as it.
    const uid = Number((await execa("id", ["-u", SERVICE_USER])).stdout);
    const gid = Number((await execa("id", ["-g", SERVICE_USER])).stdout);
    const server = await startServer({ dataDir });
    try {
      expect(server.output()).toContain(`giving ${dataDir} to ${SERVICE_USER}`);
      expect(server.token).toBe(token);
      const { foreign, open } = await strays(dataDir, uid, gid);
      expect(foreign).toEqual([]);
      expect(open).toEqual([]);
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);

      const api = server.api;
      expect((await api.query<{ id: number; name: string }[]>("profiles.list")).map((p) => p.name)).toContain("kept across the upgrade");
      const builds = await api.query<{ id: number; state: string }[]>("builds.list", {});
      expect(builds.map((b) => [b.id, b.state])).toContainEqual([build.id, "succeeded"]);
      const log = await api.fetch(`/api/builds/${build.id}/log`);
      expect(await log.text()).toBe(await readFile(buildPaths(dataDir, build.id).log, "utf8"));
      const conversions = await api.query<{ id: number; state: string; target: string }[]>("artifacts.conversions", { buildId: build.id });
      expect(conversions.map((j) => [j.id, j.state])).toEqual([[job.id, "succeeded"]]);
      const converted = await api.fetch(`/api/builds/${build.id}/artifacts/${conversions[0]!.target}`, { method: "HEAD" });
      expect(converted.status).toBe(200);
      const runs = await api.query<{ id: number; state: string }[]>("vms.list", { buildId: build.id });
      expect(runs.map((r) => r.id)).toContain(run.id);
      expect(await (await api.fetch(`/api/vms/${run.id}/console`)).text()).toBe("login: root (automatic login)\n");
      // The server itself runs as the service user.
      const status = await readFile(`/proc/${server.pid}/status`, "utf8");
      expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).toEqual([String(uid), String(uid)]);
    } finally {
      await server.stop();
    }

    // Once: the next start finds nothing to take over.
    const next = await startServer({ dataDir });
    try {
      expect(next.output()).not.toContain("giving");
    } finally {
      await next.stop();
    }
  });
});
