"use client";
// Converting the disk image for other hypervisors (qemu-img) or compressing it for download:
// one button per format, a live progress bar with Cancel while it runs, and the finished file
// listed with the other artifacts. Asking again for a format that exists reuses it.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { apiError } from "@/components/trpc/errors";
import { useTRPC } from "@/components/trpc/client";
import { laterList } from "@/components/trpc/forward-only";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { conversionCommandLine } from "@/server/artifacts/conversion-formats";
import { CONVERSIONS, formatLabel, percent } from "./format";
import type { Artifact, ConversionFormat, ConversionJob } from "./types";
import { jobAge } from "./job-age";
import { useConversionEvents, useUpsertJob } from "./use-conversion-events";

export function Conversions({
  buildId,
  source,
  files,
  onReady,
}: {
  buildId: number;
  source: Artifact;
  files: readonly Artifact[];
  /** Called with a finished file's name, to point at its row in the list. */
  onReady: (target: string) => void;
}) {
  const trpc = useTRPC();
  const jobs = useQuery({
    ...trpc.artifacts.conversions.queryOptions({ buildId }),
    refetchOnWindowFocus: false,
    // An answer overtaken by the stream's events keeps their later progress.
    structuralSharing: (held, incoming) => laterList(held as ConversionJob[] | undefined, incoming as ConversionJob[], jobAge),
  });
  useConversionEvents(buildId);
  const upsert = useUpsertJob(buildId);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [watched, setWatched] = useState<ReadonlySet<string>>(new Set());
  const convert = useMutation(
    trpc.artifacts.convert.mutationOptions({
      onMutate: () => {
        setError(null);
        setNotice(null);
      },
      onSuccess: (job) => {
        if (job.state === "running") setWatched((w) => new Set([...w, String(job.id)]));
        upsert(job);
        // Already made earlier: the server answers with the finished job at once.
        if (job.reused || job.state === "succeeded") {
          setNotice(`${job.target} was made earlier and is reused.`);
          onReady(job.target);
        }
      },
      onError: (e) => setError(apiError(e).message),
    }),
  );
  const cancel = useMutation(
    trpc.artifacts.cancelConversion.mutationOptions({
      onSuccess: upsert,
      onError: (e) => setError(apiError(e).message),
    }),
  );

  const mine = (jobs.data ?? []).filter((j) => j.source === source.name);
  // Jobs seen running on this page stay as a full bar once done, so the end is visible; ones
  // finished before the page opened are just files in the list.
  const runningIds = mine.filter((j) => j.state === "running").map((j) => String(j.id));
  const runningKey = runningIds.join(",");
  useEffect(() => {
    if (runningKey) setWatched((w) => (runningKey.split(",").every((id) => w.has(id)) ? w : new Set([...w, ...runningKey.split(",")])));
  }, [runningKey]);
  const running = mine.filter((j) => j.state === "running" || (j.state === "succeeded" && watched.has(String(j.id))));
  // Ended without a file (failed, cancelled, interrupted by a server stop): the last few, with why.
  const ended = mine.filter((j) => j.state !== "running" && j.state !== "succeeded").slice(-3);
  const fileNames = new Set(files.map((f) => f.name));
  const done = (format: ConversionFormat) => mine.some((j) => j.format === format && j.state === "succeeded" && fileNames.has(j.target));

  return (
    <div className="space-y-3" data-testid="conversions" data-source={source.name}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="text-xs text-slate-600">
          Convert <code className="font-mono">{source.name}</code> to
        </span>
        {CONVERSIONS.map((c) => {
          const isRunning = running.some((j) => j.format === c.format && j.state === "running");
          const isDone = done(c.format);
          return (
            <Button
              key={c.format}
              size="sm"
              variant={isDone ? "secondary" : "primary"}
              title={isDone ? `${c.help}. Already made: clicking points at the file.` : c.help}
              disabled={isRunning || (convert.isPending && convert.variables?.format === c.format)}
              onClick={() => convert.mutate({ buildId, name: source.name, format: c.format })}
              data-testid={`convert-${c.format}`}
            >
              {isDone ? "✓ " : ""}
              {c.label}
              {isRunning ? "…" : ""}
            </Button>
          );
        })}
      </div>

      {running.map((j) => {
        const done = j.state === "succeeded";
        const pct = done ? 100 : percent(j.progress);
        return (
          <div
            key={j.id}
            className={done ? "rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2" : "rounded-md border border-sky-200 bg-sky-50 px-3 py-2"}
            data-testid="conversion-job"
            data-format={j.format}
            data-state={j.state}
          >
            <div className="flex items-center gap-3 text-xs">
              <span className={done ? "font-medium text-emerald-900" : "font-medium text-sky-900"}>
                {formatLabel(j.format)}: <code className="font-mono">{j.target}</code>
              </span>
              <span className={done ? "ml-auto font-mono text-emerald-900 tabular-nums" : "ml-auto font-mono text-sky-900 tabular-nums"} data-testid="conversion-percent">
                {pct}%
              </span>
              {done ? (
                <Button size="sm" variant="secondary" onClick={() => onReady(j.target)} data-testid="conversion-show">
                  Done: show in the list
                </Button>
              ) : (
                <Button size="sm" variant="secondary" onClick={() => cancel.mutate({ jobId: j.id })} disabled={cancel.isPending} data-testid="conversion-cancel">
                  Cancel
                </Button>
              )}
            </div>
            <div
              className={done ? "mt-1.5 h-2 overflow-hidden rounded-full bg-emerald-100" : "mt-1.5 h-2 overflow-hidden rounded-full bg-sky-100"}
              role="progressbar"
              aria-label={`Converting to ${formatLabel(j.format)}`}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={pct}
              data-testid="conversion-progress"
            >
              <div className={done ? "h-full rounded-full bg-emerald-600" : "h-full rounded-full bg-sky-600 transition-[width] duration-300"} style={{ width: `${pct}%` }} />
            </div>
          </div>
        );
      })}

      {ended.map((j) => (
        <p
          key={j.id}
          className={j.state === "failed" ? "text-xs text-red-700" : "text-xs text-amber-800"}
          role={j.state === "failed" ? "alert" : undefined}
          data-testid="conversion-job"
          data-format={j.format}
          data-state={j.state}
        >
          <Badge tone={j.state === "failed" ? "red" : "amber"}>{j.state}</Badge> {formatLabel(j.format)} ({j.target})
          {j.error ? `: ${j.error}` : ""}
        </p>
      ))}

      {notice ? (
        <p className="text-xs text-emerald-800" data-testid="conversion-notice">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="text-xs text-red-700" data-testid="conversion-error">
          Not converted: {error}
        </p>
      ) : null}

      <p className="text-xs leading-relaxed text-slate-500">
        The VDI is made by <code className="font-mono">{conversionCommandLine("vdi")}</code> and is the same disk as{" "}
        <code className="font-mono">VBoxManage convertdd image.raw image.vdi --format VDI</code> gives. The image boots with UEFI only:{" "}
        <strong className="font-medium text-slate-700">enable EFI in the VM</strong> (VirtualBox: Settings → System → Enable EFI; VMware: firmware
        type UEFI; QEMU/libvirt: OVMF). Finished files are listed above with their own SHA-256.
      </p>
    </div>
  );
}
