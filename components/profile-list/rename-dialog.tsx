"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { Field } from "@/components/ui/field";
import { Input } from "@/components/ui/input";

export function RenameDialog({ profile, onClose }: { profile: { id: number; name: string } | null; onClose: () => void }) {
  return (
    <Dialog open={profile !== null} onClose={onClose} title="Rename profile" testId="rename-dialog">
      {profile ? <RenameForm key={profile.id} profile={profile} onClose={onClose} /> : null}
    </Dialog>
  );
}

function RenameForm({ profile, onClose }: { profile: { id: number; name: string }; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState(profile.name);
  const rename = useMutation(
    trpc.profiles.rename.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.profiles.pathKey() });
        onClose();
      },
    }),
  );
  const error = rename.error ? apiError(rename.error) : null;
  const nameProblems = error?.problems.filter((p) => p.path[0] === "name") ?? [];

  return (
    <form
      className="space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        rename.mutate({ id: profile.id, name });
      }}
    >
      <Field
        label="New name"
        htmlFor="rename-name"
        messages={error ? (nameProblems.length ? nameProblems : [{ message: error.message }]) : []}
      >
        <Input id="rename-name" data-testid="rename-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus invalid={!!error} />
      </Field>
      <div className="flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={rename.isPending} data-testid="rename-submit">
          {rename.isPending ? "Renaming…" : "Rename"}
        </Button>
      </div>
    </form>
  );
}
