// Package indexes as the API sees them: one per set of apt sources (shared by the profiles
// that have them), refreshed on request and when a use finds it older than a day (never by a
// timer), with the refresh's progress as events; search, the package check before a build
// or in validation with mkosi, and what a package pulls in, resolved by apt.
import { eq } from "drizzle-orm";
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildQueue } from "@/server/builds/queue";
import type { Db } from "@/server/db/client";
import { packageIndexes as indexesTable, type IndexSource, type PackageIndexRow } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { validateDocument, type Problem } from "@/server/mkosi/validate";
import { getProfile } from "@/server/profiles/service";
import { aptPaths, aptSimulate, aptUpdate, listFiles, listNames, releaseFile, type AptPaths } from "./apt";
import { closestNames } from "./closest";
import { parseRelease, releasePriority, type PackageStanza } from "./control";
import { ListTail, type OnStanzas } from "./list-tail";
import { hostSourcesOf } from "./host-apt";
import { describeSources, indexSpec, type IndexSpec, type IndexSpecResult } from "./sources";
import {
  biggestList,
  candidates,
  importLists,
  IndexBuild,
  indexNames,
  listsHaving,
  namesFrom,
  openIndex,
  searchIndex,
  sizesOf,
  type ImportList,
  type IndexDb,
  type IndexNames,
  type SearchHit,
} from "./store";

/** An index older than this is refreshed when it is next used. */
export const MAX_AGE_MS = 24 * 3600_000;
/** After a failed refresh (no network), uses do not try again for this long; a request does. */
export const RETRY_AFTER_MS = 5 * 60_000;

export interface RefreshProgress {
  phase: "fetching" | "reading";
  /** apt's own lines so far (the last 40). */
  lines: string[];
  startedAt: string;
}

export interface IndexStatus {
  /** The index's key (digest of its sources), or null when the profile's sources cannot be told. */
  key: string | null;
  /** Why this profile has no index (its sources cannot be told), or null. */
  unavailableReason: string | null;
  sources: IndexSource[];
  architecture: string | null;
  /** Whether there is an index to search and check against (fetched at least once). */
  available: boolean;
  /** When apt-get update last succeeded. */
  fetchedAt: string | null;
  ageMs: number | null;
  /** Older than a day: the next use refreshes it. */
  stale: boolean;
  packageCount: number;
  /** Why the last refresh failed, in apt's words (no network, a bad signature); the last index is still used. */
  error: string | null;
  attemptedAt: string | null;
  /** A refresh under way, or null. */
  refreshing: RefreshProgress | null;
}

export interface PackageProblem extends Problem {
  severity: "error" | "warning";
  /** The package name at fault, and the closest real names when it looks misspelt. */
  package?: string;
  suggestions?: string[];
}

export interface PackageCheck {
  status: IndexStatus;
  problems: PackageProblem[];
}

export interface PullIn {
  name: string;
  /** Whether apt can install it with the profile's other packages. */
  ok: boolean;
  /** Packages it adds to the image beyond what the profile installs without it (itself included). */
  added: { name: string; version: string; installedKib: number | null }[];
  count: number;
  installedBytes: number;
  downloadBytes: number;
  /** apt's own words when it cannot (conflicts, unmet dependencies). */
  messages: string[];
  status: IndexStatus;
}

interface Running {
  promise: Promise<IndexStatus>;
  progress: RefreshProgress;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export class PackageIndexes {
  /** Emits "change" with an index key whenever its status changed (progress included). */
  readonly events = new EventEmitter();
  private readonly running = new Map<string, Running>();
  /** Each index's file, open once it exists, by key. */
  private readonly files = new Map<string, IndexDb>();
  private readonly names = new Map<number, IndexNames>();
  /** Bumped per index whenever a refresh changed its rows: what the in-memory answers are keyed by. */
  private readonly generations = new Map<number, number>();
  private readonly pullInCache = new Map<string, Promise<Awaited<ReturnType<typeof aptSimulate>>>>();

  constructor(
    readonly db: Db,
    readonly dataDir: string,
  ) {
    this.events.setMaxListeners(0);
  }

  specOf(doc: ProfileDocument): IndexSpecResult {
    return indexSpec(doc);
  }

  private row(spec: IndexSpec): PackageIndexRow {
    const found = this.db.select().from(indexesTable).where(eq(indexesTable.key, spec.key)).get();
    if (found) return found;
    return this.db
      .insert(indexesTable)
      .values({ key: spec.key, sources: spec.sources, architecture: spec.architecture })
      .onConflictDoNothing()
      .returning()
      .get() ?? this.db.select().from(indexesTable).where(eq(indexesTable.key, spec.key)).get()!;
  }

  private statusOf(spec: IndexSpec, row: PackageIndexRow | undefined): IndexStatus {
    const fetched = row?.fetchedAt ?? null;
    const ageMs = fetched ? Math.max(0, Date.now() - fetched.getTime()) : null;
    return {
      key: spec.key,
      unavailableReason: null,
      sources: spec.sources,
      architecture: spec.architecture,
      available: (row?.packageCount ?? 0) > 0,
      fetchedAt: iso(fetched),
      ageMs,
      stale: ageMs === null || ageMs > MAX_AGE_MS,
      packageCount: row?.packageCount ?? 0,
      error: row?.error ?? null,
      attemptedAt: iso(row?.attemptedAt ?? null),
      refreshing: this.running.get(spec.key)?.progress ?? null,
    };
  }

  private unavailable(reason: string): IndexStatus {
    return { key: null, unavailableReason: reason, sources: [], architecture: null, available: false, fetchedAt: null, ageMs: null, stale: false, packageCount: 0, error: null, attemptedAt: null, refreshing: null };
  }

  /** The index status of a profile's sources (nothing is fetched). */
  status(doc: ProfileDocument): IndexStatus {
    const r = this.specOf(doc);
    if (!r.ok) return this.unavailable(r.reason);
    return this.statusOf(r.spec, this.db.select().from(indexesTable).where(eq(indexesTable.key, r.spec.key)).get());
  }

  /** Runs apt-get update for the index and reads its lists; a second call while one runs joins it. */
  refresh(spec: IndexSpec): Promise<IndexStatus> {
    const current = this.running.get(spec.key);
    if (current) return current.promise;
    const progress: RefreshProgress = { phase: "fetching", lines: [], startedAt: new Date().toISOString() };
    const promise = this.doRefresh(spec, progress).finally(() => {
      this.running.delete(spec.key);
      this.events.emit("change", spec.key);
    });
    this.running.set(spec.key, { promise, progress });
    this.events.emit("change", spec.key);
    return promise;
  }

  refreshDocument(doc: ProfileDocument): Promise<IndexStatus> {
    const r = this.specOf(doc);
    if (!r.ok) throw AppError.field(["repositories"], r.reason, "PRECONDITION_FAILED");
    return this.refresh(r.spec);
  }

  private fileOf(key: string): string {
    return aptPaths(this.dataDir, key).index;
  }

  /** The index's file, opened (and created when `create`); undefined when it has none yet. */
  private indexOf(key: string, create = false): IndexDb | undefined {
    let db = this.files.get(key);
    if (!db && (create || existsSync(this.fileOf(key)))) this.files.set(key, (db = openIndex(this.fileOf(key))));
    return db;
  }

  private closeIndex(key: string): void {
    this.files.get(key)?.close();
    this.files.delete(key);
  }

  private async doRefresh(spec: IndexSpec, progress: RefreshProgress): Promise<IndexStatus> {
    const row = this.row(spec);
    const paths = aptPaths(this.dataDir, spec.key);
    // The lists apt downloads are read as it writes them. From nothing, or when the big list
    // comes again (a point release), the index is written whole meanwhile, into a new file;
    // otherwise what is read is kept, to be diffed into the index once apt has the lists in
    // place. Either is used only for the lists whose file is the one apt verified.
    const existing = this.indexOf(spec.key);
    const big = existing ? biggestList(existing) : null;
    let build: IndexBuild | undefined;
    let buildFailed = false;
    const kept = new Map<string, PackageStanza[]>();
    const onStanzas: OnStanzas = (source, list, stanzas) => {
      if (!build && !buildFailed && (big === null || list === big)) {
        // A build that cannot start (its file cannot be made) leaves the import after apt to say why.
        build = attempt(() => new IndexBuild(this.fileOf(spec.key)));
        buildFailed = !build;
      }
      if (build) return build.add(source, list, stanzas);
      let k = kept.get(source);
      if (!k) kept.set(source, (k = []));
      for (const st of stanzas) k.push(st);
    };
    // apt's partial folder is watched from before apt starts.
    let tail: ListTail | undefined;
    let fetched!: () => void;
    const inPlace = new Promise<void>((r) => (fetched = r));
    const updating = aptUpdate(
      paths,
      spec,
      (line) => {
        progress.lines.push(line);
        if (progress.lines.length > 40) progress.lines.shift();
        this.events.emit("change", spec.key);
      },
      { onStart: () => (tail = new ListTail(join(paths.lists, "partial"), new Set(listNames(spec).map((l) => l.file)), onStanzas)), onFetched: fetched },
    ).catch((e: unknown) => ({ ok: false, error: e instanceof Error ? e.message : String(e), lines: [] }));
    // The lists are stored as soon as apt has them in place, beside apt building its own cache
    // of them, instead of after apt.
    await Promise.race([inPlace, updating]);
    progress.phase = "reading";
    this.events.emit("change", spec.key);
    const verified = (await tail?.finish(paths.lists).catch(() => undefined)) ?? new Map<string, string>();
    const [update, { packageCount, readError }] = await Promise.all([updating, this.readLists(row, paths, spec, { verified, kept, build })]);
    const now = new Date();
    const error = update.ok ? readError : update.error;
    this.db
      .update(indexesTable)
      .set({ attemptedAt: now, error, packageCount, ...(update.ok && !readError ? { fetchedAt: now } : {}) })
      .where(eq(indexesTable.id, row.id))
      .run();
    return this.statusOf(spec, this.db.select().from(indexesTable).where(eq(indexesTable.id, row.id)).get());
  }

  /** Reads whatever lists apt has into the index, even after a failed update: apt keeps the old ones then. */
  private async readLists(
    row: PackageIndexRow,
    paths: AptPaths,
    spec: IndexSpec,
    read: {
      /** By list file name, the file apt verified that was read as it was written. */
      verified: ReadonlyMap<string, string>;
      /** The stanzas read, by the file they came from (those not handed to the build). */
      kept: ReadonlyMap<string, PackageStanza[]>;
      build: IndexBuild | undefined;
    },
  ): Promise<{ packageCount: number; readError: string | null }> {
    const { verified, kept, build } = read;
    try {
      const lists: ImportList[] = [];
      const priorities = new Map<string, number>();
      for (const l of await listFiles(paths, spec)) {
        const k = `${l.uri} ${l.suite}`;
        if (!priorities.has(k)) priorities.set(k, await suitePriority(releaseFile(paths, l.uri, l.suite)));
        const source = verified.get(l.file);
        const stanzas = source === undefined ? undefined : kept.get(source);
        lists.push({ ...l, priority: priorities.get(k)!, ...(stanzas ? { stanzas } : {}) });
      }
      if (build && lists.length > 0 && build.usable(verified)) {
        // Closed as the new file replaces it: a search meanwhile reads the old one.
        const built = await build.finish(lists, () => this.closeIndex(spec.key)).catch((e: unknown) => (build.abort(), e instanceof Error ? e : new Error(String(e))));
        if (!(built instanceof Error)) {
          this.names.set(row.id, namesFrom(built.candidates));
          this.generations.set(row.id, (this.generations.get(row.id) ?? 0) + 1);
          return { packageCount: built.packages, readError: null };
        }
      } else build?.abort();
      if (lists.length === 0 && !this.indexOf(spec.key)) return { packageCount: 0, readError: null };
      const result = await importLists(this.indexOf(spec.key, true)!, lists);
      // A list whose time or size moved with the same packages in it changes no answer.
      if (result.inserted + result.deleted + result.flipped > 0) {
        this.names.delete(row.id);
        this.generations.set(row.id, (this.generations.get(row.id) ?? 0) + 1);
      }
      // Loaded now, not on the first key press after the refresh.
      if (result.packages > 0) this.namesOf(row, spec.key);
      return { packageCount: result.packages, readError: null };
    } catch (e) {
      build?.abort();
      return { packageCount: row.packageCount, readError: `reading apt's lists failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /**
   * The index for a use that needs it now (the checks, pull-in): refreshed first when never
   * fetched or older than a day; a failed refresh leaves the last index in use.
   */
  async ready(spec: IndexSpec): Promise<{ row: PackageIndexRow; status: IndexStatus }> {
    let row = this.row(spec);
    const age = row.fetchedAt ? Date.now() - row.fetchedAt.getTime() : Infinity;
    const recentlyFailed = row.attemptedAt !== null && row.error !== null && Date.now() - row.attemptedAt.getTime() < RETRY_AFTER_MS;
    if (this.running.has(spec.key) || (age > MAX_AGE_MS && !recentlyFailed)) {
      await this.refresh(spec);
      row = this.row(spec);
    }
    return { row, status: this.statusOf(spec, row) };
  }

  /** Starts a refresh in the background when the index is older than a day (search uses this). */
  private touch(spec: IndexSpec, row: PackageIndexRow): void {
    const age = row.fetchedAt ? Date.now() - row.fetchedAt.getTime() : Infinity;
    const recentlyFailed = row.attemptedAt !== null && row.error !== null && Date.now() - row.attemptedAt.getTime() < RETRY_AFTER_MS;
    if (age > MAX_AGE_MS && !recentlyFailed && !this.running.has(spec.key)) void this.refresh(spec).catch(() => undefined);
  }

  private namesOf(row: PackageIndexRow, key: string): IndexNames {
    let names = this.names.get(row.id);
    if (!names) {
      const db = this.indexOf(key);
      // No file (never written, or removed by hand): no names, and none kept for later.
      if (!db) return namesFrom([]);
      this.names.set(row.id, (names = indexNames(db)));
    }
    return names;
  }

  /** Search as you type in the profile's index (answers from the index as it is; a stale one is refreshed behind). */
  search(doc: ProfileDocument, text: string, limit = 20): { status: IndexStatus; hits: SearchHit[] } {
    const r = this.specOf(doc);
    if (!r.ok) return { status: this.unavailable(r.reason), hits: [] };
    const row = this.row(r.spec);
    this.touch(r.spec, row);
    const db = row.packageCount > 0 ? this.indexOf(r.spec.key) : undefined;
    return { status: this.statusOf(r.spec, row), hits: db ? searchIndex(db, this.namesOf(row, r.spec.key), text, limit) : [] };
  }

  /**
   * Every name in Packages= and RemovePackages= that the profile's repositories do not have,
   * with the closest real names and, when another repository has it, which. When there is no
   * index at all (never fetched, no network), one warning says the names were not checked.
   */
  async check(doc: ProfileDocument, signal?: AbortSignal): Promise<PackageCheck> {
    const r = this.specOf(doc);
    const lists = (["Packages", "RemovePackages"] as const).map((key) => ({ key, names: doc.settings[key] ?? [] }));
    if (lists.every((l) => l.names.length === 0)) return { status: r.ok ? this.status(doc) : this.unavailable(r.reason), problems: [] };
    if (!r.ok) {
      return {
        status: this.unavailable(r.reason),
        problems: [{ path: ["settings", "Packages"], message: `package names were not checked: ${r.reason}`, severity: "warning" }],
      };
    }
    const { row, status } = await this.ready(r.spec);
    if (!status.available)
      return {
        status,
        problems: [
          {
            path: ["settings", "Packages"],
            message: `package names were not checked: the package index of ${describeSources(r.spec.sources)} could not be fetched${status.error ? ` (${status.error.split("\n")[0]})` : ""}`,
            severity: "warning",
          },
        ],
      };
    const names = this.namesOf(row, r.spec.key);
    const problems: PackageProblem[] = [];
    const missing: { key: string; i: number; name: string }[] = [];
    for (const { key, names: list } of lists)
      list.forEach((name, i) => {
        if (names.real.has(name)) return;
        const providers = names.virtual.get(name);
        if (providers && (providers.length === 1 || key === "RemovePackages")) return;
        if (providers)
          problems.push({
            path: ["settings", key, i],
            message: `'${name}' is a virtual package provided by ${[...new Set(providers)].sort().join(", ")}: apt installs none of them by itself, name one`,
            severity: "error",
            package: name,
            suggestions: [...new Set(providers)].sort(),
          });
        else missing.push({ key, i, name });
      });
    if (missing.length > 0) {
      const host = await hostSourcesOf([...new Set(missing.map((m) => m.name))], signal).catch(() => new Map<string, { uri: string; dist: string }[]>());
      for (const m of missing) {
        const others = this.elsewhere(row, m.name).map((o) => `${o.uri} ${o.suite}/${o.component}`);
        const onHost = (host.get(m.name) ?? []).map((h) => `${h.uri} ${h.dist}`);
        let message: string;
        let suggestions: string[] = [];
        if (onHost.length || others.length) {
          const where = [...new Set([...onHost, ...others])].slice(0, 3).join(", ");
          const whose = onHost.length ? "this machine's apt sources have" : "another profile's repositories have";
          message = `'${m.name}' is not in this profile's repositories: only ${where} has it (${whose} it, this profile does not): add that repository or remove the package`;
        } else {
          suggestions = closestNames(m.name, [...names.real, ...names.virtual.keys()]);
          message = `'${m.name}' is not in this profile's repositories${suggestions.length ? `: did you mean ${suggestions.join(", ")}?` : ""}`;
        }
        problems.push({ path: ["settings", m.key, m.i], message, severity: "error", package: m.name, suggestions });
      }
    }
    problems.sort((a, b) => String(a.path[1]).localeCompare(String(b.path[1])) || Number(a.path[2]) - Number(b.path[2]));
    return { status, problems };
  }

  /**
   * Before a build: throws PRECONDITION_FAILED naming every package the repositories lack.
   * Returns the warnings (no index to check against) for the build to pass on.
   */
  async preflight(doc: ProfileDocument): Promise<string[]> {
    const { problems } = await this.check(doc);
    const errors = problems.filter((p) => p.severity === "error");
    if (errors.length > 0)
      throw new AppError(
        "PRECONDITION_FAILED",
        `this profile's packages cannot be installed from its repositories: ${errors.map((p) => p.message).join("; ")}`,
        errors.map(({ path, message }) => ({ path, message })),
        { packages: errors.map((p) => ({ name: p.package, suggestions: p.suggestions ?? [] })) },
      );
    return problems.map((p) => p.message);
  }

  /**
   * How many packages and bytes adding `name` brings to the image: apt resolves the profile's
   * base (the essential set, base-files and its other packages) with and without it.
   */
  async pullIn(doc: ProfileDocument, name: string, signal?: AbortSignal): Promise<PullIn> {
    const r = this.specOf(doc);
    if (!r.ok) throw AppError.field(["repositories"], r.reason, "PRECONDITION_FAILED");
    const { row, status } = await this.ready(r.spec);
    if (!status.available) throw AppError.field(["name"], `the package index of this profile could not be fetched${status.error ? `: ${status.error.split("\n")[0]}` : ""}`, "PRECONDITION_FAILED");
    const names = this.namesOf(row, r.spec.key);
    if (!names.real.has(name) && !names.virtual.has(name)) {
      const close = closestNames(name, [...names.real, ...names.virtual.keys()]);
      throw AppError.field(["name"], `'${name}' is not in this profile's repositories${close.length ? `: did you mean ${close.join(", ")}?` : ""}`, "NOT_FOUND");
    }
    // The base as mkosi installs it: ?essential, usr-is-merged and base-files first, then Packages=.
    const others = (doc.settings.Packages ?? []).filter((p) => p !== name && (names.real.has(p) || names.virtual.get(p)?.length === 1));
    const base = ["?essential", ...(names.real.has("usr-is-merged") ? ["usr-is-merged"] : []), "base-files", ...others];
    const paths = aptPaths(this.dataDir, r.spec.key);
    const stamp = `${r.spec.key}:${this.generations.get(row.id) ?? 0}`;
    const simulate = (list: string[]) => {
      const k = `${stamp}|${[...list].sort().join(" ")}`;
      let p = this.pullInCache.get(k);
      if (!p) {
        p = aptSimulate(paths, r.spec, list, signal);
        this.pullInCache.set(k, p);
        // A handful of recent answers: the same base is asked for again as the user picks.
        if (this.pullInCache.size > 32) this.pullInCache.delete(this.pullInCache.keys().next().value!);
        void p.then((x) => !x.ok && this.pullInCache.delete(k), () => this.pullInCache.delete(k));
      }
      return p;
    };
    const [without, withIt] = await Promise.all([simulate(base), simulate([...base, name])]);
    if (!withIt.ok || !without.ok)
      return { name, ok: false, added: [], count: 0, installedBytes: 0, downloadBytes: 0, messages: withIt.ok ? without.messages : withIt.messages, status };
    const had = new Set(without.installs.map((i) => i.name));
    const added = withIt.installs.filter((i) => !had.has(i.name));
    const db = this.indexOf(r.spec.key);
    const info = db ? candidates(db, added.map((a) => a.name)) : new Map<string, never>();
    const rows = added.map((a) => ({ name: a.name, version: a.version, installedKib: info.get(a.name)?.installedKib ?? null }));
    return {
      name,
      ok: true,
      added: rows,
      count: rows.length,
      installedBytes: rows.reduce((s, a) => s + (a.installedKib ?? 0) * 1024, 0),
      downloadBytes: added.reduce((s, a) => s + (info.get(a.name)?.downloadBytes ?? 0), 0),
      messages: [],
      status,
    };
  }

  /** Where else (the other indexes here) a name is installable: each list's source, five at most. */
  private elsewhere(row: PackageIndexRow, name: string): { uri: string; suite: string; component: string }[] {
    const out: { uri: string; suite: string; component: string }[] = [];
    for (const other of this.db.select().from(indexesTable).all()) {
      if (other.id === row.id || other.packageCount === 0) continue;
      const db = this.indexOf(other.key);
      if (db) out.push(...listsHaving(db, name));
    }
    return out.slice(0, 5);
  }

  /** Installed-Size (KiB) by `name=version`, from the index of the document's sources if it has one (nothing is fetched). */
  sizesOf(doc: ProfileDocument, packages: readonly { name: string; version: string }[]): Map<string, number> {
    const r = this.specOf(doc);
    const db = r.ok ? this.indexOf(r.spec.key) : undefined;
    return db ? sizesOf(db, packages) : new Map();
  }

  /** The status of the profile's index now, then at every change (refresh progress included). */
  async *watch(doc: ProfileDocument, signal?: AbortSignal): AsyncGenerator<IndexStatus> {
    const r = this.specOf(doc);
    if (!r.ok) {
      yield this.unavailable(r.reason);
      return;
    }
    const key = r.spec.key;
    let pending = true;
    let wake: (() => void) | undefined;
    const onChange = (k: string) => {
      if (k !== key) return;
      pending = true;
      const w = wake;
      wake = undefined;
      w?.();
    };
    const onAbort = () => wake?.();
    // Subscribe first, then read: a change in between is sent twice at worst.
    this.events.on("change", onChange);
    signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (signal?.aborted) return;
        if (!pending) {
          await new Promise<void>((w) => (wake = w));
          continue;
        }
        pending = false;
        yield this.status(doc);
      }
    } finally {
      this.events.off("change", onChange);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

async function suitePriority(candidates: string[]): Promise<number> {
  for (const f of candidates) {
    const text = await readFile(f, "utf8").catch(() => null);
    if (text !== null) return releasePriority(parseRelease(text));
  }
  return 500;
}

// One per build queue (it knows the data folder), kept across Next's dev reloads.
const g = globalThis as { __imageStudioPackageIndexes?: WeakMap<BuildQueue, PackageIndexes> };
const all = (g.__imageStudioPackageIndexes ??= new WeakMap());

export function packageIndexes(queue: BuildQueue): PackageIndexes {
  let p = all.get(queue);
  if (!p) {
    p = new PackageIndexes(queue.db, queue.dataDir);
    all.set(queue, p);
  }
  return p;
}

/** Which profile a package request is about: a saved one, or the editor's unsaved document. */
export type ProfileScope = { profileId: number } | { document: unknown };

export function documentOf(db: Db, scope: ProfileScope): ProfileDocument {
  const v = validateDocument("profileId" in scope ? getProfile(db, scope.profileId).document : scope.document);
  if (!v.ok) throw AppError.invalid("profileId" in scope ? v.problems : v.problems.map((p) => ({ ...p, path: ["document", ...p.path] })));
  return v.doc;
}
