// Walking the files a test wrote or a build left.
import { readdir } from "node:fs/promises";
import { join } from "node:path";

/** Every regular file under a folder, recursively (links and the like left out). */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
