// Writes rendered project files into a folder (for mkosi to read), refusing any path that
// would land outside it.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { relativePathProblem } from "@/server/mkosi/profile";
import type { RenderedFile } from "@/server/mkosi/render";

function generatedPathProblem(p: string): string | undefined {
  if (p.startsWith("/") || /[\x00-\x1f]/.test(p) || p.split("/").some((s) => s === "" || s === "." || s === "..")) return "not a plain relative path";
  return undefined;
}

export async function writeProject(dir: string, files: readonly RenderedFile[]): Promise<void> {
  const root = resolve(dir);
  for (const f of files) {
    // Generated unit names carry systemd's \xNN escapes; user-supplied paths get the strict rule.
    const problem = f.origin === "generated" ? generatedPathProblem(f.path) : relativePathProblem(f.path);
    const target = resolve(root, f.path);
    if (problem || !target.startsWith(root + sep)) throw new Error(`refusing to write ${JSON.stringify(f.path)}: ${problem ?? "outside the project"}`);
    await mkdir(dirname(target), { recursive: true });
    if (f.encoding === "symlink") {
      await symlink(f.content, target);
      continue;
    }
    const data = f.encoding === "base64" ? Buffer.from(f.content, "base64") : Buffer.from(f.content, "utf8");
    await writeFile(target, data, { mode: f.mode, flag: "wx" });
  }
}
