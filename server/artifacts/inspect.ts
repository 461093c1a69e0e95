// What is inside an artifact: a disk image's partition table (sfdisk, plus each partition's
// file system read from its first bytes), or a unified kernel image's sections with its
// command line, os-release and kernel version (parsed from the PE file, like `objdump -h`).
import { runOwned } from "@/server/processes/registry";
import type { BuildQueue } from "@/server/builds/queue";
import { buildPaths } from "@/server/builds/paths";
import { AppError } from "@/server/errors";
import { FS_PROBE_BYTES, probeFs, probeTable } from "./fs-probe";
import { classify } from "./kinds";
import { factsOf, getBuildRow, readHead } from "./list";
import { parseOsRelease } from "./os-release";
import { PartitionTableError, parseSfdiskJson, type PartitionTable } from "./partitions";
import { bzImageVersion, kernelRelease, PE_HEAD_BYTES, PeError, parsePe, sectionDataRange, sectionText, type PeHeaders } from "./pe";
import { nameSegments, resolveInOutput, segmentProblem, type Resolved } from "./resolve";

export interface DiskInspection {
  type: "disk";
  name: string;
  table: PartitionTable;
}

export interface UkiSection {
  name: string;
  virtualSize: number;
  rawSize: number;
  vma: number;
  fileOffset: number;
}

export interface UkiInspection {
  type: "uki";
  name: string;
  format: PeHeaders["format"];
  sections: UkiSection[];
  cmdline: string | null;
  osRelease: Record<string, string> | null;
  /** From the .uname section, else from the embedded kernel's header. */
  kernelVersion: string | null;
  sbat: string | null;
}

export type Inspection = DiskInspection | UkiInspection;

/** Largest text section read whole (command lines and os-release are a few hundred bytes). */
const MAX_TEXT_SECTION = 1024 * 1024;

/** The file a name means inside a build's output; NOT_FOUND (naming the field) otherwise. */
export async function findArtifact(queue: BuildQueue, buildId: number, name: string, field = "name"): Promise<Resolved> {
  getBuildRow(queue, buildId);
  const problem = segmentProblem(nameSegments(name));
  if (problem) throw AppError.field([field], problem);
  const found = await resolveInOutput(buildPaths(queue.dataDir, buildId).output, nameSegments(name));
  if (!found) throw AppError.field([field], `build ${buildId} has no file '${name}' in its output folder`, "NOT_FOUND");
  return found;
}

export async function inspectArtifact(queue: BuildQueue, buildId: number, name: string): Promise<Inspection> {
  const file = await findArtifact(queue, buildId, name);
  const facts = await factsOf(file.path, file.name);
  const { kind, kindLabel } = classify(file.name, facts);
  if (kind === "disk") return { type: "disk", name: file.name, table: await inspectDisk(file.path, file.stat.size) };
  if (kind === "uki") return { type: "uki", name: file.name, ...(await inspectUki(file.path)) };
  throw AppError.field(["name"], `'${name}' (${kindLabel}) cannot be inspected: only disk images and unified kernel images can`);
}

export async function inspectDisk(path: string, sizeBytes: number, signal?: AbortSignal): Promise<PartitionTable> {
  const r = await runOwned("sfdisk --json", "sfdisk", ["--json", path], { signal, timeout: 30_000, env: { ...process.env, LC_ALL: "C" } });
  if (r.exitCode !== 0) {
    const why = String(r.stderr ?? "").trim() || r.shortMessage || "sfdisk failed";
    if (probeTable(await readHead(path, 8192)) === null) throw AppError.field(["name"], "is not a disk image: it has no partition table");
    throw new AppError("BAD_REQUEST", `sfdisk could not read the partition table: ${why}`, [{ path: ["name"], message: why }]);
  }
  let table: PartitionTable;
  try {
    table = parseSfdiskJson(String(r.stdout), sizeBytes);
  } catch (e) {
    if (e instanceof PartitionTableError) throw AppError.field(["name"], e.message);
    throw e;
  }
  for (const p of table.partitions) {
    if (p.startBytes >= sizeBytes) continue;
    p.fsType = probeFs(await readHead(path, Math.min(FS_PROBE_BYTES, p.sizeBytes), p.startBytes));
  }
  return table;
}

export async function inspectUki(path: string): Promise<Omit<UkiInspection, "type" | "name">> {
  let pe: PeHeaders;
  try {
    pe = parsePe(await readHead(path, PE_HEAD_BYTES));
  } catch (e) {
    if (e instanceof PeError) throw AppError.field(["name"], e.message);
    throw e;
  }
  const text = async (section: string): Promise<string | null> => {
    const s = pe.sections.find((x) => x.name === section);
    if (!s) return null;
    const { offset, length } = sectionDataRange(s);
    return sectionText(await readHead(path, Math.min(length, MAX_TEXT_SECTION), offset));
  };
  const osrel = await text(".osrel");
  let kernelVersion = (await text(".uname"))?.trim() || null;
  if (!kernelVersion) {
    const linux = pe.sections.find((x) => x.name === ".linux");
    if (linux) {
      const v = bzImageVersion(await readHead(path, Math.min(sectionDataRange(linux).length, 64 * 1024), linux.rawOffset));
      kernelVersion = v ? kernelRelease(v) : null;
    }
  }
  return {
    format: pe.format,
    sections: pe.sections.map((s) => ({ name: s.name, virtualSize: s.virtualSize, rawSize: s.rawSize, vma: s.vma, fileOffset: s.rawOffset })),
    cmdline: (await text(".cmdline"))?.trim() ?? null,
    osRelease: osrel === null ? null : parseOsRelease(osrel),
    kernelVersion,
    sbat: (await text(".sbat"))?.trim() ?? null,
  };
}
