"use client";
// What changed between the files a build was built from and another build of the same
// profile, or the profile as it is now.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "@/components/trpc/client";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Select } from "@/components/ui/input";
import { PackageDiff } from "@/components/packages/package-diff";
import { PatchView } from "./patch-view";
import type { BuildFileDiff } from "./types";

const STATUS_TONES: Record<BuildFileDiff["status"], BadgeTone> = { added: "green", removed: "red", changed: "amber", same: "slate" };

const PROFILE = "profile";

export function BuildDiff({ id, profileId }: { id: number; profileId: number | null }) {
  const trpc = useTRPC();
  const others = useQuery({ ...trpc.builds.list.queryOptions({ profileId: profileId ?? undefined, limit: 100 }), enabled: profileId !== null });
  const choices = (others.data ?? []).filter((b) => b.id !== id);
  // By default: the build before this one, if there is one, else the profile now.
  const previous = choices.find((b) => b.id < id);
  const [picked, setPicked] = useState<string | null>(null);
  const value = picked ?? (previous ? String(previous.id) : profileId !== null ? PROFILE : "");
  const against = value === PROFILE ? ({ profile: true } as const) : value ? { buildId: Number(value) } : null;

  const diff = useQuery({
    ...trpc.builds.diff.queryOptions({ id, against: against ?? { profile: true } }),
    enabled: against !== null,
    // The profile side changes when it is saved; another build's files never do.
    staleTime: value === PROFILE ? 0 : Infinity,
  });

  const changed = diff.data?.filter((d) => d.status !== "same") ?? [];
  const same = (diff.data?.length ?? 0) - changed.length;

  return (
    <div className="space-y-3" data-testid="build-diff">
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <label htmlFor="diff-against" className="text-slate-600">
          Compare build #{id} with
        </label>
        <Select id="diff-against" value={value} onChange={(e) => setPicked(e.target.value)} className="w-auto! max-w-full min-w-72" data-testid="diff-against">
          {profileId !== null ? <option value={PROFILE}>the profile as it is now</option> : null}
          {choices.map((b) => (
            <option key={b.id} value={String(b.id)}>
              build #{b.id} · {b.state} · rev {b.profileRevision} · {new Date(b.queuedAt).toLocaleString()}
            </option>
          ))}
        </Select>
        {profileId === null && choices.length === 0 ? <span className="text-xs text-slate-500">Its profile was deleted: there is nothing to compare with.</span> : null}
      </div>

      {value && value !== PROFILE ? <PackageDiff id={id} againstId={Number(value)} /> : null}
      {against === null ? null : diff.isPending ? (
        <p className="text-sm text-slate-500">Comparing…</p>
      ) : diff.isError ? (
        <p role="alert" className="text-sm text-red-700">
          Could not compare: {diff.error.message}
        </p>
      ) : changed.length === 0 ? (
        <p className="rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="diff-same">
          No difference: all {same} files are the same.
        </p>
      ) : (
        <>
          <p className="text-xs text-slate-500" data-testid="diff-summary">
            {changed.length} file{changed.length === 1 ? "" : "s"} differ{changed.length === 1 ? "s" : ""}
            {same > 0 ? `, ${same} unchanged` : ""}. Lines in red are in build #{id}, lines in green in{" "}
            {value === PROFILE ? "the profile now" : `build #${value}`}.
          </p>
          {changed.map((d) => (
            <div key={d.path} className="overflow-hidden rounded-lg border border-slate-200" data-testid="diff-file">
              <div className="flex items-center gap-2 border-b border-slate-200 bg-white px-3 py-1.5">
                <code className="truncate text-xs text-slate-800">{d.path}</code>
                <Badge tone={STATUS_TONES[d.status]}>{d.status}</Badge>
              </div>
              <PatchView patch={d.patch} />
            </div>
          ))}
        </>
      )}
    </div>
  );
}
