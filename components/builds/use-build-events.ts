"use client";
// Live build changes from the builds.events subscription, written into the query cache so
// every view of a build (its page, the history, the queue, the editor's link) follows it.
import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useEffect, useRef } from "react";
import { useTRPC } from "@/components/trpc/client";
import type { BuildInfo, BuildListItem } from "./types";

/** Refetches of lists and the queue are spaced at least this far apart (steps change often). */
const REFETCH_GAP_MS = 1000;

function toListItem(b: BuildInfo): BuildListItem {
  const { steps: _steps, failureLines: _lines, ...view } = b;
  return view;
}

/** Follows one build (`id`) or all builds; returns the subscription's status for display. */
export function useBuildEvents(id?: number) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const states = useRef(new Map<number, string>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  const refetchLists = () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void queryClient.invalidateQueries({ queryKey: trpc.builds.list.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.builds.queue.queryKey() });
    }, REFETCH_GAP_MS);
  };

  return useSubscription(
    trpc.builds.events.subscriptionOptions(id === undefined ? {} : { id }, {
      onData: (b) => {
        queryClient.setQueryData(trpc.builds.get.queryKey({ id: b.id }), b);
        // Lists holding the build are patched in place; a new build or a new state (it moves
        // between the queue and the history, positions shift) refetches them.
        const patch = (row: BuildListItem) => (row.id === b.id ? toListItem(b) : row);
        queryClient.setQueriesData<BuildListItem[]>({ queryKey: trpc.builds.list.queryKey() }, (old) => old?.map(patch));
        queryClient.setQueryData(trpc.builds.queue.queryKey(), (old) =>
          old ? { ...old, running: old.running.map(patch), queued: old.queued.map(patch) } : old,
        );
        const before = states.current.get(b.id);
        states.current.set(b.id, b.state);
        if (before !== b.state) refetchLists();
      },
    }),
  );
}
