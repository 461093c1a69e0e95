"use client";
// A build's VM runs, kept current by the vms.watch subscription (its first event is the list
// as it is now), written into the vms.list query so mutation results can go into it too.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import type { BuildListItem } from "@/components/builds/types";
import { useTRPC } from "@/components/trpc/client";
import type { BootCheckSummary, VmRun } from "./types";

/** The build's badge as the server derives it: its newest check, "running" until it has a verdict. */
function newestCheck(runs: readonly VmRun[]): BootCheckSummary | undefined {
  const r = runs.find((x) => x.purpose === "check");
  return r ? { runId: r.id, verdict: r.verdict ?? "running" } : undefined;
}

export function useVmRuns(buildId: number) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const key = trpc.vms.list.queryKey({ buildId });
  const list = useQuery({ ...trpc.vms.list.queryOptions({ buildId }), refetchOnWindowFocus: false });
  const watch = useSubscription(
    trpc.vms.watch.subscriptionOptions(
      { buildId },
      {
        onData: (runs) => {
          queryClient.setQueryData(key, runs);
          // builds.events of one build ends once the build has finished, so a check that ends
          // later would leave the page header's badge behind: it is kept current from here.
          const check = newestCheck(runs);
          if (!check) return;
          const same = (b: BootCheckSummary | null) => b?.runId === check.runId && b.verdict === check.verdict;
          queryClient.setQueryData(trpc.builds.get.queryKey({ id: buildId }), (old) => (old && !same(old.bootCheck) ? { ...old, bootCheck: check } : old));
          queryClient.setQueriesData<BuildListItem[]>({ queryKey: trpc.builds.list.queryKey() }, (old) =>
            old?.some((b) => b.id === buildId && !same(b.bootCheck)) ? old.map((b) => (b.id === buildId ? { ...b, bootCheck: check } : b)) : old,
          );
        },
      },
    ),
  );
  const update = (run: VmRun, replace: boolean) =>
    queryClient.setQueryData(key, (old: VmRun[] | undefined) =>
      !old?.some((r) => r.id === run.id) ? [run, ...(old ?? [])] : replace ? old.map((r) => (r.id === run.id ? run : r)) : old,
    );
  return {
    runs: list.data ?? [],
    list,
    watch,
    /** A run just started: added unless the watch brought it already (its copy may be newer, e.g. a VM that failed at once). */
    addRun: (run: VmRun) => update(run, false),
    /** A run's final state (what stop returns, once QEMU has ended): nothing newer can exist. */
    putRun: (run: VmRun) => update(run, true),
  };
}
