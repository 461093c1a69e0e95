// Project archives and folders <-> ProjectFile lists. Reading never writes to disk and never
// follows a link; every limit is checked while reading, so a zip or gzip bomb stops early.
import { constants } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip, gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import * as yauzl from "yauzl";
import { AppError } from "@/server/errors";
import { EXPORT_README_NAMES, exportReadme } from "@/server/mkosi/export-readme";
import type { ProjectFile } from "@/server/mkosi/import";
import { relativePathProblem } from "@/server/mkosi/profile";
import { DEFAULT_MKOSI_MAJOR, type RenderedFile } from "@/server/mkosi/render";

export const ARCHIVE_LIMITS = {
  /** The uploaded file itself. */
  archiveBytes: 20 * 1024 * 1024,
  entries: 2000,
  /** Everything unpacked together (for a .tar.gz: the whole tar stream). */
  totalBytes: 100 * 1024 * 1024,
} as const;

/** Top-level folders of a project checkout that hold build results, not the project. */
export const SKIPPED_FOLDERS = [".git", "mkosi.output", "mkosi.cache", "mkosi.builddir"] as const;

const MiB = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

type Field = "archive" | "path";

function fail(field: Field, message: string, code: "BAD_REQUEST" | "PAYLOAD_TOO_LARGE" = "BAD_REQUEST"): never {
  throw AppError.field([field], message, code);
}

/** Counts entries and bytes against the limits as they are read. */
class Budget {
  private entries = 0;
  private bytes = 0;
  constructor(private readonly field: Field) {}

  entry(): void {
    if (++this.entries > ARCHIVE_LIMITS.entries)
      fail(this.field, `has more than ${ARCHIVE_LIMITS.entries} entries`, "PAYLOAD_TOO_LARGE");
  }

  /** Fails early on a size an archive declares; the real count still happens in add(). */
  declare(n: number): void {
    if (this.bytes + n > ARCHIVE_LIMITS.totalBytes)
      fail(this.field, `unpacks to more than ${MiB(ARCHIVE_LIMITS.totalBytes)}`, "PAYLOAD_TOO_LARGE");
  }

  add(n: number): void {
    this.bytes += n;
    if (this.bytes > ARCHIVE_LIMITS.totalBytes)
      fail(this.field, `unpacks to more than ${MiB(ARCHIVE_LIMITS.totalBytes)}`, "PAYLOAD_TOO_LARGE");
  }
}

/**
 * The checked, normalised path of an entry, or undefined for the root folder itself
 * ("./", which `tar -C dir .` writes).
 */
function entryPath(field: Field, name: string): string | undefined {
  const shown = JSON.stringify(name);
  if (name.startsWith("/")) fail(field, `entry ${shown} has an absolute path`);
  if (name.includes("\\")) fail(field, `entry ${shown} contains a backslash`);
  if (name.split("/").includes("..")) fail(field, `entry ${shown} contains '..' and would leave the project folder`);
  let p = name;
  while (p.startsWith("./")) p = p.slice(2);
  p = p.replace(/\/+$/, "");
  if (p === "" || p === ".") return undefined;
  const problem = relativePathProblem(p);
  if (problem) fail(field, `entry ${shown}: ${problem}`);
  return p;
}

class Collector {
  readonly files: ProjectFile[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly field: Field) {}

  add(f: ProjectFile): void {
    if (this.seen.has(f.path)) fail(this.field, `entry ${JSON.stringify(f.path)} appears twice`);
    this.seen.add(f.path);
    this.files.push(f);
  }
}

// --- archives -------------------------------------------------------------------------------

const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const isZip = (b: Buffer) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
const isTar = (b: Buffer) => b.length >= 512 && b.subarray(257, 262).toString("latin1") === "ustar";

/** A .tar.gz/.tgz, .tar or .zip, told apart by content, as project files. */
export async function readArchive(buffer: Buffer): Promise<ProjectFile[]> {
  if (buffer.length > ARCHIVE_LIMITS.archiveBytes)
    fail("archive", `is larger than ${MiB(ARCHIVE_LIMITS.archiveBytes)}`, "PAYLOAD_TOO_LARGE");
  if (isGzip(buffer)) {
    const budget = new Budget("archive");
    const tarBuf = await gunzipCounted(buffer, budget);
    if (!isTar(tarBuf)) fail("archive", "is compressed with gzip but holds no tar archive");
    return readTar(tarBuf);
  }
  if (isZip(buffer)) return readZip(buffer);
  if (isTar(buffer)) return readTar(buffer);
  return fail("archive", "is not a .tar.gz, .tar or .zip archive");
}

async function gunzipCounted(buffer: Buffer, budget: Budget): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gunzip = createGunzip();
  const source = Readable.from([buffer]);
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      budget.add(chunk.length);
      chunks.push(chunk);
    }
  } catch (e) {
    if (AppError.is(e)) throw e;
    fail("archive", `could not be decompressed: ${(e as Error).message}`);
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(chunks);
}

async function readTar(buffer: Buffer): Promise<ProjectFile[]> {
  const budget = new Budget("archive");
  const out = new Collector("archive");
  const extract = tar.extract();
  extract.end(buffer);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      budget.entry();
      const path = entryPath("archive", h.name);
      const shown = JSON.stringify(h.name);
      if (h.type === "file" || h.type === "contiguous-file") {
        const chunks: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) {
          budget.add(c.length);
          chunks.push(c);
        }
        if (path === undefined) fail("archive", `entry ${shown} is a file where the folder should be`);
        out.add({ path, data: Buffer.concat(chunks), mode: (h.mode ?? 0o644) & 0o7777 });
        continue;
      }
      entry.resume();
      if (h.type === "directory") continue;
      if (h.type === "symlink") {
        if (path === undefined) fail("archive", `entry ${shown} is a link where the folder should be`);
        out.add({ path, symlink: h.linkname ?? "" });
      } else if (h.type === "link") fail("archive", `entry ${shown} is a hard link, which is not accepted`);
      else if (h.type === "character-device" || h.type === "block-device" || h.type === "fifo")
        fail("archive", `entry ${shown} is a device or fifo, which is not accepted`);
      else fail("archive", `entry ${shown} has an unsupported type (${h.type ?? "unknown"})`);
    }
  } catch (e) {
    extract.destroy();
    if (AppError.is(e)) throw e;
    fail("archive", `is not a valid tar archive: ${(e as Error).message}`);
  }
  return out.files;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

async function readZip(buffer: Buffer): Promise<ProjectFile[]> {
  let zip: yauzl.ZipFile;
  try {
    // Names are decoded and checked here, with our own messages.
    zip = await yauzl.fromBufferPromise(buffer, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true });
  } catch (e) {
    return fail("archive", `is not a valid zip archive: ${(e as Error).message}`);
  }
  const budget = new Budget("archive");
  const out = new Collector("archive");
  try {
    if (zip.entryCount > ARCHIVE_LIMITS.entries) fail("archive", `has more than ${ARCHIVE_LIMITS.entries} entries`, "PAYLOAD_TOO_LARGE");
    for await (const entry of zip.eachEntry()) {
      budget.entry();
      const raw = entry.fileName as unknown as Buffer;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
      const shown = JSON.stringify(name);
      // Unix permissions and file type live in the high half when the zip was made on Unix.
      const unix = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
      const type = unix & S_IFMT;
      const isDir = name.endsWith("/") || type === S_IFDIR;
      const path = entryPath("archive", name);
      if (isDir) continue;
      if (type !== 0 && type !== S_IFREG && type !== S_IFLNK) fail("archive", `entry ${shown} is a device, fifo or socket, which is not accepted`);
      if (entry.isEncrypted()) fail("archive", `entry ${shown} is encrypted`);
      if (path === undefined) fail("archive", `entry ${shown} is a file where the folder should be`);
      // The declared size may lie, so the data is also counted as it is inflated.
      budget.declare(entry.uncompressedSize);
      const stream = await zip.openReadStreamPromise(entry);
      const chunks: Buffer[] = [];
      try {
        for await (const c of stream as AsyncIterable<Buffer>) {
          budget.add(c.length);
          chunks.push(c);
        }
      } finally {
        stream.destroy();
      }
      const data = Buffer.concat(chunks);
      if (type === S_IFLNK) out.add({ path, symlink: data.toString("utf8") });
      else out.add({ path, data, mode: type === 0 ? 0o644 : unix & 0o7777 });
    }
  } catch (e) {
    if (AppError.is(e)) throw e;
    fail("archive", `could not be read: ${(e as Error).message}`);
  } finally {
    zip.close();
  }
  return out.files;
}

// --- a folder on the server -------------------------------------------------------------------

export interface FolderContent {
  files: ProjectFile[];
  /** Build result folders left out (see SKIPPED_FOLDERS), as paths ending in '/'. */
  skipped: string[];
}

/** Reads a project folder without following any link below it; links come back as links. */
export async function readFolder(root: string): Promise<FolderContent> {
  if (!isAbsolute(root)) fail("path", "must be an absolute path");
  // The folder the user names may itself be reached through a link; nothing below it is.
  const st = await stat(root).catch(() => undefined);
  if (!st) fail("path", `${root} does not exist or cannot be read`);
  if (!st.isDirectory()) fail("path", `${root} is not a folder`);

  const budget = new Budget("path");
  const out = new Collector("path");
  const skipped: string[] = [];

  // Anything the file system refuses is the folder's problem, said at the field, not a crash.
  const unreadable = (what: string) => (e: NodeJS.ErrnoException) => fail("path", `${what} cannot be read (${e.code ?? e.message})`);

  async function walk(dir: string, rel: string): Promise<void> {
    const names = (await readdir(dir).catch(unreadable(rel ? `${rel}/` : root))).sort();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = join(dir, name);
      const info = await lstat(full).catch(unreadable(relPath));
      if (!rel && info.isDirectory() && (SKIPPED_FOLDERS as readonly string[]).includes(name)) {
        skipped.push(`${name}/`);
        continue;
      }
      budget.entry();
      const problem = relativePathProblem(relPath);
      if (problem) fail("path", `${JSON.stringify(relPath)}: ${problem}`);
      if (info.isSymbolicLink()) out.add({ path: relPath, symlink: await readlink(full).catch(unreadable(relPath)) });
      else if (info.isDirectory()) await walk(full, relPath);
      else if (info.isFile()) out.add({ path: relPath, data: await readRegular(full, relPath, budget), mode: info.mode & 0o7777 });
      else fail("path", `${relPath} is a device, fifo or socket, which is not accepted`);
    }
  }
  await walk(root, "");
  return { files: out.files, skipped };
}

/** Reads a regular file, refusing one swapped for a link or a fifo since it was listed. */
async function readRegular(full: string, relPath: string, budget: Budget): Promise<Buffer> {
  const handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((e: Error) =>
    fail("path", `${relPath} cannot be read: ${e.message}`),
  );
  try {
    const info = await handle.stat();
    if (!info.isFile()) fail("path", `${relPath} changed while it was read`);
    budget.add(info.size);
    const data = await handle.readFile();
    if (data.length !== info.size) fail("path", `${relPath} changed while it was read`);
    return data;
  } finally {
    await handle.close();
  }
}

// --- export -----------------------------------------------------------------------------------

// Generated unit names carry systemd's \xNN escapes, which the strict rule for user paths refuses.
function generatedPathProblem(p: string): string | undefined {
  if (p.startsWith("/") || /[\x00-\x1f]/.test(p) || p.split("/").some((s) => s === "" || s === "." || s === ".."))
    return "not a plain relative path";
  return undefined;
}

export interface ExportArchiveOptions {
  /** The single folder everything is put in. */
  folderName: string;
  /** Modification time of every entry, so the same project gives the same bytes. */
  mtime: Date;
  /** For the README: the mkosi the files were rendered for. */
  mkosiMajor?: number;
  /** For the README: the project is signed, so it names the key files it needs. */
  signed?: boolean;
}

/** A deterministic .tar.gz of a rendered project under `<folderName>/`, with a README on building it. */
export async function writeExportArchive(files: readonly RenderedFile[], opts: ExportArchiveOptions): Promise<Buffer> {
  if (relativePathProblem(opts.folderName) || opts.folderName.includes("/"))
    throw new Error(`invalid export folder name ${JSON.stringify(opts.folderName)}`);
  const all = [...files];
  const taken = new Set(all.map((f) => f.path));
  const readmeName = EXPORT_README_NAMES.find((n) => !taken.has(n));
  if (readmeName)
    all.push({ path: readmeName, content: exportReadme({ mkosiMajor: opts.mkosiMajor ?? DEFAULT_MKOSI_MAJOR, signed: opts.signed }), encoding: "utf8", mode: 0o644, origin: "generated" });

  type Item = { name: string; file?: RenderedFile };
  const items = new Map<string, Item>();
  const links = new Set(all.filter((f) => f.encoding === "symlink").map((f) => f.path));
  for (const f of all) {
    const problem = f.origin === "generated" ? generatedPathProblem(f.path) : relativePathProblem(f.path);
    if (problem) throw new Error(`refusing to export ${JSON.stringify(f.path)}: ${problem}`);
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join("/")}/`;
      // Unpacking a file through a link would write wherever the link points.
      if (links.has(dir.slice(0, -1))) throw new Error(`refusing to export ${f.path}: it lies inside the link ${dir.slice(0, -1)}`);
      items.set(dir, { name: dir });
    }
    items.set(f.path, { name: f.path, file: f });
  }
  const sorted = [...items.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  const fixed = { uid: 0, gid: 0, uname: "root", gname: "root", mtime: opts.mtime };
  const add = (header: Parameters<tar.Pack["entry"]>[0], data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data) pack.entry(header, data, done);
      else pack.entry(header, done);
    });

  await add({ ...fixed, name: `${opts.folderName}/`, type: "directory", mode: 0o755 });
  for (const item of sorted) {
    const name = `${opts.folderName}/${item.name}`;
    const f = item.file;
    if (!f) await add({ ...fixed, name, type: "directory", mode: 0o755 });
    else if (f.encoding === "symlink") await add({ ...fixed, name, type: "symlink", linkname: f.content, mode: 0o777 });
    else await add({ ...fixed, name, type: "file", mode: f.mode & 0o7777 }, Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8"));
  }
  pack.finalize();
  await collected;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}
