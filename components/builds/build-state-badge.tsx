import { Badge } from "@/components/ui/badge";
import { cn } from "@/components/ui/cn";
import type { BuildState } from "@/server/db/build-states";
import { STATE_TONES } from "./format";

export function BuildStateBadge({ state, className }: { state: string; className?: string }) {
  const tone = STATE_TONES[state as BuildState] ?? "slate";
  return (
    <Badge tone={tone} className={cn("capitalize", className)} data-testid="build-state" data-state={state}>
      {state === "running" ? <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden /> : null}
      {state}
    </Badge>
  );
}
