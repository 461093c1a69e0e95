"use client";
// The Packages field: the list of names, with suggestions from the profile's package index as
// you type (arrow keys, Enter picks), what the package just picked pulls in (resolved by apt),
// and the index's age with a refresh button.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useDeferredValue, useState } from "react";
import { ListEditor, type ListEditorProps, type ListSuggestion } from "@/components/profile-editor/list-editor";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { formatBytes } from "@/server/mkosi/size";
import type { SearchHit } from "@/server/packages/store";
import { IndexStatusLine } from "./index-status";
import { usePackageScope } from "./scope";
import { usePackageIndex } from "./use-package-index";

const kib = (n: number | null) => (n === null ? "" : formatBytes(n * 1024));

function Suggestion({ name, version, size, summary, note }: { name: string; version: string | null; size: string; summary: string; note?: string }) {
  return (
    <div className="min-w-0">
      <div className="flex items-baseline gap-2">
        <span className="font-mono text-xs font-medium text-slate-900">{name}</span>
        {version ? <span className="font-mono text-[11px] text-slate-500">{version}</span> : null}
        {note ? <span className="text-[11px] text-violet-700">{note}</span> : null}
        <span className="ml-auto shrink-0 text-[11px] text-slate-400">{size}</span>
      </div>
      <div className="truncate text-xs text-slate-500">{summary}</div>
    </div>
  );
}

/** Search hits as pickable values: a virtual package offers the packages that provide it. */
function toSuggestions(hits: readonly SearchHit[], taken: readonly string[]): ListSuggestion[] {
  const out: ListSuggestion[] = [];
  for (const h of hits) {
    if (h.providers) {
      for (const p of h.providers.slice(0, 5))
        out.push({ value: p.name, content: <Suggestion name={p.name} version={p.version} size="" summary={`provides ${h.name} (a virtual package)`} note="provides" /> });
    } else out.push({ value: h.name, content: <Suggestion name={h.name} version={h.version} size={kib(h.installedKib)} summary={h.summary} /> });
  }
  const seen = new Set(taken);
  return out.filter((s) => !seen.has(s.value) && (seen.add(s.value), true));
}

export function PackagesField({ showPullIn, ...props }: Omit<ListEditorProps, "suggestions" | "onTextChange" | "onAdded"> & { showPullIn: boolean }) {
  const trpc = useTRPC();
  const scope = usePackageScope();
  const index = usePackageIndex(scope);
  const [text, setText] = useState("");
  const q = useDeferredValue(text.trim().toLowerCase());
  const usable = scope !== null && !!index.status?.available;
  const search = useQuery({
    ...trpc.packages.search.queryOptions({ ...(scope?.sources ?? { document: null }), q, limit: 12 }),
    // Also without an index: the search starts its first fetch, and the watch brings the answer.
    enabled: scope !== null && q.length >= 2,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
  const [picked, setPicked] = useState<string | null>(null);
  const pullIn = useQuery({
    ...trpc.packages.pullIn.queryOptions({ ...(scope?.withPackages ?? { document: null }), name: picked ?? "none" }),
    enabled: showPullIn && usable && picked !== null && props.items.includes(picked),
    staleTime: Infinity,
    retry: false,
  });
  const suggestions = q.length >= 2 && search.data ? toSuggestions(search.data.hits, props.items) : [];

  return (
    <div>
      <ListEditor {...props} suggestions={suggestions} onTextChange={setText} onAdded={(v) => setPicked(v.at(-1) ?? null)} />
      {showPullIn && picked !== null && props.items.includes(picked) && usable ? (
        <p className="mt-1 text-xs text-slate-600" data-testid="pull-in" aria-live="polite">
          {pullIn.isPending ? (
            <>Resolving what {picked} pulls in (apt)…</>
          ) : pullIn.isError ? (
            <span className="text-amber-800">{apiError(pullIn.error).message}</span>
          ) : pullIn.data.ok ? (
            <span title={pullIn.data.added.map((a) => `${a.name} ${a.version}`).join("\n")}>
              <span className="font-mono">{picked}</span>{" "}
              {pullIn.data.count === 0
                ? "adds nothing: the profile's other packages already bring it"
                : `adds ${pullIn.data.count} package${pullIn.data.count === 1 ? "" : "s"}, ${formatBytes(pullIn.data.installedBytes)} installed (${formatBytes(pullIn.data.downloadBytes)} to download)`}
            </span>
          ) : (
            <span className="block text-red-800">
              apt cannot install <span className="font-mono">{picked}</span> with the other packages:
              <pre className="mt-0.5 font-mono text-[11px] whitespace-pre-wrap">{pullIn.data.messages.join("\n")}</pre>
            </span>
          )}
        </p>
      ) : null}
      {scope ? <IndexStatusLine status={index.status} onRefresh={index.refresh} refreshError={index.refreshError} /> : null}
    </div>
  );
}
