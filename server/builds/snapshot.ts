// What a build built from: the profile's rendered files, written into the build's own folder
// when it is queued, read back from there for the history, and diffed against another build
// or the profile as it is now.
import { createTwoFilesPatch } from "diff";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { RenderedFile } from "@/server/mkosi/render";

export interface SnapshotFile {
  /** Relative to the project folder, '/'-separated. */
  path: string;
  encoding: "utf8" | "base64" | "symlink";
  /** Text, base64 bytes (not valid UTF-8), or a link's target. */
  content: string;
  mode: number;
  size: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function encode(bytes: Buffer): Pick<SnapshotFile, "encoding" | "content"> {
  try {
    return { encoding: "utf8", content: decoder.decode(bytes) };
  } catch {
    return { encoding: "base64", content: bytes.toString("base64") };
  }
}

/** Every file of a project folder, in path order. */
export async function readSnapshot(projectDir: string): Promise<SnapshotFile[]> {
  const files: SnapshotFile[] = [];
  const walk = async (rel: string) => {
    const entries = await readdir(join(projectDir, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const abs = join(projectDir, path);
      if (e.isDirectory()) await walk(path);
      else if (e.isSymbolicLink()) {
        const target = await readlink(abs);
        files.push({ path, encoding: "symlink", content: target, mode: 0o777, size: target.length });
      } else if (e.isFile()) {
        const [st, bytes] = await Promise.all([lstat(abs), readFile(abs)]);
        files.push({ path, ...encode(bytes), mode: st.mode & 0o7777, size: st.size });
      }
    }
  };
  await walk("");
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Rendered files in the snapshot's shape (what they would be on disk). */
export function fromRendered(files: readonly RenderedFile[]): SnapshotFile[] {
  return files.map((f) => {
    const bytes = f.encoding === "base64" ? Buffer.from(f.content, "base64") : Buffer.from(f.content, "utf8");
    return { path: f.path, mode: f.encoding === "symlink" ? 0o777 : f.mode, size: bytes.length, ...(f.encoding === "symlink" ? { encoding: "symlink", content: f.content } : encode(bytes)) };
  });
}

export const DIFF_STATUSES = ["added", "removed", "changed", "same"] as const;

export interface FileDiff {
  path: string;
  status: (typeof DIFF_STATUSES)[number];
  /** A unified diff (empty when the file is the same). */
  patch: string;
}

const asText = (f: SnapshotFile | undefined): string | undefined =>
  f === undefined ? undefined : f.encoding === "utf8" ? f.content : f.encoding === "symlink" ? `-> ${f.content}\n` : undefined;

const sameFile = (a: SnapshotFile, b: SnapshotFile) => a.encoding === b.encoding && a.content === b.content && a.mode === b.mode;

/** Per file, what turns `from` into `to`; in path order, every path of either side. */
export function diffSnapshots(from: readonly SnapshotFile[], to: readonly SnapshotFile[], labels = { from: "a", to: "b" }): FileDiff[] {
  const a = new Map(from.map((f) => [f.path, f]));
  const b = new Map(to.map((f) => [f.path, f]));
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.map((path) => {
    const x = a.get(path);
    const y = b.get(path);
    const status: FileDiff["status"] = !x ? "added" : !y ? "removed" : sameFile(x, y) ? "same" : "changed";
    if (status === "same") return { path, status, patch: "" };
    const tx = asText(x);
    const ty = asText(y);
    const oldName = x ? `${labels.from}/${path}` : "/dev/null";
    const newName = y ? `${labels.to}/${path}` : "/dev/null";
    let patch: string;
    if ((x && tx === undefined) || (y && ty === undefined)) patch = `Binary files ${oldName} and ${newName} differ\n`;
    else if (x && y && tx === ty) patch = `mode changed: ${x.mode.toString(8)} -> ${y.mode.toString(8)}\n`;
    // jsdiff starts with a line of '=' that `git apply` and `patch` do not need.
    else patch = createTwoFilesPatch(oldName, newName, tx ?? "", ty ?? "", undefined, undefined, { context: 3 }).replace(/^=+\n/, "");
    return { path, status, patch };
  });
}
