// Shared by the tests that fetch a package index: apt's downloaded lists kept between test runs
// in a folder under the system's temporary folder (one per index key), so the suite fetches
// Debian's 9 MB Packages list once rather than in every test file. apt still runs for real:
// with the lists seeded it asks the mirror whether they changed and fetches only what did.
import { execa } from "execa";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { aptPaths } from "@/server/packages/apt";

const CACHE = join(tmpdir(), "image-studio-test-apt-lists");

/** Copies the kept lists of index `key` into the data folder's index, if there are any. */
export async function seedLists(dataDir: string, key: string): Promise<boolean> {
  const from = join(CACHE, key);
  if (!existsSync(from)) return false;
  const to = aptPaths(dataDir, key).lists;
  await mkdir(to, { recursive: true });
  await execa("cp", ["-a", "--", `${from}/.`, to]);
  return true;
}

/** Keeps the data folder's lists of index `key` for the next run (not apt's lock or partial files). */
export async function keepLists(dataDir: string, key: string): Promise<void> {
  const from = aptPaths(dataDir, key).lists;
  if (!existsSync(from)) return;
  await mkdir(CACHE, { recursive: true });
  // Copied aside and renamed into place: another test file may be reading the kept ones.
  const tmp = await mkdtemp(join(CACHE, `.${key}-`));
  await execa("cp", ["-a", "--", `${from}/.`, tmp]);
  await rm(join(tmp, "lock"), { force: true });
  await rm(join(tmp, "partial"), { recursive: true, force: true });
  await rm(join(tmp, "auxfiles"), { recursive: true, force: true });
  const old = `${tmp}.old`;
  await rename(join(CACHE, key), old).catch(() => undefined);
  await rename(tmp, join(CACHE, key));
  await rm(old, { recursive: true, force: true });
}
