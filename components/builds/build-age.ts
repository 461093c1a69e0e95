// A build only moves forward: queued, running (its log only grows), ended. Used to keep the
// later of two snapshots of it (components/trpc/forward-only.ts says why).
import type { BuildListItem } from "./types";

export const buildAge = (b: Pick<BuildListItem, "state" | "logBytes">): number[] => [
  b.state === "queued" ? 0 : b.state === "running" ? 1 : 2,
  b.logBytes ?? 0,
];
