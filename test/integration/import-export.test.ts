// Import and export against the real mkosi: a project and its export must give the same
// `mkosi --json summary` (paths aside), and the presets must survive export -> import.
import { execa } from "execa";
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostFacts, mkosiVersion } from "@/server/host/facts";
import { importProject } from "@/server/mkosi/import";
import { PRESETS } from "@/server/mkosi/presets";
import { needsSigningKey } from "@/server/mkosi/verity";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { DEFAULT_MKOSI_MAJOR, render } from "@/server/mkosi/render";
import { readArchive, readFolder, writeExportArchive } from "@/server/profiles/archive";
import { writeProject } from "@/server/profiles/project-dir";
import { DEFINITIONS, ORIGINAL_PROJECT } from "../fixtures/original-project";

const installed = await mkosiVersion();
const MAJOR = installed?.major ?? DEFAULT_MKOSI_MAJOR;

let work: string;
beforeAll(async () => {
  work = await realpath(await mkdtemp(join(tmpdir(), "import-export-")));
});
afterAll(() => rm(work, { recursive: true, force: true }));

type Tree = Record<string, string | { text: string; mode: number } | { link: string }>;

async function writeTree(dir: string, tree: Tree): Promise<void> {
  for (const [path, v] of Object.entries(tree)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    if (typeof v === "string") await writeFile(full, v);
    else if ("link" in v) await symlink(v.link, full);
    else {
      await writeFile(full, v.text);
      await chmod(full, v.mode);
    }
  }
}

/** mkosi's own reading of a project folder, with the folder's path made neutral. */
async function summary(dir: string): Promise<Record<string, unknown>> {
  const r = await execa("mkosi", ["--json", "summary"], { cwd: dir, reject: false });
  if (r.exitCode !== 0) throw new Error(`mkosi summary failed in ${dir}: ${r.stderr}`);
  const images = (JSON.parse(r.stdout) as { Images: Record<string, unknown>[] }).Images;
  expect(images).toHaveLength(1);
  const neutral = JSON.stringify(images[0]).split(dir).join("<project>");
  return JSON.parse(neutral) as Record<string, unknown>;
}

/** Without Seed=, which mkosi picks at random on each run when an image sets none. */
const unseeded = ({ Seed: _, ...rest }: Record<string, unknown>) => rest;

/** mkosi's reading of every image of a project (sub-images first), paths made neutral, unseeded. */
async function summaries(dir: string): Promise<Record<string, unknown>[]> {
  const r = await execa("mkosi", ["--json", "summary"], { cwd: dir, reject: false });
  if (r.exitCode !== 0) throw new Error(`mkosi summary failed in ${dir}: ${r.stderr}`);
  return (JSON.parse(r.stdout.split(dir).join("<project>")).Images as Record<string, unknown>[]).map(unseeded);
}

/** What mkosi says when it refuses a project. */
async function refusal(dir: string): Promise<string> {
  const r = await execa("mkosi", ["--json", "summary"], { cwd: dir, reject: false });
  expect(r.exitCode).not.toBe(0);
  return r.stderr;
}

/** Exports a document as the dashboard does (tar.gz) and unpacks it with the system tar. */
async function exportAndUnpack(doc: ProfileDocument, name: string): Promise<string> {
  const archive = await writeExportArchive(render(doc, { mkosiMajor: MAJOR }), { folderName: name, mtime: new Date(0), mkosiMajor: MAJOR });
  const dir = join(work, `${name}-unpacked`);
  await mkdir(dir);
  await writeFile(join(dir, "export.tar.gz"), archive);
  await execa("tar", ["-xzf", "export.tar.gz"], { cwd: dir });
  return join(dir, name);
}

const SEED = "0e9a6fe0-68f6-408c-bbeb-136912d2c3b3";
const ESP = "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/boot:/\nCopyFiles=/efi:/\nSizeMinBytes=512M\nSizeMaxBytes=512M\n";
const ROOT = "[Partition]\nType=root\nFormat=squashfs\nLabel=root\nCopyFiles=/\nMinimize=best\n";

const APPLIANCE: Tree = {
  "mkosi.conf": `# Appliance image
[Distribution]
Distribution=debian
Release=bookworm
Architecture=x86-64

[Output]
Format=disk
ImageId=appliance
ImageVersion=1.2
SplitArtifacts=yes
ManifestFormat=json
Seed=${SEED}
Output=%i_%v-final ; uses specifiers set above

[Content]
Packages=nano
Packages=
Packages=
        systemd,systemd-sysv   # init
        udev,dbus
        ; linux-image-cloud-amd64
        linux-image-amd64
Packages=systemd-boot
Bootable=yes
Bootloader=systemd-boot
WithDocs=no
KernelCommandLine=console=ttyS0 systemd.firstboot=off
KernelCommandLine=systemd.volatile=overlay
RemoveFiles=/usr/share/doc
Environment=BUILD_FLAVOUR=appliance
Hostname=appliance
Locale=C.UTF-8
Timezone=UTC
RootPassword=ro%%ot
Autologin=yes

[Validation]
Checksum=yes

[Host]
QemuMem=2G
`,
  "mkosi.conf.d/10-tools.conf": "[Content]\nPackages=vim,less\n",
  "mkosi.conf.d/20-arm.conf": "[Match]\nArchitecture=arm64\n\n[Content]\nPackages=u-boot-tools\n",
  "mkosi.conf.d/30-x86.conf": "[Match]\nArchitecture=x86-64\n\n[Content]\nPackages=intel-microcode\n",
  "mkosi.conf.d/40-late.conf": "[Content]\nPackages=htop\n",
  "mkosi.repart/00-esp.conf": ESP,
  "mkosi.repart/10-root.conf": ROOT,
  "mkosi.build": { text: "#!/bin/sh\nset -e\necho building\n", mode: 0o755 },
  "mkosi.postinst.chroot": { text: "#!/bin/sh\nsystemctl enable serial-getty@ttyS0.service\n", mode: 0o755 },
  "mkosi.extra/etc/motd": "Welcome to the appliance\n",
  "mkosi.extra/etc/localtime": { link: "/usr/share/zoneinfo/UTC" },
  "mkosi.pkgmngr/etc/apt/apt.conf.d/99-retries": 'Acquire::Retries "3";\n',
};

// mkosi.conf with [Match] stays as written; the form's settings go to a drop-in.
const MATCHED: Tree = {
  "mkosi.conf": `[Match]\nDistribution=debian\n\n[Distribution]\nRelease=bookworm\n\n[Output]\nSeed=${SEED}\n`,
  "mkosi.conf.d/10-pkgs.conf": "[Content]\nPackages=systemd\n  udev\nKernelCommandLine=quiet systemd.volatile=overlay\n",
  "mkosi.conf.d/20-more.conf": "[Content]\nHostname=matched\n",
};

// Order-sensitive writing the generated mkosi.conf could not keep: it must stay as written.
const ORDER_SENSITIVE: Tree = {
  "mkosi.conf": `[Content]\nPackages=b1\n[Distribution]\nPackages=a1\nRelease=bookworm\n[Output]\nSeed=${SEED}\nOutput=%v-out\nImageVersion=3\n`,
};

// An included config is read where Include= stands, before the [Content] below it.
const WITH_INCLUDE: Tree = {
  "mkosi.conf": `[Config]\nInclude=included.conf\n\n[Content]\nPackages=after-include\n\n[Output]\nSeed=${SEED}\n`,
  "included.conf": "[Content]\nPackages=from-include\n",
  "mkosi.conf.d/10.conf": "[Content]\nPackages=drop-in\n",
};

describe.skipIf(!installed)(`import and export with the real mkosi ${installed?.version ?? ""}`, () => {
  it.each([
    ["appliance", APPLIANCE],
    ["matched", MATCHED],
    ["order-sensitive", ORDER_SENSITIVE],
    ["with-include", WITH_INCLUDE],
  ])("the %s project and its export read the same in mkosi", async (name, tree) => {
    const src = join(work, name);
    await writeTree(src, tree);
    const before = await summary(src);

    const { document } = importProject((await readFolder(src)).files);
    const out = await exportAndUnpack(document, `${name}-export`);
    const after = await summary(out);
    expect(after).toEqual(before);

    // The same through writeProject, which builds use.
    const written = join(work, `${name}-written`);
    await writeProject(written, render(document, { mkosiMajor: MAJOR }));
    expect(await summary(written)).toEqual(before);
  });

  it("reads the appliance project into the form, not just back out", async () => {
    const before = await summary(join(work, "appliance"));
    // The summary is sensitive to what the test sets up...
    expect(before.Packages).toEqual([
      "systemd", "systemd-sysv", "udev", "dbus", "linux-image-amd64", "systemd-boot", "vim", "less", "intel-microcode", "htop",
    ]);
    expect(before.KernelCommandLine).toEqual(["console=ttyS0", "systemd.firstboot=off", "systemd.volatile=overlay"]);
    expect(before.Output).toBe("appliance_1.2-final");

    const { document } = importProject((await readFolder(join(work, "appliance"))).files);
    // ...and the importer understood the parts the form edits.
    expect(document.settings.Packages).toEqual(["systemd", "systemd-sysv", "udev", "dbus", "linux-image-amd64", "systemd-boot", "vim", "less"]);
    expect(document.overlay.scheme).toBe("tmpfs");
    expect(document.partitions.map((p) => p.type)).toEqual(["esp", "root"]);
    expect(document.extraFiles.map((f) => f.path)).toEqual(["etc/motd"]);
    expect(document.rawSettings.map((s) => s.key)).toEqual(["Seed", "Output", "RemoveFiles", "Environment", "QemuMem"]);

    // A changed document gives a different summary, so the equality above means something.
    const changed = { ...document, settings: { ...document.settings, Packages: ["systemd"] } };
    const after = await summary(await exportAndUnpack(changed, "appliance-changed"));
    expect(after.Packages).not.toEqual(before.Packages);
  });

  it("the exported project holds a README and no trace of the dashboard", async () => {
    const out = join(work, "appliance-export-unpacked", "appliance-export");
    expect(await readFile(join(out, "README.md"), "utf8")).toContain("sudo mkosi -f build");
    const { stdout } = await execa("grep", ["-ril", "image studio\\|image-studio", out], { reject: false });
    expect(stdout).toBe("");
  });

  it.each(PRESETS.map((p) => [p.id, p] as const))("preset %s survives export -> import unchanged and mkosi reads it", async (id, preset) => {
    const doc = preset.build(hostFacts());
    const archive = await writeExportArchive(render(doc, { mkosiMajor: MAJOR }), { folderName: id, mtime: new Date(0), mkosiMajor: MAJOR });
    const back = importProject(await readArchive(archive));
    expect(back.topFolder).toBe(id);
    expect(back.document).toEqual(doc);
    // A preset that signs names the key it needs: no key travels with an export.
    expect(back.notes.filter((n) => !n.includes("README"))).toEqual(needsSigningKey(doc) ? [expect.stringMatching(/^the project signs its image: choose a signing key from the key store before a build/)] : []);

    const dir = await exportAndUnpack(doc, `${id}-preset`);
    const s = await summary(dir);
    expect(s.ImageId).toBe(doc.settings.ImageId);
    expect(s.KernelCommandLine).toContain("systemd.volatile=overlay");
  });

  it("imports the original project's AutoLogin= as Autologin=, so its export passes mkosi where the original does not", async () => {
    const src = join(work, "original");
    await writeTree(src, ORIGINAL_PROJECT);
    expect(await refusal(src)).toMatch(/Unknown setting AutoLogin/);

    const { document, notes } = importProject((await readFolder(src)).files);
    expect(document.settings.Autologin).toBe(true);
    expect(document.rawSettings).toEqual([]);
    expect(notes.join("\n")).toMatch(/AutoLogin= is read as Autologin=: mkosi matches setting names exactly/);

    // The export reads as the project with the one key spelt right reads, nothing else changed.
    const fixed = join(work, "original-fixed");
    await writeTree(fixed, { ...ORIGINAL_PROJECT, "mkosi.conf": (ORIGINAL_PROJECT["mkosi.conf"] as string).replace("AutoLogin=", "Autologin=") });
    const out = await exportAndUnpack(document, "original-export");
    const after = unseeded(await summary(out));
    expect(after.Autologin).toBe(true);
    expect(after).toEqual(unseeded(await summary(fixed)));
  });

  it("round-trips the later definitions/ folder, its partitions in the editor and its mkosi.rootpw written 0600 so mkosi accepts the export", async () => {
    const repo = join(work, "later-repo");
    await writeTree(join(repo, "definitions"), DEFINITIONS);
    const src = join(repo, "definitions");
    // As cloned, mkosi refuses the project: git keeps mkosi.rootpw as 0644.
    expect(await refusal(src)).toMatch(/Permissions of '.*mkosi\.rootpw' of '0644' are too open/);

    const { document, notes, problems } = importProject((await readFolder(src)).files);
    expect(document.partitions.map((p) => [p.type, p.label])).toEqual([["esp", "esp"], ["root", "root-a"], ["linux-generic", "data"]]);
    expect(problems).toEqual([{ path: ["partitions", 0, "copyFiles"], message: expect.stringMatching(/CopyFiles=\/boot:\//) }]);
    expect(document.rawFiles.find((f) => f.path === "mkosi.rootpw")?.mode).toBe(0o600);
    expect(notes).toContain("mkosi.rootpw is written 0600, not 0644: mkosi refuses a secret file others can read");
    expect(notes.join("\n")).not.toMatch(/mkosi\.repart\/ kept as written/);

    const out = await exportAndUnpack(document, "definitions-export");
    expect((await stat(join(out, "mkosi.rootpw"))).mode & 0o7777).toBe(0o600);
    // Exactly what the clone gives once its rootpw is 0600, every image alike.
    await chmod(join(src, "mkosi.rootpw"), 0o600);
    const before = await summaries(src);
    expect(before.map((i) => i.Image ?? "main")).toEqual(["base", "initrd", "core", "main"]);
    expect(await summaries(out)).toEqual(before);
    const written = join(work, "definitions-written");
    await writeProject(written, render(document, { mkosiMajor: MAJOR }));
    expect((await stat(join(written, "mkosi.rootpw"))).mode & 0o7777).toBe(0o600);
    expect(await summaries(written)).toEqual(before);
  });
});
