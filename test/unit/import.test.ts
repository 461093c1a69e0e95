import { describe, expect, it } from "vitest";
import { exportReadme } from "@/server/mkosi/export-readme";
import { importProject, type ProjectFile } from "@/server/mkosi/import";
import { profileDocumentSchema, type ProfileDocument } from "@/server/mkosi/profile";
import { render, type RenderedFile } from "@/server/mkosi/render";
import { validateDocument } from "@/server/mkosi/validate";
import { appErrorSync } from "@/test/support/errors";

const enc = new TextEncoder();
const file = (path: string, text: string, mode = 0o644): ProjectFile => ({ path, data: enc.encode(text), mode });
const bin = (path: string, bytes: number[], mode = 0o644): ProjectFile => ({ path, data: Uint8Array.from(bytes), mode });
const link = (path: string, symlink: string): ProjectFile => ({ path, symlink });
const conf = (text: string) => file("mkosi.conf", text);


/** Rendered files back into importable files. */
function asProject(files: readonly RenderedFile[]): ProjectFile[] {
  return files.map((f) =>
    f.encoding === "symlink"
      ? { path: f.path, symlink: f.content }
      : { path: f.path, data: f.encoding === "base64" ? Uint8Array.from(Buffer.from(f.content, "base64")) : enc.encode(f.content), mode: f.mode },
  );
}

const roundTrip = (doc: ProfileDocument) => importProject(asProject(render(doc))).document;

const MAIN = `# An appliance image
[Distribution]
Distribution=debian
Release=bookworm

[Output]
Format=disk
ImageId=appliance   ; the output's name
SplitArtifacts=yes

[Content]
Packages=
        systemd,systemd-sysv   # init
        udev,dbus
        ; linux-image-cloud-amd64
        linux-image-amd64
Packages=systemd-boot
Bootable=yes
WithDocs=no
KernelCommandLine=console=ttyS0 systemd.firstboot=off systemd.volatile=overlay
RemoveFiles=/usr/share/doc
Hostname=appliance

[Host]
QemuMem=2G
`;

const ESP = "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/boot:/\nCopyFiles=/efi:/\nSizeMinBytes=512M\nSizeMaxBytes=512M\n";
const ROOT = "# the root\n[Partition]\nType=root\nFormat=squashfs\nLabel=root\nCopyFiles=/\nMinimize=best\nSplitName=root\n";
const SOURCES = "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";

function realWorld(): ProjectFile[] {
  return [
    file("appliance/mkosi.conf", MAIN),
    file("appliance/mkosi.conf.d/10-tools.conf", "[Content]\nPackages=vim,less\n"),
    file("appliance/mkosi.conf.d/20-arm.conf", "[Match]\nArchitecture=arm64\n\n[Content]\nPackages=u-boot-tools\n"),
    file("appliance/mkosi.conf.d/30-late.conf", "[Content]\nPackages=htop\n"),
    file("appliance/mkosi.conf.d/NOTES.txt", "not read by mkosi\n"),
    file("appliance/mkosi.repart/00-esp.conf", ESP),
    file("appliance/mkosi.repart/10-root.conf", ROOT),
    file("appliance/mkosi.pkgmngr/etc/apt/sources.list.d/mkosi.sources", SOURCES),
    file("appliance/mkosi.pkgmngr/etc/apt/apt.conf.d/99-retries", 'Acquire::Retries "3";\n'),
    file("appliance/mkosi.build", "#!/bin/sh\nmake -C \"$SRCDIR\"\n", 0o755),
    file("appliance/mkosi.postinst.chroot", "#!/bin/sh\nsystemctl enable foo\n", 0o755),
    file("appliance/mkosi.images/initrd/mkosi.conf", "[Output]\nFormat=cpio\n"),
    file("appliance/mkosi.extra/etc/motd", "Welcome\n"),
    file("appliance/mkosi.extra/etc/secret.conf", "token=1\n", 0o600),
    file("appliance/mkosi.extra/usr/local/bin/hello", "#!/bin/sh\necho hi\n", 0o755),
    bin("appliance/mkosi.extra/usr/share/logo.png", [0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]),
    link("appliance/mkosi.extra/etc/localtime", "/usr/share/zoneinfo/UTC"),
    file("appliance/README.md", "# Appliance\n"),
  ];
}

describe("importProject on a real-world project", () => {
  const { document: doc, notes, topFolder } = importProject(realWorld());

  it("strips the common top folder and reports it", () => {
    expect(topFolder).toBe("appliance");
    expect(doc.rawFiles.every((f) => !f.path.startsWith("appliance/"))).toBe(true);
  });

  it("reads multi-line lists with comments and merges the drop-in before the first [Match]", () => {
    expect(doc.settings.Packages).toEqual(["systemd", "systemd-sysv", "udev", "dbus", "linux-image-amd64", "systemd-boot", "vim", "less"]);
    expect(doc.settings.ImageId).toBe("appliance");
    expect(doc.settings.SplitArtifacts).toBe(true);
    expect(doc.settings.WithDocs).toBe(false);
    expect(doc.settings.Bootable).toBe("yes");
  });

  it("turns a trailing systemd.volatile=overlay into the tmpfs overlay", () => {
    expect(doc.overlay).toEqual({ scheme: "tmpfs" });
    expect(doc.settings.KernelCommandLine).toEqual(["console=ttyS0", "systemd.firstboot=off"]);
  });

  it("keeps unknown settings and sections, in order", () => {
    expect(doc.rawSettings).toEqual([
      { section: "Content", key: "RemoveFiles", value: "/usr/share/doc" },
      { section: "Host", key: "QemuMem", value: "2G" },
    ]);
  });

  it("keeps the [Match] drop-in, what follows it and non-.conf files as files", () => {
    const raw = Object.fromEntries(doc.rawFiles.map((f) => [f.path, f.reason]));
    expect(raw["mkosi.conf.d/20-arm.conf"]).toBe("has [Match] conditions");
    expect(raw["mkosi.conf.d/30-late.conf"]).toMatch(/comes after mkosi\.conf\.d\/20-arm\.conf/);
    expect(raw["mkosi.conf.d/NOTES.txt"]).toMatch(/not read by mkosi/);
    expect(raw["mkosi.conf.d/10-tools.conf"]).toBeUndefined();
  });

  it("reads the partitions and apt sources into the model", () => {
    expect(doc.partitions).toEqual([
      { type: "esp", format: "vfat", copyFiles: ["/boot:/", "/efi:/"], sizeMin: "512M", sizeMax: "512M", extra: [] },
      { type: "root", format: "squashfs", label: "root", copyFiles: ["/"], minimize: "best", extra: [{ key: "SplitName", value: "root" }] },
    ]);
    expect(doc.repositories).toEqual([
      { uri: "http://mirror.invalid/debian", suites: ["bookworm", "bookworm-updates"], components: ["main"], signedBy: "/usr/share/keyrings/debian-archive-keyring.gpg" },
    ]);
  });

  it("keeps scripts, sub-images and other files raw with their mode and a reason", () => {
    const raw = new Map(doc.rawFiles.map((f) => [f.path, f]));
    expect(raw.get("mkosi.build")).toMatchObject({ encoding: "utf8", mode: 0o755, reason: "script" });
    expect(raw.get("mkosi.postinst.chroot")).toMatchObject({ reason: "script", mode: 0o755 });
    expect(raw.get("mkosi.images/initrd/mkosi.conf")).toMatchObject({ reason: "sub-image", content: "[Output]\nFormat=cpio\n" });
    expect(raw.get("mkosi.pkgmngr/etc/apt/apt.conf.d/99-retries")?.reason).toBe("package manager tree");
    expect(raw.get("README.md")?.reason).toBe("not understood by the form");
  });

  it("edits text files of mkosi.extra/ in the form and keeps binaries and links raw", () => {
    expect(doc.extraFiles).toEqual([
      { path: "etc/motd", content: "Welcome\n", mode: "0644" },
      { path: "etc/secret.conf", content: "token=1\n", mode: "0600" },
      { path: "usr/local/bin/hello", content: "#!/bin/sh\necho hi\n", mode: "0755" },
    ]);
    const raw = new Map(doc.rawFiles.map((f) => [f.path, f]));
    const logo = raw.get("mkosi.extra/usr/share/logo.png");
    expect(logo).toMatchObject({ encoding: "base64", reason: "binary file" });
    expect([...Buffer.from(logo!.content, "base64")]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]);
    expect(raw.get("mkosi.extra/etc/localtime")).toMatchObject({ encoding: "symlink", content: "/usr/share/zoneinfo/UTC" });
  });

  it("accounts for every input file", () => {
    const merged = ["mkosi.conf", "mkosi.conf.d/10-tools.conf", "mkosi.pkgmngr/etc/apt/sources.list.d/mkosi.sources", "mkosi.repart/00-esp.conf", "mkosi.repart/10-root.conf"];
    const covered = new Set([...doc.rawFiles.map((f) => f.path), ...doc.extraFiles.map((f) => `mkosi.extra/${f.path}`), ...merged]);
    for (const f of realWorld()) expect(covered.has(f.path.slice("appliance/".length)), f.path).toBe(true);
  });

  it("explains what was kept raw", () => {
    expect(notes.some((n) => n.includes("mkosi.conf.d/20-arm.conf") && n.includes("[Match]"))).toBe(true);
    expect(notes.some((n) => n.startsWith("RemoveFiles="))).toBe(true);
    expect(notes.some((n) => n.includes("script") && n.includes("mkosi.build"))).toBe(true);
  });

  it("gives the same document when its export is imported again", () => {
    expect(roundTrip(doc)).toEqual(doc);
    const mkosiConf = render(doc).find((f) => f.path === "mkosi.conf")!.content;
    expect(mkosiConf).toMatch(/KernelCommandLine=console=ttyS0 systemd.firstboot=off systemd.volatile=overlay\n/);
    expect(mkosiConf).toMatch(/\[Host\]\nQemuMem=2G\n/);
  });

  it("does not depend on the order of the input files", () => {
    expect(importProject([...realWorld()].reverse()).document).toEqual(doc);
  });
});

describe("importProject: mkosi.conf semantics", () => {
  const settingsOf = (text: string) => importProject([conf(text)]).document;

  it("an empty assignment resets a list and unsets a scalar", () => {
    const d = settingsOf("[Content]\nPackages=a1\nPackages=\nPackages=b1\nHostname=h\nHostname=\n");
    expect(d.settings.Packages).toEqual(["b1"]);
    expect(d.settings.Hostname).toBeUndefined();
    expect(d.rawSettings).toEqual([]);
  });

  it("the last scalar assignment wins", () => {
    expect(settingsOf("[Distribution]\nRelease=bullseye\nRelease=bookworm\n").settings.Release).toBe("bookworm");
  });

  it("reads booleans and features the way mkosi's parse_boolean does", () => {
    const d = settingsOf("[Content]\nWithDocs=1\nAutologin=OFF\nBootable=enabled\nCleanPackageMetadata=0\n[Validation]\nChecksum=always\n");
    expect(d.settings).toEqual({ WithDocs: true, Autologin: false, Bootable: "yes", CleanPackageMetadata: "no", Checksum: true });
  });

  it("reads mkosi's own name for a value as the form's (CompressOutput=none is no)", () => {
    expect(settingsOf("[Output]\nCompressOutput=none\n").settings).toEqual({ CompressOutput: "no" });
    // Case matters to mkosi's enum look-up: None is no name of its, so it stays as written.
    expect(settingsOf("[Output]\nCompressOutput=None\n").rawSettings).toEqual([{ section: "Output", key: "CompressOutput", value: "None" }]);
  });

  it("keeps every assignment of a setting raw when one cannot be represented", () => {
    const d = settingsOf("[Output]\nImageId=base\nImageId=img-%d\n[Content]\nWithDocs=maybe\n");
    expect(d.settings.ImageId).toBeUndefined();
    expect(d.rawSettings).toEqual([
      { section: "Output", key: "ImageId", value: "base" },
      { section: "Output", key: "ImageId", value: "img-%d" },
      { section: "Content", key: "WithDocs", value: "maybe" },
    ]);
  });

  it("does not mistake object property names for values or keys", () => {
    const d = settingsOf("[Content]\nBootable=constructor\nCleanPackageMetadata=toString\n");
    expect(d.settings).toEqual({});
    expect(d.rawSettings.map((s) => s.value)).toEqual(["constructor", "toString"]);
    const p = importProject([
      conf("[Output]\nFormat=disk\n"),
      file("mkosi.repart/00-esp.conf", ESP),
      file("mkosi.repart/10-root.conf", "[Partition]\nType=root\nCopyFiles=/\nconstructor=1\nFormat=ext4\n"),
    ]).document;
    // An unknown key goes to `extra`, where this one is not a valid name: all of mkosi.repart/ stays raw.
    expect(p.partitions).toEqual([]);
    expect(p.rawFiles[1]?.reason).toMatch(/extra 0 key must be a setting name/);
  });

  it("reads '%%' as a literal '%' and keeps real specifiers raw", () => {
    const d = settingsOf("[Content]\nRootPassword=pa%%ss%\nKernelCommandLine=a=100%%\n[Distribution]\nMirror=http://m.invalid/%2Fdebian\n");
    expect(d.settings.RootPassword).toBe("pa%ss%");
    expect(d.settings.KernelCommandLine).toEqual(["a=100%"]);
    expect(d.rawSettings).toEqual([{ section: "Distribution", key: "Mirror", value: "http://m.invalid/%2Fdebian" }]);
    expect(render(d).find((f) => f.path === "mkosi.conf")?.content).toContain("RootPassword=pa%%ss%%\n");
    expect(roundTrip(d)).toEqual(d);
  });

  it("keeps enum values the form does not list raw", () => {
    const d = settingsOf("[Distribution]\nDistribution=fedora\n[Output]\nFormat=sysext\n");
    expect(d.settings).toEqual({});
    expect(d.rawSettings.map((s) => s.value)).toEqual(["fedora", "sysext"]);
  });

  it("keeps list items mkosi does not strip (', b') raw rather than tidy them", () => {
    const d = settingsOf("[Content]\nPackages=a1, b1\n");
    expect(d.settings.Packages).toBeUndefined();
    expect(d.rawSettings).toEqual([{ section: "Content", key: "Packages", value: "a1, b1" }]);
  });

  it("moves a known setting written in another section mkosi reads into its own, and says so", () => {
    const r = importProject([conf("[Distribution]\nPackages=a1\n[Content]\nPackages=b1\n")]);
    expect(r.document.settings.Packages).toEqual(["a1", "b1"]);
    expect(r.document.rawSettings).toEqual([]);
    expect(r.notes).toContain("mkosi.conf line 2: Packages= is moved from [Distribution] to [Content], its section (mkosi reads it in [Distribution] too, with a warning)");
    expect(roundTrip(r.document)).toEqual(r.document);
  });

  it("keeps a known setting in a section mkosi skips where it is (mkosi never reads it)", () => {
    const d = settingsOf("[Content]\nPackages=b1\n[Frobnicate]\nPackages=a1\n");
    expect(d.settings.Packages).toBeUndefined();
    expect(d.rawSettings).toEqual([
      { section: "Content", key: "Packages", value: "b1" },
      { section: "Frobnicate", key: "Packages", value: "a1" },
    ]);
    expect(roundTrip(d)).toEqual(d);
  });

  it("keeps the whole mkosi.conf when the generated file would reorder a setting's assignments", () => {
    const r = importProject([conf("[Content]\nRemoveFiles=/b\n[Distribution]\nRemoveFiles=/a\nRelease=bookworm\n")]);
    expect(r.document.settings).toEqual({});
    expect(r.document.rawFiles.map((f) => [f.path, f.reason])).toEqual([["mkosi.conf", expect.stringMatching(/several sections/)]]);
    // The model's (empty) settings then go to the drop-in render() writes after mkosi.conf.
    expect(render(r.document).map((f) => f.path)).toEqual(["mkosi.conf", "mkosi.conf.d/00-settings.conf"]);
  });

  it("keeps mkosi.conf when a specifier would read a setting the generated file moves", () => {
    const unsafe = importProject([conf("[Output]\nOutput=%v_x\nImageVersion=2\n")]);
    expect(unsafe.document.rawFiles[0]?.reason).toMatch(/%v/);
    const safe = importProject([conf("[Output]\nImageVersion=2\nOutput=%v_x\n")]).document;
    expect(safe.settings.ImageVersion).toBe("2");
    expect(safe.rawSettings).toEqual([{ section: "Output", key: "Output", value: "%v_x" }]);
  });

  it("keeps mkosi.conf with Include= as written (mkosi reads the include where it stands)", () => {
    const r = importProject([conf("[Config]\nInclude=extra.conf\n[Content]\nPackages=a1\n"), file("extra.conf", "[Content]\nPackages=b1\n")]);
    expect(r.document.settings).toEqual({});
    expect(r.document.rawFiles.map((f) => [f.path, f.reason])).toEqual([
      ["extra.conf", "not understood by the form"],
      ["mkosi.conf", "uses Include=, which mkosi reads where it stands"],
    ]);
  });

  it("keeps systemd.volatile=overlay in place when it is not last, and still sets tmpfs", () => {
    const d = settingsOf("[Content]\nKernelCommandLine=systemd.volatile=overlay quiet\n");
    expect(d.overlay.scheme).toBe("tmpfs");
    expect(d.settings.KernelCommandLine).toEqual(["systemd.volatile=overlay", "quiet"]);
    expect(render(d).find((f) => f.path === "mkosi.conf")?.content).toContain("KernelCommandLine=systemd.volatile=overlay quiet\n");
  });

  it("reads a kernel command line split over lines and spaces", () => {
    expect(settingsOf("[Content]\nKernelCommandLine=a=1  b\n  c\n").settings.KernelCommandLine).toEqual(["a=1", "b", "c"]);
  });

  it("keeps an explicitly empty list raw (it differs from an unset one)", () => {
    expect(settingsOf("[Content]\nPackages=,\n").rawSettings).toEqual([{ section: "Content", key: "Packages", value: "," }]);
  });

  it("reads a deprecated '@' setting as the setting and says so", () => {
    const r = importProject([conf("[Distribution]\n@Release=bookworm\n")]);
    expect(r.document.settings.Release).toBe("bookworm");
    expect(r.notes.join("\n")).toMatch(/@Release= is written as Release=/);
  });

  it("keeps mkosi.conf raw when a line in a section mkosi skips cannot be read, but fails where mkosi fails", () => {
    const r = importProject([conf("[Content]\nPackages=a1\n[Foo]\njust words\n")]);
    expect(r.document.rawFiles[0]).toMatchObject({ path: "mkosi.conf", reason: expect.stringMatching(/line 4/) });
    const e = appErrorSync(() => importProject([conf("[Content]\nPackages\n")]));
    expect(e.message).toMatch(/mkosi\.conf: line 2: .*must be followed by '='/);
    expect(e.problems[0]?.path).toEqual(["archive"]);
  });

  it("rejects an mkosi.conf that is not UTF-8", () => {
    expect(appErrorSync(() => importProject([bin("mkosi.conf", [0x5b, 0xff, 0x5d])])).message).toMatch(/not UTF-8/);
  });

  it("keeps hostile values from changing the file's structure", () => {
    // '[' and '=' inside values stay values; a control character cannot be written back as a setting.
    const d = settingsOf("[Content]\nHostname=[Output]\nLocale=Format=disk\n");
    expect(d.rawSettings).toEqual([
      { section: "Content", key: "Hostname", value: "[Output]" },
      { section: "Content", key: "Locale", value: "Format=disk" },
    ]);
    expect(roundTrip(d)).toEqual(d);
    const withControl = importProject([conf("[Content]\nRootPassword=a\u0001b\nHostname=h\n")]).document;
    expect(withControl.rawFiles.map((f) => f.path)).toEqual(["mkosi.conf"]);
    expect(withControl.settings).toEqual({});
  });

  it("keeps an unknown key the raw settings cannot spell inside the raw mkosi.conf", () => {
    const d = importProject([conf("[Content]\nFoo-Bar=1\nHostname=h\n")]).document;
    expect(d.rawFiles[0]?.path).toBe("mkosi.conf");
    expect(d.rawSettings).toEqual([]);
  });
});

describe("importProject: settings an older mkosi spelled or placed otherwise", () => {
  const one = (text: string) => importProject([conf(text)]);

  it("reads a key that differs from a setting only in case as that setting, and names the change", () => {
    const r = one("[Content]\nAutoLogin=yes\nwithdocs=no\n[Validation]\nCheckSum=yes\n");
    expect(r.document.settings).toEqual({ Autologin: true, WithDocs: false, Checksum: true });
    expect(r.document.rawSettings).toEqual([]);
    expect(r.notes).toContain(
      'mkosi.conf line 2: AutoLogin= is read as Autologin=: mkosi matches setting names exactly (mkosi 15 to 25 stop at AutoLogin= ("Unknown setting AutoLogin") and 26 ignores it with a warning)',
    );
    expect(r.notes.join("\n")).toMatch(/line 3: withdocs= is read as WithDocs=/);
    expect(r.notes.join("\n")).toMatch(/line 5: CheckSum= is read as Checksum=/);
    // The export spells it the way mkosi reads it.
    expect(render(r.document).find((f) => f.path === "mkosi.conf")!.content).toContain("Autologin=yes\n");
  });

  it("reads a section spelt in another case as that section", () => {
    const r = one("[content]\nHostname=h\n");
    expect(r.document.settings).toEqual({ Hostname: "h" });
    expect(r.notes.join("\n")).toMatch(/\[content\] is read as \[Content\]: mkosi 16 and later match section names exactly/);
  });

  it("moves settings mkosi 15 moved out of [Output], and reads mkosi 14's [Packages] as [Content]", () => {
    const r = one("[Output]\nFormat=disk\nBootable=yes\nKernelCommandLine=quiet\nHostname=box\n[Packages]\nPackages=systemd\nWithDocs=no\n");
    expect(r.document.settings).toEqual({ Format: "disk", Bootable: "yes", KernelCommandLine: ["quiet"], Hostname: "box", Packages: ["systemd"], WithDocs: false });
    const notes = r.notes.join("\n");
    expect(notes).toMatch(/line 3: Bootable= is moved from \[Output\] to \[Content\]: mkosi 15 moved it there/);
    expect(notes).toMatch(/line 7: Packages= is moved from \[Packages\] to \[Content\]: mkosi 15 and older read \[Packages\] as \[Content\], 16 and later skip \[Packages\]/);
    const out = render(r.document).find((f) => f.path === "mkosi.conf")!.content;
    expect(out).not.toContain("[Packages]");
    expect(out).toMatch(/\[Content\]\nPackages=systemd\nWithDocs=no\nBootable=yes/);
  });

  it("reads mkosi 14's Password= and PasswordIsHashed= as RootPassword= with its hashed: prefix", () => {
    const hashed = one("[Content]\nPassword=$6$salt$hash\nPasswordIsHashed=yes\n");
    expect(hashed.document.settings).toEqual({ RootPassword: "hashed:$6$salt$hash" });
    expect(hashed.document.rawSettings).toEqual([]);
    const notes = hashed.notes.join("\n");
    expect(notes).toMatch(/Password= is read as RootPassword=: mkosi 15 renamed it/);
    expect(notes).toMatch(/PasswordIsHashed=yes is folded into RootPassword= as its 'hashed:' prefix/);
    const plain = one("[Content]\nPassword=secret\nPasswordIsHashed=no\n");
    expect(plain.document.settings).toEqual({ RootPassword: "secret" });
    expect(plain.notes.join("\n")).toMatch(/PasswordIsHashed= is dropped/);
  });

  it("reads mkosi 14's Format=gpt_ext4 as disk, and says where the file system went", () => {
    const r = one("[Output]\nFormat=gpt_btrfs\n");
    expect(r.document.settings).toEqual({ Format: "disk" });
    expect(r.notes.join("\n")).toMatch(/Format=gpt_btrfs is read as Format=disk: mkosi 15 replaced it \(file systems are set per partition in mkosi\.repart\//);
  });

  it("leaves what mkosi reads as written alone: no notes for a current project", () => {
    const r = one("[Content]\nAutologin=yes\nRootPassword=root\n[Output]\nFormat=disk\n");
    expect(r.notes).toEqual([]);
  });
});

describe("importProject: mkosi.conf.d", () => {
  it("merges plain drop-ins in mkosi's sorted order, whatever the input order", () => {
    const d = importProject([
      file("mkosi.conf.d/20-b.conf", "[Content]\nPackages=second\n"),
      file("mkosi.conf", "[Content]\nPackages=first\n"),
      file("mkosi.conf.d/10-a.conf", "[Content]\nPackages=middle\n"),
    ]).document;
    expect(d.settings.Packages).toEqual(["first", "middle", "second"]);
    expect(d.rawFiles).toEqual([]);
  });

  it("stops merging at a folder of settings", () => {
    const d = importProject([
      conf("[Content]\nPackages=first\n"),
      file("mkosi.conf.d/10-sub/mkosi.conf", "[Content]\nPackages=sub\n"),
      file("mkosi.conf.d/20-after.conf", "[Content]\nPackages=after\n"),
    ]).document;
    expect(d.settings.Packages).toEqual(["first"]);
    expect(d.rawFiles.map((f) => [f.path, f.reason])).toEqual([
      ["mkosi.conf.d/10-sub/mkosi.conf", "a folder of settings"],
      ["mkosi.conf.d/20-after.conf", "comes after mkosi.conf.d/10-sub/"],
    ]);
  });

  it("does not merge a drop-in using %C (the folder it lies in)", () => {
    const d = importProject([conf("[Content]\nPackages=a1\n"), file("mkosi.conf.d/10.conf", "[Content]\nExtraTrees=%C/tree\n")]).document;
    expect(d.rawFiles[0]).toMatchObject({ path: "mkosi.conf.d/10.conf", reason: expect.stringMatching(/%C/) });
    expect(d.rawSettings).toEqual([]);
  });

  it("with a [Match] mkosi.conf, keeps it raw and merges drop-ins into 00-settings.conf", () => {
    const r = importProject([
      conf("[Match]\nDistribution=debian\n[Distribution]\nRelease=bookworm\n"),
      file("mkosi.conf.d/10-pkgs.conf", "[Content]\nPackages=vim\n"),
    ]);
    expect(r.document.settings).toEqual({ Packages: ["vim"] });
    expect(r.document.rawFiles.map((f) => [f.path, f.reason])).toEqual([["mkosi.conf", "has [Match] conditions"]]);
    const out = render(r.document);
    expect(out.find((f) => f.path === "mkosi.conf.d/00-settings.conf")?.content).toBe("[Content]\nPackages=vim\n");
    expect(out.find((f) => f.path === "mkosi.conf")?.content).toContain("[Match]");
    expect(r.notes.join("\n")).toMatch(/00-settings\.conf/);
  });

  it("with a [Match] mkosi.conf, does not move drop-ins behind one that sorts before 00-settings.conf", () => {
    const d = importProject([
      conf("[Match]\nDistribution=debian\n"),
      file("mkosi.conf.d/00-a.conf", "[Content]\nPackages=a1\n"),
      file("mkosi.conf.d/00-b.conf", "[Match]\nArchitecture=arm64\n"),
    ]).document;
    expect(d.settings).toEqual({});
    expect(d.rawFiles.map((f) => f.path)).toEqual(["mkosi.conf", "mkosi.conf.d/00-a.conf", "mkosi.conf.d/00-b.conf"]);
    expect(d.rawFiles[1]?.reason).toMatch(/stay before mkosi\.conf\.d\/00-b\.conf/);
  });

  it("refuses a kept 00-settings.conf that would clash with the generated one", () => {
    const e = appErrorSync(() =>
      importProject([conf("[Match]\nDistribution=debian\n"), file("mkosi.conf.d/00-settings.conf", "[Match]\nArchitecture=arm64\n")]),
    );
    expect(e.message).toMatch(/00-settings\.conf must be renamed/);
  });

  it("accepts a project that only has drop-ins", () => {
    const d = importProject([file("mkosi.conf.d/10.conf", "[Distribution]\nRelease=bookworm\n")]).document;
    expect(d.settings.Release).toBe("bookworm");
  });
});

describe("importProject: mkosi.repart", () => {
  const withRepart = (...files: ProjectFile[]) => importProject([conf("[Output]\nFormat=disk\n"), ...files]).document;

  it("keeps repeated extra keys in order", () => {
    const d = withRepart(
      file("mkosi.repart/00-esp.conf", ESP),
      file("mkosi.repart/10-root.conf", "[Partition]\nType=root\nFormat=ext4\nCopyFiles=/\nExcludeFiles=/var/cache\nExcludeFiles=/var/log\n"),
    );
    expect(d.partitions[1]?.extra).toEqual([
      { key: "ExcludeFiles", value: "/var/cache" },
      { key: "ExcludeFiles", value: "/var/log" },
    ]);
  });

  it.each([
    ["an unknown Type", "[Partition]\nType=usr-verity\nFormat=erofs\n", /type must be one of/],
    ["a repeated Label", "[Partition]\nType=root\nLabel=a\nLabel=b\nCopyFiles=/\n", /sets Label= twice/],
    ["a second section", "[Partition]\nType=root\nCopyFiles=/\n[Other]\nX=1\n", /sections other than one \[Partition\]/],
    ["an invalid size", "[Partition]\nType=root\nCopyFiles=/\nSizeMinBytes=1GiB\n", /not a size/],
    ["a continued line", "[Partition]\nType=root\nCopyFiles=/ \\\n  /usr\n", /continues/],
  ])("keeps all of mkosi.repart/ raw for %s", (_what, text, reason) => {
    const d = withRepart(file("mkosi.repart/00-esp.conf", ESP), file("mkosi.repart/10-root.conf", text));
    expect(d.partitions).toEqual([]);
    expect(d.rawFiles.map((f) => f.path)).toEqual(["mkosi.repart/00-esp.conf", "mkosi.repart/10-root.conf"]);
    expect(d.rawFiles[1]?.reason).toMatch(reason);
    expect(d.rawFiles[0]?.content).toBe(ESP);
  });

  it("imports a layout mkosi accepts but the form's rules reject into the partition editor, the problem marked at its field", () => {
    const r = importProject([
      conf("[Output]\nFormat=disk\n"),
      file("mkosi.repart/00-esp.conf", "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/efi:/\n"),
      file("mkosi.repart/10-root.conf", "[Partition]\nType=root\nFormat=ext4\nCopyFiles=/\n"),
    ]);
    expect(r.document.partitions.map((p) => [p.type, p.copyFiles])).toEqual([["esp", ["/efi:/"]], ["root", ["/"]]]);
    expect(r.document.rawFiles).toEqual([]);
    expect(r.problems).toEqual([{ path: ["partitions", 0, "copyFiles"], message: expect.stringMatching(/CopyFiles=\/boot:\//) }]);
    // The editor runs the same rules, so it marks the same field.
    expect(validateDocument(r.document).problems).toEqual(r.problems);
    expect(r.notes.join("\n")).toMatch(/mkosi\.repart\/ is in the partition editor with a problem to fix before a build: partition 1 copyFiles: the ESP needs CopyFiles=\/boot:\//);
    expect(r.notes.join("\n")).not.toMatch(/kept as written/);
  });
});

describe("importProject: secrets", () => {
  it("writes mkosi.rootpw, mkosi.key, mkosi.passphrase and credentials owner-only, and says so", () => {
    const r = importProject([
      conf("[Content]\nHostname=h\n"),
      file("mkosi.rootpw", "root\n", 0o644),
      file("mkosi.key", "-----BEGIN PRIVATE KEY-----\n", 0o640),
      file("mkosi.passphrase", "pass", 0o600),
      file("mkosi.credentials/passwd.hashed-password.root", "$6$x\n", 0o644),
      file("mkosi.credentials/generate", "#!/bin/sh\necho x\n", 0o755),
      file("mkosi.images/base/mkosi.rootpw", "base\n", 0o664),
      file("mkosi.extra/etc/mkosi.key", "image content\n", 0o644),
    ]);
    const modes = Object.fromEntries(r.document.rawFiles.map((f) => [f.path, f.mode.toString(8)]));
    expect(modes).toEqual({
      "mkosi.rootpw": "600",
      "mkosi.passphrase": "600",
      "mkosi.credentials/passwd.hashed-password.root": "600",
      "mkosi.credentials/generate": "700",
      "mkosi.images/base/mkosi.rootpw": "600",
    });
    // A file of the image keeps its mode: it is the image's, not mkosi's.
    expect(r.document.extraFiles).toEqual([{ path: "etc/mkosi.key", content: "image content\n", mode: "0644" }]);
    expect(r.notes).toContain("mkosi.rootpw is written 0600, not 0644: mkosi refuses a secret file others can read");
    expect(r.notes.filter((n) => n.includes("mkosi refuses a secret"))).toHaveLength(4);
    // A private key never becomes part of the profile: it belongs in the key store.
    expect(r.notes).toContain(
      "mkosi.key holds a private key and was not imported (a profile never holds one): import it with its certificate into the key store and choose it as the profile's signing key",
    );
    expect(JSON.stringify(r.document)).not.toMatch(/PRIVATE KEY/);
  });

  it("renders a secret owner-only even when the document holds it with a wider mode", () => {
    const doc = profileDocumentSchema.parse({ settings: {}, rawFiles: [{ path: "mkosi.rootpw", encoding: "utf8", content: "x\n", mode: 0o644, reason: "read by mkosi as RootPassword=" }] });
    expect(render(doc).find((f) => f.path === "mkosi.rootpw")?.mode).toBe(0o600);
  });
});

describe("importProject: apt sources, extra files, README", () => {
  it("keeps apt sources the model cannot hold raw", () => {
    const text = `${SOURCES}Enabled: no\n`;
    const d = importProject([conf("[Distribution]\nRelease=bookworm\n"), file("mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources", text)]).document;
    expect(d.repositories).toEqual([]);
    expect(d.rawFiles[0]).toMatchObject({ path: "mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources", content: text });
  });

  it("reads the mkosi 25 location as well", () => {
    const d = importProject([conf("[Distribution]\nRelease=trixie\n"), file("mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources", SOURCES)]).document;
    expect(d.repositories).toHaveLength(1);
  });

  it("keeps extra files with an odd mode or size raw", () => {
    const big = "x".repeat(256 * 1024 + 1);
    const d = importProject([conf("[Content]\nHostname=h\n"), file("mkosi.extra/opt/run", "#!/bin/sh\n", 0o700), file("mkosi.extra/opt/big.txt", big)]).document;
    expect(d.extraFiles).toEqual([]);
    expect(d.rawFiles.map((f) => [f.path, f.reason, f.mode])).toEqual([
      ["mkosi.extra/opt/big.txt", "larger than 256 KiB", 0o644],
      ["mkosi.extra/opt/run", "mode 0700", 0o700],
    ]);
  });

  it("drops the README an export wrote, and keeps a user's README", () => {
    const r = importProject([conf("[Content]\nHostname=h\n"), file("README.md", exportReadme({ mkosiMajor: 24 })), file("BUILDING.md", "# mine\n")]);
    expect(r.document.rawFiles.map((f) => f.path)).toEqual(["BUILDING.md"]);
    expect(r.notes.join("\n")).toMatch(/README\.md is the README an export writes/);
    const edited = importProject([conf("[Content]\nHostname=h\n"), file("README.md", `${exportReadme({ mkosiMajor: 24 })}more\n`)]);
    expect(edited.document.rawFiles.map((f) => f.path)).toEqual(["README.md"]);
  });
});

describe("importProject: hostile and invalid input", () => {
  it.each([
    ["../mkosi.conf", /must not contain '\.\.'/],
    ["/etc/passwd", /must be relative/],
    ["proj/../../x", /must not contain '\.\.'/],
    ["a\\b", /or '\\'/],
  ])("rejects the path %j", (path, message) => {
    const e = appErrorSync(() => importProject([conf("[Content]\nHostname=h\n"), file(path, "x")]));
    expect(e.message).toMatch(message);
    expect(e.problems[0]?.path).toEqual(["archive"]);
  });

  it("does not take '..' for a top folder", () => {
    expect(() => importProject([file("../mkosi.conf", "[Content]\nHostname=h\n")])).toThrow(/'\.\.'/);
  });

  it.each(["mkosi.conf.d/10.conf", "mkosi.build", "mkosi.images/x", "mkosi.extra.tar", "mkosi.skeletonx/a"])(
    "rejects a link outside the image trees: %s",
    (path) => {
      const e = appErrorSync(() => importProject([conf("[Content]\nHostname=h\n"), link(path, "/etc/passwd")]));
      expect(e.message).toContain(`${path} is a link: links are only accepted inside mkosi.extra/ or mkosi.skeleton/`);
    },
  );

  it("accepts links inside mkosi.skeleton/ as raw links", () => {
    const d = importProject([conf("[Content]\nHostname=h\n"), link("mkosi.skeleton/etc/resolv.conf", "../run/resolv.conf")]).document;
    expect(d.rawFiles[0]).toMatchObject({ encoding: "symlink", content: "../run/resolv.conf", reason: "skeleton tree" });
  });

  it("rejects files placed through a link", () => {
    const e = appErrorSync(() => importProject([conf("[Content]\nHostname=h\n"), link("mkosi.extra/etc", "/etc"), file("mkosi.extra/etc/passwd", "root::0:0\n")]));
    expect(e.message).toMatch(/mkosi\.extra\/etc\/passwd lies inside the link mkosi\.extra\/etc/);
  });

  it("rejects duplicates and a path that is both a file and a folder", () => {
    expect(appErrorSync(() => importProject([conf("[Content]\n"), conf("[Content]\n")])).message).toMatch(/appears twice/);
    expect(appErrorSync(() => importProject([conf("[Content]\n"), file("x", "1"), file("x/y", "2")])).message).toMatch(/x is both a file and a folder/);
  });

  it("says when the files are not an mkosi project", () => {
    const e = appErrorSync(() => importProject([file("proj/README.md", "hi\n"), file("proj/mkosi.conf.d/notes.txt", "")]));
    expect(e.message).toMatch(/not an mkosi project/);
    expect(e.message).toContain("proj/");
    expect(() => importProject([])).toThrow(/not an mkosi project/);
    expect(() => importProject([file("mkosi.conf.d/.conf", "[Content]\n")])).toThrow(/not an mkosi project/);
  });
});

describe("importProject: squashfs compression", () => {
  const LAYOUT = [
    file("mkosi.repart/00-esp.conf", "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/boot:/\nCopyFiles=/efi:/\n"),
    file("mkosi.repart/10-root.conf", "[Partition]\nType=root\nFormat=squashfs\nCopyFiles=/\n"),
  ];
  const withEnv = (value: string) => importProject([conf(`[Content]\nPackages=systemd\nEnvironment=${value}\n`), ...LAYOUT]);

  it("reads the Environment= an export writes as the squashfs partition's Compression", () => {
    const r = withEnv('"SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp zstd -Xcompression-level 3"');
    expect(r.document.partitions[1]).toMatchObject({ format: "squashfs", compression: "zstd", compressionLevel: 3 });
    expect(r.document.partitions[0]!.compression).toBeUndefined();
    expect(r.document.rawSettings).toEqual([]);
    // The form's own spelling: nothing is kept as written, so nothing is said.
    expect(r.notes.filter((n) => n.includes("Environment"))).toEqual([]);
    expect(withEnv('"SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp xz"').document.partitions[1]).toMatchObject({ compression: "xz" });
  });

  it("keeps any other Environment= as written", () => {
    for (const value of [
      '"SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp zstd -b 1M"',
      "SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp",
      '"SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp brotli"',
      '"SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp zstd -Xcompression-level 03"',
      '"SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp zstd" FOO=bar',
    ]) {
      const r = withEnv(value);
      expect(r.document.partitions[1]!.compression, value).toBeUndefined();
      expect(r.document.rawSettings, value).toEqual([{ section: "Content", key: "Environment", value }]);
      expect(r.notes.some((n) => n.startsWith("Environment= kept as written")), value).toBe(true);
    }
  });

  it("round-trips every compressor and level the form offers", () => {
    for (const c of [{ compression: "gzip", compressionLevel: 9 }, { compression: "zstd", compressionLevel: 22 }, { compression: "lzo" }, { compression: "lz4" }] as const) {
      const d = profileDocumentSchema.parse({
        settings: { Packages: ["systemd"] },
        partitions: [{ type: "esp", format: "vfat", copyFiles: ["/boot:/", "/efi:/"] }, { type: "root", format: "squashfs", copyFiles: ["/"], ...c }],
      });
      expect(validateDocument(d).ok).toBe(true);
      expect(roundTrip(d)).toEqual(d);
    }
  });
});

describe("export -> import keeps documents", () => {
  it("round-trips a document using every part of the model", () => {
    const doc = profileDocumentSchema.parse({
      settings: {
        Distribution: "debian",
        Release: "bookworm",
        Mirror: "http://mirror.invalid/debian",
        Repositories: ["main", "contrib"],
        ManifestFormat: ["json", "changelog"],
        CompressOutput: "zstd",
        CleanPackageMetadata: "no",
        RootPassword: "hashed:$6$abc$def",
        Packages: ["systemd"],
        RemovePackages: ["nano"],
        KernelCommandLine: ["quiet"],
        Autologin: true,
      },
      partitions: [
        { type: "esp", format: "vfat", copyFiles: ["/boot:/", "/efi:/"], sizeMin: "512M" },
        { type: "root", format: "erofs", label: "root-%A", copyFiles: ["/"], minimize: "guess" },
        { type: "swap", format: "swap", label: "swap", sizeMin: "1G", sizeMax: "1G", extra: [{ key: "Priority", value: "10" }] },
      ],
      overlay: { scheme: "tmpfs" },
      extraFiles: [{ path: "etc/issue", content: "hi\n", mode: "0644" }],
      rawSettings: [{ section: "Content", key: "RemoveFiles", value: "\n/a\n/b" }],
      rawFiles: [{ path: "mkosi.finalize", encoding: "utf8", content: "#!/bin/sh\n", mode: 0o755, reason: "script" }],
    });
    expect(validateDocument(doc).ok).toBe(true);
    expect(roundTrip(doc)).toEqual(doc);
  });
});
