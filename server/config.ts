import { resolve } from "node:path";

/** The one folder holding the SQLite file, build folders and the mkosi cache. */
export function dataDir(): string {
  return resolve(process.env.IMAGE_STUDIO_DATA ?? "data");
}
