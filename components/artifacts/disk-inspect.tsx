"use client";
// The disk image's real partition table, as the server's tools read it from the image (not
// from the profile): drawn with the same bar as the profile editor's plan, then as a table.
import { PARTITION_COLORS } from "@/components/disk-layout/disk-layout";
import { PartitionBar, type BarSegment } from "@/components/disk-layout/partition-bar";
import { formatBytes } from "@/server/mkosi/size";
import type { DiskInspection } from "./types";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";

type Part = DiskInspection["table"]["partitions"][number];

const EXTRA_COLORS = {
  verity: { block: "bg-violet-500 text-white", dot: "bg-violet-500" },
  signature: { block: "bg-fuchsia-500 text-white", dot: "bg-fuchsia-500" },
  xbootldr: { block: "bg-orange-500 text-white", dot: "bg-orange-500" },
  free: { block: "bg-slate-100 text-slate-500", dot: "bg-slate-200" },
};

const ESP_UUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";

/** A colour by what the partition is; sfdisk's and systemd's type names both match. */
function colorOf(p: Part): { block: string; dot: string } {
  const name = p.typeName.toLowerCase();
  if (p.typeUuid.toLowerCase() === ESP_UUID || /efi system|^esp$/.test(name)) return PARTITION_COLORS.esp;
  if (/verity.*sig|signature/.test(name)) return EXTRA_COLORS.signature;
  if (/verity/.test(name)) return EXTRA_COLORS.verity;
  if (/xbootldr|extended boot/.test(name)) return EXTRA_COLORS.xbootldr;
  if (/root/.test(name)) return PARTITION_COLORS.root;
  if (/usr/.test(name)) return PARTITION_COLORS.usr;
  if (/swap/.test(name)) return PARTITION_COLORS.swap;
  if (/home/.test(name)) return PARTITION_COLORS.home;
  if (/variable|\bvar\b/.test(name)) return PARTITION_COLORS.var;
  return PARTITION_COLORS["linux-generic"];
}

function segments(table: DiskInspection["table"]): BarSegment[] {
  const parts = [...table.partitions].sort((a, b) => a.startBytes - b.startBytes);
  // Gaps smaller than this (the GPT headers' MiB at each end, alignment) would only add noise.
  const minGap = Math.max(table.sizeBytes * 0.01, 4 * 1024 ** 2);
  const out: BarSegment[] = [];
  let cursor = 0;
  const gap = (from: number, to: number) => {
    if (to - from < minGap) return;
    out.push({
      key: `free-${from}`,
      weight: to - from,
      title: `Unpartitioned space · ${formatBytes(to - from)} at ${formatBytes(from)}`,
      name: "free",
      sizeText: formatBytes(to - from),
      color: EXTRA_COLORS.free,
      striped: true,
      noLegend: true,
      testId: "image-free-space",
    });
  };
  for (const p of parts) {
    gap(cursor, p.startBytes);
    const title = [`#${p.index} ${p.typeName}`, p.label && `label ${p.label}`, `file system ${p.fsType ?? "none"}`, `size ${formatBytes(p.sizeBytes)}`, `start ${formatBytes(p.startBytes)}`]
      .filter(Boolean)
      .join(" · ");
    out.push({
      key: p.index,
      weight: p.sizeBytes,
      title,
      name: p.label || p.typeName,
      detail: `${p.typeName}${p.fsType ? ` · ${p.fsType}` : ""}`,
      sizeText: formatBytes(p.sizeBytes),
      color: colorOf(p),
      testId: "image-partition",
    });
    cursor = Math.max(cursor, p.startBytes + p.sizeBytes);
  }
  gap(cursor, table.sizeBytes);
  return out;
}

export function DiskInspect({ name, table }: { name: string; table: DiskInspection["table"] }) {
  const used = table.partitions.reduce((s, p) => s + p.sizeBytes, 0);
  return (
    <div className="space-y-3" data-testid="disk-inspect">
      <p className="text-xs text-slate-500">
        Partition table <strong className="font-medium text-slate-700">read from the image</strong> <code className="font-mono">{name}</code>:{" "}
        {table.label.toUpperCase()}, {table.partitions.length} partition{table.partitions.length === 1 ? "" : "s"}, {formatBytes(table.sizeBytes)} disk,{" "}
        {table.sectorSize}-byte sectors.
      </p>
      {table.partitions.length === 0 ? (
        <p className="rounded-md border border-dashed border-slate-300 px-3 py-4 text-center text-xs text-slate-500">The image has no partitions.</p>
      ) : (
        <PartitionBar
          label={`Partition table of ${name}, read from the image`}
          testId="image-layout"
          segments={segments(table)}
          summary={`${formatBytes(used)} in partitions of ${formatBytes(table.sizeBytes)}`}
        />
      )}
      <div className="overflow-x-auto rounded-md border border-slate-200">
        <Table size="xs" data-testid="partition-table">
          <TableHead>
            <Th>#</Th>
            <Th>Type</Th>
            <Th>Label</Th>
            <Th>File system</Th>
            <Th align="right">Start</Th>
            <Th align="right">Size</Th>
            <Th>Partition UUID</Th>
          </TableHead>
          <TableBody>
            {table.partitions.map((p) => (
              <tr key={p.index} data-testid="partition-row">
                <Td className="tabular-nums">{p.index}</Td>
                <Td>
                  <span className="inline-flex items-center gap-1.5" title={`type UUID ${p.typeUuid}`}>
                    <span className={`h-2 w-2 rounded-sm ${colorOf(p).dot}`} aria-hidden />
                    {p.typeName}
                  </span>
                </Td>
                <Td className="font-mono">{p.label || <span className="text-slate-400">–</span>}</Td>
                <Td>{p.fsType ?? <span className="text-slate-400">none</span>}</Td>
                <Td align="right" className="font-mono tabular-nums" title={`${p.startBytes.toLocaleString("en")} bytes`}>
                  {formatBytes(p.startBytes)}
                </Td>
                <Td align="right" className="font-mono tabular-nums" title={`${p.sizeBytes.toLocaleString("en")} bytes`}>
                  {formatBytes(p.sizeBytes)}
                </Td>
                <Td className="font-mono text-[11px] text-slate-500">{p.uuid ?? "–"}</Td>
              </tr>
            ))}
          </TableBody>
        </Table>
      </div>
    </div>
  );
}
