"use client";
import { Button } from "@/components/ui/button";
import { RelativeTime } from "@/components/ui/relative-time";
import type { Conflict } from "./use-profile-editor";

export function ConflictBanner({ conflict, onOverwrite, onLoadTheirs, busy }: { conflict: Conflict; onOverwrite: () => void; onLoadTheirs: () => void; busy: boolean }) {
  return (
    <div role="alert" data-testid="conflict-banner" className="rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-950">
      <p className="font-semibold">
        Someone else saved this profile
        {conflict.updatedAt ? (
          <>
            {" "}
            (<RelativeTime iso={conflict.updatedAt} />)
          </>
        ) : null}
        . Your changes were not saved, and are still here.
      </p>
      <p className="mt-0.5 text-xs text-amber-900">{conflict.message}</p>
      <div className="mt-2 flex flex-wrap gap-2">
        <Button variant="primary" size="sm" onClick={onOverwrite} disabled={busy} data-testid="conflict-overwrite">
          Overwrite with mine
        </Button>
        <Button size="sm" onClick={onLoadTheirs} disabled={busy} data-testid="conflict-load-theirs">
          Discard mine and load theirs
        </Button>
      </div>
    </div>
  );
}
