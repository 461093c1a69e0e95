// The data folder's file system as one bar: build outputs, logs, mkosi's cache, everything
// else on the file system, and what is free.
import { cn } from "@/components/ui/cn";
import { formatBytes } from "@/server/mkosi/size";

export interface UsagePart {
  key: string;
  label: string;
  bytes: number;
  color: string;
}

export function UsageBar({ parts, totalBytes }: { parts: readonly UsagePart[]; totalBytes: number }) {
  const shown = parts.filter((p) => p.bytes > 0);
  return (
    <figure className="space-y-2" data-testid="usage-bar" aria-label="Data folder usage">
      <div className="flex h-6 w-full overflow-hidden rounded-md border border-slate-300 bg-slate-100" role="list">
        {shown.map((p) => (
          <div
            key={p.key}
            role="listitem"
            title={`${p.label}: ${formatBytes(p.bytes)} (${totalBytes > 0 ? ((p.bytes / totalBytes) * 100).toFixed(1) : "0"} %)`}
            aria-label={`${p.label}: ${formatBytes(p.bytes)}`}
            data-testid={`usage-${p.key}`}
            className={cn("h-full", p.color)}
            // Kept visible even when tiny, so every legend entry has a colour to point at.
            style={{ width: `${totalBytes > 0 ? Math.max((p.bytes / totalBytes) * 100, 0.4) : 0}%` }}
          />
        ))}
      </div>
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600">
        {parts.map((p) => (
          <span key={p.key} className="inline-flex items-center gap-1.5">
            <span className={cn("h-2.5 w-2.5 rounded-sm", p.color)} aria-hidden />
            {p.label} <span className="font-mono text-slate-900 tabular-nums">{formatBytes(p.bytes)}</span>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
