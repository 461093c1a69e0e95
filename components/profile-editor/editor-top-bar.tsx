"use client";
import Link from "next/link";
import { useState, type ReactNode } from "react";
import { BuildButton, BuildStartError, RecentBuilds } from "@/components/builds/build-controls";
import { useBuildStart } from "@/components/builds/use-build-start";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { Input } from "@/components/ui/input";
import { RelativeTime } from "@/components/ui/relative-time";
import { RunsAsRootBadge } from "@/components/trust/runs-as-root-badge";
import { TrustDialog } from "@/components/trust/trust-dialog";
import { BootCheckToggle } from "@/components/vm/boot-check-toggle";
import type { SaveStatus } from "./use-profile-editor";

export interface EditorTopBarProps {
  id: number;
  name: string;
  onRename: (name: string) => Promise<boolean>;
  renameError: string | null;
  status: SaveStatus;
  savedAt: string;
  revision: number;
  problemCount: number;
  onToggleProblems: () => void;
  problemsShown: boolean;
  onSave: () => void;
  onCheck: () => void;
  checking: boolean;
  /** What a build of the document as edited runs as root (labels of server/mkosi/scripts.ts). */
  rootScripts: string[];
  /** Banners that must stay in view while the user scrolls (a save conflict, a failed save). */
  children?: ReactNode;
}

export function EditorTopBar(p: EditorTopBarProps) {
  const [name, setName] = useState(p.name);
  const [lastName, setLastName] = useState(p.name);
  // A rename elsewhere (or a load of theirs) updates the field unless the user is typing.
  if (p.name !== lastName) {
    setLastName(p.name);
    setName(p.name);
  }
  const buildCtl = useBuildStart({ profileId: p.id, status: p.status, onSave: p.onSave });
  const commit = async () => {
    const trimmed = name.trim();
    if (trimmed === p.name) return setName(p.name);
    await p.onRename(trimmed);
  };

  return (
    <div className="sticky top-0 z-20 -mx-4 border-b border-slate-200 bg-white/95 px-4 py-2 backdrop-blur">
      <div className="flex flex-wrap items-center gap-2">
        <Link href="/" className="text-sm text-slate-500 hover:text-slate-900" aria-label="Back to profiles">
          ← Profiles
        </Link>
        <span className="text-slate-300" aria-hidden>
          /
        </span>
        <div className="min-w-0">
          <label htmlFor="profile-name" className="sr-only">
            Profile name
          </label>
          <Input
            id="profile-name"
            data-testid="profile-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            onBlur={() => void commit()}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                void commit();
              }
              if (e.key === "Escape") {
                setName(p.name);
                void p.onRename(p.name);
              }
            }}
            invalid={!!p.renameError}
            aria-describedby={p.renameError ? "profile-name-error" : undefined}
            className="h-8 w-auto! max-w-[28rem] min-w-40 border-transparent text-base font-semibold [field-sizing:content] hover:border-slate-300"
          />
        </div>
        <span
          data-testid="save-status"
          data-state={p.status}
          className={cn(
            "inline-flex items-center gap-1.5 text-xs",
            p.status === "dirty" ? "text-amber-700" : p.status === "saving" ? "text-slate-500" : "text-emerald-700",
          )}
        >
          <span
            aria-hidden
            className={cn("h-2 w-2 rounded-full", p.status === "dirty" ? "bg-amber-500" : p.status === "saving" ? "animate-pulse bg-slate-400" : "bg-emerald-500")}
          />
          {p.status === "dirty" ? (
            "Modified"
          ) : p.status === "saving" ? (
            "Saving…"
          ) : (
            <span>
              Saved <RelativeTime iso={p.savedAt} className="text-slate-500" />
            </span>
          )}
        </span>
        <span className="text-[11px] text-slate-400" title="Revision: bumped on every save">
          rev {p.revision}
        </span>
        <RunsAsRootBadge scripts={p.rootScripts} />

        <div className="ml-auto flex items-center gap-2">
          <button
            type="button"
            onClick={p.onToggleProblems}
            aria-expanded={p.problemsShown}
            data-testid="problem-count"
            className="rounded focus-visible:outline-2 focus-visible:outline-sky-600"
          >
            {p.problemCount > 0 ? (
              <Badge tone="red">
                {p.problemCount} problem{p.problemCount === 1 ? "" : "s"}
              </Badge>
            ) : (
              <Badge tone="green">No problems</Badge>
            )}
          </button>
          <Button onClick={p.onCheck} disabled={p.checking} data-testid="check-button" title="Let the installed mkosi parse the project (no build)">
            {p.checking ? "Validating…" : "Validate with mkosi"}
          </Button>
          <a
            href={`/api/profiles/${p.id}/export`}
            download
            data-testid="export-link"
            title={p.status === "clean" ? "Download the project as a plain mkosi folder (.tar.gz)" : "Downloads the last saved version; save first to include your changes"}
            className="inline-flex h-8 items-center gap-1 rounded-md border border-slate-300 bg-white px-3 text-sm font-medium text-slate-800 hover:bg-slate-100"
          >
            Export{p.status === "clean" ? "" : " (saved)"}
          </a>
          <Button variant="primary" onClick={p.onSave} disabled={p.status === "saving"} data-testid="save-button" title="Save (Ctrl+S)">
            Save
            <kbd className="rounded bg-white/15 px-1 font-sans text-[10px] text-slate-200">Ctrl S</kbd>
          </Button>
          <span className="h-5 w-px bg-slate-200" aria-hidden />
          <RecentBuilds ctl={buildCtl} profileId={p.id} />
          <BootCheckToggle profileId={p.id} />
          <BuildButton ctl={buildCtl} dirty={p.status !== "clean"} />
        </div>
      </div>
      {p.renameError ? (
        <p id="profile-name-error" role="alert" className="mt-1 text-xs text-red-700">
          Not renamed: {p.renameError}
        </p>
      ) : null}
      <TrustDialog review={buildCtl.review} profileName={p.name} busy={buildCtl.busy} onTrust={buildCtl.trust} onClose={buildCtl.closeReview} />
      {p.children || buildCtl.error ? (
        <div className="mt-2 space-y-2">
          {p.children}
          <BuildStartError ctl={buildCtl} />
        </div>
      ) : null}
    </div>
  );
}
