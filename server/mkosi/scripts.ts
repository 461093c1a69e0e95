// What mkosi runs of a project, read from its files alone. Pure.
//
// Two questions, answered from mkosi's code and manual for 24, 25 and 26:
// - rootScripts: which files of a profile mkosi runs as root when it builds it (the scripts
//   by name, their .chroot and .d/ forms, executable credentials, files that settings name),
//   so a person confirms them before the first build and again after any change.
// - checkPlan: how "Validate with mkosi" writes the project so that `mkosi summary` runs none
//   of it. mkosi runs files while it parses: every executable credential (24 and 25: each
//   file in mkosi.credentials/ or named by Credentials=), and in 25 and later an executable
//   mkosi.version, mkosi.rootpw, mkosi.seed, mkosi.machine-id (26: mkosi.snapshot too),
//   whose output becomes the setting. Configure scripts run right after parsing in a build,
//   never for `summary`. Each of these is looked for in every folder mkosi reads settings
//   from (mkosi.conf.d/*/, mkosi.images/*/, mkosi.profiles/*/, included folders).
import { rawFileBytes, type ProfileDocument } from "./profile";
import { scanIni } from "./ini";
import { render, type RenderedFile } from "./render";

/** The script stages mkosi runs as root during a build (mkosi.<stage>, <Stage>Scripts=). */
export const SCRIPT_STAGES = ["configure", "sync", "prepare", "build", "postinst", "finalize", "postoutput", "clean"] as const;
type Stage = (typeof SCRIPT_STAGES)[number];
/** Stages that also have a mkosi.<stage>.chroot form (run inside the image). */
const CHROOT_STAGES: readonly Stage[] = ["prepare", "build", "postinst", "finalize"];
/** Stages whose scripts mkosi 25 and later also read from mkosi.<stage>.d/. */
const DIR_STAGES: readonly Stage[] = ["sync", "prepare", "build", "postinst", "finalize", "postoutput", "clean"];

/** The settings that name scripts (with the older names mkosi still reads), by stage. */
export const SCRIPT_SETTINGS: Readonly<Record<string, Stage>> = {
  ConfigureScripts: "configure",
  SyncScripts: "sync",
  PrepareScripts: "prepare",
  PrepareScript: "prepare",
  BuildScripts: "build",
  BuildScript: "build",
  PostInstallationScripts: "postinst",
  PostInstallationScript: "postinst",
  FinalizeScripts: "finalize",
  FinalizeScript: "finalize",
  PostOutputScripts: "postoutput",
  CleanScripts: "clean",
};

const STAGE_WHEN: Record<Stage, string> = {
  configure: "a configure script: runs before the build and may rewrite the configuration",
  sync: "a sync script: runs on the host before the build",
  prepare: "a prepare script: runs after the base packages are installed",
  build: "a build script: runs in the build overlay",
  postinst: "a post-installation script: runs after the packages are installed",
  finalize: "a finalize script: runs when the image tree is complete",
  postoutput: "a post-output script: runs on the finished image",
  clean: "a clean script: runs when mkosi cleans the outputs (every build here uses --force)",
};

/** Files mkosi 25 and later run while parsing when they are executable (their output is the value). */
export const RUN_OR_READ: Readonly<Record<string, { setting: string; since: number }>> = {
  "mkosi.version": { setting: "ImageVersion=", since: 25 },
  "mkosi.rootpw": { setting: "RootPassword=", since: 25 },
  "mkosi.seed": { setting: "Seed=", since: 25 },
  "mkosi.machine-id": { setting: "MachineId=", since: 25 },
  "mkosi.snapshot": { setting: "Snapshot=", since: 26 },
};

/** mkosi 24 and 25 run executable credentials while parsing; 26 only when it boots the image. */
const CREDENTIALS_RUN_AT_PARSE_UNTIL = 25;

/** Include= names these configurations of mkosi's own, which are not files of the project. */
const BUILTIN_CONFIGS = ["mkosi-tools", "mkosi-initrd", "mkosi-vm", "mkosi-addon", "mkosi-obs"];

/** Folders whose content is copied into the image, never run on the host. */
const IMAGE_TREE_DIRS = new Set(["mkosi.extra", "mkosi.skeleton"]);
/** Package manager trees: copied into the sandbox mkosi runs apt and dpkg in. */
const PKGMNGR_TREES = ["mkosi.pkgmngr", "mkosi.sandbox"];
/** apt and dpkg configuration can name commands they run (DPkg::Pre-Invoke, pre-invoke=). */
const PKGMNGR_HOOKS = /^etc\/(apt\/apt\.conf(\.d\/[^/]+)?|dpkg\/dpkg\.cfg(\.d\/[^/]+)?)$/;

export const ROOT_SCRIPT_KINDS = ["script", "credential", "parse-time", "hook", "executable", "setting"] as const;
export type RootScriptKind = (typeof ROOT_SCRIPT_KINDS)[number];

/** One thing mkosi runs as root when it builds the profile. */
export interface RootScript {
  /** The file in the project; for a setting, the configuration file that holds it. */
  path: string;
  /** For a setting that names something outside the project: `Key=value` as written. */
  setting?: string;
  kind: RootScriptKind;
  /** Why mkosi runs it, in a sentence. */
  why: string;
  mode: number;
  encoding: "utf8" | "base64";
  content: string;
  /** Bytes of the file (of the setting's text for a setting). */
  size: number;
}

// --- paths --------------------------------------------------------------------------------

const segmentsOf = (p: string) => p.split("/");
const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const parentName = (p: string) => {
  const s = segmentsOf(p);
  return s.length > 1 ? s[s.length - 2]! : "";
};
const isExecutable = (f: RenderedFile) => (f.mode & 0o111) !== 0;

export function inImageTree(path: string): boolean {
  return segmentsOf(path).slice(0, -1).some((s) => IMAGE_TREE_DIRS.has(s));
}

/** Folders a relative path in `file` may be read against: mkosi reads it from the folder of the configuration it is in. */
function basesOf(file: string): string[] {
  const s = segmentsOf(file).slice(0, -1);
  const out: string[] = [];
  for (let i = s.length; i >= 0; i--) out.push(s.slice(0, i).join("/"));
  return out;
}

/** `base/rel` normalised, or undefined when it leaves the project. */
function joinInside(base: string, rel: string): string | undefined {
  const out = base ? segmentsOf(base) : [];
  for (const part of segmentsOf(rel)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

interface Resolved {
  /** It may lead outside the project (a host path, a link, a variable or specifier, too many '..'). */
  outside: boolean;
  /** The files or folders of the project it may name. */
  paths: string[];
}

/** Where a path value of a setting in `file` leads, as far as the project's files tell. */
function resolvePath(value: string, file: string, project: Project): Resolved {
  // Host paths, home folders, variables and specifiers (other than %%) cannot be told from the project.
  if (value === "" || value.startsWith("/") || value.startsWith("~") || value.includes("$") || /%/.test(value.replaceAll("%%", "")))
    return { outside: true, paths: [] };
  const literal = value.replaceAll("%%", "%");
  const out: Resolved = { outside: false, paths: [] };
  for (const base of basesOf(file)) {
    const p = joinInside(base, literal);
    if (p === undefined || project.throughLink(p) || project.linksUnder(p)) out.outside = true;
    else if (project.files.has(p) || project.isDir(p)) out.paths.push(p);
  }
  return out;
}

class Project {
  readonly files = new Map<string, RenderedFile>();
  private readonly dirs = new Set<string>();
  private readonly links: string[] = [];

  constructor(all: readonly RenderedFile[]) {
    for (const f of all) {
      if (f.encoding === "symlink") this.links.push(f.path);
      else this.files.set(f.path, f);
      const s = segmentsOf(f.path);
      for (let i = 1; i < s.length; i++) this.dirs.add(s.slice(0, i).join("/"));
    }
  }

  isDir(p: string): boolean {
    return p === "" || this.dirs.has(p);
  }

  /** The path is a link or lies under one (where it leads is on the host). */
  throughLink(p: string): boolean {
    return this.links.some((l) => p === l || p.startsWith(`${l}/`));
  }

  /** A folder that holds a link somewhere below it. */
  linksUnder(dir: string): boolean {
    return this.links.some((l) => dir === "" || l.startsWith(`${dir}/`));
  }

  /** Files directly in a folder. */
  childrenOf(dir: string): RenderedFile[] {
    return this.under(dir).filter(({ rel }) => !rel.includes("/")).map(({ f }) => f);
  }

  /** Files below a folder, each with its path relative to it. */
  under(dir: string): { f: RenderedFile; rel: string }[] {
    const prefix = dir === "" ? "" : `${dir}/`;
    return [...this.files.values()].filter((f) => f.path.startsWith(prefix)).map((f) => ({ f, rel: f.path.slice(prefix.length) }));
  }
}

// --- settings -------------------------------------------------------------------------------

interface SettingRef {
  /** The configuration file it is in. */
  file: string;
  key: string;
  /** As written (one item of a list setting). */
  value: string;
}

function textOf(f: RenderedFile): string {
  if (f.encoding !== "base64") return f.content;
  const bin = atob(f.content);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder("utf-8").decode(bytes);
}

const WATCHED = new Set([...Object.keys(SCRIPT_SETTINGS), "Credentials", "Include", "ExtraSearchPaths", "ToolsTree", "EnvironmentFiles"]);
const LISTS = new Set([...Object.keys(SCRIPT_SETTINGS), "Include", "ExtraSearchPaths", "EnvironmentFiles"]);

/** A file mkosi reads settings from, by its path relative to a folder of configuration. */
const isConfigName = (rel: string) => !inImageTree(rel) && (rel.endsWith(".conf") || basename(rel) === "mkosi.conf");

interface Configuration {
  settings: SettingRef[];
  /** Folders mkosi reads as configuration: the project ("") and the folders Include= names. */
  roots: string[];
}

/** The settings that run or read files, from every configuration file mkosi may read (following Include=). */
function readConfiguration(project: Project): Configuration {
  const settings: SettingRef[] = [];
  const roots = [""];
  const queue = project.under("").filter(({ rel }) => isConfigName(rel)).map(({ f }) => f.path);
  const seen = new Set(queue);
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!;
    const f = project.files.get(file);
    if (!f) continue;
    for (const s of scanIni(textOf(f))) {
      const key = s.key.replace(/^@/, "");
      if (!WATCHED.has(key)) continue;
      const items = LISTS.has(key) ? s.value.split(/[,\n]/).map((v) => v.trim()).filter(Boolean) : [s.value];
      for (const value of items) {
        settings.push({ file, key, value });
        if (key !== "Include" || BUILTIN_CONFIGS.includes(value)) continue;
        // An included file is read as configuration; an included folder as a project of its own.
        for (const p of resolvePath(value, file, project).paths) {
          const more = project.files.has(p) ? [p] : project.under(p).filter(({ rel }) => isConfigName(rel)).map(({ f: x }) => x.path);
          if (!project.files.has(p) && !roots.includes(p)) roots.push(p);
          for (const m of more.filter((x) => !seen.has(x))) {
            seen.add(m);
            queue.push(m);
          }
        }
      }
    }
  }
  return { settings, roots };
}

/** Credentials= takes key=value pairs, or (a value without '=') a file or folder of credentials. */
const credentialPath = (s: SettingRef) => s.key === "Credentials" && s.value !== "" && !s.value.includes("=");

/** The files a Credentials= path names: the file, or the files directly in the folder. */
function credentialFiles(project: Project, paths: readonly string[]): RenderedFile[] {
  return paths.flatMap((p) => (project.files.has(p) ? [project.files.get(p)!] : project.childrenOf(p)));
}

/** Each file under a folder of configuration that is not image content, with its path relative to that folder. */
function configFiles(project: Project, roots: readonly string[]): { f: RenderedFile; rel: string }[] {
  return roots.flatMap((r) => project.under(r)).filter(({ rel }) => !inImageTree(rel));
}

// --- what a build runs ------------------------------------------------------------------------

function stageOfName(name: string): Stage | undefined {
  const m = /^mkosi\.([a-z]+)(\.chroot)?$/.exec(name);
  const stage = m?.[1] as Stage | undefined;
  if (!stage || !(SCRIPT_STAGES as readonly string[]).includes(stage)) return undefined;
  if (m![2] && !CHROOT_STAGES.includes(stage)) return undefined;
  return stage;
}

function stageOfFolder(name: string): Stage | undefined {
  const m = /^mkosi\.([a-z]+)\.d$/.exec(name);
  const stage = m?.[1] as Stage | undefined;
  return stage && DIR_STAGES.includes(stage) ? stage : undefined;
}

/** A credential file mkosi finds by its place: in a mkosi.credentials/ folder, or a file of that name. */
const isCredentialFile = (rel: string) => parentName(rel) === "mkosi.credentials" || basename(rel) === "mkosi.credentials";

/** Everything mkosi runs as root when it builds these files (a profile rendered), in path order. */
export function rootScriptsOf(all: readonly RenderedFile[]): RootScript[] {
  const project = new Project(all);
  const config = readConfiguration(project);
  const found = new Map<string, RootScript>();
  const addFile = (f: RenderedFile, kind: RootScriptKind, why: string) => {
    if (f.encoding === "symlink" || found.has(f.path)) return;
    found.set(f.path, { path: f.path, kind, why, mode: f.mode, encoding: f.encoding, content: f.content, size: rawFileBytes(f) });
  };
  const addSetting = (s: SettingRef, why: string) => {
    const setting = `${s.key}=${s.value}`;
    const id = `${s.file}\0${setting}`;
    if (!found.has(id)) found.set(id, { path: s.file, setting, kind: "setting", why, mode: 0, encoding: "utf8", content: setting, size: rawFileBytes({ encoding: "utf8", content: setting }) });
  };

  for (const { f, rel } of configFiles(project, config.roots)) {
    const name = basename(rel);
    const stage = stageOfName(name) ?? stageOfFolder(parentName(rel));
    const tree = PKGMNGR_TREES.find((t) => rel.startsWith(`${t}/`));
    if (stage) addFile(f, "script", `${STAGE_WHEN[stage]}.`);
    else if (isCredentialFile(rel) && isExecutable(f))
      addFile(f, "credential", "an executable credential: mkosi runs it and passes what it prints to the image (mkosi 24 and 25 while they read the project).");
    else if (RUN_OR_READ[name] && isExecutable(f))
      addFile(f, "parse-time", `executable: mkosi ${RUN_OR_READ[name]!.since} and later run it while they read the project and take what it prints as ${RUN_OR_READ[name]!.setting}.`);
    else if (tree && PKGMNGR_HOOKS.test(rel.slice(tree.length + 1)))
      addFile(f, "hook", "apt or dpkg configuration of the build sandbox: it can name commands apt and dpkg run (DPkg::Pre-Invoke, pre-invoke=).");
    else if (/^mkosi\.(pkgmngr|sandbox)\.tar$/.test(rel))
      addFile(f, "hook", "an archive unpacked into the build sandbox: it can hold apt or dpkg hooks and programs.");
  }
  for (const s of config.settings) {
    const stage = SCRIPT_SETTINGS[s.key];
    if (s.key === "EnvironmentFiles" || (s.key === "Credentials" && !credentialPath(s))) continue;
    if (s.key === "Include" && BUILTIN_CONFIGS.includes(s.value)) continue;
    if (s.key === "ToolsTree" && (s.value === "" || s.value === "default")) continue;
    const r = resolvePath(s.value, s.file, project);
    if (r.outside)
      addSetting(s, `${s.key}= names ${s.value}, which may lie outside the project: mkosi ${stage ? "runs it" : s.key === "Credentials" ? "runs what is executable there" : s.key === "Include" ? "reads settings and scripts from it" : "runs programs from it"} as root.`);
    if (stage) {
      for (const p of r.paths) {
        const f = project.files.get(p);
        if (f) addFile(f, "script", `${STAGE_WHEN[stage]} (named by ${s.key}= in ${s.file}).`);
      }
    } else if (s.key === "Credentials") {
      for (const f of credentialFiles(project, r.paths).filter(isExecutable))
        addFile(f, "credential", `an executable credential (named by Credentials= in ${s.file}): mkosi runs it and passes what it prints to the image.`);
    } else if (s.key === "ExtraSearchPaths" || s.key === "ToolsTree") {
      for (const p of r.paths)
        for (const { f } of project.under(p).filter(({ f: x }) => isExecutable(x)))
          addFile(f, "executable", `a program in ${p}/, which ${s.key}= in ${s.file} makes mkosi run its tools from.`);
    }
  }
  // Anything else that can run: a setting may point mkosi at it (ExtraSearchPaths=, ToolsTree=, ...).
  for (const { f } of configFiles(project, config.roots))
    if (isExecutable(f)) addFile(f, "executable", "an executable file: settings such as ExtraSearchPaths=, ToolsTree= or Include= can make mkosi run it.");
  return [...found.values()].sort((a, b) => cmp(a.path, b.path) || cmp(a.setting ?? "", b.setting ?? ""));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Everything mkosi runs as root when it builds the profile. */
export function rootScripts(doc: ProfileDocument): RootScript[] {
  return rootScriptsOf(render(doc));
}

/** How a script is named to a person: its path, or the file and setting for a setting. */
export function scriptLabel(s: Pick<RootScript, "path" | "setting">): string {
  return s.setting ? `${s.path} (${s.setting})` : s.path;
}

/**
 * One script in the form its digest covers: path, setting, mode and exact content. What a
 * script is called (kind, why) is left out: it follows from these.
 */
export function canonicalScript(s: RootScript): string {
  return JSON.stringify([s.path, s.setting ?? null, s.mode, s.encoding, s.content]);
}

/** The whole list in the form its digest covers (sorted, so the order of the input does not matter). */
export function canonicalScripts(list: readonly RootScript[]): string {
  return `[${list.map(canonicalScript).sort().join(",")}]`;
}

// --- what a check must not run --------------------------------------------------------------

export interface OutsideSetting {
  file: string;
  key: string;
  value: string;
  message: string;
}

export interface CheckPlan {
  /** The files to write for `mkosi summary`: none executable, none that mkosi would run. */
  files: RenderedFile[];
  /** Files mkosi would run while reading or configuring the project, which the validation does not. */
  notRun: string[];
  /**
   * Settings that would make mkosi read or run files outside the project (a host folder of
   * programs as credentials, say): mkosi is not run at all on such a project.
   */
  outside: OutsideSetting[];
}

/** How to write a project so the installed mkosi (this major version) parses it without running any of it. */
export function checkPlan(all: readonly RenderedFile[], mkosiMajor: number): CheckPlan {
  const project = new Project(all);
  const config = readConfiguration(project);
  const notRun = new Set<string>();
  const leftOut = new Set<string>();
  const credentialsRun = mkosiMajor <= CREDENTIALS_RUN_AT_PARSE_UNTIL;
  const outside: OutsideSetting[] = [];

  for (const { f, rel } of configFiles(project, config.roots)) {
    const name = basename(rel);
    const runOrRead = RUN_OR_READ[name];
    if (stageOfName(name) === "configure") notRun.add(f.path);
    if (!isExecutable(f)) continue;
    if (isCredentialFile(rel) && credentialsRun) notRun.add(f.path);
    else if (runOrRead && mkosiMajor >= runOrRead.since) {
      // Written without its run bit, mkosi 25 would refuse a file that starts with "#!": leave it out.
      notRun.add(f.path);
      leftOut.add(f.path);
    }
  }
  for (const s of config.settings) {
    const reads = credentialPath(s) || (s.key === "Include" && !BUILTIN_CONFIGS.includes(s.value)) || s.key === "EnvironmentFiles";
    const configure = SCRIPT_SETTINGS[s.key] === "configure";
    if (!reads && !configure) continue;
    const r = resolvePath(s.value, s.file, project);
    if (reads && r.outside) {
      const what = s.key === "Credentials" ? "run the programs there, or read the files there into its summary," : "read files there";
      outside.push({ ...s, message: `${s.file}: ${s.key}=${s.value} may lead outside the project: mkosi would ${what} while it reads the project, so the validation does not run mkosi on it` });
    } else if (s.key === "Credentials" && credentialsRun) {
      for (const f of credentialFiles(project, r.paths)) if (isExecutable(f)) notRun.add(f.path);
    } else if (configure) for (const p of r.paths) if (project.files.has(p)) notRun.add(p);
  }

  // No file keeps a run bit: whatever mkosi looks at, it can only read.
  const files = all.filter((f) => !leftOut.has(f.path)).map((f) => (f.encoding === "symlink" ? f : { ...f, mode: f.mode & ~0o111 }));
  return { files, notRun: [...notRun].sort(), outside };
}
