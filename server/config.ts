import { resolve } from "node:path";

/** The one folder holding the SQLite file, build folders and the mkosi cache. */
export function dataDir(): string {
  // Resolved at run time; the bundler must not trace the working folder.
  return resolve(/*turbopackIgnore: true*/ process.env.IMAGE_STUDIO_DATA ?? "data");
}
