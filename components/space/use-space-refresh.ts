"use client";
// Builds that start, finish or end change what the Space page may delete and how much room
// they take: a change of state (not every step) refetches the usage.
import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useRef } from "react";
import { useTRPC } from "@/components/trpc/client";
import type { SpaceUsage } from "@/components/artifacts/types";

export function useSpaceRefresh() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const seen = useRef(new Map<number, string>());
  return useSubscription(
    trpc.builds.events.subscriptionOptions(
      {},
      {
        onData: (b) => {
          const usage = queryClient.getQueryData<SpaceUsage>(trpc.space.usage.queryKey());
          const known = seen.current.get(b.id) ?? usage?.builds.find((x) => x.buildId === b.id)?.state;
          seen.current.set(b.id, b.state);
          // Before the first answer there is nothing stale to refresh.
          if (usage && known !== b.state) void queryClient.invalidateQueries({ queryKey: trpc.space.usage.queryKey() });
        },
      },
    ),
  );
}
