"use client";
// The package index of the profile being edited: its status (age, size, last error), kept
// current by the packages.watch subscription (a refresh's progress included), and refresh.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import type { PackageScope } from "./scope";

export function usePackageIndex(scope: PackageScope | null) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = scope?.sources ?? { document: null };
  const status = useQuery({ ...trpc.packages.status.queryOptions(input), enabled: scope !== null, refetchOnWindowFocus: false });
  useSubscription(
    trpc.packages.watch.subscriptionOptions(input, {
      enabled: scope !== null,
      onData: (s) => {
        const before = queryClient.getQueryData(trpc.packages.status.queryKey(input));
        queryClient.setQueryData(trpc.packages.status.queryKey(input), s);
        // A refresh that just ended changes what searches and pull-ins answer.
        if (before?.refreshing && !s.refreshing) {
          void queryClient.invalidateQueries({ queryKey: trpc.packages.search.queryKey() });
          void queryClient.invalidateQueries({ queryKey: trpc.packages.pullIn.queryKey() });
        }
      },
    }),
  );
  const refresh = useMutation(trpc.packages.refresh.mutationOptions());
  return {
    status: status.data ?? null,
    refresh: () => scope && refresh.mutate(scope.sources),
    refreshError: refresh.error ? apiError(refresh.error).message : null,
  };
}
