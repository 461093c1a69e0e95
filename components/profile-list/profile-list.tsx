"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { Button } from "@/components/ui/button";
import { RelativeTime } from "@/components/ui/relative-time";
import { RunsAsRootBadge } from "@/components/trust/runs-as-root-badge";
import { Table, TableBody, TableHead, Td, Th } from "@/components/ui/table";
import { DeleteDialog } from "./delete-dialog";
import { ImportDialog } from "./import-dialog";
import { NewProfileDialog } from "./new-profile-dialog";
import { RenameDialog } from "./rename-dialog";

type Target = { id: number; name: string };
type Open = { kind: "new" } | { kind: "import" } | { kind: "rename"; profile: Target } | { kind: "delete"; profile: Target } | null;

export function ProfileList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.profiles.list.queryOptions());
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<{ tone: "ok" | "error"; text: string } | null>(null);

  const duplicate = useMutation(
    trpc.profiles.duplicate.mutationOptions({
      onSuccess: async (row) => {
        setNotice({ tone: "ok", text: `Duplicated as “${row.name}”.` });
        await queryClient.invalidateQueries({ queryKey: trpc.profiles.list.queryKey() });
      },
      onError: (e) => setNotice({ tone: "error", text: `Could not duplicate: ${apiError(e).message}` }),
    }),
  );

  const close = () => setOpen(null);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-lg font-semibold tracking-tight">Profiles</h1>
          <p className="text-sm text-slate-500">Each profile is one mkosi project: settings, partition layout, overlay and files.</p>
        </div>
        <div className="flex gap-2">
          <Button onClick={() => setOpen({ kind: "import" })} data-testid="import-profile">
            Import…
          </Button>
          <Button variant="primary" onClick={() => setOpen({ kind: "new" })} data-testid="new-profile">
            New profile
          </Button>
        </div>
      </div>

      {notice ? (
        <div
          role="status"
          className={
            notice.tone === "ok"
              ? "flex items-center justify-between rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900"
              : "flex items-center justify-between rounded-md bg-red-50 px-3 py-2 text-sm text-red-800"
          }
        >
          <span>{notice.text}</span>
          <Button size="sm" variant="ghost" onClick={() => setNotice(null)} aria-label="Dismiss">
            ✕
          </Button>
        </div>
      ) : null}

      <div className="overflow-hidden rounded-lg border border-slate-200 bg-white">
        <Table data-testid="profile-table">
          <TableHead>
            <Th>Name</Th>
            <Th>Distribution</Th>
            <Th>Last modified</Th>
            <Th align="right" label="Actions" />
          </TableHead>
          <TableBody>
            {list.isPending ? (
              <tr>
                <td colSpan={4} className="px-4 py-6 text-center text-slate-500">Loading…</td>
              </tr>
            ) : list.isError ? (
              <tr>
                <td colSpan={4} className="px-4 py-6 text-center text-red-700">Could not load profiles: {list.error.message}</td>
              </tr>
            ) : list.data.length === 0 ? (
              <tr>
                <td colSpan={4} className="px-4 py-10 text-center text-slate-500">
                  No profiles yet. Create one from a preset, or import an existing mkosi project.
                </td>
              </tr>
            ) : (
              list.data.map((p) => (
                <tr key={p.id} className="group hover:bg-slate-50" data-testid="profile-row">
                  <Td>
                    <Link href={`/profiles/${p.id}`} className="font-medium text-slate-900 hover:underline" data-testid="profile-link">
                      {p.name}
                    </Link>{" "}
                    <RunsAsRootBadge scripts={p.rootScripts} />
                  </Td>
                  <Td className="text-slate-600">
                    {p.distribution ?? <span className="text-slate-400">default</span>}
                    {p.release ? <span className="text-slate-400"> · {p.release}</span> : null}
                  </Td>
                  <Td className="text-slate-600">
                    <RelativeTime iso={p.updatedAt} />
                  </Td>
                  <Td>
                    <div className="flex justify-end gap-1">
                      <Link
                        href={`/profiles/${p.id}`}
                        className="inline-flex h-7 items-center rounded-md px-2 text-xs font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900"
                      >
                        Open
                      </Link>
                      <Button size="sm" variant="ghost" onClick={() => setOpen({ kind: "rename", profile: p })} aria-label={`Rename ${p.name}`}>
                        Rename
                      </Button>
                      <Button
                        size="sm"
                        variant="ghost"
                        onClick={() => duplicate.mutate({ id: p.id })}
                        disabled={duplicate.isPending}
                        aria-label={`Duplicate ${p.name}`}
                      >
                        Duplicate
                      </Button>
                      <Button
                        size="sm"
                        variant="ghost"
                        className="hover:bg-red-50 hover:text-red-700"
                        onClick={() => setOpen({ kind: "delete", profile: p })}
                        aria-label={`Delete ${p.name}`}
                      >
                        Delete
                      </Button>
                    </div>
                  </Td>
                </tr>
              ))
            )}
          </TableBody>
        </Table>
      </div>

      <NewProfileDialog open={open?.kind === "new"} onClose={close} />
      <ImportDialog open={open?.kind === "import"} onClose={close} />
      <RenameDialog profile={open?.kind === "rename" ? open.profile : null} onClose={close} />
      <DeleteDialog profile={open?.kind === "delete" ? open.profile : null} onClose={close} />
    </div>
  );
}
