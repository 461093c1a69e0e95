"use client";
// Packages added, removed and changed in version between two builds (from their manifests),
// shown above the diff of the files they were built from.
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";

export function PackageDiff({ id, againstId }: { id: number; againstId: number }) {
  const trpc = useTRPC();
  const diff = useQuery({ ...trpc.packages.manifestDiff.queryOptions({ buildId: id, againstBuildId: againstId }), staleTime: Infinity, retry: false });
  if (diff.isPending) return <p className="text-sm text-slate-500">Comparing the installed packages…</p>;
  if (diff.isError)
    return (
      <p className="text-xs text-slate-500" data-testid="package-diff-none">
        Installed packages not compared: {diff.error.message}
      </p>
    );
  const d = diff.data;
  const total = d.added.length + d.removed.length + d.changed.length;
  return (
    <div className="rounded-lg border border-slate-200" data-testid="package-diff">
      <div className="border-b border-slate-200 bg-white px-3 py-1.5 text-xs text-slate-700">
        Installed packages:{" "}
        {total === 0 ? `the same ${d.unchanged}` : `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed in version, ${d.unchanged} the same`}{" "}
        (from build #{id} to build #{againstId})
      </div>
      {total > 0 ? (
        <ul className="max-h-72 overflow-auto px-3 py-1.5 font-mono text-xs leading-5">
          {d.added.map((p) => (
            <li key={`a-${p.name}`} className="text-emerald-800">
              <Badge tone="green">added</Badge> {p.name} {p.version}
            </li>
          ))}
          {d.removed.map((p) => (
            <li key={`r-${p.name}`} className="text-red-800">
              <Badge tone="red">removed</Badge> {p.name} {p.version}
            </li>
          ))}
          {d.changed.map((p) => (
            <li key={`c-${p.name}`} className="text-amber-900">
              <Badge tone="amber">changed</Badge> {p.name} {p.from} → {p.to}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
