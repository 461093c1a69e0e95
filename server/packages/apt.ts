// The real apt, in a private configuration per index under the data folder: its own state,
// cache, sources file (keyrings as Signed-By, so signatures are verified as apt verifies
// them), no configuration of the host's apt.conf.d, and an empty dpkg status for the image.
// apt-get update fetches the lists; apt-get install --simulate resolves what a package pulls in.
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { runOwned, startOwned } from "@/server/processes/registry";
import { sourcesText, type IndexSpec } from "./sources";

export interface AptPaths {
  dir: string;
  config: string;
  etc: string;
  state: string;
  lists: string;
  cache: string;
  /** An empty dpkg status: the image before anything is installed. */
  status: string;
  /** The package index read from the lists (its own SQLite file). */
  index: string;
}

export const indexesRoot = (dataDir: string) => join(dataDir, "packages");

export function aptPaths(dataDir: string, key: string): AptPaths {
  const dir = join(indexesRoot(dataDir), key);
  const state = join(dir, "state");
  return { dir, config: join(dir, "apt.conf"), etc: join(dir, "etc"), state, lists: join(state, "lists"), cache: join(dir, "cache"), status: join(state, "empty-status"), index: join(dir, "index.sqlite") };
}

/** Writes the private configuration (idempotent: the same spec writes the same files). */
export async function writeAptConfig(p: AptPaths, spec: IndexSpec): Promise<void> {
  for (const d of [join(p.etc, "apt.conf.d"), join(p.etc, "sources.list.d"), join(p.etc, "preferences.d"), join(p.lists, "partial"), join(p.cache, "archives", "partial")])
    await mkdir(d, { recursive: true });
  // apt reads its configuration files before the command line's -o options, so where they are
  // is said in the file APT_CONFIG names (read first): the host's apt.conf.d stays out.
  await writeIfChanged(p.config, [`Dir::Etc "${p.etc}";`, `Dir::Etc::Parts "apt.conf.d";`, `Dir::Etc::Main "apt.conf";`, ""].join("\n"));
  await writeIfChanged(join(p.etc, "index.sources"), sourcesText(spec));
  await writeIfChanged(p.status, "");
}

// apt rebuilds its binary cache when a sources or status file is newer than it: leave them be.
async function writeIfChanged(path: string, content: string): Promise<void> {
  if ((await readFile(path, "utf8").catch(() => null)) !== content) await writeFile(path, content);
}

/** The -o options every apt command of an index gets. */
export function aptOptions(p: AptPaths, architecture: string): string[] {
  const o = (kv: string) => ["-o", kv];
  return [
    ...o(`Dir::State=${p.state}`),
    ...o(`Dir::State::status=${p.status}`),
    ...o(`Dir::Cache=${p.cache}`),
    ...o(`Dir::Log=${join(p.dir, "log")}`),
    ...o(`Dir::Etc::SourceList=${join(p.etc, "index.sources")}`),
    ...o(`Dir::Etc::SourceParts=${join(p.etc, "sources.list.d")}`),
    ...o(`Dir::Etc::Preferences=${join(p.etc, "preferences")}`),
    ...o(`Dir::Etc::PreferencesParts=${join(p.etc, "preferences.d")}`),
    // Sources without Signed-By are checked against the host's keys, as the host's apt would.
    ...o("Dir::Etc::Trusted=/etc/apt/trusted.gpg"),
    ...o("Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d"),
    ...o(`APT::Architecture=${architecture}`),
    ...o(`APT::Architectures=${architecture}`),
    // Only the Packages lists: no translations, no Contents, and uncompressed, to be read.
    ...o("Acquire::Languages=none"),
    ...o("Acquire::GzipIndexes=false"),
    ...o("Acquire::Retries=1"),
  ];
}

const aptEnv = (p: AptPaths) => ({ APT_CONFIG: p.config, LC_ALL: "C.UTF-8", DEBIAN_FRONTEND: "noninteractive" });

export interface UpdateResult {
  ok: boolean;
  /** apt's own words when it failed (its Err:, E: and W: lines). */
  error: string | null;
  /** Every line it printed. */
  lines: string[];
}

// What apt-get update prints (untranslated: LC_ALL=C.UTF-8) once its downloads are over and
// each list it got is in place, verified (a source that failed keeps its old lists); then it
// spends about as long again building its own cache of them, the line ending only after that.
const FETCHED = "Reading package lists...";

/**
 * `apt-get update` of the index; each line apt prints goes to onLine as it comes. onStart is
 * called once the configuration (and its lists folder) is written, before apt starts; onFetched
 * once the lists are in place, while apt still builds its cache (so they can be read beside it).
 */
export async function aptUpdate(
  p: AptPaths,
  spec: IndexSpec,
  onLine: (line: string) => void,
  opts: { onStart?: () => void; onFetched?: () => void; signal?: AbortSignal } = {},
): Promise<UpdateResult> {
  const { onStart, onFetched, signal } = opts;
  await writeAptConfig(p, spec);
  onStart?.();
  const child = startOwned("apt-get update", "apt-get", ["update", ...aptOptions(p, spec.architecture), "-o", "APT::Update::Error-Mode=any"], {
    env: aptEnv(p),
    signal,
  });
  const lines: string[] = [];
  let fetched = false;
  const read = async (stream: Readable) => {
    stream.setEncoding("utf8");
    let buf = "";
    for await (const chunk of stream) {
      buf += String(chunk);
      if (!fetched && stream === child.stdout && buf.includes(FETCHED)) {
        fetched = true;
        onFetched?.();
      }
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trimEnd();
        buf = buf.slice(nl + 1);
        if (line) {
          lines.push(line);
          onLine(line);
        }
      }
    }
    if (buf.trim()) {
      lines.push(buf.trim());
      onLine(buf.trim());
    }
  };
  const [done] = await Promise.all([child.done, read(child.stdout), read(child.stderr)]);
  const errors = lines.filter((l) => /^(E|W|Err):/.test(l) || /^\s+\S/.test(l));
  const ok = done.exitCode === 0 && !lines.some((l) => /^(E|Err):/.test(l));
  const why = done.failure ?? (errors.length ? errors.join("\n") : done.signal ? `apt-get update stopped (${done.signal})` : `apt-get update exited with status ${done.exitCode}`);
  return { ok, error: ok ? null : why, lines };
}

export interface ListFile {
  file: string;
  path: string;
  uri: string;
  suite: string;
  component: string;
  size: number;
  mtimeMs: number;
}

// apt's URItoFileName: the URI without its scheme, these characters %-escaped, '/' as '_'.
const QUOTED = new Set('\\|{}[]<>"^~_=!@#$%^&*');
export function uriToFileName(uri: string): string {
  const bare = uri.replace(/^[a-z+]+:\/\//i, "").replace(/^[^@/]*@/, "");
  let out = "";
  for (const ch of bare) {
    const c = ch.charCodeAt(0);
    out += QUOTED.has(ch) || c <= 0x20 || c >= 0x7f ? `%${c.toString(16).padStart(2, "0")}` : ch;
  }
  return out.replace(/\//g, "_");
}

/** The Packages lists the index's sources can have (the architecture's and binary-all), by their file names in apt's lists folder. */
export function listNames(spec: IndexSpec): { file: string; uri: string; suite: string; component: string }[] {
  return spec.sources.flatMap((s) =>
    s.suites.flatMap((suite) =>
      s.components.flatMap((component) =>
        [spec.architecture, "all"].map((arch) => ({ file: uriToFileName(`${s.uri}/dists/${suite}/${component}/binary-${arch}/Packages`), uri: s.uri, suite, component })),
      ),
    ),
  );
}

/** The Packages lists apt has for the index's sources. */
export async function listFiles(p: AptPaths, spec: IndexSpec): Promise<ListFile[]> {
  const present = new Set(await readdir(p.lists).catch(() => []));
  const out: ListFile[] = [];
  for (const l of listNames(spec)) {
    if (!present.has(l.file)) continue;
    const st = await stat(join(p.lists, l.file));
    out.push({ ...l, path: join(p.lists, l.file), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
  }
  return out;
}

/** The InRelease (or Release) file of a suite, if apt has it. */
export function releaseFile(p: AptPaths, uri: string, suite: string): string[] {
  return ["InRelease", "Release"].map((f) => join(p.lists, uriToFileName(`${uri}/dists/${suite}/${f}`)));
}

export interface SimulateResult {
  ok: boolean;
  /** What apt would install ("Inst" lines), in its order. */
  installs: { name: string; version: string; architecture: string }[];
  /** apt's own words when it cannot resolve (unmet dependencies, conflicts). */
  messages: string[];
}

/**
 * What `apt-get install` of `names` would install into an empty image, resolved by apt itself.
 * Recommends are left out, as mkosi does by default (WithRecommends=no).
 */
export async function aptSimulate(p: AptPaths, spec: IndexSpec, names: readonly string[], signal?: AbortSignal): Promise<SimulateResult> {
  const r = await runOwned(
    "apt-get install --simulate",
    "apt-get",
    [
      "install",
      "--simulate",
      ...aptOptions(p, spec.architecture),
      "-o", "Debug::NoLocking=1",
      "-o", "APT::Install-Recommends=false",
      // mkosi installs the essential set itself; apt must not add its own idea of it.
      "-o", "pkgCacheGen::ForceEssential=,",
      "--",
      ...names,
    ],
    { env: aptEnv(p), signal, timeout: 120_000 },
  );
  const out = String(r.stdout ?? "");
  const installs: SimulateResult["installs"] = [];
  for (const m of out.matchAll(/^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/gm)) installs.push({ name: m[1]!, version: m[2]!, architecture: m[3]! });
  if (r.exitCode === 0) return { ok: true, installs, messages: [] };
  // apt explains after "unmet dependencies" (stdout) and in its E: lines (stderr).
  const lines = out.split("\n");
  const from = lines.findIndex((l) => /unmet dependencies|virtual package|has no installation candidate|Unable to locate/.test(l));
  const explained = (from >= 0 ? lines.slice(from) : []).map((l) => l.trimEnd()).filter(Boolean);
  const errors = String(r.stderr ?? "").split("\n").map((l) => l.trimEnd()).filter((l) => /^(E|W):/.test(l));
  const messages = [...explained, ...errors];
  return { ok: false, installs: [], messages: messages.length ? messages : [r.exitCode === undefined ? (r.shortMessage ?? "apt-get did not run") : `apt-get exited with status ${r.exitCode}`] };
}
