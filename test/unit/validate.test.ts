// validateDocument: the schema's value rules and the cross-field rules, each problem pointing at
// the field that holds the mistake.
import { describe, expect, it } from "vitest";
import { PRESETS, type HostFacts } from "@/server/mkosi/presets";
import { emptyDocument, profileNameSchema, RAW_FILE_LIMITS, type ProfileDocumentInput } from "@/server/mkosi/profile";
import { effectivePartitions, render, repartPath } from "@/server/mkosi/render";
import type { SettingValues } from "@/server/mkosi/settings";
import { fieldLabel, formatProblem, validateDocument, type Problem } from "@/server/mkosi/validate";
import { needsSigningKey, withVerityRoot } from "@/server/mkosi/verity";

const HOST: HostFacts = {
  osId: "debian",
  aptRepositories: [{ uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"] }],
};

type Input = Omit<ProfileDocumentInput, "settings"> & { settings: SettingValues };

/** A valid bootable document (the Debian preset) as plain input to change. */
function base(): Input {
  return structuredClone(PRESETS.find((p) => p.id === "immutable-debian-12")!.build(HOST)) as Input;
}
const parts = (d: Input) => d.partitions!;

function resolve(doc: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = doc;
  for (const k of path) v = v === undefined || v === null ? undefined : (v as Record<string | number, unknown>)[k];
  return v;
}

/** The problems of a document; each must point at a field of it (one that exists, or an unset key of an existing object). */
function problems(doc: Input): Problem[] {
  const r = validateDocument(doc);
  for (const p of r.problems) {
    const where = resolve(doc, p.path) !== undefined ? "field" : typeof resolve(doc, p.path.slice(0, -1)) === "object" ? "unset key" : undefined;
    expect(where, `problem path ${JSON.stringify(p.path)} (${p.message}) names nothing`).toBeDefined();
  }
  return r.problems;
}
/** The distinct fields that have problems, in order (one field may get several messages). */
const paths = (doc: Input) => [...new Set(problems(doc).map((p) => JSON.stringify(p.path)))].map((p) => JSON.parse(p) as Problem["path"]);

describe("valid documents", () => {
  it.each(PRESETS.map((p) => [p.id, p] as const))("the %s preset is valid (with a signing key where it signs)", (_id, preset) => {
    const doc = preset.build(HOST);
    // A preset that signs gets its key when a profile is made of it (server/keys/profiles.ts).
    const r = validateDocument(needsSigningKey(doc) ? { ...doc, signingKey: "some-key" } : doc);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("an empty document is valid and gets the defaults", () => {
    const r = validateDocument({ settings: {} });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.doc).toEqual({ settings: {}, repositories: [], partitions: [], overlay: { scheme: "readonly" }, extraFiles: [], rawSettings: [], rawFiles: [] });
  });

  it("not an object at all", () => {
    expect(validateDocument(null).ok).toBe(false);
    expect(validateDocument({ settings: { Nope: 1 } }).ok).toBe(false);
    expect(validateDocument({ settings: {}, partitions: "x" }).problems[0]!.path).toEqual(["partitions"]);
  });
});

describe("partition rules", () => {
  it("a bootable disk needs an ESP", () => {
    const d = base();
    d.partitions = parts(d).filter((p) => p.type !== "esp");
    expect(problems(d)).toEqual([{ path: ["partitions"], message: expect.stringMatching(/ESP/) }]);
  });

  it("an image that does not boot needs no ESP", () => {
    for (const change of [{ Bootable: "no" as const }, { Bootloader: "none" as const }]) {
      const d = base();
      d.partitions = parts(d).filter((p) => p.type !== "esp");
      Object.assign(d.settings, change);
      expect(problems(d), JSON.stringify(change)).toEqual([]);
    }
  });

  it("the layout rules apply to disk images only", () => {
    const d = base();
    d.partitions = [{ type: "linux-generic", format: "ext4" }];
    expect(problems(d)).toEqual([
      { path: ["partitions"], message: expect.stringMatching(/ESP/) },
      { path: ["partitions"], message: expect.stringMatching(/root/) },
    ]);
    d.settings.Format = "directory";
    expect(problems(d)).toEqual([]);
  });

  it("there can be only one ESP, and the second is the one marked", () => {
    const d = base();
    parts(d).push({ type: "esp", format: "vfat", copyFiles: ["/boot:/", "/efi:/"] });
    expect(problems(d)).toEqual([{ path: ["partitions", 2, "type"], message: expect.stringMatching(/only one ESP/) }]);
  });

  it("the ESP is vfat", () => {
    for (const format of ["ext4", undefined] as const) {
      const d = base();
      parts(d)[0]!.format = format;
      if (format === undefined) delete parts(d)[0]!.format;
      expect(problems(d), String(format)).toEqual([{ path: ["partitions", 0, "format"], message: expect.stringMatching(/vfat/) }]);
    }
  });

  it("the ESP of a bootable image is fed from /boot and /efi", () => {
    const d = base();
    parts(d)[0]!.copyFiles = ["/efi:/"];
    expect(problems(d)).toEqual([{ path: ["partitions", 0, "copyFiles"], message: expect.stringContaining("CopyFiles=/boot:/") }]);
    parts(d)[0]!.copyFiles = ["/boot:/"];
    expect(problems(d)).toEqual([{ path: ["partitions", 0, "copyFiles"], message: expect.stringContaining("CopyFiles=/efi:/") }]);
    parts(d)[0]!.copyFiles = [];
    expect(problems(d).map((p) => p.path)).toEqual([
      ["partitions", 0, "copyFiles"],
      ["partitions", 0, "copyFiles"],
    ]);
    // /boot:/EFI/x still takes its files from /boot.
    parts(d)[0]!.copyFiles = ["/efi:/", "/boot:/"];
    expect(problems(d)).toEqual([]);
    d.settings.Bootable = "no";
    parts(d)[0]!.copyFiles = [];
    expect(problems(d)).toEqual([]);
  });

  it("a root (or usr) partition is needed", () => {
    const d = base();
    d.partitions = parts(d).filter((p) => p.type !== "root");
    expect(problems(d)).toEqual([{ path: ["partitions"], message: expect.stringMatching(/root/) }]);
    parts(d).push({ type: "usr", format: "erofs", copyFiles: ["/usr:/"] });
    expect(problems(d)).toEqual([]);
  });

  it("sizes must parse, at the field that holds them", () => {
    for (const field of ["sizeMin", "sizeMax"] as const) {
      const d = base();
      parts(d)[1]![field] = "12Q";
      expect(problems(d), field).toEqual([{ path: ["partitions", 1, field], message: expect.stringContaining("'12Q' is not a size") }]);
    }
    const d = base();
    parts(d)[1]!.sizeMin = "0";
    expect(paths(d)).toEqual([["partitions", 1, "sizeMin"]]);
  });

  it("the minimum size is at most the maximum", () => {
    const d = base();
    Object.assign(parts(d)[0]!, { sizeMin: "1G", sizeMax: "512M" });
    expect(problems(d)).toEqual([{ path: ["partitions", 0, "sizeMax"], message: expect.stringMatching(/smaller than SizeMinBytes/) }]);
    Object.assign(parts(d)[0]!, { sizeMin: "1G", sizeMax: "1024M" });
    expect(problems(d)).toEqual([]);
    Object.assign(parts(d)[0]!, { sizeMin: "1.5G", sizeMax: "1G" });
    expect(paths(d)).toEqual([["partitions", 0, "sizeMax"]]);
  });

  it("swap partitions are formatted swap, and only they", () => {
    const d = base();
    parts(d).push({ type: "swap", format: "ext4" });
    expect(problems(d)).toEqual([{ path: ["partitions", 2, "format"], message: expect.stringMatching(/swap/) }]);
    parts(d)[2] = { type: "linux-generic", format: "swap" };
    expect(problems(d)).toEqual([{ path: ["partitions", 2, "format"], message: expect.stringMatching(/swap/) }]);
    parts(d)[2] = { type: "swap", format: "swap", sizeMin: "1G" };
    expect(problems(d)).toEqual([]);
    parts(d)[2] = { type: "swap" };
    expect(problems(d)).toEqual([]);
    parts(d)[2] = { type: "swap", format: "swap", minimize: "best" };
    expect(problems(d)).toEqual([{ path: ["partitions", 2, "minimize"], message: expect.stringMatching(/swap/) }]);
  });

  it("a read-only file system needs content", () => {
    const d = base();
    parts(d)[1]!.copyFiles = [];
    expect(problems(d)).toEqual([{ path: ["partitions", 1, "copyFiles"], message: expect.stringMatching(/read-only/) }]);
  });

  it("labels are unique, the overlay's data partition included", () => {
    const d = base();
    parts(d).push({ type: "linux-generic", format: "ext4", label: "root" });
    expect(problems(d)).toEqual([{ path: ["partitions", 2, "label"], message: expect.stringMatching(/'root' is already used by partition 2/) }]);

    const o = base();
    o.overlay = { scheme: "persistent", mountPoint: "/var/lib/data", label: "esp", format: "ext4", size: "1G" };
    expect(problems(o)).toEqual([{ path: ["overlay", "label"], message: expect.stringMatching(/'esp' is already used by partition 1/) }]);
    o.overlay.label = "data";
    expect(problems(o)).toEqual([]);

    // Specifiers expand differently per partition, so they are not compared.
    const s = base();
    parts(s).push({ type: "linux-generic", format: "ext4", label: "%t-x" }, { type: "linux-generic", format: "ext4", label: "%t-x" });
    expect(problems(s)).toEqual([]);
  });

  it("a persistent data partition needs a disk image", () => {
    const d = base();
    d.overlay = { scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "1G" };
    d.settings.Format = "directory";
    expect(problems(d)).toEqual([{ path: ["overlay", "scheme"], message: expect.stringMatching(/Format=disk/) }]);
  });

  it("the overlay's own fields are checked where they are", () => {
    const d = base();
    d.overlay = { scheme: "persistent", mountPoint: "/usr/local", label: "data", format: "ext4", size: "1X" };
    expect(paths(d)).toEqual([
      ["overlay", "mountPoint"],
      ["overlay", "size"],
    ]);
    d.overlay = { scheme: "persistent", mountPoint: "/var/../etc", label: "data", format: "ext4", size: "1G" };
    expect(paths(d)).toEqual([["overlay", "mountPoint"]]);
  });

  it("an extra file is at most 256 KiB of UTF-8, as the importer measures it (not 256 Ki characters)", () => {
    const d = base();
    d.extraFiles!.push({ path: "etc/wide.txt", content: "é".repeat(128 * 1024) });
    expect(paths(d)).toEqual([]);
    d.extraFiles![d.extraFiles!.length - 1]!.content = "é".repeat(128 * 1024 + 1);
    expect(problems(d)).toEqual([{ path: ["extraFiles", 1, "content"], message: "must be at most 256 KiB" }]);
  });

  it("at most 10 partitions", () => {
    const d = base();
    for (let i = 0; i < 9; i++) parts(d).push({ type: "linux-generic", format: "ext4", label: `d${i}` });
    expect(problems(d)).toEqual([{ path: ["partitions"], message: expect.stringMatching(/at most 10/) }]);
  });

  // systemd-repart reads the definitions in file name order, so that order is the partition order.
  it("every layout it accepts renders repart files whose name order is the partition order", () => {
    const cases: [string, Input][] = [];
    for (const n of [0, 4, 8]) {
      const d = base();
      for (let i = 0; i < n; i++) parts(d).push({ type: "linux-generic", format: "ext4", label: `d${i}` });
      d.overlay = { scheme: "persistent", mountPoint: "/var/lib/data", label: "data", format: "ext4", size: "1G" };
      cases.push([`${n + 2} partitions and a persistent overlay`, d]);
    }
    let accepted = 0;
    for (const [name, d] of cases) {
      const r = validateDocument(d);
      if (!r.ok) continue;
      accepted++;
      const inPartitionOrder = effectivePartitions(r.doc).map((p, i) => repartPath(p, i));
      const inFileOrder = render(r.doc)
        .filter((f) => f.path.startsWith("mkosi.repart/"))
        .map((f) => f.path);
      expect(inFileOrder, name).toEqual(inPartitionOrder);
    }
    expect(accepted).toBeGreaterThanOrEqual(2);
  });
});

describe("squashfs compression", () => {
  /** The Debian 12 preset with its root's compression set as given. */
  const withRoot = (c: object) => {
    const d = base();
    parts(d)[1] = { ...parts(d)[1]!, compression: undefined, compressionLevel: undefined, ...c };
    return d;
  };

  it("takes each compressor with a level in its range, or none", () => {
    for (const c of [{ compression: "zstd", compressionLevel: 1 }, { compression: "zstd", compressionLevel: 22 }, { compression: "gzip", compressionLevel: 9 }, { compression: "xz" }, { compression: "lz4" }, {}])
      expect(problems(withRoot(c)), JSON.stringify(c)).toEqual([]);
  });

  it("names the level's range, or says the compressor takes none", () => {
    expect(problems(withRoot({ compression: "zstd", compressionLevel: 23 }))).toEqual([{ path: ["partitions", 1, "compressionLevel"], message: "zstd levels are 1 to 22" }]);
    expect(problems(withRoot({ compression: "gzip", compressionLevel: 0 }))).toEqual([{ path: ["partitions", 1, "compressionLevel"], message: "gzip levels are 1 to 9" }]);
    expect(problems(withRoot({ compression: "xz", compressionLevel: 3 }))).toEqual([{ path: ["partitions", 1, "compressionLevel"], message: "xz takes no compression level" }]);
    expect(problems(withRoot({ compressionLevel: 3 }))).toEqual([{ path: ["partitions", 1, "compressionLevel"], message: "a compression level needs a Compression" }]);
  });

  it("rejects an unknown compressor or a fractional level at the field", () => {
    expect(problems(withRoot({ compression: "brotli" }))).toEqual([{ path: ["partitions", 1, "compression"], message: expect.stringMatching(/^must be one of gzip, lzo, zstd, xz, lz4$/) }]);
    expect(paths(withRoot({ compression: "zstd", compressionLevel: 2.5 }))).toEqual([["partitions", 1, "compressionLevel"]]);
    expect(paths(withRoot({ compression: "zstd", compressionLevel: "3" }))).toEqual([["partitions", 1, "compressionLevel"]]);
  });

  it("applies to squashfs only", () => {
    const d = base();
    Object.assign(parts(d)[1]!, { format: "erofs", compression: "zstd" });
    expect(problems(d)).toEqual([{ path: ["partitions", 1, "compression"], message: "Compression applies to squashfs only, not to erofs" }]);
    Object.assign(parts(d)[1]!, { compression: undefined, compressionLevel: 3 });
    expect(paths(d)).toEqual([["partitions", 1, "compressionLevel"]]);
  });

  it("is the same for every squashfs partition, since repart takes one set of options", () => {
    const d = withRoot({ compression: "zstd", compressionLevel: 3 });
    parts(d).push({ type: "usr", format: "squashfs", label: "usr", copyFiles: ["/usr"], compression: "zstd", compressionLevel: 3 });
    expect(problems(d)).toEqual([]);
    parts(d)[2]!.compressionLevel = 4;
    expect(problems(d)).toEqual([{ path: ["partitions", 2, "compression"], message: expect.stringMatching(/compressed alike .*partition 2 has -comp zstd -Xcompression-level 3$/) }]);
    delete parts(d)[2]!.compression;
    delete parts(d)[2]!.compressionLevel;
    expect(paths(d)).toEqual([["partitions", 2, "compression"]]);
  });

  it("conflicts with an Environment= kept as written that sets the same variable", () => {
    const d = withRoot({ compression: "zstd" });
    d.rawSettings = [{ section: "Content", key: "Environment", value: "SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS=-b\\ 1M" }];
    expect(paths(d)).toEqual([["rawSettings", 0]]);
    d.rawSettings = [{ section: "Content", key: "Environment", value: "FOO=bar" }];
    expect(problems(d)).toEqual([]);
  });
});

describe("file paths", () => {
  const ATTACKS: [string, string][] = [
    ["/etc/passwd", "absolute"],
    ["../x", "leaves the folder"],
    ["etc/../../x", "leaves the folder further down"],
    ["..", "parent"],
    ["etc//x", "empty segment"],
    ["etc/./x", "dot segment"],
    ["etc/x/", "trailing slash"],
    ["", "empty"],
    ["etc\\x", "backslash"],
    ["etc/x\n", "newline"],
    ["etc/x\u0000", "NUL"],
    ["etc/\u001bx", "escape"],
    ["etc/x y", "space"],
    ["etc/x*", "glob"],
    ["a/".repeat(130) + "x", "too long"],
  ];

  it.each(ATTACKS)("an extra file at %j is refused (%s), at its path field", (path) => {
    const d = base();
    d.extraFiles!.push({ path, content: "x" });
    expect(paths(d)).toEqual([["extraFiles", 1, "path"]]);
  });

  it.each(ATTACKS)("a raw file at %j is refused (%s)", (path) => {
    const d = base();
    d.rawFiles = [{ path, encoding: "utf8", content: "x", mode: 0o644, reason: "test" }];
    expect(paths(d)).toEqual([["rawFiles", 0, "path"]]);
  });

  it("accepts ordinary relative paths", () => {
    const d = base();
    d.extraFiles!.push(
      { path: "etc/systemd/system/foo@bar.service.d/x.conf", content: "" },
      { path: ".hidden/file~1", content: "", mode: "0600" },
      { path: "usr/lib/x+y=z,1:2", content: "", mode: "0755" },
    );
    expect(problems(d)).toEqual([]);
  });

  it("the same extra file twice is refused at the second", () => {
    const d = base();
    d.extraFiles!.push({ path: d.extraFiles![0]!.path, content: "other" });
    expect(problems(d)).toEqual([{ path: ["extraFiles", 1, "path"], message: expect.stringMatching(/twice/) }]);
  });

  it("a raw link is kept only inside an image tree", () => {
    const d = base();
    d.rawFiles = [{ path: "mkosi.postinst", encoding: "symlink", content: "/etc/shadow", mode: 0o777, reason: "link" }];
    expect(problems(d)).toEqual([{ path: ["rawFiles", 0, "path"], message: expect.stringMatching(/link/) }]);
    d.rawFiles = [{ path: "mkosi.extra/etc/localtime", encoding: "symlink", content: "/usr/share/zoneinfo/UTC", mode: 0o777, reason: "link" }];
    expect(problems(d)).toEqual([]);
  });

  it("a raw file may not replace a generated one", () => {
    const d = base();
    d.rawFiles = [{ path: "mkosi.repart/00-esp.conf", encoding: "utf8", content: "[Partition]\n", mode: 0o644, reason: "import" }];
    expect(problems(d)).toEqual([{ path: ["rawFiles"], message: expect.stringContaining("mkosi.repart/00-esp.conf") }]);
  });

  it("a file mode is one of the offered ones", () => {
    const d = base();
    d.extraFiles![0]!.mode = "4755" as "0755";
    expect(paths(d)).toEqual([["extraFiles", 0, "mode"]]);
  });
});

describe("package names", () => {
  const BAD = ["Vim", "vim_x", "v", "-vim", ".vim", "+vim", "vim\nRootPassword=x", "vim=2:9.0", "vim,htop", "vim htop", "vim ", "vim#x", "vim;x", "", "vïm"];
  it.each(BAD.map((b) => [b]))("%j is refused, at its index", (bad) => {
    for (const key of ["Packages", "RemovePackages"] as const) {
      const d = base();
      d.settings[key] = ["systemd", "udev", bad];
      expect(paths(d), key).toEqual([["settings", key, 2]]);
    }
  });

  it("Debian's own names pass", () => {
    const d = base();
    d.settings.Packages = ["g++", "libc6", "linux-image-amd64", "0ad", "python3.11", "libstdc++6", "xz-utils"];
    expect(problems(d)).toEqual([]);
  });

  it("an injected setting never reaches mkosi.conf", () => {
    const d = base();
    d.settings.Packages = ["vim\nRootPassword=x"];
    const r = validateDocument(d);
    expect(r.ok).toBe(false);
    expect(r.problems[0]!.message).toMatch(/line breaks/);
  });
});

describe("other fields", () => {
  it("repository fields that would break the sources file are refused where they are", () => {
    const d = base();
    d.repositories = [
      { uri: "http://mirror.example.invalid/debian\nURIs: http://evil.example.invalid", suites: ["bookworm"], components: ["main"] },
      { uri: "ftp://mirror.example.invalid/debian", suites: ["bookworm x"], components: [] },
      { uri: "http://mirror.example.invalid/debian", suites: ["bookworm"], components: ["main"], signedBy: "keyring.gpg" },
    ];
    expect(paths(d)).toEqual([
      ["repositories", 0, "uri"],
      ["repositories", 1, "uri"],
      ["repositories", 1, "suites", 0],
      ["repositories", 1, "components"],
      ["repositories", 2, "signedBy"],
    ]);
  });

  it("partition values that would break a repart file are refused where they are", () => {
    const d = base();
    parts(d)[1]!.copyFiles = ["/\nType=esp"];
    parts(d)[1]!.extra = [
      { key: "Verity", value: "data\nType=esp" },
      { key: "bad key", value: "x" },
    ];
    expect(paths(d)).toEqual([
      ["partitions", 1, "copyFiles", 0],
      ["partitions", 1, "extra", 0, "value"],
      ["partitions", 1, "extra", 1, "key"],
    ]);
  });

  it("raw settings whose value would end the line early are refused", () => {
    const d = base();
    d.rawSettings = [
      { section: "Content", key: "Environment", value: "A=1\nB=2 # x" },
      { section: "Con tent", key: "X", value: "1" },
      { section: "Content", key: "X=Y", value: "1" },
    ];
    expect(paths(d)).toEqual([
      ["rawSettings", 0, "value"],
      ["rawSettings", 1, "section"],
      ["rawSettings", 2, "key"],
    ]);
  });
});

describe("profile names", () => {
  it.each([["My image"], ["Übung 1 (copy)"], ["x"], ["a".repeat(80)]])("%j is a name", (name) => {
    expect(profileNameSchema.parse(name)).toBe(name);
  });
  it("is trimmed", () => {
    expect(profileNameSchema.parse("  My image \t")).toBe("My image");
  });
  it.each([[""], ["   "], ["a".repeat(81)], ["line\nbreak"], ["tab\there"], ["nul\u0000"], ["del\u007f"]])("%j is not a name", (name) => {
    expect(profileNameSchema.safeParse(name).success).toBe(false);
  });
});

describe("problem labels", () => {
  it("name list items the same way everywhere (counting from 1)", () => {
    expect(fieldLabel(["partitions", 0, "format"])).toBe("partition 1 format");
    expect(fieldLabel(["extraFiles", 2, "path"])).toBe("extra file 3 path");
    expect(fieldLabel(["repositories", 0, "uri"])).toBe("repository 1 uri");
    expect(fieldLabel(["settings", "Release"])).toBe("Release");
    // The first package is item 1, as the first partition is partition 1.
    expect(fieldLabel(["settings", "Packages", 0])).toBe("Packages item 1");
  });

  it("formatProblem puts the label before the message", () => {
    expect(formatProblem({ path: ["overlay", "label"], message: "is taken" })).toBe("overlay.label: is taken");
  });
});

describe("files kept as written", () => {
  const MiB = 1024 * 1024;
  const file = (path: string, bytes: number, encoding: "utf8" | "base64" = "utf8") => ({
    path,
    encoding,
    content: encoding === "utf8" ? "x".repeat(bytes) : Buffer.alloc(bytes).toString("base64"),
    mode: 0o644,
    reason: "test",
  });
  const withRaw = (rawFiles: ReturnType<typeof file>[]) => ({ ...emptyDocument(), rawFiles });

  it("takes files up to the limit each and together", () => {
    expect(validateDocument(withRaw([file("a", RAW_FILE_LIMITS.fileBytes), file("b", RAW_FILE_LIMITS.totalBytes - RAW_FILE_LIMITS.fileBytes, "base64")])).ok).toBe(true);
  });

  it("refuses one file over the limit, at that file", () => {
    const r = validateDocument(withRaw([file("small", 10), file("mkosi.packages/big.deb", RAW_FILE_LIMITS.fileBytes + 1, "base64")]));
    expect(r.problems).toEqual([{ path: ["rawFiles", 1, "content"], message: expect.stringMatching(/^mkosi\.packages\/big\.deb has 16,777,217 bytes: a file kept as written must be at most 16 MiB$/) }]);
  });

  it("refuses files that are over the total together, naming both sizes", () => {
    const r = validateDocument(withRaw([file("a", 12 * MiB), file("b", 12 * MiB, "base64"), file("c", 9 * MiB)]));
    expect(r.problems).toEqual([{ path: ["rawFiles"], message: expect.stringMatching(/hold 33 MiB \(34,603,008 bytes\) together: at most 32 MiB fit in a profile/) }]);
  });
});

describe("verified boot", () => {
  const verified = () => structuredClone(PRESETS.find((p) => p.id === "immutable-debian-13-verified-boot")!.build(HOST)) as Input;

  it("a verity signature without a key is refused at the signing key field", () => {
    const d = withVerityRoot(validateDocumentOk(base()), "signed") as Input;
    expect(paths(d)).toEqual([["signingKey"]]);
    expect(problems(d)[0]!.message).toMatch(/verity signature partition signs the root hash: choose a key/);
    expect(paths({ ...d, signingKey: "k" })).toEqual([]);
  });

  it("Secure Boot without a key and certificate is refused at the signing key field", () => {
    const d = { ...base(), settings: { ...base().settings, SecureBoot: true } };
    expect(paths(d)).toEqual([["signingKey"]]);
    expect(problems(d)[0]!.message).toMatch(/^Secure Boot signs systemd-boot and the UKI: choose a key and certificate/);
  });

  it("the preset without its key names all three reasons", () => {
    const d = verified();
    expect(problems(d).map((p) => p.path)).toEqual([["signingKey"]]);
    expect(problems(d)[0]!.message).toMatch(/Secure Boot.*verity signature.*SignExpectedPcr/);
  });

  it("a hash-only verity root needs no key; verity parts must belong together", () => {
    const d = withVerityRoot(validateDocumentOk(base()), "hash") as Input;
    expect(paths(d)).toEqual([]);
    // The hash partition without its data partition.
    const orphan = structuredClone(d);
    parts(orphan)[1] = { ...parts(orphan)[1]!, verity: undefined, verityMatchKey: undefined };
    expect(paths(orphan)).toEqual([["partitions", 2, "verity"]]);
    // A writable root under verity.
    const rw = structuredClone(d);
    parts(rw)[1] = { ...parts(rw)[1]!, format: "ext4", compression: undefined, compressionLevel: undefined };
    expect(paths(rw)).toEqual([["partitions", 1, "format"]]);
    // A match key without Verity=.
    const stray = structuredClone(base());
    parts(stray)[1] = { ...parts(stray)[1]!, verityMatchKey: "root" };
    expect(paths(stray)).toEqual([["partitions", 1, "verityMatchKey"]]);
  });

  it("turning verity off removes the hash and signature partitions", () => {
    const d = withVerityRoot(validateDocumentOk(verified()), "off");
    expect(d.partitions.map((p) => [p.type, p.verity])).toEqual([["esp", undefined], ["root", undefined]]);
  });
});

function validateDocumentOk(d: Input) {
  const r = validateDocument({ ...d, signingKey: "k" });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const { signingKey: _k, ...rest } = r.doc;
  return { ...rest, signingKey: d.signingKey };
}
