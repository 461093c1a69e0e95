// Turning a requested name into a file inside one build's output folder, and nothing else:
// every segment checked, the path resolved with links followed, and the result required to
// stay inside the (resolved) output folder.
import { lstat, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";

/** Where conversion job `jobId` writes `target` first, renaming it when done; never listed or served. */
export const tempPath = (target: string, jobId: number) => join(dirname(target), `.${basename(target)}.${jobId}.partial`);
/** The names tempPath makes. */
export const TEMP_RE = /^\..+\.\d+\.partial$/;

/** Why a list of path segments is refused, or null if each is a plain name. */
export function segmentProblem(segments: readonly string[]): string | null {
  if (segments.length === 0) return "is empty";
  for (const s of segments) {
    if (s === "") return "has an empty segment (an absolute path or '//')";
    if (s === "." || s === "..") return "must not contain '.' or '..'";
    if (/[/\\\0]/.test(s)) return "must not contain encoded '/', '\\' or NUL";
    if (s.length > 255) return "has a segment longer than 255 characters";
  }
  return null;
}

export const nameSegments = (name: string) => name.split("/");

export interface Resolved {
  /** The real path of the file (links followed). */
  path: string;
  /** Its name relative to the output folder (the link's target name when a link was asked for). */
  name: string;
  /** Whether the requested name was a link. */
  viaLink: boolean;
  stat: Stats;
}

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
};

/** The regular file `segments` names inside `output`, or null (missing, outside, not a file). */
export async function resolveInOutput(output: string, segments: readonly string[]): Promise<Resolved | null> {
  if (segmentProblem(segments) !== null) return null;
  const asked = join(output, ...segments);
  if (!inside(output, asked)) return null;
  try {
    const realOut = await realpath(output);
    const real = await realpath(asked);
    if (!inside(realOut, real)) return null;
    const st = await stat(real);
    if (!st.isFile() || TEMP_RE.test(basename(real))) return null;
    const viaLink = (await lstat(asked)).isSymbolicLink();
    return { path: real, name: relative(realOut, real).split(sep).join("/"), viaLink, stat: st };
  } catch {
    return null;
  }
}
