"use client";
// A proportional picture of a disk: one block per partition (or gap), its width following its
// size. Shared by the profile editor's planned layout and a built image's real partition table.
import type { ReactNode } from "react";
import { cn } from "@/components/ui/cn";

export interface BarSegment {
  key: string | number;
  /** Bytes the block is drawn with. */
  weight: number;
  title: string;
  name: string;
  detail?: string;
  sizeText: string;
  color: { block: string; dot: string };
  /** Drawn hatched: the size is an estimate, or the space is not a partition. */
  striped?: boolean;
  outlined?: boolean;
  bad?: boolean;
  /** Left out of the legend (free space between partitions, say). */
  noLegend?: boolean;
  legendNote?: string;
  testId?: string;
}

export function PartitionBar({
  segments,
  label,
  summary,
  onSelect,
  testId = "disk-layout",
  blockTestId = "disk-block",
}: {
  segments: readonly BarSegment[];
  label: string;
  summary?: ReactNode;
  onSelect?: (key: string | number) => void;
  testId?: string;
  blockTestId?: string;
}) {
  return (
    <figure className="space-y-2" data-testid={testId} aria-label={label}>
      <div className="flex h-16 w-full gap-0.5 overflow-hidden rounded-md border border-slate-300 bg-slate-200 p-0.5" role="list">
        {segments.map((s) => {
          const className = cn(
            "relative flex min-w-14 flex-col justify-center overflow-hidden rounded-sm px-1.5 text-left leading-tight transition-[flex-grow] duration-300",
            s.color.block,
            s.striped && "bg-[repeating-linear-gradient(135deg,transparent_0_6px,rgb(255_255_255/0.18)_6px_12px)]",
            s.outlined && "outline-2 -outline-offset-4 outline-white/70 outline-dashed",
            s.bad && "ring-2 ring-red-500 ring-inset",
          );
          const body = (
            <>
              <span className="truncate text-xs font-semibold">{s.name}</span>
              {s.detail ? <span className="truncate text-[10px] opacity-90">{s.detail}</span> : null}
              <span className="truncate text-[10px] opacity-90">{s.sizeText}</span>
            </>
          );
          const common = { title: s.title, "aria-label": s.title, "data-testid": s.testId ?? blockTestId, style: { flexGrow: s.weight, flexBasis: 0 } };
          // Only clickable when something happens on a click; otherwise a plain list item.
          return onSelect ? (
            <button type="button" role="listitem" key={s.key} onClick={() => onSelect(s.key)} className={className} {...common}>
              {body}
            </button>
          ) : (
            <div role="listitem" key={s.key} className={className} {...common}>
              {body}
            </div>
          );
        })}
      </div>
      <figcaption className="flex flex-wrap items-center gap-x-4 gap-y-1 text-[11px] text-slate-500">
        {segments
          .filter((s) => !s.noLegend)
          .map((s) => (
            <span key={s.key} className="inline-flex items-center gap-1">
              <span className={cn("h-2 w-2 rounded-sm", s.color.dot)} aria-hidden />
              <span className="font-medium text-slate-700">{s.name}</span>
              <span>{s.sizeText}</span>
              {s.legendNote ? <span className="text-slate-400">{s.legendNote}</span> : null}
            </span>
          ))}
        {summary ? <span className="ml-auto">{summary}</span> : null}
      </figcaption>
    </figure>
  );
}
