// The profiles API through tRPC's server-side caller and through its fetch adapter (the HTTP
// responses curl users see), against a real SQLite file brought up by the real migrator.
import { TRPCError } from "@trpc/server";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Db } from "@/server/db/client";
import { AppError } from "@/server/errors";
import { PRESETS, type HostFacts } from "@/server/mkosi/presets";
import { emptyDocument, type ProfileDocument } from "@/server/mkosi/profile";
import { validateDocument, type Problem } from "@/server/mkosi/validate";
import { createCaller } from "@/server/routers";
import { buildQueue, closeBuildQueue } from "@/server/builds/queue";
import { needsSigningKey } from "@/server/mkosi/verity";
import { serveApp } from "@/test/support/app-server";
import { failure } from "@/test/support/errors";

const HOST: HostFacts = {
  osId: "debian",
  aptRepositories: [
    { uri: "http://mirror.example.invalid/debian", suites: ["bookworm", "bookworm-updates", "bookworm-backports"], components: ["main"] },
    { uri: "http://security.example.invalid/debian-security", suites: ["bookworm-security"], components: ["main"] },
  ],
};
const host = () => HOST;

let dir: string;
let file: string;
let db: Db;
let api: ReturnType<typeof createCaller>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "profiles-api-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
beforeEach(() => {
  const dataDir = join(dir, `db-${n++}`);
  file = join(dataDir, "image-studio.sqlite");
  db = openDatabase(file);
  // Its data folder (a preset that signs gets a key in its key store), not ./data.
  buildQueue(db, { dataDir });
  api = createCaller({ db, host });
});
afterEach(async () => {
  await closeBuildQueue(db);
  if (db.$client.open) db.$client.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The error a call rejects with, as a TRPCError. */
const problemsOf = (e: TRPCError): Problem[] => (AppError.is(e.cause) ? e.cause.problems : []);

const debianPreset = () => PRESETS.find((p) => p.id === "immutable-debian-12")!;

/** Calls the API over HTTP through the server's own request handler, with the token. */
async function http(method: "GET" | "POST", procedure: string, input: unknown): Promise<{ status: number; body: any }> {
  const app = await serveApp(db, dir);
  try {
    const q = method === "GET" ? `?input=${encodeURIComponent(JSON.stringify(input))}` : "";
    const res = await app.api.fetch(`/api/trpc/${procedure}${q}`, method === "POST" ? { method, body: JSON.stringify(input), headers: { "content-type": "application/json" } } : {});
    return { status: res.status, body: await res.json() };
  } finally {
    await app.close();
  }
}

describe("presets", () => {
  it("lists every preset with its name and description", async () => {
    expect(await api.presets.list()).toEqual(PRESETS.map(({ id, name, description }) => ({ id, name, description })));
  });
});

describe("creating and listing", () => {
  it("creates a blank profile", async () => {
    const row = await api.profiles.create({ name: "Blank" });
    expect(row).toMatchObject({ name: "Blank", revision: 1, document: emptyDocument() });
    expect(row.id).toBeGreaterThan(0);
    expect(row.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(row.updatedAt).toBe(row.createdAt);
    expect(await api.profiles.get({ id: row.id })).toEqual(row);
  });

  it.each(PRESETS.map((p) => [p.id, p] as const))("creates a profile from the %s preset (with a key of its own when it signs)", async (id, preset) => {
    const row = await api.profiles.create({ name: `From ${id}`, presetId: id });
    const want = needsSigningKey(preset.build(HOST)) ? { ...preset.build(HOST), signingKey: `from-${id}`.replace(/[^a-z0-9]+/g, "-") } : preset.build(HOST);
    expect(row.document).toEqual(want);
    expect(validateDocument(row.document).ok).toBe(true);
    expect((await api.profiles.get({ id: row.id })).document).toEqual(want);
  });

  it("refuses an unknown preset, a taken name and an empty name, naming the field", async () => {
    await api.profiles.create({ name: "Taken" });
    const unknown = await failure(api.profiles.create({ name: "X", presetId: "nope" }));
    expect(unknown.code).toBe("BAD_REQUEST");
    expect(problemsOf(unknown)).toEqual([{ path: ["presetId"], message: expect.stringContaining("nope") }]);
    const taken = await failure(api.profiles.create({ name: "Taken" }));
    expect(taken.code).toBe("CONFLICT");
    expect(problemsOf(taken)).toEqual([{ path: ["name"], message: expect.stringContaining("'Taken' already exists") }]);
    const empty = await failure(api.profiles.create({ name: "   " }));
    expect(empty.code).toBe("BAD_REQUEST");
    expect(problemsOf(empty).map((p) => p.path)).toEqual([["name"]]);
    expect((await api.profiles.list()).map((p) => p.name)).toEqual(["Taken"]);
  });

  it("trims names", async () => {
    expect((await api.profiles.create({ name: "  Spaced  " })).name).toBe("Spaced");
  });

  it("lists profiles by name with their last modification, distribution, release and what they run as root", async () => {
    const b = await api.profiles.create({ name: "b-debian", presetId: "immutable-debian-12" });
    const a = await api.profiles.create({ name: "a-blank" });
    await sleep(5);
    const saved = await api.profiles.save({ id: b.id, revision: 1, document: b.document });
    const list = await api.profiles.list();
    expect(list).toEqual([
      { id: a.id, name: "a-blank", revision: 1, bootCheckAfterBuild: false, createdAt: a.createdAt, updatedAt: a.updatedAt, distribution: undefined, release: undefined, rootScripts: [] },
      { id: b.id, name: "b-debian", revision: 2, bootCheckAfterBuild: false, createdAt: b.createdAt, updatedAt: saved.updatedAt, distribution: "debian", release: "bookworm", rootScripts: [] },
    ]);
    expect(Date.parse(list[1]!.updatedAt)).toBeGreaterThan(Date.parse(b.updatedAt));
    // No documents in the list.
    expect(list[0]).not.toHaveProperty("document");
  });
});

describe("rename, duplicate, delete", () => {
  it("renames", async () => {
    const row = await api.profiles.create({ name: "Old" });
    await sleep(5);
    const renamed = await api.profiles.rename({ id: row.id, name: "New" });
    expect(renamed).toMatchObject({ id: row.id, name: "New", document: row.document, revision: row.revision });
    expect(Date.parse(renamed.updatedAt)).toBeGreaterThan(Date.parse(row.updatedAt));
    expect((await api.profiles.list()).map((p) => p.name)).toEqual(["New"]);
  });

  it("refuses a taken name with CONFLICT on the name field, and changes nothing", async () => {
    const a = await api.profiles.create({ name: "Alpha" });
    await api.profiles.create({ name: "Beta", presetId: "immutable-debian-12" });
    const before = await api.profiles.list();
    const e = await failure(api.profiles.rename({ id: a.id, name: "Beta" }));
    expect(e.code).toBe("CONFLICT");
    expect(problemsOf(e)).toEqual([{ path: ["name"], message: expect.stringContaining("'Beta' already exists") }]);
    expect(await api.profiles.list()).toEqual(before);
    expect(await api.profiles.get({ id: a.id })).toEqual(a);
  });

  it("renaming an unknown profile is NOT_FOUND", async () => {
    expect((await failure(api.profiles.rename({ id: 999, name: "X" }))).code).toBe("NOT_FOUND");
  });

  it("duplicates with a (copy) name, then (copy 2), keeping the document", async () => {
    const src = await api.profiles.create({ name: "Base", presetId: "immutable-ubuntu-24.04" });
    const c1 = await api.profiles.duplicate({ id: src.id });
    const c2 = await api.profiles.duplicate({ id: src.id });
    expect([c1.name, c2.name]).toEqual(["Base (copy)", "Base (copy 2)"]);
    for (const c of [c1, c2]) {
      expect(c.id).not.toBe(src.id);
      expect(c.revision).toBe(1);
      expect(c.document).toEqual(src.document);
    }
    const named = await api.profiles.duplicate({ id: src.id, name: "Mine" });
    expect(named.name).toBe("Mine");
    expect((await failure(api.profiles.duplicate({ id: src.id, name: "Base" }))).code).toBe("CONFLICT");
    expect((await failure(api.profiles.duplicate({ id: 999 }))).code).toBe("NOT_FOUND");
    expect((await api.profiles.list()).map((p) => p.name).sort()).toEqual(["Base", "Base (copy 2)", "Base (copy)", "Mine"].sort());
  });

  it("deletes", async () => {
    const a = await api.profiles.create({ name: "Doomed" });
    const b = await api.profiles.create({ name: "Kept" });
    expect(await api.profiles.delete({ id: a.id })).toEqual({ id: a.id });
    expect((await api.profiles.list()).map((p) => p.id)).toEqual([b.id]);
    expect((await failure(api.profiles.get({ id: a.id }))).code).toBe("NOT_FOUND");
    expect((await failure(api.profiles.delete({ id: a.id }))).code).toBe("NOT_FOUND");
  });

  it("getting an unknown id is NOT_FOUND", async () => {
    const e = await failure(api.profiles.get({ id: 12345 }));
    expect(e.code).toBe("NOT_FOUND");
    expect(e.message).toContain("12345");
  });
});

describe("saving", () => {
  it("with the current revision: bumps the revision and updatedAt and stores the document", async () => {
    const row = await api.profiles.create({ name: "P", presetId: "immutable-debian-12" });
    const doc: ProfileDocument = structuredClone(row.document);
    doc.settings.Hostname = "edited";
    doc.settings.Packages = [...(doc.settings.Packages ?? []), "htop"];
    await sleep(5);
    const saved = await api.profiles.save({ id: row.id, revision: 1, document: doc });
    expect(saved.revision).toBe(2);
    expect(Date.parse(saved.updatedAt)).toBeGreaterThan(Date.parse(row.updatedAt));
    expect(saved.createdAt).toBe(row.createdAt);
    const got = await api.profiles.get({ id: row.id });
    expect(got).toEqual(saved);
    expect(got.document.settings.Hostname).toBe("edited");
    expect(got.document.settings.Packages).toContain("htop");
    const again = await api.profiles.save({ id: row.id, revision: 2, document: got.document });
    expect(again.revision).toBe(3);
  });

  it("refuses files kept as written beyond their total size, naming the field, and stores nothing", async () => {
    const row = await api.profiles.create({ name: "Big files", presetId: "immutable-debian-12" });
    const big = (path: string) => ({ path, encoding: "base64" as const, content: Buffer.alloc(12 * 1024 * 1024).toString("base64"), mode: 0o644, reason: "local package" });
    const doc = { ...row.document, rawFiles: [big("mkosi.packages/a.deb"), big("mkosi.packages/b.deb"), big("mkosi.packages/c.deb")] };
    const e = await failure(api.profiles.save({ id: row.id, revision: 1, document: doc }));
    expect(e.code).toBe("BAD_REQUEST");
    expect(problemsOf(e)).toEqual([{ path: ["rawFiles"], message: expect.stringMatching(/hold 36 MiB .* together: at most 32 MiB/) }]);
    expect(await api.profiles.get({ id: row.id })).toMatchObject({ revision: 1, document: row.document });
  });

  it("two tabs: the first save wins, the second gets CONFLICT with the current revision, nothing lost or half-saved", async () => {
    const row = await api.profiles.create({ name: "Shared", presetId: "immutable-debian-12" });
    const tabA = await api.profiles.get({ id: row.id });
    const tabB = await api.profiles.get({ id: row.id });
    expect(tabA.revision).toBe(tabB.revision);

    const docA = structuredClone(tabA.document);
    docA.settings.Hostname = "from-tab-a";
    const docB = structuredClone(tabB.document);
    docB.settings.Hostname = "from-tab-b";
    docB.settings.Packages = ["systemd"];

    const first = await api.profiles.save({ id: row.id, revision: tabA.revision, document: docA });
    expect(first.revision).toBe(tabA.revision + 1);

    const e = await failure(api.profiles.save({ id: row.id, revision: tabB.revision, document: docB }));
    expect(e.code).toBe("CONFLICT");
    expect(e.cause).toBeInstanceOf(AppError);
    expect((e.cause as AppError).details).toEqual({ currentRevision: first.revision, updatedAt: first.updatedAt });
    expect(e.message).toMatch(/saved elsewhere/);

    const stored = await api.profiles.get({ id: row.id });
    expect(stored).toEqual(first);
    expect(stored.document).toEqual(docA);

    // Tab B can overwrite knowingly with the revision the conflict told it.
    const overwrite = await api.profiles.save({ id: row.id, revision: first.revision, document: docB });
    expect(overwrite.revision).toBe(first.revision + 1);
    expect((await api.profiles.get({ id: row.id })).document).toEqual(docB);
  });

  it("a save of an unknown profile is NOT_FOUND", async () => {
    expect((await failure(api.profiles.save({ id: 999, revision: 1, document: emptyDocument() }))).code).toBe("NOT_FOUND");
  });

  const INVALID: [string, (d: ProfileDocument) => void, Problem["path"]][] = [
    ["a package Bad_Name", (d) => void (d.settings.Packages = ["systemd", "Bad_Name"]), ["settings", "Packages", 1]],
    ["a size 12Q", (d) => void (d.partitions[1]!.sizeMax = "12Q"), ["partitions", 1, "sizeMax"]],
    ["an extra file ../x", (d) => void d.extraFiles.push({ path: "../x", content: "x", mode: "0644" }), ["extraFiles", 1, "path"]],
    ["no ESP (a rule across fields)", (d) => void d.partitions.shift(), ["partitions"]],
  ];

  it.each(INVALID)("with %s: BAD_REQUEST, the stored row unchanged", async (_what, spoil) => {
    const row = await api.profiles.create({ name: "Valid", presetId: "immutable-debian-12" });
    const doc = structuredClone(row.document);
    spoil(doc);
    const e = await failure(api.profiles.save({ id: row.id, revision: 1, document: doc }));
    expect(e.code).toBe("BAD_REQUEST");
    expect(await api.profiles.get({ id: row.id })).toEqual(row);
  });

  // The browser anchors server problems at form fields by their document path, the same path
  // validateDocument gives (components/profile-editor/problems.ts).
  it.each(INVALID)("with %s: error.data.problems over HTTP name the field as a document path", async (_what, spoil, path) => {
    const row = await api.profiles.create({ name: "Valid", presetId: "immutable-debian-12" });
    const doc = structuredClone(row.document);
    spoil(doc);
    expect(validateDocument(doc).problems.map((p) => p.path)).toContainEqual(path);
    const r = await http("POST", "profiles.save", { id: row.id, revision: 1, document: doc });
    expect(r.status).toBe(400);
    expect(r.body.error.data.code).toBe("BAD_REQUEST");
    expect(r.body.error.data.problems.map((p: Problem) => p.path)).toContainEqual(path);
    // The message is for people (as AppError.invalid writes it), not a dump of the validator's issues.
    expect(r.body.error.message).not.toMatch(/^\s*[[{]/);
    expect(await api.profiles.get({ id: row.id })).toEqual(row);
  });
});

describe("the SQLite file", () => {
  it("keeps the data when closed and opened again", async () => {
    const a = await api.profiles.create({ name: "Persisted", presetId: "immutable-debian-12" });
    const doc = structuredClone(a.document);
    doc.settings.Hostname = "kept";
    const saved = await api.profiles.save({ id: a.id, revision: 1, document: doc });
    const b = await api.profiles.create({ name: "Second" });
    const list = await api.profiles.list();
    db.$client.close();

    db = openDatabase(file);
    api = createCaller({ db, host });
    expect(await api.profiles.list()).toEqual(list);
    expect(await api.profiles.get({ id: a.id })).toEqual(saved);
    expect((await api.profiles.get({ id: a.id })).document.settings.Hostname).toBe("kept");
    // Ids are not reused and the name constraint survived.
    expect((await failure(api.profiles.create({ name: "Second" }))).code).toBe("CONFLICT");
    const c = await api.profiles.create({ name: "Third" });
    expect(c.id).toBeGreaterThan(b.id);
    // The migrator recorded what it applied and does not apply it twice.
    const applied = db.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    expect(applied.n).toBeGreaterThanOrEqual(1);
  });
});

describe("over HTTP (fetch adapter)", () => {
  it("a query answers 200 with result.data", async () => {
    const row = await api.profiles.create({ name: "Web" });
    const r = await http("GET", "profiles.get", { id: row.id });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ result: { data: row } });
  });

  it("NOT_FOUND is 404", async () => {
    const r = await http("GET", "profiles.get", { id: 4242 });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ message: expect.stringContaining("4242"), data: { code: "NOT_FOUND", httpStatus: 404, path: "profiles.get" } });
  });

  it("a stale save is 409 CONFLICT with the current revision in data.details", async () => {
    const row = await api.profiles.create({ name: "Stale", presetId: "immutable-debian-12" });
    const current = await api.profiles.save({ id: row.id, revision: 1, document: row.document });
    const r = await http("POST", "profiles.save", { id: row.id, revision: 1, document: row.document });
    expect(r.status).toBe(409);
    // (data.stack is there only outside production, i.e. not for `next start`.)
    delete r.body.error.data.stack;
    expect(r.body).toEqual({
      error: {
        message: expect.stringMatching(/saved elsewhere \(revision 2/),
        code: -32009,
        data: {
          code: "CONFLICT",
          httpStatus: 409,
          path: "profiles.save",
          problems: [],
          details: { currentRevision: 2, updatedAt: current.updatedAt },
        },
      },
    });
    expect(await api.profiles.get({ id: row.id })).toEqual(current);
  });

  it("a taken name is 409 CONFLICT naming the field", async () => {
    await api.profiles.create({ name: "One" });
    const two = await api.profiles.create({ name: "Two" });
    const r = await http("POST", "profiles.rename", { id: two.id, name: "One" });
    expect(r.status).toBe(409);
    expect(r.body.error.data).toMatchObject({ code: "CONFLICT", problems: [{ path: ["name"], message: expect.stringContaining("One") }] });
  });

  it("an invalid document is 400 BAD_REQUEST with problems and a message", async () => {
    const row = await api.profiles.create({ name: "Bad", presetId: "immutable-debian-12" });
    const doc = structuredClone(row.document);
    doc.partitions.shift();
    const r = await http("POST", "profiles.save", { id: row.id, revision: 1, document: doc });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      code: -32600,
      message: expect.stringMatching(/ESP/),
      data: { code: "BAD_REQUEST", httpStatus: 400, path: "profiles.save", problems: [{ path: ["partitions"], message: expect.stringMatching(/ESP/) }] },
    });
  });

  it("a malformed body is 400, not 500", async () => {
    const r = await http("POST", "profiles.save", { id: "one", revision: 1, document: {} });
    expect(r.status).toBe(400);
    expect(r.body.error.data.code).toBe("BAD_REQUEST");
  });
});
