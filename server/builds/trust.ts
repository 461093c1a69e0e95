// Trust before scripts run: a build runs the profile's scripts as root (server/mkosi/scripts.ts
// finds them), so the first build of them, and the first after any of them changed or a new
// one came, needs a confirmation that names the digest of the scripts the person was shown.
// A build whose scripts are all among those confirmed before (the same, or fewer) needs none.
import { createHash } from "node:crypto";
import type { ProfileRow, TrustedScripts } from "@/server/db/schema";
import { AppError } from "@/server/errors";
import { canonicalScript, canonicalScripts, scriptLabel, type RootScript } from "@/server/mkosi/scripts";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** SHA-256 (hex) over the canonical list of scripts: paths, settings, modes and exact contents. */
export function scriptsDigest(scripts: readonly RootScript[]): string {
  return sha256(canonicalScripts(scripts));
}

/** What is stored once these scripts are confirmed. */
export function trustOf(scripts: readonly RootScript[]): TrustedScripts {
  return { digest: scriptsDigest(scripts), scripts: scripts.map((s) => sha256(canonicalScript(s))).sort() };
}

/** One script as a refusal shows it: whether it is among those confirmed before. */
export interface ScriptForReview extends RootScript {
  trusted: boolean;
}

/**
 * Decides whether a build of a profile may run its scripts now. Returns the confirmation to
 * store (null when there are no scripts), or throws PRECONDITION_FAILED with the scripts and
 * their digest in `details` when a person has to look at them first: `given` must then be
 * the digest of the scripts as they are now. Where nothing needs confirming, it is not read.
 */
export function requireTrust(profile: Pick<ProfileRow, "name" | "trustedScripts">, scripts: readonly RootScript[], given: string | undefined): TrustedScripts | null {
  if (scripts.length === 0) return null;
  const now = trustOf(scripts);
  const known = new Set(profile.trustedScripts?.scripts ?? []);
  const entries = scripts.map((s) => sha256(canonicalScript(s)));
  if (given === now.digest || entries.every((e) => known.has(e))) return now;

  const review: ScriptForReview[] = scripts.map((s, i) => ({ ...s, trusted: known.has(entries[i]!) }));
  const fresh = review.filter((s) => !s.trusted).map(scriptLabel);
  const named = fresh.slice(0, 5).join(", ") + (fresh.length > 5 ? ` and ${fresh.length - 5} more` : "");
  const message =
    given !== undefined
      ? `trustScripts names other scripts than profile '${profile.name}' holds now (they changed since they were shown, or the digest is wrong): read the current ones in this error's details and confirm them with "trustScripts": "${now.digest}"`
      : `profile '${profile.name}' runs code as root when it builds, and ${known.size > 0 ? "these are new or changed since the last confirmed build" : "nobody has confirmed its scripts yet"}: ${named}. Read ${fresh.length === 1 ? "it" : "them"} in this error's details, then start the build again with "trustScripts": "${now.digest}"`;
  throw new AppError("PRECONDITION_FAILED", message, [{ path: ["trustScripts"], message }], { digest: now.digest, scripts: review });
}
