// The package index in SQLite: apt's Packages lists read into the tables of the index's own
// file (index-schema.ts), either written from nothing as apt downloads them (IndexBuild) or
// brought in line with changed lists (importLists), and the queries on it: search as you type,
// names and providers for the checks, sizes for the manifest.
import Database, { type Statement } from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { closeSync, openSync, renameSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { migrationsRoot } from "@/server/db/client";
import { compareVersions, parsePackages, providedNames, type PackageStanza } from "./control";
import type { ListFile } from "./apt";

/** A connection to one index's file. */
export type IndexDb = Database.Database;

const MIGRATIONS = () => join(migrationsRoot(), "package-index");

function create(file: string): IndexDb {
  // Readable by its owner only, as the app's database.
  closeSync(openSync(file, "a", 0o600));
  return new Database(file);
}

/** Opens (creating if needed) an index file and brings its schema up to date. */
export function openIndex(file: string): IndexDb {
  const db = create(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  migrate(drizzle(db), { migrationsFolder: MIGRATIONS() });
  return db;
}

export interface ImportList extends ListFile {
  /** apt's default pin of the list's release. */
  priority: number;
  /** The list's stanzas when they were read already (while apt wrote it), else it is read here. */
  stanzas?: readonly PackageStanza[];
}

export interface ImportResult {
  /** Lists read again (new or changed since the last refresh). */
  read: number;
  /** Lists unchanged, whose rows were kept. */
  kept: number;
  /** Package versions added and removed. */
  inserted: number;
  deleted: number;
  /** Rows whose candidate flag changed. */
  flipped: number;
  /** Whether anything was written (else the index is as it was). */
  changed: boolean;
  /** Installable packages (one per name) in the index now. */
  packages: number;
}

// Statements prepared once per connection: search answers in well under a millisecond of SQL.
const cache = new WeakMap<IndexDb, Map<string, Statement>>();
function stmt(db: IndexDb, sql: string): Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  return s;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** apt's candidate of each name: the highest pin, then the highest version. */
class Candidates<R> {
  readonly best = new Map<string, { priority: number; version: string; ref: R }>();
  offer(name: string, priority: number, version: string, ref: R): void {
    const b = this.best.get(name);
    if (!b || priority > b.priority || (priority === b.priority && compareVersions(version, b.version) > 0)) this.best.set(name, { priority, version, ref });
  }
  wins(name: string, ref: R): boolean {
    return this.best.get(name)?.ref === ref;
  }
}

const INSERT_LIST = "INSERT INTO package_lists (file, uri, suite, component, size, mtime_ms, priority) VALUES (?, ?, ?, ?, ?, ?, ?)";
const INSERT_PACKAGE = `INSERT INTO packages (list_id, name, version, architecture, section, installed_kib, download_bytes, summary, description,
  provides, depends, pre_depends, recommends, source, essential, candidate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
// New rows get ids above every earlier one (AUTOINCREMENT): their text in one statement.
const INDEX_TEXT = "INSERT INTO packages_fts (rowid, name, summary, description) SELECT id, name, summary, description FROM packages WHERE id > ?";
const LAST_ID = "SELECT coalesce(max(id), 0) FROM packages";

/** Inserts a package version with what it provides; its id. */
function insertStanza(db: IndexDb, listId: number, s: PackageStanza, candidate: boolean): number {
  const id = Number(
    stmt(db, INSERT_PACKAGE).run(
      listId, s.name, s.version, s.architecture, s.section, s.installedKib, s.downloadBytes, s.summary, s.description,
      s.provides, s.depends, s.preDepends, s.recommends, s.source, s.essential ? 1 : 0, candidate ? 1 : 0,
    ).lastInsertRowid,
  );
  for (const p of providedNames(s.provides)) stmt(db, "INSERT INTO package_provides (package_id, name) VALUES (?, ?)").run(id, p);
  return id;
}

/**
 * Brings the index's rows in line with apt's lists. A list unchanged since the last refresh
 * (same size, time and pin) keeps its rows without being read; a changed one is read and only
 * its new package versions are inserted and its gone ones deleted (a point release changes a
 * few hundred of 63,000), so the full-text index is rebuilt only for what changed. The writes
 * are one transaction: a search never sees half an index.
 */
export async function importLists(db: IndexDb, lists: readonly ImportList[]): Promise<ImportResult> {
  const existing = stmt(db, "SELECT id, file, size, mtime_ms AS mtimeMs, priority FROM package_lists").all() as {
    id: number;
    file: string;
    size: number;
    mtimeMs: number;
    priority: number;
  }[];
  const old = new Map(existing.map((e) => [e.file, e]));
  const same = (l: ImportList) => {
    const e = old.get(l.file);
    return e !== undefined && e.size === l.size && e.mtimeMs === l.mtimeMs && e.priority === l.priority;
  };
  const wanted = new Set(lists.map((l) => l.file));
  const kept = lists.filter(same);
  const fresh = lists.filter((l) => !same(l));
  const dropped = existing.filter((e) => !wanted.has(e.file));
  if (fresh.length === 0 && dropped.length === 0) return { read: 0, kept: kept.length, inserted: 0, deleted: 0, flipped: 0, changed: false, packages: countCandidates(db) };

  // The rows that stay: those of unchanged lists, and of changed lists the versions still in them.
  const priorityOf = new Map<number, number>();
  for (const l of kept) priorityOf.set(old.get(l.file)!.id, l.priority);
  for (const l of fresh) if (old.has(l.file)) priorityOf.set(old.get(l.file)!.id, l.priority);
  const ids = [...priorityOf.keys()];
  const rows =
    ids.length === 0
      ? []
      : (db
          .prepare(`SELECT id, list_id AS listId, name, version, architecture, candidate FROM packages WHERE list_id IN (${ids.map(() => "?").join(",")})`)
          .all(...ids) as { id: number; listId: number; name: string; version: string; architecture: string; candidate: number }[]);
  const key = (listId: number, name: string, version: string, architecture: string) => `${listId}\t${name}\t${version}\t${architecture}`;
  const byKey = new Map(rows.map((r) => [key(r.listId, r.name, r.version, r.architecture), r.id]));
  const keptIds = new Set(kept.map((l) => old.get(l.file)!.id));
  const staying = new Set<number>(rows.filter((r) => keptIds.has(r.listId)).map((r) => r.id));

  // Parsing happens outside the transaction, a list at a time, letting other work run between;
  // of a changed list only the versions it did not have are read in full.
  const parsed: { list: ImportList; listId: number | null; stanzas: PackageStanza[] }[] = [];
  for (const list of fresh) {
    const listId = old.get(list.file)?.id ?? null;
    const isNew =
      listId === null
        ? undefined
        : (name: string, version: string, architecture: string) => {
            const id = byKey.get(key(listId, name, version, architecture));
            if (id === undefined) return true;
            staying.add(id);
            return false;
          };
    const stanzas = list.stanzas
      ? isNew
        ? list.stanzas.filter((st) => isNew(st.name, st.version, st.architecture))
        : [...list.stanzas]
      : [...parsePackages(await readFile(list.path), isNew)];
    parsed.push({ list, listId, stanzas });
    await yieldToLoop();
  }
  const inserts = parsed.flatMap((p, listIndex) => p.stanzas.map((stanza) => ({ listIndex, stanza })));
  const gone = rows.filter((r) => !staying.has(r.id));

  // Each name's winner: an existing row (its id) or a stanza to insert.
  const best = new Candidates<number | PackageStanza>();
  for (const r of rows) if (staying.has(r.id)) best.offer(r.name, priorityOf.get(r.listId)!, r.version, r.id);
  for (const i of inserts) best.offer(i.stanza.name, parsed[i.listIndex]!.list.priority, i.stanza.version, i.stanza);

  const updateList = stmt(db, "UPDATE package_lists SET size = ?, mtime_ms = ?, priority = ? WHERE id = ?");
  const setCandidate = stmt(db, "UPDATE packages SET candidate = ? WHERE id = ?");
  const deletePackage = stmt(db, "DELETE FROM packages WHERE id = ?");
  const deleteList = stmt(db, "DELETE FROM package_lists WHERE id = ?");

  let flipped = 0;
  db.transaction(() => {
    for (const d of dropped) deleteList.run(d.id);
    for (const r of gone) deletePackage.run(r.id);
    for (const r of rows) {
      if (!staying.has(r.id)) continue;
      const wins = best.wins(r.name, r.id) ? 1 : 0;
      if (wins !== r.candidate) (setCandidate.run(wins, r.id), flipped++);
    }
    const before = stmt(db, LAST_ID).pluck().get() as number;
    const listIds = parsed.map((p) =>
      p.listId !== null
        ? (updateList.run(p.list.size, p.list.mtimeMs, p.list.priority, p.listId), p.listId)
        : Number(stmt(db, INSERT_LIST).run(p.list.file, p.list.uri, p.list.suite, p.list.component, p.list.size, p.list.mtimeMs, p.list.priority).lastInsertRowid),
    );
    for (const { listIndex, stanza: s } of inserts) insertStanza(db, listIds[listIndex]!, s, best.wins(s.name, s));
    stmt(db, INDEX_TEXT).run(before);
  })();
  return { read: fresh.length, kept: kept.length, inserted: inserts.length, deleted: gone.length, flipped, changed: true, packages: countCandidates(db) };
}

/** The index's biggest list (by its size when read), or null when it has none. */
export function biggestList(db: IndexDb): string | null {
  return (stmt(db, "SELECT file FROM package_lists ORDER BY size DESC LIMIT 1").pluck().get() as string | undefined) ?? null;
}

export function countCandidates(db: IndexDb): number {
  return (stmt(db, "SELECT count(*) AS n FROM packages WHERE candidate = 1").get() as { n: number }).n;
}

interface BuiltRow {
  id: number;
  name: string;
  version: string;
  provides: string | null;
}

/**
 * An index file written whole while apt downloads its lists (from nothing, or when the big
 * list changed): rows go in as each list's stanzas arrive (in the file's one open
 * transaction, with the file unjournaled and without its secondary indexes), and finish()
 * adds the lists not streamed, settles the candidates, builds the full-text index and the
 * indexes from their own definitions, commits and moves the file over the old one (whose
 * connections must be closed). Nothing of it is seen before that: abort() removes it.
 */
export class IndexBuild {
  private readonly db: IndexDb;
  private readonly temp: string;
  private readonly indexSql: string[];
  /** By list file name: its row id, where its rows came from, and its rows (what the candidates need of them). */
  private readonly lists = new Map<string, { id: number; source: string; rows: BuiltRow[] }>();
  /**
   * The candidates so far, as if every list had the same pin (a list's pin is known only once
   * apt has its Release in place): rows are written with that, and finish() corrects it when
   * the pins differ.
   */
  private readonly provisional = new Candidates<BuiltRow>();
  /** Why the build cannot be used (a write failed, a list came from two files). */
  private broken: string | null = null;

  constructor(readonly file: string) {
    this.temp = `${file}.new`;
    rmSync(this.temp, { force: true });
    this.db = create(this.temp);
    // A file nobody reads until it is whole: no journal, no syncs, no checks per row.
    this.db.pragma("journal_mode = OFF");
    this.db.pragma("synchronous = OFF");
    migrate(drizzle(this.db), { migrationsFolder: MIGRATIONS() });
    const indexes = this.db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as { name: string; sql: string }[];
    for (const i of indexes) this.db.exec(`DROP INDEX "${i.name}"`);
    this.indexSql = indexes.map((i) => i.sql);
    this.db.exec("BEGIN");
  }

  /** Adds stanzas of the list `file` read from `source` (apt's file as it was written). */
  add(source: string, file: string, stanzas: readonly PackageStanza[]): void {
    if (this.broken) return;
    try {
      let l = this.lists.get(file);
      if (!l) {
        // Its details (where from, size, pin) are set by finish().
        const id = Number(stmt(this.db, INSERT_LIST).run(file, "", "", "", 0, 0, 0).lastInsertRowid);
        this.lists.set(file, (l = { id, source, rows: [] }));
      } else if (l.source !== source) {
        this.broken = `${file} was written twice`;
        return;
      }
      const unmark = stmt(this.db, "UPDATE packages SET candidate = 0 WHERE id = ?");
      // Only what the candidates need is kept of a stanza: its text is garbage once written.
      for (const s of stanzas) {
        const was = this.provisional.best.get(s.name);
        const row: BuiltRow = { id: 0, name: s.name, version: s.version, provides: s.provides };
        this.provisional.offer(s.name, 0, s.version, row);
        const wins = this.provisional.wins(s.name, row);
        if (wins && was) unmark.run(was.ref.id);
        row.id = insertStanza(this.db, l.id, s, wins);
        l.rows.push(row);
      }
    } catch (e) {
      this.broken = e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * Whether what was streamed is what apt kept: `verified` has, by list file name, the source
   * each list in place was read from whole (lists not streamed are read by finish()).
   */
  usable(verified: ReadonlyMap<string, string>): boolean {
    if (this.broken) return false;
    for (const [file, l] of this.lists) if (verified.get(file) !== l.source) return false;
    return true;
  }

  /**
   * Completes the index with apt's lists in place (each streamed one as usable() checked).
   * `beforeReplace` is called just before the file takes the old one's place, with no wait
   * between: the old file's connections are closed there, and none can open it again after.
   */
  async finish(lists: readonly ImportList[], beforeReplace: () => void): Promise<{ packages: number; candidates: { name: string; provides: string | null }[] }> {
    const wanted = new Set(lists.map((l) => l.file));
    for (const file of this.lists.keys()) if (!wanted.has(file)) throw new Error(`${file} is not among apt's lists`);
    for (const l of lists) {
      if (this.lists.has(l.file)) continue;
      this.add(l.path, l.file, l.stanzas ?? [...parsePackages(await readFile(l.path))]);
      await yieldToLoop();
    }
    if (this.broken) throw new Error(this.broken);
    const db = this.db;
    const setList = stmt(db, "UPDATE package_lists SET uri = ?, suite = ?, component = ?, size = ?, mtime_ms = ?, priority = ? WHERE id = ?");
    for (const l of lists) setList.run(l.uri, l.suite, l.component, l.size, l.mtimeMs, l.priority, this.lists.get(l.file)!.id);
    let winners = [...this.provisional.best.values()].map((b) => b.ref);
    if (new Set(lists.map((l) => l.priority)).size > 1) {
      // Pins differ (a NotAutomatic suite, backports): apt's candidates by pin, then version.
      const best = new Candidates<BuiltRow>();
      for (const l of lists) for (const r of this.lists.get(l.file)!.rows) best.offer(r.name, l.priority, r.version, r);
      const mark = stmt(db, "UPDATE packages SET candidate = ? WHERE id = ?");
      for (const [name, b] of best.best) {
        const was = this.provisional.best.get(name)!.ref;
        if (was.id !== b.ref.id) (mark.run(0, was.id), mark.run(1, b.ref.id));
      }
      winners = [...best.best.values()].map((b) => b.ref);
    }
    stmt(db, INDEX_TEXT).run(0);
    for (const sql of this.indexSql) db.exec(sql);
    db.exec("COMMIT");
    db.pragma("journal_mode = WAL");
    db.close();
    beforeReplace();
    // The old file's write-ahead log, if one was left, must not be read as the new file's.
    for (const f of [`${this.file}-wal`, `${this.file}-shm`]) rmSync(f, { force: true });
    renameSync(this.temp, this.file);
    return { packages: winners.length, candidates: winners };
  }

  abort(): void {
    if (this.db.open) this.db.close();
    rmSync(this.temp, { force: true });
  }
}

// --- queries -----------------------------------------------------------------------------------

export type PackageInfo = Pick<PackageStanza, "name" | "version" | "architecture" | "section" | "installedKib" | "downloadBytes" | "summary">;

export interface Provider {
  name: string;
  version: string;
}

export interface SearchHit {
  name: string;
  /** null for a virtual package. */
  version: string | null;
  architecture: string | null;
  section: string | null;
  installedKib: number | null;
  downloadBytes: number | null;
  summary: string;
  /** Why it is listed: the exact name, a name starting with the query, or its description. */
  match: "exact" | "prefix" | "description";
  /** A virtual package (a name only in other packages' Provides): the packages that provide it. */
  providers: Provider[] | null;
}

const INFO = "name, version, architecture, section, installed_kib AS installedKib, download_bytes AS downloadBytes, summary";

const hit = (p: PackageInfo, match: SearchHit["match"]): SearchHit => ({ ...p, match, providers: null });

function virtualHit(name: string, providers: Provider[], match: SearchHit["match"]): SearchHit {
  const shown = providers.slice(0, 5).map((p) => p.name).join(", ");
  return {
    name,
    version: null,
    architecture: null,
    section: null,
    installedKib: null,
    downloadBytes: null,
    summary: `virtual package, provided by ${shown}${providers.length > 5 ? ` and ${providers.length - 5} more` : ""}`,
    match,
    providers,
  };
}

export function providersOf(db: IndexDb, name: string): Provider[] {
  return stmt(
    db,
    `SELECT DISTINCT p.name, p.version FROM package_provides v JOIN packages p ON p.id = v.package_id
     WHERE v.name = ? AND p.candidate = 1 ORDER BY p.name`,
  ).all(name) as Provider[];
}

/** Index of the first element of a sorted array not below `key`. */
function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The `n` shortest names that start with `prefix` (the name itself excluded), from a sorted array. */
export function shortestWithPrefix(sorted: readonly string[], prefix: string, n: number): string[] {
  const best: string[] = [];
  for (let i = lowerBound(sorted, prefix); i < sorted.length && sorted[i]!.startsWith(prefix); i++) {
    const s = sorted[i]!;
    if (s === prefix) continue;
    // Kept sorted by length (then name, as they come in order): insert, drop the longest.
    if (best.length === n && s.length >= best[n - 1]!.length) continue;
    let j = best.length;
    while (j > 0 && best[j - 1]!.length > s.length) j--;
    best.splice(j, 0, s);
    if (best.length > n) best.pop();
  }
  return best;
}

/** FTS5 query: each word of the text as a prefix, all of them required. */
export function ftsQuery(text: string): string | null {
  const words = text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  if (words.length === 0) return null;
  return words.map((w) => `"${w}"*`).join(" ");
}

/**
 * Search as you type: the exact name first (or the virtual package of that name, with what
 * provides it), then names starting with the text (shortest first), then packages whose
 * name, summary or description hold its words.
 */
export function searchIndex(db: IndexDb, names: IndexNames, text: string, limit = 20): SearchHit[] {
  const q = text.trim().toLowerCase();
  if (q === "") return [];
  const hits: SearchHit[] = [];
  const seen = new Set<string>();
  const push = (h: SearchHit) => {
    if (seen.has(h.name) || hits.length >= limit) return;
    seen.add(h.name);
    hits.push(h);
  };
  const nameLike = /^[a-z0-9][a-z0-9+.-]*$/.test(q);
  if (nameLike) {
    const exact = stmt(db, `SELECT ${INFO} FROM packages WHERE candidate = 1 AND name = ?`).get(q) as PackageInfo | undefined;
    if (exact) push(hit(exact, "exact"));
    else if (names.virtual.has(q)) push(virtualHit(q, providersOf(db, q), "exact"));
    // Names starting with the text, shortest first, from the sorted names in memory: "l" alone
    // starts some 20,000 of them, too many to sort in SQL on every key press.
    const shortest = [...shortestWithPrefix(names.sortedReal, q, limit), ...shortestWithPrefix(names.sortedVirtual, q, 5)]
      .sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    const one = stmt(db, `SELECT ${INFO} FROM packages WHERE candidate = 1 AND name = ?`);
    for (const n of shortest) {
      if (seen.has(n) || hits.length >= limit) continue;
      if (names.real.has(n)) push(hit(one.get(n) as PackageInfo, "prefix"));
      else push(virtualHit(n, providersOf(db, n), "prefix"));
    }
  }
  // Words in descriptions: not for one or two letters, which match most of the archive.
  const fts = ftsQuery(q);
  if (fts && hits.length < limit && q.replace(/[^a-z0-9]/g, "").length >= 3) {
    const rows = stmt(
      db,
      `SELECT p.name, p.version, p.architecture, p.section, p.installed_kib AS installedKib, p.download_bytes AS downloadBytes, p.summary
       FROM (SELECT rowid, bm25(packages_fts, 10.0, 4.0, 1.0) AS score FROM packages_fts WHERE packages_fts MATCH ? ORDER BY score LIMIT 200) f
       JOIN packages p ON p.id = f.rowid WHERE p.candidate = 1 ORDER BY f.score LIMIT ?`,
    ).all(fts, limit + seen.size) as PackageInfo[];
    for (const r of rows) push(hit(r, "description"));
  }
  return hits;
}

/** The installable version of each name (apt's candidate), for those the index has. */
export function candidates(db: IndexDb, names: readonly string[]): Map<string, PackageInfo> {
  const out = new Map<string, PackageInfo>();
  const one = stmt(db, `SELECT ${INFO} FROM packages WHERE candidate = 1 AND name = ?`);
  for (const n of new Set(names)) {
    const r = one.get(n) as PackageInfo | undefined;
    if (r) out.set(n, r);
  }
  return out;
}

/** Installed-Size of each name at exactly the version asked, from any list of the index (candidate or not: the IN lets the name index serve). */
export function sizesOf(db: IndexDb, packages: readonly { name: string; version: string }[]): Map<string, number> {
  const out = new Map<string, number>();
  const one = stmt(db, "SELECT installed_kib FROM packages WHERE candidate IN (0, 1) AND name = ? AND version = ? LIMIT 1").pluck();
  for (const p of packages) {
    const kib = one.get(p.name, p.version) as number | null | undefined;
    if (typeof kib === "number") out.set(`${p.name}=${p.version}`, kib);
  }
  return out;
}

export interface IndexNames {
  /** Installable names. */
  real: Set<string>;
  /** Names only provided, with their providers' names. */
  virtual: Map<string, string[]>;
  /** Both, sorted (for prefix search). */
  sortedReal: string[];
  sortedVirtual: string[];
}

/** Every name of the index, for the checks and "did you mean" (kept in memory by the service), from its candidates. */
export function namesFrom(candidates: Iterable<{ name: string; provides: string | null }>): IndexNames {
  const all = [...candidates];
  const real = new Set(all.map((c) => c.name));
  const virtual = new Map<string, string[]>();
  for (const c of all)
    for (const v of new Set(providedNames(c.provides))) {
      if (real.has(v)) continue;
      const list = virtual.get(v);
      if (list) list.push(c.name);
      else virtual.set(v, [c.name]);
    }
  // The default order is by UTF-16 code units, as `<` compares (and quicker than a comparator).
  return { real, virtual, sortedReal: [...real].sort(), sortedVirtual: [...virtual.keys()].sort() };
}

export function indexNames(db: IndexDb): IndexNames {
  return namesFrom(stmt(db, "SELECT name, provides FROM packages WHERE candidate = 1").all() as { name: string; provides: string | null }[]);
}

/** The lists of an index where a name is installable (its candidate's), for "only X has it". */
export function listsHaving(db: IndexDb, name: string): { uri: string; suite: string; component: string }[] {
  return stmt(
    db,
    `SELECT DISTINCT l.uri, l.suite, l.component FROM packages p JOIN package_lists l ON l.id = p.list_id
     WHERE p.candidate = 1 AND p.name = ? ORDER BY l.uri, l.suite`,
  ).all(name) as { uri: string; suite: string; component: string }[];
}
