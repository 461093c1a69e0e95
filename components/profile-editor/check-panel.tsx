"use client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { formatProblem } from "@/server/mkosi/validate";
import { anchorFor, anchorId } from "./problems";
import type { CheckOutcome } from "./use-profile-editor";

/** The result of "Validate with mkosi": the version that read the project and what it said. */
export function CheckPanel({ check, stale, doc, onClose }: { check: CheckOutcome; stale: boolean; doc: ProfileDocument; onClose: () => void }) {
  const errors = check.problems.filter((p) => p.severity === "error").length;
  const warnings = check.problems.length - errors;
  return (
    <div
      className={check.ok ? "rounded-lg border border-emerald-200 bg-emerald-50/70 px-4 py-2.5" : "rounded-lg border border-red-200 bg-red-50/60 px-4 py-2.5"}
      data-testid="check-result"
      role="status"
    >
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-semibold">{check.ok ? "mkosi accepts this project" : "mkosi found problems"}</span>
        <Badge tone="slate" data-testid="check-mkosi-version">
          mkosi {check.mkosiVersion ?? "not available"}
        </Badge>
        {errors ? <Badge tone="red">{errors} error{errors === 1 ? "" : "s"}</Badge> : null}
        {warnings ? <Badge tone="amber">{warnings} warning{warnings === 1 ? "" : "s"}</Badge> : null}
        {check.durationMs !== undefined ? <span className="text-xs text-slate-500">{(check.durationMs / 1000).toFixed(1)} s</span> : null}
        {stale ? <span className="text-xs text-slate-500">· checked before your latest edits</span> : null}
        <Button size="sm" variant="ghost" className="ml-auto" onClick={onClose} aria-label="Close check result">
          ✕
        </Button>
      </div>
      {check.notRun.length ? (
        <p
          className="mt-1 text-xs text-slate-700"
          data-testid="check-not-run"
          title="mkosi runs these files while it reads a project (an executable credential, say) or right after, in a build. The check never runs project code: it gave mkosi these files without their run bit, or left them out, so what they would print is not part of this result."
        >
          <span className="font-medium">Not run by the validation:</span>{" "}
          {check.notRun.map((p, i) => (
            <span key={p}>
              {i > 0 ? ", " : ""}
              <code className="font-mono">{p}</code>
            </span>
          ))}
        </p>
      ) : null}
      {check.problems.length ? (
        <ul className="mt-1 space-y-0.5 text-xs">
          {check.problems.map((p, i) => {
            const anchor = anchorFor(p.path, doc);
            return (
              <li key={i} className={p.severity === "warning" ? "text-amber-900" : "text-red-900"}>
                <span className="mr-1 font-medium">{p.severity}:</span>
                {anchor ? (
                  <button
                    type="button"
                    className="text-left underline decoration-current/30 underline-offset-2"
                    onClick={() => document.getElementById(anchorId(anchor))?.scrollIntoView({ behavior: "smooth", block: "center" })}
                  >
                    {p.path ? formatProblem({ path: p.path, message: p.message }) : p.message}
                  </button>
                ) : (
                  <span className="font-mono">{p.message}</span>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
