"use client";
// How much room builds take in the data folder, and deleting the outputs of builds that are
// no longer needed (one at a time, or all but a profile's newest N).
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { BuildStateBadge } from "@/components/builds/build-state-badge";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { RelativeTime } from "@/components/ui/relative-time";
import { Section } from "@/components/ui/section";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import { formatBytes } from "@/server/mkosi/size";
import type { SpaceBuild } from "@/components/artifacts/types";
import { DeleteArtifactsDialog } from "./delete-artifacts-dialog";
import { KeepNewest } from "./keep-newest";
import { UsageBar } from "./usage-bar";
import { useSpaceRefresh } from "./use-space-refresh";

const ACTIVE_REASON: Record<string, string> = {
  running: "The build is running: its artifacts are still being written",
  queued: "The build is queued: it has no artifacts yet",
};

export function SpacePage() {
  const trpc = useTRPC();
  const usage = useQuery(trpc.space.usage.queryOptions());
  useSpaceRefresh();
  const [deleting, setDeleting] = useState<SpaceBuild | null>(null);

  if (usage.isPending) return <p className="text-sm text-slate-500">Measuring the data folder…</p>;
  if (usage.isError)
    return (
      <p role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800">
        Could not measure the data folder: {usage.error.message}
      </p>
    );
  const u = usage.data;
  const outputs = u.builds.reduce((s, b) => s + b.outputDiskBytes + b.workspaceDiskBytes, 0);
  const logs = u.builds.reduce((s, b) => s + b.logBytes, 0);
  const used = Math.max(0, u.totalBytes - u.freeBytes);
  const other = Math.max(0, used - outputs - logs - u.cacheBytes);
  const sorted = [...u.builds].sort((a, b) => b.outputDiskBytes - a.outputDiskBytes || b.buildId - a.buildId);
  const largest = sorted[0]?.outputDiskBytes ?? 0;

  return (
    <div className="space-y-4" data-testid="space-page">
      <div className="flex flex-wrap items-baseline gap-x-3">
        <h1 className="text-lg font-semibold">Space</h1>
        <p className="text-sm text-slate-500">
          Data folder <code className="font-mono text-slate-700">{u.dataDir}</code>
        </p>
      </div>

      <Section
        title="Data folder's file system"
        description={`${formatBytes(u.freeBytes)} free of ${formatBytes(u.totalBytes)} (${u.totalBytes > 0 ? Math.round((u.freeBytes / u.totalBytes) * 100) : 0} % free)`}
      >
        <UsageBar
          totalBytes={u.totalBytes}
          parts={[
            { key: "outputs", label: "Build outputs and conversions", bytes: outputs, color: "bg-sky-600" },
            { key: "logs", label: "Build logs", bytes: logs, color: "bg-indigo-400" },
            { key: "cache", label: "mkosi cache", bytes: u.cacheBytes, color: "bg-amber-500" },
            { key: "other", label: "Other files on this file system", bytes: other, color: "bg-slate-400" },
            { key: "free", label: "Free", bytes: u.freeBytes, color: "bg-emerald-100" },
          ]}
        />
      </Section>

      <Section title="Keep only the newest builds" description="Deletes the outputs of a profile's older builds.">
        <KeepNewest builds={u.builds} />
      </Section>

      <Section title="Builds by size" description={`${u.builds.length} build${u.builds.length === 1 ? "" : "s"}, ${formatBytes(outputs)} of outputs on disk, largest first.`}>
        {sorted.length === 0 ? (
          <p className="text-xs text-slate-500">No builds yet.</p>
        ) : (
          <div className="overflow-x-auto">
            <Table data-testid="space-builds">
              <TableHead>
                <Th>Build</Th>
                <Th>Profile</Th>
                <Th>State</Th>
                <Th>Ended</Th>
                <Th className="w-[28%]">Artifacts on disk</Th>
                <Th align="right">Apparent</Th>
                <Th align="right">Log</Th>
                <Th label="Actions" />
              </TableHead>
              <TableBody>
                {sorted.map((b) => {
                  const reason = ACTIVE_REASON[b.state] ?? (b.outputDiskBytes + b.outputApparentBytes + b.workspaceDiskBytes === 0 ? "No outputs to delete" : null);
                  return (
                    <tr key={b.buildId} data-testid="space-build" data-build-id={b.buildId}>
                      <Td>
                        <Link href={`/builds/${b.buildId}`} className="font-medium hover:underline">
                          #{b.buildId}
                        </Link>
                      </Td>
                      <Td>{b.profileName}</Td>
                      <Td>
                        <BuildStateBadge state={b.state} />
                      </Td>
                      <Td className="text-xs text-slate-500">{b.endedAt ? <RelativeTime iso={String(b.endedAt)} /> : "–"}</Td>
                      <Td>
                        <div className="flex items-center gap-2">
                          <div className="h-2 flex-1 overflow-hidden rounded-full bg-slate-100" aria-hidden>
                            <div className="h-full rounded-full bg-sky-600" style={{ width: `${largest > 0 ? (b.outputDiskBytes / largest) * 100 : 0}%` }} />
                          </div>
                          <span className="w-20 text-right font-mono text-xs tabular-nums">{formatBytes(b.outputDiskBytes)}</span>
                        </div>
                        {!b.outputExists && b.state === "succeeded" ? <span className="block text-[11px] text-slate-500">outputs deleted</span> : null}
                        {b.workspaceDiskBytes > 0 && b.state !== "running" ? (
                          <span className="block text-[11px] text-amber-700">+ {formatBytes(b.workspaceDiskBytes)} left in the workspace by a killed mkosi</span>
                        ) : null}
                      </Td>
                      <Td align="right" className="font-mono text-xs text-slate-500 tabular-nums">{formatBytes(b.outputApparentBytes)}</Td>
                      <Td align="right" className="font-mono text-xs text-slate-500 tabular-nums">{formatBytes(b.logBytes)}</Td>
                      <Td align="right">
                        <span title={reason ?? undefined}>
                          <Button size="sm" variant="secondary" className="hover:text-red-700" disabled={reason !== null} onClick={() => setDeleting(b)} data-testid="delete-artifacts">
                            Delete artifacts
                          </Button>
                        </span>
                        {ACTIVE_REASON[b.state] ? (
                          <span className="block text-[11px] text-slate-500" data-testid="delete-disabled-reason">
                            {b.state === "running" ? "running: not deletable" : "queued: nothing yet"}
                          </span>
                        ) : null}
                      </Td>
                    </tr>
                  );
                })}
              </TableBody>
            </Table>
          </div>
        )}
      </Section>
      <DeleteArtifactsDialog build={deleting} onClose={() => setDeleting(null)} />
    </div>
  );
}
