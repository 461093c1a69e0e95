"use client";
// One build: its state and time always in view, why it failed at the top, mkosi's phases
// beside the live log, the command it ran, and the files it was built from with a diff.
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { ArtifactsPanel } from "@/components/artifacts/artifacts-panel";
import { BuildPackages } from "@/components/packages/build-packages";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Fact, Facts } from "@/components/ui/fact";
import { RelativeTime } from "@/components/ui/relative-time";
import { Tabs } from "@/components/ui/tabs";
import { BootCheckBadge } from "@/components/vm/boot-check-badge";
import { VmPanel } from "@/components/vm/vm-panel";
import { isActive } from "@/server/db/build-states";
import { formatBytes } from "@/server/mkosi/size";
import { BuildDiff } from "./build-diff";
import { BuildFiles } from "./build-files";
import { later } from "@/components/trpc/forward-only";
import { buildAge } from "./build-age";
import { BuildLogPanel } from "./build-log-panel";
import { BuildStateBadge } from "./build-state-badge";
import { formatDuration, shellLine, toMs } from "./format";
import { StepTimeline, type TimelineStep } from "./step-timeline";
import type { BuildInfo } from "./types";
import { useBuildEvents } from "./use-build-events";
import { useNow } from "./use-now";

export function BuildDetailPage({ id }: { id: number }) {
  const trpc = useTRPC();
  const build = useQuery({
    ...trpc.builds.get.queryOptions({ id }),
    refetchOnWindowFocus: false,
    // The first answer may arrive after the stream's newer events (or its final state).
    structuralSharing: (held, incoming) => later(held as BuildInfo | undefined, incoming as BuildInfo, buildAge),
  });
  // The subscription keeps the query's data current (its first event is the current state).
  useBuildEvents(id);

  if (build.isError)
    return (
      <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800">
        <p>Could not open build {id}: {build.error.message}</p>
        <Link href="/builds" className="mt-2 inline-block underline">
          Back to builds
        </Link>
      </div>
    );
  if (!build.data) return <p className="text-sm text-slate-500">Loading build…</p>;
  return <LoadedBuild b={build.data} />;
}

function LoadedBuild({ b }: { b: BuildInfo }) {
  const trpc = useTRPC();
  const active = isActive(b.state);
  const now = useNow(active);
  const [tab, setTab] = useState("files");
  const [cancelError, setCancelError] = useState<string | null>(null);
  const cancel = useMutation(
    trpc.builds.cancel.mutationOptions({
      onMutate: () => setCancelError(null),
      onError: (e) => setCancelError(apiError(e).message),
    }),
  );

  const started = toMs(b.startedAt);
  const ended = toMs(b.endedAt);
  const elapsed = b.state === "queued" ? (now ?? 0) - (toMs(b.queuedAt) ?? 0) : started === null ? null : (ended ?? now ?? started) - started;
  const steps: TimelineStep[] = b.steps.map((s) => ({ name: s.name, depth: s.depth, startedAt: toMs(s.startedAt) ?? 0, endedAt: toMs(s.endedAt) }));

  return (
    <div className="-mt-6 space-y-3">
      <div className="sticky top-0 z-20 -mx-4 border-b border-slate-200 bg-white/95 px-4 py-2 backdrop-blur" data-testid="build-header">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          <Link href="/builds" className="text-sm text-slate-500 hover:text-slate-900">
            ← Builds
          </Link>
          <span className="text-slate-300" aria-hidden>
            /
          </span>
          <h1 className="text-base font-semibold">Build #{b.id}</h1>
          <BuildStateBadge state={b.state} className="text-xs" />
          {/* A plain anchor: the VM panel follows the hash to select that run. */}
          {b.bootCheck ? (
            <a href={`#vm-run-${b.bootCheck.runId}`} className="rounded focus-visible:outline-2 focus-visible:outline-sky-600">
              <BootCheckBadge check={b.bootCheck} className="text-xs" />
            </a>
          ) : null}
          <span className="text-sm text-slate-600">
            of{" "}
            {b.profileId !== null ? (
              <Link href={`/profiles/${b.profileId}`} className="font-medium text-slate-900 hover:underline" data-testid="build-profile">
                {b.profileName}
              </Link>
            ) : (
              <span className="font-medium" title="The profile was deleted">
                {b.profileName}
              </span>
            )}{" "}
            <span className="text-xs text-slate-400">rev {b.profileRevision}</span>
          </span>
          {b.incremental ? <Badge tone="violet">incremental</Badge> : null}

          <div className="ml-auto flex items-center gap-3">
            {b.state === "running" && b.currentStep ? (
              <span className="max-w-[28rem] truncate text-sm text-sky-800" data-testid="current-step" title={b.currentStep}>
                <span className="mr-1.5 inline-block h-2 w-2 animate-pulse rounded-full bg-sky-500" aria-hidden />
                {b.currentStep}
              </span>
            ) : null}
            {b.state === "queued" && b.queuePosition !== null ? (
              <span className="text-sm text-slate-600">#{b.queuePosition} in the queue</span>
            ) : null}
            <span className="text-right leading-tight" data-testid="build-elapsed">
              <span className="block text-[10px] tracking-wide text-slate-400 uppercase">
                {b.state === "queued" ? "waiting" : active ? "elapsed" : "took"}
              </span>
              <span className="font-mono text-lg font-semibold tabular-nums">{elapsed === null ? "–" : formatDuration(elapsed)}</span>
            </span>
            {active ? (
              <Button variant="danger" onClick={() => cancel.mutate({ id: b.id })} disabled={cancel.isPending} data-testid="cancel-build">
                {cancel.isPending ? "Cancelling…" : b.state === "queued" ? "Remove from queue" : "Cancel"}
              </Button>
            ) : null}
          </div>
        </div>
        <Facts className="mt-1">
          <Fact label="Queued">
            <RelativeTime iso={b.queuedAt} />
          </Fact>
          {b.startedAt ? (
            <Fact label="Started">
              <RelativeTime iso={b.startedAt} />
            </Fact>
          ) : null}
          {b.endedAt ? (
            <Fact label="Ended">
              <RelativeTime iso={b.endedAt} />
            </Fact>
          ) : null}
          <Fact label="mkosi">{b.mkosiVersion}</Fact>
          {b.exitCode !== null ? (
            <Fact label="Exit code">
              <span className={b.exitCode === 0 ? "text-emerald-700" : "text-red-700"} data-testid="exit-code">
                {b.exitCode}
              </span>
            </Fact>
          ) : null}
          {b.outputBytes !== null ? <Fact label="Output">{formatBytes(b.outputBytes)}</Fact> : null}
          {/* While running, the log panel counts the bytes live. */}
          {b.logBytes !== null && !active ? <Fact label="Log">{formatBytes(b.logBytes)}</Fact> : null}
        </Facts>
        {cancelError ? (
          <p role="alert" className="mt-1 text-xs text-red-700">
            Not cancelled: {cancelError}
          </p>
        ) : null}
      </div>

      {b.state === "failed" ? (
        <div role="alert" className="rounded-lg border border-red-300 bg-red-50 px-4 py-3" data-testid="failure-lines">
          <h2 className="text-sm font-semibold text-red-800">{b.message ? `The build failed: ${b.message}` : "The build failed"}</h2>
          {b.failureLines.length > 0 ? (
            <pre className="mt-2 max-h-64 overflow-auto rounded bg-white/70 px-3 py-2 font-mono text-xs leading-5 whitespace-pre-wrap text-red-900">
              {b.failureLines.join("\n")}
            </pre>
          ) : null}
        </div>
      ) : b.state === "cancelled" || b.state === "interrupted" ? (
        <p className="rounded-lg border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900" data-testid="build-message">
          The build was {b.state}
          {b.message && b.message !== b.state ? `: ${b.message}` : "."} Its log is kept below.
        </p>
      ) : b.message && b.state === "succeeded" ? (
        <p className="rounded-lg border border-slate-200 bg-white px-4 py-2 text-sm text-slate-700" data-testid="build-message">
          {b.message}
        </p>
      ) : null}

      {/* What a succeeded build made is what its user came for: above the log. Otherwise a note below it. */}
      {b.state === "succeeded" ? <ArtifactsPanel buildId={b.id} state={b.state} /> : null}
      {b.state === "succeeded" ? <VmPanel buildId={b.id} /> : null}
      {b.state === "succeeded" ? <BuildPackages buildId={b.id} /> : null}

      <div className="grid gap-3 lg:h-[max(28rem,calc(100vh-13rem))] lg:grid-cols-[22rem_minmax(0,1fr)]">
        <StepTimeline steps={steps} startedAt={started} endedAt={ended} state={b.state} now={now} className="max-h-[50vh] lg:max-h-none" />
        <BuildLogPanel id={b.id} state={b.state} className="h-[70vh] lg:h-auto" />
      </div>

      {b.state !== "succeeded" ? <ArtifactsPanel buildId={b.id} state={b.state} /> : null}

      <section className="rounded-lg border border-slate-200 bg-white px-4 py-3" aria-labelledby="command-title">
        <h2 id="command-title" className="text-sm font-semibold">
          Command
        </h2>
        {b.command ? (
          <pre className="mt-1.5 rounded bg-slate-900 px-3 py-2 font-mono text-xs break-all whitespace-pre-wrap text-slate-100" data-testid="build-command">
            {shellLine(b.command)}
          </pre>
        ) : (
          <p className="mt-1 text-xs text-slate-500">Not started yet: the command is fixed when mkosi starts.</p>
        )}
        <p className="mt-1.5 text-xs text-slate-500">
          Exit code: <span className="font-mono text-slate-800">{b.exitCode ?? (active ? "not yet" : "none (mkosi did not exit on its own)")}</span>
        </p>
      </section>

      <section className="space-y-2 rounded-lg border border-slate-200 bg-white px-4 py-3">
        <Tabs
          idPrefix="build"
          label="What the build was built from"
          value={tab}
          onChange={setTab}
          items={[
            { id: "files", label: "Files", testId: "tab-files" },
            { id: "diff", label: "Diff", testId: "tab-diff" },
          ]}
        />
        <div id="build-panel" role="tabpanel">
          {tab === "files" ? <BuildFiles id={b.id} /> : <BuildDiff id={b.id} profileId={b.profileId} />}
        </div>
      </section>
    </div>
  );
}
