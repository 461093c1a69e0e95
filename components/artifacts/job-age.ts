// A conversion job only moves forward: running (its progress only grows), then ended.
import type { ConversionJob } from "./types";

export const jobAge = (j: Pick<ConversionJob, "state" | "progress">): number[] => [j.state === "running" ? 0 : 1, j.progress];
