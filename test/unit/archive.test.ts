import { execa } from "execa";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, createGzip, deflateRawSync, gunzipSync, gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@/server/errors";
import { importProject, type ProjectFile } from "@/server/mkosi/import";
import { profileDocumentSchema } from "@/server/mkosi/profile";
import { render, type RenderedFile } from "@/server/mkosi/render";
import { ARCHIVE_LIMITS, readArchive, readFolder, writeExportArchive } from "@/server/profiles/archive";

// --- archive builders ---------------------------------------------------------------------------

type TarEntry = Parameters<tar.Pack["entry"]>[0] & { data?: string | Buffer };

async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const { data, ...header } of entries)
    await new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null) => (e ? reject(e) : resolve());
      if (data !== undefined) pack.entry(header, data, cb);
      else pack.entry(header, cb);
    });
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const makeTarGz = async (entries: TarEntry[]) => gzipSync(await makeTar(entries));

interface ZipEntry {
  name: string;
  data?: Buffer;
  /** Unix mode including the file type bits, e.g. 0o100644. */
  mode?: number;
  /** Pre-compressed data (method 8) with the size it claims to unpack to. */
  deflated?: { data: Buffer; size: number; crc: number };
}

/** A minimal zip writer, so tests can make any entry, including hostile ones. */
function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const raw = e.data ?? Buffer.alloc(0);
    const method = e.deflated ? 8 : raw.length > 0 ? 8 : 0;
    const body = e.deflated ? e.deflated.data : method === 8 ? deflateRawSync(raw) : raw;
    const size = e.deflated ? e.deflated.size : raw.length;
    const crc = e.deflated ? e.deflated.crc : crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? (e.name.endsWith("/") ? 0o040755 : 0o100644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (AppError.is(e)) return e;
    throw e;
  }
  throw new Error("expected an AppError");
}

const text = (f: ProjectFile | undefined) => (f && "data" in f ? Buffer.from(f.data).toString("utf8") : undefined);

const PROJECT: TarEntry[] = [
  { name: "proj/", type: "directory", mode: 0o755 },
  { name: "proj/mkosi.conf", data: "[Distribution]\nDistribution=debian\n", mode: 0o644 },
  { name: "proj/mkosi.build", data: "#!/bin/sh\n", mode: 0o755 },
  { name: "proj/mkosi.extra/etc/localtime", type: "symlink", linkname: "/usr/share/zoneinfo/UTC" },
];

// --- tests ----------------------------------------------------------------------------------------

describe("readArchive: formats", () => {
  it("reads a .tar.gz with modes and links", async () => {
    const files = await readArchive(await makeTarGz(PROJECT));
    expect(files.map((f) => f.path)).toEqual(["proj/mkosi.conf", "proj/mkosi.build", "proj/mkosi.extra/etc/localtime"]);
    expect(files[1]).toMatchObject({ mode: 0o755 });
    expect(text(files[0])).toBe("[Distribution]\nDistribution=debian\n");
    expect(files[2]).toEqual({ path: "proj/mkosi.extra/etc/localtime", symlink: "/usr/share/zoneinfo/UTC" });
  });

  it("reads a plain .tar, and './'-prefixed names as `tar -C dir .` writes them", async () => {
    const files = await readArchive(await makeTar([{ name: "./", type: "directory" }, { name: "./mkosi.conf", data: "[Output]\n" }]));
    expect(files.map((f) => f.path)).toEqual(["mkosi.conf"]);
  });

  it("reads a .zip with Unix modes and links", async () => {
    const zip = makeZip([
      { name: "proj/", mode: 0o040755 },
      { name: "proj/mkosi.conf", data: Buffer.from("[Content]\nPackages=vim\n") },
      { name: "proj/mkosi.build", data: Buffer.from("#!/bin/sh\n"), mode: 0o100755 },
      { name: "proj/mkosi.extra/bin/sh", data: Buffer.from("bash"), mode: 0o120777 },
    ]);
    const files = await readArchive(zip);
    expect(files).toEqual([
      { path: "proj/mkosi.conf", data: Buffer.from("[Content]\nPackages=vim\n"), mode: 0o644 },
      { path: "proj/mkosi.build", data: Buffer.from("#!/bin/sh\n"), mode: 0o755 },
      { path: "proj/mkosi.extra/bin/sh", symlink: "bash" },
    ]);
  });

  it("reads a zip made by the zip tool", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zip-"));
    try {
      await mkdir(join(dir, "p", "mkosi.conf.d"), { recursive: true });
      await writeFile(join(dir, "p", "mkosi.conf.d", "10.conf"), "[Content]\nHostname=h\n");
      await execa("zip", ["-qr", "-y", "p.zip", "p"], { cwd: dir });
      const files = await readArchive(Buffer.from(await import("node:fs/promises").then((m) => m.readFile(join(dir, "p.zip")))));
      expect(files.map((f) => f.path)).toEqual(["p/mkosi.conf.d/10.conf"]);
      expect(importProject(files).document.settings.Hostname).toBe("h");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects what is not an archive", async () => {
    expect((await rejection(readArchive(Buffer.from("[Content]\nPackages=a\n")))).message).toMatch(/not a \.tar\.gz, \.tar or \.zip/);
    expect((await rejection(readArchive(gzipSync(Buffer.from("plain text"))))).message).toMatch(/holds no tar archive/);
    expect((await rejection(readArchive(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3])))).message).toMatch(/could not be decompressed/);
  });
});

describe("readArchive: hostile entries", () => {
  it.each([
    [{ name: "../x", data: "x" }, /"\.\.\/x" contains '\.\.'/],
    [{ name: "proj/../../x", data: "x" }, /contains '\.\.'/],
    [{ name: "/etc/passwd", data: "root" }, /"\/etc\/passwd" has an absolute path/],
    [{ name: "proj\\mkosi.conf", data: "x" }, /contains a backslash/],
    [{ name: "proj/hard", type: "link" as const, linkname: "proj/mkosi.conf" }, /"proj\/hard" is a hard link/],
    [{ name: "proj/dev", type: "character-device" as const, devmajor: 1, devminor: 3 }, /"proj\/dev" is a device or fifo/],
    [{ name: "proj/fifo", type: "fifo" as const }, /is a device or fifo/],
    [{ name: "proj/a b", data: "x" }, /"proj\/a b": may only use/],
  ])("rejects the tar entry %j", async (entry, message) => {
    const e = await rejection(readArchive(await makeTarGz([{ name: "proj/mkosi.conf", data: "[Output]\n" }, entry])));
    expect(e.message).toMatch(message);
    expect(e.problems[0]?.path).toEqual(["archive"]);
  });

  it.each([
    [{ name: "../evil", data: Buffer.from("x") }, /contains '\.\.'/],
    [{ name: "/abs", data: Buffer.from("x") }, /absolute path/],
    [{ name: "a\\b", data: Buffer.from("x") }, /backslash/],
    [{ name: "proj/fifo", mode: 0o010644 }, /device, fifo or socket/],
  ])("rejects the zip entry %j", async (entry, message) => {
    expect((await rejection(readArchive(makeZip([{ name: "proj/mkosi.conf", data: Buffer.from("[Output]\n") }, entry])))).message).toMatch(message);
  });

  it("passes links through and lets the importer refuse one outside the image trees", async () => {
    const files = await readArchive(
      await makeTarGz([...PROJECT, { name: "proj/mkosi.conf.d/10.conf", type: "symlink", linkname: "/etc/passwd" }]),
    );
    expect(files.at(-1)).toEqual({ path: "proj/mkosi.conf.d/10.conf", symlink: "/etc/passwd" });
    expect(() => importProject(files)).toThrow(/mkosi\.conf\.d\/10\.conf is a link: links are only accepted inside mkosi\.extra\/ or mkosi\.skeleton\//);
  });

  it("rejects an entry that appears twice", async () => {
    const e = await rejection(readArchive(await makeTarGz([{ name: "mkosi.conf", data: "a" }, { name: "mkosi.conf", data: "b" }])));
    expect(e.message).toMatch(/appears twice/);
  });

  it("hands an archive that is not an mkosi project to the importer, which says so", async () => {
    const files = await readArchive(await makeTarGz([{ name: "site/index.html", data: "<p>" }]));
    expect(() => importProject(files)).toThrow(/not an mkosi project/);
  });
});

describe("readArchive: limits", () => {
  it("rejects an upload larger than 20 MiB before looking inside", async () => {
    const e = await rejection(readArchive(Buffer.alloc(ARCHIVE_LIMITS.archiveBytes + 1)));
    expect(e.code).toBe("PAYLOAD_TOO_LARGE");
    expect(e.message).toMatch(/larger than 20 MiB/);
  });

  it("rejects more than 2000 entries in a tar", async () => {
    const entries = Array.from({ length: ARCHIVE_LIMITS.entries + 1 }, (_, i) => ({ name: `p/mkosi.extra/f${i}`, data: "" }));
    const e = await rejection(readArchive(await makeTarGz(entries)));
    expect(e.code).toBe("PAYLOAD_TOO_LARGE");
    expect(e.message).toMatch(/more than 2000 entries/);
    // Exactly at the limit is fine.
    expect(await readArchive(await makeTarGz(entries.slice(0, ARCHIVE_LIMITS.entries)))).toHaveLength(ARCHIVE_LIMITS.entries);
  });

  it("rejects more than 2000 entries in a zip", async () => {
    const entries = Array.from({ length: ARCHIVE_LIMITS.entries + 1 }, (_, i) => ({ name: `p/f${i}` }));
    expect((await rejection(readArchive(makeZip(entries)))).message).toMatch(/more than 2000 entries/);
  });

  it("stops a gzip bomb while decompressing", async () => {
    // gzip members concatenate: 128 copies of 64 MiB of zeros make 8 GiB from about 8 MiB.
    const header = await makeTar([{ name: "mkosi.extra/bomb", data: "" }]);
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat([gzipSync(header.subarray(0, 512)), ...Array.from({ length: 128 }, () => member)]);
    expect(bomb.length).toBeLessThan(ARCHIVE_LIMITS.archiveBytes);
    const started = Date.now();
    const e = await rejection(readArchive(bomb));
    expect(e.code).toBe("PAYLOAD_TOO_LARGE");
    expect(e.message).toMatch(/unpacks to more than 100 MiB/);
    // Decompressing all 8 GiB takes many seconds; stopping at 100 MiB takes a fraction of one.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("stops a zip bomb by its declared size, and one that lies about it while inflating", async () => {
    const zeros = Buffer.alloc(60 * 1024 * 1024);
    const deflated = { data: deflateRawSync(zeros, { level: 9 }), size: zeros.length, crc: crc32(zeros) };
    const honest = makeZip([{ name: "a", deflated }, { name: "b", deflated }]);
    const e1 = await rejection(readArchive(honest));
    expect(e1.code).toBe("PAYLOAD_TOO_LARGE");
    expect(e1.message).toMatch(/unpacks to more than 100 MiB/);

    const lying = makeZip([{ name: "a", deflated: { ...deflated, size: 1024 } }]);
    const e2 = await rejection(readArchive(lying));
    expect(e2.message).toMatch(/could not be read: .*too many bytes/);
  });

  it("counts a tar's file data against the total", async () => {
    // 101 MiB of zeros compress to well under the upload limit.
    const gz = createGzip({ level: 1 });
    const pack = tar.pack();
    const out: Buffer[] = [];
    const done = (async () => {
      for await (const c of pack.pipe(gz) as AsyncIterable<Buffer>) out.push(c);
    })();
    const mib = Buffer.alloc(1024 * 1024);
    const w = pack.entry({ name: "p/mkosi.conf", size: 101 * 1024 * 1024 }, () => undefined);
    for (let i = 0; i < 100; i++) w.write(mib);
    w.end(mib);
    pack.finalize();
    await done;
    const e = await rejection(readArchive(Buffer.concat(out)));
    expect(e.message).toMatch(/unpacks to more than 100 MiB/);
  });
});

describe("readFolder", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "folder-"));
    await mkdir(join(dir, "proj", "mkosi.extra", "etc"), { recursive: true });
    await mkdir(join(dir, "proj", ".git", "objects"), { recursive: true });
    await mkdir(join(dir, "proj", "mkosi.output"), { recursive: true });
    await writeFile(join(dir, "proj", "mkosi.conf"), "[Content]\nHostname=h\n");
    await writeFile(join(dir, "proj", "mkosi.build"), "#!/bin/sh\n", { mode: 0o755 });
    await writeFile(join(dir, "proj", ".git", "objects", "x"), "git");
    await writeFile(join(dir, "proj", "mkosi.output", "image.raw"), "img");
    await symlink("/etc", join(dir, "proj", "mkosi.extra", "etc", "host"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads files with modes, returns links as links without following them, and skips build results", async () => {
    const { files, skipped } = await readFolder(join(dir, "proj"));
    expect(files.map((f) => f.path).sort()).toEqual(["mkosi.build", "mkosi.conf", "mkosi.extra/etc/host"]);
    expect(files.find((f) => f.path === "mkosi.build")).toMatchObject({ mode: 0o755 });
    expect(files.find((f) => f.path === "mkosi.extra/etc/host")).toEqual({ path: "mkosi.extra/etc/host", symlink: "/etc" });
    expect(skipped).toEqual([".git/", "mkosi.output/"]);
    expect(importProject(files).document.rawFiles.find((f) => f.path === "mkosi.extra/etc/host")?.encoding).toBe("symlink");
  });

  it("refuses a relative path, a missing folder and a file", async () => {
    expect((await rejection(readFolder("proj"))).message).toMatch(/path: must be an absolute path/);
    expect((await rejection(readFolder(join(dir, "nope")))).message).toMatch(/does not exist/);
    expect((await rejection(readFolder(join(dir, "proj", "mkosi.conf")))).message).toMatch(/is not a folder/);
  });

  it("refuses a fifo", async () => {
    const d = await mkdtemp(join(tmpdir(), "fifo-"));
    try {
      await writeFile(join(d, "mkosi.conf"), "[Content]\n");
      await execa("mkfifo", [join(d, "pipe")]);
      expect((await rejection(readFolder(d))).message).toMatch(/pipe is a device, fifo or socket/);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it("refuses more than 2000 entries", async () => {
    const d = await mkdtemp(join(tmpdir(), "many-"));
    try {
      await Promise.all(Array.from({ length: ARCHIVE_LIMITS.entries + 1 }, (_, i) => writeFile(join(d, `f${i}`), "")));
      expect((await rejection(readFolder(d))).message).toMatch(/more than 2000 entries/);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe("writeExportArchive", () => {
  const files: RenderedFile[] = [
    { path: "mkosi.conf", content: "[Content]\nHostname=h\n", encoding: "utf8", mode: 0o644, origin: "generated" },
    { path: "mkosi.build", content: "#!/bin/sh\n", encoding: "utf8", mode: 0o755, origin: "raw" },
    { path: "mkosi.extra/etc/localtime", content: "/usr/share/zoneinfo/UTC", encoding: "symlink", mode: 0o777, origin: "raw" },
    { path: "mkosi.extra/logo.png", content: Buffer.from([0, 1, 2, 255]).toString("base64"), encoding: "base64", mode: 0o644, origin: "raw" },
  ];
  const opts = { folderName: "my-image", mtime: new Date("2024-05-01T12:00:00Z"), mkosiMajor: 24 };

  it("gives identical bytes for the same input, whatever the file order", async () => {
    const a = await writeExportArchive(files, opts);
    const b = await writeExportArchive([...files].reverse(), opts);
    expect(Buffer.compare(a, b)).toBe(0);
    const c = await writeExportArchive(files, { ...opts, mtime: new Date("2024-05-02T12:00:00Z") });
    expect(Buffer.compare(a, c)).not.toBe(0);
  });

  it("puts everything under the folder with fixed owners, the given time, modes and links", async () => {
    const extract = tar.extract();
    extract.end(gunzipSync(await writeExportArchive(files, opts)));
    const headers: tar.Header[] = [];
    for await (const e of extract) {
      headers.push(e.header);
      e.resume();
    }
    expect(headers.map((h) => h.name)).toEqual([
      "my-image/",
      "my-image/README.md",
      "my-image/mkosi.build",
      "my-image/mkosi.conf",
      "my-image/mkosi.extra/",
      "my-image/mkosi.extra/etc/",
      "my-image/mkosi.extra/etc/localtime",
      "my-image/mkosi.extra/logo.png",
    ]);
    expect(headers.every((h) => h.uid === 0 && h.gid === 0 && h.mtime.getTime() === opts.mtime.getTime())).toBe(true);
    expect(headers.find((h) => h.name === "my-image/mkosi.build")?.mode).toBe(0o755);
    expect(headers.find((h) => h.name === "my-image/mkosi.extra/etc/localtime")).toMatchObject({ type: "symlink", linkname: "/usr/share/zoneinfo/UTC" });

    const back = await readArchive(await writeExportArchive(files, opts));
    const readme = back.find((f) => f.path === "my-image/README.md");
    expect(text(readme)).toContain("sudo mkosi -f build");
    expect(back.find((f) => f.path === "my-image/mkosi.extra/logo.png")).toMatchObject({ data: Buffer.from([0, 1, 2, 255]) });
  });

  it("writes the files mkosi reads secrets from owner-only, however they were imported (git keeps 0644)", async () => {
    const doc = importProject([
      { path: "p/mkosi.conf", data: Buffer.from("[Content]\nHostname=h\n"), mode: 0o644 },
      { path: "p/mkosi.rootpw", data: Buffer.from("root\n"), mode: 0o644 },
      { path: "p/mkosi.credentials/generate", data: Buffer.from("#!/bin/sh\necho x\n"), mode: 0o755 },
    ]).document;
    const extract = tar.extract();
    extract.end(gunzipSync(await writeExportArchive(render(doc), opts)));
    const modes: Record<string, number | undefined> = {};
    for await (const e of extract) {
      modes[e.header.name] = e.header.mode;
      e.resume();
    }
    expect(modes["my-image/mkosi.rootpw"]).toBe(0o600);
    expect(modes["my-image/mkosi.credentials/generate"]).toBe(0o700);
    expect(modes["my-image/mkosi.conf"]).toBe(0o644);
  });

  it("names its README BUILDING.md when the project has a README.md", async () => {
    const withReadme = [...files, { path: "README.md", content: "# mine\n", encoding: "utf8" as const, mode: 0o644, origin: "raw" as const }];
    const back = await readArchive(await writeExportArchive(withReadme, opts));
    expect(text(back.find((f) => f.path === "my-image/README.md"))).toBe("# mine\n");
    expect(text(back.find((f) => f.path === "my-image/BUILDING.md"))).toContain("sudo mkosi -f build");
  });

  it("exports generated unit names with systemd's escapes", async () => {
    const doc = profileDocumentSchema.parse({
      settings: {},
      overlay: { scheme: "persistent", mountPoint: "/var/lib/app-data", label: "data", format: "ext4", size: "1G" },
    });
    const extract = tar.extract();
    extract.end(gunzipSync(await writeExportArchive(render(doc), opts)));
    const names: string[] = [];
    for await (const e of extract) {
      names.push(e.header.name);
      e.resume();
    }
    expect(names).toContain("my-image/mkosi.extra/etc/systemd/system/var-lib-app\\x2ddata.mount");
  });

  it("refuses to put a file inside a link", async () => {
    const through: RenderedFile[] = [
      { path: "mkosi.extra/etc", content: "/etc", encoding: "symlink", mode: 0o777, origin: "raw" },
      { path: "mkosi.extra/etc/motd", content: "pwned\n", encoding: "utf8", mode: 0o644, origin: "extra" },
    ];
    await expect(writeExportArchive(through, opts)).rejects.toThrow(/mkosi\.extra\/etc\/motd: it lies inside the link mkosi\.extra\/etc/);
  });

  it("extracts with the system tar", async () => {
    const d = await mkdtemp(join(tmpdir(), "untar-"));
    try {
      await writeFile(join(d, "x.tar.gz"), await writeExportArchive(files, opts));
      const r = await execa("tar", ["-tvzf", "x.tar.gz"], { cwd: d });
      expect(r.stdout).toMatch(/-rwxr-xr-x root\/root\s+10 2024-05-01 \d\d:00 my-image\/mkosi\.build/);
      expect(r.stdout).toMatch(/my-image\/mkosi\.extra\/etc\/localtime -> \/usr\/share\/zoneinfo\/UTC/);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
