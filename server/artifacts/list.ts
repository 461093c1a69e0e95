// A build's output folder as the artifacts view shows it: every file with its kind in words,
// sizes (apparent and on disk: images are sparse), SHA-256 and how it compares with the
// build's checksum file.
import { eq } from "drizzle-orm";
import { open, readdir, readFile, readlink, realpath, lstat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { builds, type BuildRow, type BuildState } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { parseSha256Sums } from "./checksums";
import { FS_PROBE_BYTES, probeFs, probeTable } from "./fs-probe";
import { entryMatches, hasher, readSidecar } from "./hashes";
import { classify, type ArtifactKind, type Facts } from "./kinds";
import { PE_HEAD_BYTES, PeError, parsePe } from "./pe";
import { TEMP_RE } from "./resolve";

export type ChecksumState = "verified" | "mismatch" | "not-listed" | "no-checksum-file" | "pending";

export interface Artifact {
  /** Path relative to the build's output folder ("/"-separated). */
  name: string;
  kind: ArtifactKind;
  kindLabel: string;
  apparentBytes: number;
  /** st_blocks * 512. */
  diskBytes: number;
  sha256: string | null;
  checksum: ChecksumState;
  downloadUrl: string;
  /** For a link: the name it points at inside the output folder; null if outside or dangling (never served). */
  linkTarget: string | null;
  /** For partition images and disk-less raw files: the file system at its start. */
  fsType: string | null;
  /** For conversions and compressed copies: the name of the raw image they were made from, when it is there. */
  derivedFrom: string | null;
  modifiedAt: string;
}

export interface ArtifactList {
  buildId: number;
  state: BuildState;
  outputExists: boolean;
  files: Artifact[];
  /** Name of the build's SHA256SUMS file, or null. */
  checksumFile: string | null;
  /** Names the checksum file lists that are not in the output folder. */
  checksumMissing: string[];
  /** Sum over regular files (links count 0). */
  totalApparentBytes: number;
  totalDiskBytes: number;
  /** Whether SHA-256 sums are still being computed (call artifacts.hash to wait for them). */
  hashing: boolean;
}

export function getBuildRow(queue: BuildQueue, id: number): BuildRow {
  const row = queue.db.select().from(builds).where(eq(builds.id, id)).get();
  if (!row) throw AppError.field(["buildId"], `build ${id} does not exist`, "NOT_FOUND");
  return row;
}

export const downloadUrl = (buildId: number, name: string) =>
  `/api/builds/${buildId}/artifacts/${name.split("/").map(encodeURIComponent).join("/")}`;

/** The first `n` bytes of a file (fewer if it is shorter). */
export async function readHead(path: string, n: number, position = 0): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, position);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** What the first bytes of a file tell classify(). */
export async function factsOf(path: string, name: string): Promise<Facts> {
  const lower = name.toLowerCase();
  if (lower.endsWith(".raw") || lower.endsWith(".img")) {
    const head = await readHead(path, FS_PROBE_BYTES);
    const table = probeTable(head);
    return { table, fsType: table ? null : probeFs(head) };
  }
  if (lower.endsWith(".efi")) {
    try {
      return { uki: parsePe(await readHead(path, PE_HEAD_BYTES)).sections.some((s) => s.name === ".linux") };
    } catch (e) {
      if (e instanceof PeError) return { uki: false };
      throw e;
    }
  }
  return {};
}

interface Entry {
  name: string;
  abs: string;
  link: boolean;
}

async function walk(root: string, dir: string, out: Entry[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const abs = join(dir, e.name);
    const name = relative(root, abs).split(sep).join("/");
    if (TEMP_RE.test(e.name)) continue;
    if (e.isSymbolicLink()) out.push({ name, abs, link: true });
    else if (e.isDirectory()) await walk(root, abs, out);
    else if (e.isFile()) out.push({ name, abs, link: false });
  }
}

/** A link's target as a name inside the output folder, or null (outside, dangling, not a file). */
async function linkTarget(realOut: string, abs: string): Promise<string | null> {
  try {
    const text = await readlink(abs);
    const target = await realpath(resolve(dirname(abs), text));
    const rel = relative(realOut, target);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return null;
    if (!(await lstat(target)).isFile()) return null;
    return rel.split(sep).join("/");
  } catch {
    return null;
  }
}

export interface ListOptions {
  /** Wait for every missing hash instead of answering with "pending". */
  wait?: boolean;
}

export async function listArtifacts(queue: BuildQueue, buildId: number, opts: ListOptions = {}): Promise<ArtifactList> {
  const row = getBuildRow(queue, buildId);
  const paths = buildPaths(queue.dataDir, buildId);
  const entries: Entry[] = [];
  let realOut: string | null = null;
  try {
    realOut = await realpath(paths.output);
    await walk(paths.output, paths.output, entries);
  } catch {
    realOut = null;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  // Files still being written are not hashed: their sums would be of nothing final.
  const settled = row.state !== "queued" && row.state !== "running";
  const checksumFile = entries.find((e) => !e.link && /(^|\.)SHA256SUMS$/.test(e.name) && !e.name.includes("/"))?.name ?? null;
  const listed = checksumFile ? parseSha256Sums(await readFile(join(paths.output, checksumFile), "utf8").catch(() => "")) : new Map<string, string>();
  let sidecar = await readSidecar(paths.dir);

  const stats = new Map<string, import("node:fs").Stats>();
  for (const e of entries) if (!e.link) stats.set(e.name, await lstat(e.abs));
  const missing = settled ? entries.filter((e) => !e.link && !entryMatches(sidecar[e.name], stats.get(e.name)!)) : [];
  const requests = missing.map((e) => hasher().request({ buildDir: paths.dir, file: e.abs, name: e.name }));
  if (opts.wait && requests.length > 0) {
    await Promise.allSettled(requests);
    sidecar = await readSidecar(paths.dir);
  } else void Promise.allSettled(requests);

  const names = new Set(entries.map((e) => e.name));
  const files: Artifact[] = [];
  let hashing = false;
  for (const e of entries) {
    if (e.link) {
      const target = realOut ? await linkTarget(realOut, e.abs) : null;
      const st = await lstat(e.abs);
      files.push({
        name: e.name,
        kind: "link",
        kindLabel: target ? `Link to ${target}` : "Link to a file outside the output folder (not served)",
        apparentBytes: 0,
        diskBytes: 0,
        sha256: null,
        checksum: checksumFile ? "not-listed" : "no-checksum-file",
        downloadUrl: downloadUrl(buildId, e.name),
        linkTarget: target,
        fsType: null,
        derivedFrom: null,
        modifiedAt: st.mtime.toISOString(),
      });
      continue;
    }
    const st = stats.get(e.name)!;
    const facts = await factsOf(e.abs, e.name).catch((): Facts => ({}));
    const { kind, kindLabel } = classify(e.name, facts);
    const entry = sidecar[e.name];
    const sha256 = entryMatches(entry, st) ? entry!.sha256 : null;
    if (sha256 === null && settled) hashing = true;
    const expected = listed.get(e.name);
    const checksum: ChecksumState =
      sha256 === null ? "pending" : expected !== undefined ? (expected === sha256 ? "verified" : "mismatch") : checksumFile ? "not-listed" : "no-checksum-file";
    let derivedFrom: string | null = null;
    if (kind === "conversion" || kind === "compressed") {
      const stem = e.name.replace(/\.[^./]+$/, "");
      const candidates = kind === "conversion" ? [`${stem}.raw`, `${stem}.img`] : [stem];
      derivedFrom = candidates.find((c) => names.has(c)) ?? null;
    }
    files.push({
      name: e.name,
      kind,
      kindLabel,
      apparentBytes: st.size,
      diskBytes: st.blocks * 512,
      sha256,
      checksum,
      downloadUrl: downloadUrl(buildId, e.name),
      linkTarget: null,
      fsType: facts.fsType ?? null,
      derivedFrom,
      modifiedAt: st.mtime.toISOString(),
    });
  }
  const regular = files.filter((f) => f.kind !== "link");
  return {
    buildId,
    state: row.state,
    outputExists: realOut !== null,
    files,
    checksumFile,
    checksumMissing: [...listed.keys()].filter((n) => !names.has(n)).sort(),
    totalApparentBytes: regular.reduce((s, f) => s + f.apparentBytes, 0),
    totalDiskBytes: regular.reduce((s, f) => s + f.diskBytes, 0),
    hashing,
  };
}
