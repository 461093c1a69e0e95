"use client";
// The profile's "boot-check every successful build" option, saved on its own (vms.setBootCheckAfterBuild):
// it is not part of the document, so it takes effect without a save and bumps no revision.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";

export function BootCheckToggle({ profileId }: { profileId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // The editor has this query loaded (staleTime: Infinity there); this reads the same cache entry.
  const profile = useQuery({ ...trpc.profiles.get.queryOptions({ id: profileId }), staleTime: Infinity, refetchOnWindowFocus: false });
  const [error, setError] = useState<string | null>(null);
  // What was asked for, shown while the request is out. Set in the change handler itself: a
  // controlled checkbox whose state does not change in that handler is put back by React.
  const [asked, setAsked] = useState<boolean | null>(null);
  const set = useMutation(
    trpc.vms.setBootCheckAfterBuild.mutationOptions({
      onMutate: () => setError(null),
      onSuccess: (r) => {
        queryClient.setQueryData(trpc.profiles.get.queryKey({ id: profileId }), (old) => (old ? { ...old, bootCheckAfterBuild: r.bootCheckAfterBuild } : old));
        void queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() });
      },
      onError: (e) => setError(apiError(e).message),
      onSettled: () => setAsked(null),
    }),
  );
  const checked = asked ?? profile.data?.bootCheckAfterBuild ?? false;

  return (
    <label
      className="inline-flex items-center gap-1 text-xs text-slate-600"
      title={error ? `Not changed: ${error}` : "After each build of this profile succeeds, boot it in a VM and run the boot check (the verdict shows on the build)"}
    >
      <input
        type="checkbox"
        checked={checked}
        disabled={!profile.data || set.isPending}
        onChange={(e) => {
          setAsked(e.target.checked);
          set.mutate({ profileId, enabled: e.target.checked });
        }}
        className="accent-sky-600"
        data-testid="boot-check-after-build"
        aria-invalid={error ? true : undefined}
      />
      Boot-check every successful build
      {error ? (
        <span role="alert" className="text-red-700" data-testid="boot-check-after-build-error">
          (not changed: {error})
        </span>
      ) : null}
    </label>
  );
}
