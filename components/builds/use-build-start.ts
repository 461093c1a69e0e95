"use client";
// Starting a build of a profile from its editor: what is saved gets built, so unsaved edits
// are saved first ("Save and build"); the server's preflight refusal is kept to be shown, and
// a refusal for scripts nobody confirmed yet becomes a review of them (components/trust/).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import { apiError, type ApiError } from "@/components/trpc/errors";
import { useTRPC, useTRPCClient } from "@/components/trpc/client";
import { scriptReview, type ScriptReview } from "@/components/trust/trust-dialog";

export type EditorSaveStatus = "clean" | "dirty" | "saving";

export function useBuildStart({ profileId, status, onSave }: { profileId: number; status: EditorSaveStatus; onSave: () => void }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const router = useRouter();
  const recent = useQuery(trpc.builds.list.queryOptions({ profileId, limit: 5 }));
  const [incrementalChoice, setIncremental] = useState<boolean | null>(null);
  // Until the user decides, do what this profile's last build did.
  const incremental = incrementalChoice ?? recent.data?.[0]?.incremental ?? false;
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [review, setReview] = useState<ScriptReview | null>(null);
  // "Save and build": requested (save called) -> saving -> clean (build) or dirty (save refused).
  const [saveStage, setSaveStage] = useState<"none" | "requested" | "saving">("none");

  const start = useCallback(
    async (trustScripts?: string) => {
      setStarting(true);
      setError(null);
      try {
        const build = await client.builds.start.mutate({ profileId, incremental, trustScripts });
        setReview(null);
        void queryClient.invalidateQueries({ queryKey: trpc.builds.list.queryKey() });
        queryClient.setQueryData(trpc.builds.get.queryKey({ id: build.id }), build);
        router.push(`/builds/${build.id}`);
      } catch (e) {
        const err = apiError(e);
        const scripts = err.code === "PRECONDITION_FAILED" ? scriptReview(err.details) : null;
        if (scripts) setReview(scripts);
        else {
          setReview(null);
          setError(err);
        }
        setStarting(false);
      }
    },
    [client, incremental, profileId, queryClient, router, trpc],
  );

  useEffect(() => {
    if (saveStage === "none") return;
    if (status === "saving") {
      if (saveStage === "requested") setSaveStage("saving");
      return;
    }
    setSaveStage("none");
    if (status === "clean") void start();
    else
      setError({
        message: "Not built: the changes could not be saved (see the message above). A build uses the saved profile.",
        code: "SAVE_FAILED",
        problems: [],
        details: undefined,
      });
  }, [saveStage, start, status]);

  const build = useCallback(() => {
    if (starting || saveStage !== "none") return;
    setError(null);
    if (status === "clean") return void start();
    setSaveStage("requested");
    onSave();
  }, [onSave, saveStage, start, starting, status]);

  return {
    build,
    busy: starting || saveStage !== "none",
    error,
    dismissError: () => setError(null),
    /** The scripts to confirm before this build may run them, after a refusal. */
    review,
    /** Starts the build again, confirming the scripts with this digest. */
    trust: (digest: string) => void start(digest),
    closeReview: () => setReview(null),
    incremental,
    setIncremental,
    recent: recent.data ?? [],
  };
}

export type BuildStart = ReturnType<typeof useBuildStart>;
