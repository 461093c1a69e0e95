"use client";
// "Keep only the newest N builds of profile X": deletes the outputs of that profile's older
// builds after a confirmation listing them. Running and queued builds are never touched.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { Input, Select } from "@/components/ui/input";
import { formatBytes } from "@/server/mkosi/size";
import type { SpaceBuild } from "@/components/artifacts/types";

const ACTIVE = new Set(["queued", "running"]);

/**
 * The builds whose outputs would go, as the server picks them: the profile's ended builds past
 * the newest `keep` by build number (queued and running ones are neither counted nor touched).
 */
export function olderBuilds(builds: readonly SpaceBuild[], profileId: number, keep: number): SpaceBuild[] {
  return builds
    .filter((b) => b.profileId === profileId && !ACTIVE.has(b.state))
    .sort((a, b) => b.buildId - a.buildId)
    .slice(keep)
    .filter((b) => b.outputDiskBytes + b.outputApparentBytes + b.workspaceDiskBytes > 0);
}

export function KeepNewest({ builds }: { builds: readonly SpaceBuild[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const profiles = [...new Map(builds.filter((b) => b.profileId !== null).map((b) => [b.profileId as number, b.profileName])).entries()].sort((a, b) =>
    a[1].localeCompare(b[1]),
  );
  const [profileId, setProfileId] = useState<number | null>(null);
  const [keepText, setKeepText] = useState("3");
  const [confirming, setConfirming] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const chosen = profileId ?? profiles[0]?.[0] ?? null;
  const keep = Number(keepText);
  const keepValid = Number.isInteger(keep) && keep >= 0 && keepText.trim() !== "";
  const victims = chosen !== null && keepValid ? olderBuilds(builds, chosen, keep) : [];
  const freed = victims.reduce((s, b) => s + b.outputDiskBytes, 0);

  const run = useMutation(
    trpc.space.keepNewest.mutationOptions({
      onSuccess: (r) => {
        setResult(
          r.deleted.length === 0
            ? "Nothing was deleted."
            : `Deleted the artifacts of build${r.deleted.length === 1 ? "" : "s"} ${r.deleted.map((d) => `#${d.buildId}`).join(", ")}: ${formatBytes(r.freedBytes)} freed.`,
        );
        setConfirming(false);
        void queryClient.invalidateQueries({ queryKey: trpc.space.usage.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.artifacts.list.queryKey() });
      },
    }),
  );

  if (profiles.length === 0) return <p className="text-xs text-slate-500">No builds yet.</p>;
  return (
    <div className="space-y-2" data-testid="keep-newest">
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          setResult(null);
          run.reset();
          setConfirming(true);
        }}
      >
        <label className="text-xs text-slate-700">
          <span className="mb-1 block font-medium">Profile</span>
          <span className="block w-56">
            <Select value={chosen ?? ""} onChange={(e) => setProfileId(Number(e.target.value))} data-testid="keep-profile">
              {profiles.map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </Select>
          </span>
        </label>
        <label className="text-xs text-slate-700">
          <span className="mb-1 block font-medium">Keep the newest</span>
          <span className="block w-20">
            <Input type="number" min={0} step={1} value={keepText} onChange={(e) => setKeepText(e.target.value)} invalid={!keepValid} data-testid="keep-count" />
          </span>
        </label>
        <span className="pb-1.5 text-xs text-slate-600">ended builds&apos; artifacts</span>
        <Button type="submit" variant="danger" disabled={!keepValid || victims.length === 0} data-testid="keep-newest-button">
          Delete older artifacts…
        </Button>
        <span className="pb-1.5 text-xs text-slate-500" data-testid="keep-preview">
          {!keepValid ? "Enter a whole number." : victims.length === 0 ? "Nothing to delete." : `${victims.length} older build${victims.length === 1 ? "" : "s"}, about ${formatBytes(freed)}`}
        </span>
      </form>
      {result ? (
        <p className="text-xs text-emerald-800" data-testid="keep-newest-result">
          {result}
        </p>
      ) : null}
      <Dialog
        open={confirming}
        onClose={() => setConfirming(false)}
        testId="keep-newest-dialog"
        title={`Keep only the newest ${keep} build${keep === 1 ? "" : "s"}?`}
        description="The image files of the older builds of this profile are removed; their records and logs stay. Running and queued builds are never touched."
        onSubmit={() => chosen !== null && run.mutate({ profileId: chosen, keep })}
        footer={
          <>
            <Button onClick={() => setConfirming(false)}>Cancel</Button>
            <Button type="submit" variant="danger" disabled={run.isPending} data-testid="confirm-keep-newest">
              {run.isPending ? "Deleting…" : `Delete ${formatBytes(freed)}`}
            </Button>
          </>
        }
      >
        <ul className="max-h-60 space-y-0.5 overflow-y-auto text-sm">
          {victims.map((b) => (
            <li key={b.buildId} className="flex justify-between gap-3">
              <span>
                Build #{b.buildId} <span className="text-slate-500">({b.state})</span>
              </span>
              <span className="font-mono text-slate-700">{formatBytes(b.outputDiskBytes)}</span>
            </li>
          ))}
        </ul>
        {run.isError ? (
          <p role="alert" className="text-sm text-red-700">
            Not deleted: {apiError(run.error).message}
          </p>
        ) : null}
      </Dialog>
    </div>
  );
}
