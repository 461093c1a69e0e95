"use client";
import { useState } from "react";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { useCopy } from "@/components/ui/use-copy";
import { Tabs } from "@/components/ui/tabs";
import type { RenderedFile } from "@/server/mkosi/render";
import type { KeyFileNeed } from "@/server/mkosi/verity";
import { CodeView } from "./code-view";

const ORIGIN: Record<RenderedFile["origin"], { label: string; tone: BadgeTone; dot: string; text: string }> = {
  generated: { label: "generated", tone: "slate", dot: "bg-slate-400", text: "Generated from the form." },
  extra: { label: "extra file", tone: "sky", dot: "bg-sky-500", text: "An extra file you edit in the form, copied into the image." },
  raw: { label: "kept as is", tone: "amber", dot: "bg-amber-500", text: "Imported content, written back unchanged on export." },
};

/** A file's name, with as much of its folder as it takes to tell it from the others. */
export function tabLabel(path: string, files: readonly { path: string }[]): string {
  const parts = path.split("/");
  for (let n = 1; n < parts.length; n++) {
    const tail = parts.slice(-n).join("/");
    if (!files.some((f) => f.path !== path && (f.path === tail || f.path.endsWith(`/${tail}`)))) return tail;
  }
  return path;
}

export function FilePreview({
  files,
  mkosiMajor,
  mkosiSource,
  secretKeys = [],
  keyFiles = [],
  signingKey,
  error,
}: {
  files: readonly RenderedFile[];
  /** Key files the project needs but never holds, shown by path only. */
  keyFiles?: readonly KeyFileNeed[];
  /** The key store's key that supplies them. */
  signingKey?: string;
  mkosiMajor: number;
  /** Where the mkosi version comes from, for the header. */
  mkosiSource: string;
  /** Secret settings that have a value, to say they are shown in clear. */
  secretKeys?: readonly string[];
  error?: string | null;
}) {
  const [selected, setSelected] = useState("mkosi.conf");
  const { copy, label: copyLabel } = useCopy();
  const current = files.find((f) => f.path === selected) ?? files[0];

  return (
    <div className="flex h-full min-h-0 flex-col overflow-hidden rounded-lg border border-slate-200 bg-white" data-testid="file-preview">
      <div className="border-b border-slate-200 px-3 py-2">
        <div className="mb-1.5 flex items-center gap-2">
          <h2 className="text-sm font-semibold">Project files</h2>
          <span className="text-xs text-slate-500">
            {files.length} file{files.length === 1 ? "" : "s"} for mkosi {mkosiMajor} ({mkosiSource})
          </span>
          <div className="ml-auto flex items-center gap-2 text-[11px] text-slate-500">
            {Object.values(ORIGIN).map((o) => (
              <span key={o.label} className="inline-flex items-center gap-1">
                <span className={cn("h-1.5 w-1.5 rounded-full", o.dot)} aria-hidden />
                {o.label}
              </span>
            ))}
          </div>
        </div>
        <Tabs
          idPrefix="preview"
          label="Project files"
          value={current?.path ?? ""}
          onChange={setSelected}
          items={files.map((f) => ({
            id: f.path,
            testId: `preview-tab-${f.path}`,
            title: `${f.path} · ${ORIGIN[f.origin].label}`,
            label: (
              <>
                <span className={cn("h-1.5 w-1.5 shrink-0 rounded-full", ORIGIN[f.origin].dot)} aria-hidden />
                {tabLabel(f.path, files)}
              </>
            ),
          }))}
        />
      </div>
      {keyFiles.length > 0 ? (
        <ul className="border-b border-slate-200 bg-violet-50/60 px-3 py-1.5 text-[11px] text-slate-700" data-testid="preview-key-files">
          {keyFiles.map((k) => (
            <li key={k.path} className="flex flex-wrap items-center gap-x-2" data-testid={`preview-key-${k.path}`}>
              <code className="font-semibold">{k.path}</code>
              <span>
                {k.file === "key" ? "private key" : "certificate"}, read as {k.settings.join(", ")}: supplied from the key store
                {signingKey ? ` (key '${signingKey}')` : " (no key chosen yet)"} at build time, never part of the project or an export
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {error ? <p className="border-b border-red-200 bg-red-50 px-3 py-1.5 text-xs text-red-800">{error}</p> : null}
      {current ? (
        <>
          <div className="flex items-center gap-2 border-b border-slate-800 bg-slate-900 px-3 py-1.5 text-[11px] text-slate-400">
            <code className="truncate text-slate-200">{current.path}</code>
            <Badge tone={ORIGIN[current.origin].tone}>{ORIGIN[current.origin].label}</Badge>
            <span>mode {current.mode.toString(8).padStart(4, "0")}</span>
            <span className="truncate">{ORIGIN[current.origin].text}</span>
            <Button size="sm" variant="ghost" className="ml-auto border border-slate-700 text-slate-200 hover:bg-slate-800 hover:text-white" onClick={() => current && void copy(current.content)} data-testid="preview-copy">
              {copyLabel}
            </Button>
          </div>
          {current.path.endsWith("mkosi.conf") && secretKeys.length > 0 ? (
            <p className="bg-slate-900 px-3 pt-1.5 text-[11px] text-amber-300/90">
              {secretKeys.join(", ")} {secretKeys.length === 1 ? "is" : "are"} shown in clear: this is the file exactly as it will be written.
            </p>
          ) : null}
          <div
            id="preview-panel"
            role="tabpanel"
            aria-label={current.path}
            tabIndex={0}
            className="min-h-0 flex-1 overflow-auto bg-slate-900"
            data-testid="preview-content"
            data-path={current.path}
          >
            <CodeView file={current} />
          </div>
        </>
      ) : (
        <p className="p-4 text-sm text-slate-500">Nothing to show.</p>
      )}
    </div>
  );
}
