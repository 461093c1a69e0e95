"use client";
import { Badge } from "@/components/ui/badge";
import { formatProblem } from "@/server/mkosi/validate";
import { anchorFor, anchorId, type ShownProblem } from "./problems";
import type { ProfileDocument } from "@/server/mkosi/profile";

function jump(anchor: string) {
  const el = document.getElementById(anchorId(anchor));
  el?.scrollIntoView({ behavior: "smooth", block: "center" });
  el?.querySelector<HTMLElement>("input, select, textarea, button")?.focus({ preventScroll: true });
}

/** Every problem in one list, each linking to its field; problems with no field are only here. */
export function ProblemsPanel({ problems, doc, title }: { problems: readonly ShownProblem[]; doc: ProfileDocument; title: string }) {
  if (problems.length === 0) return null;
  return (
    <div className="rounded-lg border border-red-200 bg-red-50/60 px-4 py-2.5" data-testid="problems-panel">
      <h2 className="mb-1 text-xs font-semibold text-red-900">{title}</h2>
      <ul className="space-y-0.5 text-xs text-red-900">
        {problems.map((p, i) => {
          const anchor = anchorFor(p.path, doc);
          const text = p.path && p.path.length ? formatProblem({ path: p.path, message: p.message }) : p.message;
          return (
            <li key={i} className="flex items-start gap-1.5">
              {p.source !== "live" ? <Badge tone={p.severity === "warning" ? "amber" : "red"}>{p.source}</Badge> : null}
              {anchor ? (
                <button type="button" className="text-left underline decoration-red-300 underline-offset-2 hover:decoration-red-700" onClick={() => jump(anchor)}>
                  {text}
                </button>
              ) : (
                <span>{text}</span>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
