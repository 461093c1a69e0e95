// Verified boot for real, through the bundled server as scripts/start.sh runs it (as the
// service user when the tests run as root): the "Immutable Debian 13, verified boot" preset
// gets a key of its own, builds with mkosi 24 (erofs root under dm-verity with a signed root
// hash, Secure Boot signing, a signed PCR 11 prediction), shows its proofs in the artifact
// view, and passes every item of the boot check under software emulation: Secure Boot on and
// enforcing in OVMF with the certificate enrolled, / on dm-verity with the build's root hash,
// PCR 11 from swtpm equal to the prediction, a changed root byte caught, a UKI signed by
// another key refused. The plain "Immutable Debian 13" preset builds and passes its check too.
// No private key shows up in the build's folder, its log, or an export.
// Two builds (the second with a warm package cache, while the first boots) and two boot checks
// side by side, one of them with two more boots for the tampered copies.
import { execa } from "execa";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outputs } from "@/test/support/api";
import { filesUnder } from "@/test/support/files";
import { startServer, SERVICE_USER, type TestServer } from "@/test/support/server";

type Run = Outputs["vms"]["get"];
type Key = Outputs["keys"]["list"][number];

const BUILD_MS = 15 * 60_000;
const CHECK_MS = 25 * 60_000;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

/** Waits for a boot check to end, following the build's runs. */
async function checked(buildId: number, runId: number): Promise<Run> {
  for await (const e of server.api.subscribe("vms.watch", { buildId })) {
    if (e.event) continue;
    const r = (JSON.parse(e.data) as Run[]).find((x) => x.id === runId);
    if (r && !r.live && r.verdict !== null) return r;
  }
  return server.api.query<Run>("vms.get", { runId });
}

const report = (r: Run) => r.items.map((i) => `${i.passed ? "pass" : "FAIL"} ${i.label}: ${i.detail}`).join("\n");

let verifiedBuild: number;
let key: Key;
let plainProfile: Outputs["profiles"]["get"];
/** The plain preset's build and then its boot check, which run beside the verified boot check. */
let plainCheck: Promise<{ build: Outputs["builds"]["get"]; run?: Run; done?: Run }>;

describe("the verified-boot preset", () => {
  it("gets a key of its own, builds, and keeps the private key out of the snapshot, the log and the export", async () => {
    const api = server.api;
    const profile = await api.mutation<Outputs["profiles"]["get"]>("profiles.create", { name: "verified", presetId: "immutable-debian-13-verified-boot" });
    expect(profile.document.signingKey).toBe("verified");
    const keys = await api.query<Key[]>("keys.list");
    key = keys.find((k) => k.id === "verified")!;
    expect(key).toMatchObject({ expired: false, algorithm: "RSA 2048", usedBy: [{ id: profile.id, name: "verified" }] });
    expect(key.subject).toBe("CN=Image Studio verified");
    expect(key.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // The key file: the server's user's, mode 0600.
    const st = await stat(key.files.key);
    expect(st.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect((await execa("stat", ["-c", "%U", key.files.key])).stdout).toBe(SERVICE_USER);

    const started = await api.mutation<Outputs["builds"]["start"]>("builds.start", { profileId: profile.id });
    const b = await api.waitForBuild(started.id);
    if (b.state !== "succeeded") console.log(b.message, b.failureLines);
    expect(b.state).toBe("succeeded");
    verifiedBuild = b.id;
    // The command names the key by path; nothing of the project, its log or the export holds the key.
    expect(b.command).toContain(`--secure-boot-key=${key.files.key}`);
    const buildDir = join(server.dataDir, "builds", String(b.id));
    const project = await filesUnder(join(buildDir, "project"));
    expect(project.some((f) => /mkosi\.(key|crt)$/.test(f))).toBe(false);
    for (const f of [...project, join(buildDir, "profile.json"), join(buildDir, "build.log"), join(buildDir, "signing.json")])
      expect(PRIVATE_KEY.test(await readFile(f, "latin1")), f).toBe(false);
    const exported = await api.fetch(`/api/profiles/${profile.id}/export`);
    expect(exported.status).toBe(200);
    const tar = await execa("tar", ["-xzO"], { input: Buffer.from(await exported.arrayBuffer()), encoding: "buffer" });
    expect(PRIVATE_KEY.test(Buffer.from(tar.stdout).toString("latin1"))).toBe(false);
    expect(Buffer.from(tar.stdout).toString("utf8")).toMatch(/## Signing keys[\s\S]*`mkosi\.key`: the private key, PEM, mode 0600/);

    // A key in use cannot go.
    const refused = await api.refusal(api.mutation("keys.delete", { id: "verified" }));
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(/signing key of profile 'verified'/);
  }, BUILD_MS);

  it("shows the root hash, the verity signature's certificate, the UKI's signature and the expected PCR 11 values", async () => {
    const v = await server.api.query<Outputs["artifacts"]["verifiedBoot"]>("artifacts.verifiedBoot", { buildId: verifiedBuild });
    expect(v.signing?.fingerprint).toBe(key.fingerprint);
    expect(v.verity.rootHash).toMatch(/^[0-9a-f]{64}$/);
    expect(v.verity.signature).toMatchObject({ rootHash: v.verity.rootHash, matchesCertificate: true, matchesRootHash: true });
    expect(v.uki?.sbverify).toMatchObject({ passed: true });
    expect(v.uki?.sbverify?.output).toMatch(/Signature verification OK/);
    expect(v.pcr11?.predictions.map((p) => p.phase)).toEqual(["enter-initrd", "enter-initrd:leave-initrd", "enter-initrd:leave-initrd:sysinit", "enter-initrd:leave-initrd:sysinit:ready"]);
    // Each value's policy is one the UKI's .pcrsig signs.
    expect(v.pcr11?.predictions.every((p) => p.signed)).toBe(true);
  });

  it("passes every boot check item, the two tampered copies included", async () => {
    // The plain preset builds meanwhile, and its boot check starts when its build ends: a TCG
    // boot keeps about one core busy, so two VMs (or a VM and a build) share the machine well.
    plainProfile = await server.api.mutation<Outputs["profiles"]["get"]>("profiles.create", { name: "plain", presetId: "immutable-debian-13" });
    plainCheck = server.api
      .mutation<Outputs["builds"]["start"]>("builds.start", { profileId: plainProfile.id })
      .then((b) => server.api.waitForBuild(b.id))
      .then(async (build) => {
        if (build.state !== "succeeded") return { build };
        const run = await server.api.mutation<Run>("vms.bootCheck", { buildId: build.id });
        return { build, run, done: await checked(build.id, run.id) };
      });
    plainCheck.catch(() => undefined);
    const run = await server.api.mutation<Run>("vms.bootCheck", { buildId: verifiedBuild });
    // Secure Boot firmware with SMM, and a TPM.
    expect(run.command!.join(" ")).toMatch(/OVMF_CODE[^ ]*secboot\.fd/);
    expect(run.command).toContain("q35,smm=on");
    expect(run.command!.join(" ")).toMatch(/tpm-tis/);
    const done = await checked(verifiedBuild, run.id);
    console.log(`verified boot check ${done.id} (${done.accel}), login after ${((done.loginMs ?? 0) / 1000).toFixed(1)} s:\n${report(done)}`);
    expect(done.items.filter((i) => !i.passed)).toEqual([]);
    expect(done.verdict).toBe("passed");
    expect(done.items.map((i) => i.id)).toEqual(
      expect.arrayContaining(["login", "reboot", "root-format", "uki", "systemd-boot", "secure-boot", "verity-root", "pcr11", "tamper-root", "tamper-uki"]),
    );
    // The transcript has the commands and what they printed, for each boot.
    const transcript = await (await server.api.fetch(`/api/vms/${run.id}/console`)).text();
    expect(transcript).toMatch(/SecureBoot 6 0 0 0 1|SecureBoot \d+ 0 0 0 1/);
    expect(transcript).toMatch(/booting again: a copy of the disk with the byte at \d+/);
    expect(transcript).toMatch(/FAILED \/(usr\/lib\/modules|boot)\//);
    expect(transcript).toMatch(/booting again: a copy of the disk whose UKI/);
  }, CHECK_MS);
});

describe("the plain Debian 13 preset", () => {
  it("builds a UKI (systemd-boot-efi) and passes its boot check", async () => {
    expect(plainProfile.document.signingKey).toBeUndefined();
    const { build, run, done } = await plainCheck;
    if (build.state !== "succeeded") console.log(build.message, build.failureLines);
    expect(build.state).toBe("succeeded");
    expect(run!.command).toContain("q35");
    expect(run!.command!.join(" ")).not.toMatch(/secboot|tpm-tis/);
    console.log(`plain boot check ${done!.id}:\n${report(done!)}`);
    expect(done!.items.filter((i) => !i.passed)).toEqual([]);
    expect(done!.items.map((i) => i.id).sort()).toEqual(["login", "overlay-discarded", "reboot", "root-format", "root-overlay", "root-writable", "systemd-boot", "uki"]);
  }, BUILD_MS + CHECK_MS);
});
