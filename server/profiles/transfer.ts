// Import of mkosi projects (uploaded archive or server folder) into profiles, and export of a
// profile as a plain mkosi project archive.
import { lstat, realpath } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import type { Db } from "@/server/db/client";
import type { ProfileRow } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { importProject, type ProjectFile } from "@/server/mkosi/import";
import { PROFILE_NAME_MAX } from "@/server/mkosi/profile";
import { render } from "@/server/mkosi/render";
import { readArchive, readFolder, writeExportArchive } from "./archive";
import { needsSigningKey } from "@/server/mkosi/verity";
import type { Problem } from "@/server/mkosi/validate";
import { createImportedProfile, getProfile, listProfiles } from "./service";

export interface ImportOutcome {
  profile: ProfileRow;
  /** What the import kept as written, renamed or moved, for the user. */
  notes: string[];
  /** Rules of the form the imported partition layout breaks, marked in the editor. */
  problems: Problem[];
}

/** The first free name among base, "base (2)", "base (3)", ... */
function uniqueName(db: Db, base: string): string {
  const taken = new Set(listProfiles(db).map((p) => p.name));
  const stem = base.trim().slice(0, PROFILE_NAME_MAX - 6).trim() || "Imported project";
  if (!taken.has(stem)) return stem;
  for (let n = 2; ; n++) if (!taken.has(`${stem} (${n})`)) return `${stem} (${n})`;
}

function save(db: Db, files: ProjectFile[], explicitName: string | undefined, fallbackName: string | undefined): ImportOutcome {
  const { document, notes, problems, topFolder } = importProject(files);
  // An explicit name is used as given (a taken one is a CONFLICT); a derived one is made unique.
  const name =
    explicitName ?? uniqueName(db, topFolder ?? fallbackName ?? document.settings.ImageId ?? "Imported project");
  const profile = createImportedProfile(db, name, document);
  return { profile, notes, problems };
}

/** Creates a profile from an uploaded .tar.gz, .tar or .zip of an mkosi project. */
export async function importArchive(db: Db, buffer: Buffer, name?: string): Promise<ImportOutcome> {
  const files = await readArchive(buffer);
  return save(db, files, name, undefined);
}

export const IMPORT_ROOTS_ENV = "IMAGE_STUDIO_IMPORT_ROOTS";

/** The folders below which server folders may be imported (colon-separated); none when unset. */
export function importRoots(env: Record<string, string | undefined> = process.env): string[] {
  return (env[IMPORT_ROOTS_ENV] ?? "")
    .split(":")
    .filter((r) => isAbsolute(r))
    .map((r) => resolve(r));
}

const below = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

/**
 * The folder, resolved, when it is below an import root (links too) and has an mkosi.conf at
 * its top. Nothing is read before that, and every refusal says the same, whether the path
 * exists or not: the API tells nothing about the machine's files outside the roots.
 */
async function allowedFolder(path: string, roots: readonly string[]): Promise<string> {
  if (roots.length === 0)
    throw AppError.field(["path"], `importing server folders is off (${IMPORT_ROOTS_ENV} is not set): upload an archive of the project instead`, "PRECONDITION_FAILED");
  const refused = AppError.field(["path"], `must be an mkosi project folder (with mkosi.conf at its top) below ${roots.join(" or ")}`);
  if (!isAbsolute(path) || !roots.some((r) => below(r, resolve(path)))) throw refused;
  const real = await realpath(path).catch(() => undefined);
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (!real || !realRoots.some((r) => below(r, real))) throw refused;
  const conf = await lstat(join(real, "mkosi.conf")).catch(() => undefined);
  if (!conf?.isFile()) throw refused;
  return real;
}

/** Creates a profile from an mkosi project folder on this machine, below an import root. */
export async function importFolder(db: Db, path: string, name?: string, roots = importRoots()): Promise<ImportOutcome> {
  const { files, skipped } = await readFolder(await allowedFolder(path, roots));
  const outcome = save(db, files, name, basename(path.replace(/\/+$/, "")) || undefined);
  if (skipped.length > 0) outcome.notes.push(`left out build results: ${skipped.join(", ")}`);
  return outcome;
}

/** A file-system-safe folder and file name for a profile. */
export function exportSlug(name: string, id: number): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 64)
    .replace(/[-.]+$/g, "");
  return slug || `profile-${id}`;
}

/** The profile rendered for this mkosi, as `<slug>.tar.gz` holding `<slug>/`. */
export async function exportProfile(db: Db, id: number, mkosiMajor: number): Promise<{ filename: string; buffer: Buffer }> {
  const row = getProfile(db, id);
  const slug = exportSlug(row.name, row.id);
  const files = render(row.document, { mkosiMajor });
  // The last save's time: the same revision always gives the same bytes.
  const buffer = await writeExportArchive(files, { folderName: slug, mtime: row.updatedAt, mkosiMajor, signed: needsSigningKey(row.document) });
  return { filename: `${slug}.tar.gz`, buffer };
}
