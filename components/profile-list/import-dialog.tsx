"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC, useTRPCClient } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { Field, FieldMessages } from "@/components/ui/field";
import { Input } from "@/components/ui/input";
import { Tabs } from "@/components/ui/tabs";
import { formatProblem } from "@/server/mkosi/validate";

type Source = "archive" | "folder";

export function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Import an mkosi project"
      description="Settings the dashboard knows become form fields; everything else is kept as is and written back unchanged on export."
      testId="import-dialog"
      className="w-[min(40rem,calc(100vw-2rem))]"
    >
      <ImportForm onClose={onClose} />
    </Dialog>
  );
}

function ImportForm({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [source, setSource] = useState<Source>("archive");
  const [file, setFile] = useState<File | null>(null);
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  // Folders on the server are offered only below the roots the server was given.
  const roots = useQuery({ ...trpc.host.facts.queryOptions(), staleTime: 5 * 60_000 }).data?.importRoots ?? [];

  const run = useMutation({
    mutationFn: async () => {
      const trimmed = name.trim();
      if (source === "archive") {
        if (!file) throw new Error("choose a .tar.gz, .tar or .zip file first");
        const form = new FormData();
        form.set("file", file);
        if (trimmed) form.set("name", trimmed);
        return client.profiles.importArchive.mutate(form);
      }
      if (!path.trim()) throw new Error("enter the folder's absolute path on the server");
      return client.profiles.importFolder.mutate({ path: path.trim(), ...(trimmed ? { name: trimmed } : {}) });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() }),
  });

  const error = run.error ? apiError(run.error) : null;
  const result = run.data;

  if (result) {
    return (
      <div className="space-y-3" data-testid="import-result">
        <p className="text-sm text-slate-700">
          Imported as <strong className="font-semibold">{result.profile.name}</strong>.
        </p>
        {result.problems.length > 0 ? (
          <p role="status" className="rounded-md bg-amber-50 px-3 py-2 text-xs text-amber-900 ring-1 ring-amber-200 ring-inset" data-testid="import-problems">
            {result.problems.length} problem{result.problems.length === 1 ? "" : "s"} to fix before a build, marked at {result.problems.length === 1 ? "its field" : "their fields"} in the
            editor: {result.problems.map((p) => p.message).join("; ")}.
          </p>
        ) : null}
        {result.notes.length > 0 ? (
          <div>
            <h3 className="mb-1 text-xs font-medium text-slate-700">Notes from the import</h3>
            <ul className="max-h-60 space-y-1 overflow-auto rounded-md border border-slate-200 bg-slate-50 p-2 text-xs text-slate-700">
              {result.notes.map((n, i) => (
                <li key={i}>{n}</li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="text-xs text-slate-500">Everything in the project was understood.</p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Close</Button>
          <Link
            href={`/profiles/${result.profile.id}`}
            className="inline-flex h-8 items-center rounded-md bg-slate-900 px-3 text-sm font-medium text-white hover:bg-slate-700"
          >
            Open profile
          </Link>
        </div>
      </div>
    );
  }

  return (
    <form
      className="space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        run.mutate();
      }}
    >
      {roots.length > 0 ? (
        <Tabs
          idPrefix="import"
          label="Import from"
          value={source}
          onChange={(v) => setSource(v as Source)}
          items={[
            { id: "archive", label: "Upload an archive" },
            { id: "folder", label: "Folder on the server" },
          ]}
        />
      ) : null}
      <div id="import-panel" role="tabpanel" className="space-y-4">
        {source === "archive" ? (
          <Field label="Project archive" htmlFor="import-file" help="A .tar.gz, .tar or .zip of a folder holding mkosi.conf (and mkosi.repart/, mkosi.extra/, …).">
            <input
              id="import-file"
              data-testid="import-file"
              type="file"
              accept=".tar.gz,.tgz,.tar,.zip,application/gzip,application/x-tar,application/zip"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              className="block w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-1.5 file:text-sm file:font-medium hover:file:bg-slate-200"
            />
          </Field>
        ) : (
          <Field
            label="Folder path"
            htmlFor="import-path"
            help={`An absolute path below ${roots.join(" or ")} on the machine running Image Studio (IMAGE_STUDIO_IMPORT_ROOTS), e.g. a git checkout of your mkosi project.`}
          >
            <Input id="import-path" data-testid="import-path" value={path} onChange={(e) => setPath(e.target.value)} placeholder={`${roots[0] ?? "/srv"}/appliance`} />
          </Field>
        )}
        <Field label="Profile name (optional)" htmlFor="import-name" help="Defaults to the archive's or folder's name.">
          <Input id="import-name" data-testid="import-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      </div>
      {error ? (
        <div role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          <p>{error.problems.length ? "The project could not be imported:" : error.message}</p>
          <FieldMessages messages={error.problems.map((p) => ({ message: formatProblem(p) }))} />
        </div>
      ) : null}
      <div className="flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={run.isPending} data-testid="import-submit">
          {run.isPending ? "Importing…" : "Import"}
        </Button>
      </div>
    </form>
  );
}
