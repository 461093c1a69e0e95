// The settings model: coherent in itself, consistent with the zod schema, and right about the
// installed mkosi (names, sections, values), checked by letting the real mkosi parse it.
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { profileDocumentSchema, settingsSchema } from "@/server/mkosi/profile";
import { renderMkosiConf } from "@/server/mkosi/render";
import { FEATURE_VALUES, fromMkosiName, SECTIONS, SETTINGS, summaryValue, supportedBy, type SettingDef, type ValuePattern } from "@/server/mkosi/settings";
import { mkosiMessages, readBack } from "@/server/mkosi/summary";

const DEFS = SETTINGS as readonly SettingDef[];

// Real values per pattern rule (keyed by the rule text, so a new pattern without samples fails
// loudly). The first one is the sample used when a setting needs one value.
const SAMPLES: Record<string, string[]> = {
  "letters, digits, '.', '_', '+' and '-'": ["bookworm", "noble", "24.04", "immutable-debian", "main", "1.0+b1", "v2_rc1"],
  "an http://, https:// or file:// address": [
    "http://mirror.test/debian",
    "https://mirror.test/ubuntu/",
    "file:///srv/mirror/debian",
    "http://mirror.test:8080/debian?dist=x&y=1",
  ],
  "a host name (letters, digits and '-', dot-separated labels, at most 64 characters)": ["immutable-debian", "host1.example.test", "a", "A-1"],
  "a locale such as C.UTF-8 or en_US.UTF-8": ["C.UTF-8", "en_US.UTF-8", "sr_RS@latin", "POSIX"],
  "a time zone such as UTC or Europe/Berlin": ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"],
  "a kernel command line word without spaces, quotes, '#' or ';'": ["console=ttyS0", "systemd.firstboot=off", "quiet", "root=PARTLABEL=root"],
  "a regular expression of module paths such as /virtio_blk.ko or .* (letters, digits and _ . * + ? ^ $ ( ) [ ] | / -, not '[' first)": [
    ".*",
    "/virtio_blk.ko",
    "default",
    "/drivers/(ata|nvme)/",
    "^kernel/fs/[a-z0-9]+/",
    "/raid[0-9]*.ko",
  ],
  "printable characters without leading or trailing spaces": ["root", "correct horse battery staple", "hashed:$6$salt$Xy0/abc.def"],
  [`a Debian package name (lowercase letters, digits, '+', '-' and '.', starting with a letter or digit)`]: [
    "systemd",
    "linux-image-amd64",
    "g++",
    "libc6",
    "python3.11",
  ],
};

function patternOf(def: SettingDef): ValuePattern | undefined {
  const k = def.kind;
  return k.type === "string" ? k.pattern : k.type === "list" ? k.item : undefined;
}

/** Real values for a string setting or a list setting's items. */
function samplesFor(def: SettingDef): string[] {
  const k = def.kind;
  if (k.type === "list" && k.values) return [...k.values];
  const p = patternOf(def);
  if (!p) return ["value"];
  const s = SAMPLES[p.rule];
  if (!s) throw new Error(`no sample values for the pattern rule "${p.rule}" (setting ${def.key}): add some to SAMPLES`);
  return s;
}

/** One valid value per setting: enum -> values[i], boolean -> true, feature -> yes, list -> one item. */
function sampleValue(def: SettingDef, i = 0): string | boolean | string[] {
  const k = def.kind;
  switch (k.type) {
    case "enum":
      return k.values[i % k.values.length]!;
    case "boolean":
      return i % 2 === 0;
    case "feature":
      return FEATURE_VALUES[i % FEATURE_VALUES.length]!;
    case "list": {
      const s = samplesFor(def);
      return [s[i % s.length]!];
    }
    case "string":
      return samplesFor(def)[0]!;
  }
}

const isText = (def: SettingDef) => def.kind.type === "string" || (def.kind.type === "list" && !def.kind.values);
const TEXT_DEFS = DEFS.filter(isText);

function accepts(key: string, value: unknown): boolean {
  return settingsSchema.safeParse({ [key]: value }).success;
}
/** A text value as the setting holds it: alone for a string, as the only item of a list. */
const wrap = (def: SettingDef, v: string) => (def.kind.type === "list" ? [v] : v);

describe("the settings model", () => {
  it("has unique keys", () => {
    const keys = DEFS.map((d) => d.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(10);
  });

  it.each(DEFS.map((d) => [d.key, d] as const))("%s: section, default, help, versions are coherent", (_key, def) => {
    expect(SECTIONS).toContain(def.section);
    expect(def.key).toMatch(/^[A-Z][A-Za-z0-9]+$/);
    // Help: one line, a sentence, not empty.
    expect(def.help).not.toMatch(/[\r\n]/);
    expect(def.help.trim()).toBe(def.help);
    expect(def.help.length).toBeGreaterThan(10);
    expect(def.help.length).toBeLessThanOrEqual(140);
    expect(def.help).toMatch(/^\S.*\.$/);
    // Versions.
    expect(def.since).toBeGreaterThanOrEqual(14);
    if (def.until !== undefined) expect(def.until).toBeGreaterThanOrEqual(def.since);
    // Defaults are values the setting can take (and the schema accepts).
    const k = def.kind;
    if (def.default !== undefined) {
      if (k.type === "enum") expect(k.values).toContain(def.default);
      if (k.type === "feature") expect(FEATURE_VALUES).toContain(def.default);
      if (k.type === "boolean") expect(typeof def.default).toBe("boolean");
      if (k.type === "list") expect(Array.isArray(def.default)).toBe(true);
      expect(accepts(def.key, def.default)).toBe(true);
    }
    if (k.type === "enum" || (k.type === "list" && k.values)) {
      const values = k.values ?? [];
      expect(values.length).toBeGreaterThan(0);
      expect(new Set(values).size).toBe(values.length);
    }
  });

  it("is all accepted by the mkosi major the project targets (24), but for settings of later majors, which 24's files leave out", () => {
    const later = DEFS.filter((d) => !supportedBy(d, 24));
    expect(later.map((d) => d.key)).toEqual(["Verity"]);
    const doc = profileDocumentSchema.parse({ settings: Object.fromEntries(DEFS.map((d) => [d.key, sampleValue(d)])) });
    for (const def of later) {
      expect(renderMkosiConf(doc, 24)).not.toMatch(new RegExp(`^${def.key}=`, "m"));
      expect(renderMkosiConf(doc, def.since)).toMatch(new RegExp(`^${def.key}=`, "m"));
    }
  });

  it("round-trips every setting through the zod schema, and through JSON", () => {
    const settings = Object.fromEntries(DEFS.map((d) => [d.key, sampleValue(d)]));
    expect(Object.keys(settings).sort()).toEqual(DEFS.map((d) => d.key).sort());
    const parsed = settingsSchema.parse(settings);
    expect(parsed).toEqual(settings);
    const doc = profileDocumentSchema.parse({ settings });
    expect(profileDocumentSchema.parse(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
  });

  it("round-trips every value of every enum, feature and boolean", () => {
    for (const def of DEFS) {
      const k = def.kind;
      const values: unknown[] =
        k.type === "enum" ? [...k.values] : k.type === "feature" ? [...FEATURE_VALUES] : k.type === "boolean" ? [true, false] : k.type === "list" && k.values ? k.values.map((v) => [v]) : [];
      for (const v of values) expect(settingsSchema.parse({ [def.key]: v }), `${def.key}=${JSON.stringify(v)}`).toEqual({ [def.key]: v });
      if (k.type === "enum") expect(accepts(def.key, "not-a-value")).toBe(false);
      if (k.type === "boolean") expect(accepts(def.key, "yes")).toBe(false);
    }
  });

  it("spells values the way each mkosi major's summary prints them", () => {
    const def = (key: string) => DEFS.find((d) => d.key === key)!;
    expect(summaryValue(def("CompressOutput"), "no", 24)).toBe("none");
    expect(summaryValue(def("Bootable"), "yes", 24)).toBe("enabled");
    expect(summaryValue(def("RootPassword"), "hashed:$6$x", 24)).toEqual(["$6$x", true]);
    // mkosi 25 made SplitArtifacts a list (its config.py, ArtifactOutput.compat_yes/compat_no).
    expect(summaryValue(def("SplitArtifacts"), true, 24)).toBe(true);
    expect(summaryValue(def("SplitArtifacts"), true, 25)).toEqual(["uki", "kernel", "initrd", "partitions"]);
    expect(summaryValue(def("SplitArtifacts"), false, 26)).toEqual(["uki", "kernel", "initrd"]);
    expect(summaryValue(def("Packages"), ["a"], 26)).toEqual(["a"]);
    // mkosi 26 marks the old module settings' items as regular expressions (parse_kernel_module_filter_regexp).
    expect(summaryValue(def("KernelModulesInitrdInclude"), ["default", "/virtio_blk.ko", "host"], 25)).toEqual(["default", "/virtio_blk.ko", "host"]);
    expect(summaryValue(def("KernelModulesInitrdInclude"), ["default", "/virtio_blk.ko", "host"], 26)).toEqual(["default", "re:/virtio_blk.ko", "host"]);
    expect(summaryValue(def("KernelModulesInitrdExclude"), [".*"], 26)).toEqual(["re:.*"]);
    // The importer reads mkosi's names back into the form's.
    expect(fromMkosiName(def("CompressOutput"), "none")).toBe("no");
    expect(fromMkosiName(def("CleanPackageMetadata"), "disabled")).toBe("no");
    expect(fromMkosiName(def("SplitArtifacts"), "true")).toBeUndefined();
  });

  it("rejects settings it does not know", () => {
    expect(settingsSchema.safeParse({ AutoLogin: true }).success).toBe(false);
    expect(settingsSchema.safeParse({ Frobnicate: "x" }).success).toBe(false);
  });
});

describe("value rules of the string and list settings", () => {
  it("covers every text setting", () => {
    expect(TEXT_DEFS.map((d) => d.key)).toEqual(expect.arrayContaining(["Release", "Packages", "KernelCommandLine", "RootPassword"]));
  });

  it.each(TEXT_DEFS.map((d) => [d.key, d] as const))("%s accepts real values", (_key, def) => {
    for (const v of samplesFor(def)) expect(accepts(def.key, wrap(def, v)), `${def.key}: ${JSON.stringify(v)}`).toBe(true);
    if (def.kind.type === "list") {
      const all = samplesFor(def);
      expect(settingsSchema.parse({ [def.key]: all })).toEqual({ [def.key]: all });
      expect(accepts(def.key, [])).toBe(true);
    }
  });

  it.each(TEXT_DEFS.map((d) => [d.key, d] as const))("%s rejects values that would change the file's structure", (_key, def) => {
    const s = samplesFor(def)[0]!;
    const attacks = [
      "",
      `${s}\nRootPassword=x`,
      `${s}\n[Content]`,
      `${s}\r\nAutologin=yes`,
      `${s}\tx`,
      `${s}\u0000`,
      `${s}\u001b[31m`,
      `${s}#comment`,
      `${s};comment`,
      `# ${s}`,
      `;${s}`,
      ` ${s}`,
      `${s} `,
      "\n",
    ];
    if (def.kind.type === "list") attacks.push(`${s}${def.kind.delimiter}${s}`, `${s}\n${s}`);
    for (const a of attacks) expect(accepts(def.key, wrap(def, a)), `${def.key}: ${JSON.stringify(a)} should be rejected`).toBe(false);
    // Where the value is a name, '=' and a leading '[' would be read as something else (an apt
    // version pin, a section); only the kernel command line, URLs and passwords may hold them.
    const rule = patternOf(def)?.rule ?? "";
    const mayHoldEquals = /kernel command line|address|printable/.test(rule);
    if (!mayHoldEquals) {
      expect(accepts(def.key, wrap(def, `${s}=1`)), `${def.key}: '='`).toBe(false);
      expect(accepts(def.key, wrap(def, `[${s}]`)), `${def.key}: leading '['`).toBe(false);
      expect(accepts(def.key, wrap(def, "[Output]"))).toBe(false);
    }
  });

  it("gives the rule in the message", () => {
    const r = settingsSchema.safeParse({ Packages: ["Bad_Name"] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["Packages", 0]);
    expect(r.error!.issues[0]!.message).toMatch(/Debian package name/);
  });
});

// --- Against the installed mkosi -------------------------------------------------------------


let dir: string;
let mkosiMajor: number;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "settings-test-"));
  mkosiMajor = Number(/^mkosi (\d+)/.exec((await execa("mkosi", ["--version"])).stdout)?.[1]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let runs = 0;
/** Writes mkosi.conf for these settings into a fresh folder and lets mkosi parse it. */
async function summarize(settings: Record<string, unknown>): Promise<{ conf: string; exitCode: number; problems: string[]; image: Record<string, unknown>; misread: unknown[] }> {
  const project = join(dir, `p${runs++}`);
  await execa("mkdir", ["-p", project]);
  const doc = profileDocumentSchema.parse({ settings });
  const conf = renderMkosiConf(doc);
  await writeFile(join(project, "mkosi.conf"), conf);
  const r = await execa("mkosi", ["--json", "summary"], { cwd: project, reject: false, timeout: 60_000 });
  const image = r.exitCode === 0 ? ((JSON.parse(r.stdout) as { Images: Record<string, unknown>[] }).Images[0] ?? {}) : {};
  // The product's own read-back: what "Validate with mkosi" would report.
  return { conf, exitCode: r.exitCode ?? -1, problems: mkosiMessages(r.stderr), image, misread: readBack(doc, image, mkosiMajor) };
}

describe("the model against the installed mkosi", () => {
  it("mkosi is installed", async () => {
    const r = await execa("mkosi", ["--version"]);
    expect(r.stdout).toMatch(/^mkosi 2\d/);
  });

  it("accepts a mkosi.conf setting every setting of the model, in its section, and reads each value back", async () => {
    // The model's settings for this mkosi (here 24: Verity= is 25's).
    const major = Number(/^mkosi (\d+)/.exec((await execa("mkosi", ["--version"])).stdout)?.[1]);
    const DEFS = (SETTINGS as readonly SettingDef[]).filter((d) => supportedBy(d, major));
    const settings = Object.fromEntries(DEFS.map((d) => [d.key, sampleValue(d)]));
    const r = await summarize(settings);
    // Every setting is written.
    for (const def of DEFS) expect(r.conf).toMatch(new RegExp(`^${def.key}=`, "m"));
    expect(r.problems, r.conf).toEqual([]);
    expect(r.exitCode).toBe(0);
    for (const def of DEFS) expect(r.image, def.key).toHaveProperty(def.key);
    expect(r.misread).toEqual([]);
  });

  it("accepts every value of every enum, feature and value list, and reads it back", async () => {
    const rounds = Math.max(
      ...DEFS.map((d) => (d.kind.type === "enum" ? d.kind.values.length : d.kind.type === "list" && d.kind.values ? d.kind.values.length : 3)),
    );
    for (let i = 0; i < rounds; i++) {
      const settings = Object.fromEntries(DEFS.map((d) => [d.key, sampleValue(d, i)]));
      const r = await summarize(settings);
      expect(r.problems, `round ${i}:\n${r.conf}`).toEqual([]);
      expect(r.exitCode).toBe(0);
      expect(r.misread, `round ${i}`).toEqual([]);
    }
  });

  it("reads back CompressOutput=no, the value the summary calls none", async () => {
    const r = await summarize({ CompressOutput: "no" });
    expect(r.image.CompressOutput).toBe("none");
    expect(r.misread).toEqual([]);
  });

  it("has the read-back notice a value mkosi read differently", async () => {
    const r = await summarize({ CompressOutput: "xz", Bootable: "no", RootPassword: "root" });
    expect(r.misread).toEqual([]);
    const other = profileDocumentSchema.parse({ settings: { CompressOutput: "zstd", Bootable: "yes", RootPassword: "hashed:root" } });
    expect(readBack(other, r.image, mkosiMajor).map((p) => p.path[1])).toEqual(["CompressOutput", "Bootable", "RootPassword"]);
    // The password is not repeated in the message.
    expect(JSON.stringify(readBack(other, r.image, mkosiMajor))).not.toContain("root\"");
  });

  it("reads an empty project with every default the model claims", async () => {
    const r = await summarize({});
    expect(r.exitCode).toBe(0);
    const defaults = Object.fromEntries(DEFS.filter((d) => d.default !== undefined).map((d) => [d.key, d.default]));
    expect(Object.keys(defaults).length).toBeGreaterThan(5);
    expect(readBack(profileDocumentSchema.parse({ settings: defaults }), r.image, mkosiMajor)).toEqual([]);
  });

  it("reads back lists of several items as the form holds them", async () => {
    const settings = Object.fromEntries(DEFS.filter((d) => d.kind.type === "list").map((d) => [d.key, samplesFor(d)]));
    const r = await summarize(settings);
    expect(r.problems).toEqual([]);
    for (const def of DEFS.filter((d) => d.kind.type === "list")) expect(r.image[def.key], def.key).toEqual(samplesFor(def));
  });

  it("notices a setting written in the wrong section (the check above would fail)", async () => {
    const project = join(dir, "wrong-section");
    await execa("mkdir", ["-p", project]);
    await writeFile(join(project, "mkosi.conf"), "[Distribution]\nDistribution=debian\n\n[Output]\nWithDocs=yes\n");
    const r = await execa("mkosi", ["--json", "summary"], { cwd: project, reject: false });
    expect(mkosiMessages(r.stderr).join("\n")).toMatch(/WithDocs should be configured in \[Content\]/);
  });

  // Every value the schema lets through must reach mkosi as the user typed it: mkosi expands
  // '%' specifiers in values, strips quotes nowhere here, and reads '[' or '=' after Key= as text.
  const TRICKY = ["%s", "%d", "%%", "=x", "[x]", "$HOME", "'q'", "!x", "~x", "x\\y", "a:b"];
  it.each(TRICKY.map((t) => [t]))("any value the schema accepts, even with %j, reaches mkosi unchanged", async (t) => {
    const settings: Record<string, unknown> = {};
    for (const def of TEXT_DEFS) {
      const s = samplesFor(def)[0]!;
      for (const candidate of [`${s}${t}`, `${t}${s}`]) {
        if (accepts(def.key, wrap(def, candidate))) {
          settings[def.key] = wrap(def, candidate);
          break;
        }
      }
    }
    // Each of these is accepted by at least one setting (the kernel command line or the password).
    expect(Object.keys(settings).length).toBeGreaterThan(0);
    const r = await summarize(settings);
    expect(r.exitCode).toBe(0);
    expect(r.misread, `mkosi said: ${r.problems.join(" | ")}`).toEqual([]);
    expect(r.problems).toEqual([]);
  });
});
