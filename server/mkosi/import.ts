// Files of an mkosi project -> a profile document. Pure.
//
// The promise: exporting the imported document gives a project that mkosi reads to the same
// effective configuration. What the model can hold goes into the model; everything else is
// kept as written (raw settings in mkosi.conf, raw files at their paths), never dropped.
// Where the generated mkosi.conf would reorder something order-sensitive, the importer keeps
// more as written rather than guess.
import { AppError } from "@/server/errors";
import { parseDeb822 } from "./apt-sources";
import { isExportReadme, EXPORT_README_NAMES } from "./export-readme";
import { IniError, iniSettings, parseIni, parseUnitFile, type IniEntry } from "./ini";
import {
  FILE_MODES,
  IMAGE_TREES,
  isSecretPath,
  MAX_EXTRA_FILE_BYTES,
  MAX_EXTRA_FILE_LABEL,
  partitionSchema,
  profileDocumentSchema,
  relativePathProblem,
  rawSettingSchema,
  repositorySchema,
  secretMode,
  settingsSchema,
  type ExtraFile,
  type Partition,
  type ProfileDocument,
  type ProfileDocumentInput,
  type RawFile,
  type RawSetting,
  type Repository,
} from "./profile";
import { PEM_PRIVATE_KEY } from "./verity";
import { ENVIRONMENT_SECTION, MAX_PARTITIONS, render, SETTINGS_DROPIN, SOURCES_PATHS, SQUASHFS_OPTIONS_VARIABLE, squashfsEnvironment, VOLATILE_OVERLAY } from "./render";
import {
  FORMER_SECTIONS,
  fromMkosiName,
  HASHED_PASSWORD_PREFIX,
  SECTIONS,
  SETTINGS,
  settingDef,
  SKIPS_UNKNOWN_SECTIONS_SINCE,
  unknownSettingEffect,
  type SettingDef,
} from "./settings";
import { formatProblem, validateDocument, type Problem } from "./validate";

/** One entry of an uploaded archive or a folder on the server, path relative to its root. */
export type ProjectFile = { path: string; data: Uint8Array; mode: number } | { path: string; symlink: string };

export interface ImportResult {
  document: ProfileDocument;
  /** What was kept as written, renamed or moved, and why, for the user. */
  notes: string[];
  /**
   * The form's rules the imported document breaks (only in its partition layout, which mkosi
   * accepted): marked at their fields in the editor, to be fixed before a build.
   */
  problems: Problem[];
  /** The folder every path was in, when there was one (a name for the profile). */
  topFolder?: string;
}

/** Sections mkosi 24 reads settings from; it skips any other section without looking. */
const MKOSI_SECTIONS = ["Config", "Distribution", "Output", "Content", "Validation", "Host"];
const MATCH_SECTIONS = ["Match", "TriggerMatch"];

const archiveError = (message: string) => AppError.field(["archive"], message);

// --- small helpers ------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The text of a file when it is valid UTF-8 without NUL bytes, else undefined. */
function textOf(data: Uint8Array): string | undefined {
  try {
    const text = utf8.decode(data);
    return text.includes("\0") ? undefined : text;
  } catch {
    return undefined;
  }
}

function base64(data: Uint8Array): string {
  const B = (globalThis as { Buffer?: { from(d: Uint8Array): { toString(enc: "base64"): string } } }).Buffer;
  if (B) return B.from(data).toString("base64");
  let s = "";
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(s);
}

const isLink = (f: ProjectFile): f is { path: string; symlink: string } => "symlink" in f;

/** Python's PurePath.suffix of a file name: mkosi reads mkosi.conf.d/ entries whose suffix is ".conf". */
function pySuffix(name: string): string {
  const i = name.lastIndexOf(".");
  return i > 0 && i < name.length - 1 ? name.slice(i) : "";
}

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

function clip(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

const modeText = (mode: number) => mode.toString(8).padStart(4, "0");

function listNames(names: readonly string[], max = 6): string {
  const head = names.slice(0, max).join(", ");
  return names.length > max ? `${head} and ${names.length - max} more` : head;
}

/** mkosi's parse_boolean. */
function parseBoolean(s: string): boolean | undefined {
  const l = s.toLowerCase();
  if (["1", "true", "yes", "y", "t", "on", "always"].includes(l)) return true;
  if (["0", "false", "no", "n", "f", "off", "never"].includes(l)) return false;
  return undefined;
}

// --- layout -------------------------------------------------------------------------------

/** The folder all paths share, if any; mkosi.conf.d itself is never taken for a wrapper. */
export function commonTopFolder(paths: readonly string[]): string | undefined {
  let top: string | undefined;
  for (const p of paths) {
    const slash = p.indexOf("/");
    if (slash <= 0) return undefined;
    const head = p.slice(0, slash);
    if (top === undefined) top = head;
    else if (top !== head) return undefined;
  }
  return top === "mkosi.conf.d" ? undefined : top;
}

function checkLayout(files: readonly ProjectFile[]): void {
  const kinds = new Map<string, "file" | "link">();
  for (const f of files) {
    const problem = relativePathProblem(f.path);
    if (problem) throw archiveError(`${JSON.stringify(f.path)}: ${problem}`);
    if (kinds.has(f.path)) throw archiveError(`${f.path} appears twice`);
    kinds.set(f.path, isLink(f) ? "link" : "file");
  }
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      const kind = kinds.get(prefix);
      if (kind === "link") throw archiveError(`${f.path} lies inside the link ${prefix}: files may not be placed through links`);
      if (kind === "file") throw archiveError(`${prefix} is both a file and a folder`);
    }
    if (isLink(f)) {
      if (!IMAGE_TREES.some((t) => f.path.startsWith(t)))
        throw archiveError(`${f.path} is a link: links are only accepted inside ${IMAGE_TREES.join(" or ")}`);
      if (f.symlink === "" || f.symlink.includes("\0")) throw archiveError(`${f.path} is a link with an empty or invalid target`);
    }
  }
}

// --- mkosi.conf and mkosi.conf.d ---------------------------------------------------------------

interface ConfSource {
  path: string;
  entries: IniEntry[];
}

type Parsed = { ok: true; entries: IniEntry[] } | { ok: false; reason: string };

/**
 * Reads a config file the way the importer may merge it. A file mkosi itself would reject is
 * an error (the project could not be built); one mkosi accepts but this reader cannot hold
 * (a malformed line inside a section mkosi skips) stays raw.
 */
function parseConf(f: ProjectFile): Parsed {
  if (isLink(f)) return { ok: false, reason: "link" };
  const text = textOf(f.data);
  if (text === undefined) throw archiveError(`${f.path} is not UTF-8 text, so mkosi cannot read it`);
  try {
    return { ok: true, entries: parseIni(text) };
  } catch (e) {
    if (!(e instanceof IniError)) throw e;
    try {
      parseIni(text, { onlySections: [...MKOSI_SECTIONS, ...MATCH_SECTIONS] });
    } catch (e2) {
      if (e2 instanceof IniError) throw archiveError(`${f.path}: ${e2.message} (mkosi would stop here too)`);
      throw e2;
    }
    return { ok: false, reason: `has a line the form cannot read (${e.message})` };
  }
}

const hasMatch = (entries: readonly IniEntry[]) => entries.some((e) => e.type === "section" && MATCH_SECTIONS.includes(e.section));

/** Settings whose effect depends on where they stand among the others. */
const ORDER_BOUND = ["Include"];

/** Settings a %-specifier reads, with the settings their defaults are computed from. */
const SPECIFIER_READS: Record<string, string[]> = {
  p: ["Profile"],
  d: ["Distribution"],
  r: ["Release", "Distribution"],
  a: ["Architecture"],
  t: ["Format"],
  o: ["Output", "ImageId", "ImageVersion"],
  O: ["OutputDirectory"],
  v: ["ImageVersion"],
  i: ["ImageId"],
  F: ["Distribution"],
};

/** The specifier characters in a value, as mkosi's expand_specifiers walks it ("%%" is a literal). */
function specifiers(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== "%") continue;
    const c = value[i + 1];
    if (c === undefined) break;
    if (c !== "%") out.push(c);
    i++;
  }
  return out;
}

interface Assignment {
  key: string;
  writtenKey: string;
  section: string;
  value: string;
  line: number;
  /** Index of the source file among those merged. */
  src: number;
  /** Position in mkosi's reading order. */
  order: number;
  /** The name it was written with when that was an older or misspelt one. */
  renamedFrom?: string;
}

const lower = (s: string) => s.toLowerCase();

/**
 * A setting as the current mkosi names and places it (docs/mkosi-notes.md, "Setting names"),
 * with a sentence per change: a section
 * or key spelt in another case, a key an older mkosi used (the model's `formerly`), a setting
 * in a section it moved out of or one an older mkosi read as another, a value an older mkosi
 * took. mkosi 15 and later match names exactly, so each of these was lost or an error there.
 */
function respell(section: string, key: string, value: string): { section: string; key: string; value: string; changes: string[] } {
  const changes: string[] = [];
  const exactSection = MKOSI_SECTIONS.find((s) => s !== section && lower(s) === lower(section));
  if (exactSection) {
    changes.push(`[${section}] is read as [${exactSection}]: mkosi ${SKIPS_UNKNOWN_SECTIONS_SINCE} and later match section names exactly and skip [${section}] without a word`);
    section = exactSection;
  }
  let def = settingDef(key);
  if (!def) {
    const renamed = SETTINGS.find((d) => "formerly" in d && d.formerly.some((f) => "key" in f && f.key === key)) as SettingDef | undefined;
    const former = renamed?.formerly?.find((f) => f.key === key);
    const cased = SETTINGS.find((d) => lower(d.key) === lower(key));
    if (renamed && former) {
      changes.push(`${key}= is read as ${renamed.key}=: mkosi ${former.until + 1} renamed it (${unknownSettingEffect(key)})`);
      def = renamed;
    } else if (cased) {
      changes.push(`${key}= is read as ${cased.key}=: mkosi matches setting names exactly (${unknownSettingEffect(key)})`);
      def = cased;
    }
  }
  if (!def) return { section, key, value, changes };

  if (section !== def.section) {
    const moved = def.formerly?.find((f) => f.section === section);
    const oldSection = FORMER_SECTIONS[section];
    if (moved)
      changes.push(`${def.key}= is moved from [${section}] to [${def.section}]: mkosi ${moved.until + 1} moved it there (mkosi reads it in [${section}] too, with a warning)`);
    else if (oldSection?.becomes === def.section)
      changes.push(`${def.key}= is moved from [${section}] to [${def.section}]: mkosi ${oldSection.until} and older read [${section}] as [${def.section}], ${oldSection.until + 1} and later skip [${section}] without a word`);
    else if (MKOSI_SECTIONS.includes(section))
      changes.push(`${def.key}= is moved from [${section}] to [${def.section}], its section (mkosi reads it in [${section}] too, with a warning)`);
    // Any other section mkosi skips whole: what is there stays there, as written.
    if (moved || oldSection?.becomes === def.section || MKOSI_SECTIONS.includes(section)) section = def.section;
  }

  const newer = def.formerValues?.values[value];
  if (newer !== undefined && def.formerValues) {
    changes.push(`${def.key}=${value} is read as ${def.key}=${newer}: mkosi ${def.formerValues.until + 1} replaced it${def.key === "Format" ? ` (file systems are set per partition in mkosi.repart/ now; without it, mkosi's own layout formats the root ext4 on Debian and Ubuntu)` : ""}`);
    value = newer;
  }
  return { section, key: def.key, value, changes };
}

/**
 * mkosi 14's PasswordIsHashed=yes said Password= held a crypt hash; mkosi 15 replaced both with
 * RootPassword= and a "hashed:" prefix. Folded into the renamed assignments, then dropped.
 */
function foldPasswordIsHashed(assigns: Assignment[], notes: string[]): void {
  const flags = assigns.filter((a) => lower(a.key) === "passwordishashed");
  const passwords = assigns.filter((a) => a.key === "RootPassword" && a.renamedFrom !== undefined);
  if (flags.length === 0 || passwords.length === 0) return;
  const hashed = parseBoolean(flags[flags.length - 1]!.value) === true;
  for (const a of passwords) if (hashed && a.value !== "" && !a.value.startsWith(HASHED_PASSWORD_PREFIX)) a.value = HASHED_PASSWORD_PREFIX + a.value;
  for (const f of flags) assigns.splice(assigns.indexOf(f), 1);
  notes.push(
    hashed
      ? `${flags[0]!.writtenKey}=${flags[flags.length - 1]!.value} is folded into RootPassword= as its '${HASHED_PASSWORD_PREFIX}' prefix: mkosi 15 replaced the setting with the prefix`
      : `${flags[0]!.writtenKey}= is dropped: mkosi 15 has no such setting, and a RootPassword= without '${HASHED_PASSWORD_PREFIX}' is the plain password`,
  );
}

type Folded =
  | { ok: true; settings: Record<string, unknown>; rawSettings: RawSetting[]; tmpfs: boolean; notes: string[] }
  | { ok: false; src: number; reason: string };

type ValueResult = { ok: true; value: unknown } | { ok: false; reason: string };

function schemaProblem(key: string, value: unknown): string | undefined {
  const r = settingsSchema.safeParse({ [key]: value });
  return r.success ? undefined : (r.error.issues[0]?.message ?? "is not valid");
}

/**
 * A written value as mkosi reads it when it holds no real specifier ("%%" is a '%', so is a
 * '%' at the very end); undefined when it does, since the model's values mean '%' literally
 * and render() escapes them.
 */
export function unescapeSpecifiers(value: string): string | undefined {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== "%") out += c;
    else if (i === value.length - 1) out += "%";
    else if (value[i + 1] === "%") {
      out += "%";
      i++;
    } else return undefined;
  }
  return out;
}

/** All assignments of one model setting, read with mkosi's semantics for its kind. */
function foldValue(def: SettingDef, assigns: readonly Assignment[]): ValueResult {
  const k = def.kind;
  const fail = (a: Assignment, why: string): ValueResult => ({ ok: false, reason: `'${a.value}' (line ${a.line}) ${why}` });
  let value: unknown;
  for (const written of assigns) {
    const expanded = unescapeSpecifiers(written.value);
    if (expanded === undefined) return fail(written, "uses a %-specifier");
    const a = { ...written, value: expanded };
    if (k.type === "list") {
      // config_make_list_parser: an empty value resets; items are not stripped.
      if (a.value === "") {
        value = undefined;
        continue;
      }
      const items = a.value.split(k.delimiter).join("\n").split("\n").filter((v) => v !== "");
      const problem = schemaProblem(def.key, items);
      if (problem) return fail(a, problem);
      value = [...((value as string[] | undefined) ?? []), ...items];
      continue;
    }
    if (a.value === "") {
      value = undefined;
      continue;
    }
    if (k.type === "boolean") {
      const b = parseBoolean(a.value);
      if (b === undefined) return fail(a, "is not a boolean");
      value = b;
    } else if (k.type === "feature") {
      // config_parse_feature: ConfigFeature's own names (case-sensitive), else a boolean.
      const b = parseBoolean(a.value);
      const f = fromMkosiName(def, a.value) ?? (b === undefined ? undefined : b ? "yes" : "no");
      if (f === undefined) return fail(a, "is not yes, no or auto");
      value = f;
    } else {
      // mkosi's own name for a value (CompressOutput=none) means the form's value.
      const v = k.type === "enum" ? (fromMkosiName(def, a.value) ?? a.value) : a.value;
      const problem = schemaProblem(def.key, v);
      if (problem) return fail(a, problem);
      value = v;
    }
  }
  // "Key=," is an explicitly empty list, which differs from an unset one (mkosi's default).
  if (Array.isArray(value) && value.length === 0) return { ok: false, reason: "is set to an explicitly empty list" };
  return { ok: true, value };
}

const compare = (a: readonly number[], b: readonly number[]) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

/**
 * Merges config files read in this order into model settings and raw settings, or says
 * which file cannot be merged: the generated mkosi.conf groups settings by section and
 * writes model settings first, which must not change what mkosi ends up with.
 */
function foldConfig(sources: readonly ConfSource[]): Folded {
  const assigns: Assignment[] = [];
  const notes: string[] = [];
  sources.forEach((s, src) => {
    for (const e of iniSettings(s.entries)) {
      // mkosi 24 still accepts a deprecated '@' before a setting name and drops it.
      const key = e.key.startsWith("@") ? e.key.slice(1) : e.key;
      if (key !== e.key) notes.push(`${s.path} line ${e.line}: ${e.key}= is written as ${key}= (mkosi reads them the same)`);
      const r = respell(e.section, key, e.value);
      for (const change of r.changes) notes.push(`${s.path} line ${e.line}: ${change}`);
      assigns.push({ key: r.key, writtenKey: e.key, section: r.section, value: r.value, line: e.line, src, order: assigns.length, renamedFrom: r.key !== key ? key : undefined });
    }
  });
  foldPasswordIsHashed(assigns, notes);

  // mkosi reads an included config right where Include= stands; the generated file moves it.
  const include = assigns.find((a) => ORDER_BOUND.includes(a.key));
  if (include) return { ok: false, src: include.src, reason: `uses ${include.key}=, which mkosi reads where it stands` };

  const byKey = new Map<string, Assignment[]>();
  for (const a of assigns) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a]);

  const settings: Record<string, unknown> = {};
  const rawReasons = new Map<string, string>();
  for (const [key, list] of byKey) {
    const def = settingDef(key);
    if (!def) {
      rawReasons.set(key, "not a setting the form knows");
      continue;
    }
    const misplaced = list.find((a) => a.section !== def.section);
    if (misplaced) {
      rawReasons.set(key, `written in [${misplaced.section}] (line ${misplaced.line}) rather than [${def.section}]`);
      continue;
    }
    const r = foldValue(def, list);
    if (!r.ok) rawReasons.set(key, r.reason);
    else if (r.value !== undefined) settings[key] = r.value;
  }

  const raw = assigns.filter((a) => rawReasons.has(a.key));
  for (const a of raw) {
    const r = rawSettingSchema.safeParse({ section: a.section, key: a.key, value: a.value });
    if (!r.success)
      return { ok: false, src: a.src, reason: `${a.writtenKey}= on line ${a.line} cannot be kept as written: ${r.error.issues[0]?.message}` };
  }

  // Where each assignment lands in the generated file: [section, model-or-raw, index].
  const sections: string[] = [...SECTIONS];
  for (const a of raw) if (!sections.includes(a.section)) sections.push(a.section);
  const modelIndex = new Map<string, number>(SETTINGS.map((d, i) => [d.key, i]));
  const position = (a: Assignment): number[] => {
    const rawAt = raw.indexOf(a);
    if (rawAt >= 0) return [sections.indexOf(a.section), 1, rawAt];
    return [sections.indexOf(settingDef(a.key)!.section), 0, modelIndex.get(a.key)!];
  };

  for (const list of byKey.values()) {
    if (!rawReasons.has(list[0]!.key)) continue;
    for (let i = 1; i < list.length; i++) {
      const [prev, cur] = [list[i - 1]!, list[i]!];
      if (compare(position(prev), position(cur)) > 0)
        return { ok: false, src: cur.src, reason: `${cur.key}= is set in several sections in an order the generated mkosi.conf cannot keep` };
    }
  }

  // A specifier expands to the value of a setting at that point of reading.
  for (const v of assigns) {
    for (const c of specifiers(v.value)) {
      for (const key of SPECIFIER_READS[c] ?? []) {
        for (const t of byKey.get(key) ?? []) {
          if (t === v) continue;
          const before = t.order < v.order;
          const after = compare(position(t), position(v)) < 0;
          if (before !== after)
            return {
              ok: false,
              src: Math.max(t.src, v.src),
              reason: `${v.key}= uses %${c}, which depends on where ${key}= is set`,
            };
        }
      }
    }
  }

  // render() appends the overlay's word at the end of the kernel command line.
  let tmpfs = false;
  const cmdline = settings.KernelCommandLine as string[] | undefined;
  if (cmdline?.includes(VOLATILE_OVERLAY)) {
    tmpfs = true;
    if (cmdline.indexOf(VOLATILE_OVERLAY) === cmdline.length - 1) cmdline.pop();
    if (cmdline.length === 0) delete settings.KernelCommandLine;
  }

  for (const [key, reason] of rawReasons) notes.push(`${key}= kept as written: ${reason}`);
  const rawSettings = raw.map(({ section, key, value }) => ({ section, key, value }));
  return { ok: true, settings, rawSettings, tmpfs, notes };
}

interface ConfigPlan {
  settings: Record<string, unknown>;
  rawSettings: RawSetting[];
  tmpfs: boolean;
  /** Config files kept as they are, with the reason. */
  raw: Map<string, string>;
  notes: string[];
}

interface DropIn {
  name: string;
  /** conf: a *.conf file mkosi reads; dir: a folder mkosi reads as a config; ignored: mkosi skips it. */
  kind: "conf" | "dir" | "ignored";
  file?: ProjectFile;
  paths: string[];
}

function dropIns(files: readonly ProjectFile[]): DropIn[] {
  const byName = new Map<string, DropIn>();
  for (const f of files) {
    if (!f.path.startsWith("mkosi.conf.d/")) continue;
    const rest = f.path.slice("mkosi.conf.d/".length);
    const slash = rest.indexOf("/");
    const name = slash < 0 ? rest : rest.slice(0, slash);
    const d = byName.get(name) ?? { name, kind: "ignored", paths: [] };
    d.paths.push(f.path);
    if (slash >= 0) d.kind = "dir";
    else {
      d.file = f;
      d.kind = !isLink(f) && pySuffix(name) === ".conf" ? "conf" : "ignored";
    }
    byName.set(name, d);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function planConfig(files: readonly ProjectFile[]): ConfigPlan {
  const raw = new Map<string, string>();
  const notes: string[] = [];
  const main = files.find((f) => f.path === "mkosi.conf");

  let mainSource: ConfSource | undefined;
  let mainRaw: string | undefined;
  if (main) {
    const p = parseConf(main);
    if (!p.ok) mainRaw = p.reason;
    else if (hasMatch(p.entries)) mainRaw = "has [Match] conditions";
    else mainSource = { path: main.path, entries: p.entries };
  }

  // Drop-ins are merged up to the first one mkosi reads that must stay in place (cut).
  const entries = dropIns(files);
  const why = new Map<number, string>();
  const parsed = new Map<number, ConfSource>();
  let cut = entries.length;
  for (let i = 0; i < entries.length; i++) {
    const d = entries[i]!;
    if (d.kind === "ignored") continue;
    if (d.kind === "dir") why.set(i, "a folder of settings");
    else {
      const p = parseConf(d.file!);
      if (!p.ok) why.set(i, p.reason);
      else if (hasMatch(p.entries)) why.set(i, "has [Match] conditions");
      else if (iniSettings(p.entries).some((e) => specifiers(e.value).includes("C")))
        why.set(i, "uses %C, the folder of the file itself");
      else parsed.set(i, { path: d.file!.path, entries: p.entries });
    }
    if (why.has(i)) {
      cut = i;
      break;
    }
  }
  const label = (i: number) => (entries[i]!.kind === "dir" ? `mkosi.conf.d/${entries[i]!.name}/` : entries[i]!.paths[0]!);

  for (;;) {
    const mergedIdx = [...parsed.keys()].filter((i) => i < cut);
    // With mkosi.conf kept raw, the merged drop-ins become 00-settings.conf, which must still
    // be read before the first drop-in that stays.
    if (mainRaw && mergedIdx.length > 0 && cut < entries.length && entries[cut]!.name <= SETTINGS_DROPIN.slice(13)) {
      why.set(mergedIdx[0]!, `kept in place to stay before ${label(cut)}`);
      cut = mergedIdx[0]!;
      continue;
    }
    const sources = [...(mainSource ? [mainSource] : []), ...mergedIdx.map((i) => parsed.get(i)!)];
    const folded = foldConfig(sources);
    if (!folded.ok) {
      const src = sources[folded.src]!;
      if (src === mainSource) {
        mainRaw = folded.reason;
        mainSource = undefined;
      } else {
        const i = mergedIdx.find((j) => parsed.get(j) === src)!;
        why.set(i, folded.reason);
        cut = i;
      }
      continue;
    }

    if (main && mainRaw) {
      raw.set(main.path, mainRaw);
      if (folded.rawSettings.length > 0 || Object.keys(folded.settings).length > 0 || folded.tmpfs)
        notes.push(`the form's settings are written to ${SETTINGS_DROPIN}, which mkosi reads right after mkosi.conf`);
    }
    const merged = new Set(mergedIdx.map((i) => parsed.get(i)!.path));
    entries.forEach((d, i) => {
      for (const path of d.paths) {
        if (merged.has(path)) continue;
        if (d.kind === "ignored") raw.set(path, "not read by mkosi (it reads only *.conf files and folders here)");
        else raw.set(path, (i === cut || i > cut) && why.has(i) ? why.get(i)! : `comes after ${label(cut)}`);
      }
    });
    if (merged.size > 0) notes.push(`merged into the form: ${listNames([...merged])}`);
    return { settings: folded.settings, rawSettings: folded.rawSettings, tmpfs: folded.tmpfs, raw, notes: [...notes, ...folded.notes] };
  }
}

// --- mkosi.repart ---------------------------------------------------------------------------

/** Keys of a partition definition the model has a field for (CopyFiles aside). */
const REPART_FIELDS = new Map([
  ["Type", "type"],
  ["Format", "format"],
  ["Label", "label"],
  ["SizeMinBytes", "sizeMin"],
  ["SizeMaxBytes", "sizeMax"],
  ["Minimize", "minimize"],
  ["Verity", "verity"],
  ["VerityMatchKey", "verityMatchKey"],
]);

type RepartResult = { ok: true; partitions: Partition[] } | { ok: false; reason: string };

function importRepart(files: readonly ProjectFile[]): RepartResult {
  const sorted = [...files].sort(byPath);
  if (sorted.length > MAX_PARTITIONS) return { ok: false, reason: `more than ${MAX_PARTITIONS} partitions` };
  const partitions: Partition[] = [];
  for (const f of sorted) {
    const name = f.path.slice("mkosi.repart/".length);
    if (name.includes("/")) return { ok: false, reason: `${f.path} is in a sub-folder` };
    if (isLink(f)) return { ok: false, reason: `${f.path} is a link` };
    if (!name.endsWith(".conf") || name.startsWith(".")) return { ok: false, reason: `${f.path} is not a *.conf definition` };
    const text = textOf(f.data);
    if (text === undefined) return { ok: false, reason: `${f.path} is not text` };
    let entries: IniEntry[];
    try {
      entries = parseUnitFile(text);
    } catch (e) {
      if (e instanceof IniError) return { ok: false, reason: `${f.path} ${e.message}` };
      throw e;
    }
    const sections = entries.filter((e) => e.type === "section");
    if (sections.length !== 1 || sections[0]!.section !== "Partition")
      return { ok: false, reason: `${f.path} has sections other than one [Partition]` };
    const p: Record<string, unknown> & { copyFiles: string[]; extra: { key: string; value: string }[] } = { copyFiles: [], extra: [] };
    for (const s of iniSettings(entries)) {
      const field = REPART_FIELDS.get(s.key);
      if (s.key === "CopyFiles") p.copyFiles.push(s.value);
      else if (field) {
        if (Object.hasOwn(p, field)) return { ok: false, reason: `${f.path} sets ${s.key}= twice` };
        p[field] = s.value;
      } else p.extra.push({ key: s.key, value: s.value });
    }
    const r = partitionSchema.safeParse(p);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      return { ok: false, reason: `${f.path}: ${issue.path.join(" ") || "definition"} ${issue.message}` };
    }
    partitions.push(r.data);
  }
  return { ok: true, partitions };
}

/**
 * An Environment= that is exactly what a squashfs partition's Compression renders becomes that
 * field of every squashfs partition again (an export of ours comes back as it left).
 */
function foldSquashfsCompression(partitions: Partition[], rawSettings: readonly RawSetting[], notes: string[]): { partitions: Partition[]; rawSettings: RawSetting[] } {
  const unchanged = { partitions, rawSettings: [...rawSettings] };
  const envs = rawSettings.filter((r) => r.key === "Environment");
  const env = envs[0];
  const squashfs = partitions.filter((p) => p.format === "squashfs");
  if (!env || envs.length !== 1 || env.section !== ENVIRONMENT_SECTION || squashfs.length === 0 || squashfs.some((p) => p.compression)) return unchanged;
  const m = new RegExp(`^"${SQUASHFS_OPTIONS_VARIABLE}=-comp ([a-z0-9]+)(?: -Xcompression-level ([0-9]{1,2}))?"$`).exec(env.value);
  const compression = partitionSchema.shape.compression.safeParse(m?.[1]);
  if (!m || !compression.success || !compression.data) return unchanged;
  const field = { compression: compression.data, ...(m[2] ? { compressionLevel: Number(m[2]) } : {}) };
  const next = partitions.map((p) => (p.format === "squashfs" ? { ...p, ...field } : p));
  // Only when it renders back byte for byte, so the export writes the same line.
  if (squashfsEnvironment(next) !== env.value) return unchanged;
  // It is the form's own spelling, shown in the partition editor: not kept as written after all.
  const kept = notes.findIndex((n) => n.startsWith("Environment= kept as written"));
  if (kept >= 0) notes.splice(kept, 1);
  return { partitions: next, rawSettings: rawSettings.filter((r) => r !== env) };
}

// --- everything else ------------------------------------------------------------------------

const SCRIPT = /^mkosi\.(configure|sync|prepare|build|postinst|finalize|postoutput|clean)(\.chroot)?$/;

/** Why a file outside the model is kept as it is, in a few words. */
function rawReason(path: string): string {
  const top = path.split("/")[0]!;
  if (SCRIPT.test(path)) return "script";
  if (top === "mkosi.images") return "sub-image";
  if (top === "mkosi.skeleton") return "skeleton tree";
  if (top === "mkosi.extra") return "image tree file the form does not edit";
  if (top === "mkosi.pkgmngr" || top === "mkosi.sandbox") return "package manager tree";
  if (top === "mkosi.repart") return "partition definition";
  if (top === "mkosi.profiles") return "profile";
  if (top === "mkosi.packages") return "local package";
  if (top === "mkosi.credentials") return "credential";
  if (/^mkosi\.(extra|skeleton|pkgmngr)\.tar$/.test(path)) return "tree archive";
  if (path === "mkosi.version") return "read by mkosi as ImageVersion=";
  if (path === "mkosi.rootpw") return "read by mkosi as RootPassword=";
  if (path === "mkosi.key" || path === "mkosi.crt" || path === "mkosi.passphrase") return "signing key or secret";
  if (path === "mkosi.env") return "environment for scripts";
  if (path === "mkosi.nspawn") return "nspawn settings";
  if (path === "mkosi.local.conf") return "local settings";
  return "not understood by the form";
}

function rawFile(f: ProjectFile, reason: string): RawFile {
  if (isLink(f)) return { path: f.path, encoding: "symlink", content: f.symlink, mode: 0o777, reason: clip(reason) };
  const text = textOf(f.data);
  return {
    path: f.path,
    encoding: text === undefined ? "base64" : "utf8",
    content: text ?? base64(f.data),
    mode: f.mode & 0o7777,
    reason: clip(reason),
  };
}

type ExtraResult = { ok: true; file: ExtraFile } | { ok: false; reason: string };

function extraFile(f: ProjectFile): ExtraResult {
  if (isLink(f)) return { ok: false, reason: "link" };
  const rel = f.path.slice("mkosi.extra/".length);
  const text = textOf(f.data);
  if (text === undefined) return { ok: false, reason: "binary file" };
  if (f.data.length > MAX_EXTRA_FILE_BYTES) return { ok: false, reason: `larger than ${MAX_EXTRA_FILE_LABEL}` };
  const mode = (f.mode & 0o7777).toString(8).padStart(4, "0");
  if (!(FILE_MODES as readonly string[]).includes(mode)) return { ok: false, reason: `mode ${mode}` };
  if (relativePathProblem(rel)) return { ok: false, reason: "path the form cannot edit" };
  return { ok: true, file: { path: rel, content: text, mode: mode as ExtraFile["mode"] } };
}

function importSources(files: readonly ProjectFile[]): { repos?: Repository[]; path?: string; reason?: string } {
  const present = files.filter((f) => (SOURCES_PATHS as readonly string[]).includes(f.path));
  if (present.length === 0) return {};
  if (present.length > 1) return { reason: "both mkosi.pkgmngr/ and mkosi.sandbox/ hold an apt sources file" };
  const f = present[0]!;
  const text = isLink(f) ? undefined : textOf(f.data);
  const repos = text === undefined ? undefined : parseDeb822(text);
  if (!repos || repos.length === 0 || !repos.every((r) => repositorySchema.safeParse(r).success))
    return { reason: "apt sources the form cannot represent" };
  return { repos, path: f.path };
}

// --- the importer ---------------------------------------------------------------------------

export function importProject(input: readonly ProjectFile[]): ImportResult {
  // Paths are checked before the top folder is stripped, so "../" cannot pose as one.
  for (const f of input) {
    const problem = relativePathProblem(f.path);
    if (problem) throw archiveError(`${JSON.stringify(f.path)}: ${problem}`);
  }
  const topFolder = commonTopFolder(input.map((f) => f.path));
  const files = topFolder === undefined ? [...input] : input.map((f) => ({ ...f, path: f.path.slice(topFolder.length + 1) }));
  checkLayout(files);

  const isConf = (f: ProjectFile) =>
    !isLink(f) && (f.path === "mkosi.conf" || (/^mkosi\.conf\.d\/[^/]+$/.test(f.path) && pySuffix(f.path.slice(13)) === ".conf"));
  if (!files.some(isConf))
    throw archiveError(
      `this is not an mkosi project: it has neither mkosi.conf nor mkosi.conf.d/*.conf${topFolder ? ` in ${topFolder}/` : " at its top"}`,
    );

  const notes: string[] = [];
  const rawFiles: RawFile[] = [];
  const extraFiles: ExtraFile[] = [];
  const keepRaw = (f: ProjectFile, reason: string) => rawFiles.push(rawFile(f, reason));

  // Settings.
  const config = planConfig(files);
  notes.push(...config.notes);
  const handled = new Set<string>();
  for (const [path, reason] of config.raw) {
    keepRaw(files.find((f) => f.path === path)!, reason);
    handled.add(path);
  }
  handled.add("mkosi.conf");
  for (const f of files) if (f.path.startsWith("mkosi.conf.d/")) handled.add(f.path);
  if (config.raw.has("mkosi.conf") && rawFiles.some((f) => f.path === SETTINGS_DROPIN))
    throw archiveError(
      `${SETTINGS_DROPIN} must be renamed: mkosi.conf has [Match] conditions, so the form writes its own settings to that file`,
    );

  // Partitions.
  const repartFiles = files.filter((f) => f.path.startsWith("mkosi.repart/"));
  let partitions: Partition[] = [];
  let repartReason: string | undefined;
  if (repartFiles.length > 0) {
    const r = importRepart(repartFiles);
    if (r.ok) partitions = r.partitions;
    else repartReason = r.reason;
  }
  for (const f of repartFiles) handled.add(f.path);
  const folded = foldSquashfsCompression(partitions, config.rawSettings, notes);
  partitions = folded.partitions;

  // Apt sources.
  const sources = importSources(files);
  const repositories = sources.repos ?? [];
  if (sources.path) handled.add(sources.path);
  if (sources.reason) {
    notes.push(`apt sources kept as written: ${sources.reason}`);
    for (const f of files)
      if ((SOURCES_PATHS as readonly string[]).includes(f.path)) {
        keepRaw(f, sources.reason);
        handled.add(f.path);
      }
  }

  // A README an earlier export wrote is written again by the next export.
  for (const name of EXPORT_README_NAMES) {
    const f = files.find((x) => x.path === name);
    const text = f && !isLink(f) ? textOf(f.data) : undefined;
    if (f && text !== undefined && isExportReadme(text)) {
      notes.push(`${name} is the README an export writes; the next export writes it again`);
      handled.add(f.path);
    }
  }

  // A private key (mkosi.key) never becomes part of a profile: the document travels through
  // the API and into exports. It belongs in the key store.
  for (const f of files) {
    if (handled.has(f.path) || isLink(f)) continue;
    if (PEM_PRIVATE_KEY.test(Buffer.from(f.data).toString("latin1"))) {
      notes.push(`${f.path} holds a private key and was not imported (a profile never holds one): import it with its certificate into the key store and choose it as the profile's signing key`);
      handled.add(f.path);
    }
  }

  for (const f of files) {
    if (handled.has(f.path)) continue;
    if (f.path.startsWith("mkosi.extra/")) {
      const r = extraFile(f);
      if (r.ok) extraFiles.push(r.file);
      else keepRaw(f, r.reason);
    } else keepRaw(f, rawReason(f.path));
  }

  // git keeps mkosi.rootpw as 0644, and mkosi refuses a secret others can read: owner only.
  for (const f of rawFiles) {
    if (f.encoding === "symlink" || !isSecretPath(f.path) || secretMode(f.mode) === f.mode) continue;
    notes.push(`${f.path} is written ${modeText(secretMode(f.mode))}, not ${modeText(f.mode)}: mkosi refuses a secret file others can read`);
    f.mode = secretMode(f.mode);
  }

  const build = (parts: Partition[], extraRaw: readonly RawFile[]): ProfileDocumentInput => ({
    settings: config.settings,
    repositories,
    partitions: parts,
    overlay: { scheme: config.tmpfs ? "tmpfs" : "readonly" },
    extraFiles: [...extraFiles].sort(byPath),
    rawSettings: folded.rawSettings,
    rawFiles: [...rawFiles, ...extraRaw].sort(byPath),
  });
  const repartRaw = (reason: string) => repartFiles.map((f) => rawFile(f, `partition definitions the form cannot represent exactly: ${reason}`));

  let doc: ProfileDocument;
  let flagged: Problem[] = [];
  const result = validateDocument(build(partitions, repartReason ? repartRaw(repartReason) : []));
  if (result.ok) doc = result.doc;
  else {
    // A layout mkosi accepts but the form's rules reject (say, an ESP without /boot) goes into
    // the partition editor all the same, its problems marked at their fields; anything else
    // the rules reject is the project's error.
    const parsed = profileDocumentSchema.safeParse(build(partitions, repartReason ? repartRaw(repartReason) : []));
    // A signed project has no key in the store yet: one is chosen after the import.
    const elsewhere = result.problems.filter((p) => p.path[0] !== "partitions" && p.path[0] !== "signingKey");
    if (!parsed.success || elsewhere.length > 0) throw AppError.invalid(elsewhere.length > 0 ? elsewhere : result.problems);
    doc = parsed.data;
    flagged = result.problems;
    for (const p of flagged)
      notes.push(
        p.path[0] === "signingKey"
          ? `the project signs its image: choose a signing key from the key store before a build (${p.message})`
          : `mkosi.repart/ is in the partition editor with a problem to fix before a build: ${formatProblem(p)}`,
      );
  }
  if (repartReason) notes.push(`mkosi.repart/ kept as written: ${repartReason}`);

  // A generated file must not stand where the project has a file, or the other way round.
  const out = render(doc).map((f) => f.path);
  const outSet = new Set(out);
  for (const p of out) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (outSet.has(prefix)) throw archiveError(`${prefix} is both a file and a folder in the exported project`);
    }
  }

  const grouped = new Map<string, string[]>();
  for (const f of doc.rawFiles) {
    if (config.raw.has(f.path) || f.path.startsWith("mkosi.repart/")) continue;
    grouped.set(f.reason, [...(grouped.get(f.reason) ?? []), f.path]);
  }
  for (const [path, reason] of config.raw) notes.push(`${path} kept as written: ${reason}`);
  for (const [reason, paths] of grouped) notes.push(`kept as written (${reason}): ${listNames(paths)}`);

  return { document: doc, notes, problems: flagged, ...(topFolder !== undefined ? { topFolder } : {}) };
}
