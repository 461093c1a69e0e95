"use client";
// Confirms deleting one build's outputs; the build's record, log and files stay.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { formatBytes } from "@/server/mkosi/size";
import type { SpaceBuild } from "@/components/artifacts/types";

export function DeleteArtifactsDialog({ build, onClose }: { build: SpaceBuild | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const del = useMutation(
    trpc.space.deleteArtifacts.mutationOptions({
      onSuccess: (_r, input) => {
        void queryClient.invalidateQueries({ queryKey: trpc.space.usage.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.artifacts.list.queryKey({ buildId: input.buildId }) });
        onClose();
      },
    }),
  );
  const close = () => {
    del.reset();
    onClose();
  };
  return (
    <Dialog
      open={build !== null}
      onClose={close}
      testId="delete-artifacts-dialog"
      title={build ? `Delete the artifacts of build #${build.buildId}?` : ""}
      description="The image files and their conversions are removed. The build's record, log and the files it was built from stay."
      onSubmit={() => build && del.mutate({ buildId: build.buildId })}
      footer={
        <>
          <Button onClick={close}>Keep them</Button>
          <Button type="submit" variant="danger" disabled={del.isPending} data-testid="confirm-delete-artifacts">
            {del.isPending ? "Deleting…" : "Delete artifacts"}
          </Button>
        </>
      }
    >
      {build ? (
        <p className="text-sm text-slate-700">
          Build #{build.buildId} of <strong>{build.profileName}</strong>: frees about{" "}
          <strong className="font-mono">{formatBytes(build.outputDiskBytes + build.workspaceDiskBytes)}</strong> ({formatBytes(build.outputApparentBytes)} apparent).
        </p>
      ) : null}
      {del.isError ? (
        <p role="alert" className="text-sm text-red-700">
          Not deleted: {apiError(del.error).message}
        </p>
      ) : null}
    </Dialog>
  );
}
