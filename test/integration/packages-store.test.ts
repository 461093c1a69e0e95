// Reading Packages lists into a real SQLite file (no network: the lists are written here): apt's
// candidate by pin and version, an unchanged list left alone, a changed one diffed (versions
// that stay keep their rows, the full-text index follows), a list gone, and search on it all.
import { mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "@/server/db/client";
import { importLists, indexNames, searchIndex, type ImportList } from "@/server/packages/store";

let dir: string;
let db: Db;
const INDEX = 1;

const stanza = (name: string, version: string, summary: string, extra = "") =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nInstalled-Size: 10\nDescription: ${summary}\n long words about ${name}\n${extra}`;

async function list(file: string, stanzas: string[], priority = 500, suite = "bookworm"): Promise<ImportList> {
  const path = join(dir, file);
  await writeFile(path, stanzas.join("\n"));
  const st = await stat(path);
  return { file, path, uri: "http://m.example.invalid/debian", suite, component: "main", size: st.size, mtimeMs: Math.trunc(st.mtimeMs), priority };
}

const rowsOf = (name: string) =>
  db.$client.prepare("SELECT id, version, candidate FROM packages WHERE index_id = ? AND name = ? ORDER BY version").all(INDEX, name) as { id: number; version: string; candidate: number }[];
const search = (q: string) => searchIndex(db, INDEX, indexNames(db, INDEX), q).map((h) => `${h.name}@${h.version ?? "virtual"}:${h.match}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "packages-store-"));
  db = openDatabase(join(dir, "image-studio.sqlite"));
  db.$client.prepare("INSERT INTO package_indexes (id, key, sources, architecture) VALUES (?, 'k', '[]', 'amd64')").run(INDEX);
});
afterAll(async () => {
  db.$client.close();
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
    const r = await importLists(db, INDEX, [main, backports]);
    expect(r).toMatchObject({ read: 2, kept: 0, inserted: 5, deleted: 0, changed: true, packages: 4 });
    expect(rowsOf("alpha").map((x) => [x.version, x.candidate])).toEqual([["1.0-1", 1], ["1.5-1~bpo12+1", 0]]);
    expect(rowsOf("delta")[0]!.candidate).toBe(1); // the only one, however low its pin
    expect(search("alpha")[0]).toBe("alpha@1.0-1:exact");
    expect(search("letter-daemon")).toEqual(["letter-daemon@virtual:exact", "beta@2.0-1:description"]);
  });

  it("leaves unchanged lists alone", async () => {
    expect(await importLists(db, INDEX, [main, backports])).toMatchObject({ read: 0, kept: 2, changed: false, packages: 4 });
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
    const r = await importLists(db, INDEX, [main, backports]);
    expect(r).toMatchObject({ read: 1, kept: 1, inserted: 2, deleted: 2, packages: 4 });
    expect(rowsOf("beta")[0]!.id).toBe(beta);
    expect(rowsOf("gamma")).toEqual([]);
    expect(db.$client.prepare("SELECT count(*) FROM packages_fts WHERE packages_fts MATCH 'library'").pluck().get()).toBe(0);
    expect(gamma).toBeGreaterThan(0);
    expect(search("quokka")).toEqual(["epsilon@5.0-1:description"]);
    // The upgrade outranks the backport now by version and pin alike.
    expect(rowsOf("alpha").map((x) => [x.version, x.candidate])).toEqual([["1.5-1~bpo12+1", 0], ["2.0-1", 1]]);
  });

  it("drops the rows of a list that is gone", async () => {
    const r = await importLists(db, INDEX, [main]);
    expect(r).toMatchObject({ read: 0, kept: 1, changed: true, packages: 3 });
    expect(rowsOf("delta")).toEqual([]);
    expect(search("fourth")).toEqual([]);
    expect(db.$client.prepare("SELECT count(*) FROM package_lists").pluck().get()).toBe(1);
  });
});
