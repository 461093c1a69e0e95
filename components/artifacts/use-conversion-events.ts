"use client";
// Live conversion jobs of one build from the conversionEvents subscription, written into the
// conversions query; a job that finishes refreshes the artifact list, where its file appears.
import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useCallback } from "react";
import { useTRPC } from "@/components/trpc/client";
import { later } from "@/components/trpc/forward-only";
import { jobAge } from "./job-age";
import type { ConversionJob } from "./types";

/**
 * Puts a job (from an event or a mutation's answer) into the build's conversions query, unless
 * the query holds a later copy of it.
 */
export function useUpsertJob(buildId: number) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useCallback(
    (job: ConversionJob) => {
      const key = trpc.artifacts.conversions.queryKey({ buildId });
      const before = queryClient.getQueryData<ConversionJob[]>(key)?.find((j) => j.id === job.id);
      queryClient.setQueryData<ConversionJob[]>(key, (old) => {
        const list = old ?? [];
        return list.some((j) => j.id === job.id) ? list.map((j) => (j.id === job.id ? later(j, job, jobAge) : j)) : [...list, job];
      });
      if (job.state === "succeeded" && before?.state !== "succeeded") {
        // The file is new: the artifact list and the space figures change.
        void queryClient.invalidateQueries({ queryKey: trpc.artifacts.list.queryKey({ buildId }) });
        void queryClient.invalidateQueries({ queryKey: trpc.space.usage.queryKey() });
      }
    },
    [trpc, queryClient, buildId],
  );
}

export function useConversionEvents(buildId: number) {
  const trpc = useTRPC();
  const upsert = useUpsertJob(buildId);
  return useSubscription(trpc.artifacts.conversionEvents.subscriptionOptions({ buildId }, { onData: upsert }));
}
