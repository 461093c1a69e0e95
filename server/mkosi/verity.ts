// Verified boot in the profile's terms: a dm-verity protected root (the data, hash and
// signature partitions systemd-repart ties together by one VerityMatchKey=), and the signing
// key that Secure Boot, the verity signature and the PCR policy need. Pure.
import type { Partition, ProfileDocument, VerityRole } from "./profile";
import { KEY_FILES, keySettingsFor, type KeySettingDef } from "./settings";

/** The header of any PEM private key (PKCS#8, RSA, EC, encrypted): never in a profile, an API answer or an export. */
export const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/** The match key the form uses for the root's three partitions. */
export const ROOT_VERITY_KEY = "root";

const VERITY_TYPES: Record<Exclude<VerityRole, "data">, Partition["type"]> = { hash: "root-verity", signature: "root-verity-sig" };

export interface VerityRoot {
  /** Index of the root (data) partition. */
  data: number;
  hash: number | undefined;
  signature: number | undefined;
  matchKey: string;
}

/** The root's verity set, when the root partition is marked Verity=data. */
export function verityRoot(doc: Pick<ProfileDocument, "partitions">): VerityRoot | undefined {
  const data = doc.partitions.findIndex((p) => p.type === "root" && p.verity === "data");
  if (data < 0) return undefined;
  const matchKey = doc.partitions[data]!.verityMatchKey ?? "";
  const find = (role: VerityRole) => {
    const i = doc.partitions.findIndex((p) => p.verity === role && (p.verityMatchKey ?? "") === matchKey);
    return i < 0 ? undefined : i;
  };
  return { data, hash: find("hash"), signature: find("signature"), matchKey };
}

function verityPartition(role: Exclude<VerityRole, "data">, matchKey: string): Partition {
  // The hash tree is sized from the data; the signature is a small JSON blob (repart's default 16 KiB).
  return { type: VERITY_TYPES[role], label: VERITY_TYPES[role], verity: role, verityMatchKey: matchKey, copyFiles: [], extra: [], ...(role === "hash" ? { minimize: "best" as const } : {}) };
}

/**
 * The document with its root protected by dm-verity (hash partition, and a signature partition
 * when `signed`), or without it. The root must be read-only for verity: a writable format is
 * left to the validator to name.
 */
export function withVerityRoot(doc: ProfileDocument, mode: "off" | "hash" | "signed"): ProfileDocument {
  const kept = doc.partitions
    .filter((p) => p.verity !== "hash" && p.verity !== "signature")
    .map((p) => (p.type === "root" ? { ...p, verity: undefined, verityMatchKey: undefined } : p))
    .map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Partition);
  if (mode === "off") return { ...doc, partitions: kept };
  const root = kept.findIndex((p) => p.type === "root");
  if (root < 0) return { ...doc, partitions: kept };
  const partitions = [...kept];
  partitions[root] = { ...partitions[root]!, verity: "data", verityMatchKey: ROOT_VERITY_KEY };
  const extra = [verityPartition("hash", ROOT_VERITY_KEY), ...(mode === "signed" ? [verityPartition("signature", ROOT_VERITY_KEY)] : [])];
  partitions.splice(root + 1, 0, ...extra);
  return { ...doc, partitions };
}

/** What the form shows for the root: off, hash only, or hash and signature. */
export function verityMode(doc: Pick<ProfileDocument, "partitions">): "off" | "hash" | "signed" {
  const v = verityRoot(doc);
  if (!v || v.hash === undefined) return "off";
  return v.signature !== undefined ? "signed" : "hash";
}

/** Why the profile needs a signing key (each with the field that asks), empty when it needs none. */
export function signingKeyReasons(doc: ProfileDocument): { path: (string | number)[]; why: string }[] {
  const reasons: { path: (string | number)[]; why: string }[] = [];
  if (doc.settings.SecureBoot === true) reasons.push({ path: ["settings", "SecureBoot"], why: "Secure Boot signs systemd-boot and the UKI" });
  doc.partitions.forEach((p, i) => {
    if (p.verity === "signature") reasons.push({ path: ["partitions", i, "verity"], why: "a verity signature partition signs the root hash" });
  });
  if (doc.settings.SignExpectedPcr === "yes") reasons.push({ path: ["settings", "SignExpectedPcr"], why: "SignExpectedPcr=yes signs the expected PCR 11 values" });
  return reasons;
}

export const needsSigningKey = (doc: ProfileDocument) => signingKeyReasons(doc).length > 0;

/** Measured boot: the UKI carries a signed PCR 11 prediction, so the VM gets a TPM to check it against. */
export const measuredBoot = (doc: ProfileDocument) =>
  doc.settings.SecureBoot === true && doc.signingKey !== undefined && doc.settings.SignExpectedPcr !== "no";

export interface KeyFileNeed {
  /** Where mkosi looks for it in a project folder without a setting. */
  path: string;
  file: KeySettingDef["file"];
  /** The settings that read it, for this mkosi major. */
  settings: string[];
}

/**
 * The key files a project of this profile needs, by path: never part of the rendered files
 * (a private key stays in the key store), supplied by the build from the key store and named
 * in an export's README.
 */
export function keyFilesOf(doc: ProfileDocument, mkosiMajor: number): KeyFileNeed[] {
  if (!needsSigningKey(doc)) return [];
  const settings = keySettingsFor(mkosiMajor);
  return (["key", "certificate"] as const).map((file) => ({
    path: KEY_FILES[file],
    file,
    settings: settings.filter((s) => s.file === file).map((s) => s.key),
  }));
}

/** mkosi's command line for a build signed with these files (paths on this machine, never contents). */
export function keyArguments(files: { key: string; certificate: string }, mkosiMajor: number): string[] {
  return keySettingsFor(mkosiMajor).map((s) => `${s.option}=${files[s.file]}`);
}
