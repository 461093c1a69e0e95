// The package index in SQLite: apt's Packages lists read into the packages tables (only the
// lists that changed since the last refresh), and the queries on them: search as you type,
// names and providers for the checks, sizes for the manifest.
import type { Database, Statement } from "better-sqlite3";
import { readFile } from "node:fs/promises";
import type { Db } from "@/server/db/client";
import { compareVersions, parsePackages, providedNames, type PackageStanza } from "./control";
import type { ListFile } from "./apt";

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
  /** Whether anything was written (else the index is as it was). */
  changed: boolean;
  /** Installable packages (one per name) in the index now. */
  packages: number;
}

// Statements prepared once per connection: search answers in well under a millisecond of SQL.
const cache = new WeakMap<Database, Map<string, Statement>>();
function stmt(db: Db, sql: string): Statement {
  const c = db.$client;
  let m = cache.get(c);
  if (!m) cache.set(c, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = c.prepare(sql)));
  return s;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

interface Contender {
  priority: number;
  version: string;
  /** Existing row id, or the parsed stanza. */
  ref: number | PackageStanza;
}

/**
 * Brings the index's rows in line with apt's lists. A list unchanged since the last refresh
 * (same size, time and pin) keeps its rows without being read; a changed one is read and only
 * its new package versions are inserted and its gone ones deleted (a point release changes a
 * few hundred of 63,000), so the full-text index is rebuilt only for what changed. The writes
 * are one transaction: a search never sees half an index.
 */
export async function importLists(db: Db, indexId: number, lists: readonly ImportList[]): Promise<ImportResult> {
  const existing = stmt(db, "SELECT id, file, size, mtime_ms AS mtimeMs, priority FROM package_lists WHERE index_id = ?").all(indexId) as {
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
  if (fresh.length === 0 && dropped.length === 0) return { read: 0, kept: kept.length, inserted: 0, deleted: 0, changed: false, packages: countCandidates(db, indexId) };

  // The rows that stay: those of unchanged lists, and of changed lists the versions still in them.
  const priorityOf = new Map<number, number>();
  for (const l of kept) priorityOf.set(old.get(l.file)!.id, l.priority);
  for (const l of fresh) if (old.has(l.file)) priorityOf.set(old.get(l.file)!.id, l.priority);
  const ids = [...priorityOf.keys()];
  const rows =
    ids.length === 0
      ? []
      : (db.$client
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

  // apt's candidate of each name: the highest pin, then the highest version.
  const best = new Map<string, Contender>();
  const offer = (name: string, c: Contender) => {
    const b = best.get(name);
    if (!b || c.priority > b.priority || (c.priority === b.priority && compareVersions(c.version, b.version) > 0)) best.set(name, c);
  };
  for (const r of rows) if (staying.has(r.id)) offer(r.name, { priority: priorityOf.get(r.listId)!, version: r.version, ref: r.id });
  for (const i of inserts) offer(i.stanza.name, { priority: parsed[i.listIndex]!.list.priority, version: i.stanza.version, ref: i.stanza });

  const insertList = stmt(db, "INSERT INTO package_lists (index_id, file, uri, suite, component, size, mtime_ms, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const updateList = stmt(db, "UPDATE package_lists SET size = ?, mtime_ms = ?, priority = ? WHERE id = ?");
  const insertPackage = stmt(
    db,
    `INSERT INTO packages (index_id, list_id, name, version, architecture, section, installed_kib, download_bytes, summary, description,
       provides, depends, pre_depends, recommends, source, essential, candidate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertProvides = stmt(db, "INSERT INTO package_provides (index_id, package_id, name) VALUES (?, ?, ?)");
  const setCandidate = stmt(db, "UPDATE packages SET candidate = ? WHERE id = ?");
  const deletePackage = stmt(db, "DELETE FROM packages WHERE id = ?");
  const deleteList = stmt(db, "DELETE FROM package_lists WHERE id = ?");

  const lastId = stmt(db, "SELECT coalesce(max(id), 0) FROM packages").pluck();
  const indexText = stmt(db, "INSERT INTO packages_fts (rowid, name, summary, description) SELECT id, name, summary, description FROM packages WHERE id > ?");

  db.$client.transaction(() => {
    for (const d of dropped) deleteList.run(d.id);
    for (const r of gone) deletePackage.run(r.id);
    for (const r of rows) {
      if (!staying.has(r.id)) continue;
      const wins = best.get(r.name)?.ref === r.id ? 1 : 0;
      if (wins !== r.candidate) setCandidate.run(wins, r.id);
    }
    const before = lastId.get() as number;
    const listIds = parsed.map((p) =>
      p.listId !== null
        ? (updateList.run(p.list.size, p.list.mtimeMs, p.list.priority, p.listId), p.listId)
        : Number(insertList.run(indexId, p.list.file, p.list.uri, p.list.suite, p.list.component, p.list.size, p.list.mtimeMs, p.list.priority).lastInsertRowid),
    );
    for (const { listIndex, stanza: s } of inserts) {
      const id = Number(
        insertPackage.run(
          indexId, listIds[listIndex], s.name, s.version, s.architecture, s.section, s.installedKib, s.downloadBytes, s.summary, s.description,
          s.provides, s.depends, s.preDepends, s.recommends, s.source, s.essential ? 1 : 0, best.get(s.name)?.ref === s ? 1 : 0,
        ).lastInsertRowid,
      );
      for (const p of providedNames(s.provides)) insertProvides.run(indexId, id, p);
    }
    // New rows get ids above every earlier one (AUTOINCREMENT): their text in one statement.
    indexText.run(before);
  })();
  return { read: fresh.length, kept: kept.length, inserted: inserts.length, deleted: gone.length, changed: true, packages: countCandidates(db, indexId) };
}

export function countCandidates(db: Db, indexId: number): number {
  return (stmt(db, "SELECT count(*) AS n FROM packages WHERE index_id = ? AND candidate = 1").get(indexId) as { n: number }).n;
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

export function providersOf(db: Db, indexId: number, name: string): Provider[] {
  return stmt(
    db,
    `SELECT DISTINCT p.name, p.version FROM package_provides v JOIN packages p ON p.id = v.package_id
     WHERE v.index_id = ? AND v.name = ? AND p.candidate = 1 ORDER BY p.name`,
  ).all(indexId, name) as Provider[];
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
export function searchIndex(db: Db, indexId: number, names: IndexNames, text: string, limit = 20): SearchHit[] {
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
    const exact = stmt(db, `SELECT ${INFO} FROM packages WHERE index_id = ? AND candidate = 1 AND name = ?`).get(indexId, q) as PackageInfo | undefined;
    if (exact) push(hit(exact, "exact"));
    else if (names.virtual.has(q)) push(virtualHit(q, providersOf(db, indexId, q), "exact"));
    // Names starting with the text, shortest first, from the sorted names in memory: "l" alone
    // starts some 20,000 of them, too many to sort in SQL on every key press.
    const shortest = [...shortestWithPrefix(names.sortedReal, q, limit), ...shortestWithPrefix(names.sortedVirtual, q, 5)]
      .sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    const one = stmt(db, `SELECT ${INFO} FROM packages WHERE index_id = ? AND candidate = 1 AND name = ?`);
    for (const n of shortest) {
      if (seen.has(n) || hits.length >= limit) continue;
      if (names.real.has(n)) push(hit(one.get(indexId, n) as PackageInfo, "prefix"));
      else push(virtualHit(n, providersOf(db, indexId, n), "prefix"));
    }
  }
  // Words in descriptions: not for one or two letters, which match most of the archive.
  const fts = ftsQuery(q);
  if (fts && hits.length < limit && q.replace(/[^a-z0-9]/g, "").length >= 3) {
    const rows = stmt(
      db,
      `SELECT p.name, p.version, p.architecture, p.section, p.installed_kib AS installedKib, p.download_bytes AS downloadBytes, p.summary
       FROM (SELECT rowid, bm25(packages_fts, 10.0, 4.0, 1.0) AS score FROM packages_fts WHERE packages_fts MATCH ? ORDER BY score LIMIT 200) f
       JOIN packages p ON p.id = f.rowid WHERE p.index_id = ? AND p.candidate = 1 ORDER BY f.score LIMIT ?`,
    ).all(fts, indexId, limit + seen.size) as PackageInfo[];
    for (const r of rows) push(hit(r, "description"));
  }
  return hits;
}

/** The installable version of each name (apt's candidate), for those the index has. */
export function candidates(db: Db, indexId: number, names: readonly string[]): Map<string, PackageInfo> {
  const out = new Map<string, PackageInfo>();
  const one = stmt(db, `SELECT ${INFO} FROM packages WHERE index_id = ? AND candidate = 1 AND name = ?`);
  for (const n of new Set(names)) {
    const r = one.get(indexId, n) as PackageInfo | undefined;
    if (r) out.set(n, r);
  }
  return out;
}

/** Installed-Size of each name at exactly the version asked, from any list of the index. */
export function sizesOf(db: Db, indexId: number, packages: readonly { name: string; version: string }[]): Map<string, number> {
  const out = new Map<string, number>();
  const one = stmt(db, "SELECT installed_kib FROM packages WHERE index_id = ? AND name = ? AND version = ? LIMIT 1").pluck();
  for (const p of packages) {
    const kib = one.get(indexId, p.name, p.version) as number | null | undefined;
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

/** Every name of the index, for the checks and "did you mean" (kept in memory by the service). */
export function indexNames(db: Db, indexId: number): IndexNames {
  const real = new Set(stmt(db, "SELECT name FROM packages WHERE index_id = ? AND candidate = 1").pluck().all(indexId) as string[]);
  const virtual = new Map<string, string[]>();
  const rows = stmt(
    db,
    "SELECT DISTINCT v.name AS name, p.name AS provider FROM package_provides v JOIN packages p ON p.id = v.package_id WHERE v.index_id = ? AND p.candidate = 1",
  ).all(indexId) as { name: string; provider: string }[];
  for (const r of rows) {
    if (real.has(r.name)) continue;
    const list = virtual.get(r.name);
    if (list) list.push(r.provider);
    else virtual.set(r.name, [r.provider]);
  }
  const sort = (xs: Iterable<string>) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { real, virtual, sortedReal: sort(real), sortedVirtual: sort(virtual.keys()) };
}

/** Where else (other indexes than `indexId`) a name is installable: each list's source. */
export function elsewhere(db: Db, indexId: number, name: string): { uri: string; suite: string; component: string }[] {
  return stmt(
    db,
    `SELECT DISTINCT l.uri, l.suite, l.component FROM packages p JOIN package_lists l ON l.id = p.list_id
     WHERE p.name = ? AND p.index_id != ? ORDER BY l.uri, l.suite LIMIT 5`,
  ).all(name, indexId) as { uri: string; suite: string; component: string }[];
}
