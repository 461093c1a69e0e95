// What an output file is, in words, from its name and what its first bytes say.
import { CONVERSION_FORMAT_INFO } from "./conversion-formats";

export const ARTIFACT_KINDS = ["disk", "partition", "uki", "kernel", "initrd", "checksums", "manifest", "conversion", "compressed", "link", "other"] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface Facts {
  /** For .raw/.img files: the partition table its first bytes hold, if any. */
  table?: "gpt" | "dos" | null;
  /** For partition images: the file system at its start. */
  fsType?: string | null;
  /** For .efi files: does it carry a .linux section (a UKI) or not (a plain EFI program)? */
  uki?: boolean;
}

const COMPRESSORS: Record<string, string> = { zst: "zstd", xz: "xz", gz: "gzip", bz2: "bzip2" };
/** A conversion's result by its extension (compressed copies are told by COMPRESSORS). */
const CONVERSIONS: Record<string, string> = Object.fromEntries(
  Object.entries(CONVERSION_FORMAT_INFO).flatMap(([format, info]) => (info.fileLabel ? [[format, info.fileLabel]] : [])),
);

/** Words for a split partition image's name part ("root-x86-64", "esp", "usr-arm64-verity"). */
export function splitPartitionLabel(part: string): string | null {
  const simple: Record<string, string> = {
    esp: "EFI System Partition",
    xbootldr: "Extended boot partition (XBOOTLDR)",
    swap: "Swap partition",
    home: "/home partition",
    srv: "/srv partition",
    var: "/var partition",
    tmp: "/var/tmp partition",
    "linux-generic": "Linux partition",
  };
  if (simple[part]) return simple[part];
  const m = /^(root|usr)-(.+?)(-verity-sig|-verity)?$/.exec(part);
  if (!m) return null;
  const what = m[1] === "root" ? "Root" : "/usr";
  const suffix = m[3] === "-verity-sig" ? " verity signature" : m[3] === "-verity" ? " verity" : "";
  return `${what}${suffix} partition (${m[2]})`;
}

export function classify(name: string, facts: Facts = {}): { kind: ArtifactKind; kindLabel: string } {
  const base = name.split("/").pop() ?? name;
  if (/(^|\.)SHA256SUMS$/.test(base)) return { kind: "checksums", kindLabel: "SHA-256 checksums" };
  if (/(^|\.)SHA256SUMS\.(gpg|sig|asc)$/.test(base)) return { kind: "other", kindLabel: "Checksum signature" };
  if (base.endsWith(".manifest")) return { kind: "manifest", kindLabel: "Package manifest (JSON)" };
  if (base.endsWith(".spdx.json")) return { kind: "manifest", kindLabel: "SBOM of the installed packages (SPDX 2.3 JSON)" };
  if (base.endsWith(".changelog")) return { kind: "other", kindLabel: "Package changelog" };
  const ext = /\.([A-Za-z0-9]+)$/.exec(base)?.[1]?.toLowerCase() ?? "";
  if (CONVERSIONS[ext]) return { kind: "conversion", kindLabel: CONVERSIONS[ext] };
  if (COMPRESSORS[ext]) {
    const inner = classify(name.slice(0, -(ext.length + 1)));
    const what = inner.kind === "other" ? "File" : inner.kindLabel;
    return { kind: "compressed", kindLabel: `${what}, ${COMPRESSORS[ext]}-compressed` };
  }
  if (ext === "efi") return facts.uki === false ? { kind: "other", kindLabel: "EFI program" } : { kind: "uki", kindLabel: "Unified kernel image" };
  if (ext === "vmlinuz" || /^vmlinuz/.test(base)) return { kind: "kernel", kindLabel: "Linux kernel" };
  if (ext === "initrd" || /^initrd/.test(base) || base.endsWith(".cpio")) return { kind: "initrd", kindLabel: "Initial RAM disk (initrd)" };
  if (ext === "raw" || ext === "img") {
    if (facts.table === "gpt") return { kind: "disk", kindLabel: "Disk image (raw, GPT)" };
    if (facts.table === "dos") return { kind: "disk", kindLabel: "Disk image (raw, MBR)" };
    const parts = base.split(".");
    const part = parts.length >= 3 ? parts[parts.length - 2]! : "";
    const label = splitPartitionLabel(part);
    if (label) return { kind: "partition", kindLabel: label };
    if (facts.table === undefined) return { kind: "disk", kindLabel: "Disk image (raw)" };
    if (facts.fsType) return { kind: "partition", kindLabel: `Partition image (${facts.fsType})` };
    return { kind: "other", kindLabel: "Raw image" };
  }
  return { kind: "other", kindLabel: "File" };
}
