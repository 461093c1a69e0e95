// "Check with mkosi" against the real mkosi and systemd-repart installed on this machine.
import { describe, expect, it } from "vitest";
import { PRESETS } from "@/server/mkosi/presets";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { checkWithMkosi } from "@/server/profiles/check";

const host = { osId: "debian", aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }] };
const debian = (): ProfileDocument => structuredClone(PRESETS.find((p) => p.id === "immutable-debian-12")!.build(host));

describe("checkWithMkosi", () => {
  it.each(PRESETS.map((p) => [p.id, p] as const))("passes the %s preset and names the mkosi version", async (_id, preset) => {
    const r = await checkWithMkosi(preset.build(host));
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.mkosiVersion).toMatch(/^2\d(\.\d+)?/);
    expect(r.summary?.Distribution).toBe(preset.build(host).settings.Distribution);
  });

  it("passes a profile that sets CompressOutput=no (mkosi's summary calls it none)", async () => {
    const doc = debian();
    doc.settings.CompressOutput = "no";
    const r = await checkWithMkosi(doc);
    expect(r.summary?.CompressOutput).toBe("none");
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("ties an unknown setting to the raw setting that holds it", async () => {
    const doc = debian();
    doc.rawSettings.push({ section: "Content", key: "FrobnicateImage", value: "yes" });
    const r = await checkWithMkosi(doc);
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ path: ["rawSettings", 0], severity: "error" }));
    expect(r.problems[0]!.message).toMatch(/Unknown setting FrobnicateImage/);
  });

  it("reports a misspelt repart key as a warning on its partition", async () => {
    const doc = debian();
    doc.partitions[1]!.extra.push({ key: "SizeMinByte", value: "1G" });
    const r = await checkWithMkosi(doc);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([
      expect.objectContaining({ path: ["partitions", 1], severity: "warning", message: expect.stringMatching(/Unknown key 'SizeMinByte'/) }),
    ]);
  });

  it("flags a setting mkosi read differently from the form", async () => {
    const doc = debian();
    // A raw Packages= line appends to the model's list, so mkosi's view differs from the form's.
    doc.rawSettings.push({ section: "Content", key: "Packages", value: "htop" });
    const r = await checkWithMkosi(doc);
    expect(r.ok).toBe(false);
    expect(r.problems).toContainEqual(expect.objectContaining({ path: ["settings", "Packages"], message: expect.stringContaining("htop") }));
  });

  it("stops at the form's own rules before running mkosi", async () => {
    const doc = debian();
    doc.partitions = doc.partitions.filter((p) => p.type !== "esp");
    const r = await checkWithMkosi(doc);
    expect(r.ok).toBe(false);
    expect(r.mkosiVersion).toBeNull();
    expect(r.problems[0]).toMatchObject({ path: ["partitions"], message: expect.stringMatching(/ESP/) });
  });
});
