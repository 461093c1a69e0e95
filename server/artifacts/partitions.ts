// `sfdisk --json <image>` -> the partition table the inspect view draws, with the partition
// types in words (the Discoverable Partitions Specification's GPT types and common MBR ids).

export interface Partition {
  /** 1-based, as in the partition's device node (image1, image2, ...). */
  index: number;
  startBytes: number;
  sizeBytes: number;
  /** GPT: the type UUID in lower case; MBR: the type id in hex ("83", "ef"). */
  typeUuid: string;
  typeName: string;
  /** GPT partition name (mkosi writes the Label= of the repart definition); null when none. */
  label: string | null;
  /** GPT partition UUID (null on MBR). */
  uuid: string | null;
  /** File system read from the partition's first bytes; null when none was recognised. */
  fsType: string | null;
  /** GPT attribute bits as sfdisk prints them, e.g. "GUID:59" (read-only). */
  attrs: string | null;
}

export interface PartitionTable {
  label: "gpt" | "dos";
  /** The disk's identifier (GPT disk GUID, or the MBR signature). */
  id: string | null;
  /** Size of the image file. */
  sizeBytes: number;
  sectorSize: number;
  partitions: Partition[];
}

const ROOT = "Linux root";
const USR = "Linux /usr";
/** GPT type of an x86-64 root partition (the boot check looks for it; the VM is x86-64). */
export const ROOT_X86_64_TYPE = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";

const ARCHES: Record<string, Record<string, string>> = {
  "x86-64": {
    root: ROOT_X86_64_TYPE,
    "root-verity": "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
    "root-verity-sig": "41092b05-9fc8-4523-994f-2def0408b176",
    usr: "8484680c-9521-48c6-9c11-b0720656f69e",
    "usr-verity": "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
    "usr-verity-sig": "e7bb33fb-06cf-4e81-8273-e543b413e2e2",
  },
  x86: { root: "44479540-f297-41b2-9af7-d131d5f0458a", usr: "75250d76-8cc6-458e-bd66-bd47cc81a812" },
  arm64: {
    root: "b921b045-1df0-41c3-af44-4c6f280d3fae",
    "root-verity": "df3300ce-d69f-4c92-978c-9bfb0f38d820",
    "root-verity-sig": "6db69de6-29f4-4758-a7a5-962190f00ce3",
    usr: "b0e01050-ee5f-4390-949a-9101b17104e9",
    "usr-verity": "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e",
    "usr-verity-sig": "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a",
  },
  arm: { root: "69dad710-2ce4-4e3c-b16c-21a1d49abed3", usr: "7d0359a3-02b3-4f0a-865c-654403e70625" },
  riscv64: { root: "72ec70a6-cf74-40e6-bd49-4bda08e8f224", usr: "beaec34b-8442-439b-a40b-984381ed097d" },
};

const WORDS: Record<string, string> = {
  root: ROOT,
  "root-verity": "Linux root verity",
  "root-verity-sig": "Linux root verity signature",
  usr: USR,
  "usr-verity": "Linux /usr verity",
  "usr-verity-sig": "Linux /usr verity signature",
};

export const GPT_TYPES: Record<string, string> = {
  "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI System",
  "bc13c2ff-59e6-4262-a352-b275fd6f7172": "Linux extended boot (XBOOTLDR)",
  "21686148-6449-6e6f-744e-656564454649": "BIOS boot",
  "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
  "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux filesystem",
  "933ac7e1-2eb4-4f13-b844-0e14e2aef915": "Linux home",
  "3b8f8425-20e0-4f3b-907f-1a25a76f98e8": "Linux server data (/srv)",
  "4d21b016-b534-45c2-a9fb-5c16e091fd2d": "Linux variable data (/var)",
  "7ec6f557-3bc5-4aca-b293-16ef5df639d1": "Linux temporary data (/var/tmp)",
  "773f91ef-66d4-49b5-bd83-d683bf40ad16": "Linux per-user home",
  "e6d6d379-f507-44c2-a23c-238f2a3df928": "Linux LVM",
  "a19d880f-05fc-4d3b-a006-743f0f84911e": "Linux RAID",
  "ca7d7ccb-63ed-4c53-861c-1742536059cc": "Linux LUKS",
  "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft basic data",
};
for (const [arch, types] of Object.entries(ARCHES))
  for (const [what, uuid] of Object.entries(types)) GPT_TYPES[uuid] = `${WORDS[what]} (${arch})`;

export const MBR_TYPES: Record<string, string> = {
  "83": "Linux",
  "82": "Linux swap",
  "8e": "Linux LVM",
  fd: "Linux RAID",
  ef: "EFI System",
  b: "W95 FAT32",
  c: "W95 FAT32 (LBA)",
  e: "W95 FAT16 (LBA)",
  "6": "FAT16",
  "7": "HPFS/NTFS/exFAT",
  "5": "Extended",
  f: "W95 Extended (LBA)",
  ee: "GPT protective",
};

export function partitionTypeName(label: "gpt" | "dos", type: string): string {
  const t = type.toLowerCase();
  if (label === "gpt") return GPT_TYPES[t] ?? `Unknown type ${t}`;
  return MBR_TYPES[t.replace(/^0x/, "").replace(/^0+(?=.)/, "")] ?? `Unknown type 0x${t}`;
}

interface SfdiskJson {
  partitiontable?: {
    label?: string;
    id?: string;
    sectorsize?: number;
    partitions?: { node?: string; start?: number; size?: number; type?: string; uuid?: string; name?: string; attrs?: string }[];
  };
}

export class PartitionTableError extends Error {}

/**
 * sfdisk's JSON (sizes in sectors) -> bytes and words. fsType is left null: the caller reads
 * the partitions' first bytes.
 */
export function parseSfdiskJson(json: string, sizeBytes: number): PartitionTable {
  let doc: SfdiskJson;
  try {
    doc = JSON.parse(json) as SfdiskJson;
  } catch {
    throw new PartitionTableError("sfdisk printed something that is not JSON");
  }
  const t = doc.partitiontable;
  if (!t) throw new PartitionTableError("sfdisk found no partition table");
  if (t.label !== "gpt" && t.label !== "dos") throw new PartitionTableError(`unsupported partition table type '${t.label ?? "?"}'`);
  const label = t.label;
  const sectorSize = t.sectorsize ?? 512;
  const partitions = (t.partitions ?? []).map((p, i): Partition => {
    const n = /(\d+)$/.exec(p.node ?? "")?.[1];
    const type = (p.type ?? "").toLowerCase();
    return {
      index: n ? Number(n) : i + 1,
      startBytes: (p.start ?? 0) * sectorSize,
      sizeBytes: (p.size ?? 0) * sectorSize,
      typeUuid: type,
      typeName: partitionTypeName(label, type),
      label: p.name ?? null,
      uuid: p.uuid ? p.uuid.toLowerCase() : null,
      fsType: null,
      attrs: p.attrs ?? null,
    };
  });
  return { label, id: t.id ? t.id.toLowerCase() : null, sizeBytes, sectorSize, partitions };
}
