// The import/export service, the tRPC procedures and the download route, on a real SQLite file.
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "@/test/support/errors";

const dataDir = await mkdtemp(join(tmpdir(), "transfer-"));
process.env.IMAGE_STUDIO_DATA = dataDir;

// Server folders are imported from below this folder only.
const importRoot = join(dataDir, "projects");
process.env.IMAGE_STUDIO_IMPORT_ROOTS = importRoot;

const { getDb } = await import("@/server/db/client");
const { listProfiles, getProfile } = await import("@/server/profiles/service");
const { exportProfile, exportSlug, importArchive, importFolder } = await import("@/server/profiles/transfer");
const { readArchive } = await import("@/server/profiles/archive");
const { importProject } = await import("@/server/mkosi/import");
const { createCaller } = await import("@/server/routers");
const { serveApp } = await import("@/test/support/app-server");

async function tarGz(entries: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, data] of Object.entries(entries))
    await new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644 }, data, (e) => (e ? reject(e) : resolve())));
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const PROJECT = {
  "appliance/mkosi.conf": "[Distribution]\nDistribution=debian\nRelease=bookworm\n[Output]\nImageId=appliance-img\n[Content]\nPackages=systemd\n",
  "appliance/mkosi.build": "#!/bin/sh\n",
};


/** An upload as the import dialog sends it. */
function formOf(archive: Buffer): FormData {
  const form = new FormData();
  form.set("file", new File([new Uint8Array(archive)], "project.tar.gz"));
  return form;
}

const db = getDb();
const caller = createCaller({ db, host: () => ({ aptRepositories: [] }) });

afterAll(async () => {
  db.$client.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("importArchive / importFolder", () => {
  it("names a profile after the archive's folder and makes the name unique", async () => {
    const a = await importArchive(db, await tarGz(PROJECT));
    expect(a.profile.name).toBe("appliance");
    expect(a.profile.document.settings.Packages).toEqual(["systemd"]);
    expect(a.notes.join("\n")).toMatch(/script.*mkosi\.build/);
    const b = await importArchive(db, await tarGz(PROJECT));
    expect(b.profile.name).toBe("appliance (2)");
  });

  it("falls back to ImageId when there is no top folder", async () => {
    const r = await importArchive(db, await tarGz({ "mkosi.conf": PROJECT["appliance/mkosi.conf"] }));
    expect(r.profile.name).toBe("appliance-img");
  });

  it("uses an explicit name as given, and refuses a taken one without saving anything", async () => {
    const r = await importArchive(db, await tarGz(PROJECT), "My appliance");
    expect(r.profile.name).toBe("My appliance");
    const count = listProfiles(db).length;
    const e = await appError(importArchive(db, await tarGz(PROJECT), "My appliance"));
    expect(e.code).toBe("CONFLICT");
    expect(e.problems[0]?.path).toEqual(["name"]);
    expect(listProfiles(db)).toHaveLength(count);
  });

  it("saves nothing when the archive is not an mkosi project or is hostile", async () => {
    const count = listProfiles(db).length;
    expect((await appError(importArchive(db, await tarGz({ "x/README": "hi" })))).message).toMatch(/not an mkosi project/);
    expect((await appError(importArchive(db, await tarGz({ "../mkosi.conf": "[Content]\n" })))).message).toMatch(/'\.\.'/);
    expect(listProfiles(db)).toHaveLength(count);
  });

  it("imports a folder on the server, named after it", async () => {
    const dir = join(importRoot, "folder-project");
    await mkdir(join(dir, ".git"), { recursive: true });
    await writeFile(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
    await writeFile(join(dir, "mkosi.conf"), "[Content]\nHostname=from-folder\n");
    const r = await importFolder(db, `${dir}/`);
    expect(r.profile.name).toBe("folder-project");
    expect(r.profile.document.settings.Hostname).toBe("from-folder");
    expect(r.notes).toContain("left out build results: .git/");
  });

  it("answers a folder it cannot list with a BAD_REQUEST at the path field, not a crash", async () => {
    const dir = join(importRoot, "unlistable");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "mkosi.conf"), "[Content]\nHostname=h\n");
    // Passable but not readable: stat works, readdir does not (for root only as another user).
    await chmod(dataDir, 0o755);
    await chmod(importRoot, 0o755);
    await chmod(dir, 0o711);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) process.seteuid!(65534);
    let e: unknown;
    try {
      e = await caller.profiles.importFolder({ path: dir }).catch((x: unknown) => x);
    } finally {
      if (asRoot) process.seteuid!(0);
      await chmod(dir, 0o755);
    }
    expect(e).toMatchObject({ code: "BAD_REQUEST", cause: { problems: [{ path: ["path"], message: `${dir} cannot be read (EACCES)` }] } });
  });

  it("stores a project whose partition layout breaks the form's rules, its partitions in the editor and the problem named", async () => {
    const r = await caller.profiles.importArchive(
      formOf(
        await tarGz({
          "esp-efi-only/mkosi.conf": "[Output]\nFormat=disk\n",
          "esp-efi-only/mkosi.repart/00-esp.conf": "[Partition]\nType=esp\nFormat=vfat\nCopyFiles=/efi:/\n",
          "esp-efi-only/mkosi.repart/10-root.conf": "[Partition]\nType=root\nFormat=ext4\nCopyFiles=/\n",
        }),
      ),
    );
    expect(r.problems).toEqual([{ path: ["partitions", 0, "copyFiles"], message: expect.stringMatching(/CopyFiles=\/boot:\//) }]);
    const stored = getProfile(db, r.profile.id);
    expect(stored.document.partitions.map((p) => p.type)).toEqual(["esp", "root"]);
    expect(stored.document.rawFiles).toEqual([]);
    // Saved as it is, it is refused at the same field until the ESP is fixed.
    await expect(caller.profiles.save({ id: stored.id, revision: stored.revision, document: stored.document })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      cause: { problems: [{ path: ["partitions", 0, "copyFiles"] }] },
    });
    const fixed = structuredClone(stored.document);
    fixed.partitions[0]!.copyFiles.unshift("/boot:/");
    expect((await caller.profiles.save({ id: stored.id, revision: stored.revision, document: fixed })).revision).toBe(stored.revision + 1);
  });
});

describe("exportProfile", () => {
  it("gives <slug>.tar.gz, the same bytes for the same revision, and imports back to the same document", async () => {
    const { profile } = await importArchive(db, await tarGz(PROJECT), "Ünïcode & Friends!");
    const a = await exportProfile(db, profile.id, 24);
    const b = await exportProfile(db, profile.id, 24);
    expect(a.filename).toBe("unicode-friends.tar.gz");
    expect(Buffer.compare(a.buffer, b.buffer)).toBe(0);
    const back = importProject(await readArchive(a.buffer));
    expect(back.topFolder).toBe("unicode-friends");
    expect(back.document).toEqual(getProfile(db, profile.id).document);
  });

  it("slugs names safely", () => {
    expect(exportSlug("../../etc", 3)).toBe("etc");
    expect(exportSlug("!!!", 7)).toBe("profile-7");
    expect(exportSlug("A".repeat(100), 1)).toHaveLength(64);
  });

  it("says NOT_FOUND for an unknown profile", async () => {
    expect((await appError(exportProfile(db, 999999, 24))).code).toBe("NOT_FOUND");
  });
});

describe("tRPC procedures", () => {
  it("importArchive takes FormData with a file and an optional name", async () => {
    const form = new FormData();
    form.set("file", new File([new Uint8Array(await tarGz(PROJECT))], "appliance.tar.gz"));
    form.set("name", "From the form");
    const r = await caller.profiles.importArchive(form);
    expect(r.profile.name).toBe("From the form");
    expect(typeof r.profile.createdAt).toBe("string");
    expect(Array.isArray(r.notes)).toBe(true);
  });

  it("importArchive refuses a form without a file", async () => {
    const form = new FormData();
    form.set("file", "not a file");
    await expect(caller.profiles.importArchive(form)).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("importFolder refuses a relative path with a BAD_REQUEST naming the field", async () => {
    await expect(caller.profiles.importFolder({ path: "relative/dir" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^path: must be an mkosi project folder/),
    });
  });
});

describe("importFolder's roots", () => {
  const refusal = async (path: string, roots?: string[]) => (await appError(importFolder(db, path, undefined, roots))).message;

  it("refuses every folder outside the roots with one message, whether it exists or not", async () => {
    const outside = join(dataDir, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "mkosi.conf"), "[Content]\nHostname=outside\n");
    const messages = await Promise.all(["/root", "/etc", "/no/such/folder", outside, `${importRoot}/../outside`, `${importRoot}-sibling`].map((p) => refusal(p)));
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toBe(`path: must be an mkosi project folder (with mkosi.conf at its top) below ${importRoot}`);
  });

  it("gives the same message for a folder inside without mkosi.conf, one that does not exist, and a link leading out", async () => {
    const inside = join(importRoot, "no-conf");
    await mkdir(inside, { recursive: true });
    await writeFile(join(inside, "README"), "not a project\n");
    await symlink("/etc", join(importRoot, "etc-link"));
    const messages = await Promise.all([inside, join(importRoot, "missing"), join(importRoot, "etc-link")].map((p) => refusal(p)));
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toMatch(/^path: must be an mkosi project folder/);
  });

  it("is off when no roots are set: upload only", async () => {
    const e = await appError(importFolder(db, join(importRoot, "folder-project"), undefined, []));
    expect(e.code).toBe("PRECONDITION_FAILED");
    expect(e.message).toMatch(/IMAGE_STUDIO_IMPORT_ROOTS is not set/);
  });

  it("takes several roots, colon-separated, and ignores relative ones", async () => {
    const { importRoots } = await import("@/server/profiles/transfer");
    expect(importRoots({ IMAGE_STUDIO_IMPORT_ROOTS: "/srv/a:relative:/srv/b/" })).toEqual(["/srv/a", "/srv/b"]);
    expect(importRoots({})).toEqual([]);
  });
});

describe("GET /api/profiles/<id>/export", () => {
  let id: number;
  let app: Awaited<ReturnType<typeof serveApp>>;
  beforeAll(async () => {
    id = (await importArchive(db, await tarGz(PROJECT), "Route test")).profile.id;
    app = await serveApp(db, dataDir);
  });
  afterAll(() => app.close());

  it("returns the archive as a download", async () => {
    const res = await app.api.fetch(`/api/profiles/${id}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/gzip");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="route-test\.tar\.gz"/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("content-length")).toBe(String(body.length));
    const files = await readArchive(body);
    expect(files.map((f) => f.path)).toContain("route-test/mkosi.conf");
  });

  it.each(["999999", "abc", "0", "1e3"])("answers 404 JSON for %s", async (bad) => {
    const res = await app.api.fetch(`/api/profiles/${bad}/export`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: `profile ${bad} does not exist` });
  });
});
