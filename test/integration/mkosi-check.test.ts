// Every preset, rendered and written as a project folder, parsed by the real mkosi
// (`mkosi --json summary`, no build): mkosi must accept it and read what the profile says.
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESETS, type HostFacts } from "@/server/mkosi/presets";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { render, renderSources, sourcesPath, VOLATILE_OVERLAY } from "@/server/mkosi/render";
import { mkosiMessages, readBack } from "@/server/mkosi/summary";
import { writeProject } from "@/server/profiles/project-dir";

const HOST: HostFacts = {
  osId: "debian",
  aptRepositories: [
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm", "bookworm-updates"], components: ["main"] },
    { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main"] },
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm-backports"], components: ["main"] },
  ],
};


let dir: string;
let mkosiMajor: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mkosi-check-"));
  const v = await execa("mkosi", ["--version"]);
  mkosiMajor = Number(/^mkosi (\d+)/.exec(v.stdout)?.[1]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Summary {
  exitCode: number;
  problems: string[];
  image: Record<string, any>;
  project: string;
}

async function summarize(name: string, doc: ProfileDocument): Promise<Summary> {
  const project = join(dir, name);
  await writeProject(project, render(doc, { mkosiMajor }));
  const r = await execa("mkosi", ["--json", "summary"], { cwd: project, reject: false, timeout: 60_000 });
  const image = r.exitCode === 0 ? (JSON.parse(r.stdout) as { Images: Record<string, any>[] }).Images[0]! : {};
  return { exitCode: r.exitCode ?? -1, problems: mkosiMessages(r.stderr), image, project };
}

describe("the installed mkosi", () => {
  it("is 24 or later", () => {
    expect(mkosiMajor).toBeGreaterThanOrEqual(24);
  });
});

describe.each(PRESETS.map((p) => [p.id, p] as const))("the %s preset", (id, preset) => {
  const doc = preset.build(HOST);
  let s: Summary;
  beforeAll(async () => {
    s = await summarize(id, doc);
  });

  it("is accepted by mkosi without complaints", () => {
    expect(s.problems).toEqual([]);
    expect(s.exitCode).toBe(0);
  });

  it("reads distribution, release, format and packages as the profile says", () => {
    const set = doc.settings;
    expect(s.image.Distribution).toBe(set.Distribution);
    expect(s.image.Release).toBe(set.Release);
    expect(s.image.Architecture).toBe(set.Architecture);
    expect(s.image.Format).toBe(set.Format);
    expect(s.image.Packages).toEqual(set.Packages);
    expect(s.image.Packages.length).toBeGreaterThan(3);
    expect(s.image.ImageId).toBe(set.ImageId);
    expect(s.image.ImageVersion).toBe(set.ImageVersion);
    expect(s.image.ManifestFormat).toEqual(set.ManifestFormat);
    expect(s.image.Repositories).toEqual(set.Repositories ?? []);
  });

  it("reads the boot settings, the overlay word on the kernel command line included", () => {
    const words = [...(doc.settings.KernelCommandLine ?? [])];
    if (doc.overlay.scheme === "tmpfs") words.push(VOLATILE_OVERLAY);
    expect(s.image.KernelCommandLine).toEqual(words);
    expect(s.image.KernelCommandLine.filter((w: string) => w === VOLATILE_OVERLAY)).toHaveLength(doc.overlay.scheme === "tmpfs" ? 1 : 0);
    expect(s.image.Bootloader).toBe(doc.settings.Bootloader);
    expect(s.image.SplitArtifacts).toBe(doc.settings.SplitArtifacts);
    expect(s.image.Checksum).toBe(doc.settings.Checksum);
    expect(s.image.WithDocs).toBe(doc.settings.WithDocs);
  });

  it("reads the settings that keep systemd-firstboot quiet, and the login", () => {
    expect(s.image.Autologin).toBe(doc.settings.Autologin);
    expect(s.image.Locale).toBe(doc.settings.Locale);
    expect(s.image.Timezone).toBe(doc.settings.Timezone);
    expect(s.image.Hostname).toBe(doc.settings.Hostname);
  });

  it("reads every setting back as the form holds it (the product's read-back)", () => {
    expect(Object.keys(doc.settings).length).toBeGreaterThan(10);
    expect(readBack(doc, s.image, mkosiMajor)).toEqual([]);
  });

  it("reads our apt sources in place of its own list when the profile has repositories", async () => {
    const trees = JSON.stringify(s.image.PackageManagerTrees ?? s.image.SandboxTrees ?? []);
    const tree = sourcesPath(mkosiMajor).split("/")[0]!;
    if (doc.repositories.length > 0) {
      expect(trees).toContain(`${s.project}/${tree}`);
      expect(await readFile(join(s.project, sourcesPath(mkosiMajor)), "utf8")).toBe(renderSources(doc.repositories));
      expect(s.image.Mirror).toBe(doc.repositories[0]!.uri);
    } else {
      expect(trees).not.toContain(tree);
      expect(doc.settings.Mirror).toBeUndefined();
      expect(s.image.Mirror).toBeNull();
    }
  });
});

describe("the Debian preset's sources", () => {
  it("hold the host's bookworm entries and no backports", () => {
    const doc = PRESETS.find((p) => p.id === "immutable-debian-12")!.build(HOST);
    expect(doc.repositories.length).toBe(2);
    expect(doc.repositories.flatMap((r) => r.suites)).toEqual(["bookworm", "bookworm-updates", "bookworm-security"]);
  });

  it("are left to mkosi on a host that is not Debian", async () => {
    const doc = PRESETS.find((p) => p.id === "immutable-debian-12")!.build({ ...HOST, osId: "ubuntu" });
    expect(doc.repositories).toEqual([]);
    const s = await summarize("debian-on-ubuntu-host", doc);
    expect(s.exitCode).toBe(0);
    expect(JSON.stringify(s.image.PackageManagerTrees ?? [])).not.toContain("mkosi.pkgmngr");
  });
});
