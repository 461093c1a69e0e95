// SHA-256 of output files: computed streaming (images are hundreds of MB), one file at a time
// in the background, and remembered in a sidecar JSON in the build folder (outside output/, so
// it is never listed or served) keyed by name, size, mtime and inode: a rewritten file is hashed
// again, an unchanged one never.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface HashEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

type Sidecar = Record<string, HashEntry>;

export const sidecarPath = (buildDir: string) => join(buildDir, "artifact-hashes.json");

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function readSidecar(buildDir: string): Promise<Sidecar> {
  try {
    const data = JSON.parse(await readFile(sidecarPath(buildDir), "utf8")) as { files?: Sidecar };
    return data.files ?? {};
  } catch {
    return {};
  }
}

export const entryMatches = (e: HashEntry | undefined, st: { size: number; mtimeMs: number; ino: number }) =>
  !!e && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ino === st.ino;

interface Task {
  buildDir: string;
  file: string;
  name: string;
}

/** The background hasher of the server process: one file at a time, each requested once. */
export class Hasher {
  private inFlight = new Map<string, Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private writes = new Map<string, Promise<void>>();

  /** Is a hash of this file queued or running? */
  busy(file: string): boolean {
    return this.inFlight.has(file);
  }

  /** Hashes the file unless already queued; resolves when its hash is in the sidecar. */
  request(task: Task): Promise<void> {
    let p = this.inFlight.get(task.file);
    if (p) return p;
    p = this.chain.then(() => this.run(task)).finally(() => this.inFlight.delete(task.file));
    this.chain = p.catch(() => undefined);
    this.inFlight.set(task.file, p);
    return p;
  }

  private async run(t: Task): Promise<void> {
    const before = await stat(t.file).catch(() => undefined);
    if (!before?.isFile()) return;
    const known = (await readSidecar(t.buildDir))[t.name];
    if (entryMatches(known, before)) return;
    const sha256 = await sha256File(t.file).catch(() => undefined);
    const after = await stat(t.file).catch(() => undefined);
    // Changed while being read (or gone): the hash would name no version of it.
    if (!sha256 || !after || !entryMatches({ ...before, sha256 }, after)) return;
    await this.store(t.buildDir, t.name, { size: before.size, mtimeMs: before.mtimeMs, ino: before.ino, sha256 });
  }

  /** Read-modify-write of one build's sidecar, serialised per build; written atomically. */
  private store(buildDir: string, name: string, entry: HashEntry): Promise<void> {
    const prev = this.writes.get(buildDir) ?? Promise.resolve();
    const next = prev.then(async () => {
      const files = await readSidecar(buildDir);
      files[name] = entry;
      const path = sidecarPath(buildDir);
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ version: 1, files }, null, 1));
      await rename(tmp, path);
    });
    const settled = next.catch(() => undefined);
    this.writes.set(buildDir, settled);
    void settled.then(() => {
      if (this.writes.get(buildDir) === settled) this.writes.delete(buildDir);
    });
    return next;
  }
}

const g = globalThis as { __imageStudioHasher?: Hasher };
export const hasher = (): Hasher => (g.__imageStudioHasher ??= new Hasher());
