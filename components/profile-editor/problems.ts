// Where each problem is shown. Every problem gets an "anchor": the form field (or card, or
// section) that renders it; problems with no anchor go to the general list. The anchors
// mirror the document's shape, so a path from validateDocument, the server or mkosi's
// check lands on the field it names.
import { createContext, useContext } from "react";
import type { ProfileDocument } from "@/server/mkosi/profile";
import { isKnownSetting } from "@/server/mkosi/settings";
import type { FieldMessage } from "@/components/ui/field";

export type ProblemSource = "live" | "server" | "mkosi";

export interface ShownProblem {
  path: (string | number)[] | null;
  message: string;
  source: ProblemSource;
  severity: "error" | "warning";
}

// How deep into the path the form has a dedicated place, per top-level document key.
const DEPTH = { name: 1, signingKey: 1, repositories: 3, partitions: 3, overlay: 2, extraFiles: 3, rawSettings: 2, rawFiles: 2 } as const;
type Listed = "repositories" | "partitions" | "extraFiles" | "rawSettings" | "rawFiles";

export function anchorFor(path: ShownProblem["path"], doc: ProfileDocument): string | null {
  if (!path || path.length === 0) return null;
  const [head, second] = path;
  if (head === "settings") return typeof second === "string" && isKnownSetting(second) ? `settings.${second}` : null;
  if (typeof head !== "string" || !(head in DEPTH)) return null;
  const cut = path.slice(0, DEPTH[head as keyof typeof DEPTH]);
  if (typeof second === "number") {
    // A stale index (the item was removed since) falls back to the list as a whole.
    if (second >= (doc[head as Listed] as unknown[]).length) return head;
    if (cut.length === 3 && typeof cut[2] !== "string") cut.pop();
  } else if (second !== undefined && head !== "overlay") {
    return head;
  }
  if (head === "overlay" && second !== undefined && second !== "scheme" && doc.overlay.scheme !== "persistent") return "overlay";
  return cut.join(".");
}

export interface PlacedProblems {
  at: (anchor: string) => ShownProblem[];
  general: ShownProblem[];
  all: ShownProblem[];
}

export function placeProblems(problems: readonly ShownProblem[], doc: ProfileDocument): PlacedProblems {
  const byAnchor = new Map<string, ShownProblem[]>();
  const general: ShownProblem[] = [];
  for (const p of problems) {
    const a = anchorFor(p.path, doc);
    if (a === null) general.push(p);
    else byAnchor.set(a, [...(byAnchor.get(a) ?? []), p]);
  }
  return { at: (a) => byAnchor.get(a) ?? [], general, all: [...problems] };
}

const NONE: PlacedProblems = { at: () => [], general: [], all: [] };
export const ProblemsContext = createContext<PlacedProblems>(NONE);

export function useProblems(): PlacedProblems {
  return useContext(ProblemsContext);
}

export function toMessages(problems: readonly ShownProblem[]): FieldMessage[] {
  return problems.map((p) => ({
    message: p.message,
    ...(p.source === "live" ? {} : { source: p.source }),
    ...(p.severity === "warning" ? { warning: true } : {}),
  }));
}

/** The DOM id of an anchor, for "jump to field" links. */
export function anchorId(anchor: string): string {
  return `field-${anchor.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}
