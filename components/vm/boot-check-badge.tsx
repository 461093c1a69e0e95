import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { VERDICT_TONES } from "./format";
import type { BootCheckSummary } from "./types";

const WORDS = { passed: "boot check passed", failed: "boot check failed", running: "boot check running" } as const;
const TITLES = {
  passed: "The newest boot check passed: the image boots and is what its profile says",
  failed: "The newest boot check failed: open the build to see which item",
  running: "A boot check is running",
} as const;

/** The verdict of a build's newest boot check; links to it when `href` is given. */
export function BootCheckBadge({ check, href, className }: { check: BootCheckSummary | null; href?: string; className?: string }) {
  if (!check) return null;
  const badge = (
    <Badge tone={VERDICT_TONES[check.verdict]} className={className} data-testid="boot-check-badge" data-verdict={check.verdict} title={TITLES[check.verdict]}>
      {check.verdict === "running" ? <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-sky-500" aria-hidden /> : null}
      {WORDS[check.verdict]}
    </Badge>
  );
  return href ? (
    <Link href={href} className="rounded focus-visible:outline-2 focus-visible:outline-sky-600">
      {badge}
    </Link>
  ) : (
    badge
  );
}

/** Where a build's boot check run is shown: its build page, with that run selected. */
export const runHref = (buildId: number, runId: number): string => `/builds/${buildId}#vm-run-${runId}`;
