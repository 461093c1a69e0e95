"use client";
// A build's VM runs, newest first: console sessions and boot checks with their verdicts. A
// press selects the run whose console and details the panel shows.
import { formatDuration } from "@/components/builds/format";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/components/ui/cn";
import { RelativeTime } from "@/components/ui/relative-time";
import { BootCheckBadge } from "./boot-check-badge";
import { accelLabel, purposeLabel, seconds } from "./format";
import type { VmRun } from "./types";
import { VmStateBadge } from "./vm-state-badge";

export function VmRunList({ runs, selectedId, onSelect, now }: { runs: VmRun[]; selectedId: number | undefined; onSelect: (id: number) => void; now: number | null }) {
  return (
    <ol className="max-h-[40rem] divide-y divide-slate-100 overflow-auto rounded-md border border-slate-200" aria-label="VM runs of this build" data-testid="vm-runs">
      {runs.map((r) => {
        const end = r.endedAt ? new Date(r.endedAt).getTime() : now;
        const took = end === null ? null : end - new Date(r.startedAt).getTime();
        return (
          <li key={r.id} id={`vm-run-${r.id}`} className="scroll-mt-24">
            <button
              type="button"
              onClick={() => onSelect(r.id)}
              aria-pressed={r.id === selectedId}
              className={cn(
                "flex w-full flex-col gap-1 px-3 py-2 text-left text-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-600",
                r.id === selectedId && "bg-sky-50 hover:bg-sky-50",
              )}
              data-testid="vm-run-row"
              data-run-id={r.id}
              data-state={r.state}
              data-verdict={r.verdict ?? undefined}
            >
              <span className="flex flex-wrap items-center gap-1.5">
                <span className="font-medium text-slate-900">#{r.id}</span>
                <span className="text-slate-700">{purposeLabel(r.purpose)}</span>
                <VmStateBadge run={r} />
                {r.purpose === "check" && (r.verdict || r.live) ? <BootCheckBadge check={{ runId: r.id, verdict: r.verdict ?? "running" }} /> : null}
              </span>
              <span className="flex flex-wrap gap-x-3 text-xs text-slate-500">
                <RelativeTime iso={r.startedAt} />
                {took !== null ? <span className="tabular-nums">{r.live ? "up " : ""}{formatDuration(took)}</span> : null}
                {r.accel ? <span title={accelLabel(r.accel).long}>{accelLabel(r.accel).short}</span> : null}
                {r.loginMs !== null ? <span className="tabular-nums">login {seconds(r.loginMs)}</span> : null}
                {r.network ? <Badge tone="violet">network</Badge> : null}
              </span>
            </button>
          </li>
        );
      })}
    </ol>
  );
}
