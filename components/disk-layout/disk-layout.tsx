"use client";
// The profile's planned disk, drawn with the shared partition bar (sizes from the profile).
import type { Partition, PARTITION_TYPES } from "@/server/mkosi/profile";
import { formatBytes, parseSize } from "@/server/mkosi/size";
import { PartitionBar } from "./partition-bar";

type PartitionType = (typeof PARTITION_TYPES)[number];

/** Colours per partition type; the record type makes a new type fail to compile until it has one. */
export const PARTITION_COLORS: Record<PartitionType, { block: string; dot: string }> = {
  esp: { block: "bg-amber-500 text-white", dot: "bg-amber-500" },
  root: { block: "bg-sky-600 text-white", dot: "bg-sky-600" },
  "root-verity": { block: "bg-cyan-800 text-white", dot: "bg-cyan-800" },
  "root-verity-sig": { block: "bg-fuchsia-700 text-white", dot: "bg-fuchsia-700" },
  usr: { block: "bg-indigo-600 text-white", dot: "bg-indigo-600" },
  var: { block: "bg-emerald-600 text-white", dot: "bg-emerald-600" },
  home: { block: "bg-teal-600 text-white", dot: "bg-teal-600" },
  swap: { block: "bg-rose-500 text-white", dot: "bg-rose-500" },
  "linux-generic": { block: "bg-slate-500 text-white", dot: "bg-slate-500" },
};

// Drawn size of a partition that systemd-repart sizes from its content at build time. Only a
// weight for the picture: a minimal squashfs root is a few hundred MiB, a full one a few GiB.
const AUTO_ESTIMATE: Record<PartitionType, number> = {
  esp: 512 * 1024 ** 2,
  root: 1024 ** 3,
  // The hash tree is about 1/128 of its data; the signature is a 16 KiB JSON blob.
  "root-verity": 8 * 1024 ** 2,
  "root-verity-sig": 16 * 1024,
  usr: 1024 ** 3,
  var: 512 * 1024 ** 2,
  home: 512 * 1024 ** 2,
  swap: 1024 ** 3,
  "linux-generic": 256 * 1024 ** 2,
};

export interface DiskBlock {
  index: number;
  partition: Partition;
  /** Bytes the block is drawn with. */
  weight: number;
  /** True when the size is not fixed by the profile and the weight is an estimate. */
  auto: boolean;
  sizeText: string;
  /** Added by the overlay scheme rather than listed by the user. */
  fromOverlay: boolean;
}

function bytesOf(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const r = parseSize(text);
  return r.ok ? r.bytes : undefined;
}

export function diskBlocks(partitions: readonly Partition[], userCount: number): DiskBlock[] {
  return partitions.map((p, index) => {
    const min = bytesOf(p.sizeMin);
    const max = bytesOf(p.sizeMax);
    const base = { index, partition: p, fromOverlay: index >= userCount };
    if (min !== undefined && max !== undefined)
      return { ...base, weight: min, auto: false, sizeText: min === max ? formatBytes(min) : `${formatBytes(min)} – ${formatBytes(max)}` };
    if (min !== undefined) return { ...base, weight: min, auto: false, sizeText: `≥ ${formatBytes(min)}` };
    // Below a maximum the content decides, so it is still drawn as an estimate.
    const estimate = Math.min(AUTO_ESTIMATE[p.type], max ?? Infinity);
    return { ...base, weight: estimate, auto: true, sizeText: max !== undefined ? `auto, ≤ ${formatBytes(max)}` : "auto" };
  });
}

export function DiskLayout({
  partitions,
  userCount,
  badIndexes = new Set<number>(),
  onSelect,
}: {
  /** The effective partitions (render.ts effectivePartitions): the user's plus the overlay's. */
  partitions: readonly Partition[];
  userCount: number;
  badIndexes?: ReadonlySet<number>;
  onSelect?: (index: number) => void;
}) {
  const blocks = diskBlocks(partitions, userCount);
  if (blocks.length === 0)
    return (
      <div className="rounded-md border border-dashed border-slate-300 px-3 py-4 text-center text-xs text-slate-500" data-testid="disk-layout">
        No partitions defined: mkosi uses its default layout (an ESP and a root partition sized from the content).
      </div>
    );
  const total = blocks.reduce((s, b) => s + b.weight, 0);
  const anyAuto = blocks.some((b) => b.auto);

  return (
    <PartitionBar
      label="Disk layout"
      segments={blocks.map((b) => {
        const p = b.partition;
        return {
          key: b.index,
          weight: b.weight,
          title: [
            `#${b.index + 1} ${p.type}`,
            p.format && `format ${p.format}`,
            p.label && `label ${p.label}`,
            p.verity && `dm-verity ${p.verity}${p.verityMatchKey ? ` of ${p.verityMatchKey}` : ""}`,
            `size ${b.sizeText}`,
            b.auto && "drawn with an estimated size",
            b.fromOverlay && "added by the persistent overlay scheme",
          ]
            .filter(Boolean)
            .join(" · "),
          name: p.label || p.type,
          detail: `${p.type}${p.format ? ` · ${p.format}` : ""}${p.verity ? ` · verity ${p.verity}` : ""}`,
          sizeText: b.sizeText,
          color: PARTITION_COLORS[p.type],
          striped: b.auto,
          outlined: b.fromOverlay,
          bad: badIndexes.has(b.index),
          legendNote: b.fromOverlay ? "(overlay)" : undefined,
        };
      })}
      onSelect={onSelect ? (key) => onSelect(Number(key)) : undefined}
      summary={
        <>
          {anyAuto ? "≈ " : ""}
          {formatBytes(total)} drawn{anyAuto ? "; striped blocks are sized at build time and drawn with an estimate" : ""}
        </>
      }
    />
  );
}
