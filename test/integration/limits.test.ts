// Runs that would fill the disk or flood a console are ended: a build whose log reaches its
// size limit, a VM whose console log does, and typed input beyond the console's rate. Real
// processes (stand-ins for mkosi and QEMU), a real SQLite file, a small IMAGE_STUDIO_MAX_LOG_BYTES.
import { TRPCError } from "@trpc/server";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dataDir = await mkdtemp(join(tmpdir(), "limits-"));
process.env.IMAGE_STUDIO_DATA = dataDir;
// Read when the build queue and the VM manager make their log stores, below.
process.env.IMAGE_STUDIO_MAX_LOG_BYTES = "64K";
process.env.IMAGE_STUDIO_VM_ACCEL = "tcg";
const LIMIT = 64 * 1024;

const { getDb } = await import("@/server/db/client");
const { builds } = await import("@/server/db/schema");
const { AppError } = await import("@/server/errors");
const { buildQueue, closeBuildQueue } = await import("@/server/builds/queue");
const { buildPaths } = await import("@/server/builds/paths");
const { processesMentioning } = await import("@/server/builds/procs");
const { vmManager, closeVmManager, DEFAULT_VM_OPTIONS } = await import("@/server/vms/manager");
const { createCaller } = await import("@/server/routers");
type BuildDetail = import("@/server/builds/service").BuildDetail;

const host = () => ({ osId: "debian", aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] });
const db = getDb();

// mkosi's stand-in prints without end.
const FAKE_MKOSI = join(dataDir, "fake-mkosi");
// QEMU's stand-in (found in PATH): floods its console, or echoes what is typed.
const BIN = join(dataDir, "bin");
const QEMU_MODE = join(dataDir, "qemu-mode");

const queue = buildQueue(db, { dataDir, concurrency: 1, mkosi: [FAKE_MKOSI] });
const firmware = { code: join(dataDir, "OVMF_CODE.fd"), varsTemplate: join(dataDir, "OVMF_VARS.fd") };
const vms = vmManager(queue, { firmware: [firmware], inputRate: { bytesPerSecond: 1, burstBytes: 10 } });
const api = createCaller({ db, host });
const path = process.env.PATH;

beforeAll(async () => {
  await writeFile(FAKE_MKOSI, `#!/bin/bash\nwhile true; do echo "Unpacking a package that prints a long line of output, again and again ..."; done\n`);
  await chmod(FAKE_MKOSI, 0o755);
  await mkdir(BIN, { recursive: true });
  await writeFile(
    join(BIN, "qemu-system-x86_64"),
    `#!/bin/bash\ncase "$(cat ${QEMU_MODE})" in\n  flood) exec yes "[    1.000000] a console that never stops printing";;\n  *) exec cat;;\nesac\n`,
  );
  await chmod(join(BIN, "qemu-system-x86_64"), 0o755);
  await writeFile(firmware.code, "");
  await writeFile(firmware.varsTemplate, "");
  process.env.PATH = `${BIN}:${path}`;
});
afterAll(async () => {
  process.env.PATH = path;
  await closeVmManager(db);
  await closeBuildQueue(db);
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function finished(id: number): Promise<BuildDetail> {
  let last: BuildDetail | undefined;
  for await (const b of await api.builds.events({ id })) last = b;
  return last!;
}

/** A build row that succeeded, with a GPT disk image in its output, for a VM to boot. */
async function bootableBuild(): Promise<number> {
  const row = db
    .insert(builds)
    .values({ profileName: "stand-in", profileRevision: 1, state: "succeeded", queuedAt: new Date(), mkosiVersion: "24.3" })
    .returning()
    .get();
  const out = buildPaths(dataDir, row.id).output;
  await mkdir(out, { recursive: true });
  const disk = Buffer.alloc(4096);
  disk.write("EFI PART", 512, "latin1");
  await writeFile(join(out, "image.raw"), disk);
  return row.id;
}

describe("the log size limit", () => {
  it("ends a build whose log reaches it, keeps the log at the limit, and says why", async () => {
    const profile = await api.profiles.create({ name: "chatty", presetId: "immutable-debian-12" });
    const b = await finished((await api.builds.start({ profileId: profile.id })).id);
    expect(b.state).toBe("failed");
    expect(b.message).toBe("stopped: build.log reached its size limit of 64 KiB (IMAGE_STUDIO_MAX_LOG_BYTES), so the build was ended before it could fill the disk");
    const log = buildPaths(dataDir, b.id).log;
    const text = await readFile(log, "utf8");
    expect(text).toContain("[image-studio] stopped: build.log reached its size limit");
    // The limit, and the server's one line after it.
    expect((await stat(log)).size).toBeGreaterThan(LIMIT);
    expect((await stat(log)).size).toBeLessThan(LIMIT + 512);
    expect(text.indexOf("[image-studio]")).toBeGreaterThanOrEqual(LIMIT);
    expect(await processesMentioning(buildPaths(dataDir, b.id).dir)).toEqual([]);
  });

  it("ends a VM whose console log reaches it", async () => {
    await writeFile(QEMU_MODE, "flood");
    const buildId = await bootableBuild();
    const run = await vms.start(buildId, DEFAULT_VM_OPTIONS, "console");
    const ended = await vms.waitEnded(run.id);
    expect(ended).toMatchObject({ state: "stopped", message: "stopped: console.log reached its size limit of 64 KiB (IMAGE_STUDIO_MAX_LOG_BYTES)", consoleBytes: LIMIT });
    expect((await stat(join(vms.runDir(run.id), "console.log"))).size).toBe(LIMIT);
  });
});

describe("typed console input", () => {
  it("is refused beyond the console's rate with TOO_MANY_REQUESTS and the time to wait", async () => {
    await writeFile(QEMU_MODE, "echo");
    const buildId = await bootableBuild();
    const run = await vms.start(buildId, DEFAULT_VM_OPTIONS, "console");
    try {
      // The test's rate: 10 bytes at once, then 1 byte a second.
      await api.vms.input({ runId: run.id, data: "echo hi\n" });
      const e = await api.vms.input({ runId: run.id, data: "more text\n" }).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(TRPCError);
      expect((e as TRPCError).code).toBe("TOO_MANY_REQUESTS");
      const cause = (e as TRPCError).cause as InstanceType<typeof AppError>;
      expect(cause.problems).toEqual([{ path: ["data"], message: "more console input than the VM takes (1 B a second, 10 B at once)" }]);
      expect(cause.details?.retryAfterMs).toBeGreaterThan(0);
      // What was taken reached the VM; what was refused did not.
      let seen = "";
      for await (const ev of vms.logs.follow(run.id, 0)) {
        seen += ev.text;
        if (seen.includes("echo hi\n")) break;
      }
      expect(seen).toBe("echo hi\n");
    } finally {
      await vms.stop(run.id);
    }
  });
});
