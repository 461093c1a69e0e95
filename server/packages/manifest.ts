// What a build installed: mkosi's JSON manifest (ManifestFormat=json) in its output folder,
// with each package's size from the package index and whether the profile asked for it, and
// the packages added, removed and changed between two builds.
import { eq } from "drizzle-orm";
import { readdir } from "node:fs/promises";
import { buildPaths } from "@/server/builds/paths";
import type { BuildQueue } from "@/server/builds/queue";
import { readBuildProfile } from "@/server/builds/job";
import { builds } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { readManifestFile, sbomName } from "./manifest-file";
import { packageIndexes } from "./service";

export interface ManifestEntry {
  name: string;
  version: string;
  architecture: string;
  /** Installed size from the package index (KiB), when the index has that version. */
  installedKib: number | null;
  /** Named in the profile's Packages= (else pulled in by dependencies or the base system). */
  asked: boolean;
}

export interface BuildManifest {
  buildId: number;
  /** The manifest's name in the output folder, or null when the build has none. */
  file: string | null;
  /** Why there is no manifest, in a sentence. */
  reason: string | null;
  packages: ManifestEntry[];
  totalKib: number;
  /** The SBOM's name in the output folder, when it was written. */
  sbom: string | null;
}

export async function buildManifest(queue: BuildQueue, buildId: number): Promise<BuildManifest> {
  const row = queue.db.select().from(builds).where(eq(builds.id, buildId)).get();
  if (!row) throw AppError.field(["buildId"], `build ${buildId} does not exist`, "NOT_FOUND");
  const paths = buildPaths(queue.dataDir, buildId);
  const empty = (reason: string): BuildManifest => ({ buildId, file: null, reason, packages: [], totalKib: 0, sbom: null });
  if (row.state !== "succeeded") return empty(`build ${buildId} has not succeeded (${row.state}): only a finished image has a manifest`);
  const found = await readManifestFile(paths.output);
  if (!found) return empty("this build wrote no package manifest: its profile does not set ManifestFormat=json (or the file was deleted)");
  const doc = await readBuildProfile(paths).catch(() => null);
  const asked = new Set(doc?.settings.Packages ?? []);
  // Sizes from the index of the profile's sources as they were, when one is there (no fetch).
  const sizes = doc ? packageIndexes(queue).sizesOf(doc, found.manifest.packages) : new Map<string, number>();
  const packages = found.manifest.packages
    .map((p) => ({ name: p.name, version: p.version, architecture: p.architecture, installedKib: sizes.get(`${p.name}=${p.version}`) ?? null, asked: asked.has(p.name) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sbom = sbomName(found.file);
  const hasSbom = (await readdir(paths.output).catch(() => [] as string[])).includes(sbom);
  return { buildId, file: found.file, reason: null, packages, totalKib: packages.reduce((s, p) => s + (p.installedKib ?? 0), 0), sbom: hasSbom ? sbom : null };
}

export interface ManifestDiff {
  /** In the other build, not in this one. */
  added: ManifestEntry[];
  /** In this build, not in the other. */
  removed: ManifestEntry[];
  changed: { name: string; architecture: string; from: string; to: string }[];
  unchanged: number;
}

/** What turns `from`'s packages into `to`'s. */
export function diffManifests(from: readonly ManifestEntry[], to: readonly ManifestEntry[]): ManifestDiff {
  const key = (p: ManifestEntry) => `${p.name}:${p.architecture}`;
  const a = new Map(from.map((p) => [key(p), p]));
  const b = new Map(to.map((p) => [key(p), p]));
  const out: ManifestDiff = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [k, p] of b) if (!a.has(k)) out.added.push(p);
  for (const [k, p] of a) {
    const q = b.get(k);
    if (!q) out.removed.push(p);
    else if (q.version !== p.version) out.changed.push({ name: p.name, architecture: p.architecture, from: p.version, to: q.version });
    else out.unchanged++;
  }
  return out;
}

export async function manifestDiff(queue: BuildQueue, buildId: number, againstBuildId: number): Promise<ManifestDiff & { from: BuildManifest; to: BuildManifest }> {
  if (buildId === againstBuildId) throw AppError.field(["againstBuildId"], "must be another build than the one compared");
  const [from, to] = await Promise.all([buildManifest(queue, buildId), buildManifest(queue, againstBuildId)]);
  if (!from.file) throw AppError.field(["buildId"], from.reason ?? "has no manifest", "PRECONDITION_FAILED");
  if (!to.file) throw AppError.field(["againstBuildId"], to.reason ?? "has no manifest", "PRECONDITION_FAILED");
  return { ...diffManifests(from.packages, to.packages), from: { ...from, packages: [] }, to: { ...to, packages: [] } };
}

