// How VM runs read on the page: acceleration, purpose, and where a boot check is up to.
import type { BadgeTone } from "@/components/ui/badge";
import type { VmRun } from "./types";

export const VM_STATE_TONES: Record<VmRun["state"], BadgeTone> = {
  starting: "sky",
  running: "sky",
  stopped: "slate",
  failed: "red",
};

export const VERDICT_TONES: Record<"passed" | "failed" | "running", BadgeTone> = {
  passed: "green",
  failed: "red",
  running: "sky",
};

export const purposeLabel = (p: VmRun["purpose"]): string => (p === "check" ? "Boot check" : "Console");

/** Said plainly: emulation is what makes a boot take minutes rather than seconds. */
export function accelLabel(accel: VmRun["accel"]): { short: string; long: string } {
  if (accel === "kvm") return { short: "KVM", long: "hardware virtualization (KVM)" };
  if (accel === "tcg") return { short: "emulation", long: "software emulation (TCG, no KVM here): a boot takes a minute or two" };
  return { short: "–", long: "not known yet" };
}

export const isUp = (r: VmRun): boolean => r.live && (r.state === "starting" || r.state === "running");

export type CheckPhase =
  | { id: "starting" }
  | { id: "waiting-login"; sinceMs: number | null }
  | { id: "checking"; loginMs: number }
  | { id: "done"; verdict: "passed" | "failed" }
  | { id: "ended"; state: VmRun["state"] };

/**
 * Where a boot check is, from what the run records: the server writes loginMs when the login
 * prompt shows and the verdict at the end, nothing in between (the probes and the reboot, when
 * the profile needs one, are one phase here).
 */
export function checkPhase(r: VmRun, now: number | null): CheckPhase {
  if (r.verdict) return { id: "done", verdict: r.verdict };
  if (!r.live) return { id: "ended", state: r.state };
  if (r.state === "starting") return { id: "starting" };
  if (r.loginMs === null) {
    const started = new Date(r.startedAt).getTime();
    return { id: "waiting-login", sinceMs: now === null || !Number.isFinite(started) ? null : Math.max(0, now - started) };
  }
  return { id: "checking", loginMs: r.loginMs };
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
