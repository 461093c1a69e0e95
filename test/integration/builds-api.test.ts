// The builds API (tRPC caller, the HTTP/SSE adapter, the log download route) on a real
// SQLite file, with a stand-in for mkosi: a script that takes mkosi's arguments, prints
// mkosi-style coloured steps and writes an output, so queueing, cancelling, restarts and log
// resumption are tested in seconds. test/integration/builds-mkosi.test.ts runs the real mkosi.
import { TRPCError } from "@trpc/server";
import { execa } from "execa";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failure } from "@/test/support/errors";

const dataDir = await mkdtemp(join(tmpdir(), "builds-api-"));
// The log download route reads the data folder from the environment, like the server.
process.env.IMAGE_STUDIO_DATA = dataDir;

const { getDb, openDatabase } = await import("@/server/db/client");
const { builds } = await import("@/server/db/schema");
const { AppError } = await import("@/server/errors");
const { buildQueue, closeBuildQueue, BuildQueue } = await import("@/server/builds/queue");
const { buildPaths } = await import("@/server/builds/paths");
const { processesMentioning, isAlive } = await import("@/server/builds/procs");
const { PTY_HELPER, python } = await import("@/server/builds/runner");
const { preflight, buildNeeds, MIN_FREE_BYTES } = await import("@/server/builds/preflight");
const { createCaller } = await import("@/server/routers");
const { readSse, logText } = await import("@/test/support/sse");
const { serveApp } = await import("@/test/support/app-server");
const { PRESETS } = await import("@/server/mkosi/presets");
type ToolStatus = import("@/server/host/tools").ToolStatus;
type BuildDetail = import("@/server/builds/service").BuildDetail;

const HOST = {
  osId: "debian",
  aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }],
};
const host = () => HOST;

// The stand-in for mkosi. What it does is read from a file beside it, so a test can change it.
const FAKE = join(dataDir, "fake-mkosi");
const MODE = join(dataDir, "fake-mode");
const FAKE_SCRIPT = `#!/bin/bash
out=""
while [ $# -gt 0 ]; do case "$1" in --output-dir) out="$2"; shift;; esac; shift; done
mode=$(cat ${MODE})
step() { printf '\\342\\200\\243 %s\\033[0;1;39m%s\\033[0m\\n' "$1" "$2"; }
step "" "Building fake image"
step " " "Installing Debian"
for i in $(seq 1 \${LINES_OUT:-40}); do echo "Unpacking package-$i (1.0) ..."; done
case "$mode" in
  slow) echo "waiting"; trap 'echo "got TERM"; exit 130' TERM; while true; do sleep 0.1; done;;
  fail) echo "E: Unable to locate package nope"; printf '\\342\\200\\243 \\033[31;1m"apt-get install nope" returned non-zero exit code 100.\\033[0m\\n'; exit 100;;
  noefi) step " " "Generating disk image"; echo disk > "$out/img_1.raw"; exit 0;;
  *) step " " "Generating disk image"; sleep 0.2; echo disk > "$out/img_1.raw"; echo uki > "$out/img_1.efi"; step " " "Saving manifest"; exit 0;;
esac
`;

const db = getDb();
const queue = buildQueue(db, { dataDir, concurrency: 1, mkosi: [FAKE] });
const api = createCaller({ db, host });
// The HTTP side (SSE, the log download) through the server's own request handler, with the token.
const app = await serveApp(db, dataDir);
const sse = (procedure: string, input: unknown, lastEventId?: string) => app.api.sse(procedure, input, lastEventId);

let profileId: number;

beforeAll(async () => {
  await writeFile(FAKE, FAKE_SCRIPT);
  await chmod(FAKE, 0o755);
  await writeFile(MODE, "ok");
  profileId = (await api.profiles.create({ name: "edge", presetId: "immutable-debian-12" })).id;
});
afterAll(async () => {
  await app.close();
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

const mode = (m: "ok" | "slow" | "fail" | "noefi") => writeFile(MODE, m);

/** The build's final state, through the events subscription (which ends with it). */
async function finished(id: number): Promise<BuildDetail> {
  let last: BuildDetail | undefined;
  for await (const b of await api.builds.events({ id })) last = b;
  return last!;
}

/** Waits, through the events subscription, for a build to satisfy `test`. */
async function until(id: number, test: (b: BuildDetail) => boolean): Promise<BuildDetail> {
  const controller = new AbortController();
  for await (const b of await createCaller({ db, host }, { signal: controller.signal }).builds.events({ id })) {
    if (test(b)) {
      controller.abort();
      return b;
    }
  }
  throw new Error(`build ${id} ended without reaching the condition`);
}


describe("starting a build", () => {
  it("snapshots the profile, runs mkosi's command in the build folder, and records the result", async () => {
    const b = await api.builds.start({ profileId });
    expect(b.state).toBe("queued");
    expect(b.profileName).toBe("edge");
    const paths = buildPaths(dataDir, b.id);
    expect(existsSync(join(paths.project, "mkosi.conf"))).toBe(true);
    const done = await finished(b.id);
    expect(done.state).toBe("succeeded");
    expect(done.exitCode).toBe(0);
    expect(done.command).toEqual([FAKE, "--directory", paths.project, "--output-dir", paths.output, "--workspace-dir", paths.workspace, "--package-cache-dir", join(dataDir, "cache", "packages", "debian~bookworm~x86-64"), "--force", "build"]);
    expect(done.mkosiVersion).toMatch(/^\d+/);
    expect(done.steps.map((s) => [s.depth, s.name])).toEqual([[0, "Building fake image"], [1, "Installing Debian"], [1, "Generating disk image"], [1, "Saving manifest"]]);
    expect(done.steps.every((s) => s.endedAt !== null && s.durationMs! >= 0)).toBe(true);
    expect(done.outputBytes).toBe("disk\n".length + "uki\n".length);
    expect(done.durationMs).toBeGreaterThan(0);
    expect(done.logBytes).toBe((await stat(paths.log)).size);
    expect(existsSync(paths.workspace)).toBe(false);
    const log = await readFile(paths.log, "utf8");
    expect(log).toContain("\x1b[0;1;39mInstalling Debian\x1b[0m\r\n");
    // The profile's files are what it was built from.
    const files = await api.builds.files({ id: b.id });
    const conf = files.find((f) => f.path === "mkosi.conf")!;
    expect(conf.content).toBe(await readFile(join(paths.project, "mkosi.conf"), "utf8"));
    expect(files.map((f) => f.path)).toContain("mkosi.repart/10-root.conf");
  });

  it("records a failure with the lines that explain it", async () => {
    await mode("fail");
    const b = await api.builds.start({ profileId });
    const done = await finished(b.id);
    expect(done.state).toBe("failed");
    expect(done.exitCode).toBe(100);
    expect(done.message).toBe("mkosi exited with status 100");
    expect(done.failureLines).toEqual(["E: Unable to locate package nope", '‣ "apt-get install nope" returned non-zero exit code 100.']);
    expect(done.steps.at(-1)?.name).toBe("Installing Debian");
    await mode("ok");
  });

  it("fails a build that exits 0 without a UKI, saying why", async () => {
    await mode("noefi");
    const done = await finished((await api.builds.start({ profileId })).id);
    expect(done.state).toBe("failed");
    expect(done.message).toMatch(/asks for a unified kernel image, but mkosi exited with status 0 without one.*ukify/);
    expect(await readFile(buildPaths(dataDir, done.id).log, "utf8")).toContain("[image-studio] the profile asks for a unified kernel image, but mkosi exited with status 0 without one");
    await mode("ok");
  });

  it("says which profile does not exist, and rejects bad input naming the field", async () => {
    const e = await failure(api.builds.start({ profileId: 9999 }));
    expect(e.code).toBe("NOT_FOUND");
    const bad = await failure(api.builds.start({ profileId: -1 } as never));
    expect(bad.code).toBe("BAD_REQUEST");
    expect(bad.message).toMatch(/profileId/);
  });
});

describe("the queue", () => {
  it("runs one build at a time, shows the others with their place, and removes a queued one", async () => {
    await mode("slow");
    const first = await api.builds.start({ profileId });
    const second = await api.builds.start({ profileId });
    const third = await api.builds.start({ profileId });
    await until(first.id, (b) => b.state === "running");
    const q = await api.builds.queue();
    expect(q.concurrency).toBe(1);
    expect(q.running.map((b) => b.id)).toEqual([first.id]);
    expect(q.queued.map((b) => [b.id, b.queuePosition])).toEqual([[second.id, 1], [third.id, 2]]);

    const removed = await api.builds.cancel({ id: second.id });
    expect(removed.state).toBe("cancelled");
    expect(removed.message).toMatch(/removed from the queue/);
    expect((await api.builds.get({ id: third.id })).queuePosition).toBe(1);
    expect(existsSync(buildPaths(dataDir, second.id).log)).toBe(false);

    // Cancelling the running one lets the next start.
    await mode("ok");
    const stopped = await api.builds.cancel({ id: first.id });
    expect(stopped.state).toBe("cancelled");
    expect(stopped.endedAt).not.toBeNull();
    expect(await readFile(buildPaths(dataDir, first.id).log, "utf8")).toContain("got TERM");
    expect((await finished(third.id)).state).toBe("succeeded");

    const e = await failure(api.builds.cancel({ id: first.id }));
    expect(e.code).toBe("CONFLICT");
    expect(e.message).toMatch(/already ended \(cancelled\)/);
  });

  it("cancels a running build and everything under it within 10 s, keeping its log", async () => {
    await mode("slow");
    const b = await api.builds.start({ profileId });
    await until(b.id, (x) => x.currentStep === "Installing Debian");
    const t0 = Date.now();
    const done = await api.builds.cancel({ id: b.id });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(done.state).toBe("cancelled");
    expect(done.message).toBe("cancelled");
    const dir = buildPaths(dataDir, b.id).dir;
    expect(await processesMentioning(dir)).toEqual([]);
    expect(done.logBytes).toBeGreaterThan(0);
    await mode("ok");
  });

  it("lists builds newest first, per profile and by state", async () => {
    const other = await api.profiles.create({ name: "other", presetId: "immutable-debian-12" });
    const b = await finished((await api.builds.start({ profileId: other.id })).id);
    const all = await api.builds.list();
    expect(all[0]!.id).toBe(b.id);
    expect(all.map((x) => x.id)).toEqual([...all.map((x) => x.id)].sort((x, y) => y - x));
    expect((await api.builds.list({ profileId: other.id })).map((x) => x.id)).toEqual([b.id]);
    const failed = await api.builds.list({ state: "failed" });
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((x) => x.state === "failed")).toBe(true);
    expect((await api.builds.list({ beforeId: b.id, limit: 1 }))[0]!.id).toBeLessThan(b.id);
    // A build outlives its profile.
    await api.profiles.delete({ id: other.id });
    const kept = await api.builds.get({ id: b.id });
    expect(kept.profileId).toBeNull();
    expect(kept.profileName).toBe("other");
  });
});

describe("diff", () => {
  it("shows what changed against the profile now and against another build", async () => {
    const before = await finished((await api.builds.start({ profileId })).id);
    const profile = await api.profiles.get({ id: profileId });
    const doc = structuredClone(profile.document);
    doc.settings.Hostname = "changed-host";
    doc.extraFiles.push({ path: "etc/motd", content: "hello\n", mode: "0644" });
    await api.profiles.save({ id: profileId, revision: profile.revision, document: doc });

    const vsProfile = await api.builds.diff({ id: before.id, against: { profile: true } });
    const byPath = new Map(vsProfile.map((d) => [d.path, d]));
    expect(byPath.get("mkosi.conf")!.status).toBe("changed");
    expect(byPath.get("mkosi.conf")!.patch).toContain("-Hostname=immutable-debian\n+Hostname=changed-host\n");
    expect(byPath.get("mkosi.extra/etc/motd")).toMatchObject({ status: "added" });
    expect(byPath.get("mkosi.extra/etc/motd")!.patch).toContain("+hello");
    expect(byPath.get("mkosi.repart/00-esp.conf")).toEqual({ path: "mkosi.repart/00-esp.conf", status: "same", patch: "" });

    const after = await finished((await api.builds.start({ profileId })).id);
    expect(after.profileRevision).toBe(profile.revision + 1);
    const vsBuild = await api.builds.diff({ id: after.id, against: { buildId: before.id } });
    expect(vsBuild.find((d) => d.path === "mkosi.extra/etc/motd")!.status).toBe("removed");
    expect(vsBuild.find((d) => d.path === "mkosi.conf")!.patch).toContain("+Hostname=immutable-debian");
    expect((await api.builds.diff({ id: after.id, against: { profile: true } })).every((d) => d.status === "same")).toBe(true);

    const e = await failure(api.builds.diff({ id: after.id, against: { buildId: after.id } }));
    expect(e.message).toMatch(/against/);
  });
});

describe("the log over SSE", () => {
  it("streams a running build's log and resumes after a disconnect from Last-Event-ID, every byte once", async () => {
    await mode("ok");
    process.env.LINES_OUT = "3000";
    const b = await api.builds.start({ profileId });
    const first = await readSse(await sse("builds.log", { id: b.id }), (_e, all) => all.filter((x) => x.id).length >= 2);
    const data = first.filter((e) => e.id);
    expect(data).toHaveLength(2);
    const lastId = data.at(-1)!.id!;
    const rest = await readSse(await sse("builds.log", { id: b.id }, lastId));
    delete process.env.LINES_OUT;
    expect(rest.at(-1)?.event).toBe("return"); // the server ended the stream: the build finished
    const text = logText([...data, ...rest]);
    const file = await readFile(buildPaths(dataDir, b.id).log, "utf8");
    expect(text).toBe(file);
    expect(file.match(/Unpacking package-\d+/g)).toHaveLength(3000);
    expect(Number(rest.filter((e) => e.id).at(-1)!.id)).toBe(Buffer.byteLength(file));
    // The tRPC client sends lastEventId in the input on reconnect: the same resumption.
    const fromInput = await readSse(await sse("builds.log", { id: b.id, lastEventId: lastId }));
    const tail = Buffer.from(file).subarray(Number(lastId)).toString("utf8");
    expect(logText(fromInput)).toBe(tail);
  });

  it("rejects an event id past the end of a finished log", async () => {
    const b = (await api.builds.list({ state: "succeeded" }))[0]!;
    const e = await failure((async () => {
      for await (const _ of await api.builds.log({ id: b.id, lastEventId: String(b.logBytes! + 10) })) void _;
    })());
    expect(e.message).toMatch(/lastEventId/);
  });

  it("downloads the log as a file, streamed", async () => {
    const b = (await api.builds.list({ state: "succeeded" }))[0]!;
    const res = await app.api.fetch(`/api/builds/${b.id}/log`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(new RegExp(`^attachment; filename="build-${b.id}-${b.profileName}\\.log"`));
    expect(Buffer.from(await res.arrayBuffer()).equals(await readFile(buildPaths(dataDir, b.id).log))).toBe(true);
    const missing = await app.api.fetch("/api/builds/99999/log");
    expect(missing.status).toBe(404);
  });
});

describe("all builds' events", () => {
  it("sends the queued and running builds first, then every change", async () => {
    await mode("slow");
    const running = await api.builds.start({ profileId });
    await until(running.id, (b) => b.state === "running");
    const controller = new AbortController();
    const seen: BuildDetail[] = [];
    const watching = (async () => {
      for await (const b of await createCaller({ db, host }, { signal: controller.signal }).builds.events()) {
        seen.push(b);
        if (b.id === running.id && b.state === "cancelled") controller.abort();
      }
    })();
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    expect(seen[0]).toMatchObject({ id: running.id, state: "running" });
    await api.builds.cancel({ id: running.id });
    await watching;
    expect(seen.at(-1)).toMatchObject({ id: running.id, state: "cancelled" });
    await mode("ok");
  });
});

describe("preflight", () => {
  const doc = PRESETS[0]!.build(HOST);
  const tool = (name: string, found = true, problem: string | null = null): ToolStatus => ({
    name, found, version: found ? "1" : null, path: found ? `/usr/bin/${name}` : null, package: `${name}-pkg`, neededFor: "builds",
    requiredForBuilds: true, problem, fixPackage: problem ? "python3-pefile" : found ? null : `${name}-pkg`,
  });
  const allTools = () => buildNeeds(doc).tools.map((t) => tool(t.name));

  it("needs the tools of the profile's partitions and boot setup", () => {
    const names = new Set(buildNeeds(doc).tools.map((t) => t.name));
    for (const n of ["mkosi", "systemd-repart", "mksquashfs", "mkfs.vfat", "mcopy", "depmod", "bootctl", "ukify", "sfdisk"]) expect(names).toContain(n);
    expect(names).not.toContain("mkfs.erofs");
    const erofs = structuredClone(doc);
    erofs.partitions[1]!.format = "erofs";
    expect(buildNeeds(erofs).tools.find((t) => t.name === "mkfs.erofs")?.path).toEqual(["partitions", 1, "format"]);
  });

  it("passes on a machine that has everything", async () => {
    await expect(preflight(doc, { dataDir, identity: { root: false, problems: [] }, tools: allTools(), freeBytes: MIN_FREE_BYTES })).resolves.toMatchObject({ uki: true, disk: true });
  });

  it("names everything that is missing and the command that installs it", async () => {
    const tools = allTools().map((t) => (t.name === "mksquashfs" ? tool("mksquashfs", false) : t.name === "ukify" ? tool("ukify", true, "ModuleNotFoundError: No module named 'pefile'") : t));
    const e = await preflight(doc, { dataDir, identity: { root: false, problems: ["someone has no range of 65536 subordinate uids"] }, tools, freeBytes: 1024 ** 3 }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    const err = e as InstanceType<typeof AppError>;
    expect(err.code).toBe("PRECONDITION_FAILED");
    expect(err.problems.map((p) => p.path)).toEqual([["host", "user"], ["partitions", 1, "format"], ["settings", "Bootloader"], ["host", "diskSpace"]]);
    expect(err.message).toMatch(/as root/);
    expect(err.message).toMatch(/mksquashfs is missing/);
    expect(err.message).toMatch(/ukify does not work.*pefile/);
    expect(err.message).toMatch(/1\.0 GiB free/);
    expect(err.details).toMatchObject({ installCommand: "apt-get install -y mksquashfs-pkg python3-pefile", missingPackages: ["mksquashfs-pkg", "python3-pefile"] });
  });

  it("turns a failed preflight into a PRECONDITION_FAILED API error with problems", async () => {
    // A PATH without /usr/bin hides mkosi, mksquashfs, mcopy and more from the real probe.
    const path = process.env.PATH;
    process.env.PATH = "/usr/sbin:/sbin";
    try {
      const e = await failure(api.builds.start({ profileId }));
      expect(e.code).toBe("PRECONDITION_FAILED");
      const problems = (e.cause as InstanceType<typeof AppError>).problems;
      expect(problems).toContainEqual({ path: ["partitions", 1, "format"], message: "mksquashfs is missing (it makes squashfs file systems): install the squashfs-tools package" });
      expect(problems.map((p) => p.path)).toContainEqual(["host", "tools", "mkosi"]);
      // mkosi comes from backports on Debian 12: the setup script, not a bare apt-get, installs it.
      expect(e.message).toMatch(/run as root: scripts\/setup-host\.sh\.$/);
    } finally {
      process.env.PATH = path;
    }
    expect(await api.builds.list({ profileId, limit: 500 })).not.toContainEqual(expect.objectContaining({ state: "queued" }));
  });
});

describe("host tools", () => {
  it("lists each tool with its version, path and package", async () => {
    const t = await api.host.tools();
    const mkosi = t.tools.find((x) => x.name === "mkosi")!;
    expect(mkosi).toMatchObject({ found: true, package: "mkosi", requiredForBuilds: true, problem: null });
    expect(mkosi.version).toMatch(/^\d+/);
    for (const name of ["systemd-repart", "bootctl", "mksquashfs", "mkfs.vfat", "mcopy", "depmod", "qemu-img", "qemu-system-x86_64", "OVMF firmware", "ukify", "sfdisk"])
      expect(t.tools.map((x) => x.name)).toContain(name);
    expect(t.setupCommand).toBe("scripts/setup-host.sh");
    expect(t.installCommand === null).toBe(t.missingPackages.length === 0);
  });

  it("looks the tools up once per server run, and again only when asked to", async () => {
    // A stand-in mkosi first in PATH counts how often it is asked for its version.
    const bin = join(dataDir, "counting-bin");
    const count = join(dataDir, "mkosi-asked");
    await execa("mkdir", ["-p", bin]);
    await writeFile(join(bin, "mkosi"), `#!/bin/sh\necho x >> ${count}\nexec /usr/bin/mkosi "$@"\n`, { mode: 0o755 });
    const asked = async () => (await readFile(count, "utf8").catch(() => "")).split("\n").filter(Boolean).length;
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const fresh = await api.host.refreshTools();
      expect(fresh.tools.find((x) => x.name === "mkosi")?.path).toBe(join(bin, "mkosi"));
      expect(await asked()).toBe(1);
      // A batch of look-ups starts nothing: each gets the same answer.
      const again = await Promise.all(Array.from({ length: 20 }, () => api.host.tools()));
      for (const t of again) expect(t).toBe(fresh);
      expect(await asked()).toBe(1);
      // Refreshes at the same time share one look-up.
      const [r1, r2] = await Promise.all([api.host.refreshTools(), api.host.refreshTools()]);
      expect(r1).toBe(r2);
      expect(await asked()).toBe(2);
      expect(await api.host.tools()).toBe(r1);
    } finally {
      process.env.PATH = path;
      await api.host.refreshTools();
    }
  });
});

describe("restarts", () => {
  it("marks a build that was running as interrupted and stops what is left of it; queued builds run", async () => {
    // A second database stands for the server's state when it stopped: one build running
    // (its pty helper still alive, deaf to SIGTERM below it) and one queued.
    const file = join(dataDir, "restart", "image-studio.sqlite");
    const db2 = openDatabase(file);
    const dir2 = join(dataDir, "restart");
    const api2 = createCaller({ db: db2, host });
    const p = await api2.profiles.create({ name: "r", presetId: "immutable-debian-12" });
    const now = new Date();
    const base = { profileId: p.id, profileName: "r", profileRevision: 1, queuedAt: now, mkosiVersion: "24.3" };
    const running = db2.insert(builds).values({ ...base, state: "running", startedAt: now }).returning().get();
    const queued = db2.insert(builds).values({ ...base, state: "queued" }).returning().get();
    const rp = buildPaths(dir2, running.id);
    const qp = buildPaths(dir2, queued.id);
    for (const d of [rp.project, rp.output, qp.project, qp.output]) await execa("mkdir", ["-p", d]);
    await writeFile(join(qp.dir, "profile.json"), JSON.stringify(p.document));
    await writeFile(rp.log, "partial log\r\n");
    const helper = execa(python(), [PTY_HELPER, "--", "bash", "-c", "trap '' TERM; sleep 300 & wait", "x", rp.dir], { detached: true, reject: false, stdout: "ignore" });
    db2.update(builds).set({ pid: helper.pid }).run();
    await expect.poll(async () => (await processesMentioning(rp.dir)).length).toBeGreaterThan(0);

    const q2 = new BuildQueue(db2, { dataDir: dir2, mkosi: [FAKE] });
    await q2.ready;
    const after = db2.select().from(builds).all();
    expect(after.find((b) => b.id === running.id)).toMatchObject({ state: "interrupted", pid: null });
    expect(await processesMentioning(rp.dir)).toEqual([]);
    expect(isAlive(helper.pid!)).toBe(false);
    const log = await readFile(rp.log, "utf8");
    expect(log.startsWith("partial log\r\n")).toBe(true);
    expect(log).toContain("[image-studio] interrupted: the server stopped while this build ran");
    await helper;
    // The queued build runs after the restart.
    await new Promise<void>((resolve) => {
      const check = () => {
        const s = db2.select().from(builds).all().find((b) => b.id === queued.id)!.state;
        if (s !== "queued" && s !== "running") resolve();
      };
      q2.events.on("change", check);
      check();
    });
    expect(db2.select().from(builds).all().find((b) => b.id === queued.id)!.state).toBe("succeeded");
    await q2.close();
    db2.$client.close();
  }, 30_000);

  it("stopping the server (SIGTERM) stops its builds and records them as interrupted", async () => {
    const dir3 = join(dataDir, "server");
    const script = join(dataDir, "server.mts"); // an ES module: it awaits at the top level
    await writeFile(
      script,
      [
        `import { openDatabase } from "@/server/db/client";`,
        `import { buildQueue } from "@/server/builds/queue";`,
        `import { startBuild } from "@/server/builds/service";`,
        `import { createProfile } from "@/server/profiles/service";`,
        `const db = openDatabase(${JSON.stringify(join(dir3, "image-studio.sqlite"))});`,
        `const q = buildQueue(db, { dataDir: ${JSON.stringify(dir3)}, mkosi: [${JSON.stringify(FAKE)}] });`,
        `const p = createProfile(db, { name: "s", presetId: "immutable-debian-12" }, { aptRepositories: [] });`,
        `const b = await startBuild(q, { profileId: p.id });`,
        `q.events.on("change", () => { if (q.isActive(b.id)) console.log("running " + b.id); });`,
      ].join("\n"),
    );
    await mode("slow");
    // A server process of its own (node with tsx's loader), so it can really be stopped.
    const server = execa(process.execPath, ["--import", "tsx", script], { cwd: process.cwd(), reject: false, buffer: { stdout: false } });
    const id = await new Promise<number>((resolve, reject) => {
      server.stdout!.on("data", (d: Buffer) => {
        const m = /running (\d+)/.exec(String(d));
        if (m) resolve(Number(m[1]));
      });
      void server.then((r) => reject(new Error(`the server ended early: ${String(r.stderr)}`)));
    });
    const dir = buildPaths(dir3, id).dir;
    await expect.poll(() => readFile(join(dir, "build.log"), "utf8").catch(() => ""), { timeout: 5000 }).toContain("waiting");
    const t0 = Date.now();
    server.kill("SIGTERM");
    await server;
    expect(Date.now() - t0).toBeLessThan(12_000);
    expect(await processesMentioning(dir)).toEqual([]);
    const db3 = openDatabase(join(dir3, "image-studio.sqlite"));
    const row = db3.select().from(builds).all().find((b) => b.id === id)!;
    expect(row).toMatchObject({ state: "interrupted", message: "the server stopped during the build" });
    // Its log is kept, with how it ended: the helper stopped the stand-in, which said so.
    const log = await readFile(join(dir, "build.log"), "utf8");
    expect(log).toContain("Installing Debian");
    expect(log).toContain("got TERM");
    expect(log).toContain("[image-studio] the server stopped during the build");
    db3.$client.close();
    await mode("ok");
  }, 60_000);
});

describe("trust before scripts run", () => {
  type Review = { digest: string; scripts: { path: string; kind: string; mode: number; content: string; size: number; trusted: boolean }[] };
  const details = (e: TRPCError) => (e.cause as InstanceType<typeof AppError>).details as unknown as Review;
  const POSTINST = "#!/bin/sh\necho configuring the image\n";
  let scripted: number;

  /** An mkosi project archive with modes, imported through the API as an upload is. */
  async function importProject(name: string, entries: Record<string, { data: string; mode: number }>) {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    const done = (async () => {
      for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
    })();
    for (const [path, e] of Object.entries(entries))
      await new Promise<void>((resolve, reject) => pack.entry({ name: `${name}/${path}`, mode: e.mode }, e.data, (err) => (err ? reject(err) : resolve())));
    pack.finalize();
    await done;
    const form = new FormData();
    form.set("file", new File([gzipSync(Buffer.concat(chunks))], `${name}.tar.gz`));
    return (await api.profiles.importArchive(form)).profile;
  }

  const withScript = async (path: string, content: string | null, mode = 0o755) => {
    const p = await api.profiles.get({ id: scripted });
    const rawFiles = p.document.rawFiles.filter((f) => f.path !== path);
    if (content !== null) rawFiles.push({ path, encoding: "utf8", content, mode, reason: "script" });
    await api.profiles.save({ id: scripted, revision: p.revision, document: { ...p.document, rawFiles } });
  };

  beforeAll(async () => {
    const profile = await importProject("scripted", {
      "mkosi.conf": { data: "[Distribution]\nDistribution=debian\nRelease=bookworm\n", mode: 0o644 },
      "mkosi.postinst": { data: POSTINST, mode: 0o755 },
    });
    scripted = profile.id;
  });

  it("marks the profile as one that runs code as root", async () => {
    const list = await api.profiles.list();
    expect(list.find((p) => p.id === scripted)?.rootScripts).toEqual(["mkosi.postinst"]);
    expect(list.find((p) => p.id === profileId)?.rootScripts).toEqual([]);
  });

  it("refuses the first build with 412, the scripts and their digest, and queues nothing", async () => {
    const e = await failure(api.builds.start({ profileId: scripted }));
    expect(e.code).toBe("PRECONDITION_FAILED");
    expect(e.message).toMatch(/runs code as root.*mkosi\.postinst.*"trustScripts": "[0-9a-f]{64}"/);
    const d = details(e);
    expect(d.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(d.scripts).toEqual([expect.objectContaining({ path: "mkosi.postinst", kind: "script", mode: 0o755, content: POSTINST, size: POSTINST.length, trusted: false })]);
    expect(await api.builds.list({ profileId: scripted })).toEqual([]);

    // The same over HTTP, as curl sees it: status 412 and error.data.details.
    const res = await app.api.fetch("/api/trpc/builds.start", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ profileId: scripted }) });
    expect(res.status).toBe(412);
    const body = (await res.json()) as { error: { data: { details: Review } } };
    expect(body.error.data.details).toEqual(d);
  });

  it("refuses a digest that is not the scripts' own", async () => {
    const e = await failure(api.builds.start({ profileId: scripted, trustScripts: "0".repeat(64) }));
    expect(e.code).toBe("PRECONDITION_FAILED");
    expect(e.message).toMatch(/trustScripts names other scripts/);
    const bad = await failure(api.builds.start({ profileId: scripted, trustScripts: "yes" }));
    expect(bad.code).toBe("BAD_REQUEST");
    expect(await api.builds.list({ profileId: scripted })).toEqual([]);
  });

  it("builds with the digest shown, and later builds of the same scripts need nothing", async () => {
    const { digest } = details(await failure(api.builds.start({ profileId: scripted })));
    const first = await finished((await api.builds.start({ profileId: scripted, trustScripts: digest })).id);
    expect(first.state).toBe("succeeded");
    expect(existsSync(join(buildPaths(dataDir, first.id).project, "mkosi.postinst"))).toBe(true);
    const again = await finished((await api.builds.start({ profileId: scripted })).id);
    expect(again.state).toBe("succeeded");
  });

  it("asks again after a byte of a script changes, after its mode changes, and for a new script; not after one is removed", async () => {
    await withScript("mkosi.postinst", `${POSTINST}echo one more line\n`);
    const changed = details(await failure(api.builds.start({ profileId: scripted })));
    expect(changed.scripts).toEqual([expect.objectContaining({ path: "mkosi.postinst", trusted: false, content: `${POSTINST}echo one more line\n` })]);
    await api.builds.start({ profileId: scripted, trustScripts: changed.digest }).then((b) => finished(b.id));

    await withScript("mkosi.postinst", `${POSTINST}echo one more line\n`, 0o700);
    const mode = details(await failure(api.builds.start({ profileId: scripted })));
    expect(mode.digest).not.toBe(changed.digest);
    await api.builds.start({ profileId: scripted, trustScripts: mode.digest }).then((b) => finished(b.id));

    await withScript("mkosi.build", "#!/bin/sh\nmake\n");
    const added = details(await failure(api.builds.start({ profileId: scripted })));
    expect(added.scripts.map((s) => [s.path, s.trusted])).toEqual([["mkosi.build", false], ["mkosi.postinst", true]]);
    await api.builds.start({ profileId: scripted, trustScripts: added.digest }).then((b) => finished(b.id));

    // Fewer scripts than were confirmed run nothing new.
    await withScript("mkosi.build", null);
    expect((await finished((await api.builds.start({ profileId: scripted })).id)).state).toBe("succeeded");
  }, 60_000);
});
