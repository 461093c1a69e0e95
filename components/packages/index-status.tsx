"use client";
// One line under the Packages field: how old the profile's package index is, whether the last
// refresh failed (no network: the last index stays in use), a refresh under way, and a button.
import { Button } from "@/components/ui/button";
import { RelativeTime } from "@/components/ui/relative-time";
import type { IndexStatus } from "@/server/packages/service";

const firstLine = (s: string) => s.split("\n").find((l) => l.trim()) ?? s;

export function IndexStatusLine({ status, onRefresh, refreshError }: { status: IndexStatus | null; onRefresh: () => void; refreshError: string | null }) {
  const button = (label: string) => (
    <Button size="sm" variant="ghost" className="h-5 px-1 text-[11px]" onClick={onRefresh} disabled={!!status?.refreshing} data-testid="package-index-refresh">
      {label}
    </Button>
  );
  let body;
  if (!status) body = <span>Looking for the package index…</span>;
  else if (status.unavailableReason) body = <span>Package names are not looked up: {status.unavailableReason}.</span>;
  else if (status.refreshing)
    body = (
      <span className="text-sky-800">
        <span className="mr-1 inline-block h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden />
        {status.refreshing.phase === "fetching" ? "Fetching the package index (apt-get update)" : "Reading the package lists"}
        {status.refreshing.lines.length ? <span className="ml-1 font-mono text-slate-500">{status.refreshing.lines.at(-1)}</span> : "…"}
      </span>
    );
  else if (!status.available)
    body = status.error ? (
      <span className="text-amber-800">
        The package index could not be fetched ({firstLine(status.error)}): package names are not checked. {button("Try again")}
      </span>
    ) : (
      <span>
        No package index of these repositories yet. {button("Fetch it")}
      </span>
    );
  else
    body = (
      <span>
        Package index: {status.packageCount.toLocaleString("en")} packages, fetched {status.fetchedAt ? <RelativeTime iso={status.fetchedAt} /> : "never completely"}
        {status.error ? (
          <span className="text-amber-800" title={status.error}>
            {" "}
            · the last refresh failed ({firstLine(status.error)}), so this one is used
          </span>
        ) : status.stale ? (
          " · older than a day, refreshed at the next search"
        ) : null}{" "}
        {button("Refresh")}
      </span>
    );
  return (
    <p className="mt-1 text-[11px] leading-snug text-slate-500" data-testid="package-index-status" aria-live="polite">
      {body}
      {refreshError ? <span className="ml-1 text-red-700">{refreshError}</span> : null}
    </p>
  );
}
