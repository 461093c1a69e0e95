// Checks a profile document: the zod schema for each value, then the rules that span fields
// (partition layout, overlay, file paths). The browser runs the same checks as the server.
import type { z } from "zod";
import { FILE_SYSTEM_FORMATS, IMAGE_TREES, profileDocumentSchema, READ_ONLY_FORMATS, SQUASHFS_COMPRESSORS, type ProfileDocument } from "./profile";
import { ENVIRONMENT_SECTION, effectivePartitions, MAX_PARTITIONS, render, SQUASHFS_OPTIONS_VARIABLE, squashfsOptions } from "./render";
import { valueOrDefault } from "./settings";
import { PEM_PRIVATE_KEY, signingKeyReasons } from "./verity";
import { parseSize } from "./size";

export interface Problem {
  /** Where in the document, e.g. ["settings", "Packages", 2] or ["partitions", 0, "format"]. */
  path: (string | number)[];
  message: string;
}

export type ValidationResult = { ok: true; doc: ProfileDocument; problems: [] } | { ok: false; problems: Problem[] };

export function fieldLabel(path: readonly (string | number)[]): string {
  const [head, ...rest] = path;
  if (head === "settings") return rest.map((r) => (typeof r === "number" ? String(r + 1) : r)).join(" item ");
  if (head === "partitions" && typeof rest[0] === "number") return [`partition ${rest[0] + 1}`, ...rest.slice(1)].join(" ");
  if (head === "extraFiles" && typeof rest[0] === "number") return [`extra file ${rest[0] + 1}`, ...rest.slice(1)].join(" ");
  if (head === "repositories" && typeof rest[0] === "number") return [`repository ${rest[0] + 1}`, ...rest.slice(1)].join(" ");
  return path.join(".");
}

export function formatProblem(p: Problem): string {
  return `${fieldLabel(p.path)}: ${p.message}`;
}

export function zodProblems(error: z.ZodError): Problem[] {
  return error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)), message: i.message }));
}

export function validateDocument(input: unknown): ValidationResult {
  const parsed = profileDocumentSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const problems = documentRules(parsed.data);
  return problems.length ? { ok: false, problems } : { ok: true, doc: parsed.data, problems: [] };
}

/** A verity set is a data partition and its hash (and signature) partitions with one match key; a key signs it. */
function verityRules(doc: ProfileDocument): Problem[] {
  const problems: Problem[] = [];
  const parts = doc.partitions;
  parts.forEach((p, i) => {
    if (!p.verity) {
      if (p.verityMatchKey) problems.push({ path: ["partitions", i, "verityMatchKey"], message: "VerityMatchKey= only applies to a partition with Verity=" });
      return;
    }
    if (!p.verityMatchKey) {
      problems.push({ path: ["partitions", i, "verityMatchKey"], message: `Verity=${p.verity} needs a VerityMatchKey= that ties the data, hash and signature partitions together` });
      return;
    }
    const same = (role: string) => parts.some((q) => q.verity === role && q.verityMatchKey === p.verityMatchKey);
    if (p.verity === "data") {
      if (!same("hash")) problems.push({ path: ["partitions", i, "verity"], message: `a Verity=data partition needs a Verity=hash partition with VerityMatchKey=${p.verityMatchKey}` });
      if (p.format && !(READ_ONLY_FORMATS as readonly string[]).includes(p.format))
        problems.push({ path: ["partitions", i, "format"], message: `dm-verity protects a read-only file system: ${p.format} would be mounted writable; use ${READ_ONLY_FORMATS.join(" or ")}` });
    } else if (!same("data")) {
      problems.push({ path: ["partitions", i, "verity"], message: `Verity=${p.verity} needs a Verity=data partition with VerityMatchKey=${p.verityMatchKey}` });
    }
    if (p.verity === "hash" && p.type === "root" ) problems.push({ path: ["partitions", i, "type"], message: "the hash partition of the root is Type=root-verity" });
    if (p.verity === "signature" && !same("hash"))
      problems.push({ path: ["partitions", i, "verity"], message: `Verity=signature signs the root hash of a Verity=hash partition with VerityMatchKey=${p.verityMatchKey}` });
    if (p.verity === "hash" && p.copyFiles.length > 0) problems.push({ path: ["partitions", i, "copyFiles"], message: "a verity hash partition is computed from its data partition: it takes no CopyFiles=" });
  });
  const reasons = signingKeyReasons(doc);
  if (reasons.length > 0 && doc.signingKey === undefined)
    problems.push({
      path: ["signingKey"],
      message: `${reasons.map((r) => r.why).join("; ")}: choose a key and certificate from the key store, or generate one`,
    });
  return problems;
}

/** A compression fits squashfs, its level the compressor's range, and every squashfs partition shares it. */
function compressionRules(doc: ProfileDocument): Problem[] {
  const problems: Problem[] = [];
  let first: { i: number; options: string } | undefined;
  doc.partitions.forEach((p, i) => {
    const at = (field: string, message: string) => problems.push({ path: ["partitions", i, field], message });
    if (p.format !== "squashfs") {
      if (p.compression) at("compression", `Compression applies to squashfs only, not to ${p.format ?? "an unformatted partition"}`);
      else if (p.compressionLevel !== undefined) at("compressionLevel", "a compression level needs a squashfs Compression");
      return;
    }
    if (p.compressionLevel !== undefined) {
      const range = p.compression ? SQUASHFS_COMPRESSORS[p.compression] : undefined;
      if (!p.compression) at("compressionLevel", "a compression level needs a Compression");
      else if (!range) at("compressionLevel", `${p.compression} takes no compression level`);
      else if (p.compressionLevel < range.min || p.compressionLevel > range.max)
        at("compressionLevel", `${p.compression} levels are ${range.min} to ${range.max}`);
    }
    // systemd-repart takes one set of mksquashfs options per image, so all squashfs partitions share it.
    const options = squashfsOptions(p) ?? "mksquashfs's default (gzip)";
    if (!first) first = { i, options };
    else if (options !== first.options)
      at("compression", `every squashfs partition of an image is compressed alike (systemd-repart takes one set of mksquashfs options): partition ${first.i + 1} has ${first.options}`);
  });
  if (first && doc.partitions[first.i]?.compression)
    doc.rawSettings.forEach((r, i) => {
      if (r.key === "Environment" && r.value.includes(`${SQUASHFS_OPTIONS_VARIABLE}=`))
        problems.push({ path: ["rawSettings", i], message: `${r.section}/Environment= sets ${SQUASHFS_OPTIONS_VARIABLE} too, which partition ${first!.i + 1}'s Compression writes into [${ENVIRONMENT_SECTION}]` });
    });
  return problems;
}

/** The rules that need more than one field. Assumes a schema-valid document. */
export function documentRules(doc: ProfileDocument): Problem[] {
  const problems: Problem[] = [];
  const s = doc.settings;
  const parts = doc.partitions;
  const bootable = s.Bootable !== "no" && valueOrDefault(s, "Bootloader") !== "none";
  const disk = valueOrDefault(s, "Format") === "disk";

  // The repart files are numbered 00 to 90, in order; the overlay's data partition counts too.
  if (effectivePartitions(doc).length > MAX_PARTITIONS)
    problems.push({ path: ["partitions"], message: `at most ${MAX_PARTITIONS} partitions (including a persistent data partition) are supported` });

  if (parts.length > 0 && disk) {
    const esps = parts.map((p, i) => ({ p, i })).filter(({ p }) => p.type === "esp");
    if (bootable && esps.length === 0)
      problems.push({ path: ["partitions"], message: "a bootable image needs an ESP (Type=esp) partition" });
    if (esps.length > 1)
      for (const { i } of esps.slice(1)) problems.push({ path: ["partitions", i, "type"], message: "there can be only one ESP" });
    for (const { p, i } of esps) {
      if (p.format !== "vfat") problems.push({ path: ["partitions", i, "format"], message: "the ESP must be formatted vfat" });
      if (bootable) {
        const sources = p.copyFiles.map((c) => c.split(":")[0]);
        for (const need of ["/boot", "/efi"])
          if (!sources.includes(need))
            problems.push({
              path: ["partitions", i, "copyFiles"],
              message: `the ESP needs CopyFiles=${need}:/ (systemd-boot and the UKI are found in ${need} of the image tree)`,
            });
      }
    }
    if (!parts.some((p) => p.type === "root" || p.type === "usr"))
      problems.push({ path: ["partitions"], message: "a root (Type=root) partition is needed" });
  }

  parts.forEach((p, i) => {
    const min = p.sizeMin ? parseSize(p.sizeMin) : undefined;
    const max = p.sizeMax ? parseSize(p.sizeMax) : undefined;
    if (min?.ok && max?.ok && min.bytes > max.bytes)
      problems.push({ path: ["partitions", i, "sizeMax"], message: `SizeMaxBytes (${p.sizeMax}) is smaller than SizeMinBytes (${p.sizeMin})` });
    if (p.type === "swap" && p.format && p.format !== "swap")
      problems.push({ path: ["partitions", i, "format"], message: "a swap partition must be formatted swap" });
    if (p.format === "swap" && p.type !== "swap")
      problems.push({ path: ["partitions", i, "format"], message: "Format=swap only fits a swap partition" });
    if (p.minimize && p.minimize !== "off" && p.format && !FILE_SYSTEM_FORMATS.includes(p.format))
      problems.push({ path: ["partitions", i, "minimize"], message: `Minimize= does not apply to ${p.format}` });
    if ((READ_ONLY_FORMATS as readonly string[]).includes(p.format ?? "") && p.copyFiles.length === 0 && p.type !== "esp")
      problems.push({ path: ["partitions", i, "copyFiles"], message: `a ${p.format} file system is read-only: it needs CopyFiles= to have any content` });
  });

  problems.push(...verityRules(doc), ...compressionRules(doc));

  const labels = new Map<string, number>();
  effectivePartitions(doc).forEach((p, i) => {
    if (!p.label || p.label.includes("%")) return;
    const seen = labels.get(p.label);
    if (seen !== undefined)
      problems.push(
        i >= parts.length
          ? { path: ["overlay", "label"], message: `label '${p.label}' is already used by partition ${seen + 1}` }
          : { path: ["partitions", i, "label"], message: `label '${p.label}' is already used by partition ${seen + 1}` },
      );
    else labels.set(p.label, i);
  });

  if (doc.overlay.scheme === "persistent" && !disk)
    problems.push({ path: ["overlay", "scheme"], message: "a persistent data partition needs Format=disk" });

  doc.extraFiles.forEach((f, i) => {
    if (PEM_PRIVATE_KEY.test(f.content)) problems.push({ path: ["extraFiles", i, "content"], message: "holds a private key: a profile never holds one (it travels through the API and into exports); the key store keeps signing keys" });
  });
  doc.rawFiles.forEach((f, i) => {
    if (f.encoding !== "symlink" && PEM_PRIVATE_KEY.test(f.encoding === "base64" ? safeAtob(f.content) : f.content))
      problems.push({ path: ["rawFiles", i, "content"], message: `${f.path} holds a private key: a profile never holds one; import it into the key store and choose it as the signing key` });
  });

  const extraPaths = new Map<string, number>();
  doc.extraFiles.forEach((f, i) => {
    if (extraPaths.has(f.path)) problems.push({ path: ["extraFiles", i, "path"], message: `'${f.path}' is listed twice` });
    extraPaths.set(f.path, i);
  });

  doc.rawFiles.forEach((f, i) => {
    if (f.encoding === "symlink" && !IMAGE_TREES.some((t) => f.path.startsWith(t)))
      problems.push({
        path: ["rawFiles", i, "path"],
        message: `${f.path} is a link: links are only accepted inside ${IMAGE_TREES.join(" or ")} (elsewhere mkosi would read a file of this host)`,
      });
  });

  // A link is a leaf: a file under it would be written wherever the link points.
  const links = doc.rawFiles.filter((f) => f.encoding === "symlink").map((f) => `${f.path}/`);
  if (links.length > 0)
    for (const f of render(doc))
      if (links.some((l) => f.path.startsWith(l)))
        problems.push({ path: [f.origin === "extra" ? "extraFiles" : "rawFiles"], message: `${f.path} lies under a link (${links.find((l) => f.path.startsWith(l))!.slice(0, -1)})` });

  // Two sources for one file (an imported raw file and a generated one) would be ambiguous.
  const seen = new Map<string, string>();
  for (const f of render(doc)) {
    const other = seen.get(f.path);
    // Same-origin duplicates (an extra file listed twice) are reported at their field above.
    if (other && other !== f.origin)
      problems.push({ path: f.origin === "raw" ? ["rawFiles"] : ["extraFiles"], message: `${f.path} is both ${other} and ${f.origin} content` });
    seen.set(f.path, f.origin);
  }
  return problems;
}

/** base64 to a binary string, in the browser and in node alike; "" when it is not base64. */
function safeAtob(b64: string): string {
  try {
    return atob(b64);
  } catch {
    return "";
  }
}
