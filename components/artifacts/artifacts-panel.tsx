"use client";
// What a build produced: every file with sizes, checksums and downloads; what is inside the
// disk image and the UKI; conversions of the disk image. Only a succeeded build has any.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState, type ReactNode } from "react";
import { useTRPC } from "@/components/trpc/client";
import { formatBytes } from "@/server/mkosi/size";
import { ArtifactTable } from "./artifact-table";
import { Conversions } from "./conversions";
import { DiskInspect } from "./disk-inspect";
import type { Artifact } from "./types";
import { UkiInspect } from "./uki-inspect";
import { VerifiedBootFacts } from "./verified-boot-facts";

const NO_ARTIFACTS: Record<string, string> = {
  queued: "No artifacts yet: the build has not started. Its files are listed here once it succeeds.",
  running: "No artifacts yet: mkosi is still building. Its files are listed here once it succeeds.",
  failed: "No artifacts: the build failed, so it produced no image to download.",
  cancelled: "No artifacts: the build was cancelled before mkosi finished the image.",
  interrupted: "No artifacts: the build was interrupted (the server stopped) before mkosi finished the image.",
};

export function ArtifactsPanel({ buildId, state }: { buildId: number; state: string }) {
  return (
    <section className="rounded-lg border border-slate-200 bg-white" aria-labelledby="artifacts-title" data-testid="artifacts" data-state={state}>
      {state === "succeeded" ? (
        <SucceededArtifacts buildId={buildId} />
      ) : (
        <Header>
          <p className="text-xs text-slate-500" data-testid="artifacts-empty">
            {NO_ARTIFACTS[state] ?? "No artifacts."}
          </p>
        </Header>
      )}
    </section>
  );
}

function Header({ children, aside }: { children?: ReactNode; aside?: ReactNode }) {
  return (
    <header className="flex flex-wrap items-baseline gap-x-3 gap-y-1 px-4 py-3">
      <h2 id="artifacts-title" className="text-sm font-semibold">
        Artifacts
      </h2>
      {children}
      {aside ? <div className="ml-auto text-xs text-slate-500">{aside}</div> : null}
    </header>
  );
}

function SucceededArtifacts({ buildId }: { buildId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery({ ...trpc.artifacts.list.queryOptions({ buildId }), refetchOnWindowFocus: false });
  // The list answers at once with "pending" digests for files still being hashed; artifacts.hash
  // answers once they are all known, so the page waits on it rather than asking again and again.
  const listKey = trpc.artifacts.list.queryKey({ buildId });
  const hash = useMutation(
    trpc.artifacts.hash.mutationOptions({
      onSuccess: (fresh) => {
        // Its answer lists the files as they were when it was asked: a conversion finished
        // since then must not vanish, so only the digests are taken, then the list is re-read.
        const known = new Map(fresh.files.map((f) => [f.name, f]));
        queryClient.setQueryData(listKey, (old) => {
          if (!old) return fresh;
          const files = old.files.map((f) => {
            const k = known.get(f.name);
            return f.checksum === "pending" && k && k.checksum !== "pending" ? k : f;
          });
          return { ...old, files, hashing: files.some((f) => f.checksum === "pending") };
        });
        void queryClient.invalidateQueries({ queryKey: listKey });
      },
    }),
  );
  const hashing = list.data?.hashing === true;
  const { mutate: waitForHashes, isPending: hashPending, isError: hashFailed } = hash;
  useEffect(() => {
    if (hashing && !hashPending && !hashFailed) waitForHashes({ buildId });
  }, [hashing, hashPending, hashFailed, waitForHashes, buildId]);
  const [highlight, setHighlight] = useState<string | null>(null);
  useEffect(() => {
    if (!highlight) return;
    const t = setTimeout(() => setHighlight(null), 2500);
    return () => clearTimeout(t);
  }, [highlight]);

  if (list.isPending)
    return (
      <Header>
        <p className="text-xs text-slate-500">Reading the build's output folder and hashing its files…</p>
      </Header>
    );
  if (list.isError)
    return (
      <Header>
        <p role="alert" className="text-xs text-red-700">
          Could not list the artifacts: {list.error.message}
        </p>
      </Header>
    );
  const a = list.data;
  if (!a.outputExists || a.files.length === 0)
    return (
      <Header>
        <p className="text-xs text-slate-500" data-testid="artifacts-empty">
          No artifacts any more: this build&apos;s outputs were deleted. Its log and files are kept. See{" "}
          <Link href="/space" className="underline">
            Space
          </Link>
          .
        </p>
      </Header>
    );

  const disk = a.files.find((f) => f.kind === "disk");
  const uki = a.files.find((f) => f.kind === "uki");
  const point = (name: string) => {
    setHighlight(name);
    document.querySelector(`[data-testid=artifact-row][data-name="${CSS.escape(name)}"]`)?.scrollIntoView({ behavior: "smooth", block: "center" });
  };

  return (
    <>
      <Header
        aside={
          <>
            {a.files.length} files · {formatBytes(a.totalApparentBytes)} ({formatBytes(a.totalDiskBytes)} on disk)
            {a.checksumFile ? (
              <>
                {" "}
                · checked against <code className="font-mono">{a.checksumFile}</code>
              </>
            ) : null}
            {" · "}
            <Link href="/space" className="underline hover:text-slate-900">
              Space
            </Link>
          </>
        }
      />
      <div className="space-y-5 px-4 pb-4">
        <ArtifactTable files={a.files} highlight={highlight} />
        {hash.isError ? (
          <p role="alert" className="text-xs text-red-700">
            Could not compute the SHA-256 sums: {hash.error.message}
          </p>
        ) : null}
        {a.checksumMissing.length > 0 ? (
          <p role="alert" className="text-xs text-red-700" data-testid="checksum-missing">
            {a.checksumFile} lists {a.checksumMissing.length === 1 ? "a file that is" : "files that are"} not in the output folder:{" "}
            <code className="font-mono">{a.checksumMissing.join(", ")}</code>
          </p>
        ) : null}
        {disk ? (
          <Sub title="Convert the disk image">
            <Conversions buildId={buildId} source={disk} files={a.files} onReady={point} />
          </Sub>
        ) : null}
        {disk ? (
          <Sub title="Inside the disk image">
            <Inspected buildId={buildId} file={disk} />
          </Sub>
        ) : null}
        {uki ? (
          <Sub title="Inside the unified kernel image">
            <Inspected buildId={buildId} file={uki} />
          </Sub>
        ) : null}
        {uki ? (
          <Sub title="Verified boot">
            <VerifiedBootFacts buildId={buildId} />
          </Sub>
        ) : null}
      </div>
    </>
  );
}

function Sub({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="border-t border-slate-100 pt-3">
      <h3 className="mb-2 text-xs font-semibold tracking-wide text-slate-700 uppercase">{title}</h3>
      {children}
    </div>
  );
}

function Inspected({ buildId, file }: { buildId: number; file: Artifact }) {
  const trpc = useTRPC();
  // A finished build's files do not change.
  const info = useQuery({ ...trpc.artifacts.inspect.queryOptions({ buildId, name: file.name }), staleTime: Infinity, refetchOnWindowFocus: false });
  if (info.isPending) return <p className="text-xs text-slate-500">Reading {file.name}…</p>;
  if (info.isError)
    return (
      <p role="alert" className="text-xs text-red-700">
        Could not read {file.name}: {info.error.message}
      </p>
    );
  return info.data.type === "disk" ? <DiskInspect name={file.name} table={info.data.table} /> : <UkiInspect name={file.name} uki={info.data} />;
}
