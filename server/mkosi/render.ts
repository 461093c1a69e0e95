// Profile -> a complete mkosi project as a list of files. Pure and deterministic: the same
// profile and options give byte-identical files, in path order.
import { isSecretPath, secretMode, type Overlay, type Partition, type ProfileDocument, type RawSetting, type Repository } from "./profile";
import { SECTIONS, SETTINGS, supportedBy, type SettingDef } from "./settings";

export interface RenderedFile {
  path: string;
  content: string;
  encoding: "utf8" | "base64" | "symlink";
  /** Unix permission bits. */
  mode: number;
  /** generated from the model, an extra-tree file the user edits, or imported content kept as is. */
  origin: "generated" | "extra" | "raw";
}

export interface RenderOptions {
  /** Major version of the mkosi that will read the project. */
  mkosiMajor: number;
}

export const DEFAULT_MKOSI_MAJOR = 24;
/** Where the model's settings go when an imported mkosi.conf is kept as written (mkosi reads it right after). */
export const SETTINGS_DROPIN = "mkosi.conf.d/00-settings.conf";
export const VOLATILE_OVERLAY = "systemd.volatile=overlay";
const INDENT = "        ";

export function render(doc: ProfileDocument, opts: RenderOptions = { mkosiMajor: DEFAULT_MKOSI_MAJOR }): RenderedFile[] {
  const files: RenderedFile[] = [];
  const add = (path: string, content: string, origin: RenderedFile["origin"] = "generated", mode = 0o644) =>
    files.push({ path, content, encoding: "utf8", mode, origin });

  // An imported main mkosi.conf that had to be kept raw (it holds [Match]) stays in place;
  // the model's settings then go into a drop-in, which mkosi reads after it.
  const rawPaths = new Set(doc.rawFiles.map((f) => f.path));
  add(rawPaths.has("mkosi.conf") ? SETTINGS_DROPIN : "mkosi.conf", renderMkosiConf(doc, opts.mkosiMajor));

  if (doc.repositories.length > 0) add(sourcesPath(opts.mkosiMajor), renderSources(doc.repositories));

  effectivePartitions(doc).forEach((p, i) => add(repartPath(p, i), renderPartition(p)));

  for (const f of overlayFiles(doc.overlay)) add(f.path, f.content);
  for (const f of doc.extraFiles) add(`mkosi.extra/${f.path}`, f.content, "extra", parseInt(f.mode, 8));
  // A secret keeps only its owner's bits, whatever it was imported with (git keeps 0644).
  for (const f of doc.rawFiles)
    files.push({ path: f.path, content: f.content, encoding: f.encoding, mode: f.encoding !== "symlink" && isSecretPath(f.path) ? secretMode(f.mode) : f.mode, origin: "raw" });

  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const SOURCES_FILE = "etc/apt/sources.list.d/mkosi.sources";

/** Where the installed mkosi reads an apt sources file that replaces its own list. */
export function sourcesPath(mkosiMajor: number): string {
  // mkosi 25 renamed PackageManagerTrees= (mkosi.pkgmngr/) to SandboxTrees= (mkosi.sandbox/).
  const tree = mkosiMajor >= 25 ? "mkosi.sandbox" : "mkosi.pkgmngr";
  return `${tree}/${SOURCES_FILE}`;
}

/** Every place sourcesPath() writes to, for any mkosi major (24's first). */
export const SOURCES_PATHS = [sourcesPath(24), sourcesPath(25)] as const;

// --- mkosi.conf ---------------------------------------------------------------------------

/** The kernel command line with the overlay scheme's word, without duplicates. */
export function effectiveCommandLine(doc: ProfileDocument): string[] {
  const words = [...(doc.settings.KernelCommandLine ?? [])];
  if (doc.overlay.scheme === "tmpfs" && !words.includes(VOLATILE_OVERLAY)) words.push(VOLATILE_OVERLAY);
  return words;
}

/** mkosi expands %-specifiers in every value; the form's values mean '%' literally. */
export const escapeSpecifiers = (v: string) => v.replaceAll("%", "%%");

function settingLines(def: SettingDef, value: unknown): string[] {
  if (value === undefined) return [];
  switch (def.kind.type) {
    case "boolean":
      return [`${def.key}=${value ? "yes" : "no"}`];
    case "list": {
      const items = (value as string[]).map(escapeSpecifiers);
      if (items.length === 0) return [];
      // Space-delimited lists (the kernel command line) read best on one line.
      if (def.kind.delimiter === " " || items.length === 1) return [`${def.key}=${items.join(" ")}`];
      return [`${def.key}=`, ...items.map((v) => INDENT + v)];
    }
    default:
      return [`${def.key}=${escapeSpecifiers(String(value))}`];
  }
}

function rawSettingLines(s: RawSetting): string[] {
  const [first = "", ...rest] = s.value.split("\n");
  return [`${s.key}=${first}`, ...rest.map((l) => (l === "" ? "" : INDENT + l))].filter((l, i) => i === 0 || l !== "");
}

/** mkosi.conf for that mkosi major: a setting it does not take (Verity= before 25) is left out, since mkosi stops at an unknown one. */
export function renderMkosiConf(doc: ProfileDocument, mkosiMajor = DEFAULT_MKOSI_MAJOR): string {
  const values: Record<string, unknown> = { ...doc.settings, KernelCommandLine: effectiveCommandLine(doc) };
  const sections: string[] = [];
  const rawSections = [...new Set(doc.rawSettings.map((s) => s.section))].filter((s) => !(SECTIONS as readonly string[]).includes(s));

  for (const section of [...SECTIONS, ...rawSections]) {
    const lines: string[] = [];
    for (const def of SETTINGS as readonly SettingDef[])
      if (def.section === section && supportedBy(def, mkosiMajor)) lines.push(...settingLines(def, values[def.key]));
    const env = section === ENVIRONMENT_SECTION ? squashfsEnvironment(doc.partitions) : undefined;
    if (env) lines.push(`Environment=${env}`);
    for (const raw of doc.rawSettings) if (raw.section === section) lines.push(...rawSettingLines(raw));
    if (lines.length > 0) sections.push(`[${section}]\n${lines.join("\n")}\n`);
  }
  return sections.join("\n");
}

/**
 * systemd-repart (254 and later) reads extra mkfs options per file system type from
 * SYSTEMD_REPART_MKFS_OPTIONS_<TYPE>, and mkosi runs repart with its Environment=: so a
 * squashfs partition's compression is one Environment= value, the same for every squashfs
 * partition of the image (docs/mkosi-notes.md, "Squashfs compression").
 */
export const SQUASHFS_OPTIONS_VARIABLE = "SYSTEMD_REPART_MKFS_OPTIONS_SQUASHFS";
/** Where mkosi 24 reads Environment= (25 and 26 read it there too). */
export const ENVIRONMENT_SECTION = "Content";

/** mksquashfs's options for a partition's compression, or undefined when it has none. */
export function squashfsOptions(p: Pick<Partition, "compression" | "compressionLevel">): string | undefined {
  if (!p.compression) return undefined;
  return p.compressionLevel === undefined ? `-comp ${p.compression}` : `-comp ${p.compression} -Xcompression-level ${p.compressionLevel}`;
}

/** The Environment= value that carries the first squashfs partition's compression. */
export function squashfsEnvironment(partitions: readonly Partition[]): string | undefined {
  const p = partitions.find((q) => q.format === "squashfs" && q.compression);
  const options = p && squashfsOptions(p);
  // mkosi splits Environment= on spaces like a shell, so the quotes keep the options one value.
  return options && `"${SQUASHFS_OPTIONS_VARIABLE}=${options}"`;
}

// --- Repositories -----------------------------------------------------------------------

export function renderSources(repos: readonly Repository[]): string {
  return repos
    .map((r) =>
      [
        "Types: deb",
        `URIs: ${r.uri}`,
        `Suites: ${r.suites.join(" ")}`,
        `Components: ${r.components.join(" ")}`,
        ...(r.signedBy ? [`Signed-By: ${r.signedBy}`] : []),
      ].join("\n") + "\n",
    )
    .join("\n");
}

// --- Partitions -----------------------------------------------------------------------------

/** The partitions the image gets: the user's list plus the overlay scheme's data partition. */
export function effectivePartitions(doc: ProfileDocument): Partition[] {
  const o = doc.overlay;
  if (o.scheme !== "persistent") return doc.partitions;
  const data: Partition = {
    type: "linux-generic",
    format: o.format,
    label: o.label,
    copyFiles: [],
    sizeMin: o.size,
    sizeMax: o.size,
    extra: [],
  };
  return [...doc.partitions, data];
}

/** Partition definitions are numbered 00, 10, ... 90 so they sort in order: ten at most. */
export const MAX_PARTITIONS = 10;

export function repartPath(p: Partition, index: number): string {
  const name = p.type === "linux-generic" && p.label ? p.label.replace(/[^A-Za-z0-9_-]/g, "").toLowerCase() || p.type : p.type;
  return `mkosi.repart/${String(index * 10).padStart(2, "0")}-${name}.conf`;
}

export function renderPartition(p: Partition): string {
  const lines = ["[Partition]", `Type=${p.type}`];
  if (p.format) lines.push(`Format=${p.format}`);
  if (p.label) lines.push(`Label=${p.label}`);
  for (const c of p.copyFiles) lines.push(`CopyFiles=${c}`);
  if (p.sizeMin) lines.push(`SizeMinBytes=${p.sizeMin}`);
  if (p.sizeMax) lines.push(`SizeMaxBytes=${p.sizeMax}`);
  if (p.minimize) lines.push(`Minimize=${p.minimize}`);
  if (p.verity) lines.push(`Verity=${p.verity}`);
  if (p.verityMatchKey) lines.push(`VerityMatchKey=${p.verityMatchKey}`);
  for (const e of p.extra) lines.push(`${e.key}=${e.value}`);
  return lines.join("\n") + "\n";
}

// --- Overlay --------------------------------------------------------------------------------

/** systemd-escape --path: the unit name systemd expects for a mount point. */
export function escapeUnitPath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, "").replace(/\/+/g, "/");
  if (trimmed === "") return "-";
  let out = "";
  const bytes = new TextEncoder().encode(trimmed);
  bytes.forEach((b, i) => {
    const ch = String.fromCharCode(b);
    if (ch === "/") out += "-";
    // Like systemd: a '.' is escaped only at the very start of the name.
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === "." && i > 0)) out += ch;
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  });
  return out;
}

export function overlayFiles(o: Overlay): { path: string; content: string }[] {
  if (o.scheme !== "persistent") return [];
  const unit = `${escapeUnitPath(o.mountPoint)}.mount`;
  const mount = [
    "[Unit]",
    `Description=Persistent data at ${o.mountPoint}`,
    "Before=local-fs.target",
    "",
    "[Mount]",
    `What=/dev/disk/by-partlabel/${o.label}`,
    `Where=${o.mountPoint}`,
    `Type=${o.format}`,
    "Options=defaults,x-systemd.device-timeout=30s",
    "",
    "[Install]",
    "WantedBy=local-fs.target",
    "",
  ].join("\n");
  return [
    { path: `mkosi.extra/etc/systemd/system/${unit}`, content: mount },
    // mkosi runs `systemctl preset-all` after installing, so a preset is what enables the unit.
    { path: "mkosi.extra/usr/lib/systemd/system-preset/10-persistent-data.preset", content: `enable ${unit}\n` },
    // The root is read-only, so the mount point must already exist in the image.
    { path: `mkosi.extra${o.mountPoint}/.mountpoint`, content: "" },
  ];
}
