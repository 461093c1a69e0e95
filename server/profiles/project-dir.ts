// Writes rendered project files into a folder (for mkosi to read), refusing any path that
// would land outside it, directly or through a link the project itself holds.
import { mkdir, realpath, symlink, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { relativePathProblem } from "@/server/mkosi/profile";
import type { RenderedFile } from "@/server/mkosi/render";

export async function writeProject(dir: string, files: readonly RenderedFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  // Links last, so no file is ever written through one of them.
  const ordered = [...files.filter((f) => f.encoding !== "symlink"), ...files.filter((f) => f.encoding === "symlink")];
  for (const f of ordered) {
    const problem = relativePathProblem(f.path);
    const target = resolve(root, f.path);
    if (problem || !target.startsWith(root + sep)) throw new Error(`refusing to write ${JSON.stringify(f.path)}: ${problem ?? "outside the project"}`);
    await mkdir(dirname(target), { recursive: true });
    const parent = await realpath(dirname(target));
    if (parent !== root && !parent.startsWith(root + sep)) throw new Error(`refusing to write ${JSON.stringify(f.path)}: its folder leads outside the project`);
    if (f.encoding === "symlink") {
      await symlink(f.content, target);
      continue;
    }
    const data = f.encoding === "base64" ? Buffer.from(f.content, "base64") : Buffer.from(f.content, "utf8");
    await writeFile(target, data, { mode: f.mode, flag: "wx" });
  }
}
