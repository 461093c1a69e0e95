// The files of a build's output folder about its packages: mkosi's JSON manifest, read, and
// the SPDX 2.3 SBOM written beside it when the build succeeds. No database: the build job uses it.
import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { tempPath } from "@/server/artifacts/resolve";
import { spdxDocument } from "./sbom";

const manifestSchema = z.object({
  manifest_version: z.number().optional(),
  config: z.object({ name: z.string().optional(), distribution: z.string().optional(), architecture: z.string().optional(), version: z.string().optional(), release: z.string().optional() }).partial().default({}),
  packages: z.array(z.object({ type: z.string().optional(), name: z.string(), version: z.string(), architecture: z.string() })).default([]),
});
export type MkosiManifest = z.infer<typeof manifestSchema>;

/** The JSON manifest mkosi wrote into an output folder (<output>.manifest), or null. */
export async function readManifestFile(outputDir: string): Promise<{ file: string; manifest: MkosiManifest } | null> {
  const names = (await readdir(outputDir).catch(() => [] as string[])).filter((n) => n.endsWith(".manifest")).sort();
  for (const file of names) {
    const text = await readFile(join(outputDir, file), "utf8").catch(() => null);
    if (text === null) continue;
    try {
      const r = manifestSchema.safeParse(JSON.parse(text));
      if (r.success) return { file, manifest: r.data };
    } catch {
      /* not JSON: a changelog-format manifest has another extension */
    }
  }
  return null;
}

/** The SBOM beside a manifest: immutable-debian_1.manifest -> immutable-debian_1.spdx.json. */
export const sbomName = (manifestFile: string) => manifestFile.replace(/\.manifest$/, ".spdx.json");

/**
 * Writes the SPDX 2.3 SBOM of a finished build into its output folder (where the artifact
 * list and the download route serve it). Returns its name, or null without a manifest.
 */
export async function writeSbom(outputDir: string, opts: { mkosiVersion: string; distribution?: string }): Promise<string | null> {
  const found = await readManifestFile(outputDir);
  if (!found) return null;
  const c = found.manifest.config;
  const doc = spdxDocument({
    imageName: c.name ?? "image",
    imageVersion: c.version,
    distribution: c.distribution ?? opts.distribution ?? "debian",
    release: c.release,
    packages: found.manifest.packages,
    created: new Date(),
    namespace: `urn:uuid:${randomUUID()}`,
    creators: ["Tool: image-studio", `Tool: mkosi-${opts.mkosiVersion}`],
  });
  const name = sbomName(found.file);
  // Through a hidden temporary name: the artifact list skips those, so nobody sees half a file.
  const tmp = tempPath(join(outputDir, name), process.pid);
  await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
  await rename(tmp, join(outputDir, name));
  return name;
}
