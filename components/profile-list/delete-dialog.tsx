"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";

export function DeleteDialog({ profile, onClose }: { profile: { id: number; name: string } | null; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.profiles.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() });
        close();
      },
    }),
  );
  const close = () => {
    remove.reset();
    onClose();
  };
  return (
    <Dialog
      open={profile !== null}
      onClose={close}
      title="Delete profile?"
      testId="delete-dialog"
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button
            variant="danger"
            data-testid="delete-confirm"
            disabled={remove.isPending}
            onClick={() => profile && remove.mutate({ id: profile.id })}
          >
            {remove.isPending ? "Deleting…" : "Delete"}
          </Button>
        </>
      }
    >
      <p className="text-sm text-slate-700">
        <strong className="font-semibold">{profile?.name}</strong> and its settings will be removed. This cannot be undone; export it
        first to keep a copy as a plain mkosi folder.
      </p>
      {remove.error ? (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {apiError(remove.error).message}
        </p>
      ) : null}
    </Dialog>
  );
}
