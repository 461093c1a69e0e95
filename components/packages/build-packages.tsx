"use client";
// What a build installed, from mkosi's JSON manifest: name, version, architecture, size, and
// whether the profile asked for it or it was pulled in; a filter box; the SBOM to download.
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";
import { Input } from "@/components/ui/input";
import { Section } from "@/components/ui/section";
import { formatBytes } from "@/server/mkosi/size";

const artifactUrl = (buildId: number, name: string) => `/api/builds/${buildId}/artifacts/${encodeURIComponent(name)}`;

export function BuildPackages({ buildId }: { buildId: number }) {
  const trpc = useTRPC();
  const manifest = useQuery({ ...trpc.packages.manifest.queryOptions({ buildId }), staleTime: Infinity });
  const [filter, setFilter] = useState("");
  const [only, setOnly] = useState<"all" | "asked" | "pulled">("all");
  const m = manifest.data;
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (m?.packages ?? []).filter((p) => (only === "all" || (only === "asked") === p.asked) && (!f || p.name.includes(f) || p.version.toLowerCase().includes(f)));
  }, [m, filter, only]);

  const asked = m?.packages.filter((p) => p.asked).length ?? 0;
  return (
    <Section
      id="build-packages"
      title="Installed packages"
      description={
        m?.file
          ? `${m.packages.length} packages (${asked} asked for, ${m.packages.length - asked} pulled in)${m.totalKib ? `, ${formatBytes(m.totalKib * 1024)} installed` : ""}, from ${m.file}`
          : "What mkosi installed into the image, from its JSON manifest."
      }
      actions={
        m?.sbom ? (
          <a href={artifactUrl(buildId, m.sbom)} download className="text-xs text-sky-700 underline hover:text-sky-900" data-testid="sbom-download">
            SBOM (SPDX 2.3 JSON)
          </a>
        ) : null
      }
    >
      {manifest.isPending ? (
        <p className="text-sm text-slate-500">Reading the manifest…</p>
      ) : manifest.isError ? (
        <p role="alert" className="text-sm text-red-700">
          Could not read the manifest: {manifest.error.message}
        </p>
      ) : !m!.file ? (
        <p className="text-sm text-slate-500" data-testid="manifest-missing">
          {m!.reason}
        </p>
      ) : (
        <div className="space-y-2" data-testid="build-manifest">
          <div className="flex flex-wrap items-center gap-2">
            <Input
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
              placeholder="Filter by name or version"
              aria-label="Filter the installed packages"
              className="max-w-72"
              data-testid="manifest-filter"
            />
            {(["all", "asked", "pulled"] as const).map((o) => (
              <label key={o} className="flex items-center gap-1 text-xs text-slate-600">
                <input type="radio" name="manifest-only" checked={only === o} onChange={() => setOnly(o)} className="accent-sky-600" />
                {o === "all" ? "all" : o === "asked" ? "asked for" : "pulled in"}
              </label>
            ))}
            <span className="ml-auto text-xs text-slate-500">{shown.length} shown</span>
          </div>
          <div className="max-h-96 overflow-auto rounded border border-slate-200">
            <table className="w-full text-left text-xs">
              <thead className="sticky top-0 bg-slate-50 text-slate-500">
                <tr>
                  <th className="px-2 py-1 font-medium">Name</th>
                  <th className="px-2 py-1 font-medium">Version</th>
                  <th className="px-2 py-1 font-medium">Arch</th>
                  <th className="px-2 py-1 text-right font-medium">Size</th>
                  <th className="px-2 py-1 font-medium">Why</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((p) => (
                  <tr key={`${p.name}:${p.architecture}`} className="border-t border-slate-100" data-testid="manifest-row">
                    <td className="px-2 py-0.5 font-mono text-slate-900">{p.name}</td>
                    <td className="px-2 py-0.5 font-mono text-slate-600">{p.version}</td>
                    <td className="px-2 py-0.5 text-slate-500">{p.architecture}</td>
                    <td className="px-2 py-0.5 text-right text-slate-500 tabular-nums">{p.installedKib === null ? "–" : formatBytes(p.installedKib * 1024)}</td>
                    <td className="px-2 py-0.5">{p.asked ? <Badge tone="sky">asked for</Badge> : <span className="text-slate-400">pulled in</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </Section>
  );
}
