"use client";
// The files a build was built from (its snapshot), with a viewer.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { CodeView } from "@/components/file-preview/code-view";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { useCopy } from "@/components/ui/use-copy";
import { formatBytes } from "@/server/mkosi/size";
import type { BuildFile } from "./types";

export function BuildFiles({ id }: { id: number }) {
  const trpc = useTRPC();
  // A snapshot never changes.
  const files = useQuery({ ...trpc.builds.files.queryOptions({ id }), staleTime: Infinity });
  const [selected, setSelected] = useState<string | null>(null);
  const { copy, label: copyLabel } = useCopy();

  if (files.isPending) return <p className="p-3 text-sm text-slate-500">Loading the build's files…</p>;
  if (files.isError)
    return (
      <p role="alert" className="p-3 text-sm text-red-700">
        Could not load the files: {files.error.message}
      </p>
    );
  const list = files.data;
  const current = list.find((f) => f.path === selected) ?? list.find((f) => f.path === "mkosi.conf") ?? list[0];

  return (
    <div className="grid min-h-[24rem] gap-0 overflow-hidden rounded-lg border border-slate-200 md:grid-cols-[18rem_minmax(0,1fr)]" data-testid="build-files">
      <ul className="max-h-[32rem] overflow-y-auto border-b border-slate-200 bg-white py-1 md:border-r md:border-b-0" aria-label="Files of the build">
        {list.map((f) => (
          <li key={f.path}>
            <button
              type="button"
              onClick={() => setSelected(f.path)}
              aria-current={f.path === current?.path || undefined}
              data-testid={`build-file-${f.path}`}
              className={cn(
                "flex w-full items-baseline gap-2 px-3 py-1 text-left font-mono text-xs",
                f.path === current?.path ? "bg-slate-800 text-white" : "text-slate-700 hover:bg-slate-100",
              )}
            >
              <span className="min-w-0 flex-1 truncate" title={f.path}>
                {f.path}
              </span>
              <span className={cn("shrink-0 font-sans text-[10px]", f.path === current?.path ? "text-slate-300" : "text-slate-400")}>{formatBytes(f.size)}</span>
            </button>
          </li>
        ))}
      </ul>
      {current ? (
        <div className="flex min-w-0 flex-col bg-slate-900">
          <div className="flex items-center gap-2 border-b border-slate-800 px-3 py-1.5 text-[11px] text-slate-400">
            <code className="truncate text-slate-200">{current.path}</code>
            <span>mode {current.mode.toString(8).padStart(4, "0")}</span>
            <Button size="sm" variant="ghost" className="ml-auto border border-slate-700 text-slate-200! hover:bg-slate-800! hover:text-white!" onClick={() => current && void copy(current.content)}>
              {copyLabel}
            </Button>
          </div>
          <div className="max-h-[32rem] min-h-0 flex-1 overflow-auto" data-testid="build-file-content" data-path={current.path}>
            <CodeView file={current} />
          </div>
        </div>
      ) : (
        <p className="p-4 text-sm text-slate-500">The build has no files.</p>
      )}
    </div>
  );
}
