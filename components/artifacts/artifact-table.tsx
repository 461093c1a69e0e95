"use client";
// Every file the build produced: kind, sizes (apparent and on disk, images are sparse),
// SHA-256 against the checksum file, and a plain download link (the route serves ranges, so
// the browser shows progress and can resume).
import { Badge } from "@/components/ui/badge";
import { cn } from "@/components/ui/cn";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import { formatBytes } from "@/server/mkosi/size";
import { ChecksumCell } from "./checksum-cell";
import type { Artifact } from "./types";

export function ArtifactTable({ files, highlight }: { files: readonly Artifact[]; highlight?: string | null }) {
  return (
    <div className="overflow-x-auto rounded-md border border-slate-200">
      <Table data-testid="artifact-table">
        <TableHead>
          <Th>File</Th>
          <Th>Kind</Th>
          <Th align="right" title="The size a program reading the file sees">
            Size
          </Th>
          <Th align="right" title="Blocks the file really takes: less for sparse images">
            On disk
          </Th>
          <Th>SHA-256</Th>
          <Th label="Download" />
        </TableHead>
        <TableBody>
          {files.map((f) => (
            <tr
              key={f.name}
              data-testid="artifact-row"
              data-name={f.name}
              data-kind={f.kind}
              className={cn("align-middle", highlight === f.name && "bg-emerald-50 transition-colors")}
            >
              <Td className="max-w-[22rem]">
                <code className="block truncate font-mono text-xs text-slate-900" title={f.name}>
                  {f.name}
                </code>
                {f.kind === "link" ? (
                  <span className="block truncate text-[11px] text-slate-500" data-testid="artifact-link-target">
                    {f.linkTarget ? <>→ {f.linkTarget}</> : "→ points outside the output folder or nowhere: not served"}
                  </span>
                ) : f.derivedFrom ? (
                  <span className="block truncate text-[11px] text-slate-500">made from {f.derivedFrom}</span>
                ) : null}
              </Td>
              <Td className="text-xs whitespace-nowrap text-slate-700">
                {f.kindLabel}
                {f.kind === "conversion" || f.kind === "compressed" ? (
                  <Badge tone="violet" className="ml-1.5">
                    made here
                  </Badge>
                ) : null}
              </Td>
              <Td align="right" className="font-mono text-xs whitespace-nowrap tabular-nums" title={`${f.apparentBytes.toLocaleString("en")} bytes`}>
                {f.kind === "link" ? "–" : formatBytes(f.apparentBytes)}
              </Td>
              <Td
                align="right"
                className={cn("font-mono text-xs whitespace-nowrap tabular-nums", f.diskBytes < f.apparentBytes * 0.9 ? "text-emerald-700" : "text-slate-500")}
                title={`${f.diskBytes.toLocaleString("en")} bytes allocated${f.diskBytes < f.apparentBytes ? " (sparse)" : ""}`}
              >
                {f.kind === "link" ? "–" : formatBytes(f.diskBytes)}
              </Td>
              <Td>
                {f.kind === "link" ? (
                  <span className="text-xs text-slate-400">see {f.linkTarget ?? "–"}</span>
                ) : (
                  <ChecksumCell sha256={f.sha256} state={f.checksum} name={f.name} madeHere={f.derivedFrom !== null || f.kind === "conversion" || f.kind === "compressed"} />
                )}
              </Td>
              <Td align="right">
                {f.kind === "link" && !f.linkTarget ? null : (
                  <a
                    href={f.downloadUrl}
                    download={f.name}
                    data-testid="artifact-download"
                    className="inline-flex h-7 items-center rounded-md border border-slate-300 bg-white px-2 text-xs font-medium whitespace-nowrap text-slate-800 hover:bg-slate-100"
                  >
                    Download
                  </a>
                )}
              </Td>
            </tr>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}
