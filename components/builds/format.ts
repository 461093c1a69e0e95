// How builds read on the page: durations, states and times.
import type { BadgeTone } from "@/components/ui/badge";
import type { BuildState } from "@/server/db/build-states";

export const STATE_TONES: Record<BuildState, BadgeTone> = {
  queued: "slate",
  running: "sky",
  succeeded: "green",
  failed: "red",
  cancelled: "amber",
  interrupted: "violet",
};


/** "42 s", "3 min 05 s", "1 h 02 min": short enough for a table cell, exact enough for a build. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** A timestamp as the API gives it (ISO text, ms number or Date) in ms, or null. */
export function toMs(t: string | number | Date | null | undefined): number | null {
  if (t === null || t === undefined) return null;
  const ms = typeof t === "number" ? t : new Date(t).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** How long a build has run: to its end, or to `now` while it runs. */
export function buildDuration(b: { startedAt: string | number | Date | null; endedAt: string | number | Date | null }, now: number): number | null {
  const start = toMs(b.startedAt);
  if (start === null) return null;
  return (toMs(b.endedAt) ?? now) - start;
}

/** The argv as one line a user can paste into a shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
