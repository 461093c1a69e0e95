// Profiles in SQLite: list, create, rename, duplicate, delete and save with optimistic locking.
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "@/server/db/client";
import { profiles, type ProfileRow } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { findPreset, type HostFacts } from "@/server/mkosi/presets";
import { emptyDocument, profileDocumentSchema, profileNameSchema, type ProfileDocument } from "@/server/mkosi/profile";
import { rootScripts, scriptLabel } from "@/server/mkosi/scripts";
import { validateDocument, zodProblems } from "@/server/mkosi/validate";

export type ProfileSummary = Pick<ProfileRow, "id" | "name" | "revision" | "createdAt" | "updatedAt" | "bootCheckAfterBuild"> & {
  distribution: string | undefined;
  release: string | undefined;
  /** What a build runs as root (files, or "file (Key=value)"): non-empty marks a profile that runs code as root. */
  rootScripts: string[];
};

function summary(row: ProfileRow): ProfileSummary {
  const { id, name, revision, createdAt, updatedAt, bootCheckAfterBuild, document } = row;
  const scripts = rootScripts(document).map(scriptLabel);
  return { id, name, revision, createdAt, updatedAt, bootCheckAfterBuild, distribution: document.settings.Distribution, release: document.settings.Release, rootScripts: scripts };
}

function checkName(name: string): string {
  const r = profileNameSchema.safeParse(name);
  if (!r.success) throw AppError.invalid(zodProblems(r.error).map((p) => ({ ...p, path: ["name"] })));
  return r.data;
}

function checkDocument(document: unknown): ProfileDocument {
  const r = validateDocument(document);
  if (!r.ok) throw AppError.invalid(r.problems);
  return r.doc;
}

function isUniqueViolation(e: unknown): boolean {
  return e instanceof Error && /UNIQUE constraint failed: profiles\.name/.test(e.message);
}

function insert(db: Db, name: string, document: ProfileDocument): ProfileRow {
  const now = new Date();
  try {
    return db.insert(profiles).values({ name, document, createdAt: now, updatedAt: now }).returning().get();
  } catch (e) {
    if (isUniqueViolation(e)) throw AppError.field(["name"], `a profile named '${name}' already exists`, "CONFLICT");
    throw e;
  }
}

export function listProfiles(db: Db): ProfileSummary[] {
  return db.select().from(profiles).orderBy(asc(profiles.name)).all().map(summary);
}

export function getProfile(db: Db, id: number): ProfileRow {
  const row = db.select().from(profiles).where(eq(profiles.id, id)).get();
  if (!row) throw new AppError("NOT_FOUND", `profile ${id} does not exist`);
  return row;
}

export function createProfile(db: Db, input: { name: string; presetId?: string; document?: unknown }, host: HostFacts): ProfileRow {
  const name = checkName(input.name);
  let document: ProfileDocument;
  if (input.presetId !== undefined) {
    const preset = findPreset(input.presetId);
    if (!preset) throw AppError.field(["presetId"], `unknown preset '${input.presetId}'`);
    document = preset.build(host);
  } else {
    document = input.document === undefined ? emptyDocument() : checkDocument(input.document);
  }
  return insert(db, name, document);
}

/**
 * A profile from an import: the document is schema-valid, but may break the form's
 * cross-field rules where the importer flagged it (a partition layout mkosi accepted). Those
 * problems are marked in the editor; a save or a build needs them fixed first.
 */
export function createImportedProfile(db: Db, name: string, document: ProfileDocument): ProfileRow {
  const checked = checkName(name);
  const r = profileDocumentSchema.safeParse(document);
  if (!r.success) throw AppError.invalid(zodProblems(r.error));
  return insert(db, checked, r.data);
}

/**
 * Saves a document if nobody saved since `revision`. A stale save changes nothing and gets a
 * CONFLICT carrying the stored revision, so the other tab keeps its edits and can decide.
 */
export function saveProfile(db: Db, input: { id: number; revision: number; document: unknown }): ProfileRow {
  const document = checkDocument(input.document);
  const row = db
    .update(profiles)
    .set({ document, revision: input.revision + 1, updatedAt: new Date() })
    .where(and(eq(profiles.id, input.id), eq(profiles.revision, input.revision)))
    .returning()
    .get();
  if (row) return row;
  const current = getProfile(db, input.id);
  throw new AppError(
    "CONFLICT",
    `this profile was saved elsewhere (revision ${current.revision}, ${current.updatedAt.toISOString()}) after you opened it (revision ${input.revision}); your edits are still here: reload to see theirs, or overwrite`,
    [],
    { currentRevision: current.revision, updatedAt: current.updatedAt.toISOString() },
  );
}

export function renameProfile(db: Db, id: number, name: string): ProfileRow {
  const checked = checkName(name);
  getProfile(db, id);
  try {
    return db.update(profiles).set({ name: checked, updatedAt: new Date() }).where(eq(profiles.id, id)).returning().get()!;
  } catch (e) {
    if (isUniqueViolation(e)) throw AppError.field(["name"], `a profile named '${checked}' already exists`, "CONFLICT");
    throw e;
  }
}

export function duplicateProfile(db: Db, id: number, name?: string): ProfileRow {
  const source = getProfile(db, id);
  const taken = new Set(listProfiles(db).map((p) => p.name));
  let candidate = name ?? `${source.name} (copy)`;
  for (let n = 2; name === undefined && taken.has(candidate); n++) candidate = `${source.name} (copy ${n})`;
  return insert(db, checkName(candidate), source.document);
}

export function deleteProfile(db: Db, id: number): void {
  const r = db.delete(profiles).where(eq(profiles.id, id)).run();
  if (r.changes === 0) throw new AppError("NOT_FOUND", `profile ${id} does not exist`);
}
