// The renderer: golden files for each preset, determinism, and the details of each file kind.
// Regenerate the golden files with: UPDATE_GOLDEN=1 npx vitest run test/unit/render.test.ts
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PRESETS, type HostFacts } from "@/server/mkosi/presets";
import { profileDocumentSchema, type ProfileDocument, type ProfileDocumentInput } from "@/server/mkosi/profile";
import {
  effectiveCommandLine,
  escapeUnitPath,
  overlayFiles,
  render,
  renderMkosiConf,
  renderPartition,
  renderSources,
  repartPath,
  sourcesPath,
  VOLATILE_OVERLAY,
  type RenderedFile,
} from "@/server/mkosi/render";
import { writeProject } from "@/server/profiles/project-dir";

/** Fixed facts of a Debian 12 host; the addresses are reserved names that resolve nowhere. */
const HOST: HostFacts = {
  osId: "debian",
  aptRepositories: [
    {
      uri: "http://mirror.example.invalid/debian",
      suites: ["bookworm", "bookworm-updates"],
      components: ["main"],
      signedBy: "/usr/share/keyrings/debian-archive-keyring.gpg",
    },
    {
      uri: "http://security.example.invalid/debian-security",
      suites: ["bookworm-security"],
      components: ["main", "contrib"],
      signedBy: "/usr/share/keyrings/debian-archive-keyring.gpg",
    },
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm-backports"], components: ["main"] },
    { uri: "http://other.example.invalid/apt", suites: ["cloud-sdk-bookworm"], components: ["main"] },
  ],
};

const doc = (input: ProfileDocumentInput): ProfileDocument => profileDocumentSchema.parse(input);
const byPath = (files: RenderedFile[], path: string) => files.find((f) => f.path === path);

// --- Golden files ------------------------------------------------------------------------------

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "..", "golden");

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p).split("\\").join("/"));
    }
  }
  await walk(dir);
  return out.sort();
}

/** Compares rendered files with test/golden/<id>/; with UPDATE_GOLDEN=1 rewrites them first. */
async function expectGolden(id: string, files: RenderedFile[]): Promise<void> {
  const dir = join(GOLDEN, id);
  if (process.env.UPDATE_GOLDEN === "1") {
    await rm(dir, { recursive: true, force: true });
    for (const f of files) {
      if (f.encoding === "symlink") throw new Error("golden files do not hold symlinks");
      await mkdir(dirname(join(dir, f.path)), { recursive: true });
      await writeFile(join(dir, f.path), Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8"));
    }
  }
  const onDisk = await listTree(dir).catch(() => [] as string[]);
  expect(onDisk, `golden files of ${id} (run with UPDATE_GOLDEN=1 to regenerate)`).toEqual(files.map((f) => f.path).sort());
  for (const f of files) {
    const want = await readFile(join(dir, f.path));
    const got = Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8");
    // Text first for a readable diff, then the bytes.
    expect(got.toString("utf8"), f.path).toBe(want.toString("utf8"));
    expect(got.equals(want), f.path).toBe(true);
  }
}

/** A deep copy with every object's keys in reverse order (arrays keep their order). */
function reverseKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reverseKeys) as T;
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reverseKeys(x)]),
    ) as T;
  return v;
}

describe("presets render to the golden files", () => {
  it("there are presets", () => {
    expect(PRESETS.length).toBeGreaterThanOrEqual(2);
  });

  it.each(PRESETS.map((p) => [p.id, p] as const))("%s", async (id, preset) => {
    const files = render(preset.build(HOST), { mkosiMajor: 24 });
    expect(files.length).toBeGreaterThan(3);
    await expectGolden(id, files);
  });

  it.each(PRESETS.map((p) => [p.id, p] as const))("%s renders deterministically", (_id, preset) => {
    const a = preset.build(HOST);
    const first = render(a);
    expect(render(a)).toEqual(first);
    expect(render(preset.build(HOST))).toEqual(first);
    const shuffled = reverseKeys(structuredClone(a));
    expect(Object.keys(shuffled.settings)).not.toEqual(Object.keys(a.settings));
    expect(render(shuffled)).toEqual(first);
    // Through JSON (how the database stores it) and the schema again.
    expect(render(profileDocumentSchema.parse(JSON.parse(JSON.stringify(shuffled))))).toEqual(first);
    // Files come in path order, each once.
    const paths = first.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(paths.length);
  });

  it("the Debian preset takes the host's bookworm mirror and security archive, not backports or other repositories", () => {
    const d = PRESETS.find((p) => p.id === "immutable-debian-12")!.build(HOST);
    expect(d.repositories.map((r) => [r.uri, r.suites])).toEqual([
      ["http://mirror.example.invalid/debian", ["bookworm", "bookworm-updates"]],
      ["http://security.example.invalid/debian-security", ["bookworm-security"]],
    ]);
    expect(d.settings.Mirror).toBe("http://mirror.example.invalid/debian");
  });

  it("the Debian 13 presets take the host's Debian mirror for trixie (the host runs bookworm), without backports", () => {
    for (const id of ["immutable-debian-13", "immutable-debian-13-verified-boot"]) {
      const d = PRESETS.find((p) => p.id === id)!.build(HOST);
      expect(d.repositories.map((r) => [r.uri, r.suites])).toEqual([
        ["http://mirror.example.invalid/debian", ["trixie", "trixie-updates"]],
        ["http://security.example.invalid/debian-security", ["trixie-security"]],
      ]);
      expect(d.settings.Release).toBe("trixie");
      // The stub is its own package in trixie: without it mkosi 24 makes no UKI.
      expect(d.settings.Packages).toContain("systemd-boot-efi");
    }
  });

  it("the verified-boot preset renders mkosi 26's layout: the sandbox tree; Verity= only for 25 and later", async () => {
    const d = { ...PRESETS.find((p) => p.id === "immutable-debian-13-verified-boot")!.build(HOST), signingKey: "verified" };
    const files = render(d, { mkosiMajor: 26 });
    await expectGolden("immutable-debian-13-verified-boot@mkosi-26", files);
    expect(byPath(files, "mkosi.conf")!.content).toMatch(/^\[Validation\]\nSecureBoot=yes\nSignExpectedPcr=yes\nChecksum=yes\n/m);
    expect(files.map((f) => f.path)).toContain("mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources");
    const withVerity = { ...d, settings: { ...d.settings, Verity: "yes" as const } };
    expect(byPath(render(withVerity, { mkosiMajor: 26 }), "mkosi.conf")!.content).toMatch(/^Verity=yes$/m);
    // 24 has no Verity= (it would stop at it); the repart files say the same in both.
    const f24 = render(withVerity, { mkosiMajor: 24 });
    expect(byPath(f24, "mkosi.conf")!.content).not.toMatch(/^Verity=/m);
    expect(f24.filter((f) => f.path.startsWith("mkosi.repart/"))).toEqual(files.filter((f) => f.path.startsWith("mkosi.repart/")));
    // No key material and no key path is part of the project: the build passes them on the command line.
    for (const f of [...files, ...f24]) {
      expect(f.path).not.toMatch(/mkosi\.(key|crt)$/);
      expect(f.content).not.toMatch(/PRIVATE KEY|SecureBootKey|VerityKey/);
    }
  });

  it("rendering does not change the document", () => {
    for (const p of PRESETS) {
      const d = p.build(HOST);
      const before = structuredClone(d);
      render(d, { mkosiMajor: 24 });
      render(d, { mkosiMajor: 25 });
      expect(d).toEqual(before);
    }
  });
});

// --- mkosi.conf -----------------------------------------------------------------------------------

describe("mkosi.conf", () => {
  it("writes a list of several items one per indented line, a single item inline, an empty list not at all", () => {
    expect(renderMkosiConf(doc({ settings: { Packages: ["systemd", "udev", "dbus"] } }))).toBe(
      "[Content]\nPackages=\n        systemd\n        udev\n        dbus\n",
    );
    expect(renderMkosiConf(doc({ settings: { Packages: ["systemd"] } }))).toBe("[Content]\nPackages=systemd\n");
    expect(renderMkosiConf(doc({ settings: { Packages: [] } }))).toBe("");
    expect(renderMkosiConf(doc({ settings: { Repositories: ["main", "universe"] } }))).toBe(
      "[Distribution]\nRepositories=\n        main\n        universe\n",
    );
  });

  it("writes the kernel command line on one line, words separated by spaces", () => {
    expect(renderMkosiConf(doc({ settings: { KernelCommandLine: ["console=ttyS0", "quiet", "a=b=c"] } }))).toBe(
      "[Content]\nKernelCommandLine=console=ttyS0 quiet a=b=c\n",
    );
  });

  it("writes booleans as yes/no, features and enums as they are, sections in mkosi 24's order", () => {
    expect(
      renderMkosiConf(
        doc({ settings: { Checksum: false, WithDocs: true, Bootable: "auto", Format: "disk", Distribution: "ubuntu", Release: "noble" } }),
      ),
    ).toBe(
      "[Distribution]\nDistribution=ubuntu\nRelease=noble\n\n[Output]\nFormat=disk\n\n[Content]\nWithDocs=yes\nBootable=auto\n\n[Validation]\nChecksum=no\n",
    );
  });

  it("writes nothing for an empty document", () => {
    expect(renderMkosiConf(doc({ settings: {} }))).toBe("");
    expect(render(doc({ settings: {} }))).toEqual([{ path: "mkosi.conf", content: "", encoding: "utf8", mode: 0o644, origin: "generated" }]);
  });

  describe("the tmpfs overlay's kernel command line word", () => {
    const count = (text: string) => text.split(VOLATILE_OVERLAY).length - 1;

    it("is added to the user's words", () => {
      const d = doc({ settings: { KernelCommandLine: ["console=ttyS0"] }, overlay: { scheme: "tmpfs" } });
      expect(renderMkosiConf(d)).toBe(`[Content]\nKernelCommandLine=console=ttyS0 ${VOLATILE_OVERLAY}\n`);
      expect(d.settings.KernelCommandLine).toEqual(["console=ttyS0"]);
    });

    it("is added exactly once when the user wrote it too", () => {
      const d = doc({ settings: { KernelCommandLine: [VOLATILE_OVERLAY, "quiet"] }, overlay: { scheme: "tmpfs" } });
      const text = renderMkosiConf(d);
      expect(count(text)).toBe(1);
      expect(text).toBe(`[Content]\nKernelCommandLine=${VOLATILE_OVERLAY} quiet\n`);
      expect(effectiveCommandLine(d)).toEqual([VOLATILE_OVERLAY, "quiet"]);
    });

    it("makes a command line of its own when the user set none", () => {
      expect(renderMkosiConf(doc({ settings: {}, overlay: { scheme: "tmpfs" } }))).toBe(`[Content]\nKernelCommandLine=${VOLATILE_OVERLAY}\n`);
    });

    it("is not added for the other schemes", () => {
      expect(count(renderMkosiConf(doc({ settings: { KernelCommandLine: ["quiet"] }, overlay: { scheme: "readonly" } })))).toBe(0);
      const persistent = doc({
        settings: { KernelCommandLine: ["quiet"] },
        overlay: { scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "1G" },
      });
      expect(count(render(persistent).map((f) => f.content).join("\n"))).toBe(0);
    });

    it("appears once in each preset that uses the tmpfs scheme", () => {
      for (const p of PRESETS) {
        const d = p.build(HOST);
        const conf = byPath(render(d), "mkosi.conf")!.content;
        expect(count(conf), p.id).toBe(d.overlay.scheme === "tmpfs" ? 1 : 0);
      }
    });
  });
});

// --- Apt sources -------------------------------------------------------------------------------

describe("the apt sources file", () => {
  const repos = [
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm", "bookworm-updates"], components: ["main", "contrib"] },
    { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main"], signedBy: "/usr/share/keyrings/k.gpg" },
  ];

  it("is deb822, one stanza per repository", () => {
    expect(renderSources(repos)).toBe(
      [
        "Types: deb",
        "URIs: http://mirror.example.invalid/debian",
        "Suites: bookworm bookworm-updates",
        "Components: main contrib",
        "",
        "Types: deb",
        "URIs: http://security.example.invalid/debian-security",
        "Suites: bookworm-security",
        "Components: main",
        "Signed-By: /usr/share/keyrings/k.gpg",
        "",
      ].join("\n"),
    );
  });

  it.each([
    [24, "mkosi.pkgmngr/etc/apt/sources.list.d/mkosi.sources"],
    [25, "mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources"],
    [26, "mkosi.sandbox/etc/apt/sources.list.d/mkosi.sources"],
  ])("goes where mkosi %i reads it", (major, path) => {
    expect(sourcesPath(major)).toBe(path);
    const files = render(doc({ settings: {}, repositories: repos }), { mkosiMajor: major });
    expect(byPath(files, path)?.content).toBe(renderSources(repos));
    expect(files.filter((f) => f.path.includes("sources.list.d"))).toHaveLength(1);
  });

  it("is not written when the profile keeps mkosi's own list", () => {
    const files = render(doc({ settings: { Distribution: "debian" } }), { mkosiMajor: 24 });
    expect(files.map((f) => f.path)).toEqual(["mkosi.conf"]);
  });
});

// --- Partitions ----------------------------------------------------------------------------------

describe("repart definitions", () => {
  const layout = doc({
    settings: {},
    partitions: [
      { type: "esp", format: "vfat", label: "esp", copyFiles: ["/boot:/", "/efi:/"], sizeMin: "512M", sizeMax: "512M" },
      { type: "root", format: "squashfs", label: "root", copyFiles: ["/"], minimize: "best", extra: [{ key: "Verity", value: "data" }] },
      { type: "swap", format: "swap", sizeMin: "1G" },
      { type: "linux-generic", format: "ext4", label: "My.Data_1", sizeMin: "1G" },
      { type: "linux-generic", format: "ext4", label: "..." },
      { type: "linux-generic", format: "ext4" },
    ],
  });

  it("are named by position and type (or a generic partition's label)", () => {
    expect(layout.partitions.map((p, i) => repartPath(p, i))).toEqual([
      "mkosi.repart/00-esp.conf",
      "mkosi.repart/10-root.conf",
      "mkosi.repart/20-swap.conf",
      "mkosi.repart/30-mydata_1.conf",
      "mkosi.repart/40-linux-generic.conf",
      "mkosi.repart/50-linux-generic.conf",
    ]);
    expect(render(layout).filter((f) => f.path.startsWith("mkosi.repart/")).map((f) => f.path)).toEqual(
      layout.partitions.map((p, i) => repartPath(p, i)),
    );
  });

  it("hold the partition's keys in a fixed order, extra keys last", () => {
    const files = render(layout);
    expect(byPath(files, "mkosi.repart/00-esp.conf")!.content).toBe(
      "[Partition]\nType=esp\nFormat=vfat\nLabel=esp\nCopyFiles=/boot:/\nCopyFiles=/efi:/\nSizeMinBytes=512M\nSizeMaxBytes=512M\n",
    );
    expect(byPath(files, "mkosi.repart/10-root.conf")!.content).toBe(
      "[Partition]\nType=root\nFormat=squashfs\nLabel=root\nCopyFiles=/\nMinimize=best\nVerity=data\n",
    );
    expect(renderPartition(layout.partitions[2]!)).toBe("[Partition]\nType=swap\nFormat=swap\nSizeMinBytes=1G\n");
    expect(renderPartition(layout.partitions[5]!)).toBe("[Partition]\nType=linux-generic\nFormat=ext4\n");
  });
});

describe("squashfs compression", () => {
  const root = (c: object) =>
    doc({ settings: { Packages: ["systemd"] }, partitions: [{ type: "esp", format: "vfat", copyFiles: ["/boot:/", "/efi:/"] }, { type: "root", format: "squashfs", copyFiles: ["/"], ...c }] });
  const conf = (c: object) => byPath(render(root(c)), "mkosi.conf")!.content;

  it("is one quoted Environment= in [Content], after the form's settings, not a repart key", () => {
    expect(conf({ compression: "zstd", compressionLevel: 3 })).toBe(
      '[Content]\nPackages=systemd\nEnvironment="SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp zstd -Xcompression-level 3"\n',
    );
    expect(byPath(render(root({ compression: "zstd", compressionLevel: 3 })), "mkosi.repart/10-root.conf")!.content).toBe("[Partition]\nType=root\nFormat=squashfs\nCopyFiles=/\n");
  });

  it("leaves the level to mksquashfs when none is set, and writes nothing without a compression", () => {
    expect(conf({ compression: "xz" })).toContain('Environment="SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp xz"\n');
    expect(conf({})).not.toContain("Environment");
  });

  it("keeps an Environment= kept as written beside its own", () => {
    const d = root({ compression: "lz4" });
    d.rawSettings = [{ section: "Content", key: "Environment", value: "FOO=bar" }];
    expect(renderMkosiConf(d)).toBe('[Content]\nPackages=systemd\nEnvironment="SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-comp lz4"\nEnvironment=FOO=bar\n');
  });

  it("reaches mkosi as one variable holding all of mksquashfs's options", async () => {
    const dir = await mkdtemp(join(tmpdir(), "render-compression-"));
    try {
      await writeProject(dir, render(root({ compression: "zstd", compressionLevel: 3 })));
      const r = await execa("mkosi", ["--json", "summary"], { cwd: dir, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      const image = (JSON.parse(r.stdout) as { Images: Record<string, unknown>[] }).Images[0]!;
      expect(image.Environment).toMatchObject({ SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS: "-comp zstd -Xcompression-level 3" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// --- Overlay -------------------------------------------------------------------------------------

describe("the persistent overlay", () => {
  const d = doc({
    settings: {},
    partitions: [
      { type: "esp", format: "vfat", copyFiles: ["/boot:/", "/efi:/"] },
      { type: "root", format: "squashfs", copyFiles: ["/"] },
    ],
    overlay: { scheme: "persistent", mountPoint: "/var/lib/my-data", label: "data", format: "ext4", size: "2G" },
  });

  it("adds a data partition after the user's, a mount unit, a preset and the mount point", () => {
    const files = render(d);
    expect(byPath(files, "mkosi.repart/20-data.conf")!.content).toBe(
      "[Partition]\nType=linux-generic\nFormat=ext4\nLabel=data\nSizeMinBytes=2G\nSizeMaxBytes=2G\n",
    );
    expect(byPath(files, "mkosi.extra/etc/systemd/system/var-lib-my\\x2ddata.mount")!.content).toBe(
      [
        "[Unit]",
        "Description=Persistent data at /var/lib/my-data",
        "Before=local-fs.target",
        "",
        "[Mount]",
        "What=/dev/disk/by-partlabel/data",
        "Where=/var/lib/my-data",
        "Type=ext4",
        "Options=defaults,x-systemd.device-timeout=30s",
        "",
        "[Install]",
        "WantedBy=local-fs.target",
        "",
      ].join("\n"),
    );
    expect(byPath(files, "mkosi.extra/usr/lib/systemd/system-preset/10-persistent-data.preset")!.content).toBe(
      "enable var-lib-my\\x2ddata.mount\n",
    );
    expect(byPath(files, "mkosi.extra/var/lib/my-data/.mountpoint")).toMatchObject({ content: "", origin: "generated" });
    expect(overlayFiles(d.overlay)).toHaveLength(3);
    expect(overlayFiles({ scheme: "tmpfs" })).toEqual([]);
    expect(overlayFiles({ scheme: "readonly" })).toEqual([]);
  });

  it("writes files writeProject accepts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "render-test-"));
    try {
      await writeProject(join(dir, "p"), render(d));
      const unit = await readFile(join(dir, "p", "mkosi.extra/etc/systemd/system/var-lib-my\\x2ddata.mount"), "utf8");
      expect(unit).toContain("Where=/var/lib/my-data");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const systemdEscape = async (p: string) => (await execa("systemd-escape", ["--path", "--", p])).stdout;

  // Mount points the profile schema accepts.
  const MOUNT_POINTS = ["/var/lib/data", "/var/lib/my-data", "/srv/a.b", "/data", "/var/lib/x_y-z.9", "/home/user-1/files", "/opt/0-9"];
  it.each(MOUNT_POINTS.map((p) => [p]))("names the unit of %s as systemd-escape --path does", async (p) => {
    const overlay = { scheme: "persistent", mountPoint: p, label: "data", format: "ext4", size: "1G" } as const;
    expect(doc({ settings: {}, overlay }).overlay).toEqual(overlay);
    expect(escapeUnitPath(p)).toBe(await systemdEscape(p));
  });

  // escapeUnitPath says it is systemd-escape --path; these are paths outside the schema's
  // alphabet, where the two differ (a dot starting an inner segment, non-ASCII bytes).
  const OTHER_PATHS = ["/", "/a//b/", "/-x", "/x y", "/a:b", "/srv/.hidden", "/ü", "/.x"];
  it.each(OTHER_PATHS.map((p) => [p]))("escapeUnitPath(%j) equals systemd-escape --path for any path", async (p) => {
    expect(escapeUnitPath(p)).toBe(await systemdEscape(p));
  });
});

// --- Extra, raw settings and raw files ----------------------------------------------------------

describe("content kept from the user or from an import", () => {
  const BLOB = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13]).toString("base64");
  const raw = doc({
    settings: { Distribution: "debian", Packages: ["systemd"] },
    rawSettings: [
      { section: "Content", key: "Environment", value: "A=1\nB=2" },
      { section: "Distribution", key: "RepositoryKeyCheck", value: "no" },
      { section: "Host", key: "QemuMem", value: "2G" },
      { section: "Content", key: "KernelModulesExclude", value: "" },
    ],
    rawFiles: [
      { path: "mkosi.postinst.chroot", encoding: "utf8", content: "#!/bin/sh\n# keep me; exactly\necho 'hi'  \n", mode: 0o755, reason: "script" },
      { path: "mkosi.extra/opt/blob.bin", encoding: "base64", content: BLOB, mode: 0o600, reason: "binary" },
      { path: "mkosi.extra/etc/localtime", encoding: "symlink", content: "/usr/share/zoneinfo/UTC", mode: 0o777, reason: "link" },
    ],
    extraFiles: [{ path: "usr/local/bin/hello", content: "#!/bin/sh\necho hello\n", mode: "0755" }],
  });

  it("writes raw settings in their sections, after the model's, values unchanged", () => {
    expect(renderMkosiConf(raw)).toBe(
      [
        "[Distribution]",
        "Distribution=debian",
        "RepositoryKeyCheck=no",
        "",
        "[Content]",
        "Packages=systemd",
        "Environment=A=1",
        "        B=2",
        "KernelModulesExclude=",
        "",
        "[Host]",
        "QemuMem=2G",
        "",
      ].join("\n"),
    );
  });

  it("writes raw files back byte for byte with their encoding and mode", () => {
    const files = render(raw);
    for (const f of raw.rawFiles) expect(byPath(files, f.path)).toEqual({ path: f.path, content: f.content, encoding: f.encoding, mode: f.mode, origin: "raw" });
    expect(byPath(files, "mkosi.extra/usr/local/bin/hello")).toEqual({
      path: "mkosi.extra/usr/local/bin/hello",
      content: "#!/bin/sh\necho hello\n",
      encoding: "utf8",
      mode: 0o755,
      origin: "extra",
    });
  });

  it("and mkosi reads the raw settings back as written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "render-raw-"));
    try {
      const project = join(dir, "p");
      await writeProject(project, render(raw));
      expect((await readFile(join(project, "mkosi.extra/opt/blob.bin"))).toString("base64")).toBe(BLOB);
      const r = await execa("mkosi", ["--json", "summary"], { cwd: project, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      const image = (JSON.parse(r.stdout) as { Images: Record<string, unknown>[] }).Images[0]!;
      expect(image.Environment).toMatchObject({ A: "1", B: "2" });
      expect(image.QemuMem).toBe(2 * 1024 ** 3);
      expect(image.RepositoryKeyCheck).toBe(false);
      expect(image.Packages).toEqual(["systemd"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("moves the model's settings to mkosi.conf.d/00-settings.conf when an imported mkosi.conf is kept raw", () => {
    const mainConf = "[Match]\nDistribution=debian\n\n[Content]\nPackages=vim\n";
    const d = doc({
      settings: { Packages: ["systemd"] },
      rawFiles: [{ path: "mkosi.conf", encoding: "utf8", content: mainConf, mode: 0o644, reason: "has [Match]" }],
    });
    const files = render(d);
    expect(files.map((f) => [f.path, f.origin])).toEqual([
      ["mkosi.conf", "raw"],
      ["mkosi.conf.d/00-settings.conf", "generated"],
    ]);
    expect(byPath(files, "mkosi.conf")!.content).toBe(mainConf);
    expect(byPath(files, "mkosi.conf.d/00-settings.conf")!.content).toBe("[Content]\nPackages=systemd\n");
    // Without the raw file, the settings are the main file.
    expect(render(doc({ settings: { Packages: ["systemd"] } })).map((f) => f.path)).toEqual(["mkosi.conf"]);
  });
});
