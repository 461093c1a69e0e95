// What a signed, verity-protected build proves about itself, read from its outputs: the root
// hash on the UKI's command line and in the verity signature partition (with the certificate
// that signed it), the UKI's Secure Boot signature checked with sbverify against the build's
// certificate, and the PCR 11 values the UKI predicts (checked against its signed .pcrsig).
import { X509Certificate } from "node:crypto";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import type { SigningRecord } from "@/server/builds/service";
import { runOwned } from "@/server/processes/registry";
import { inspectDisk } from "./inspect";
import { classify } from "./kinds";
import { factsOf, getBuildRow, readHead } from "./list";
import type { PartitionTable } from "./partitions";
import { PE_HEAD_BYTES, parsePe, sectionDataRange } from "./pe";
import { parsePcrSig, predictPcr11, type PcrPrediction } from "./pcr";

export interface VerityFacts {
  /** roothash= of the UKI's command line (what the initrd sets dm-verity up with). */
  rootHash: string | null;
  /** The signature partition's JSON: the root hash it signs and the signer's certificate. */
  signature: { rootHash: string; certificateFingerprint: string; matchesCertificate: boolean; matchesRootHash: boolean } | null;
}

export interface VerifiedBootView {
  buildId: number;
  /** Which key signed the build; null for an unsigned build. */
  signing: (SigningRecord & { certificatePem: string }) | null;
  uki: { name: string; sbverify: { passed: boolean; output: string; command: string[] } | null } | null;
  verity: VerityFacts;
  pcr11: { predictions: (PcrPrediction & { signed: boolean })[]; signedBy: string | null } | null;
}

/** Output files of a kind, by name. */
export async function outputsOf(dir: string): Promise<{ uki?: string; disk?: string; verityFiles: string[] }> {
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  let uki: string | undefined;
  let disk: string | undefined;
  for (const name of names) {
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    const kind = classify(name, await factsOf(path, name)).kind;
    if (kind === "uki" && !uki) uki = name;
    if (kind === "disk" && !disk) disk = name;
  }
  return { uki, disk, verityFiles: names.filter((n) => /verity-sig\.raw$/.test(n)) };
}

/** The sections of a UKI, whole (a UKI is a few hundred MiB at most: the initrd dominates). */
export async function ukiSections(path: string): Promise<Map<string, Buffer>> {
  const pe = parsePe(await readHead(path, PE_HEAD_BYTES));
  const file = await readFile(path);
  const out = new Map<string, Buffer>();
  for (const s of pe.sections) {
    const { offset, length } = sectionDataRange(s);
    out.set(s.name, file.subarray(offset, offset + length));
  }
  return out;
}

export const rootHashOf = (cmdline: string) => /(?:^|\s)roothash=([0-9a-f]{64})(?:\s|$)/.exec(cmdline)?.[1] ?? null;

/** The partition of a GPT type name ("Linux root verity signature ..."), from sfdisk's reading. */
export const partitionOf = (table: PartitionTable, re: RegExp) => table.partitions.find((p) => re.test(p.typeName));

export async function readSigning(dataDir: string, buildId: number): Promise<VerifiedBootView["signing"]> {
  const paths = buildPaths(dataDir, buildId);
  const record = await readFile(paths.signing, "utf8").then((t) => JSON.parse(t) as SigningRecord).catch(() => undefined);
  if (!record) return null;
  return { ...record, certificatePem: await readFile(paths.certificate, "utf8") };
}

/** Runs sbverify on an EFI binary against a certificate. */
export async function sbverify(efi: string, certificate: string, signal?: AbortSignal): Promise<{ passed: boolean; output: string; command: string[] }> {
  const args = ["--cert", certificate, efi];
  const r = await runOwned("sbverify", "sbverify", args, { timeout: 120_000, signal });
  const output = `${String(r.stdout ?? "")}${String(r.stderr ?? "")}`.trim();
  return { passed: r.exitCode === 0 && /Signature verification OK/.test(output), output, command: ["sbverify", ...args] };
}

/** What a boot check compares the VM with: the root hash and PCR 11 predictions in the build's UKI. */
export async function expectedOf(dataDir: string, buildId: number): Promise<{ uki: string | null; rootHash: string | null; pcr11: PcrPrediction[] }> {
  const output = buildPaths(dataDir, buildId).output;
  const out = await outputsOf(output);
  if (!out.uki) return { uki: null, rootHash: null, pcr11: [] };
  const uki = join(output, out.uki);
  const sections = await ukiSections(uki);
  const cmdline = sections.get(".cmdline")?.toString("utf8").replace(/\0+$/, "") ?? "";
  return { uki, rootHash: rootHashOf(cmdline), pcr11: sections.has(".pcrsig") ? predictPcr11(sections) : [] };
}

export async function verifiedBoot(queue: BuildQueue, buildId: number, signal?: AbortSignal): Promise<VerifiedBootView> {
  getBuildRow(queue, buildId);
  const paths = buildPaths(queue.dataDir, buildId);
  const out = await outputsOf(paths.output);
  const signing = await readSigning(queue.dataDir, buildId);
  const fingerprint = signing ? new X509Certificate(signing.certificatePem).fingerprint256.replaceAll(":", "").toLowerCase() : null;

  let uki: VerifiedBootView["uki"] = null;
  let rootHash: string | null = null;
  let pcr11: VerifiedBootView["pcr11"] = null;
  if (out.uki) {
    const path = join(paths.output, out.uki);
    const sections = await ukiSections(path);
    const cmdline = sections.get(".cmdline")?.toString("utf8").replace(/\0+$/, "") ?? "";
    rootHash = rootHashOf(cmdline);
    const pcrsig = sections.get(".pcrsig");
    if (pcrsig) {
      const sigs = parsePcrSig(pcrsig.toString("utf8"));
      const signed = new Set(sigs.filter((s) => s.pcrs.includes(11)).map((s) => s.pol));
      pcr11 = { predictions: predictPcr11(sections).map((p) => ({ ...p, signed: signed.has(p.policy) })), signedBy: sigs[0]?.pkfp ?? null };
    }
    uki = { name: out.uki, sbverify: signing ? await sbverify(path, paths.certificate, signal) : null };
  }

  let signature: VerityFacts["signature"] = null;
  const blob = out.verityFiles[0]
    ? await readFile(join(paths.output, out.verityFiles[0]))
    : out.disk
      ? await (async () => {
          const disk = join(paths.output, out.disk!);
          const table = await inspectDisk(disk, (await lstat(disk)).size, signal);
          const part = partitionOf(table, /verity signature/i);
          return part ? readHead(disk, Math.min(part.sizeBytes, 64 * 1024), part.startBytes) : undefined;
        })()
      : undefined;
  if (blob) {
    const text = blob.toString("utf8").replace(/\0+$/, "").trim();
    try {
      const j = JSON.parse(text) as { rootHash?: string; certificateFingerprint?: string };
      if (j.rootHash && j.certificateFingerprint)
        signature = {
          rootHash: j.rootHash,
          certificateFingerprint: j.certificateFingerprint,
          matchesCertificate: fingerprint !== null && j.certificateFingerprint.toLowerCase() === fingerprint,
          matchesRootHash: rootHash !== null && j.rootHash.toLowerCase() === rootHash,
        };
    } catch {
      /* an empty or foreign signature partition: nothing signed */
    }
  }
  return { buildId, signing, uki, verity: { rootHash, signature }, pcr11 };
}
