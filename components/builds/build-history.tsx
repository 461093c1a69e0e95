"use client";
// Every build, newest first, across profiles or for one; the queue above it. Kept live by the
// builds.events subscription (no polling).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { laterList } from "@/components/trpc/forward-only";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Select } from "@/components/ui/input";
import { RelativeTime } from "@/components/ui/relative-time";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import { BootCheckBadge, runHref } from "@/components/vm/boot-check-badge";
import { formatBytes } from "@/server/mkosi/size";
import { buildAge } from "./build-age";
import { BuildStateBadge } from "./build-state-badge";
import { buildDuration, formatDuration } from "./format";
import type { BuildListItem } from "./types";
import { useBuildEvents } from "./use-build-events";
import { useNow } from "./use-now";

const PAGE = 100;

export function BuildHistory({ profileId }: { profileId?: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [limit, setLimit] = useState(PAGE);
  const profiles = useQuery(trpc.profiles.list.queryOptions());
  const list = useQuery({
    ...trpc.builds.list.queryOptions({ profileId, limit }),
    // A refetch answered after newer events keeps their rows.
    structuralSharing: (held, incoming) => laterList(held as BuildListItem[] | undefined, incoming as BuildListItem[], buildAge),
  });
  const queue = useQuery(trpc.builds.queue.queryOptions());
  const events = useBuildEvents();
  const anyRunning = (queue.data?.running.length ?? 0) > 0 || (list.data ?? []).some((b) => b.state === "running");
  const now = useNow(anyRunning);

  const profileName = profiles.data?.find((p) => p.id === profileId)?.name;
  const inQueue = (queue.data?.queued ?? []).filter((b) => profileId === undefined || b.profileId === profileId);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <h1 className="text-lg font-semibold">Builds</h1>
          <p className="text-sm text-slate-500">
            {profileId !== undefined ? (
              <>
                Builds of <Link href={`/profiles/${profileId}`} className="font-medium text-slate-800 hover:underline">{profileName ?? `profile ${profileId}`}</Link>.
              </>
            ) : (
              "Every build of every profile, newest first."
            )}
          </p>
        </div>
        <div className="ml-auto flex items-center gap-2">
          <label htmlFor="profile-filter" className="text-sm text-slate-600">
            Profile
          </label>
          <Select
            id="profile-filter"
            data-testid="profile-filter"
            className="w-56"
            value={profileId === undefined ? "" : String(profileId)}
            onChange={(e) => router.replace(e.target.value ? `/builds?profile=${e.target.value}` : "/builds")}
          >
            <option value="">All profiles</option>
            {profileId !== undefined && !profiles.data?.some((p) => p.id === profileId) ? <option value={String(profileId)}>profile {profileId}</option> : null}
            {profiles.data?.map((p) => (
              <option key={p.id} value={String(p.id)}>
                {p.name}
              </option>
            ))}
          </Select>
        </div>
      </div>

      {events.status === "error" ? (
        <p role="alert" className="rounded border border-amber-200 bg-amber-50 px-3 py-1.5 text-xs text-amber-900">
          Live updates stopped ({events.error?.message}); reload the page to see changes.{" "}
          <Button size="sm" onClick={() => events.reset()}>
            Reconnect
          </Button>
        </p>
      ) : null}

      <QueuePanel running={(queue.data?.running ?? []).filter((b) => profileId === undefined || b.profileId === profileId)} queued={inQueue} concurrency={queue.data?.concurrency} now={now} />

      <section className="overflow-hidden rounded-lg border border-slate-200 bg-white" aria-labelledby="history-title">
        <h2 id="history-title" className="border-b border-slate-100 px-4 py-2.5 text-sm font-semibold">
          History
        </h2>
        {list.isPending ? (
          <p className="px-4 py-3 text-sm text-slate-500">Loading…</p>
        ) : list.isError ? (
          <p role="alert" className="px-4 py-3 text-sm text-red-700">
            Could not load the builds: {list.error.message}
          </p>
        ) : list.data.length === 0 ? (
          <p className="px-4 py-6 text-center text-sm text-slate-500" data-testid="no-builds">
            No builds yet. Open a profile and press Build.
          </p>
        ) : (
          <div className="overflow-x-auto">
            <Table data-testid="build-history">
              <TableHead>
                <Th>Build</Th>
                <Th>State</Th>
                <Th>Profile</Th>
                <Th>Started</Th>
                <Th align="right">Duration</Th>
                <Th align="right">Output</Th>
                <Th>mkosi</Th>
                <Th>Note</Th>
              </TableHead>
              <TableBody>
                {list.data.map((b) => (
                  <HistoryRow key={b.id} b={b} now={now} />
                ))}
              </TableBody>
            </Table>
          </div>
        )}
        {list.data && list.data.length >= limit && limit < 500 ? (
          <div className="border-t border-slate-100 px-4 py-2">
            <Button size="sm" onClick={() => setLimit((l) => Math.min(500, l + PAGE))}>
              Show older builds
            </Button>
          </div>
        ) : null}
      </section>
    </div>
  );
}

function HistoryRow({ b, now }: { b: BuildListItem; now: number | null }) {
  const duration = b.durationMs ?? (now === null ? null : buildDuration(b, now));
  return (
    <tr className="hover:bg-slate-50" data-testid="build-row" data-build-id={b.id}>
      <Td>
        <Link href={`/builds/${b.id}`} className="font-medium text-sky-800 hover:underline">
          #{b.id}
        </Link>
      </Td>
      <Td>
        <span className="flex flex-wrap items-center gap-1">
          <BuildStateBadge state={b.state} />
          <BootCheckBadge check={b.bootCheck} href={b.bootCheck ? runHref(b.id, b.bootCheck.runId) : undefined} />
        </span>
      </Td>
      <Td>
        {b.profileId !== null ? (
          <Link href={`/profiles/${b.profileId}`} className="text-slate-800 hover:underline">
            {b.profileName}
          </Link>
        ) : (
          <span className="text-slate-500" title="The profile was deleted">
            {b.profileName}
          </span>
        )}
        <span className="ml-1 text-[11px] text-slate-400">rev {b.profileRevision}</span>
      </Td>
      <Td className="text-slate-600">{b.startedAt ? <RelativeTime iso={b.startedAt} /> : <span className="text-slate-400">not started</span>}</Td>
      <Td align="right" className="text-slate-700 tabular-nums">{duration === null ? "–" : formatDuration(duration)}</Td>
      <Td align="right" className="text-slate-700 tabular-nums">{b.outputBytes === null ? "–" : formatBytes(b.outputBytes)}</Td>
      <Td className="font-mono text-xs text-slate-600">{b.mkosiVersion}</Td>
      <Td className="max-w-[28rem] text-xs text-slate-500">
        <span className="flex items-center gap-1.5">
          {b.incremental ? <Badge tone="violet">incremental</Badge> : null}
          <span className="truncate" title={b.message ?? b.currentStep ?? undefined}>
            {b.state === "running" ? b.currentStep : b.message}
          </span>
        </span>
      </Td>
    </tr>
  );
}

function QueuePanel({ running, queued, concurrency, now }: { running: BuildListItem[]; queued: BuildListItem[]; concurrency: number | undefined; now: number | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const remove = useMutation(
    trpc.builds.cancel.mutationOptions({
      onMutate: () => setError(null),
      onError: (e) => setError(apiError(e).message),
      onSettled: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.builds.queue.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.builds.list.queryKey() });
      },
    }),
  );
  return (
    <section className="rounded-lg border border-slate-200 bg-white" aria-labelledby="queue-title" data-testid="build-queue">
      <header className="flex items-baseline gap-2 border-b border-slate-100 px-4 py-2.5">
        <h2 id="queue-title" className="text-sm font-semibold">
          Queue
        </h2>
        <span className="text-xs text-slate-500">
          {concurrency === undefined ? "" : `${concurrency} build${concurrency === 1 ? "" : "s"} at a time (IMAGE_STUDIO_BUILD_CONCURRENCY)`}
        </span>
      </header>
      {running.length === 0 && queued.length === 0 ? (
        <p className="px-4 py-3 text-sm text-slate-500">Nothing is building or waiting.</p>
      ) : (
        <ol className="divide-y divide-slate-100">
          {running.map((b) => (
            <li key={b.id} className="flex flex-wrap items-center gap-3 px-4 py-2 text-sm" data-testid="queue-running">
              <BuildStateBadge state={b.state} />
              <Link href={`/builds/${b.id}`} className="font-medium text-sky-800 hover:underline">
                #{b.id}
              </Link>
              <span className="text-slate-800">{b.profileName}</span>
              <span className="min-w-0 flex-1 truncate text-xs text-sky-800">{b.currentStep ?? "starting…"}</span>
              <span className="font-mono text-xs text-slate-600 tabular-nums">{now === null ? "" : formatDuration(buildDuration(b, now) ?? 0)}</span>
            </li>
          ))}
          {queued.map((b) => (
            <li key={b.id} className="flex flex-wrap items-center gap-3 px-4 py-2 text-sm" data-testid="queue-item">
              <span className="w-8 text-right font-mono text-xs text-slate-500" title="Place in the queue">
                {b.queuePosition ?? "–"}.
              </span>
              <Link href={`/builds/${b.id}`} className="font-medium text-sky-800 hover:underline">
                #{b.id}
              </Link>
              <span className="text-slate-800">{b.profileName}</span>
              <span className="flex-1 text-xs text-slate-500">
                queued <RelativeTime iso={b.queuedAt} />
              </span>
              <Button size="sm" onClick={() => remove.mutate({ id: b.id })} disabled={remove.isPending && remove.variables?.id === b.id} data-testid="queue-remove">
                Remove
              </Button>
            </li>
          ))}
        </ol>
      )}
      {error ? (
        <p role="alert" className="border-t border-red-100 px-4 py-1.5 text-xs text-red-700">
          Not removed: {error}
        </p>
      ) : null}
    </section>
  );
}
