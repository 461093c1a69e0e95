"use client";
// mkosi's phases drawn on the build's time axis: one bar per step, placed where it started and
// as long as it took, indented by nesting depth; the running step grows with the clock.
import { useEffect, useRef } from "react";
import { cn } from "@/components/ui/cn";
import { formatDuration } from "./format";

export interface TimelineStep {
  name: string;
  depth: number;
  startedAt: number;
  endedAt: number | null;
}

const BAR_COLOURS = ["bg-sky-600", "bg-sky-400", "bg-sky-300", "bg-sky-200"];

export function StepTimeline({
  steps,
  startedAt,
  endedAt,
  state,
  now,
  className,
}: {
  steps: readonly TimelineStep[];
  /** When the build started (ms); null while queued. */
  startedAt: number | null;
  endedAt: number | null;
  state: string;
  now: number | null;
  className?: string;
}) {
  const running = state === "running";
  const listRef = useRef<HTMLOListElement>(null);
  const runningIndex = running ? steps.findLastIndex((s) => s.endedAt === null) : -1;
  const failedIndex = state === "failed" || state === "cancelled" || state === "interrupted" ? steps.length - 1 : -1;

  // Keep the running step in view as the list grows.
  useEffect(() => {
    if (runningIndex < 0) return;
    listRef.current?.querySelector(`[data-index="${runningIndex}"]`)?.scrollIntoView({ block: "nearest" });
  }, [runningIndex]);

  const origin = startedAt ?? steps[0]?.startedAt ?? 0;
  const end = Math.max(endedAt ?? now ?? origin, ...steps.map((s) => s.endedAt ?? now ?? s.startedAt), origin + 1);
  const total = end - origin;
  const pct = (t: number) => `${Math.min(100, Math.max(0, ((t - origin) / total) * 100))}%`;

  return (
    <div className={cn("flex min-h-0 flex-col rounded-lg border border-slate-200 bg-white", className)} data-testid="step-timeline">
      <header className="flex items-baseline justify-between gap-2 border-b border-slate-100 px-3 py-2">
        <h2 className="text-sm font-semibold">Steps</h2>
        <span className="text-[11px] text-slate-500 tabular-nums">
          {steps.length} step{steps.length === 1 ? "" : "s"}
          {startedAt !== null ? ` · ${formatDuration(total)}` : ""}
        </span>
      </header>
      {steps.length === 0 ? (
        <p className="px-3 py-4 text-xs text-slate-500">
          {state === "queued" ? "Waiting in the queue." : running ? "Waiting for mkosi's first step…" : "mkosi reported no steps."}
        </p>
      ) : (
        <>
          <div className="flex justify-between px-3 pt-1.5 text-[10px] text-slate-400 tabular-nums" aria-hidden>
            <span>0 s</span>
            <span>{formatDuration(total / 2)}</span>
            <span>{formatDuration(total)}</span>
          </div>
          <ol ref={listRef} className="min-h-0 flex-1 space-y-1 overflow-y-auto px-3 pt-1 pb-3" aria-label="mkosi steps with their durations">
            {steps.map((s, i) => {
              const stepEnd = s.endedAt ?? (running ? (now ?? s.startedAt) : (endedAt ?? s.startedAt));
              const isRunning = i === runningIndex;
              const isFailed = i === failedIndex;
              const duration = stepEnd - s.startedAt;
              return (
                <li
                  key={`${i}-${s.name}`}
                  data-index={i}
                  data-testid="timeline-step"
                  data-running={isRunning || undefined}
                  title={`${s.name}: ${formatDuration(duration)}${isRunning ? " so far" : ""}`}
                  style={{ paddingLeft: `${Math.min(s.depth, 4) * 12}px` }}
                >
                  <div className="flex items-baseline gap-2 text-xs">
                    <span className={cn("min-w-0 flex-1 truncate", s.depth === 0 ? "font-medium text-slate-800" : "text-slate-600", isRunning && "text-sky-800")}>
                      {isRunning ? (
                        <span className="mr-1 inline-block h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500 align-middle" aria-label="running" />
                      ) : null}
                      {s.name}
                    </span>
                    <span className={cn("shrink-0 text-[11px] tabular-nums", isRunning ? "font-medium text-sky-700" : "text-slate-500")}>
                      {formatDuration(duration)}
                    </span>
                  </div>
                  <div className="relative mt-0.5 h-2 rounded-sm bg-slate-100" aria-hidden>
                    <div
                      className={cn(
                        "absolute inset-y-0 rounded-sm",
                        isFailed ? "bg-red-500" : BAR_COLOURS[Math.min(s.depth, BAR_COLOURS.length - 1)],
                        isRunning && "animate-pulse",
                        s.depth > 0 && "inset-y-[2px]",
                      )}
                      style={{ left: pct(s.startedAt), width: `max(2px, calc(${pct(stepEnd)} - ${pct(s.startedAt)}))` }}
                    />
                  </div>
                </li>
              );
            })}
          </ol>
        </>
      )}
    </div>
  );
}
