"use client";
// The mark of a profile whose build runs files of its own as root (server/mkosi/scripts.ts
// finds them): in the profile list and in the editor.
import { Badge } from "@/components/ui/badge";

export function RunsAsRootBadge({ scripts, testId = "runs-as-root" }: { scripts: readonly string[]; testId?: string }) {
  if (scripts.length === 0) return null;
  const shown = scripts.slice(0, 12).join("\n");
  const more = scripts.length > 12 ? `\n… and ${scripts.length - 12} more` : "";
  const title =
    `A build of this profile runs ${scripts.length === 1 ? "this file" : `these ${scripts.length} files`} of it as root on this machine:\n${shown}${more}\n\n` +
    "Its first build asks you to read and confirm them, and so does the first build after any of them changes.";
  return (
    <Badge tone="amber" title={title} data-testid={testId}>
      runs code as root
    </Badge>
  );
}
