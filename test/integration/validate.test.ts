// "Validate with mkosi" against the real mkosi and systemd-repart installed on this machine.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkosiVersion } from "@/server/host/facts";
import { PRESETS } from "@/server/mkosi/presets";
import { needsSigningKey } from "@/server/mkosi/verity";
import type { ProfileDocument, RawFile } from "@/server/mkosi/profile";
import { validateWithMkosi, HIDDEN_CREDENTIAL } from "@/server/profiles/validate";

const host = { osId: "debian", aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] };
const debian = (): ProfileDocument => structuredClone(PRESETS.find((p) => p.id === "immutable-debian-12")!.build(host));

describe("validateWithMkosi", () => {
  it.each(PRESETS.map((p) => [p.id, p] as const))("passes the %s preset and names the mkosi version", async (_id, preset) => {
    // A preset that signs is checked as a profile made of it is: with a key chosen (mkosi summary reads no key).
    const built = preset.build(host);
    const r = await validateWithMkosi(needsSigningKey(built) ? { ...built, signingKey: "some-key" } : built);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.mkosiVersion).toMatch(/^2\d(\.\d+)?/);
    expect(r.summary?.Distribution).toBe(preset.build(host).settings.Distribution);
  });

  it("passes a profile that sets CompressOutput=no (mkosi's summary calls it none)", async () => {
    const doc = debian();
    doc.settings.CompressOutput = "no";
    const r = await validateWithMkosi(doc);
    expect(r.summary?.CompressOutput).toBe("none");
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("ties an unknown setting to the raw setting that holds it", async () => {
    const doc = debian();
    doc.rawSettings.push({ section: "Content", key: "FrobnicateImage", value: "yes" });
    const r = await validateWithMkosi(doc);
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ path: ["rawSettings", 0], severity: "error" }));
    expect(r.problems[0]!.message).toMatch(/Unknown setting FrobnicateImage/);
  });

  it("reports a misspelt repart key as a warning on its partition", async () => {
    const doc = debian();
    doc.partitions[1]!.extra.push({ key: "SizeMinByte", value: "1G" });
    const r = await validateWithMkosi(doc);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([
      expect.objectContaining({ path: ["partitions", 1], severity: "warning", message: expect.stringMatching(/Unknown key 'SizeMinByte'/) }),
    ]);
  });

  it("flags a setting mkosi read differently from the form", async () => {
    const doc = debian();
    // A raw Packages= line appends to the model's list, so mkosi's view differs from the form's.
    doc.rawSettings.push({ section: "Content", key: "Packages", value: "htop" });
    const r = await validateWithMkosi(doc);
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ path: ["settings", "Packages"], message: expect.stringContaining("htop") }));
  });

  it("stops at the form's own rules before running mkosi", async () => {
    const doc = debian();
    doc.partitions = doc.partitions.filter((p) => p.type !== "esp");
    const r = await validateWithMkosi(doc);
    expect(r.ok).toBe(false);
    expect(r.mkosiVersion).toBeNull();
    expect(r.problems[0]).toMatchObject({ path: ["partitions"], message: expect.stringMatching(/ESP/) });
  });
});

// mkosi 24 runs every executable credential while it parses a project, `summary` included; 25
// and later also an executable mkosi.version and the like. The check must run none of them.
describe("validateWithMkosi runs no project code", () => {
  let markers: string;
  let mkosiMajor: number;
  beforeAll(async () => {
    markers = await mkdtemp(join(tmpdir(), "check-markers-"));
    mkosiMajor = (await mkosiVersion())!.major;
  });
  afterAll(() => rm(markers, { recursive: true, force: true }));

  /** A script that leaves a marker file when it runs, and prints a "secret". */
  const script = (name: string) => `#!/bin/sh\necho ran > ${join(markers, name)}\necho printed-secret-${name}\n`;
  const raw = (path: string, content: string, mode: number): RawFile => ({ path, encoding: "utf8", content, mode, reason: "test" });
  // The section mkosi reads Credentials= from: [Host] in 24, [Runtime] from 25 on.
  const credentialsSection = () => (mkosiMajor >= 25 ? "Runtime" : "Host");

  it("does not run an executable credential, names it, and shows no credential's value", async () => {
    const doc = debian();
    doc.rawFiles.push(raw("mkosi.credentials/evil", script("credential"), 0o755), raw("mkosi.credentials/plain", "plain-secret-value\n", 0o644));
    const r = await validateWithMkosi(doc);
    expect(existsSync(join(markers, "credential"))).toBe(false);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.notRun).toEqual(mkosiMajor <= 25 ? ["mkosi.credentials/evil"] : []);
    // mkosi read both (the script as text) beside its own defaults; the caller sees names only.
    const credentials = r.summary?.Credentials as Record<string, string>;
    expect(credentials).toMatchObject({ evil: HIDDEN_CREDENTIAL, plain: HIDDEN_CREDENTIAL });
    expect(new Set(Object.values(credentials))).toEqual(new Set([HIDDEN_CREDENTIAL]));
    const all = JSON.stringify(r);
    for (const secret of ["plain-secret-value", "printed-secret", "echo ran"]) expect(all).not.toContain(secret);
  });

  it("does not run a credential in a folder that Credentials= names, or in a sub-configuration's mkosi.credentials/", async () => {
    const doc = debian();
    doc.rawSettings.push({ section: credentialsSection(), key: "Credentials", value: "creds" });
    doc.rawFiles.push(
      raw("creds/named", script("named"), 0o755),
      raw("mkosi.conf.d/10-sub/mkosi.conf", "[Content]\nWithDocs=no\n", 0o644),
      raw("mkosi.conf.d/10-sub/mkosi.credentials/nested", script("nested"), 0o700),
    );
    doc.settings.WithDocs = false;
    const r = await validateWithMkosi(doc);
    expect(existsSync(join(markers, "named"))).toBe(false);
    expect(existsSync(join(markers, "nested"))).toBe(false);
    expect(r.problems.filter((p) => p.severity === "error")).toEqual([]);
    if (mkosiMajor <= 25) expect(r.notRun).toEqual(["creds/named", "mkosi.conf.d/10-sub/mkosi.credentials/nested"]);
    expect(r.summary?.Credentials).toMatchObject({ named: HIDDEN_CREDENTIAL, nested: HIDDEN_CREDENTIAL });
    expect(JSON.stringify(r)).not.toContain("printed-secret");
  });

  it("does not hand mkosi a project whose Credentials= names a folder outside it", async () => {
    const host = await mkdtemp(join(tmpdir(), "check-host-"));
    try {
      await writeFile(join(host, "outside"), script("outside"), { mode: 0o755 });
      const doc = debian();
      doc.rawSettings.push({ section: credentialsSection(), key: "Credentials", value: host });
      const r = await validateWithMkosi(doc);
      expect(existsSync(join(markers, "outside"))).toBe(false);
      expect(r.ok).toBe(false);
      expect(r.summary).toBeUndefined();
      expect(r.problems).toEqual([
        expect.objectContaining({ path: ["rawSettings", 0], severity: "error", message: expect.stringMatching(/Credentials=.* outside the project/) }),
      ]);
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  it("never runs an executable mkosi.version (mkosi 25 and later would, while parsing)", async () => {
    const doc = debian();
    doc.rawFiles.push(raw("mkosi.version", script("version"), 0o755));
    const r = await validateWithMkosi(doc);
    expect(existsSync(join(markers, "version"))).toBe(false);
    expect(r.notRun).toEqual(mkosiMajor >= 25 ? ["mkosi.version"] : []);
  });

  it("does not run a configure script, and says so", async () => {
    const doc = debian();
    doc.rawFiles.push(raw("mkosi.configure", `${script("configure")}cat\n`, 0o755));
    const r = await validateWithMkosi(doc);
    expect(existsSync(join(markers, "configure"))).toBe(false);
    expect(r.notRun).toEqual(["mkosi.configure"]);
  });
});
