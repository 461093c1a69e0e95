// The pty runner (server/builds/runner.ts + pty-run.py) against scripts of this test's own:
// output reaches the log as it is written, byte for byte, with its ANSI codes and on a
// terminal; exit codes come through; a cancel stops a script that ignores SIGTERM, and
// everything it started, within the deadline.
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkOutput, mkosiArgv } from "@/server/builds/job";
import { buildNeeds, MIN_FREE_BYTES, preflight } from "@/server/builds/preflight";
import type { AppError } from "@/server/errors";
import { toolDef } from "@/server/host/tools";
import { PRESETS } from "@/server/mkosi/presets";
import { profileDocumentSchema } from "@/server/mkosi/profile";
import { LogStore } from "@/server/builds/log-store";
import { buildPaths, packageCacheDir } from "@/server/builds/paths";
import { isAlive, processesMentioning } from "@/server/builds/procs";
import { CANCEL_GRACE_MS, PTY_COLS, PTY_ROWS, runUnderPty, type PtyRunResult } from "@/server/builds/runner";

let dir: string;
let logs: LogStore;
let nextBuild = 1;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "builds-runner-"));
  logs = new LogStore(join(dir, "builds"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/bash\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

interface Run extends PtyRunResult {
  log: Buffer;
  /** When each chunk arrived (ms after the start) and what it held. */
  chunks: { at: number; text: string }[];
}

async function run(argv: string[], signal?: AbortSignal, onText?: (all: string) => void): Promise<Run> {
  const id = nextBuild++;
  const writer = await logs.open(id);
  const started = Date.now();
  const chunks: Run["chunks"] = [];
  let all = "";
  const r = await runUnderPty({
    name: `test ${id}`,
    argv,
    signal,
    onOutput: async (chunk) => {
      await writer.append(chunk);
      const text = Buffer.from(chunk).toString("utf8");
      chunks.push({ at: Date.now() - started, text });
      all += text;
      onText?.(all);
    },
  });
  await writer.close();
  return { ...r, log: await readFile(logs.path(id)), chunks };
}

describe("running a script under the pty", () => {
  it("logs every byte as written, on a terminal, with ANSI codes, stderr and the exit code", async () => {
    const s = await script(
      "lines.sh",
      [
        "echo 'line 1'",
        "sleep 0.4",
        "printf '\\033[31mred\\033[0m \\033[0;1;39mbold\\033[0m\\n'",
        "echo 'to stderr' >&2",
        "[ -t 1 ] && echo 'stdout is a tty'",
        "[ -t 2 ] && echo 'stderr is a tty'",
        "echo \"TERM=$TERM\"",
        "echo \"size=$(stty size </dev/tty)\"",
        "printf 'caf\\xc3\\xa9 \\xe2\\x80\\xa3 step\\n'",
        "sleep 0.4",
        "printf 'no newline at the end'",
        "exit \"$1\"",
      ].join("\n"),
    );
    const r = await run([s, "7"]);
    expect(r.exitCode).toBe(7);
    expect(r.stopped).toBe(false);
    expect(r.failure).toBeUndefined();
    // A terminal turns "\n" into "\r\n"; everything else arrives unchanged, escape codes included.
    const expected = [
      "line 1",
      "\x1b[31mred\x1b[0m \x1b[0;1;39mbold\x1b[0m",
      "to stderr",
      "stdout is a tty",
      "stderr is a tty",
      "TERM=xterm-256color",
      `size=${PTY_ROWS} ${PTY_COLS}`,
      "café ‣ step",
      "no newline at the end",
    ].join("\r\n");
    expect(r.log.toString("utf8")).toBe(expected);
    // Streamed as it was written: the first line came well before the last.
    const first = r.chunks.find((c) => c.text.includes("line 1"))!;
    const last = r.chunks.find((c) => c.text.includes("no newline"))!;
    expect(last.at - first.at).toBeGreaterThanOrEqual(700);
  });

  it("reports exit 0 and a death by signal as 128+N", async () => {
    const ok = await run(["/bin/sh", "-c", "echo fine"]);
    expect(ok.exitCode).toBe(0);
    expect(ok.log.toString()).toBe("fine\r\n");
    const killed = await run(["/bin/sh", "-c", "echo bye; kill -KILL $$"]);
    expect(killed.exitCode).toBe(137);
  });

  it("says why a command that does not exist did not run", async () => {
    const r = await run([join(dir, "no-such-command")]);
    expect(r.exitCode).toBe(127);
    expect(r.log.toString()).toContain("cannot run");
  });

  it("stops what a finished command left running in the background", async () => {
    const marker = join(dir, "left-behind");
    // exec -a names the process after the marker, so /proc shows it is ours.
    const s = await script(
      "daemon.sh",
      `setsid bash -c 'exec -a "${marker}" sleep 300' </dev/null >/dev/null 2>&1 &\npid=$!\nsleep 0.2\nkill -0 $pid && echo "daemon $pid alive"`,
    );
    const r = await run([s]);
    expect(r.exitCode).toBe(0);
    const pid = Number(/daemon (\d+) alive/.exec(r.log.toString())?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(false);
    expect(await processesMentioning(marker)).toEqual([]);
  });
});

describe("cancel", () => {
  it("stops a script that ignores SIGTERM, and all it started, within 10 s", async () => {
    const marker = join(dir, "stubborn-marker");
    const pidFile = join(dir, "stubborn.pids");
    const s = await script(
      "stubborn.sh",
      [
        "trap 'echo got TERM, ignoring it' TERM",
        // A child in a session of its own and one in a group of its own (as mkosi does), both deaf to SIGTERM.
        `setsid bash -c 'trap "" TERM; exec -a "sleep-${marker}" sleep 300' &`,
        "echo $! > " + pidFile,
        `(trap '' TERM; exec -a "sleep-${marker}" sleep 300) &`,
        // Both really run (and carry the marker) before the cancel.
        "sleep 0.2",
        `[ "$(pgrep -fc "sleep-${marker}")" = 2 ] && echo "both children running"`,
        "echo $! >> " + pidFile,
        "echo ready",
        "while true; do sleep 0.1; done",
      ].join("\n"),
    );
    const controller = new AbortController();
    let cancelledAt = 0;
    const r = await run([s], controller.signal, (all) => {
      if (cancelledAt === 0 && all.includes("ready")) {
        cancelledAt = Date.now();
        controller.abort();
      }
    });
    const took = Date.now() - cancelledAt;
    expect(cancelledAt).toBeGreaterThan(0);
    expect(r.stopped).toBe(true);
    expect(took).toBeLessThan(10_000);
    // It ignored SIGTERM, so only the SIGKILL after the grace period ended it.
    expect(took).toBeGreaterThanOrEqual(CANCEL_GRACE_MS - 500);
    expect(r.exitCode).toBe(137);
    const text = r.log.toString();
    expect(text).toContain("both children running");
    expect(text).toContain("got TERM, ignoring it");
    expect(text).toContain("[pty-run] stopping");
    const pids = (await readFile(pidFile, "utf8")).trim().split("\n").map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(await processesMentioning(marker)).toEqual([]);
  }, 30_000);

  it("stops a command that goes on SIGTERM at once", async () => {
    const controller = new AbortController();
    let cancelledAt = 0;
    const r = await run(["/bin/sh", "-c", "echo ready; exec sleep 300"], controller.signal, (all) => {
      if (cancelledAt === 0 && all.includes("ready")) {
        cancelledAt = Date.now();
        controller.abort();
      }
    });
    expect(r.stopped).toBe(true);
    expect(r.exitCode).toBe(128 + 15);
    expect(Date.now() - cancelledAt).toBeLessThan(2_000);
  });
});

describe("the mkosi command line", () => {
  const paths = buildPaths("/data", 12);
  const packageCache = packageCacheDir("/data", { Distribution: "debian", Release: "trixie" }, {});
  it("keeps one package cache per distribution, release and architecture, as mkosi's own default does", () => {
    expect(packageCacheDir("/data", { Distribution: "debian", Release: "bookworm", Architecture: "x86-64" }, {})).toBe("/data/cache/packages/debian~bookworm~x86-64");
    expect(packageCacheDir("/data", {}, { IMAGE_STUDIO_PACKAGE_CACHE: "/srv/pkgs/" })).toBe("/srv/pkgs/default~default~default");
    // A value is a folder name, never a path.
    expect(packageCacheDir("/data", { Release: "../x" }, {})).toBe("/data/cache/packages/default~.._x~default");
  });
  it("builds in the build's folder with its release's package cache", () => {
    expect(mkosiArgv(paths, { dataDir: "/data", packageCache, incremental: false, profileId: 3 })).toEqual([
      "mkosi",
      "--directory", "/data/builds/12/project",
      "--output-dir", "/data/builds/12/output",
      "--workspace-dir", "/data/builds/12/workspace",
      "--package-cache-dir", "/data/cache/packages/debian~trixie~default",
      "--force",
      "build",
    ]);
  });
  it("names the key store's files for a signed build by path, for the mkosi that builds", () => {
    const signing = { key: "/data/keys/k/key.pem", certificate: "/data/builds/12/signing-certificate.pem" };
    expect(mkosiArgv(paths, { dataDir: "/data", packageCache, incremental: false, profileId: 3, signing: { ...signing, mkosiMajor: 24 } }).slice(1, 5)).toEqual([
      "--secure-boot-key=/data/keys/k/key.pem",
      "--secure-boot-certificate=/data/builds/12/signing-certificate.pem",
      "--verity-key=/data/keys/k/key.pem",
      "--verity-certificate=/data/builds/12/signing-certificate.pem",
    ]);
    // 25 added keys of its own for the PCR signature.
    expect(mkosiArgv(paths, { dataDir: "/data", packageCache, incremental: false, profileId: 3, signing: { ...signing, mkosiMajor: 26 } })).toContain("--sign-expected-pcr-key=/data/keys/k/key.pem");
  });
  it("adds the profile's own incremental cache when asked", () => {
    const argv = mkosiArgv(paths, { dataDir: "/data", packageCache, incremental: true, profileId: 3 });
    expect(argv.slice(-5)).toEqual(["--cache-dir", "/data/cache/incremental/profile-3", "--incremental=yes", "--force", "build"]);
  });
});

describe("checking the output after mkosi says it succeeded", () => {
  const needs = { disk: true, uki: true };
  it("accepts a disk image with its UKI", () => {
    expect(checkOutput(["img_1.raw", "img_1.efi", "img_1.SHA256SUMS"], needs)).toBeUndefined();
  });
  it("fails an empty output folder, a missing disk image, and a missing UKI", () => {
    expect(checkOutput([], needs)).toMatch(/wrote nothing/);
    expect(checkOutput(["img_1.efi"], needs)).toMatch(/no disk image/);
    expect(checkOutput(["img_1.raw", "img_1.vmlinuz", "img_1.initrd"], needs)).toMatch(/asks for a unified kernel image.*fell back to boot loader entries.*no systemd-stub.*ukify/);
    expect(checkOutput(["img_1.raw"], { disk: true, uki: false })).toBeUndefined();
  });
  it("names the missing stub package of a Debian 13 image that got no UKI", () => {
    const doc = profileDocumentSchema.parse({ settings: { Distribution: "debian", Release: "trixie", Bootable: "yes", Packages: ["systemd-boot", "linux-image-amd64"] } });
    const trixie = buildNeeds(doc);
    expect(trixie.stubPackage?.name).toBe("systemd-boot-efi");
    expect(checkOutput(["img_1.raw", "img_1.vmlinuz"], trixie)).toMatch(/add systemd-boot-efi to Packages \(Debian trixie ships systemd-stub in systemd-boot-efi/);
    // Bookworm's systemd-boot pulls the stub in; a profile that lists it has nothing to add.
    expect(buildNeeds(profileDocumentSchema.parse({ settings: { ...doc.settings, Release: "bookworm" } })).stubPackage).toBeUndefined();
    expect(buildNeeds(profileDocumentSchema.parse({ settings: { ...doc.settings, Packages: ["systemd-boot", "systemd-boot-efi"] } })).stubPackage).toBeUndefined();
  });
});

describe("the verified-boot tools a build needs", () => {
  const doc = PRESETS.find((p) => p.id === "immutable-debian-13-verified-boot")!.build({ aptRepositories: [], osId: "debian" });
  it("are asked for by the fields that need them", () => {
    const needs = buildNeeds(doc).tools.map((t) => [t.name, t.path.join(".")]);
    expect(needs).toEqual(expect.arrayContaining([["sbsign", "settings.SecureBoot"], ["systemd-measure", "settings.SignExpectedPcr"], ["libtss2-esys", "settings.SignExpectedPcr"], ["mkfs.erofs", "partitions.1.format"]]));
    const plain = PRESETS.find((p) => p.id === "immutable-debian-13")!.build({ aptRepositories: [], osId: "debian" });
    expect(buildNeeds(plain).tools.map((t) => t.name)).not.toContain("sbsign");
  });
  it("refuse a build at once with the install command when one is missing", async () => {
    const names = [...new Set(buildNeeds(doc).tools.map((t) => t.name))];
    const tools = names.map((name) => ({ ...toolStatus(name), found: name !== "sbsign" }));
    const e = await preflight(doc, { dataDir: "/nonexistent", identity: { root: true, problems: [] }, tools, freeBytes: MIN_FREE_BYTES }).then(() => undefined, (x: unknown) => x as AppError);
    expect(e?.code).toBe("PRECONDITION_FAILED");
    expect(e?.problems).toEqual([{ path: ["settings", "SecureBoot"], message: "sbsign is missing (it signs systemd-boot and the UKI for Secure Boot): install the sbsigntool package" }]);
    expect(e?.details).toMatchObject({ installCommand: "apt-get install -y sbsigntool" });
  });
});

function toolStatus(name: string) {
  const def = toolDef(name);
  return { name, found: true, version: "1", path: `/usr/bin/${name}`, package: def.package, neededFor: def.neededFor, requiredForBuilds: def.requiredForBuilds, problem: null, fixPackage: null };
}
