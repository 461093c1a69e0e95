"use client";
// A file's SHA-256, shortened, with a copy button and how it compares to the checksum file.
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { useCopy } from "@/components/ui/use-copy";
import { shortSha } from "./format";
import type { ChecksumState } from "./types";

const STATES: Record<ChecksumState, { tone: BadgeTone; text: string; title: string }> = {
  verified: { tone: "green", text: "verified", title: "Matches the build's checksum file" },
  mismatch: { tone: "red", text: "mismatch", title: "Differs from the build's checksum file: the file changed after the build" },
  "not-listed": { tone: "slate", text: "not listed", title: "The checksum file does not list this file" },
  "no-checksum-file": { tone: "slate", text: "no checksum file", title: "The build wrote no checksum file (mkosi Checksum=yes makes one)" },
  pending: { tone: "sky", text: "hashing…", title: "The digest is being computed" },
};

/** Files made here after the build (conversions) cannot be in its checksum file: their digest is their own. */
const MADE_HERE = { tone: "violet", text: "own checksum", title: "Made after the build, so not in its checksum file: this SHA-256 was computed from the file" } as const;

export function ChecksumCell({ sha256, state, name, madeHere = false }: { sha256: string | null; state: ChecksumState; name: string; madeHere?: boolean }) {
  const { copy, label: copyLabel } = useCopy();
  const s = madeHere && state === "not-listed" ? MADE_HERE : STATES[state];
  return (
    <div className="flex items-center gap-1.5" data-testid="artifact-checksum" data-state={state}>
      {sha256 ? (
        <>
          <code className="font-mono text-xs text-slate-700" title={sha256} data-sha256={sha256}>
            {shortSha(sha256)}
          </code>
          <Button size="sm" variant="ghost" className="h-6 px-1.5" onClick={() => void copy(sha256)} aria-label={`Copy the SHA-256 of ${name}`} title="Copy the full SHA-256">
            {copyLabel}
          </Button>
        </>
      ) : (
        <span className="text-xs text-slate-400">–</span>
      )}
      <Badge tone={s.tone} title={s.title}>
        {state === "verified" ? "✓ " : state === "mismatch" ? "✗ " : ""}
        {s.text}
      </Badge>
    </div>
  );
}
