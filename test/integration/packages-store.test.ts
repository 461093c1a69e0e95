// Reading Packages lists into a real index file (no network: the lists are written here): apt's
// candidate by pin and version, an unchanged list left alone, a changed one diffed (versions
// that stay keep their rows, the full-text index follows), a list gone, and search on it all;
// and an index written from nothing as its lists stream in, the same as one imported.
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePackages } from "@/server/packages/control";
import { importLists, IndexBuild, indexNames, namesFrom, openIndex, searchIndex, type ImportList, type IndexDb } from "@/server/packages/store";

let dir: string;
let db: IndexDb;

const stanza = (name: string, version: string, summary: string, extra = "") =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nInstalled-Size: 10\nDescription: ${summary}\n long words about ${name}\n${extra}`;

async function list(file: string, stanzas: string[], priority = 500, suite = "bookworm"): Promise<ImportList> {
  const path = join(dir, file);
  await writeFile(path, stanzas.join("\n"));
  const st = await stat(path);
  return { file, path, uri: "http://m.example.invalid/debian", suite, component: "main", size: st.size, mtimeMs: Math.trunc(st.mtimeMs), priority };
}

const rowsOf = (name: string, from = db) =>
  from.prepare("SELECT id, version, candidate FROM packages WHERE name = ? ORDER BY version").all(name) as { id: number; version: string; candidate: number }[];
const search = (q: string, from = db) => searchIndex(from, indexNames(from), q).map((h) => `${h.name}@${h.version ?? "virtual"}:${h.match}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "packages-store-"));
  db = openIndex(join(dir, "index.sqlite"));
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe("importLists", () => {
  let main: ImportList;
  let backports: ImportList;

  it("reads new lists; the candidate is the highest pin, then the highest version", async () => {
    main = await list("main_Packages", [
      stanza("alpha", "1.0-1", "first letter tool"),
      stanza("beta", "2.0-1", "second letter daemon", "Provides: letter-daemon\n"),
      stanza("gamma", "3.0-1", "third letter library"),
    ]);
    backports = await list("backports_Packages", [stanza("alpha", "1.5-1~bpo12+1", "first letter tool, newer"), stanza("delta", "4.0-1", "fourth letter, backports only")], 1, "bookworm-backports");
    const r = await importLists(db, [main, backports]);
    expect(r).toMatchObject({ read: 2, kept: 0, inserted: 5, deleted: 0, changed: true, packages: 4 });
    expect(rowsOf("alpha").map((x) => [x.version, x.candidate])).toEqual([["1.0-1", 1], ["1.5-1~bpo12+1", 0]]);
    expect(rowsOf("delta")[0]!.candidate).toBe(1); // the only one, however low its pin
    expect(search("alpha")[0]).toBe("alpha@1.0-1:exact");
    expect(search("letter-daemon")).toEqual(["letter-daemon@virtual:exact", "beta@2.0-1:description"]);
  });

  it("leaves unchanged lists alone", async () => {
    expect(await importLists(db, [main, backports])).toMatchObject({ read: 0, kept: 2, changed: false, packages: 4 });
  });

  it("diffs a changed list: versions that stay keep their rows, new ones come in, gone ones leave the full-text index too", async () => {
    const beta = rowsOf("beta")[0]!.id;
    const gamma = rowsOf("gamma")[0]!.id;
    main = await list("main_Packages", [
      stanza("alpha", "2.0-1", "first letter tool, upgraded"),
      stanza("beta", "2.0-1", "second letter daemon", "Provides: letter-daemon\n"),
      stanza("epsilon", "5.0-1", "fifth letter quokka"),
    ]);
    // Same size is possible: the time tells it changed.
    await utimes(main.path, new Date(), new Date(Date.now() + 5_000));
    main = { ...main, mtimeMs: Math.trunc((await stat(main.path)).mtimeMs) };
    const r = await importLists(db, [main, backports]);
    expect(r).toMatchObject({ read: 1, kept: 1, inserted: 2, deleted: 2, packages: 4 });
    expect(rowsOf("beta")[0]!.id).toBe(beta);
    expect(rowsOf("gamma")).toEqual([]);
    expect(db.prepare("SELECT count(*) FROM packages_fts WHERE packages_fts MATCH 'library'").pluck().get()).toBe(0);
    expect(gamma).toBeGreaterThan(0);
    expect(search("quokka")).toEqual(["epsilon@5.0-1:description"]);
    // The upgrade outranks the backport now by version and pin alike.
    expect(rowsOf("alpha").map((x) => [x.version, x.candidate])).toEqual([["1.5-1~bpo12+1", 0], ["2.0-1", 1]]);
  });

  it("rewrites no row for a list whose time moved with the same packages in it, and flips candidates when a pin moved", async () => {
    await utimes(main.path, new Date(), new Date(Date.now() + 10_000));
    main = { ...main, mtimeMs: Math.trunc((await stat(main.path)).mtimeMs) };
    expect(await importLists(db, [main, backports])).toMatchObject({ read: 1, kept: 1, inserted: 0, deleted: 0, flipped: 0, changed: true, packages: 4 });
    // The backport pinned above main: its older alpha becomes the candidate.
    const pinned = { ...backports, priority: 990 };
    expect(await importLists(db, [main, pinned])).toMatchObject({ read: 1, inserted: 0, deleted: 0, flipped: 2, packages: 4 });
    expect(rowsOf("alpha").map((x) => [x.version, x.candidate])).toEqual([["1.5-1~bpo12+1", 1], ["2.0-1", 0]]);
    expect(await importLists(db, [main, backports])).toMatchObject({ flipped: 2 });
  });

  it("drops the rows of a list that is gone", async () => {
    const r = await importLists(db, [main]);
    expect(r).toMatchObject({ read: 0, kept: 1, changed: true, packages: 3 });
    expect(rowsOf("delta")).toEqual([]);
    expect(search("fourth")).toEqual([]);
    expect(db.prepare("SELECT count(*) FROM package_lists").pluck().get()).toBe(1);
  });
});

describe("IndexBuild", () => {
  const lists = async () => [
    await list("s_main_Packages", [
      stanza("alpha", "1.0-1", "first letter tool"),
      stanza("beta", "2.0-1", "second letter daemon", "Provides: letter-daemon, mail-transport-agent\n"),
      stanza("gamma", "3.0-1", "third letter library", "Provides: mail-transport-agent\n"),
    ]),
    await list("s_security_Packages", [stanza("alpha", "1.0-1+deb12u1", "first letter tool, fixed")], 500, "bookworm-security"),
    await list("s_backports_Packages", [stanza("alpha", "9.0-1~bpo12+1", "first letter tool, newest"), stanza("delta", "4.0-1", "fourth letter")], 1, "bookworm-backports"),
  ];
  const stanzasOf = async (l: ImportList) => [...parsePackages(await readFile(l.path))];

  it("writes an index from lists streamed in pieces and read at the end, the same as an import of them", async () => {
    const [main, security, backports] = await lists();
    const file = join(dir, "built.sqlite");
    const build = new IndexBuild(file);
    const all = await stanzasOf(main!);
    // The big list in two batches, as its file is read while apt writes it; the others not streamed.
    build.add("s_main_Packages.AbC123", main!.file, all.slice(0, 1));
    build.add("s_main_Packages.AbC123", main!.file, all.slice(1));
    expect(existsSync(file)).toBe(false);
    expect(build.usable(new Map([[main!.file, "s_main_Packages.AbC123"]]))).toBe(true);
    const built = await build.finish([main!, security!, backports!], () => undefined);
    expect(existsSync(`${file}.new`)).toBe(false);
    expect(built.packages).toBe(4);

    const b = openIndex(file);
    const imported = openIndex(join(dir, "imported.sqlite"));
    try {
      await importLists(imported, [main!, security!, backports!]);
      const dump = (x: IndexDb) =>
        x.prepare("SELECT l.file, p.name, p.version, p.summary, p.candidate, p.provides FROM packages p JOIN package_lists l ON l.id = p.list_id ORDER BY 1, 2, 3").all();
      expect(dump(b)).toEqual(dump(imported));
      const lists = (x: IndexDb) => x.prepare("SELECT file, uri, suite, component, size, mtime_ms, priority FROM package_lists ORDER BY file").all();
      expect(lists(b)).toEqual(lists(imported));
      // The security fix wins over main by version, the backport loses by its pin.
      expect(rowsOf("alpha", b).filter((r) => r.candidate).map((r) => r.version)).toEqual(["1.0-1+deb12u1"]);
      expect(search("letter-daemon", b)).toEqual(search("letter-daemon", imported));
      expect(search("fourth", b)).toEqual(["delta@4.0-1:description"]);
      // The names the build hands back are those read from the file.
      const names = namesFrom(built.candidates);
      expect(names).toEqual(indexNames(b));
      expect(names.virtual.get("mail-transport-agent")?.sort()).toEqual(["beta", "gamma"]);
      // Its secondary indexes are back, from their own definitions.
      const indexes = (x: IndexDb) => x.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").all();
      expect(indexes(b)).toEqual(indexes(imported));
      expect(b.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      b.close();
      imported.close();
    }
  });

  it("replaces an index file that exists, its connection closed just before (read until then)", async () => {
    const [main, security] = await lists();
    const file = join(dir, "replaced.sqlite");
    const old = openIndex(file);
    await importLists(old, [main!]);
    const before = statSync(file).ino;
    const build = new IndexBuild(file);
    build.add("s_security_Packages.AbC123", security!.file, await stanzasOf(security!));
    const seen: { ino: number; search: string[] }[] = [];
    await build.finish([main!, security!], () => {
      // The old file is still the one in place, and still answers, when it is to be closed.
      seen.push({ ino: statSync(file).ino, search: search("fixed", old) });
      old.close();
    });
    expect(seen).toEqual([{ ino: before, search: [] }]);
    expect(statSync(file).ino).not.toBe(before);
    const now = openIndex(file);
    try {
      expect(search("fixed", now)).toEqual(["alpha@1.0-1+deb12u1:description"]);
      expect(rowsOf("beta", now)).toHaveLength(1);
      expect(now.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      now.close();
    }
  });

  it("is not usable when a streamed list is not the file apt kept, and abort leaves nothing", async () => {
    const [main] = await lists();
    const file = join(dir, "unused.sqlite");
    const build = new IndexBuild(file);
    build.add("s_main_Packages.AbC123", main!.file, await stanzasOf(main!));
    expect(build.usable(new Map())).toBe(false);
    expect(build.usable(new Map([[main!.file, "s_main_Packages.ZzZ999"]]))).toBe(false);
    // A second temporary file of the same list (apt tried again): never both.
    build.add("s_main_Packages.ZzZ999", main!.file, await stanzasOf(main!));
    expect(build.usable(new Map([[main!.file, "s_main_Packages.AbC123"]]))).toBe(false);
    build.abort();
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.new`)).toBe(false);
  });

  it("refuses to finish with a streamed list apt does not have in place", async () => {
    const [main, security] = await lists();
    const build = new IndexBuild(join(dir, "stray.sqlite"));
    build.add("s_security_Packages.AbC123", security!.file, await stanzasOf(security!));
    await expect(build.finish([main!], () => undefined)).rejects.toThrow(/s_security_Packages is not among apt's lists/);
    build.abort();
    expect(existsSync(join(dir, "stray.sqlite"))).toBe(false);
  });
});
