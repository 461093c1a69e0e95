import { Badge } from "@/components/ui/badge";
import { VM_STATE_TONES } from "./format";
import type { VmRun } from "./types";

export function VmStateBadge({ run, className }: { run: VmRun; className?: string }) {
  return (
    <Badge tone={VM_STATE_TONES[run.state]} className={className} data-testid="vm-state" data-state={run.state}>
      {run.live ? <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden /> : null}
      {run.state}
    </Badge>
  );
}
