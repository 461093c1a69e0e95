"use client";
// A build refused until someone has read the scripts it runs as root: each script as the
// server sent it (path, why, mode, content), then "Build and run them" with their digest.
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { formatBytes } from "@/server/mkosi/size";
import { scriptLabel, type RootScript } from "@/server/mkosi/scripts";

export interface ScriptReview {
  digest: string;
  scripts: (RootScript & { trusted: boolean })[];
}

/** The review a builds.start refusal carries in error.data.details, if it is one. */
export function scriptReview(details: Record<string, unknown> | undefined): ScriptReview | null {
  if (!details || typeof details.digest !== "string" || !Array.isArray(details.scripts)) return null;
  return { digest: details.digest, scripts: details.scripts as ScriptReview["scripts"] };
}

const MAX_SHOWN = 64 * 1024;

export function TrustDialog({ review, profileName, busy, onTrust, onClose }: {
  review: ScriptReview | null;
  profileName: string;
  busy: boolean;
  onTrust: (digest: string) => void;
  onClose: () => void;
}) {
  const fresh = review?.scripts.filter((s) => !s.trusted).length ?? 0;
  return (
    <Dialog
      open={review !== null}
      onClose={onClose}
      testId="trust-dialog"
      className="w-[min(56rem,calc(100vw-2rem))]!"
      title={`Run ${profileName}'s scripts as root?`}
      description={
        review && fresh < review.scripts.length
          ? `${fresh} of these ${review.scripts.length} are new or changed since the last build you confirmed. A build runs all of them as root on this machine.`
          : "A build of this profile runs these files as root on this machine. Read them: build only if you trust what they do."
      }
      footer={
        <>
          <Button onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button variant="primary" onClick={() => review && onTrust(review.digest)} disabled={busy || !review} data-testid="trust-confirm">
            {busy ? "Starting…" : "Build and run them as root"}
          </Button>
        </>
      }
    >
      <ul className="max-h-[60vh] space-y-3 overflow-auto" data-testid="trust-scripts">
        {review?.scripts.map((s) => (
          <li key={scriptLabel(s)} className="rounded-md border border-slate-200" data-testid="trust-script">
            <div className="flex flex-wrap items-baseline gap-2 border-b border-slate-100 bg-slate-50 px-3 py-1.5 text-xs">
              <code className="font-mono font-medium text-slate-900">{scriptLabel(s)}</code>
              {s.setting ? null : <span className="text-slate-500">mode {s.mode.toString(8).padStart(4, "0")} · {formatBytes(s.size)}</span>}
              {s.trusted ? <span className="text-emerald-700">confirmed before</span> : <span className="font-medium text-amber-800">new or changed</span>}
              <span className="w-full text-slate-600">{s.why}</span>
            </div>
            {s.encoding === "base64" ? (
              <p className="px-3 py-2 text-xs text-slate-600">A binary file ({formatBytes(s.size)}): it cannot be shown as text. Export the profile to inspect it.</p>
            ) : (
              <pre className="max-h-72 overflow-auto px-3 py-2 font-mono text-xs whitespace-pre-wrap text-slate-800">
                {s.content.length > MAX_SHOWN ? `${s.content.slice(0, MAX_SHOWN)}\n… (${formatBytes(s.size)} in all: export the profile to read the rest)` : s.content}
              </pre>
            )}
          </li>
        ))}
      </ul>
      <p className="text-xs text-slate-500">
        Digest of these scripts: <code className="font-mono break-all">{review?.digest}</code> (what the API's builds.start takes as trustScripts).
      </p>
    </Dialog>
  );
}
