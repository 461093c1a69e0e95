"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { Field } from "@/components/ui/field";
import { Input, Select } from "@/components/ui/input";

const BLANK = "";

export function NewProfileDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title="New profile" description="Start from a preset or from an empty profile." testId="new-profile-dialog">
      <NewProfileForm onClose={onClose} />
    </Dialog>
  );
}

function NewProfileForm({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const presets = useQuery(trpc.presets.list.queryOptions());
  const [name, setName] = useState("");
  // undefined until the user picks: then the first preset is offered, the usual start.
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const presetId = picked ?? presets.data?.[0]?.id ?? BLANK;
  const preset = presets.data?.find((p) => p.id === presetId);

  const create = useMutation(
    trpc.profiles.create.mutationOptions({
      onSuccess: async (row) => {
        await queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() });
        router.push(`/profiles/${row.id}`);
      },
    }),
  );
  const error = create.error ? apiError(create.error) : null;
  const nameMessages = error?.problems.filter((p) => p.path[0] === "name") ?? [];
  const otherError = error && nameMessages.length === 0 ? error.message : null;

  return (
    <form
      className="space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate({ name, ...(presetId === BLANK ? {} : { presetId }) });
      }}
    >
      <Field label="Name" htmlFor="new-profile-name" messages={nameMessages}>
        <Input
          id="new-profile-name"
          data-testid="new-profile-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. kiosk-appliance"
          autoFocus
          required
          invalid={nameMessages.length > 0}
        />
      </Field>
      <Field label="Start from" htmlFor="new-profile-preset" help={preset ? preset.description : "An empty profile: mkosi's defaults for everything."}>
        <Select id="new-profile-preset" data-testid="preset-select" value={presetId} onChange={(e) => setPicked(e.target.value)}>
          {presets.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
          <option value={BLANK}>Blank profile</option>
        </Select>
      </Field>
      {presets.isError ? <p className="text-xs text-red-700">Could not load presets: {presets.error.message}</p> : null}
      {otherError ? (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {otherError}
        </p>
      ) : null}
      <div className="flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="primary" data-testid="create-profile" disabled={create.isPending || create.isSuccess}>
          {create.isPending || create.isSuccess ? "Creating…" : "Create"}
        </Button>
      </div>
    </form>
  );
}
